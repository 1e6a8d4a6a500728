"""PostgreSQL plumbing for the stores of state (accounts, plans, spend, ingest state) at scale.

Every service of a deployment points its state URLs at one database (`postgresql://…`), so an
administrator key made through one process authenticates in every other, and the matcher reads
the spend the consumer writes. Each store owns its tables and brings them up to date itself on
open with `migrate`: a versioned list of SQL steps per store, each applied once and recorded in
`schema_migrations`, under an advisory lock so services starting together do not race.

Text goes in and out escaped (`escape_text`), so a NUL character, which SQLite stores and
PostgreSQL's text type refuses, is stored here too: every store accepts the same input on both.

Connections come from a `psycopg_pool.ConnectionPool` per store and process (opened lazily, so
nothing connects at import time, and never carried over a fork: gunicorn workers build their
stores on first use). A database that cannot answer (down, refusing connections, pool
exhausted) is `BackendUnavailable` (503), as a locked SQLite file is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.abc import Buffer
from psycopg.types.string import StrDumper, TextLoader
from psycopg_pool import ConnectionPool, PoolTimeout

from shared.errors import BackendUnavailable

POOL_MAX = 4  # a gunicorn worker's threads (GUNICORN_THREADS, 4): each holds one per store at most
POOL_TIMEOUT_S = 10.0  # as long as a SQLite writer waits on another's lock
CONNECT_TIMEOUT_S = 5  # a host that does not answer at all
_MIGRATIONS_LOCK = 7_140_101  # pg_advisory_xact_lock key: one migrating process at a time

Steps = Sequence[str]
"""A store's migrations in order: step N (1-based) is version N; a step may hold several statements."""


def escape_text(value: str) -> str:
    r"""`\` doubled and NUL as `\0`: one-to-one, so equality and uniqueness are as in SQLite, and
    the order of strings changes only where one holds a NUL."""
    if "\\" not in value and "\x00" not in value:
        return value
    return value.replace("\\", "\\\\").replace("\x00", "\\0")


def unescape_text(value: str) -> str:
    if "\\" not in value:
        return value
    out, chars = [], iter(value)
    for char in chars:
        out.append(("\x00" if next(chars) == "0" else "\\") if char == "\\" else char)
    return "".join(out)


class _EscapingStrDumper(StrDumper):
    def dump(self, obj: str) -> Buffer | None:
        return super().dump(escape_text(obj))


class _UnescapingTextLoader(TextLoader):
    def load(self, data: Buffer) -> bytes | str:
        value = super().load(data)
        return unescape_text(value) if isinstance(value, str) else value


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.adapters.register_dumper(str, _EscapingStrDumper)
    conn.adapters.register_loader("text", _UnescapingTextLoader)


@contextmanager
def unavailable_on_postgres_error() -> Iterator[None]:
    """Map "cannot answer now" (down, unreachable, pool exhausted, its tables gone) to
    `BackendUnavailable`, as SQLite's lock, I/O and missing-table errors are; a wrong query or value
    still raises as it is."""
    try:
        yield
    except (psycopg.OperationalError, psycopg.errors.UndefinedTable, PoolTimeout) as exc:
        raise BackendUnavailable(f"the PostgreSQL store cannot answer: {exc}") from exc


class PostgresDatabase:
    """A pool of connections to one database, for one store in one process."""

    def __init__(self, url: str, store: str, migrations: Steps) -> None:
        self.store = store
        # Migrations on a connection of their own: a database that is down fails here at once
        # (503) rather than after the pool's retries, and the pool opens only once it is there.
        with unavailable_on_postgres_error(), psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            migrate(conn, store, migrations)
        self._pool = ConnectionPool(url, min_size=1, max_size=POOL_MAX, timeout=POOL_TIMEOUT_S, open=False,
                                    name=store, configure=_configure, kwargs={"connect_timeout": CONNECT_TIMEOUT_S},
                                    # A connection the server dropped (a restart) is replaced, not handed out.
                                    check=ConnectionPool.check_connection)
        self._pool.open(wait=False)

    @contextmanager
    def transaction(self, lock: bool = False) -> Iterator[psycopg.Connection[Any]]:
        """One transaction on a pooled connection, committed when the block ends.

        `lock=True` serialises it with the store's other locked transactions (an advisory lock
        keyed by the store's name): the read-modify-write that SQLite's BEGIN IMMEDIATE makes
        safe, such as numbering dirty marks or renaming a cluster, is safe here the same way.
        """
        with unavailable_on_postgres_error(), self._pool.connection() as conn, conn.transaction():
            if lock:
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.store,))
            yield conn

    def close(self) -> None:
        self._pool.close()


def migrate(conn: psycopg.Connection[Any], store: str, steps: Steps) -> None:
    """Apply the steps of `store` not yet recorded in `schema_migrations`, in one transaction."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATIONS_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (store TEXT NOT NULL, version INTEGER NOT NULL,"
                     " applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (store, version))")
        row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations WHERE store = %s",
                           (store,)).fetchone()
        applied = int(row[0]) if row else 0
        for version, step in enumerate(steps, start=1):
            if version > applied:
                conn.execute(step)  # no parameters: several statements may run at once
                conn.execute("INSERT INTO schema_migrations (store, version) VALUES (%s, %s)", (store, version))
