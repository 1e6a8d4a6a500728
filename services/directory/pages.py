"""Server-rendered pages: search, supplier profile, and "find suppliers for a lot".

Every page works without JavaScript, and the whole search state lives in the URL so that a
search can be shared by copying the address.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request

from shared.errors import ProblemError
from shared.web import search_index, settings
from services.directory.matcher_client import MatcherClient, MatcherError
from services.directory.search_params import parse_search_args
from services.directory.search_service import run_search

bp = Blueprint("pages", __name__, template_folder="templates")


@bp.get("/")
def search_page() -> Any:
    try:
        params = parse_search_args(request.args)
        results = run_search(search_index(), params)
        errors: list[dict[str, str]] = []
    except ProblemError as exc:
        params, results, errors = None, None, exc.body()["errors"] or [{"field": "", "message": exc.detail}]
    status = 400 if errors else 200
    return render_template("search.html", params=params, results=results, errors=errors, args=request.args), status


@bp.get("/suppliers/<path:listing_id>")
def profile_page(listing_id: str) -> Any:
    listing = search_index().get(listing_id)
    if listing is None:
        abort(404, description=f"No supplier with id {listing_id}")
    return render_template("profile.html", listing=listing)


@bp.route("/lots", methods=["GET", "POST"])
def lot_page() -> Any:
    form = request.form  # empty on GET; a MultiDict either way, so the template can use getlist
    if request.method == "GET":
        return render_template("lot.html", form=form, lots=None, error=None)
    try:
        body = _lot_body(request)
        response = _matcher().match(body)
    except MatcherError as exc:
        return render_template("lot.html", form=form, lots=None, error=exc), 400
    lots = response.get("lots") or [response]
    return render_template("lot.html", form=form, lots=lots, error=None)


def _lot_body(req: Any) -> dict[str, Any]:
    """The JSON to send the matcher: an uploaded OCDS file, or the form's fields as a plain lot."""
    upload = req.files.get("ocds")
    if upload and upload.filename:
        try:
            return json.loads(upload.read(settings().max_upload_bytes + 1).decode("utf-8"))  # type: ignore[no-any-return]
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MatcherError("the uploaded file is not JSON", [{"field": "ocds", "message": str(exc)}]) from exc
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
        raise MatcherError(f"{name} must be a number", [{"field": name, "message": "not a number"}]) from exc


def _matcher() -> MatcherClient:
    ext = current_app.extensions
    if "matcher_client" not in ext:
        ext["matcher_client"] = MatcherClient(settings().matcher_url, settings().matcher_timeout_s)
    return ext["matcher_client"]  # type: ignore[no-any-return]
