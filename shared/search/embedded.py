"""The embedded `SearchIndex`: one SQLite file, FTS5 (BM25) for text, an R*Tree for geo.

Storage is derived from the `IndexSchema`; every table name starts with
`<prefix><schema.name>_v<version>` so that several indexes (test prefixes, a rebuild into a new
schema version) share one file without meeting:

- `_docs`: one small row per document (id, normalised `updated_at`, lower-cased sort key, point);
  `_bodies` holds the JSON apart, so the rows every query touches stay dense in the page cache.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.errors import BackendUnavailable
from shared.search.port import BulkResult, Document, FacetBucket, Hit, Near, SearchQuery, SearchResult
from shared.search.schema import ENGLISH_STOP_WORDS, IndexSchema

# The mean radius Elasticsearch uses for `arc` distances, so both backends cut radii alike.
EARTH_RADIUS_KM = 6371.0088
BUSY_TIMEOUT_S = 10.0
MMAP_BYTES = 1 << 30
ESTIMATE_CAP = 20_000
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
            # Reads go through a shared memory map of the file rather than each connection's
            # private page cache: gunicorn workers share the OS cache and skip a copy per page.
            conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
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
    terms: frozenset[tuple[int, str]]


@dataclass(frozen=True)
class _Sql:
    """A fragment of SQL and its parameters, in order."""

    sql: str
    params: tuple[Any, ...] = ()


class EmbeddedSearchIndex:
    """`SearchIndex` on SQLite; see the module docstring for the storage layout."""

    def __init__(self, path: str, schema: IndexSchema, prefix: str = "") -> None:
        self._schema = schema
        base = _table_base(prefix, schema)
        self._table_names = tuple(f"{base}_{t}" for t in ("docs", "bodies", "fts", "geo", "terms"))
        self._docs, self._bodies, self._fts, self._geo, self._terms = (f'"{t}"' for t in self._table_names)
        # Terms store a field number rather than its name: smaller keys, faster facet scans.
        # Numbers are stable within a schema version, which names the tables.
        fields = (*schema.keyword_fields, *(f for _, f in schema.prefix_fields))
        self._term_fields: tuple[str, ...] = tuple(dict.fromkeys(fields))
        self._conns = ThreadConnections(path, "NORMAL", _prepare_connection)

    # -- lifecycle -----------------------------------------------------------------------------

    def ensure_index(self) -> None:
        """Create the tables. Bodies live apart from `_docs` so that the rows every query
        touches (id, sort key, point) stay small and dense in the page cache."""
        docs, terms = self._table_names[0], self._table_names[4]
        with transaction(self._conn(), "IMMEDIATE") as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._docs} (doc INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
                " updated_at TEXT NOT NULL, sort_key TEXT, lat REAL, lon REAL)"
            )
            conn.execute(f'CREATE INDEX IF NOT EXISTS "{docs}_sort" ON {self._docs} (sort_key, id)')
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._bodies} (doc INTEGER PRIMARY KEY, body TEXT NOT NULL)"
            )
            conn.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {self._fts} USING fts5({self._fts_columns()},"
                " tokenize='porter unicode61 remove_diacritics 2')"
            )
            conn.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {self._geo}"
                " USING rtree(doc, min_lat, max_lat, min_lon, max_lon)"
            )
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._terms} (doc INTEGER NOT NULL, field INTEGER NOT NULL,"
                " value TEXT NOT NULL, PRIMARY KEY (doc, field, value)) WITHOUT ROWID"
            )
            conn.execute(f'CREATE INDEX IF NOT EXISTS "{terms}_value" ON {self._terms} (field, value, doc)')

    def ping(self) -> bool:
        try:
            placeholders = ", ".join("?" * len(self._table_names))
            found = (
                self._conn()
                .execute(
                    f"SELECT count(*) FROM sqlite_master WHERE name IN ({placeholders})", self._table_names
                )
                .fetchone()[0]
            )
        except (BackendUnavailable, sqlite3.Error):
            return False
        return bool(found == len(self._table_names))

    def refresh(self) -> None:
        """Nothing to do: a committed write is visible to every reader at once."""

    def drop(self) -> None:
        with transaction(self._conn(), "IMMEDIATE") as conn:
            for table in (self._fts, self._geo, self._terms, self._bodies, self._docs):
                conn.execute(f"DROP TABLE IF EXISTS {table}")

    def close(self) -> None:
        self._conns.close_all()

    def _conn(self) -> sqlite3.Connection:
        return self._conns.get()

    def _fts_columns(self) -> str:
        return ", ".join(f"c{i}" for i in range(len(self._schema.text_fields)))

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
                    self._remove_entries(conn, found[0])
                    conn.execute(f"DELETE FROM {self._bodies} WHERE doc = ?", found)
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
            f"INSERT INTO {self._docs} (id, updated_at, sort_key, lat, lon) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at,"
            " sort_key = excluded.sort_key, lat = excluded.lat, lon = excluded.lon RETURNING doc",
            (row.id, row.version, row.sort_key, lat, lon),
        ).fetchone()[0]
        if stored:
            self._remove_entries(conn, doc)
        conn.execute(f"INSERT OR REPLACE INTO {self._bodies} (doc, body) VALUES (?, ?)", (doc, row.body))
        marks = ", ".join("?" * (len(row.text) + 1))
        conn.execute(
            f"INSERT INTO {self._fts} (rowid, {self._fts_columns()}) VALUES ({marks})", (doc, *row.text)
        )
        if row.point:
            conn.execute(f"INSERT INTO {self._geo} VALUES (?, ?, ?, ?, ?)", (doc, lat, lat, lon, lon))
        conn.executemany(
            f"INSERT INTO {self._terms} (doc, field, value) VALUES (?, ?, ?)",
            [(doc, field, value) for field, value in row.terms],
        )
        return True

    def _remove_entries(self, conn: sqlite3.Connection, doc: int) -> None:
        """Remove a document's index entries (an upsert then writes fresh ones)."""
        conn.execute(f"DELETE FROM {self._fts} WHERE rowid = ?", (doc,))
        conn.execute(f"DELETE FROM {self._geo} WHERE doc = ?", (doc,))
        conn.execute(f"DELETE FROM {self._terms} WHERE doc = ?", (doc,))

    # -- reads ---------------------------------------------------------------------------------

    def get(self, doc_id: str) -> Document | None:
        row = (
            self._conn()
            .execute(
                f"SELECT b.body FROM {self._docs} d JOIN {self._bodies} b ON b.doc = d.doc WHERE d.id = ?",
                (doc_id,),
            )
            .fetchone()
        )
        return None if row is None else dict(json.loads(row[0]))

    def count(self, query: SearchQuery | None = None) -> int:
        if query is None:
            return int(self._conn().execute(f"SELECT count(*) FROM {self._docs}").fetchone()[0])
        with transaction(self._conn()) as conn:
            candidates = self._candidates(conn, query)
            if candidates is None:
                return 0
            return int(
                conn.execute(f"SELECT count(*) FROM ({candidates.sql})", candidates.params).fetchone()[0]
            )

    def search(self, query: SearchQuery) -> SearchResult:
        """Compute the matches once into a scratch table, then count, page and facet from it."""
        if query.offset < 0 or query.limit < 0:
            raise ValueError("offset and limit must not be negative")
        facet_fields = self._facet_fields(query.facets)
        order = _order_sql(query)
        with transaction(self._conn()) as conn:
            candidates = self._candidates(conn, query)
            if candidates is None:
                return SearchResult(total=0, hits=[], facets={name: [] for name in query.facets})
            conn.execute("DELETE FROM temp.matches")
            conn.execute(f"INSERT INTO temp.matches (doc, score, dist) {candidates.sql}", candidates.params)
            total = conn.execute("SELECT count(*) FROM temp.matches").fetchone()[0]
            hits = self._page(conn, query, order)
            facets = self._facets(conn, facet_fields)
        return SearchResult(total=total, hits=hits, facets=facets)

    def _candidates(self, conn: sqlite3.Connection, query: SearchQuery) -> _Sql | None:
        """SQL selecting (doc, score, dist) for every match; None when the text leaves no word.

        One constraint drives (text, else the radius's bounding box, else the most selective
        filter); every other filter is an EXISTS probe on the terms primary key per driven row,
        which stays cheap however common the filter's value is.
        """
        match = None
        if _has_text(query):
            match = fts_query(query.text or "")
            if match is None:
                return None
        filters = [self._filter_where(name, values) for name, values in query.filters.items()]
        near = query.near
        if match is not None:
            weights = ", ".join(str(float(b)) for b in self._schema.text_boosts)
            driver = _Sql(
                f"SELECT rowid AS doc, -bm25({self._fts}, {weights}) AS score"
                f" FROM {self._fts} WHERE {self._fts} MATCH ?",
                (match,),
            )
        elif near is not None and near.radius_km is not None:
            box = _bbox(near)
            driver = _Sql(f"SELECT doc, NULL AS score FROM {self._geo} WHERE {box.sql}", box.params)
        elif filters:
            filters.sort(key=lambda f: self._estimate(conn, f))
            first = filters.pop(0)
            driver = _Sql(
                f"SELECT DISTINCT doc, NULL AS score FROM {self._terms} WHERE {first.sql}", first.params
            )
        else:
            driver = _Sql(f"SELECT doc, NULL AS score FROM {self._docs}")
        probes = [
            _Sql(f"EXISTS (SELECT 1 FROM {self._terms} t WHERE t.doc = c.doc AND {f.sql})", f.params)
            for f in filters
        ]
        where = " AND ".join(p.sql for p in probes) or "1"
        params = tuple(p for probe in probes for p in probe.params)
        if near is None:
            return _Sql(
                f"SELECT c.doc, c.score, NULL FROM ({driver.sql}) c WHERE {where}", (*driver.params, *params)
            )
        dist = _distance_sql(near)
        sql = (
            f"SELECT c.doc, c.score, {dist.sql} AS dist FROM ({driver.sql}) c"
            f" JOIN {self._docs} d ON d.doc = c.doc WHERE {where}"
        )
        all_params = (*dist.params, *driver.params, *params)
        if near.radius_km is None:
            return _Sql(sql, all_params)
        return _Sql(f"SELECT * FROM ({sql}) WHERE dist <= ?", (*all_params, near.radius_km))

    def _filter_where(self, name: str, values: Sequence[str]) -> _Sql:
        """Terms matching any of a filter's values; a prefix filter is a value range, so user
        input is never a LIKE/GLOB pattern."""
        if name not in self._schema.filter_names:
            raise ValueError(
                f"unknown filter {name!r}; known: {', '.join(sorted(self._schema.filter_names))}"
            )
        prefix_field = self._schema.prefix_field(name)
        field = self._term_fields.index(prefix_field or name)
        values = [values] if isinstance(values, str) else list(values)
        if not values:
            return _Sql("0")
        if prefix_field is None:
            return _Sql(f"field = ? AND value IN ({', '.join('?' * len(values))})", (field, *values))
        ranges, params = [], []
        for value in values:
            upper = _successor(value)
            ranges.append("value >= ?" if upper is None else "(value >= ? AND value < ?)")
            params.extend([value] if upper is None else [value, upper])
        return _Sql(f"field = ? AND ({' OR '.join(ranges)})", (field, *params))

    def _estimate(self, conn: sqlite3.Connection, where: _Sql) -> int:
        """How many terms a filter matches, counted up to a cap so that the estimate stays cheap."""
        sql = f"SELECT count(*) FROM (SELECT 1 FROM {self._terms} WHERE {where.sql} LIMIT {ESTIMATE_CAP})"
        return int(conn.execute(sql, where.params).fetchone()[0])

    def _page(self, conn: sqlite3.Connection, query: SearchQuery, order: str) -> list[Hit]:
        """One page of hits; bodies are read for that page only. CROSS JOIN keeps the matches
        as the outer loop (without statistics SQLite would scan every document instead)."""
        rows = conn.execute(
            f"SELECT m.doc, d.id, m.score, m.dist FROM temp.matches m"
            f" CROSS JOIN {self._docs} d ON d.doc = m.doc ORDER BY {order} LIMIT ? OFFSET ?",
            (query.limit, query.offset),
        ).fetchall()
        if not rows:
            return []
        marks = ", ".join("?" * len(rows))
        bodies = dict(
            conn.execute(f"SELECT doc, body FROM {self._bodies} WHERE doc IN ({marks})", [r[0] for r in rows])
        )
        return [
            Hit(id=doc_id, score=score, distance_km=dist, document=json.loads(bodies[doc]))
            for doc, doc_id, score, dist in rows
        ]

    def _facet_fields(self, names: Sequence[str]) -> dict[int, str]:
        unknown = [n for n in names if n not in self._schema.keyword_fields]
        if unknown:
            raise ValueError(
                f"cannot facet on {unknown}; keyword fields: {', '.join(self._schema.keyword_fields)}"
            )
        return {self._term_fields.index(name): name for name in names}

    def _facets(self, conn: sqlite3.Connection, fields: dict[int, str]) -> dict[str, list[FacetBucket]]:
        facets: dict[str, list[FacetBucket]] = {name: [] for name in fields.values()}
        if not fields:
            return facets
        marks = ", ".join("?" * len(fields))
        # CROSS JOIN pins the matches as the outer loop: probing each match's terms is far cheaper
        # than scanning every term of a field, which SQLite picks without statistics.
        rows = conn.execute(
            f"SELECT t.field, t.value, count(*) FROM temp.matches m"
            f" CROSS JOIN {self._terms} t ON t.doc = m.doc"
            f" WHERE t.field IN ({marks}) GROUP BY t.field, t.value",
            tuple(fields),
        ).fetchall()
        for field, value, count in sorted(rows, key=lambda r: (-r[2], r[1])):
            facets[fields[field]].append(FacetBucket(value=value, count=count))
        return facets


