"""The `SearchIndex` port: what the services need from a search engine, and nothing more.

Semantics every adapter must keep (the contract suite in tests/contract checks them):
- Documents are JSON objects with a string `id`; writes are idempotent by id.
- A write whose `updated_at` is older than the stored document's is ignored ("stale").
- Text matches when every non-stop word of the query (English-stemmed) occurs in some text
  field; query syntax characters are taken literally. Upper-case acronyms that spell English
  words ("IT", "SEND") are their own terms, in documents and queries (`vocabulary`).
- Buyers' vocabulary (when asked, `buyer_terms=True`): lower-case acronyms count as acronyms,
  a phrase of the query in a synonym group may be matched by any phrase of the group (all its
  words, anywhere), and documents holding the typed words next to each other in one field score
  above those where they are scattered (embedded: among the best `PHRASE_WINDOW` by BM25).
- Filters: OR within one filter's values, AND across filters. Prefix filters match any value
  that starts with the given prefix.
- Geo: `near` with `radius_km` keeps documents whose point lies within the radius (great-circle);
  `near` without a radius only computes distances. Documents without a point never match a
  radius filter and sort last by distance.
- Sort: relevance (BM25; without text, by distance when `near` is given, else by name),
  distance, or name (case-insensitive). Ties break by id so that pages are stable.
- Facets are disjunctive: a dimension's counts apply every active filter except that dimension's
  own, so a user sees how many results each other value would add. Most frequent first, ties by
  value.
- Highlights (when asked): per text field that matched, a snippet of the stored text with each
  matched word between `HIGHLIGHT_START` and `HIGHLIGHT_END` (private-use characters, never
  markup); `highlight_segments` splits one for a caller to escape and wrap.
- Cursor paging: `SearchResult.next_cursor` (opaque) passed back as `SearchQuery.cursor` with the
  same query gives the page after the last hit, in the same order (`search_after`); offset paging
  stays for page numbers. A cursor is valid for one sort order only.
- Typo tolerance (when asked, `fuzzy=True`): if the text matches nothing exactly, each word also
  matches index terms within Elasticsearch's `AUTO` edit distance of its stem (0 edits under 3
  letters, 1 up to 5, else 2; a transposition is one edit) that share its first letter.
- Spelling (when asked, `spelling=True`): if the text matches nothing and some words are unknown to
  the index (no document holds them), each unknown word is replaced by the known term nearest to
  its stem (the same edit limits as typo tolerance, fewest edits first, then the term more
  documents hold) and the search runs again; `SearchResult.corrections` says what was replaced.
  Known words are never replaced, so a combination that matches nothing stays empty.
- Suggestions: listing names whose words start with the typed words (the last one as a prefix),
  and category and region values starting with the typed text, case-insensitively.
- Writes become visible to `search` after `refresh()`.

Generations (zero-downtime rebuilds): an index is served from one physical *generation* at a
time (Elasticsearch: a concrete index behind the alias; embedded: a set of tables named by a
pointer row). `build_generation` makes an empty one beside it that readers never see;
`switch_to` makes it live in one atomic step, after which every reader and writer of the index,
in every process, uses it; `drop_generations` removes the others. `rebuild_lock` keeps two
rebuilds from running at once and outlives no dead holder. `services/ingest/reindex.py` drives
these.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

SortOrder = Literal["relevance", "distance", "name"]
Document = dict[str, Any]
# Private-use characters around each highlighted word: no data or markup language gives them a
# meaning, so a caller escapes the text first and then turns them into <mark> (or anything else).
HIGHLIGHT_START = "\ue000"
HIGHLIGHT_END = "\ue001"
SuggestionField = Literal["name", "categories", "region"]


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
    cursor: str | None = None
    """`next_cursor` of the previous page; continues after its last hit (offset must be 0)."""
    highlight: bool = False
    """Fill `Hit.highlights` with snippets of the text fields that matched."""
    fuzzy: bool = False
    """Typo tolerance: when the text matches nothing exactly, retry with near spellings."""
    buyer_terms: bool = False
    """Read the text as a buyer's search: synonyms, lower-case acronyms, phrases scored higher."""
    spelling: bool = False
    """When the text matches nothing, replace the words the index does not know ("did you mean")."""
    any_word: bool = False
    """Match documents holding any of the text's words, BM25 summed over those they hold, instead
    of all of them: the matcher recalls from a lot's whole description, which no supplier repeats."""


@dataclass(frozen=True)
class Hit:
    id: str
    score: float | None
    distance_km: float | None
    document: Document
    highlights: Mapping[str, str] | None = None
    """Text field -> snippet with matches between HIGHLIGHT_START and HIGHLIGHT_END (when asked)."""


@dataclass(frozen=True)
class FacetBucket:
    value: str
    count: int


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, list[FacetBucket]]
    next_cursor: str | None = None
    """Pass back as `SearchQuery.cursor` for the next page; None when this page was not full."""
    fuzzy: bool = False
    """True when the exact text matched nothing and these hits come from the typo-tolerant retry."""
    corrections: Mapping[str, str] = field(default_factory=dict)
    """With `spelling`: each word the index did not know -> the index term searched instead."""


