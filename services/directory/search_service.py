"""Running a directory search and shaping the answer; shared by the JSON API and the pages."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from shared.search.port import FacetBucket, Hit, SearchIndex, SearchQuery, SearchResult
from services.directory.cursor import decode_cursor, encode_cursor
from services.directory.highlight import mark, query_stems, snippet
from services.directory.search_params import FACETS, FILTERS, SearchParams, to_query

SUMMARY_FIELDS = ("id", "name", "legal_form", "region", "postcode", "categories", "impact_areas",
                  "certifications", "services", "size_band", "geo_precision")
MAX_FACET_BUCKETS = 50


def run_search(index: SearchIndex, params: SearchParams) -> dict[str, Any]:
    """One page of results with facets, highlights, page number and the cursor to the next page."""
    offset = decode_cursor(params, params.cursor) if params.cursor else (params.page - 1) * params.per_page
    query = to_query(params, offset)
    result = index.search(query)
    next_offset = offset + len(result.hits)
    stems = query_stems(params.q)
    return {
        "total": result.total,
        "page": offset // params.per_page + 1,
        "per_page": params.per_page,
        "next_cursor": encode_cursor(params, next_offset) if result.hits and next_offset < result.total else None,
        "location": None if query.near is None else {"lat": query.near.lat, "lon": query.near.lon,
                                                       "radius_km": query.near.radius_km},
        "results": [summary(hit, stems) for hit in result.hits],
        "facets": {param: [{"value": b.value, "count": b.count} for b in buckets[:MAX_FACET_BUCKETS]]
                   for param, buckets in facet_counts(index, query, result).items()},
    }


def facet_counts(index: SearchIndex, query: SearchQuery, result: SearchResult) -> dict[str, list[FacetBucket]]:
    """Counts per filter parameter, each ignoring its own filter (and honouring all the others).

    A buyer who ticked "cic" still sees how many co-operatives there are, so ticking a second
    legal form widens the search predictably. Facets without an active filter come from the
    main query; each active one costs one extra count-only query.
    """
    counts = {param: result.facets.get(field, []) for param, field in FACETS.items()}
    for param, filter_field in FILTERS.items():
        if filter_field in query.filters:
            others = {k: v for k, v in query.filters.items() if k != filter_field}
            widened = replace(query, filters=others, facets=[FACETS[param]], offset=0, limit=0)
            counts[param] = index.search(widened).facets.get(FACETS[param], [])
    return counts


def summary(hit: Hit, stems: tuple[str, ...] = ()) -> dict[str, Any]:
    """The key facts of a hit, with its name and a description snippet highlighted as safe HTML."""
    doc = hit.document
    out = {name: doc.get(name) for name in SUMMARY_FIELDS}
    description = doc.get("description") or ""
    out["description"] = _clip(description, 300)
    out["highlight"] = {"name": str(mark(doc.get("name") or "", stems)),
                        "description": str(snippet(description, stems))}
    out["distance_km"] = None if hit.distance_km is None else round(hit.distance_km, 2)
    return out


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"
