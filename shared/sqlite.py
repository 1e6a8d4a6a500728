"""SQLite plumbing for everything stored in SQLite (the embedded index and event log, dedupe
state, accounts, plans, spend): per-thread connections, transactions, and the mapping of
"cannot serve now" errors (locked, I/O, missing tables) to `BackendUnavailable`."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.errors import BackendUnavailable

BUSY_TIMEOUT_S = 10.0
MMAP_BYTES = 1 << 30
# Page cache per connection (KiB). Reads go through the memory map; writes go through this cache,
# and a bulk write touching the B-trees of 100,000+ documents ran 15% faster with 64 MB than with
# SQLite's 2 MB default. Only pages a connection touches are allocated.
CACHE_KIB = 65_536
INDEX_WAL_PAGES = 10_000
# SQLite result codes that mean "the store cannot answer now", not "the code is wrong".
UNAVAILABLE = frozenset(
    ["SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_FULL", "SQLITE_NOTADB",
     "SQLITE_CORRUPT", "SQLITE_READONLY", "SQLITE_PROTOCOL"]
)  # fmt: skip


def index_setup(conn: sqlite3.Connection) -> None:
    """The search index's connections: the consumer's batches rewrite the same FTS and B-tree
    pages again and again, so checkpointing the WAL every 40 MB instead of every 4 MB copies each
    page into the database once rather than after every batch."""
    conn.execute(f"PRAGMA wal_autocheckpoint={INDEX_WAL_PAGES}")


def is_unavailable(exc: sqlite3.Error) -> bool:
    """True for lock, I/O and open errors and for a table that does not exist (yet)."""
    # Extended codes (SQLITE_IOERR_SHORT_READ, SQLITE_BUSY_SNAPSHOT) share their primary's prefix.
    primary = "_".join((getattr(exc, "sqlite_errorname", "") or "").split("_")[:2])
    return primary in UNAVAILABLE or "no such table" in str(exc)


@contextmanager
def unavailable_on_sqlite_error() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        if not is_unavailable(exc):
            raise
        raise BackendUnavailable(f"the SQLite index cannot answer: {exc}") from exc


class ThreadConnections:
    """One SQLite connection per process and thread.

    sqlite3 connections must not be shared across threads (Flask's threaded server) nor carried
    over a fork (gunicorn `--preload`), so each (pid, thread) opens its own on first use.
    """

    def __init__(self, path: str, synchronous: str, setup: Callable[[sqlite3.Connection], None] | None = None,
                 mmap_bytes: int = MMAP_BYTES, cache_kib: int = CACHE_KIB) -> None:
        self._path = path
        self._synchronous = synchronous
        self._setup = setup
        self._mmap_bytes, self._cache_kib = mmap_bytes, cache_kib
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
            conn = sqlite3.connect(self._path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute("PRAGMA temp_store=MEMORY")
            # Reads go through a shared memory map of the file rather than each connection's
            # private page cache: gunicorn workers share the OS cache and skip a copy per page.
            conn.execute(f"PRAGMA mmap_size={self._mmap_bytes}")
            conn.execute(f"PRAGMA cache_size=-{self._cache_kib}")
            if self._setup is not None:
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
    busy writer waits on busy_timeout instead of failing mid-way), DEFERRED for a read snapshot.

    Inside a transaction already open on `conn`, the block joins it and the outer one commits: a
    rebuild writes its last records into the new generation inside the transaction that switches.
    """
    if conn.in_transaction:
        yield conn
        return
    with unavailable_on_sqlite_error():
        conn.execute(f"BEGIN {mode}")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def sqlite_file(location: str) -> str:
    """The file a store's setting names: `sqlite:///relative.db`, `sqlite:////abs.db` or a plain path."""
    if location.startswith("sqlite:"):
        path = location.split("sqlite:///", 1)[1] if location.startswith("sqlite:///") else ""
        if not path:
            raise ValueError(f"{location!r} names no file; use sqlite:///path/to/file.db")
        return path
    if "://" in location or not location:
        raise ValueError(f"{location!r} is neither sqlite:///path, a path nor postgresql://…")
    return location
