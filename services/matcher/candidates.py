"""Candidate generation: ask the search index for the suppliers worth re-ranking for a lot.

Three recall queries over the same area, unioned by id: the nearest suppliers, those sharing a
CPV group with the lot, and those whose text mentions a salient word of the lot's title. The
index ANDs query words, so text recall issues one query per word to OR them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from pydantic import ValidationError
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from services.matcher.places import Place
from shared.models import Listing, Lot
from shared.search.port import Near, SearchIndex, SearchQuery

log = logging.getLogger(__name__)

TEXT_TERMS = 3
_WORD = re.compile(r"[a-z]{4,}")


def area_query(place: Place, radius_km: float, legal_forms: Sequence[str], limit: int) -> SearchQuery:
    """The area every recall query shares: a radius round the point, else the region, else the UK.

    Required legal forms are pushed into the index so the pool is not spent on excluded suppliers.
    """
    filters: dict[str, Sequence[str]] = {}
    if legal_forms:
        filters["legal_form"] = list(legal_forms)
    if place.point is not None:
        near = Near(lat=place.point[0], lon=place.point[1], radius_km=radius_km)
        return SearchQuery(filters=filters, near=near, sort="distance", limit=limit)
    if not place.national and place.region is not None:
        filters["region"] = [place.region]
    return SearchQuery(filters=filters, sort="name", limit=limit)


def salient_terms(title: str, count: int = TEXT_TERMS) -> list[str]:
    """The longest title words that are not stop words: long words are usually the specific ones."""
    words = [w for w in dict.fromkeys(_WORD.findall(title.lower())) if w not in ENGLISH_STOP_WORDS]
    return sorted(words, key=len, reverse=True)[:count]


def recall_queries(lot: Lot, base: SearchQuery) -> list[SearchQuery]:
    queries = [base]
    groups = sorted({code[:3] for code in lot.cpv_codes})
    if groups:
        queries.append(replace(base, filters={**base.filters, "cpv": groups}))
    per_term = max(base.limit // TEXT_TERMS, 10)
    queries += [replace(base, text=term, limit=per_term) for term in salient_terms(lot.title)]
    return queries


def fetch_candidates(
    index: SearchIndex, lot: Lot, place: Place, radius_km: float, pool: int
) -> list[tuple[Listing, float | None]]:
    """Listings (with distance when the lot has a point) from every recall query, each once."""
    base = area_query(place, radius_km, [f.value for f in lot.required_legal_forms], pool)
    found: dict[str, tuple[Listing, float | None]] = {}
    for query in recall_queries(lot, base):
        for hit in index.search(query).hits:
            if hit.id not in found:
                listing = _listing(hit.document)
                if listing is not None:
                    found[hit.id] = (listing, hit.distance_km)
    return list(found.values())


def _listing(document: Mapping[str, object]) -> Listing | None:
    """A stored document as a Listing; one that no longer validates is skipped, not fatal."""
    try:
        return Listing.model_validate(document)
    except ValidationError as exc:
        log.warning("skipping invalid indexed listing %s: %s", document.get("id"), exc.error_count())
        return None
