"""Organisations, API keys and roles: who may read and write an organisation's spend.

Keys look like `smk_<key id>_<secret>`. Only a SHA-256 of the secret is stored: the secret is 32
random bytes, so a fast hash is as safe as a slow one here (there is nothing to brute-force),
and a stolen database yields no usable key. The key id lets a lookup find the row without
scanning, and the comparison is constant-time.

The store is SQLite (`ACCOUNTS_URL`, default `sqlite:///var/accounts.db`) for every deployment:
a few organisations and keys need no cluster, only durability and one writer at a time.
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

from shared.sqlite import ThreadConnections

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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class AccountStore:
    def __init__(self, path: str) -> None:
        self._conns = ThreadConnections(path, "FULL", setup=_foreign_keys)
        self._conn().executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        return self._conns.get()

    def create_organisation(self, name: str) -> Organisation:
        org = Organisation(id=f"org_{uuid.uuid4().hex[:12]}", name=name.strip())
        self._conn().execute("INSERT INTO organisations VALUES (?, ?, ?)", (org.id, org.name, _now()))
        return org

    def organisations(self) -> list[Organisation]:
        rows = self._conn().execute("SELECT id, name FROM organisations ORDER BY name").fetchall()
        return [Organisation(*row) for row in rows]

    def organisation(self, organisation_id: str) -> Organisation | None:
        row = self._conn().execute("SELECT id, name FROM organisations WHERE id = ?", (organisation_id,)).fetchone()
        return Organisation(*row) if row else None

    def create_key(self, role: Role, organisation_id: str | None = None, label: str = "") -> tuple[KeyInfo, str]:
        """A new key; the returned secret is shown once and never stored."""
        if role is Role.member and (organisation_id is None or self.organisation(organisation_id) is None):
            raise UnknownOrganisation(organisation_id)
        key_id, secret = uuid.uuid4().hex[:16], secrets.token_urlsafe(32)
        info = KeyInfo(key_id, role, organisation_id if role is Role.member else None, label, _now(), None)
        self._conn().execute(
            "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, NULL)",
            (info.id, _digest(secret), role.value, info.organisation_id, label, info.created_at),
        )
        return info, f"{KEY_PREFIX}_{key_id}_{secret}"

    def revoke_key(self, key_id: str) -> bool:
        cursor = self._conn().execute(
            "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (_now(), key_id)
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
        """The principal for a presented key, or None for a malformed, unknown or revoked one."""
        parts = presented.strip().split("_", 2)
        if not is_key_shaped(presented) or len(parts) != 3 or parts[0] != KEY_PREFIX:
            return None
        row = self._conn().execute(
            "SELECT secret_sha256, role, organisation_id, revoked_at FROM api_keys WHERE id = ?", (parts[1],)
        ).fetchone()
        if row is None or row[3] is not None or not hmac.compare_digest(row[0], _digest(parts[2])):
            return None
        return Principal(parts[1], Role(row[1]), row[2])

    def close(self) -> None:
        self._conns.close_all()


def _foreign_keys(conn: sqlite3.Connection) -> None:
    """Keys belong to organisations; SQLite checks that only when asked, per connection."""
    conn.execute("PRAGMA foreign_keys=ON")
