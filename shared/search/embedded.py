"""One generation of the embedded index: one SQLite file, FTS5 for text, an R*Tree for geo, numpy
for the rest. `embedded_alias` serves the live generation (and rebuilds) as the `SearchIndex`.

Storage is derived from the `IndexSchema`; every table name starts with
`<prefix><schema.name>_v<version>` (plus `_g<stamp>` for a generation built by a rebuild) so that
several indexes (test prefixes, a rebuild, a new schema version) share one file without meeting:

- `_docs`: one small row per document (id, normalised `updated_at`, lower-cased sort key, token
  count for BM25); `_bodies` holds the JSON apart, so the rows every query touches stay dense in
  the page cache.
- `_fts`: FTS5 over the text fields (list fields joined), stemmed and diacritic-folded.
- `_geo`: the R*Tree of the documents' points, from which snapshots read them; radius queries
  take the documents in the radius's bounding box from the snapshot and refine them to exact
  distances (`embedded_geo`).
- `_names`: FTS5 over the suggest field, unstemmed with prefix indexes, for completion.
- `_terms`: (doc, field, value) for keyword and prefix filters and for facet counts.
- `_changes`: which documents each write touched, in order; readers use it to keep their
  in-process snapshot (`embedded_snapshot`) current without re-reading everything.

Queries are evaluated on that snapshot: filters and facets are numpy masks and counts over every
document (tens of thousands of matches cost milliseconds, where SQL row by row cost a hundred),
BM25 is computed in numpy from postings cached per process and patched on writes
(`embedded_text`), a radius's box is a slice of the snapshot's points in latitude order
(`embedded_geo`), and SQL reads only the page's bodies and the text its snippets are made from. A
process warms its snapshot and the postings of the most frequent words in the background when it
first uses the index. The file runs in WAL mode, so gunicorn workers and the ingest consumer read while one
process writes; commits are visible at once, which makes `refresh()` a no-op.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from shared import json_codec
from shared.errors import BackendUnavailable
from shared.search import embedded_geo as geo
from shared.search import embedded_snapshot as snapshots
from shared.search import embedded_text as text
from shared.search import vocabulary as buyer_vocabulary
from shared.search.embedded_snapshot import BoolArray, FloatArray, IntArray, Postings, Snapshot, Tables, Vocabulary
from shared.search.port import (
    BulkResult,
    Document,
    FacetBucket,
    Hit,
    Near,
    SearchQuery,
    SearchResult,
    SortOrder,
    Suggestion,
    decode_cursor,
    effective_sort,
    encode_cursor,
    scan_pages,
)
from shared.search.schema import ENGLISH_STOP_WORDS, IndexSchema
from shared.sqlite import ThreadConnections, index_setup, transaction, unavailable_on_sqlite_error

__all__ = ["EmbeddedSearchIndex", "GenerationMoved", "ThreadConnections", "fts_query", "transaction"]
fts_query = text.fts_query
log = logging.getLogger(__name__)
# The change log keeps this many entries; a reader further behind re-reads everything.
CHANGES_KEPT = 50_000
# Ids per `IN (...)` lookup, well under SQLite's bound-parameter limit.
ID_CHUNK = 500
TABLES = ("docs", "bodies", "fts", "names", "terms", "changes", "geo")
# Terms whose postings a process reads when it opens the index: the most frequent ones cost tens
# of milliseconds each to read and come back in most queries.
WARM_TERMS = 400
# With `buyer_terms`, how many of the best documents by BM25 are checked for the typed phrase.
PHRASE_WINDOW = 50
# Synonym phrases whose documents a snapshot remembers (`_near_each_other`) before it starts again.
NEAR_KEPT = 256
# Words whose index terms a process remembers (`_terms_by_word`) before it starts again.
WORD_TERMS_KEPT = 20_000
# A query's text as index terms: every clause must match one of its alternatives, each a list of
# terms that must all occur, with the weight of its score (synonyms count less than typed words)
# and the words that must also stand near each other (a synonym of several words), or ().
Clauses = list[list[tuple[float, list[str], tuple[str, ...]]]]


def table_base(prefix: str, schema: IndexSchema) -> str:
    """The first generation's table-name stem; later generations add `_g<stamp>`."""
    return re.sub(r"[^a-z0-9_]", "_", f"{prefix}{schema.name}".lower()) + f"_v{schema.version}"


class GenerationMoved(BackendUnavailable):
    """The pointer names another generation than the one this object serves: ask again."""


def _keyword_values(value: Any) -> list[str]:
    """A keyword field's values as stored terms: lists flatten, scalars are their JSON text."""
    items = value if isinstance(value, list) else [value]
    return [v if isinstance(v, str) else json.dumps(v) for v in items if v is not None]


def _chunks(docs: Sequence[int], size: int = 5000) -> Iterator[str]:
    """Document numbers as comma-separated SQL text, `size` at a time (integers: no injection)."""
    for start in range(0, len(docs), size):
        yield ",".join(str(int(doc)) for doc in docs[start : start + size])


def _text_value(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value if v is not None)
    return "" if value is None else str(value)


def _normalise_version(value: Any) -> str:
    """`updated_at` as a UTC ISO string with microseconds, so that stored versions compare as text."""
    if not isinstance(value, str):
        raise ValueError(f"updated_at must be an ISO timestamp string, not {value!r}")
    stamp = datetime.fromisoformat(value)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC).isoformat(timespec="microseconds")


def _point(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"location must be an object with lat and lon, not {value!r}")
    lat, lon = float(value["lat"]), float(value["lon"])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"location {lat},{lon} is outside WGS84 bounds")
    return lat, lon


