"""The embedded `SearchIndex`: the live generation of an index, named by a pointer row.

SQLite has no aliases, so the embedded adapter keeps Elasticsearch's guarantee its own way. Each
generation is a set of tables (`embedded.EmbeddedSearchIndex`); the one-row table
`<base>_live` names the live one (no row: the first generation, `<base>`). Every read and write
transaction first checks that row, in the same transaction, so:

- a switch is one write transaction that updates the row: a reader sees either the old
  generation entirely or the new one, and a writer's batch lands in whichever generation is live
  when it commits, never in one that has just been replaced;
- a process whose cached generation (and in-process snapshot) is no longer live notices at its
  next transaction (`GenerationMoved`), drops that cache and retries on the live generation, so
  searches keep answering throughout a rebuild and after the old tables are dropped.

The rebuild lock is an exclusive `flock` on a file beside the database: the OS releases it when
its holder dies, so a crashed rebuild never blocks the next one.
"""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from shared.errors import BackendUnavailable
from shared.search.embedded import EmbeddedSearchIndex, GenerationMoved, table_base
from shared.search.port import (
    BulkResult,
    Document,
    Hit,
    RebuildInProgress,
    SearchQuery,
    SearchResult,
    Suggestion,
    scan_pages,
)
from shared.search.schema import IndexSchema
from shared.sqlite import ThreadConnections, index_setup, transaction, unavailable_on_sqlite_error

T = TypeVar("T")
# A call retried this many times on a moved generation: one switch needs one retry; more means
# rebuilds are switching faster than a search runs, which is a fault.
MOVES = 3


