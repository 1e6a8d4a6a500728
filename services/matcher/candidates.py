"""Candidate generation: ask the search index for the suppliers worth re-ranking for a lot.

Three kinds of recall over the lot's area, unioned by id, each a bounded page of hits:

- CPV: the nearest suppliers sharing a CPV group (3 digits) with the lot;
- text: the suppliers whose text best matches the lot's weightiest words, by BM25 in the area
  (`by_text`: one query, any word);
- nearest: when those find too few, the `pool` suppliers closest to the delivery place, so a lot
  still gets the best local fits when few suppliers describe the work in the lot's words (many
  listings say what they do only through codes and categories). The benchmark loses nothing by
  skipping it otherwise, and a dense city saves a query and a hundred documents.

Reading a hit (its stored document) is most of what a query costs, so the pages are small: the
re-ranking needs the plausible suppliers, not every supplier in the area.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from services.matcher.features import LotContext
from services.matcher.places import Place, regions_within
from services.matcher.supplier import Supplier, supplier
from services.matcher.text import BOILERPLATE, WordStatistics
from shared.search.port import Hit, Near, SearchIndex, SearchQuery

TEXT_WORDS = 15
"""How many of the lot's words the text recall query holds: enough to cover a real notice's
title and the opening of its description once boilerplate is left out."""
TEXT_HITS = 60
"""The best-matching suppliers the text query reads: on the judged real lots, 60 recalled a
relevant candidate for 37 of 42 lots where 4 per-word queries of a third of a pool each found 32,
at a fifth of the queries."""


@dataclass(frozen=True)
class Recall:
    """What every recall query shares: the index, the area and the statistics."""

    index: SearchIndex
    stats: WordStatistics
    base: SearchQuery
    pool: int


def area_query(
    place: Place, radius_km: float, legal_forms: Sequence[str], limit: int, remote: bool = False
) -> SearchQuery:
    """The area every recall query shares: a radius round the point, else the region, else the UK;
    for remote work the whole UK, nearest first when the lot has a point.

    Required legal forms are pushed into the index so the pool is not spent on excluded suppliers.
    """
    filters: dict[str, Sequence[str]] = {}
    if legal_forms:
        filters["legal_form"] = list(legal_forms)
    if remote:
        near = None if place.point is None else Near(lat=place.point[0], lon=place.point[1])
        return SearchQuery(filters=filters, near=near, sort="distance" if near else "name", limit=limit)
    if place.point is not None:
        near = Near(lat=place.point[0], lon=place.point[1], radius_km=radius_km)
        return SearchQuery(filters=filters, near=near, sort="distance", limit=limit)
    if not place.national and place.region is not None:
        filters["region"] = list(regions_within(place.region))
    return SearchQuery(filters=filters, sort="name", limit=limit)


def fetch_candidates(
    index: SearchIndex,
    stats: WordStatistics,
    ctx: LotContext,
    pool: int,
    wanted: int,
) -> list[tuple[Supplier, float | None]]:
    """Suppliers (with distance when the lot has a point) from the capability queries, each once,
    topped up with the nearest suppliers when those found fewer than twice the `wanted` results."""
    lot = ctx.lot
    legal_forms = [f.value for f in lot.required_legal_forms]
    base = area_query(ctx.place, ctx.search_radius_km, legal_forms, pool, ctx.remote)
    recall = Recall(index, stats, base, pool)
    found: dict[str, tuple[Supplier, float | None]] = {}
    _add(found, [*by_cpv(recall, lot.cpv_codes), *by_text(recall, ctx.vector, ctx.place)])
    if len(found) < 2 * wanted:
        _add(found, nearest(recall))
    return list(found.values())


STRONG_CODE_DIGITS = 4
"""A strong fit shares the lot's main CPV code down to its class (4 digits) or deeper."""


def same_class_beyond(
    index: SearchIndex, stats: WordStatistics, ctx: LotContext, wider_km: float, limit: int
) -> list[tuple[Supplier, float | None]]:
    """The nearest suppliers coded under the lot's main CPV class or deeper, beyond its search
    radius and within `wider_km`: the only suppliers a strong fit there can be. Few suppliers
    share a class, so they are asked UK-wide nearest first and cut, which reads far less than the
    wide area would."""
    main = ctx.lot.cpv_codes[0] if ctx.lot.cpv_codes else ""
    digits = len(main.rstrip("0"))
    if ctx.place.point is None or digits < STRONG_CODE_DIGITS:
        return []
    legal_forms = [f.value for f in ctx.lot.required_legal_forms]
    filters: dict[str, Sequence[str]] = {"cpv": [main[:digits]]}
    if legal_forms:
        filters["legal_form"] = legal_forms
    query = SearchQuery(
        filters=filters, near=Near(lat=ctx.place.point[0], lon=ctx.place.point[1]), sort="distance", limit=limit
    )
    found: dict[str, tuple[Supplier, float | None]] = {}
    hits = index.search(query).hits
    _add(found, [h for h in hits if h.distance_km is not None and ctx.search_radius_km < h.distance_km <= wider_km])
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
    division-level code), or with the group's or division's own code: many registers only say
    "architectural activities", which becomes the division code 71000000."""
    prefixes: set[str] = set()
    for code in codes:
        prefixes.add(code[: min(3, max(2, len(code.rstrip("0"))))])
        prefixes.update({code[:2] + "000000", code[:3] + "00000"})
    if not prefixes:
        return []
    cpv_filter = {**recall.base.filters, "cpv": sorted(prefixes)}
    return recall.index.search(replace(recall.base, filters=cpv_filter)).hits


def by_text(recall: Recall, vector: Mapping[str, float], place: Place) -> list[Hit]:
    """The suppliers whose text best matches the lot's: one BM25 query for any of the lot's
    `TEXT_WORDS` weightiest words about the work (title and CPV-label words first, boilerplate
    of notices left out), best first within the area, so a supplier that uses three of the lot's
    words beats one that uses a single rare one, and the proper nouns of a notice (a street, a
    framework number) cannot decide recall alone. The lot's place names are not in the vector.

    A lot placed only by region (no point) is read UK-wide: the right work just over the border
    is worth showing below the local suppliers (the distance feature gives it nothing), where a
    region filter would hide it."""
    by_weight = sorted(vector, key=lambda w: (-vector[w], w))
    terms = [w for w in by_weight if w not in BOILERPLATE][:TEXT_WORDS]
    if not terms:
        return []
    query = replace(recall.base, text=" ".join(terms), any_word=True, sort="relevance", limit=TEXT_HITS)
    if recall.base.near is None and not place.national:
        query = replace(query, filters={k: v for k, v in recall.base.filters.items() if k != "region"})
    return recall.index.search(query).hits
