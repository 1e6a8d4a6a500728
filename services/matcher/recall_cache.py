"""One consortium request's view of the search index: the area's recall, shared by its requirements.

A consortium request matches every requirement of a lot at the same delivery place, each as
`/match` would. Their recall queries (`candidates.py`) all search the same area, and a query with
a radius makes the index find every listing in the area first: tens of thousands round London, 7
to 10 ms each time, most of a request. So this view asks for the area as few times as it can and
gives every query the answer the index would have given it:

- a repeated query (the nearest suppliers, the same for every requirement; two requirements in
  one CPV group) is answered from memory;
- a text query (the nearest suppliers within the radius that mention a word) is asked sorted by
  distance without the radius, then cut at the radius: every listing within the radius sorts
  before every listing beyond it, and the listings mentioning one specific word are a few hundred
  wherever they are (`candidates.MAX_SHARE` keeps the words rare);
- a member's location comes from the documents recall has already read.

Asking the requirements' CPV queries as one (the nearest suppliers in any of their groups, cut per
requirement) was tried and dropped: to be sure of every requirement's nearest `pool` the combined
query must read `pool` documents per requirement, and in a city reading them cost what it saved.

An answer's `total` and cursor may differ from the direct query's (recall reads neither); its hits
do not. Held for one request only, never shared between requests or threads.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from shared.search.port import Document, SearchIndex, SearchQuery, SearchResult


class RecallCache:
    """Delegates to `index` (see the module docstring).

    Only what recall uses (`search`, `count`) and `location` are here; `as_index` hands it to code
    that expects a `SearchIndex`.
    """

    def __init__(self, index: SearchIndex) -> None:
        self._index = index
        self._answers: dict[str, SearchResult] = {}
        self._documents: dict[str, Document] = {}

    def search(self, query: SearchQuery) -> SearchResult:
        key = _key(query)
        found = self._answers.get(key)
        if found is None:
            found = self._answers[key] = self._answer(query)
            self._documents.update((hit.id, hit.document) for hit in found.hits)
        return found

    def _answer(self, query: SearchQuery) -> SearchResult:
        near = query.near
        in_radius = near is not None and near.radius_km is not None and query.sort == "distance"
        if in_radius and _has_text(query) and _first_page(query):
            return self._nearest_mentions(query)
        return self._index.search(query)

    def _nearest_mentions(self, query: SearchQuery) -> SearchResult:
        """A text query within a radius, asked without it and cut at the radius."""
        assert query.near is not None and query.near.radius_km is not None
        radius = query.near.radius_km
        wide = self._index.search(replace(query, near=replace(query.near, radius_km=None)))
        hits = [hit for hit in wide.hits if hit.distance_km is not None and hit.distance_km <= radius]
        return SearchResult(total=len(hits), hits=hits, facets={})

    def count(self, query: SearchQuery | None = None) -> int:
        return self._index.count(query)

    def location(self, listing_id: str) -> tuple[float, float] | None:
        """Where a listing is: from a document recall returned, else asked of the index."""
        doc = self._documents.get(listing_id)
        if doc is None:
            doc = self._index.get(listing_id)
        point = (doc or {}).get("location")
        return (point["lat"], point["lon"]) if point else None

    def as_index(self) -> SearchIndex:
        """This view typed as the port: recall calls only `search` and `count`, which it has."""
        return self  # type: ignore[return-value]


def _first_page(query: SearchQuery) -> bool:
    """What recall asks: a first page of exact matches, nothing but hits."""
    plain = not (query.facets or query.highlight or query.fuzzy)
    return plain and query.offset == 0 and query.cursor is None


def _has_text(query: SearchQuery) -> bool:
    return bool(query.text and query.text.strip())


def _key(query: SearchQuery) -> str:
    """A query's identity: its fields, with filter values in a canonical order."""
    fields: dict[str, Any] = dict(query.__dict__)
    fields["filters"] = sorted((name, sorted(values)) for name, values in query.filters.items())
    fields["near"] = None if query.near is None else query.near.__dict__
    fields["facets"] = list(query.facets)
    return json.dumps(fields, sort_keys=True, default=str)
