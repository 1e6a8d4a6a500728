"""Server-rendered pages: search, supplier profile, "find suppliers for a lot" and the API docs.

Every page works without JavaScript, and the whole search state lives in the URL so that a
search can be shared by copying the address. Errors on these routes are HTML pages, not the
JSON problems the API answers with: a person is reading them.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import orjson
from flask import Blueprint, abort, render_template, request

from services.directory.html_errors import register_html_errors
from services.directory.labels import FACET_TITLES, value_label
from services.directory.matcher_client import MatcherError, matcher_client
from services.directory.search_params import parse_search_args
from services.directory.search_service import run_search
from services.directory.search_view import active_filters, facet_options, last_page, search_url
from shared.errors import ProblemError
from shared.web import search_index, settings

log = logging.getLogger(__name__)
ASSETS = "assets"  # built by `make assets`; GOV.UK Frontend's stylesheet expects it at /assets
bp = Blueprint("pages", __name__, template_folder="templates", static_folder=ASSETS, static_url_path="/assets")
register_html_errors(bp)


@bp.app_template_filter("value_label")
def _value_label(value: str, param: str) -> str:
    return value_label(param, value)


@bp.get("/")
def search_page() -> Any:
    results: dict[str, Any] | None = None
    errors: list[dict[str, str]] = []
    try:
        results = run_search(search_index(), parse_search_args(request.args))
    except ProblemError as exc:
        errors = exc.body()["errors"] or [{"field": "", "message": exc.detail}]
    context: dict[str, Any] = {"results": results, "errors": errors, "args": request.args,
                               "facet_titles": FACET_TITLES, "search_url": search_url}
    if results:
        context |= {"facets": facet_options(results["facets"], request.args), "active": active_filters(request.args),
                    "last_page": last_page(results)}
    return render_template("search.html", **context), 400 if errors else 200


@bp.get("/suppliers/<path:listing_id>")
def profile_page(listing_id: str) -> Any:
    listing = search_index().get(listing_id)
    if listing is None:
        abort(404, description=f"There is no supplier with the id {listing_id}.")
    return render_template("profile.html", listing=listing)


@bp.route("/lots", methods=["GET", "POST"])
def lot_page() -> Any:
    form = request.form  # empty on GET; a MultiDict either way, so the template can use getlist
    if request.method == "GET":
        return render_template("lot.html", form=form, lots=None, error=None)
    try:
        response = matcher_client().match(_lot_body(request))
    except MatcherError as exc:
        return render_template("lot.html", form=form, lots=None, error=exc), 400
    lots = response.get("lots") or [response]
    return render_template("lot.html", form=form, lots=lots, error=None)


@bp.get("/docs")
def api_docs() -> Any:
    return render_template("docs.html")


def _lot_body(req: Any) -> dict[str, Any]:
    """The JSON to send the matcher: an uploaded OCDS file, or the form's fields as a plain lot."""
    upload = req.files.get("ocds")
    if upload and upload.filename:
        try:
            return orjson.loads(upload.read(settings().max_upload_bytes + 1))  # type: ignore[no-any-return]
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MatcherError("The uploaded file is not JSON", [{"field": "ocds", "message": str(exc)}]) from exc
    form = req.form
    lot: dict[str, Any] = {
        "title": form.get("title", ""),
        "description": form.get("description", ""),
        "cpv_codes": [c for c in form.get("cpv_codes", "").replace(",", " ").split() if c],
        "social_value_priorities": form.getlist("priorities"),
    }
    if form.get("postcode"):
        lot["postcode"] = form["postcode"]
    if form.get("radius_km"):
        lot["radius_km"] = _number(form["radius_km"], "radius_km")
    return lot


def _number(value: str, name: str) -> float:
    try:
        return float(value)
    except ValueError as exc:
        raise MatcherError(f"{name} must be a number", [{"field": name, "message": "Enter a number"}]) from exc
