"""Server-rendered pages: search, supplier profile, "find suppliers for a lot" and the API docs.

Every page works without JavaScript, and the whole search state lives in the URL so that a
search can be shared by copying the address. Errors on these routes are HTML pages, not the
JSON problems the API answers with: a person is reading them.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from shared.errors import BackendUnavailable, ProblemError
from shared.web import search_index, settings
from services.directory.labels import FACET_TITLES, value_label
from services.directory.matcher_client import MatcherClient, MatcherError
from services.directory.search_params import MAX_WINDOW, SearchParams, parse_search_args
from services.directory.search_service import run_search

log = logging.getLogger(__name__)
ASSETS = "assets"  # built by `make assets`; GOV.UK Frontend's stylesheet expects it at /assets
bp = Blueprint("pages", __name__, template_folder="templates", static_folder=ASSETS, static_url_path="/assets")
FACETS_SHOWN = 10


@bp.app_template_filter("value_label")
def _value_label(value: str, param: str) -> str:
    return value_label(param, value)


@bp.get("/")
def search_page() -> Any:
    try:
        params: SearchParams | None = parse_search_args(request.args)
        results = run_search(search_index(), params)
        errors: list[dict[str, str]] = []
    except ProblemError as exc:
        params, results, errors = None, None, exc.body()["errors"] or [{"field": "", "message": exc.detail}]
    context = {"params": params, "results": results, "errors": errors, "args": request.args,
               "facet_titles": FACET_TITLES, "search_url": search_url}
    if results:
        context |= {"facets": facet_options(results["facets"], request.args), "active": active_filters(request.args),
                    "last_page": min(-(-results["total"] // results["per_page"]), MAX_WINDOW // results["per_page"])}
    return render_template("search.html", **context), 400 if errors else 200


def facet_options(facets: dict[str, list[dict[str, Any]]], args: MultiDict[str, str]) -> list[dict[str, Any]]:
    """Each facet's most frequent values, plus any value the user ticked, so a ticked box never
    disappears from the page (it may have fallen out of the top values)."""
    out = []
    for name, buckets in facets.items():
        selected = args.getlist(name)
        shown = buckets[:FACETS_SHOWN]
        counts = {b["value"]: b["count"] for b in buckets}
        options = [{**b, "checked": b["value"] in selected} for b in shown]
        options += [{"value": v, "count": counts.get(v, 0), "checked": True}
                    for v in selected if v not in {b["value"] for b in shown}]
        if options:
            out.append({"name": name, "title": FACET_TITLES[name], "options": options})
    return out


def active_filters(args: MultiDict[str, str]) -> list[tuple[str, str]]:
    """(parameter, value) for every filter in the URL, in the order the facets are shown."""
    return [(name, value) for name in FACET_TITLES for value in args.getlist(name) if value]


def search_url(args: MultiDict[str, str], endpoint: str = "pages.search_page", **changes: Any) -> str:
    """The search's URL with some parameters changed (None removes one); it starts again at page 1
    unless a page is given, so a new filter never lands on a page past the end."""
    state = {k: [v for v in args.getlist(k) if v] for k in args if k not in ("page", "cursor")}
    for key, value in changes.items():
        state[key] = [] if value is None else value if isinstance(value, list) else [value]
    return url_for(endpoint, **{k: v for k, v in state.items() if v})


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
        response = _matcher().match(_lot_body(request))
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
            return json.loads(upload.read(settings().max_upload_bytes + 1).decode("utf-8"))  # type: ignore[no-any-return]
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


def _matcher() -> MatcherClient:
    ext = current_app.extensions
    if "matcher_client" not in ext:
        ext["matcher_client"] = MatcherClient(settings().matcher_url, settings().matcher_timeout_s)
    return ext["matcher_client"]  # type: ignore[no-any-return]


def _error_page(status: int, detail: str) -> Any:
    return render_template("error.html", status=status, detail=detail), status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    return _error_page(exc.code or 500, exc.description or exc.name)


@bp.errorhandler(ProblemError)
def _problem(exc: ProblemError) -> Any:
    return _error_page(exc.status, exc.detail)


@bp.errorhandler(BackendUnavailable)
def _unavailable(exc: BackendUnavailable) -> Any:
    log.warning("backend unavailable: %s", exc)
    return _error_page(503, "The directory is not available at the moment. Try again in a few minutes.")


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Any:
    log.exception("unhandled error on a page")
    return _error_page(500, "Something went wrong on our side. Try again later.")