def _prepare_connection(conn: sqlite3.Connection) -> None:
    """A per-connection scratch table: a query's matches are computed once, then counted,
    paged and faceted from here."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS matches (doc INTEGER PRIMARY KEY, score REAL, dist REAL)")


def _has_text(query: SearchQuery) -> bool:
    return query.text is not None and bool(query.text.strip())


def _order_sql(query: SearchQuery) -> str:
    """ORDER BY for the port's sorts over `m` (matches) and `d` (docs); ties break by id."""
    sort = query.sort
    if sort == "relevance" and not _has_text(query):
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


def _distance_sql(near: Near) -> _Sql:
    """Haversine distance in km from `near` to `d.lat`/`d.lon` (NULL when the document has no point)."""
    sql = (
        f"2 * {EARTH_RADIUS_KM} * asin(min(1.0, sqrt("
        "pow(sin(radians(d.lat - ?) / 2), 2)"
        " + cos(radians(?)) * cos(radians(d.lat)) * pow(sin(radians(d.lon - ?) / 2), 2))))"
    )
    return _Sql(sql, (near.lat, near.lat, near.lon))


def _bbox(near: Near) -> _Sql:
    """R*Tree constraint for the box around the radius (padded for float rounding); the exact
    great-circle check follows in `_distance_sql`."""
    angle = (near.radius_km or 0.0) / EARTH_RADIUS_KM
    dlat = math.degrees(angle) + 1e-6
    ranges = _lon_ranges(near.lat, near.lon, angle)
    lon_sql = " OR ".join("(max_lon >= ? AND min_lon <= ?)" for _ in ranges)
    return _Sql(
        f"max_lat >= ? AND min_lat <= ? AND ({lon_sql})",
        (near.lat - dlat, near.lat + dlat, *(bound for pair in ranges for bound in pair)),
    )


def _lon_ranges(lat_deg: float, lon: float, angle: float) -> list[tuple[float, float]]:
    """Longitude intervals of a spherical cap's bounding box (J. P. Matuschek), split at ±180°."""
    lat = math.radians(lat_deg)
    if angle >= math.pi or abs(lat) + angle >= math.pi / 2:
        return [(-180.0, 180.0)]  # the cap reaches a pole
    dlon = math.degrees(math.asin(min(1.0, math.sin(angle) / math.cos(lat)))) + 1e-6
    low, high = lon - dlon, lon + dlon
    if low < -180:
        return [(low + 360, 180.0), (-180.0, high)]
    if high > 180:
        return [(low, 180.0), (-180.0, high - 360)]
    return [(low, high)]
