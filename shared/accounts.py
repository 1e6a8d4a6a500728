"""Organisations, API keys and roles: who may read and write an organisation's spend.

Keys look like `smk_<key id>_<secret>`. Only a SHA-256 of the secret is stored: the secret is 32
random bytes, so a fast hash is as safe as a slow one here (there is nothing to brute-force),
and a stolen database yields no usable key. The key id lets a lookup find the row without
scanning, and the comparison is constant-time.

The store is a port (`AccountStore`) with two adapters chosen by `ACCOUNTS_URL`
(`open_account_store`): a SQLite file (`sqlite:///var/accounts.db`, the default, for one
machine) and PostgreSQL (`postgresql://…`, `shared/accounts_postgres.py`), which every service
of a distributed deployment shares, so a key made through one authenticates in all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Protocol

from shared.sqlite import ThreadConnections, sqlite_file
from shared.store_urls import is_postgres_url

KEY_PREFIX = "smk"


class Role(str, Enum):
    admin = "admin"  # manages organisations and keys; may read any organisation
    member = "member"  # reads and writes its own organisation's spend, targets and pipeline


@dataclass(frozen=True)
class Principal:
    """Who a request is: the key's role and, for members, its organisation."""

    key_id: str
    role: Role
    organisation_id: str | None

    def may_access(self, organisation_id: str) -> bool:
        return self.role is Role.admin or self.organisation_id == organisation_id


@dataclass(frozen=True)
class Organisation:
    id: str
    name: str


@dataclass(frozen=True)
class KeyInfo:
    id: str
    role: Role
    organisation_id: str | None
    label: str
    created_at: str
    revoked_at: str | None


class UnknownOrganisation(LookupError):
    pass


class NameTaken(ValueError):
    """Another organisation has this name (names are unique, so people can tell them apart)."""


SCHEMA = """
CREATE TABLE IF NOT EXISTS organisations (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, secret_sha256 TEXT NOT NULL, role TEXT NOT NULL,
    organisation_id TEXT REFERENCES organisations(id), label TEXT NOT NULL,
    created_at TEXT NOT NULL, revoked_at TEXT,
    CHECK (role IN ('admin', 'member')),
    CHECK ((role = 'member') = (organisation_id IS NOT NULL)));
"""


KEY_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
MAX_KEY_LENGTH = 200


def is_key_shaped(presented: str) -> bool:
    """Whether a presented key could be one this store issued (URL-safe characters, not too long).
    Anything else is refused before it reaches the database, a log line or another service's
    header (which must be ASCII)."""
    return 0 < len(presented.strip()) <= MAX_KEY_LENGTH and set(presented.strip()) <= KEY_CHARACTERS


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class AccountStore(Protocol):
    """Organisations and their keys: who a presented key is."""

    def create_organisation(self, name: str) -> Organisation:
        """A new organisation; `NameTaken` when another has this name."""

    def organisations(self) -> list[Organisation]: ...

    def organisation(self, organisation_id: str) -> Organisation | None: ...

    def create_key(self, role: Role, organisation_id: str | None = None, label: str = "") -> tuple[KeyInfo, str]:
        """A new key; the returned secret is shown once and never stored. `UnknownOrganisation`
        when a member key names no organisation or one that does not exist."""

    def revoke_key(self, key_id: str) -> bool:
        """Revoke a key; False when it is unknown or already revoked."""

    def keys(self, organisation_id: str | None = None) -> list[KeyInfo]:
        """Keys in the order they were made, of one organisation or of all."""

    def key(self, key_id: str) -> KeyInfo | None: ...

    def authenticate(self, presented: str) -> Principal | None:
        """The principal for a presented key, or None for a malformed, unknown or revoked one."""

    def ping(self) -> bool:
        """Whether the store answers: a service that cannot check keys is not ready."""

    def close(self) -> None: ...


def open_account_store(url: str) -> AccountStore:
    """The adapter `url` names: `postgresql://…`, else a SQLite file (`sqlite:///path` or a path)."""
    if is_postgres_url(url):
        from shared.accounts_postgres import PostgresAccountStore  # psycopg only where it is used

        return PostgresAccountStore(url)
    return SqliteAccountStore(sqlite_file(url))


