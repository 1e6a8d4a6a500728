"""The directory's JSON API: search, one listing, suggestions, CSV export and its OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, redirect, request, stream_with_context, url_for

from services.directory.export import csv_rows
from services.directory.search_params import parse_search_args, to_query
from services.directory.search_service import merged_into, run_search
from services.directory.suggest import MAX_PREFIX_CHARS, MAX_SUGGESTIONS, suggest
from shared.errors import FieldError, InvalidInput, NotFound
from shared.web import search_index

bp = Blueprint("directory_api", __name__)


@bp.get("/search")
def search() -> Any:
    return jsonify(run_search(search_index(), parse_search_args(request.args)))


@bp.get("/listings/<path:listing_id>")
def get_listing(listing_id: str) -> Any:
    document = search_index().get(listing_id)
    if document is None:
        if (merged := merged_into(search_index(), listing_id)) is not None:  # 302: a split undoes it
            return redirect(url_for("directory_api.get_listing", listing_id=merged), 302)
        raise NotFound(f"no listing with id {listing_id!r}")
    return jsonify(document)


@bp.get("/suggest")
def suggestions() -> Any:
    typed = request.args.get("q", "")
    if not typed.strip() or len(typed) > MAX_PREFIX_CHARS:
        raise InvalidInput("q is required", [FieldError("q", f"give 1 to {MAX_PREFIX_CHARS} characters")])
    limit = request.args.get("limit", "5")
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_SUGGESTIONS:
        raise InvalidInput("invalid limit", [FieldError("limit", f"a whole number from 1 to {MAX_SUGGESTIONS}")])
    return jsonify({"query": typed, "suggestions": suggest(search_index(), typed, int(limit))})


@bp.get("/export.csv")
def export_csv() -> Response:
    # Everything that can fail with a 400 (parameters, postcode) runs before the first byte.
    query = to_query(parse_search_args(request.args))
    rows = stream_with_context(csv_rows(search_index(), query))
    return Response(rows, mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="socialmatch-suppliers.csv"'})


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(current_app.extensions["directory_openapi"])
