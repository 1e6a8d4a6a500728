"""The `SearchIndex` port: what the services need from a search engine, and nothing more.

Semantics every adapter must keep (the contract suite in tests/contract checks them):
- Documents are JSON objects with a string `id`; writes are idempotent by id.
- A write whose `updated_at` is older than the stored document's is ignored ("stale").
- Text matches when every non-stop word of the query (English-stemmed) occurs in some text
  field; query syntax characters are taken literally.
- Filters: OR within one filter's values, AND across filters. Prefix filters match any value
  that starts with the given prefix.
- Geo: `near` with `radius_km` keeps documents whose point lies within the radius (great-circle);
  `near` without a radius only computes distances. Documents without a point never match a
  radius filter and sort last by distance.
- Sort: relevance (BM25; without text, by distance when `near` is given, else by name),
  distance, or name (case-insensitive). Ties break by id so that pages are stable.
- Facets count values over the whole filtered result set, most frequent first, ties by value.
- Writes become visible to `search` after `refresh()`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

SortOrder = Literal["relevance", "distance", "name"]
Document = dict[str, Any]


@dataclass(frozen=True)
class Near:
    lat: float
    lon: float
    radius_km: float | None = None


@dataclass(frozen=True)
class SearchQuery:
    text: str | None = None
    filters: Mapping[str, Sequence[str]] = field(default_factory=dict)
    near: Near | None = None
    facets: Sequence[str] = ()
    sort: SortOrder = "relevance"
    offset: int = 0
    limit: int = 20


@dataclass(frozen=True)
class Hit:
    id: str
    score: float | None
    distance_km: float | None
    document: Document


@dataclass(frozen=True)
class FacetBucket:
    value: str
    count: int


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, list[FacetBucket]]


@dataclass
class BulkResult:
    """What a bulk write did to each document; callers commit only when `failed` is empty."""

    written: int = 0
    stale: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


class SearchIndex(Protocol):
    def ensure_index(self) -> None:
        """Create the index (and alias) for the current schema version if it does not exist."""

    def bulk_upsert(self, documents: Sequence[Document]) -> BulkResult: ...

    def delete(self, ids: Sequence[str]) -> BulkResult:
        """Remove documents; deleting an absent id is not an error."""

    def get(self, doc_id: str) -> Document | None: ...

    def search(self, query: SearchQuery) -> SearchResult: ...

    def count(self, query: SearchQuery | None = None) -> int: ...

    def refresh(self) -> None: ...

    def ping(self) -> bool:
        """True when the backend answers and the index exists (readiness)."""

    def drop(self) -> None:
        """Delete the index and everything in it (tests and rebuilds)."""

    def close(self) -> None: ...