class EmbeddedAliasIndex:
    """`SearchIndex` on SQLite that follows the live generation; see the module docstring."""

    def __init__(self, path: str, schema: IndexSchema, prefix: str = "") -> None:
        self._path, self._schema, self._prefix = path, schema, prefix
        self._base = table_base(prefix, schema)
        self._pointer = f'"{self._base}_live"'
        self._generation_docs = re.compile(rf"^({re.escape(self._base)}(?:_g\d+)?)_docs$")
        self._conns = ThreadConnections(path, "NORMAL", index_setup)
        self._lock = threading.Lock()
        self._current: EmbeddedSearchIndex | None = None
        # Generations this process stopped serving: their warm-up threads must end before close.
        self._retired: list[EmbeddedSearchIndex] = []

    # -- following the pointer -----------------------------------------------------------------

    def _live_in(self, conn: sqlite3.Connection) -> str:
        """The live generation as `conn`'s transaction sees it."""
        try:
            row = conn.execute(f"SELECT generation FROM {self._pointer} WHERE id = 1").fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            row = None
        return str(row[0]) if row else self._base

    def _guard(self, generation: str) -> Callable[[sqlite3.Connection], None]:
        def check(conn: sqlite3.Connection) -> None:
            if self._live_in(conn) != generation:
                raise GenerationMoved(f"{generation} is no longer the live generation")

        return check

    def _open(self, generation: str, guarded: bool = True) -> EmbeddedSearchIndex:
        guard = self._guard(generation) if guarded else None
        return EmbeddedSearchIndex(
            self._path, self._schema, self._prefix, generation=generation, connections=self._conns, guard=guard
        )

    def _live(self) -> EmbeddedSearchIndex:
        current = self._current
        if current is None:
            with self._lock:
                if self._current is None:
                    with unavailable_on_sqlite_error():
                        self._current = self._open(self._live_in(self._conns.get()))
                current = self._current
        return current

    def _forget(self, stale: EmbeddedSearchIndex) -> None:
        with self._lock:
            if self._current is stale:
                self._current = None
                stale.retire()
                self._retired.append(stale)

    def _call(self, action: Callable[[EmbeddedSearchIndex], T]) -> T:
        """Run `action` on the live generation, again on the new one if it moved meanwhile."""
        for _ in range(MOVES):
            live = self._live()
            try:
                return action(live)
            except GenerationMoved:
                self._forget(live)
        raise BackendUnavailable("the live generation kept changing; try again")

    def _fresh(self) -> EmbeddedSearchIndex:
        """The live generation, checked against the pointer now (for calls that have no guard)."""
        live = self._live()
        with unavailable_on_sqlite_error():
            moved = self._live_in(self._conns.get()) != live.generation
        if moved:
            self._forget(live)
            live = self._live()
        return live

    # -- SearchIndex ---------------------------------------------------------------------------

    def ensure_index(self) -> None:
        """Create the pointer table and the live generation's tables (idempotent)."""
        with transaction(self._conns.get(), "IMMEDIATE") as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._pointer} (id INTEGER PRIMARY KEY CHECK (id = 1),"
                " generation TEXT NOT NULL)"
            )
        self._fresh().ensure_index()

    def bulk_upsert(self, documents: Sequence[Document]) -> BulkResult:
        return self._call(lambda live: live.bulk_upsert(documents))

    def delete(self, ids: Sequence[str]) -> BulkResult:
        return self._call(lambda live: live.delete(ids))

    def get(self, doc_id: str) -> Document | None:
        return self._call(lambda live: live.get(doc_id))

    def search(self, query: SearchQuery) -> SearchResult:
        return self._call(lambda live: live.search(query))

    def count(self, query: SearchQuery | None = None) -> int:
        return self._call(lambda live: live.count(query))

    def scan(self, query: SearchQuery, page_size: int = 500) -> Iterator[Hit]:
        """Cursor pages, each searched on whatever generation is live (a rebuild keeps ids)."""
        return scan_pages(self.search, query, page_size)

    def suggest(self, prefix: str, limit: int = 10) -> list[Suggestion]:
        return self._call(lambda live: live.suggest(prefix, limit))

    def refresh(self) -> None:
        """Nothing to do: a committed write is visible to every reader at once."""

    def ping(self) -> bool:
        try:
            return self._fresh().ping()
        except BackendUnavailable:
            return False

    def drop(self) -> None:
        """Delete every generation and the pointer."""
        for generation in self.generations():
            self._open(generation, guarded=False).drop()
        with transaction(self._conns.get(), "IMMEDIATE") as conn:
            conn.execute(f"DROP TABLE IF EXISTS {self._pointer}")
        current = self._current
        if current is not None:
            self._forget(current)

    def close(self) -> None:
        with self._lock:
            served = [*self._retired, *([self._current] if self._current is not None else [])]
            self._retired, self._current = [], None
        for generation in served:
            generation.close()
        self._conns.close_all()

    # -- generations ---------------------------------------------------------------------------

    @property
    def generation(self) -> str:
        return self._fresh().generation

    def generations(self) -> list[str]:
        with unavailable_on_sqlite_error():
            names = [n for (n,) in self._conns.get().execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        found = {m.group(1) for name in names if (m := self._generation_docs.match(name))}
        return sorted(found)

    def build_generation(self) -> EmbeddedSearchIndex:
        """New, empty tables named by the time (so a name is never reused, even after a drop)."""
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        generation = self._open(f"{self._base}_g{stamp}", guarded=False)
        generation.ensure_index()
        return generation

    def switch_to(self, generation: str, finish: Callable[[], object] | None = None) -> bool:
        """Run `finish` and repoint in one write transaction: no other writer commits in between."""
        if generation not in self.generations():
            raise ValueError(f"no generation {generation!r} to switch to")
        with transaction(self._conns.get(), "IMMEDIATE") as conn:
            if finish is not None:
                finish()
            conn.execute(
                f"INSERT INTO {self._pointer} (id, generation) VALUES (1, ?)"
                " ON CONFLICT (id) DO UPDATE SET generation = excluded.generation",
                (generation,),
            )
        current = self._current
        if current is not None and current.generation != generation:
            self._forget(current)
        return True

    def drop_generations(self, generations: Sequence[str]) -> None:
        live = self._fresh().generation
        if live in generations:
            raise ValueError(f"{live} is live; switch to another generation before dropping it")
        for generation in generations:
            if not self._generation_docs.match(f"{generation}_docs"):
                raise ValueError(f"{generation!r} is not a generation of {self._base}")
            self._open(generation, guarded=False).drop()

    @contextmanager
    def rebuild_lock(self, holder: str) -> Iterator[None]:
        """An exclusive `flock` on `<database>.<base>.rebuild.lock`, which names its holder."""
        path = Path(f"{self._path}.{self._base}.rebuild.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                who = handle.read().strip() or "holder unknown"
                raise RebuildInProgress(f"a rebuild of {self._base} is already running ({who})") from None
            handle.truncate(0)
            handle.write(f"{holder}, pid {os.getpid()}, since {datetime.now(UTC).isoformat(timespec='seconds')}\n")
            handle.flush()
            try:
                yield
            finally:
                handle.truncate(0)
                fcntl.flock(handle, fcntl.LOCK_UN)
