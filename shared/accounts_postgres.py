"""Accounts in PostgreSQL (`ACCOUNTS_URL=postgresql://…`): the one store of keys every service of
a distributed deployment authenticates against.

Text columns sort as SQLite sorts them (`COLLATE "C"`, by code point), whatever locale the
cluster was made with; `seq` keeps keys made in one second in the order they were made, as
SQLite's rowid does.
"""

from __future__ import annotations

import psycopg

from shared.accounts import (
    KeyInfo,
    NameTaken,
    Organisation,
    Principal,
    Role,
    UnknownOrganisation,
    new_key,
    new_organisation,
    presented_key,
    principal_for,
    timestamp,
)
from shared.postgres import PostgresDatabase

MIGRATIONS = (
    """
    CREATE TABLE organisations (
        id TEXT COLLATE "C" PRIMARY KEY, name TEXT COLLATE "C" NOT NULL UNIQUE, created_at TEXT NOT NULL);
    CREATE TABLE api_keys (
        id TEXT COLLATE "C" PRIMARY KEY, secret_sha256 TEXT NOT NULL, role TEXT NOT NULL,
        organisation_id TEXT COLLATE "C" REFERENCES organisations(id), label TEXT NOT NULL,
        created_at TEXT NOT NULL, revoked_at TEXT, seq BIGSERIAL NOT NULL,
        CHECK (role IN ('admin', 'member')),
        CHECK ((role = 'member') = (organisation_id IS NOT NULL)));
    CREATE INDEX api_keys_organisation ON api_keys (organisation_id, created_at, seq);
    """,
)
_KEY_COLUMNS = "id, role, organisation_id, label, created_at, revoked_at"


class PostgresAccountStore:
    def __init__(self, url: str) -> None:
        self._db = PostgresDatabase(url, "accounts", MIGRATIONS)

    def create_organisation(self, name: str) -> Organisation:
        org = new_organisation(name)
        try:
            with self._db.transaction() as conn:
                conn.execute("INSERT INTO organisations VALUES (%s, %s, %s)", (org.id, org.name, timestamp()))
        except psycopg.errors.UniqueViolation as exc:
            raise NameTaken(org.name) from exc
        return org

    def organisations(self) -> list[Organisation]:
        with self._db.transaction() as conn:
            rows = conn.execute("SELECT id, name FROM organisations ORDER BY name").fetchall()
        return [Organisation(*row) for row in rows]

    def organisation(self, organisation_id: str) -> Organisation | None:
        with self._db.transaction() as conn:
            row = conn.execute("SELECT id, name FROM organisations WHERE id = %s", (organisation_id,)).fetchone()
        return Organisation(*row) if row else None

    def create_key(self, role: Role, organisation_id: str | None = None, label: str = "") -> tuple[KeyInfo, str]:
        key = new_key(role, organisation_id, label)
        with self._db.transaction() as conn:
            # The organisation is checked in the transaction that inserts, and the foreign key
            # refuses one deleted meanwhile.
            if role is Role.member and (organisation_id is None or conn.execute(
                    "SELECT 1 FROM organisations WHERE id = %s", (organisation_id,)).fetchone() is None):
                raise UnknownOrganisation(organisation_id)
            conn.execute(
                "INSERT INTO api_keys (id, secret_sha256, role, organisation_id, label, created_at)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (key.info.id, key.digest, role.value, key.info.organisation_id, label, key.info.created_at),
            )
        return key.info, key.presented

    def revoke_key(self, key_id: str) -> bool:
        with self._db.transaction() as conn:
            cursor = conn.execute("UPDATE api_keys SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
                                  (timestamp(), key_id))
            return cursor.rowcount == 1

    def keys(self, organisation_id: str | None = None) -> list[KeyInfo]:
        with self._db.transaction() as conn:
            rows = (
                conn.execute(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE organisation_id = %s"
                             " ORDER BY created_at, seq", (organisation_id,))
                if organisation_id
                else conn.execute(f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY created_at, seq")
            ).fetchall()
        return [KeyInfo(r[0], Role(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    def key(self, key_id: str) -> KeyInfo | None:
        with self._db.transaction() as conn:
            r = conn.execute(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE id = %s", (key_id,)).fetchone()
        return None if r is None else KeyInfo(r[0], Role(r[1]), r[2], r[3], r[4], r[5])

    def authenticate(self, presented: str) -> Principal | None:
        parsed = presented_key(presented)
        if parsed is None:
            return None
        with self._db.transaction() as conn:
            row = conn.execute("SELECT secret_sha256, role, organisation_id, revoked_at FROM api_keys WHERE id = %s",
                               (parsed[0],)).fetchone()
        return principal_for(*parsed, row)

    def ping(self) -> bool:
        with self._db.transaction() as conn:
            return conn.execute("SELECT 1").fetchone() is not None

    def close(self) -> None:
        self._db.close()
