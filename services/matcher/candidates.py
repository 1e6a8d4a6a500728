"""Candidate generation: ask the search index for the suppliers worth re-ranking for a lot.

Three kinds of recall over the lot's area, unioned by id, each a bounded page of hits:

- CPV: the nearest suppliers sharing a CPV group (3 digits) with the lot;
- text: the nearest suppliers mentioning one of the lot's rarest specific words. The index ANDs
  query words, so each word is its own query; words in more than `MAX_SHARE` of the directory
  are skipped as not specific (and they are the costly ones to search for);
- nearest: when those find too few, the `pool` suppliers closest to the delivery place, so a lot
  still gets the best local fits when few suppliers describe the work in the lot's words (many
  listings say what they do only through codes and categories). The benchmark loses nothing by
  skipping it otherwise, and a dense city saves a query and a hundred documents.

Reading a hit (its stored document) is most of what a query costs, so the pages are small: the
re-ranking needs the plausible suppliers, not every supplier in the area.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from services.matcher.places import Place
from services.matcher.supplier import Supplier, supplier
from services.matcher.text import LotWords, WordStatistics, rarest
from shared.models import Lot
from shared.search.port import Hit, Near, SearchIndex, SearchQuery

TEXT_TERMS = 2
MAX_SHARE = 0.03


@dataclass(frozen=True)
class Recall:
    """What every recall query shares: the index, the area and the statistics."""

    index: SearchIndex
    stats: WordStatistics
    base: SearchQuery
    pool: int


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


def fetch_candidates(
    index: SearchIndex,
    stats: WordStatistics,
    lot: Lot,
    lot_words: LotWords,
    place: Place,
    radius_km: float,
    pool: int,
    wanted: int,
) -> list[tuple[Supplier, float | None]]:
    """Suppliers (with distance when the lot has a point) from the capability queries, each once,
    topped up with the nearest suppliers when those found fewer than twice the `wanted` results."""
    base = area_query(place, radius_km, [f.value for f in lot.required_legal_forms], pool)
    recall = Recall(index, stats, base, pool)
    found: dict[str, tuple[Supplier, float | None]] = {}
    _add(found, [*by_cpv(recall, lot.cpv_codes), *by_text(recall, lot_words)])
    if len(found) < 2 * wanted:
        _add(found, nearest(recall))
    return list(found.values())


def _add(found: dict[str, tuple[Supplier, float | None]], hits: list[Hit]) -> None:
    for hit in hits:
        if hit.id not in found:
            view = supplier(hit.document)
            if view is not None:
                found[hit.id] = (view, hit.distance_km)


def nearest(recall: Recall) -> list[Hit]:
    return recall.index.search(recall.base).hits


def by_cpv(recall: Recall, codes: Sequence[str]) -> list[Hit]:
    """The nearest suppliers with a code in one of the lot's CPV groups (its division for a
    division-level code)."""
    prefixes = sorted({code[: min(3, max(2, len(code.rstrip("0"))))] for code in codes})
    if not prefixes:
        return []
    return recall.index.search(replace(recall.base, filters={**recall.base.filters, "cpv": prefixes})).hits


def by_text(recall: Recall, lot: LotWords) -> list[Hit]:
    """The nearest suppliers mentioning each of the lot's `TEXT_TERMS` rarest specific words,
    from its title and CPV labels first, then from the opening of its description."""
    terms = rarest(recall.index, recall.stats, lot.head, MAX_SHARE, TEXT_TERMS)
    if len(terms) < TEXT_TERMS:
        opening = [w for w in lot.opening if w not in terms]
        terms += rarest(recall.index, recall.stats, opening, MAX_SHARE, TEXT_TERMS - len(terms))
    limit = max(recall.pool // 3, 10)  # a word's hits are plausible, not certain: a third of a pool each
    return [hit for term in terms for hit in recall.index.search(replace(recall.base, text=term, limit=limit)).hits]
