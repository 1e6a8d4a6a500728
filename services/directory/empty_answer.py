"""Why a search found nothing, and what is nearest beyond the radius.

A buyer who sees "0 suppliers" needs to know what to change: the words (no listing uses them),
a filter (the words match, but not with that filter) or the distance (the words and filters
match, only farther away, and then who is nearest and how far). A few counts on the index
answer it, run only when a search comes back empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from shared.search.port import Hit, SearchIndex, SearchQuery, SearchResult

NEAREST_SHOWN = 3


def explain_empty(
    index: SearchIndex, query: SearchQuery, result: SearchResult, facet_of: Mapping[str, str]
) -> dict[str, Any] | None:
    """`{"cause": "text" | "filter" | "radius", "message", "filters", "nearest"}` for an empty
    search; None when the search was not narrowed by anything (an empty directory).

    One search answers the radius (who is nearest beyond it). The filters cost nothing: facets
    are disjunctive, so a filter whose facet (`facet_of` names each filter's) still counts
    listings is one whose removal alone would find them; only when none does is the text asked
    about alone."""
    plain = replace(query, facets=(), highlight=False, offset=0, cursor=None, limit=0)
    has_text = bool(query.text and query.text.strip())
    if query.near is not None and query.near.radius_km is not None:
        beyond = replace(plain, near=replace(query.near, radius_km=None), sort="distance", limit=NEAREST_SHOWN)
        nearest = index.search(beyond)
        if nearest.total:
            return {"cause": "radius", "message": f"None is within {query.near.radius_km:g} km.", "filters": [],
                    "nearest": [_nearest(hit) for hit in nearest.hits]}  # fmt: skip
        plain = replace(plain, near=None, sort="relevance")  # nothing anywhere: distance means nothing
    if not query.filters:
        return _text_cause(query) if has_text else None
    # A filter with no facet picks organisations by identity (an org-id): when it alone finds no
    # listing, nothing else in the search matters.
    identities = {name: values for name, values in query.filters.items() if name not in facet_of}
    if identities and index.search(replace(plain, text=None, near=None, filters=identities)).total == 0:
        named = ", ".join(value for values in identities.values() for value in values)
        return {"cause": "filter", "filters": list(identities), "nearest": [],
                "message": f"No organisation in the directory has the identifier {named}."}
    blocking = [name for name in query.filters
                if name in facet_of and any(b.count for b in result.facets.get(facet_of[name], []))]
    if not blocking and has_text and index.search(replace(plain, filters={})).total == 0:
        return _text_cause(query)
    return {"cause": "filter", "filters": blocking or list(query.filters), "nearest": [],
            "message": _filter_message(has_text, blocking or list(query.filters))}  # fmt: skip


def _text_cause(query: SearchQuery) -> dict[str, Any]:
    return {"cause": "text", "message": f"No supplier in the directory matches “{query.text}”.", "filters": [],
            "nearest": []}  # fmt: skip


def _nearest(hit: Hit) -> dict[str, Any]:
    doc = hit.document
    return {"id": hit.id, "name": doc.get("name"), "postcode": doc.get("postcode"), "region": doc.get("region"),
            "geo_precision": doc.get("geo_precision"),
            "distance_km": None if hit.distance_km is None else round(hit.distance_km, 1)}  # fmt: skip


def _filter_message(has_text: bool, filters: list[str]) -> str:
    what = "Suppliers match the words" if has_text else "There are suppliers"
    return f"{what}, but none with every filter chosen."

