"""Server-rendered pages: search, supplier profile, "find suppliers for a lot" and the API docs.

Every page works without JavaScript, and the whole search state lives in the URL so that a
search can be shared by copying the address. Errors on these routes are HTML pages, not the
JSON problems the API answers with: a person is reading them.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import orjson
from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from services.directory.html_errors import register_html_errors
from services.directory.labels import FACET_TITLES, value_label
from services.directory.lot_form import LotChoices, lot_choices, lot_from_form
from services.directory.matcher_client import MatcherError, matcher_client
from services.directory.provenance import (
    licence_terms,
    record_links,
    short_verification,
    source_name,
    verifications,
)
from services.directory.search_params import parse_search_args
from services.directory.search_service import merged_into, run_search
from services.directory.search_view import (
    SHOW_ALL,
    active_filters,
    distance_words,
    facet_options,
    last_page,
    search_url,
    wider_radius,
    with_places,
)
from shared.errors import ProblemError
from shared.web import search_index, settings

log = logging.getLogger(__name__)
ASSETS = "assets"  # built by `make assets`; GOV.UK Frontend's stylesheet expects it at /assets
bp = Blueprint("pages", __name__, template_folder="templates", static_folder=ASSETS, static_url_path="/assets")
register_html_errors(bp)


@bp.app_template_filter("value_label")
def _value_label(value: str, param: str) -> str:
    return value_label(param, value)


@bp.app_template_filter("short_verification")
def _short_verification(listing: dict[str, Any]) -> str | None:
    return short_verification(listing)


@bp.app_template_filter("value_label_pair")
def _value_label_pair(value: str, param: str) -> tuple[str, str]:
    return value, value_label(param, value)


@bp.app_template_filter("reason_distance")
def _reason_distance(reason: str, result: dict[str, Any]) -> str:
    """The matcher's reason with its distance in the words the score line above it uses: one
    rounding on the page, and "in LS9, about 3 km away" where only the district is known."""
    words = distance_words(result.get("distance_km"), result.get("geo_precision"), result.get("postcode"))
    return _REASON_DISTANCE.sub(words, reason, count=1) if result.get("distance_km") is not None else reason


_REASON_DISTANCE = re.compile(r"^\d+(?:\.\d+)? km away")


@bp.app_template_global("distance_words")
def _distance_words(distance_km: float | None, precision: str | None, postcode: str | None) -> str:
    return distance_words(distance_km, precision, postcode)


# Every facet's values for the page: "show all" is a link, so the page holds them all.
PAGE_FACET_BUCKETS = 10_000


@bp.get("/")
def search_page() -> Any:
    results: dict[str, Any] | None = None
    errors: list[dict[str, str]] = []
    search_args = MultiDict([(k, v) for k, v in request.args.items(multi=True) if k != SHOW_ALL])
    try:
        results = run_search(search_index(), parse_search_args(search_args), facet_buckets=PAGE_FACET_BUCKETS)
    except ProblemError as exc:
        errors = exc.body()["errors"] or [{"field": "", "message": exc.detail}]
    context: dict[str, Any] = {"results": results, "errors": errors, "args": request.args,
                               "facet_titles": FACET_TITLES, "search_url": search_url, "wider_radius": wider_radius,
                               "back": request.full_path.rstrip("?")}
    if results:
        context |= {"facets": facet_options(results["facets"], request.args), "active": active_filters(request.args),
                    "last_page": last_page(results)}
    return render_template("search.html", **context), 400 if errors else 200


@bp.get("/suppliers/<path:listing_id>")
def profile_page(listing_id: str) -> Any:
    listing = search_index().get(listing_id)
    if listing is None:
        if (merged := merged_into(search_index(), listing_id)) is not None:
            # Temporary: a steward's split gives the record its own listing back.
            query = request.query_string.decode()  # the `back` link goes along
            return redirect(url_for("pages.profile_page", listing_id=merged) + (f"?{query}" if query else ""), 302)
        abort(404, description=f"There is no supplier with the id {listing_id}.")
    return render_template("profile.html", listing=listing, back=_back_link(request.args.get("back")),
                           source_name=source_name(listing.get("source")), record_links=record_links(listing),
                           verifications=verifications(listing), licence=licence_terms(listing))


def _back_link(back: str | None) -> str:
    """Where "Back" goes: the page the user came from when it is one of ours (a path on this site,
    never another host), else the search page."""
    if back and back.startswith("/") and not back.startswith("//") and "\\" not in back:
        return back
    return url_for("pages.search_page")


@bp.route("/lots", methods=["GET", "POST"])
def lot_page() -> Any:
    form = request.form  # empty on GET; a MultiDict either way, so the template can use getlist
    choices = lot_choices(search_index())
    page = {"form": form, "offer": choices, "lots": None, "error": None}
    if request.method == "GET":
        return render_template("lot.html", **page)
    try:
        response = matcher_client().match(_lot_body(request, choices))
    except MatcherError as exc:
        return render_template("lot.html", **(page | {"error": exc})), 400
    lots = response.get("lots") or [response]
    for entry in lots:
        with_places(search_index(), [*entry.get("results", []), *entry.get("nearest_strong_beyond_radius", [])])
    return render_template("lot.html", **(page | {"lots": lots}))


@bp.get("/docs")
def api_docs() -> Any:
    return render_template("docs.html")


def _lot_body(req: Any, choices: LotChoices) -> dict[str, Any]:
    """The JSON to send the matcher: an uploaded OCDS file, or the form's fields as a plain lot
    (every field checked first, all errors at once)."""
    upload = req.files.get("ocds")
    if upload and upload.filename:
        try:
            return orjson.loads(upload.read(settings().max_upload_bytes + 1))  # type: ignore[no-any-return]
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MatcherError("The uploaded file is not JSON", [{"field": "ocds", "message": str(exc)}]) from exc
    lot, errors = lot_from_form(req.form, choices)
    if errors:
        raise MatcherError("There is a problem with the lot", errors)
    return lot
