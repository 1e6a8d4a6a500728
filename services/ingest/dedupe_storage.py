"""Where the de-duplication state lives: the port `RegistryStorage` and its two adapters.

`OrganisationRegistry` (dedupe.py) holds the rules and writes SQL that both databases speak
(`?` placeholders, `INSERT … ON CONFLICT`, no SQLite-only functions); the adapters give it
connections and own their schema:

- `SqliteRegistryStorage`: one file per deployment on one machine (the default, beside the
  embedded event log), WAL so the consumer and its prepare worker open it together;
- `PostgresRegistryStorage` (`STATE_URL=postgresql://…`): tables in the deployment's database,
  so the state survives the consumer's container and every consumer of a group shares it.

The tables: `members` (each record with its cluster), `registry` (their registry keys),
`decisions` (the stewards'), `dirty` (clusters the index has yet to catch up with) and
`pairings` (why two members were merged, or the review queue of pairs short of near-certain).

A write is serialised with every other write to the state (SQLite's BEGIN IMMEDIATE; an advisory
lock on PostgreSQL): numbering dirty marks and renaming clusters read what they then change.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, Protocol

from shared.sqlite import sqlite_file, transaction
from shared.store_urls import is_postgres_url

# Page cache of the state file (KiB): inserts touch a few B-tree pages per member and lookups are
# by key; 16 MB ran as fast as 64 MB at 131,000 listings and kept the worker process 50 MB smaller.
STATE_CACHE_KIB = 16_384


class Rows(Protocol):
    def fetchone(self) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...


class Sql(Protocol):
    """A connection as the registry uses it: `?` placeholders, rows as tuples."""

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Rows: ...

    def executemany(self, sql: str, parameters: Sequence[Sequence[Any]], /) -> Any: ...


class RegistryStorage(Protocol):
    def write(self) -> AbstractContextManager[Sql]:
        """A transaction serialised with every other write to the state."""

    def read(self) -> AbstractContextManager[Sql]:
        """A connection to read from (outside any write)."""

    def close(self) -> None: ...


def open_registry_storage(location: str | Path) -> RegistryStorage:
    """The adapter `location` names: `postgresql://…`, else a SQLite file (`sqlite:///path` or a path)."""
    if isinstance(location, str) and is_postgres_url(location):
        return PostgresRegistryStorage(location)
    return SqliteRegistryStorage(Path(sqlite_file(str(location))))


_SQLITE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS members (id TEXT PRIMARY KEY, cluster TEXT NOT NULL, source TEXT NOT NULL,"
    " updated_at TEXT NOT NULL, name_key TEXT NOT NULL, district TEXT, cell TEXT, lat REAL, lon REAL,"
    " doc TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS members_cluster ON members (cluster)",
    "CREATE INDEX IF NOT EXISTS members_cell_source ON members (cell, source)",
    "CREATE TABLE IF NOT EXISTS registry (kind TEXT NOT NULL, number TEXT NOT NULL, id TEXT NOT NULL,"
    " PRIMARY KEY (kind, number, id))",
    "CREATE INDEX IF NOT EXISTS registry_id ON registry (id)",
    "CREATE TABLE IF NOT EXISTS decisions (a TEXT NOT NULL, b TEXT NOT NULL, decision TEXT NOT NULL,"
    " decided_at TEXT NOT NULL, PRIMARY KEY (a, b))",
    "CREATE TABLE IF NOT EXISTS dirty (cluster TEXT PRIMARY KEY, replace INTEGER NOT NULL, seq INTEGER NOT NULL)",
    # Since the review queue: state files from before gain the table on opening.
    "CREATE TABLE IF NOT EXISTS pairings (a TEXT NOT NULL, b TEXT NOT NULL, rule TEXT NOT NULL, score REAL NOT NULL,"
    " status TEXT NOT NULL, found_at TEXT NOT NULL, PRIMARY KEY (a, b))",
    "CREATE INDEX IF NOT EXISTS pairings_b ON pairings (b)",
    "CREATE INDEX IF NOT EXISTS pairings_status ON pairings (status, score)",
)


class SqliteRegistryStorage:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=10000")
        self._conn.execute(f"PRAGMA cache_size=-{STATE_CACHE_KIB}")
        with transaction(self._conn, "IMMEDIATE") as conn:  # the consumer and its worker open it together
            for statement in _SQLITE_SCHEMA:
                conn.execute(statement)
            _add_dirty_seq(conn)

    def write(self) -> AbstractContextManager[Sql]:
        return transaction(self._conn, "IMMEDIATE")

    def read(self) -> AbstractContextManager[Sql]:
        return nullcontext(self._conn)

    def close(self) -> None:
        self._conn.close()


def _add_dirty_seq(conn: sqlite3.Connection) -> None:
    """State files written before dirty marks had a seq gain the column (0: settled by any write)."""
    if "seq" not in {row[1] for row in conn.execute("PRAGMA table_info(dirty)")}:
        conn.execute("ALTER TABLE dirty ADD COLUMN seq INTEGER NOT NULL DEFAULT 0")


# Ids, clusters and names sort by code point (COLLATE "C"), as in SQLite: a cluster is named by its
# smallest member id, and Python's min() and the database's min() must agree on which that is.
POSTGRES_MIGRATIONS = (
    """
    CREATE TABLE members (id TEXT COLLATE "C" PRIMARY KEY, cluster TEXT COLLATE "C" NOT NULL,
        source TEXT COLLATE "C" NOT NULL, updated_at TEXT NOT NULL, name_key TEXT COLLATE "C" NOT NULL,
        district TEXT COLLATE "C", cell TEXT COLLATE "C", lat DOUBLE PRECISION, lon DOUBLE PRECISION,
        doc TEXT NOT NULL);
    CREATE INDEX members_cluster ON members (cluster);
    CREATE INDEX members_cell_source ON members (cell, source);
    CREATE TABLE registry (kind TEXT COLLATE "C" NOT NULL, number TEXT COLLATE "C" NOT NULL,
        id TEXT COLLATE "C" NOT NULL, PRIMARY KEY (kind, number, id));
    CREATE INDEX registry_id ON registry (id);
    CREATE TABLE decisions (a TEXT COLLATE "C" NOT NULL, b TEXT COLLATE "C" NOT NULL, decision TEXT NOT NULL,
        decided_at TEXT NOT NULL, PRIMARY KEY (a, b));
    CREATE TABLE dirty (cluster TEXT COLLATE "C" PRIMARY KEY, replace INTEGER NOT NULL, seq BIGINT NOT NULL);
    """,
    """
    CREATE TABLE pairings (a TEXT COLLATE "C" NOT NULL, b TEXT COLLATE "C" NOT NULL, rule TEXT NOT NULL,
        score DOUBLE PRECISION NOT NULL, status TEXT NOT NULL, found_at TEXT NOT NULL, PRIMARY KEY (a, b));
    CREATE INDEX pairings_b ON pairings (b);
    CREATE INDEX pairings_status ON pairings (status, score);
    """,
)


class _QmarkConnection:
    """A psycopg connection that takes the registry's `?` placeholders (its SQL has no `%` or
    literal `?`, so each `?` is a parameter)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Rows:
        return self._conn.execute(sql.replace("?", "%s"), parameters)  # type: ignore[no-any-return]

    def executemany(self, sql: str, parameters: Sequence[Sequence[Any]], /) -> None:
        with self._conn.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), parameters)


class PostgresRegistryStorage:
    def __init__(self, url: str) -> None:
        from shared.postgres import PostgresDatabase  # psycopg only where it is used

        self._db = PostgresDatabase(url, "ingest_state", POSTGRES_MIGRATIONS)

    @contextmanager
    def write(self) -> Iterator[Sql]:
        with self._db.transaction(lock=True) as conn:
            yield _QmarkConnection(conn)

    @contextmanager
    def read(self) -> Iterator[Sql]:
        with self._db.transaction() as conn:
            yield _QmarkConnection(conn)

    def close(self) -> None:
        self._db.close()