@dataclass(frozen=True)
class _Row:
    """A document prepared for writing; preparing first keeps bad documents out of the transaction."""

    id: str
    body: str
    version: str
    sort_key: str | None
    point: tuple[float, float] | None
    text: tuple[str, ...]
    name: str
    terms: frozenset[tuple[int, str]]


@dataclass(frozen=True)
class _Matches:
    """A query evaluated on a snapshot: the base set (text and radius), each filter's mask, and
    per-document scores and distances (NaN where not computed)."""

    snapshot: Snapshot
    base: BoolArray
    filters: dict[str, BoolArray]
    score: FloatArray | None
    dist: FloatArray | None
    match: str | None
    terms: tuple[str, ...]
    fuzzy: bool
    corrections: dict[str, str] = dataclasses.field(default_factory=dict)

    def all(self, leave_out: str | None = None) -> BoolArray:
        """The base set narrowed by every filter but those on field `leave_out`."""
        return self.narrowed(self.base, {f: m for f, m in self.filters.items() if f != leave_out})

    @staticmethod
    def narrowed(base: BoolArray, filters: dict[str, BoolArray]) -> BoolArray:
        mask = base
        for filter_mask in filters.values():
            mask = mask & filter_mask
        return mask


class EmbeddedSearchIndex:
    """`SearchIndex` on one generation's tables; see the module docstring for the storage layout.

    `generation` names the tables (default: the first generation). `connections` shares another
    object's per-thread connections, so that writes into a new generation can join the
    transaction that switches to it. `guard` runs at the start of every transaction and raises
    `GenerationMoved` when this generation stopped being live.
    """

    def __init__(
        self, path: str, schema: IndexSchema, prefix: str = "", generation: str | None = None,
        connections: ThreadConnections | None = None, guard: Callable[[sqlite3.Connection], None] | None = None,
    ) -> None:  # fmt: skip
        self._schema = schema
        base = generation or table_base(prefix, schema)
        self.generation = base
        self._guard = guard
        self._table_names = tuple(f"{base}_{t}" for t in TABLES)
        self._docs, self._bodies, self._fts, self._names, self._terms, self._changes, self._geo = (
            f'"{t}"' for t in self._table_names
        )
        self._tables = Tables(docs=self._docs, terms=self._terms, changes=self._changes, geo=self._geo)
        # Terms store a field number rather than its name: smaller keys, integer facet codes.
        # Numbers are stable within a schema version, which names the tables.
        fields = (*schema.keyword_fields, *(f for _, f in schema.prefix_fields))
        self._term_fields: tuple[str, ...] = tuple(dict.fromkeys(fields))
        self._own_connections = connections is None
        self._conns = connections or ThreadConnections(path, "NORMAL", index_setup)
        self._snapshot: Snapshot | None = None
        # One thread at a time loads or advances the snapshot; the others then reuse its work.
        self._refresh_lock = threading.Lock()
        self._warming: threading.Thread | None = None
        self._closing = threading.Event()
        self._word_terms: dict[str, list[str]] = {}

    # -- lifecycle -----------------------------------------------------------------------------

    def ensure_index(self) -> None:
        """Create the tables (idempotent)."""
        docs, terms = self._table_names[0], self._table_names[4]
        with transaction(self._conn(), "IMMEDIATE") as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._docs} (doc INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
                " updated_at TEXT NOT NULL, sort_key TEXT, tokens INTEGER NOT NULL)"
            )
            conn.execute(f'CREATE INDEX IF NOT EXISTS "{docs}_sort" ON {self._docs} (sort_key, id)')
            conn.execute(f"CREATE TABLE IF NOT EXISTS {self._bodies} (doc INTEGER PRIMARY KEY, body TEXT NOT NULL)")
            columns = ", ".join(f"c{i}" for i in range(len(self._schema.text_fields)))
            conn.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {self._fts} USING fts5({columns}, tokenize='{text.TOKENIZER}')"
            )
            # Completion matches typed prefixes of the words as written: no stemming.
            conn.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {self._names} USING fts5(name,"
                " tokenize='unicode61 remove_diacritics 2', prefix='1 2 3')"
            )
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._terms} (doc INTEGER NOT NULL, field INTEGER NOT NULL,"
                " value TEXT NOT NULL, PRIMARY KEY (doc, field, value)) WITHOUT ROWID"
            )
            conn.execute(f'CREATE INDEX IF NOT EXISTS "{terms}_value" ON {self._terms} (field, value, doc)')
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._changes} (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                " doc INTEGER NOT NULL)"
            )
            conn.execute(geo.create_sql(self._geo))

    def ping(self) -> bool:
        """True when every table (the R*Tree included) exists. Readiness is asked before a worker
        takes traffic (see infra/gunicorn.conf.py), so it also starts warming this process's caches."""
        try:
            placeholders = ", ".join("?" * len(self._table_names))
            with unavailable_on_sqlite_error():
                found = (
                    self._conn()
                    .execute(f"SELECT count(*) FROM sqlite_master WHERE name IN ({placeholders})", self._table_names)
                    .fetchone()[0]
                )
        except BackendUnavailable:
            return False
        ready = bool(found == len(self._table_names))
        if ready:
            self._warm_up_in_background()
        return ready

    def refresh(self) -> None:
        """Nothing to do: a committed write is visible to every reader at once."""

    def drop(self) -> None:
        with transaction(self._conn(), "IMMEDIATE") as conn:
            for table in (self._fts, self._names, self._terms, self._bodies, self._docs, self._changes, self._geo):
                conn.execute(f"DROP TABLE IF EXISTS {table}")
        with self._refresh_lock:
            self._snapshot = None

    def close(self) -> None:
        self._closing.set()
        if self._warming is not None and self._warming.is_alive():
            self._warming.join()
        if self._own_connections:
            self._conns.close_all()

    def retire(self) -> None:
        """Stop warming and forget the snapshot (this generation is no longer live); never blocks."""
        self._closing.set()
        self._snapshot = None

    def _conn(self) -> sqlite3.Connection:
        return self._conns.get()

    def _check(self, conn: sqlite3.Connection) -> None:
        if self._guard is not None:
            self._guard(conn)

    # -- writes --------------------------------------------------------------------------------

    def bulk_upsert(self, documents: Sequence[Document]) -> BulkResult:
        """Write documents in one transaction; older versions than the stored one count as stale.

        Equal versions overwrite, so replaying a batch is idempotent. A document that cannot be
        prepared (no id, bad timestamp or location) is reported in `failed` and the rest are written.
        An id given twice is written as if in two batches, one after the other.
        """
        result = BulkResult()
        rounds: list[dict[str, _Row]] = []
        for document in documents:
            try:
                row = self._prepare(document)
            except (KeyError, TypeError, ValueError) as exc:
                doc_id = document.get("id") if isinstance(document, dict) else None
                result.failed.append((str(doc_id or ""), f"{type(exc).__name__}: {exc}"))
                continue
            free = next((rows for rows in rounds if row.id not in rows), None)
            if free is None:
                free = {}
                rounds.append(free)
            free[row.id] = row
        with transaction(self._conn(), "IMMEDIATE") as conn:
            self._check(conn)
            for rows in rounds:
                written = self._write(conn, list(rows.values()))
                result.written += written
                result.stale += len(rows) - written
            self._prune_changes(conn)
        return result

    def delete(self, ids: Sequence[str]) -> BulkResult:
        """Every id counts as written: an absent id is already deleted (as Elasticsearch's bulk
        helpers treat a 404 on delete)."""
        with transaction(self._conn(), "IMMEDIATE") as conn:
            self._check(conn)
            docs = [doc for doc, _ in self._stored(conn, list(dict.fromkeys(ids))).values()]
            for chunk in _chunks(docs):
                self._remove_entries(conn, chunk)
                conn.execute(f"DELETE FROM {self._bodies} WHERE doc IN ({chunk})")
                conn.execute(f"DELETE FROM {self._docs} WHERE doc IN ({chunk})")
            conn.executemany(f"INSERT INTO {self._changes} (doc) VALUES (?)", [(doc,) for doc in docs])
            self._prune_changes(conn)
        return BulkResult(written=len(ids))

    def _prepare(self, document: Document) -> _Row:
        doc_id = document.get("id")
        if not isinstance(doc_id, str) or not doc_id:
            raise ValueError("document has no string id")
        schema = self._schema
        sort_value = document.get(schema.sort_field)
        terms = frozenset(
            (number, value)
            for number, name in enumerate(self._term_fields)
            if (raw := document.get(name)) is not None and raw != []  # most lists are empty: skip the call
            for value in _keyword_values(raw)
        )
        return _Row(
            id=doc_id,
            body=json_codec.dumps(document),
            version=_normalise_version(document.get(schema.version_field)),
            sort_key=None if sort_value is None else str(sort_value).lower(),
            point=_point(document.get(schema.geo_field)),
            text=tuple(
                buyer_vocabulary.protect(text.strip_markers(_text_value(document.get(name))))
                for name in schema.text_fields
            ),
            name=_text_value(document.get(schema.suggest_field)),
            terms=terms,
        )

    def _stored(self, conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, tuple[int, str]]:
        """id -> (doc, updated_at) of the stored documents among `ids`."""
        found: dict[str, tuple[int, str]] = {}
        for start in range(0, len(ids), ID_CHUNK):
            chunk = ids[start : start + ID_CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT id, doc, updated_at FROM {self._docs} WHERE id IN ({marks})"
            found.update((doc_id, (doc, version)) for doc_id, doc, version in conn.execute(sql, chunk))
        return found

    def _write(self, conn: sqlite3.Connection, rows: list[_Row]) -> int:
        """Upsert prepared rows (distinct ids) unless the stored version is newer; returns how many
        were written. One statement per table for the whole batch: per-row round trips into
        SQLite cost more than the writes themselves."""
        stored = self._stored(conn, [row.id for row in rows])
        rows = [row for row in rows if row.id not in stored or stored[row.id][1] <= row.version]
        if not rows:
            return 0
        for chunk in _chunks([stored[row.id][0] for row in rows if row.id in stored]):
            self._remove_entries(conn, chunk)
        next_doc = int(conn.execute(f"SELECT ifnull(max(doc), 0) + 1 FROM {self._docs}").fetchone()[0])
        docs = []
        for row in rows:
            if row.id in stored:
                docs.append(stored[row.id][0])
            else:
                docs.append(next_doc)
                next_doc += 1
        width = len(self._schema.text_fields)
        columns, marks = ", ".join(f"c{i}" for i in range(width)), ", ".join("?" * (width + 1))
        conn.executemany(
            f"INSERT INTO {self._fts} (rowid, {columns}) VALUES ({marks})",
            [(doc, *row.text) for doc, row in zip(docs, rows, strict=True)],
        )
        tokens = text.token_counts(conn, self._table_names[2], docs)
        conn.executemany(
            f"INSERT INTO {self._docs} (doc, id, updated_at, sort_key, tokens) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (doc) DO UPDATE SET updated_at = excluded.updated_at, sort_key = excluded.sort_key,"
            " tokens = excluded.tokens",
            [(doc, row.id, row.version, row.sort_key, tokens[doc]) for doc, row in zip(docs, rows, strict=True)],
        )
        conn.executemany(f"INSERT INTO {self._changes} (doc) VALUES (?)", [(doc,) for doc in docs])
        conn.executemany(
            f"INSERT OR REPLACE INTO {self._bodies} (doc, body) VALUES (?, ?)",
            [(doc, row.body) for doc, row in zip(docs, rows, strict=True)],
        )
        conn.executemany(
            f"INSERT INTO {self._names} (rowid, name) VALUES (?, ?)",
            [(doc, row.name) for doc, row in zip(docs, rows, strict=True)],
        )
        geo.insert_many(conn, self._geo, [(doc, row.point) for doc, row in zip(docs, rows, strict=True) if row.point])
        conn.executemany(
            f"INSERT INTO {self._terms} (doc, field, value) VALUES (?, ?, ?)",
            [(doc, field, value) for doc, row in zip(docs, rows, strict=True) for field, value in row.terms],
        )
        return len(rows)

    def _remove_entries(self, conn: sqlite3.Connection, docs: str) -> None:
        """Remove documents' index entries (an upsert then writes fresh ones); `docs` is a list of
        document numbers as SQL text (integers only, from `_chunks`)."""
        conn.execute(f"DELETE FROM {self._fts} WHERE rowid IN ({docs})")
        conn.execute(f"DELETE FROM {self._names} WHERE rowid IN ({docs})")
        conn.execute(f"DELETE FROM {self._terms} WHERE doc IN ({docs})")
        conn.execute(f"DELETE FROM {self._geo} WHERE doc IN ({docs})")

    def _prune_changes(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            f"DELETE FROM {self._changes} WHERE seq <= (SELECT max(seq) FROM {self._changes}) - ?", (CHANGES_KEPT,)
        )

    # -- reads ---------------------------------------------------------------------------------

    def get(self, doc_id: str) -> Document | None:
        with transaction(self._conn()) as conn:
            self._check(conn)
            row = conn.execute(
                f"SELECT b.body FROM {self._docs} d JOIN {self._bodies} b ON b.doc = d.doc WHERE d.id = ?", (doc_id,)
            ).fetchone()
        return None if row is None else dict(json_codec.loads(row[0]))

    def count(self, query: SearchQuery | None = None) -> int:
        with self._reading() as (conn, snapshot):
            if query is None:
                return int(snapshot.alive.sum())
            matches = self._matches(conn, snapshot, query, fuzzy=False, scored=False)
            return 0 if matches is None else int(matches.all().sum())

    def search(self, query: SearchQuery) -> SearchResult:
        """Exact text first; with `fuzzy`, text that matches nothing is retried with near spellings."""
        if query.offset < 0 or query.limit < 0:
            raise ValueError("offset and limit must not be negative")
        sort = effective_sort(query)
        if query.cursor is not None and query.offset:
            raise ValueError("a cursor continues from its own position; offset must be 0")
        with self._reading() as (conn, snapshot):
            matches = self._matches(conn, snapshot, query, fuzzy=False)
            if query.spelling and (matches is None or not matches.all().any()):
                matches = self._spelling_corrected(conn, snapshot, query) or matches
            if query.fuzzy and (matches is None or not matches.all().any()):
                matches = self._matches(conn, snapshot, query, fuzzy=True) or matches
            if matches is None:
                return SearchResult(total=0, hits=[], facets={name: [] for name in query.facets})
            return self._result(conn, matches, query, sort)

    def scan(self, query: SearchQuery, page_size: int = 500) -> Iterator[Hit]:
        """Cursor pages of `page_size`, each read in its own short transaction, so an export never
        holds the whole result (nor a read transaction that stops the WAL from checkpointing)."""
        return scan_pages(self.search, query, page_size)

    def suggest(self, prefix: str, limit: int = 10) -> list[Suggestion]:
        """Names whose words start with the typed words (the last as a prefix), best BM25 first;
        then keyword values starting with the typed text, most listings first."""
        words = re.findall(r"[^\W_]+", prefix.lower())
        if not words or limit < 1:
            return []
        match = " ".join(text.phrase(w) for w in words) + "*"
        with self._reading() as (conn, snapshot):
            rows = conn.execute(
                f"SELECT d.id, n.name FROM {self._names} n JOIN {self._docs} d ON d.doc = n.rowid"
                f" WHERE {self._names} MATCH ? ORDER BY n.rank, d.id LIMIT ?",
                (match, limit),
            ).fetchall()
            values = self._value_suggestions(snapshot, prefix.strip().casefold())
        names = [Suggestion(text=name, field="name", count=1, id=doc_id) for doc_id, name in rows]
        return (names + values)[:limit]

    def _value_suggestions(self, snapshot: Snapshot, wanted: str) -> list[Suggestion]:
        found: list[Suggestion] = []
        alive = np.flatnonzero(snapshot.alive)
        for name in self._schema.suggest_keyword_fields:
            column = snapshot.fields[self._term_fields.index(name)]
            found.extend(
                Suggestion(text=value, field=name, count=count)  # type: ignore[arg-type]
                for value, count in column.counts(snapshot.alive, alive)
                if value.casefold().startswith(wanted)
            )
        return sorted(found, key=lambda s: (-s.count, s.text))

    # -- snapshots -----------------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[tuple[sqlite3.Connection, Snapshot]]:
        """A read transaction and the snapshot matching exactly what it sees.

        When another thread has already published a newer snapshot than this transaction sees
        (a write landed in between), reading again at the newest data is cheaper than building a
        private older snapshot; the second attempt takes whatever it sees.
        """
        self._warm_up_in_background()
        conn = self._conn()
        for attempt in range(2):
            with transaction(conn):
                self._check(conn)
                seq = snapshots.current_seq(conn, self._tables)
                snapshot = self._snapshot_at(conn, seq, force=attempt > 0)
                if snapshot is not None:
                    yield conn, snapshot
                    return

    def _snapshot_at(self, conn: sqlite3.Connection, seq: int, force: bool) -> Snapshot | None:
        """The published snapshot brought to `seq`; None when a newer one is published (unless
        `force`, after a drop and rebuild, say)."""
        current = self._snapshot
        if current is not None and current.seq == seq:
            return current
        with self._refresh_lock:
            current = self._snapshot
            if current is not None and current.seq > seq and not force:
                return None
            if current is None or current.seq != seq:
                current = self._caught_up(conn, current, seq)
                self._snapshot = current
            return current

    def _caught_up(self, conn: sqlite3.Connection, current: Snapshot | None, seq: int) -> Snapshot:
        """`current` patched with the documents changed up to `seq`, cached postings included; or
        everything read again when the change log cannot say (then warmed again)."""
        changed = None
        if current is not None and current.seq < seq:
            changed = snapshots.changed_since(conn, self._tables, current.seq)
        if current is None or changed is None:
            fresh = snapshots.load(conn, self._tables, len(self._term_fields), seq)
            if current is not None:
                self._warming = None
            return fresh
        fresh = snapshots.advance(conn, self._tables, current, seq, changed)
        self._carry_words(conn, current, fresh, changed)
        return fresh

    def _carry_words(self, conn: sqlite3.Connection, old: Snapshot, new: Snapshot, changed: IntArray) -> None:
        """Give `new` the cached postings and vocabulary of `old`, patched with the changed documents."""
        cached, vocabulary = old.words.items(), old.words.vocabulary
        if not cached and vocabulary is None:
            return
        added = text.changed_postings(conn, self._fts, changed, self._schema.text_boosts)
        touched = snapshots.touched_mask(changed, new.size)
        for term, postings in cached:
            new.words.put(term, snapshots.patched_postings(postings, touched, added.get(term)))
        new.words.vocabulary = None if vocabulary is None else vocabulary.union(added)

    # -- warming -------------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Load this process's snapshot, its orders and the postings of the most frequent terms now.

        A cold common word costs tens of milliseconds to read; doing it before the first queries
        keeps them off every process's first requests.
        """
        with self._refresh_lock:  # called directly, this is the warm-up: no background one too
            self._warming = self._warming or threading.current_thread()
        with self._reading() as (conn, snapshot):
            vocabulary, by_frequency = text.read_vocabulary(conn, self._vocab(conn, "row"))
            snapshot.words.vocabulary = vocabulary
            snapshot.warm()
            for term in [t for t in by_frequency if t not in ENGLISH_STOP_WORDS][:WARM_TERMS]:
                if self._closing.is_set():
                    return
                self._postings(conn, snapshot, term)

    def _warm_up_in_background(self) -> None:
        """Start `warm_up` in a daemon thread, once per process (and again after a full reload)."""
        if self._warming is not None or self._closing.is_set():
            return
        with self._refresh_lock:
            if self._warming is None:
                self._warming = threading.Thread(target=self._warm_quietly, name="search-warm-up", daemon=True)
                self._warming.start()

    def _warm_quietly(self) -> None:
        try:
            self.warm_up()
        except (BackendUnavailable, sqlite3.Error) as exc:  # tables dropped or closed meanwhile
            log.debug("search index warm-up stopped: %s", exc)

    # -- query evaluation ----------------------------------------------------------------------

    def _matches(
        self, conn: sqlite3.Connection, snapshot: Snapshot, query: SearchQuery, fuzzy: bool,
        corrections: dict[str, str] | None = None, scored: bool = True,
    ) -> _Matches | None:  # fmt: skip
        """Evaluate text, radius and filters; None when the text leaves nothing to match.

        `corrections` replaces typed words by index terms (spelling). A count needs no BM25
        (`scored=False`): the matcher counts every word of a lot it has not met."""
        base, score, match, clauses = snapshot.alive, None, None, []
        if _has_text(query):
            clauses = self._clauses(conn, snapshot, query, fuzzy, corrections or {})
            if not clauses:
                return None
            base, score = self._score_text(conn, snapshot, clauses, scored)
            match = " OR ".join(dict.fromkeys(text.phrase(t) for c in clauses for _, a, _ in c for t in a))
        filters = self._filter_masks(snapshot, query)
        dist: FloatArray | None
        if query.near is not None and query.near.radius_km is None:
            # Only hits need a distance, and a hit passes every filter: measuring the rest of the
            # base would cost a haversine per document in the directory.
            dist = geo.distances(snapshot, query.near, _Matches.narrowed(base, filters))
        else:
            base, dist = self._near(snapshot, query.near, base)
        terms = tuple(dict.fromkeys(t for c in clauses for _, a, _ in c for t in a))
        return _Matches(snapshot, base, filters, score, dist, match, terms, fuzzy, dict(corrections or {}))

    def _spelling_corrected(self, conn: sqlite3.Connection, snapshot: Snapshot, query: SearchQuery) -> _Matches | None:
        """The query again with each typed word the index does not know replaced by its nearest
        known term (`vocabulary.words_to_correct`); None when there is nothing to correct, an
        unknown word has no near term, or the corrected query matches nothing either."""
        read = buyer_vocabulary.read_text(query.text or "", query.buyer_terms)
        terms = self._terms_by_word(conn, read.words)

        def known(word: str) -> bool:
            return not terms[word] or any(self._postings(conn, snapshot, t).size for t in terms[word])

        unknown = buyer_vocabulary.words_to_correct(read, known)
        if not unknown:
            return None
        vocabulary = self._vocabulary(conn, snapshot)
        corrections = {}
        for word in unknown:
            near = text.nearest_terms(vocabulary, terms[word][0])
            if not near:
                return None
            frequencies = text.document_frequencies(conn, self._vocab(conn, "row"), [t for _, t in near])
            best = min(near, key=lambda pair: (pair[0], -frequencies[pair[1]], pair[1]))
            if frequencies[best[1]] == 0:
                return None
            corrections[word] = best[1]
        corrected = self._matches(conn, snapshot, query, fuzzy=False, corrections=corrections)
        # A correction that finds nothing would only say "did you mean" about an empty page.
        return corrected if corrected is not None and corrected.all().any() else None

    def _near(self, snapshot: Snapshot, near: Near | None, base: BoolArray) -> tuple[BoolArray, FloatArray | None]:
        """The base set narrowed to the radius and the distances computed."""
        if near is None:
            return base, None
        if near.radius_km is None:
            return base, geo.distances(snapshot, near, base)
        return geo.within_radius(snapshot, near, base)

    def _clauses(
        self, conn: sqlite3.Connection, snapshot: Snapshot, query: SearchQuery, fuzzy: bool, corrections: dict[str, str]
    ) -> Clauses:
        """The query's text as index terms (`Clauses`); with `fuzzy` every term may also be any
        index term near it (empty when some term has none, so nothing can match)."""
        read = buyer_vocabulary.read_text(query.text or "", query.buyer_terms)
        by_word = self._terms_by_word(conn, read.words)
        for word, term in corrections.items():
            by_word[word] = [term]
        clauses: Clauses = [
            [
                (clause.weight(alternative), terms, buyer_vocabulary.held_together(clause, alternative))
                for alternative in clause.alternatives
                if (terms := [t for w in alternative for t in by_word[w]])
            ]
            for clause in read.clauses
        ]
        clauses = [clause for clause in clauses if clause]
        if query.any_word and clauses:
            # One clause whose alternatives are every word: a document needs only one of them.
            clauses = [[alternative for clause in clauses for alternative in clause]]
        if not fuzzy:
            return clauses
        vocabulary = self._vocabulary(conn, snapshot)
        terms = [term for clause in clauses for _, alternative, _ in clause for term in alternative]
        apart: tuple[str, ...] = ()  # a fuzzy query matches each term on its own
        near: Clauses = [[(1.0, [t], apart) for t in text.near_terms(vocabulary, term)] for term in terms]
        return near if all(near) else []

    def _terms_by_word(self, conn: sqlite3.Connection, words: Sequence[str]) -> dict[str, list[str]]:
        """`embedded_text.terms_by_word`, remembered: a word's terms depend only on the tokenizer,
        and asking FTS5 costs a scratch-table write per query."""
        found = {w: self._word_terms.get(w) for w in words}
        missing = [w for w, terms in found.items() if terms is None]
        if missing:
            fresh = text.terms_by_word(conn, missing)
            if len(self._word_terms) > WORD_TERMS_KEPT:
                self._word_terms = {}
            self._word_terms.update(fresh)
            found.update(fresh)
        return {w: list(terms or []) for w, terms in found.items()}

    def _vocabulary(self, conn: sqlite3.Connection, snapshot: Snapshot) -> Vocabulary:
        """The index's terms at this snapshot, read once (usually by the warm-up) and then kept."""
        if snapshot.words.vocabulary is None:
            snapshot.words.vocabulary, _ = text.read_vocabulary(conn, self._vocab(conn, "row"))
        return snapshot.words.vocabulary

    def _vocab(self, conn: sqlite3.Connection, kind: str) -> str:
        """This connection's `fts5vocab` table of `kind` ('row' or 'instance') over the index."""
        name = f'temp."{self._table_names[2]}_{kind}"'
        conn.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {name} USING fts5vocab(main, '{self._table_names[2]}', '{kind}')"
        )
        return name

    def _postings(self, conn: sqlite3.Connection, snapshot: Snapshot, term: str) -> Postings:
        """A term's postings at this snapshot, read once and then kept with it."""
        found = snapshot.words.get(term)
        if found is None:
            # Read in the transaction that saw the snapshot's sequence, so it matches the snapshot.
            found = text.read_postings(conn, self._vocab(conn, "instance"), term, self._schema.text_boosts)
            snapshot.words.put(term, found)
        return found

    def _score_text(
        self, conn: sqlite3.Connection, snapshot: Snapshot, clauses: Clauses, scored: bool = True
    ) -> tuple[BoolArray, FloatArray]:
        """Documents matching an alternative of every clause, and their BM25: the sum over the
        terms of every alternative they match, as FTS5's bm25() sums over a query's phrases (zeros when
        not `scored`)."""
        base = snapshot.alive.copy()
        score = np.zeros(snapshot.size)
        for clause in clauses:
            present = np.zeros(snapshot.size, dtype=bool)
            for weight, alternative, together in clause:
                if len(alternative) == 1:
                    postings = self._postings(conn, snapshot, alternative[0])
                    present[postings.docs] = True
                    if scored:
                        score[postings.docs] += weight * text.bm25(postings, snapshot)
                    continue
                # Words that must stand together match where NEAR says (their last word as a
                # prefix may match where its term does not); others where every term occurs.
                if together:
                    holds = self._near_each_other(conn, snapshot, together) & snapshot.alive
                else:
                    holds = np.ones(snapshot.size, dtype=bool)
                gained = np.zeros(snapshot.size)
                for term in alternative:
                    postings = self._postings(conn, snapshot, term)
                    if not together:
                        has = np.zeros(snapshot.size, dtype=bool)
                        has[postings.docs] = True
                        holds &= has
                    if scored:
                        gained[postings.docs] += text.bm25(postings, snapshot)
                present |= holds
                score += np.where(holds, weight * gained, 0.0)
            base &= present
        return base, score

    def _near_each_other(self, conn: sqlite3.Connection, snapshot: Snapshot, words: tuple[str, ...]) -> BoolArray:
        """The documents holding `words` near each other in one field (`vocabulary.held_together`),
        remembered with the snapshot: the NEAR query reads every position of each word."""
        found = snapshot.near.get(words)
        if found is None:
            found = np.zeros(snapshot.size, dtype=bool)
            docs = text.near_matches(conn, self._fts, words, buyer_vocabulary.NEAR_DISTANCE)
            found[[d for d in docs if d < snapshot.size]] = True
            if len(snapshot.near) >= NEAR_KEPT:
                snapshot.near.clear()
            snapshot.near[words] = found
        return found

    def _phrase_boosted(
        self, conn: sqlite3.Connection, matches: _Matches, query: SearchQuery, candidates: IntArray
    ) -> FloatArray | None:
        """Scores with each phrase's BM25 (the typed words, synonyms of several words) added again
        where the best `PHRASE_WINDOW` candidates hold its words together (Elasticsearch: a
        `should` phrase clause per phrase)."""
        phrases = buyer_vocabulary.read_text(query.text or "", True).phrases
        if matches.score is None or not phrases or matches.corrections or not len(candidates):
            return None
        window = candidates[np.argsort(-matches.score[candidates], kind="stable")[:PHRASE_WINDOW]]
        width = len(self._schema.text_fields)
        found = text.phrase_matches(conn, self._fts, width, window.tolist(), [words for words, _ in phrases])
        if not any(found):
            return None
        score = matches.score.copy()
        for (words, weight), together in zip(phrases, found, strict=True):
            if together:
                self._add_phrase_score(conn, matches.snapshot, score, words, weight, together)
        return score

    def _add_phrase_score(
        self, conn: sqlite3.Connection, snapshot: Snapshot, score: FloatArray, words: Sequence[str], weight: float,
        together: set[int],
    ) -> None:  # fmt: skip
        docs = np.array(sorted(together), dtype=np.int64)
        for term in dict.fromkeys(t for terms in self._terms_by_word(conn, words).values() for t in terms):
            postings = self._postings(conn, snapshot, term)
            at = np.searchsorted(postings.docs, docs)
            found = (at < len(postings.docs)) & (postings.docs[np.minimum(at, len(postings.docs) - 1)] == docs)
            score[docs[found]] += weight * text.bm25(postings, snapshot)[at[found]]

    def _filter_masks(self, snapshot: Snapshot, query: SearchQuery) -> dict[str, BoolArray]:
        """Per filtered field, the documents any of its values admit (AND across fields)."""
        masks: dict[str, BoolArray] = {}
        for name, values in query.filters.items():
            if name not in self._schema.filter_names:
                known = ", ".join(sorted(self._schema.filter_names))
                raise ValueError(f"unknown filter {name!r}; known: {known}")
            prefix_field = self._schema.prefix_field(name)
            field = prefix_field or name
            wanted = [values] if isinstance(values, str) else list(values)
            column = snapshot.fields[self._term_fields.index(field)]
            mask = column.matching(wanted, snapshot.size, prefix=prefix_field is not None)
            masks[field] = masks[field] & mask if field in masks else mask
        return masks

    def _result(self, conn: sqlite3.Connection, matches: _Matches, query: SearchQuery, sort: SortOrder) -> SearchResult:
        final = matches.all()
        candidates = np.flatnonzero(final)
        total = len(candidates)  # of the whole search, also on a page after a cursor
        facets = self._facets(matches, query.facets, (final, candidates))
        if query.buyer_terms and sort == "relevance":
            boosted = self._phrase_boosted(conn, matches, query, candidates)
            if boosted is not None:
                matches = replace(matches, score=boosted)
        keys = self._sort_keys(conn, matches, sort, candidates)
        if query.cursor is not None:
            candidates, keys = self._after(conn, matches, sort, candidates, keys, decode_cursor(query.cursor, sort))
        page = self._top(conn, candidates, keys, query.offset, query.limit)
        hits, after = self._hits(conn, matches, query, sort, page)
        full = 0 < query.limit == len(hits)
        return SearchResult(
            total=total,
            hits=hits,
            facets=facets,
            next_cursor=encode_cursor(sort, after) if full and after is not None else None,
            fuzzy=matches.fuzzy,
            corrections=matches.corrections,
        )

    def _facets(
        self, matches: _Matches, names: Sequence[str], final: tuple[BoolArray, IntArray]
    ) -> dict[str, list[FacetBucket]]:
        """Disjunctive counts: each facet applies every filter but its own field's. Facets on
        unfiltered fields all count the `final` set (mask and members)."""
        unknown = [n for n in names if n not in self._schema.keyword_fields]
        if unknown:
            keyword = ", ".join(self._schema.keyword_fields)
            raise ValueError(f"cannot facet on {unknown}; keyword fields: {keyword}")
        snapshot, facets = matches.snapshot, {}
        shared = snapshot.tallies(*final) if any(name not in matches.filters for name in names) else []
        for name in names:
            number = self._term_fields.index(name)
            column = snapshot.fields[number]
            if name in matches.filters:
                mask = matches.all(name)
                counts = column.counts(mask, np.flatnonzero(mask))
            else:
                counts = column.ranked(shared[number])
            facets[name] = [FacetBucket(value=value, count=count) for value, count in counts]
        return facets

    def _sort_keys(
        self, conn: sqlite3.Connection, matches: _Matches, sort: SortOrder, candidates: IntArray
    ) -> FloatArray:
        """Ascending primary keys for the candidates; equal keys later break by id."""
        if sort == "relevance" and matches.score is not None:
            return -matches.score[candidates]
        if sort == "distance" and matches.dist is not None:
            return np.nan_to_num(matches.dist[candidates], nan=np.inf)
        return matches.snapshot.rank(conn, self._tables, "name")[candidates].astype(np.float64)

    def _after(
        self, conn: sqlite3.Connection, matches: _Matches, sort: SortOrder, candidates: IntArray, keys: FloatArray,
        after: list[Any],
    ) -> tuple[IntArray, FloatArray]:  # fmt: skip
        """Keep the candidates that sort after the cursor's (value, id)."""
        if len(after) != 2 or not isinstance(after[1], str):
            raise ValueError("cursor is not valid")
        value, last_id = after
        if sort == "name":
            key = float(self._name_position(conn, value, last_id))
            keep = keys >= key
        else:
            key = np.inf if value is None else float(-value if sort == "relevance" else value)
            keep = keys > key
            tied = np.flatnonzero(keys == key)
            if len(tied):
                ids = self._ids(conn, candidates[tied])
                keep[tied] = [ids[int(d)] > last_id for d in candidates[tied]]
        return candidates[keep], keys[keep]

    def _name_position(self, conn: sqlite3.Connection, sort_key: str | None, last_id: str) -> int:
        """How many documents sort at or before (sort_key, id) by name (NULL keys last)."""
        if sort_key is None:
            sql = f"SELECT count(*) FROM {self._docs} WHERE sort_key IS NOT NULL OR id <= ?"
            return int(conn.execute(sql, (last_id,)).fetchone()[0])
        sql = f"SELECT count(*) FROM {self._docs} WHERE sort_key < ? OR (sort_key = ? AND id <= ?)"
        return int(conn.execute(sql, (sort_key, sort_key, last_id)).fetchone()[0])

    def _top(
        self, conn: sqlite3.Connection, candidates: IntArray, keys: FloatArray, offset: int, limit: int
    ) -> list[int]:
        """The documents at [offset, offset + limit) in (key, id) order, sorting only what can
        reach the page: everything up to the k-th key, ties included. Only documents whose key
        another shares need their id (listings placed at one postcode district's centre share a
        distance; relevance scores rarely tie)."""
        wanted = offset + limit
        if limit == 0 or wanted == 0 or offset >= len(candidates):
            return []
        if wanted < len(candidates):
            kth = np.partition(keys, wanted - 1)[wanted - 1]
            near = keys <= kth
            candidates, keys = candidates[near], keys[near]
        ids = self._ids(conn, candidates[_tied(keys)])
        order = sorted(range(len(candidates)), key=lambda i: (keys[i], ids.get(int(candidates[i]), "")))
        return [int(candidates[i]) for i in order[offset:wanted]]

    def _ids(self, conn: sqlite3.Connection, docs: IntArray) -> dict[int, str]:
        if not len(docs):
            return {}
        marks = ",".join(str(int(d)) for d in docs)
        return dict(conn.execute(f"SELECT doc, id FROM {self._docs} WHERE doc IN ({marks})").fetchall())

    def _hits(
        self, conn: sqlite3.Connection, matches: _Matches, query: SearchQuery, sort: SortOrder, page: list[int]
    ) -> tuple[list[Hit], list[Any] | None]:
        """The page's hits, and the last one's sort values for the next cursor."""
        if not page:
            return [], None
        marks = ",".join(str(d) for d in page)
        rows = {
            row[0]: row[1:]
            for row in conn.execute(
                f"SELECT d.doc, d.id, d.sort_key, b.body FROM {self._docs} d JOIN {self._bodies} b ON b.doc = d.doc"
                f" WHERE d.doc IN ({marks})"
            )
        }
        snippets = {}
        if query.highlight and matches.match is not None:
            columns, seen = self._matched_columns(conn, matches, page)
            # Only the terms on this page: snippet() walks every phrase of the expression.
            match = " OR ".join(text.phrase(t) for t in seen) if seen else matches.match
            snippets = text.snippets(conn, self._fts, self._schema.text_fields, match, columns)
        hits = [self._hit(matches, doc, rows[doc], snippets.get(doc, {}) if query.highlight else None) for doc in page]
        last_doc, last = page[-1], hits[-1]
        values = {"relevance": last.score, "distance": last.distance_km, "name": rows[last_doc][1]}
        return hits, [values[sort], last.id]

    def _matched_columns(
        self, conn: sqlite3.Connection, matches: _Matches, page: list[int]
    ) -> tuple[dict[int, list[int]], list[str]]:
        """Text column number -> the page's documents in which some query term occurs there; and
        the query terms that occur on the page at all."""
        snapshot = matches.snapshot
        on_page = np.zeros(snapshot.size, dtype=bool)
        on_page[page] = True
        bits = dict.fromkeys(page, 0)
        seen = []
        for term in matches.terms:
            postings = self._postings(conn, snapshot, term)
            here = on_page[postings.docs]
            if here.any():
                seen.append(term)
            for doc, columns in zip(postings.docs[here].tolist(), postings.columns[here].tolist(), strict=True):
                bits[doc] |= columns
        columns = {
            column: docs
            for column in range(len(self._schema.text_fields))
            if (docs := [doc for doc in page if bits[doc] >> column & 1])
        }
        return columns, seen

    def _hit(
        self, matches: _Matches, doc: int, row: tuple[str, str | None, str], highlights: dict[str, str] | None
    ) -> Hit:
        score = None if matches.score is None else float(matches.score[doc])
        dist = None if matches.dist is None or np.isnan(matches.dist[doc]) else float(matches.dist[doc])
        return Hit(id=row[0], score=score, distance_km=dist, document=json_codec.loads(row[2]), highlights=highlights)


def _tied(keys: FloatArray) -> BoolArray:
    """Which keys another key equals."""
    order = np.argsort(keys, kind="stable")
    same = keys[order][1:] == keys[order][:-1]
    tied = np.zeros(len(keys), dtype=bool)
    tied[order[1:][same]] = True
    tied[order[:-1][same]] = True
    return tied


def _has_text(query: SearchQuery) -> bool:
    return query.text is not None and bool(query.text.strip())
