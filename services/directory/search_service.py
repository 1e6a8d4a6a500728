"""Running a directory search and shaping the answer; shared by the JSON API and the pages."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from markupsafe import escape

from services.directory.cursor import Cursor, decode_cursor, encode_cursor
from services.directory.empty_answer import explain_empty
from services.directory.filter_values import open_filter_errors
from services.directory.highlight import to_html
from services.directory.search_params import FACETS, FILTERS, IDENTITY_FILTERS, SearchParams, to_query
from shared.errors import InvalidInput
from shared.search.port import Hit, SearchIndex, SearchQuery, SearchResult, effective_sort, highlight_segments

SUMMARY_FIELDS = ("id", "name", "legal_form", "region", "postcode", "categories", "impact_areas",
                  "certifications", "services", "size_band", "geo_precision", "org_ids", "verified", "licence")
MAX_FACET_BUCKETS = 50
DESCRIPTION_CHARS = 300


def run_search(index: SearchIndex, params: SearchParams, facet_buckets: int = MAX_FACET_BUCKETS) -> dict[str, Any]:
    """One page of results with facets, highlights, its page number and a cursor to the next page.

    Page numbers use offsets (the web pages link to any page); a cursor continues after the last
    hit with the index's own `search_after`, so it is stable while listings change and has no
    depth limit. A category or certification no listing holds is a 400 naming it; an empty
    answer says why (`empty`), and words the index did not know say what was searched instead
    (`corrections`).
    """
    unknown = open_filter_errors(index, params)
    if unknown:
        raise InvalidInput("invalid search parameters", unknown)
    query = to_query(params)
    page = params.page
    if params.cursor:
        cursor = decode_cursor(params, params.cursor, effective_sort(query))
        query, page = replace(query, cursor=cursor.index_cursor), cursor.page
    else:
        query = replace(query, offset=(page - 1) * params.per_page)
    result = index.search(query)
    facet_of = {FILTERS[param]: field for param, field in FACETS.items()}
    empty = explain_empty(index, query, result, facet_of) if result.total == 0 and page == 1 else None
    if empty is not None:
        params_of = {field: param for param, field in (FILTERS | IDENTITY_FILTERS).items()}
        empty["filters"] = [params_of.get(name, name) for name in empty["filters"]]
    return {
        "total": result.total,
        "page": page,
        "per_page": params.per_page,
        "next_cursor": _next_cursor(params, result, page),
        "fuzzy": result.fuzzy,
        "corrections": _corrections(result),
        "empty": empty,
        "location": None if query.near is None else {"lat": query.near.lat, "lon": query.near.lon,
                                                       "radius_km": query.near.radius_km},
        "results": [summary(hit) for hit in result.hits],
        # The index counts each facet without its own filter, so ticking a second value widens
        # the search by exactly the count shown.
        "facets": {param: _buckets(result, field, facet_buckets) for param, field in FACETS.items()},
    }


def _buckets(result: SearchResult, field: str, limit: int) -> list[dict[str, Any]]:
    return [{"value": b.value, "count": b.count} for b in result.facets.get(field, [])[:limit]]


def _corrections(result: SearchResult) -> list[dict[str, str]]:
    """Each word the index did not know, with the word searched instead as the listings write it
    (the index holds stems: "offic" is shown as the "office" its matches highlight)."""
    if not result.corrections:
        return []
    marked = [
        text.lower()
        for hit in result.hits
        for snippet in (hit.highlights or {}).values()
        for text, matched in highlight_segments(snippet)
        if matched
    ]
    out = []
    for typed, term in result.corrections.items():
        stem = term[: max(3, len(term) - 1)]
        written = sorted({w for w in marked if w.startswith(stem)}, key=lambda w: (-marked.count(w), len(w), w))
        out.append({"typed": typed, "searched": written[0] if written else term})
    return out


def _next_cursor(params: SearchParams, result: SearchResult, page: int) -> str | None:
    """None once a page comes back short; a full last page still gets one (to an empty page),
    since only the index knows whether anything follows it."""
    if result.next_cursor is None:
        return None
    return encode_cursor(params, Cursor(result.next_cursor, page + 1))


def summary(hit: Hit) -> dict[str, Any]:
    """The key facts of a hit, with its matched text as safe HTML snippets."""
    doc = hit.document
    out = {name: doc.get(name) for name in SUMMARY_FIELDS}
    description = _clip(doc.get("description") or "", DESCRIPTION_CHARS)
    out["description"] = description
    snippets = hit.highlights or {}
    out["highlight"] = {
        "name": str(to_html(snippets["name"]) if "name" in snippets else escape(doc.get("name") or "")),
        "description": str(to_html(snippets["description"]) if "description" in snippets else escape(description)),
        "services": str(to_html(snippets["services"])) if "services" in snippets else None,
    }
    out["distance_km"] = None if hit.distance_km is None else round(hit.distance_km, 2)
    return out


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def merged_into(index: SearchIndex, listing_id: str) -> str | None:
    """The listing a source record was folded into, when `listing_id` names no listing itself: a
    record that merged with another source's record of the same organisation gives up its own id
    (the merged listing takes the smallest member id), and its profile address must still lead
    to the organisation. None when no listing holds it.

    The listing itself never counts: a search may still see a listing just deleted (Elasticsearch
    searches what its last refresh saw), and a redirect to the same address would never end."""
    found = index.search(SearchQuery(filters={"member_ids": [listing_id]}, sort="name", limit=2))
    return next((hit.id for hit in found.hits if hit.id != listing_id), None)
