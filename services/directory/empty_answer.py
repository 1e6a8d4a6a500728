"""Why a search found nothing, and what is nearest beyond the radius.

A buyer who sees "0 suppliers" needs to know what to change: the words (no listing uses them),
a filter (the words match, but not with that filter) or the distance (the words and filters
match, only farther away, and then who is nearest and how far). A few counts on the index
answer it, run only when a search comes back empty.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from shared.search.port import SearchIndex, SearchQuery

NEAREST_SHOWN = 3


def explain_empty(index: SearchIndex, query: SearchQuery) -> dict[str, Any] | None:
    """`{"cause": "text" | "filter" | "radius", "message", "filters", "nearest"}` for an empty
    search; None when the search was not narrowed by anything (an empty directory)."""
    plain = replace(query, facets=(), highlight=False, offset=0, cursor=None, limit=0)
    everywhere = replace(plain, near=None if query.near is None else replace(query.near, radius_km=None))
    has_text = bool(query.text and query.text.strip())
    if has_text and index.search(replace(everywhere, filters={})).total == 0:
        return {"cause": "text", "message": f"No supplier in the directory matches “{query.text}”.",
                "filters": [], "nearest": []}  # fmt: skip
    if query.filters and index.search(everywhere).total == 0:
        blocking = [name for name in query.filters if index.search(_without(everywhere, name)).total > 0]
        return {"cause": "filter", "filters": blocking or list(query.filters), "nearest": [],
                "message": _filter_message(has_text, blocking or list(query.filters))}  # fmt: skip
    if query.near is not None and query.near.radius_km is not None:
        nearest = index.search(replace(everywhere, sort="distance", limit=NEAREST_SHOWN)).hits
        return {
            "cause": "radius",
            "message": f"None is within {query.near.radius_km:g} km.",
            "filters": [],
            "nearest": [
                {"id": h.id, "name": h.document.get("name"), "postcode": h.document.get("postcode"),
                 "region": h.document.get("region"), "geo_precision": h.document.get("geo_precision"),
                 "distance_km": None if h.distance_km is None else round(h.distance_km, 1)}
                for h in nearest
            ],
        }  # fmt: skip
    return None


def _without(query: SearchQuery, name: str) -> SearchQuery:
    return replace(query, filters={k: v for k, v in query.filters.items() if k != name})


def _filter_message(has_text: bool, filters: list[str]) -> str:
    what = "Suppliers match the words" if has_text else "There are suppliers"
    return f"{what}, but none with every filter chosen."

