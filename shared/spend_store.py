"""The spend ledger's storage: ingest writes spend records here, the matcher's targets read them.

A port (`SpendStore`) with one adapter, SQLite, for every deployment for now: spend is small
(an organisation's invoices, not the directory) and needs exact sums and idempotent upserts by
key, not full-text search. A search-index-backed adapter can replace it behind the same port
when spend needs searching. The file is `SPEND_URL` (see `BackendSettings.spend_path`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from shared.models import SpendRecord
from shared.search.embedded_sqlite import transaction

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS spend (key TEXT PRIMARY KEY, organisation TEXT NOT NULL, supplier_id TEXT,"
    " linked INTEGER NOT NULL, amount_pence INTEGER NOT NULL, date TEXT NOT NULL, record TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS spend_organisation ON spend (organisation, date)",
)


@dataclass(frozen=True)
class StoredSpend:
    """A spend record as stored, with the directory listing it was linked to (if any)."""

    record: SpendRecord
    linked_supplier_id: str | None


class SpendStore(Protocol):
    def upsert(self, records: Sequence[tuple[SpendRecord, str | None]]) -> int:
        """Store (record, linked supplier id) pairs by key; a repeated key replaces. Returns written."""

    def get(self, organisation: str, reference: str) -> dict[str, Any] | None: ...

    def entries(self, organisation: str, start: date | None = None, end: date | None = None) -> list[StoredSpend]:
        """An organisation's records, optionally within [start, end], ordered by date then reference."""

    def total_pence(self, organisation: str) -> int: ...

    def close(self) -> None: ...


class SqliteSpendStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        self._conn.execute("PRAGMA journal_mode=WAL")
        for statement in _SCHEMA:
            self._conn.execute(statement)

    def upsert(self, records: Sequence[tuple[SpendRecord, str | None]]) -> int:
        with transaction(self._conn, "IMMEDIATE") as conn:
            conn.executemany("INSERT OR REPLACE INTO spend VALUES (?, ?, ?, ?, ?, ?, ?)", [
                (r.key, r.organisation, linked or r.supplier_id, int(linked is not None or r.supplier_id is not None),
                 r.amount_pence, r.date.isoformat(), r.model_dump_json()) for r, linked in records])
        return len(records)

    def get(self, organisation: str, reference: str) -> dict[str, Any] | None:
        row = self._conn.execute("SELECT record, supplier_id FROM spend WHERE key = ?",
                                 (f"{organisation}:{reference}",)).fetchone()
        return None if row is None else {**json.loads(row[0]), "linked_supplier_id": row[1]}

    def entries(self, organisation: str, start: date | None = None, end: date | None = None) -> list[StoredSpend]:
        rows = self._conn.execute(
            "SELECT record, supplier_id, linked FROM spend WHERE organisation = ? AND date >= ? AND date <= ?"
            " ORDER BY date, key",
            (organisation, (start or date.min).isoformat(), (end or date.max).isoformat()),
        ).fetchall()
        return [StoredSpend(SpendRecord.model_validate_json(r[0]), r[1] if r[2] else None) for r in rows]

    def total_pence(self, organisation: str) -> int:
        row = self._conn.execute("SELECT coalesce(sum(amount_pence), 0) FROM spend WHERE organisation = ?",
                                 (organisation,)).fetchone()
        return int(row[0])

    def close(self) -> None:
        self._conn.close()
