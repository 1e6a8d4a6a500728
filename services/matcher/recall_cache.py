"""One consortium request's view of the search index: the area's recall, shared by its requirements.

A consortium request matches every requirement of a lot at the same delivery place, each as
`/match` would. Their recall queries (`candidates.py`) all search the same area; the embedded
index measures an area once per snapshot itself (`embedded_geo`), and this view saves what is
left, giving every query the answer the index would have given it:

- a repeated query (the nearest suppliers, the same for every requirement; two requirements in
  one CPV group) is answered from memory;
- a member's location comes from the documents recall has already read.

Asking the requirements' CPV queries as one (the nearest suppliers in any of their groups, cut per
requirement) was tried and dropped: to be sure of every requirement's nearest `pool` the combined
query must read `pool` documents per requirement, and in a city reading them cost what it saved.

Answers are the index's own. Held for one request only, never shared between requests or threads.
"""

from __future__ import annotations

import json
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
            found = self._answers[key] = self._index.search(query)
            self._documents.update((hit.id, hit.document) for hit in found.hits)
        return found

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


def _key(query: SearchQuery) -> str:
    """A query's identity: its fields, with filter values in a canonical order."""
    fields: dict[str, Any] = dict(query.__dict__)
    fields["filters"] = sorted((name, sorted(values)) for name, values in query.filters.items())
    fields["near"] = None if query.near is None else query.near.__dict__
    fields["facets"] = list(query.facets)
    return json.dumps(fields, sort_keys=True, default=str)
