"""Running a directory search and shaping the answer; shared by the JSON API and the pages."""

from __future__ import annotations

from typing import Any

from shared.search.port import Hit, SearchIndex
from services.directory.search_params import FACETS, SearchParams, to_query

SUMMARY_FIELDS = ("id", "name", "legal_form", "region", "postcode", "categories", "impact_areas",
                  "certifications", "services", "geo_precision")
_PARAM_FOR_FIELD = {field: param for param, field in FACETS.items()}


def run_search(index: SearchIndex, params: SearchParams) -> dict[str, Any]:
    query = to_query(params)
    result = index.search(query)
    return {
        "total": result.total,
        "page": params.page,
        "per_page": params.per_page,
        "location": None if query.near is None else {"lat": query.near.lat, "lon": query.near.lon,
                                                       "radius_km": query.near.radius_km},
        "results": [summary(hit) for hit in result.hits],
        "facets": {
            _PARAM_FOR_FIELD[field]: [{"value": b.value, "count": b.count} for b in buckets]
            for field, buckets in result.facets.items()
        },
    }


def summary(hit: Hit) -> dict[str, Any]:
    doc = hit.document
    out = {name: doc.get(name) for name in SUMMARY_FIELDS}
    out["description"] = _clip(doc.get("description") or "", 300)
    out["distance_km"] = None if hit.distance_km is None else round(hit.distance_km, 2)
    return out


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"
