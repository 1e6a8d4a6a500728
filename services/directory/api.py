"""The directory's JSON API: `GET /search` and `GET /listings/<id>`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from shared.errors import NotFound
from shared.web import search_index
from services.directory.search_params import parse_search_args
from services.directory.search_service import run_search

bp = Blueprint("directory_api", __name__)


@bp.get("/search")
def search() -> Any:
    return jsonify(run_search(search_index(), parse_search_args(request.args)))


@bp.get("/listings/<path:listing_id>")
def get_listing(listing_id: str) -> Any:
    document = search_index().get(listing_id)
    if document is None:
        raise NotFound(f"no listing with id {listing_id!r}")
    return jsonify(document)