def new_organisation(name: str) -> Organisation:
    return Organisation(id=f"org_{uuid.uuid4().hex[:12]}", name=name.strip())


@dataclass(frozen=True)
class NewKey:
    """A key about to be stored: its row (with the secret's digest) and the key shown once."""

    info: KeyInfo
    digest: str
    presented: str


def new_key(role: Role, organisation_id: str | None, label: str) -> NewKey:
    key_id, secret = uuid.uuid4().hex[:16], secrets.token_urlsafe(32)
    info = KeyInfo(key_id, role, organisation_id if role is Role.member else None, label, timestamp(), None)
    return NewKey(info, _digest(secret), f"{KEY_PREFIX}_{key_id}_{secret}")


def presented_key(presented: str) -> tuple[str, str] | None:
    """(key id, secret) of a key this store could have issued, else None: nothing else is looked up."""
    parts = presented.strip().split("_", 2)
    if not is_key_shaped(presented) or len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    return parts[1], parts[2]


def principal_for(key_id: str, secret: str, row: tuple[str, str, str | None, str | None] | None) -> Principal | None:
    """The principal when `row` (digest, role, organisation, revoked_at) is a live key with this secret."""
    if row is None or row[3] is not None or not hmac.compare_digest(row[0], _digest(secret)):
        return None
    return Principal(key_id, Role(row[1]), row[2])


class SqliteAccountStore:
    """Accounts in one SQLite file: a few organisations and keys on one machine."""

    def __init__(self, path: str) -> None:
        self._conns = ThreadConnections(path, "FULL", setup=_foreign_keys)
        self._conn().executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        return self._conns.get()

    def create_organisation(self, name: str) -> Organisation:
        org = new_organisation(name)
        try:
            self._conn().execute("INSERT INTO organisations VALUES (?, ?, ?)", (org.id, org.name, timestamp()))
        except sqlite3.IntegrityError as exc:
            raise NameTaken(org.name) from exc
        return org

    def organisations(self) -> list[Organisation]:
        rows = self._conn().execute("SELECT id, name FROM organisations ORDER BY name").fetchall()
        return [Organisation(*row) for row in rows]

    def organisation(self, organisation_id: str) -> Organisation | None:
        row = self._conn().execute("SELECT id, name FROM organisations WHERE id = ?", (organisation_id,)).fetchone()
        return Organisation(*row) if row else None

    def create_key(self, role: Role, organisation_id: str | None = None, label: str = "") -> tuple[KeyInfo, str]:
        if role is Role.member and (organisation_id is None or self.organisation(organisation_id) is None):
            raise UnknownOrganisation(organisation_id)
        key = new_key(role, organisation_id, label)
        self._conn().execute(
            "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, NULL)",
            (key.info.id, key.digest, role.value, key.info.organisation_id, label, key.info.created_at),
        )
        return key.info, key.presented

    def revoke_key(self, key_id: str) -> bool:
        cursor = self._conn().execute(
            "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (timestamp(), key_id)
        )
        return cursor.rowcount == 1

    def keys(self, organisation_id: str | None = None) -> list[KeyInfo]:
        sql = "SELECT id, role, organisation_id, label, created_at, revoked_at FROM api_keys"
        rows = (
            self._conn().execute(sql + " WHERE organisation_id = ? ORDER BY created_at", (organisation_id,))
            if organisation_id
            else self._conn().execute(sql + " ORDER BY created_at")
        ).fetchall()
        return [KeyInfo(r[0], Role(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    def key(self, key_id: str) -> KeyInfo | None:
        return next((k for k in self.keys() if k.id == key_id), None)

    def authenticate(self, presented: str) -> Principal | None:
        parsed = presented_key(presented)
        if parsed is None:
            return None
        row = self._conn().execute(
            "SELECT secret_sha256, role, organisation_id, revoked_at FROM api_keys WHERE id = ?", (parsed[0],)
        ).fetchone()
        return principal_for(*parsed, row)

    def ping(self) -> bool:
        return self._conn().execute("SELECT 1").fetchone() is not None

    def close(self) -> None:
        self._conns.close_all()


def _foreign_keys(conn: sqlite3.Connection) -> None:
    """Keys belong to organisations; SQLite checks that only when asked, per connection."""
    conn.execute("PRAGMA foreign_keys=ON")