@dataclass(frozen=True)
class Suggestion:
    """A completion for what a user is typing: a listing name (with its `id`) or a keyword value."""

    text: str
    field: SuggestionField
    count: int
    id: str | None = None


@dataclass
class BulkResult:
    """What a bulk write did to each document; callers commit only when `failed` is empty."""

    written: int = 0
    stale: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


class RebuildInProgress(RuntimeError):
    """Another rebuild holds the index's rebuild lock (the message says who and since when)."""


class GenerationWriter(Protocol):
    """Writes into one physical generation that readers do not see yet (what a rebuild fills)."""

    @property
    def generation(self) -> str: ...

    def bulk_upsert(self, documents: Sequence[Document]) -> BulkResult: ...

    def delete(self, ids: Sequence[str]) -> BulkResult: ...

    def count(self, query: SearchQuery | None = None) -> int: ...

    def refresh(self) -> None: ...

    def close(self) -> None: ...


class SearchIndex(Protocol):
    def ensure_index(self) -> None:
        """Create the index (and alias) for the current schema version if it does not exist."""

    def bulk_upsert(self, documents: Sequence[Document]) -> BulkResult: ...

    def delete(self, ids: Sequence[str]) -> BulkResult:
        """Remove documents; deleting an absent id is not an error."""

    def get(self, doc_id: str) -> Document | None: ...

    def search(self, query: SearchQuery) -> SearchResult: ...

    def count(self, query: SearchQuery | None = None) -> int: ...

    def scan(self, query: SearchQuery, page_size: int = 500) -> Iterator[Hit]:
        """Every hit of `query` in its sort order, fetched a page at a time (exports).

        `offset`, `limit`, `cursor` and `facets` of the query are ignored.
        """

    def suggest(self, prefix: str, limit: int = 10) -> list[Suggestion]:
        """Names first (best match first), then categories and regions (most listings first)."""

    def refresh(self) -> None: ...

    def ping(self) -> bool:
        """True when the backend answers and the index exists (readiness)."""

    def drop(self) -> None:
        """Delete the index and everything in it (tests and rebuilds)."""

    def close(self) -> None: ...

    # -- generations (rebuilds) ----------------------------------------------------------------

    @property
    def generation(self) -> str:
        """The physical generation readers and writers use now."""

    def generations(self) -> list[str]:
        """Every physical generation of this index and schema version, live or not, oldest first."""

    def build_generation(self) -> GenerationWriter:
        """Create an empty generation beside the live one; its writes reach no reader until `switch_to`."""

    def switch_to(self, generation: str, finish: Callable[[], object] | None = None) -> bool:
        """Make `generation` live for every reader and writer in one atomic step.

        `finish` runs just before the switch. Returns True when no other writer could commit
        between `finish` and the switch (embedded: both run in one write transaction); False when
        the backend cannot hold writers off (Elasticsearch), so the caller must catch up after.
        """

    def drop_generations(self, generations: Sequence[str]) -> None:
        """Delete generations that are not live (orphans of a dead rebuild, the one replaced)."""

    def rebuild_lock(self, holder: str) -> AbstractContextManager[None]:
        """Held for a whole rebuild; raises RebuildInProgress while another holder is alive.

        A holder that died releases it (embedded: the OS drops its file lock; Elasticsearch: its
        lease expires unless renewed).
        """


def effective_sort(query: SearchQuery) -> SortOrder:
    """The order a query really gets: without text there is no relevance, so distance when a point
    is given, else name. Cursors are bound to this order."""
    if query.sort == "distance" and query.near is None:
        raise ValueError("sort=distance needs a point (near)")
    if query.sort == "relevance" and not (query.text and query.text.strip()):
        return "distance" if query.near is not None else "name"
    return query.sort


def scan_pages(search: Callable[[SearchQuery], SearchResult], query: SearchQuery, page_size: int) -> Iterator[Hit]:
    """Every hit of `query` by cursor pages of `page_size`, each its own `search` call, so that an
    export never holds the whole result (nor one long read transaction)."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    page = replace(query, offset=0, limit=page_size, cursor=None, facets=(), highlight=False)
    while True:
        result = search(page)
        yield from result.hits
        if result.next_cursor is None:
            return
        page = replace(page, cursor=result.next_cursor)


def highlight_segments(snippet: str) -> list[tuple[str, bool]]:
    """Split a highlighted snippet into (text, is_match) runs, for callers to escape and mark up."""
    segments: list[tuple[str, bool]] = []
    for i, part in enumerate(snippet.split(HIGHLIGHT_START)):
        matched, _, rest = part.partition(HIGHLIGHT_END) if i else ("", "", part)
        segments.extend((text, is_match) for text, is_match in ((matched, True), (rest, False)) if text)
    return segments


def encode_cursor(sort: str, after: Sequence[Any]) -> str:
    """An opaque, URL-safe cursor holding the sort order and the last hit's sort values."""
    raw = json.dumps({"sort": sort, "after": list(after)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> list[Any]:
    """The sort values inside a cursor; ValueError when it is malformed or made for another sort."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValueError("cursor is not valid") from exc
    if not isinstance(data, dict) or data.get("sort") != sort or not isinstance(data.get("after"), list):
        raise ValueError("cursor does not belong to this query's sort order")
    return list(data["after"])
