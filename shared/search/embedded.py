"""The embedded `SearchIndex`: one SQLite file, FTS5 (BM25) for text, an R*Tree for geo.

Storage is derived from the `IndexSchema`; every table name starts with
`<prefix><schema.name>_v<version>` so that several indexes (test prefixes, a rebuild into a new
schema version) share one file without meeting:

- `_docs`: one row per document (JSON body, normalised `updated_at`, lower-cased sort key, point).
- `_fts`: FTS5 over the text fields (list fields joined), stemmed and diacritic-folded.
- `_geo`: R*Tree of points, so a radius query reads a bounding box instead of every row.
- `_terms`: (doc, field, value) for keyword and prefix filters and for facet counts.

The file runs in WAL mode, so gunicorn workers and the ingest consumer read while one process
writes; commits are visible at once, which makes `refresh()` a no-op.
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from shared.errors import BackendUnavailable
from shared.search.port import BulkResult, Document, FacetBucket, Hit, Near, SearchQuery, SearchResult
from shared.search.schema import ENGLISH_STOP_WORDS, IndexSchema

# The mean radius Elasticsearch uses for `arc` distances, so both backends cut radii alike.
EARTH_RADIUS_KM = 6371.0088
BUSY_TIMEOUT_S = 10.0
# Letters and digits only: unicode61 splits on everything else, so each token stays one FTS term.
_WORD = re.compile(r"[^\W_]+")


class ThreadConnections:
    """One SQLite connection per process and thread.

    sqlite3 connections must not be shared across threads (Flask's threaded server) nor carried
    over a fork (gunicorn `--preload`), so each (pid, thread) opens its own on first use.
    """

    def __init__(self, path: str, synchronous: str, setup: Callable[[sqlite3.Connection], None]) -> None:
        self._path = path
        self._synchronous = synchronous
        self._setup = setup
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[tuple[int, sqlite3.Connection]] = []

    def get(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = self._open()
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _open(self) -> sqlite3.Connection:
        try:
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            # `timeout` is SQLite's busy timeout: wait for another process's write lock rather
            # than fail. Autocommit mode: transactions are explicit (BEGIN IMMEDIATE for writes) rather than
            # the driver's implicit ones. check_same_thread=False only so close_all() can close
            # connections opened by other threads; each is otherwise used by its own thread.
            conn = sqlite3.connect(
                self._path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute("PRAGMA temp_store=MEMORY")
            self._setup(conn)
        except (OSError, sqlite3.Error) as exc:
            raise BackendUnavailable(f"cannot open SQLite file {self._path}: {exc}") from exc
        with self._lock:
            self._opened.append((os.getpid(), conn))
        return conn

    def close_all(self) -> None:
        """Close this process's connections; a forked child never closes its parent's."""
        with self._lock:
            mine = [conn for pid, conn in self._opened if pid == os.getpid()]
            self._opened.clear()
        for conn in mine:
            conn.close()
        self._local = threading.local()


@contextmanager
def transaction(conn: sqlite3.Connection, mode: str = "DEFERRED") -> Iterator[sqlite3.Connection]:
    """Run a block in one transaction: IMMEDIATE for writes (takes the write lock up front, so a
    busy writer waits on busy_timeout instead of failing mid-way), DEFERRED for a read snapshot."""
    try:
        conn.execute(f"BEGIN {mode}")
    except sqlite3.OperationalError as exc:
        raise BackendUnavailable(f"SQLite is busy: {exc}") from exc
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def fts_query(text: str) -> str | None:
    """The FTS5 MATCH expression for a user's text, or None when no word is left.

    Every word is quoted, so FTS5 syntax (`"`, `*`, `:`, `(`, NEAR, AND, OR, NOT) is literal and
    never raises; words are joined by FTS5's implicit AND. Stop words are dropped as the
    Elasticsearch analyzer drops them. Text made only of stop words or punctuation returns None
    and the search matches nothing, as Elasticsearch's `match` does when analysis leaves no term
    (only empty text means "no text constraint").
    """
    words = [w for w in _WORD.findall(text.lower()) if w not in ENGLISH_STOP_WORDS]
    return " ".join(f'"{w}"' for w in dict.fromkeys(words)) or None


def _table_base(prefix: str, schema: IndexSchema) -> str:
    return re.sub(r"[^a-z0-9_]", "_", f"{prefix}{schema.name}".lower()) + f"_v{schema.version}"


def _successor(prefix: str) -> str | None:
    """The smallest string greater than every string starting with `prefix` (None: no bound)."""
    while prefix and ord(prefix[-1]) == 0x10FFFF:
        prefix = prefix[:-1]
    return prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else None


def _keyword_values(value: Any) -> list[str]:
    """A keyword field's values as stored terms: lists flatten, scalars are their JSON text."""
    items = value if isinstance(value, list) else [value]
    return [v if isinstance(v, str) else json.dumps(v) for v in items if v is not None]


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
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.astimezone(timezone.utc).isoformat(timespec="microseconds")


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
    terms: frozenset[tuple[int, str]]


@dataclass(frozen=True)
class _Candidates:
    """SQL selecting (doc, score, dist) for every document a query matches."""

    sql: str
    params: tuple[Any, ...]


class EmbeddedSearchIndex:
    """`SearchIndex` on SQLite; see the module docstring for the storage layout."""

    def __init__(self, path: str, schema: IndexSchema, prefix: str = "") -> None:
        self._schema = schema
        base = _table_base(prefix, schema)
        self._docs, self._fts, self._geo, self._terms = (f'"{base}_{t}"' for t in ("docs", "fts", "geo", "terms"))
        self._table_names = tuple(f"{base}_{t}" for t in ("docs", "fts", "geo", "terms"))
        # Terms store a field number rather than its name: smaller keys, faster facet scans.
        # Numbers are stable within a schema version, which names the tables.
        fields = (*schema.keyword_fields, *(f for _, f in schema.prefix_fields))
        self._term_fields: tuple[str, ...] = tuple(dict.fromkeys(fields))
        self._conns = ThreadConnections(path, "NORMAL", self._prepare_connection)

    # -- lifecycle -----------------------------------------------------------------------------

    def ensure_index(self) -> None:
        text_columns = ", ".join(f"c{i}" for i in range(len(self._schema.text_fields)))
        with transaction(self._conn(), "IMMEDIATE") as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._docs} (doc INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
                " body TEXT NOT NULL, updated_at TEXT NOT NULL, sort_key TEXT, lat REAL, lon REAL)"
            )
            conn.execute(
                f'CREATE INDEX IF NOT EXISTS "{self._table_names[0]}_sort" ON {self._docs} (sort_key, id)'
            )
            conn.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {self._fts} USING fts5({text_columns},"
                " tokenize='porter unicode61 remove_diacritics 2')"
            )
            conn.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {self._geo} USING rtree(doc, min_lat, max_lat, min_lon, max_lon)"
            )
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._terms} (doc INTEGER NOT NULL, field INTEGER NOT NULL,"
                " value TEXT NOT NULL, PRIMARY KEY (doc, field, value)) WITHOUT ROWID"
            )
            conn.execute(
                f'CREATE INDEX IF NOT EXISTS "{self._table_names[3]}_value" ON {self._terms} (field, value, doc)'
            )

    def ping(self) -> bool:
        try:
            conn = self._conn()
            placeholders = ", ".join("?" * len(self._table_names))
            found = conn.execute(
                f"SELECT count(*) FROM sqlite_master WHERE name IN ({placeholders})", self._table_names
            ).fetchone()[0]
        except (BackendUnavailable, sqlite3.Error):
            return False
        return bool(found == len(self._table_names))

    def refresh(self) -> None:
        """Nothing to do: a committed write is visible to every reader at once."""

    def drop(self) -> None:
        with transaction(self._conn(), "IMMEDIATE") as conn:
            for table in (self._fts, self._geo, self._terms, self._docs):
                conn.execute(f"DROP TABLE IF EXISTS {table}")

    def close(self) -> None:
        self._conns.close_all()

    def _conn(self) -> sqlite3.Connection:
        return self._conns.get()

    @staticmethod
    def _prepare_connection(conn: sqlite3.Connection) -> None:
        # A per-connection scratch table: a query's matches are computed once, then counted,
        # paged and faceted from here.
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS matches (doc INTEGER PRIMARY KEY, score REAL, dist REAL)")

    # -- writes --------------------------------------------------------------------------------

    def bulk_upsert(self, documents: Sequence[Document]) -> BulkResult:
        """Write documents in one transaction; older versions than the stored one count as stale.

        Equal versions overwrite, so replaying a batch is idempotent. A document that cannot be
        prepared (no id, bad timestamp or location) is reported in `failed` and the rest are written.
        """
        result = BulkResult()
        rows = []
        for document in documents:
            try:
                rows.append(self._prepare(document))
            except (KeyError, TypeError, ValueError) as exc:
                doc_id = document.get("id") if isinstance(document, dict) else None
                result.failed.append((str(doc_id or ""), f"{type(exc).__name__}: {exc}"))
        with transaction(self._conn(), "IMMEDIATE") as conn:
            for row in rows:
                if self._write(conn, row):
                    result.written += 1
                else:
                    result.stale += 1
        return result

    def delete(self, ids: Sequence[str]) -> BulkResult:
        """Every id counts as written: an absent id is already deleted (as Elasticsearch's bulk
        helpers treat a 404 on delete)."""
        with transaction(self._conn(), "IMMEDIATE") as conn:
            for doc_id in ids:
                found = conn.execute(f"SELECT doc FROM {self._docs} WHERE id = ?", (doc_id,)).fetchone()
                if found:
                    self._remove(conn, found[0])
                    conn.execute(f"DELETE FROM {self._docs} WHERE doc = ?", found)
        return BulkResult(written=len(ids))

    def _prepare(self, document: Document) -> _Row:
        doc_id = document.get("id")
        if not isinstance(doc_id, str) or not doc_id:
            raise ValueError("document has no string id")
        schema = self._schema
        sort_value = document.get(schema.sort_field)
        terms = {
            (number, value)
            for number, name in enumerate(self._term_fields)
            for value in _keyword_values(document.get(name))
        }
        return _Row(
            id=doc_id,
            body=json.dumps(document, ensure_ascii=False, separators=(",", ":")),
            version=_normalise_version(document.get(schema.version_field)),
            sort_key=None if sort_value is None else str(sort_value).lower(),
            point=_point(document.get(schema.geo_field)),
            text=tuple(_text_value(document.get(name)) for name in schema.text_fields),
            terms=frozenset(terms),
        )

    def _write(self, conn: sqlite3.Connection, row: _Row) -> bool:
        """Upsert one prepared row unless the stored version is newer; False when stale."""
        stored = conn.execute(f"SELECT doc, updated_at FROM {self._docs} WHERE id = ?", (row.id,)).fetchone()
        if stored and stored[1] > row.version:
            return False
        lat, lon = row.point or (None, None)
        doc = conn.execute(
            f"INSERT INTO {self._docs} (id, body, updated_at, sort_key, lat, lon) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at,"
            " sort_key = excluded.sort_key, lat = excluded.lat, lon = excluded.lon RETURNING doc",
            (row.id, row.body, row.version, row.sort_key, lat, lon),
        ).fetchone()[0]
        if stored:
            self._remove(conn, doc)
        marks = ", ".join("?" * (len(row.text) + 1))
        conn.execute(f"INSERT INTO {self._fts} (rowid, {self._fts_columns()}) VALUES ({marks})", (doc, *row.text))
        if row.point:
            conn.execute(f"INSERT INTO {self._geo} VALUES (?, ?, ?, ?, ?)", (doc, lat, lat, lon, lon))
        conn.executemany(
            f"INSERT INTO {self._terms} (doc, field, value) VALUES (?, ?, ?)",
            [(doc, field, value) for field, value in row.terms],
        )
        return True

    def _remove(self, conn: sqlite3.Connection, doc: int) -> None:
        """Remove a document's index entries (not its docs row, which an upsert keeps)."""
        conn.execute(f"DELETE FROM {self._fts} WHERE rowid = ?", (doc,))
        conn.execute(f"DELETE FROM {self._geo} WHERE doc = ?", (doc,))
        conn.execute(f"DELETE FROM {self._terms} WHERE doc = ?", (doc,))

    def _fts_columns(self) -> str:
        return ", ".join(f"c{i}" for i in range(len(self._schema.text_fields)))

    # -- reads ---------------------------------------------------------------------------------

    def get(self, doc_id: str) -> Document | None:
        row = self._conn().execute(f"SELECT body FROM {self._docs} WHERE id = ?", (doc_id,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def count(self, query: SearchQuery | None = None) -> int:
        conn = self._conn()
        if query is None:
            return int(conn.execute(f"SELECT count(*) FROM {self._docs}").fetchone()[0])
        candidates = self._candidates(query)
        if candidates is None:
            return 0
        return int(conn.execute(f"SELECT count(*) FROM ({candidates.sql})", candidates.params).fetchone()[0])

    def search(self, query: SearchQuery) -> SearchResult:
        if query.offset < 0 or query.limit < 0:
            raise ValueError("offset and limit must not be negative")
        facet_fields = self._facet_fields(query.facets)
        order = self._order_sql(query)
        candidates = self._candidates(query)
        if candidates is None:
            return SearchResult(total=0, hits=[], facets={name: [] for name in query.facets})
        with transaction(self._conn()) as conn:
            conn.execute("DELETE FROM temp.matches")
            conn.execute(f"INSERT INTO temp.matches (doc, score, dist) {candidates.sql}", candidates.params)
            total = conn.execute("SELECT count(*) FROM temp.matches").fetchone()[0]
            hits = self._page(conn, query, order)
            facets = self._facets(conn, facet_fields)
        return SearchResult(total=total, hits=hits, facets=facets)

    def _candidates(self, query: SearchQuery) -> _Candidates | None:
        """SQL for the matching set, or None when the text leaves no word (matches nothing)."""
        conditions: list[str] = []
        params: list[Any] = []
        if query.text is not None and query.text.strip():
            match = fts_query(query.text)
            if match is None:
                return None
            weights = ", ".join(str(float(b)) for b in self._schema.text_boosts)
            source = f"{self._fts} JOIN {self._docs} d ON d.doc = {self._fts}.rowid"
            score = f"-bm25({self._fts}, {weights})"
            conditions.append(f"{self._fts} MATCH ?")
            params.append(match)
        else:
            source, score = f"{self._docs} d", "NULL"
        for name, values in query.filters.items():
            sql, args = self._filter_sql(name, values)
            conditions.append(sql)
            params.extend(args)
        dist, dist_params = "NULL", []
        if query.near is not None:
            dist, dist_params = _distance_sql(query.near)
            if query.near.radius_km is not None:
                conditions.append(self._radius_sql(query.near))
                params.extend([*_bbox_params(query.near), *dist_params, query.near.radius_km])
        where = " AND ".join(conditions) or "1"
        sql = f"SELECT d.doc, {score}, {dist} FROM {source} WHERE {where}"
        return _Candidates(sql, (*dist_params, *params))

    def _filter_sql(self, name: str, values: Sequence[str]) -> tuple[str, list[Any]]:
        """`doc IN (terms matching any value)`; a prefix filter matches a value range, so user
        input is never a LIKE/GLOB pattern."""
        if name not in self._schema.filter_names:
            raise ValueError(f"unknown filter {name!r}; known: {', '.join(sorted(self._schema.filter_names))}")
        prefix_field = self._schema.prefix_field(name)
        field = self._term_fields.index(prefix_field or name)
        if isinstance(values, str):
            values = [values]
        if not values:
            return "0", []
        if prefix_field is None:
            marks = ", ".join("?" * len(values))
            return f"d.doc IN (SELECT doc FROM {self._terms} WHERE field = ? AND value IN ({marks}))", [
                field,
                *values,
            ]
        ranges, args = [], []
        for value in values:
            upper = _successor(value)
            ranges.append("(field = ? AND value >= ?" + (" AND value < ?)" if upper else ")"))
            args.extend([field, value] if upper is None else [field, value, upper])
        return f"d.doc IN (SELECT doc FROM {self._terms} WHERE {' OR '.join(ranges)})", args

    def _radius_sql(self, near: Near) -> str:
        """Bounding box from the R*Tree first, then the exact great-circle distance."""
        lon_ranges = " OR ".join("(max_lon >= ? AND min_lon <= ?)" for _ in _lon_ranges(near))
        return (
            f"d.doc IN (SELECT doc FROM {self._geo} WHERE max_lat >= ? AND min_lat <= ? AND ({lon_ranges}))"
            f" AND {_distance_sql(near)[0]} <= ?"
        )

    def _page(self, conn: sqlite3.Connection, query: SearchQuery, order: str) -> list[Hit]:
        rows = conn.execute(
            f"SELECT d.id, d.body, m.score, m.dist FROM temp.matches m JOIN {self._docs} d ON d.doc = m.doc"
            f" ORDER BY {order} LIMIT ? OFFSET ?",
            (query.limit, query.offset),
        ).fetchall()
        return [Hit(id=i, score=s, distance_km=dist, document=json.loads(body)) for i, body, s, dist in rows]

    def _order_sql(self, query: SearchQuery) -> str:
        has_text = query.text is not None and bool(query.text.strip())
        sort = query.sort
        if sort == "relevance" and not has_text:
            sort = "distance" if query.near is not None else "name"
        if sort == "relevance":
            return "m.score DESC, d.id"
        if sort == "distance":
            if query.near is None:
                raise ValueError("sort=distance needs a point (near)")
            return "m.dist IS NULL, m.dist, d.id"
        if sort == "name":
            return "d.sort_key IS NULL, d.sort_key, d.id"
        raise ValueError(f"unknown sort {sort!r}")

    def _facet_fields(self, names: Sequence[str]) -> dict[int, str]:
        unknown = [n for n in names if n not in self._schema.keyword_fields]
        if unknown:
            raise ValueError(f"cannot facet on {unknown}; keyword fields: {', '.join(self._schema.keyword_fields)}")
        return {self._term_fields.index(name): name for name in names}

    def _facets(self, conn: sqlite3.Connection, fields: dict[int, str]) -> dict[str, list[FacetBucket]]:
        facets: dict[str, list[FacetBucket]] = {name: [] for name in fields.values()}
        if not fields:
            return facets
        marks = ", ".join("?" * len(fields))
        rows = conn.execute(
            f"SELECT t.field, t.value, count(*) FROM temp.matches m JOIN {self._terms} t ON t.doc = m.doc"
            f" WHERE t.field IN ({marks}) GROUP BY t.field, t.value",
            tuple(fields),
        ).fetchall()
        for field, value, count in sorted(rows, key=lambda r: (-r[2], r[1])):
            facets[fields[field]].append(FacetBucket(value=value, count=count))
        return facets


def _distance_sql(near: Near) -> tuple[str, list[float]]:
    """Haversine distance in km from `near` to `d.lat`/`d.lon` (NULL when the document has no point)."""
    sql = (
        f"2 * {EARTH_RADIUS_KM} * asin(min(1.0, sqrt("
        "pow(sin(radians(d.lat - ?) / 2), 2)"
        " + cos(radians(?)) * cos(radians(d.lat)) * pow(sin(radians(d.lon - ?) / 2), 2))))"
    )
    return sql, [near.lat, near.lat, near.lon]


def _lon_ranges(near: Near) -> list[tuple[float, float]]:
    """Longitude intervals of the radius's bounding box, split where it crosses ±180°."""
    angle = (near.radius_km or 0.0) / EARTH_RADIUS_KM
    lat = math.radians(near.lat)
    if angle >= math.pi or abs(lat) + angle >= math.pi / 2:
        return [(-180.0, 180.0)]  # the circle reaches a pole
    # Bounding coordinates of a spherical cap (J. P. Matuschek), padded for float rounding.
    dlon = math.degrees(math.asin(min(1.0, math.sin(angle) / math.cos(lat)))) + 1e-6
    low, high = near.lon - dlon, near.lon + dlon
    if low < -180:
        return [(low + 360, 180.0), (-180.0, high)]
    if high > 180:
        return [(low, 180.0), (-180.0, high - 360)]
    return [(low, high)]


def _bbox_params(near: Near) -> list[float]:
    dlat = math.degrees((near.radius_km or 0.0) / EARTH_RADIUS_KM) + 1e-6
    params = [near.lat - dlat, near.lat + dlat]
    for low, high in _lon_ranges(near):
        params.extend([low, high])
    return params
