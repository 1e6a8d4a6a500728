"""Spend records (the `spend` topic): validated like listings, stored by organisation + reference.

The search port is shaped for listings, so spend goes to a small store behind its own port
(`SpendStore`), for now a table in the ingest state file: durable, idempotent by key, and
enough for `/targets` to sum an organisation's spend. A search-index-backed store can replace
it behind the same port when spend needs searching.

A payment names its supplier by directory id, or by name and registry number; the latter is
linked to the organisation registry's cluster when the number is known, and kept unlinked
(with the name) otherwise, to be linked when that supplier is listed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from services.ingest.dedupe import registry_number
from services.ingest.pipeline import Rejection, validation_errors
from shared.events.envelope import split_provenance
from shared.events.port import Message
from shared.models import SpendRecord
from shared.search.embedded_sqlite import transaction

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS spend (key TEXT PRIMARY KEY, organisation TEXT NOT NULL, supplier_id TEXT,"
    " linked INTEGER NOT NULL, amount_pence INTEGER NOT NULL, date TEXT NOT NULL, record TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS spend_organisation ON spend (organisation, date)",
)


class SpendStore(Protocol):
    def upsert(self, records: Sequence[tuple[SpendRecord, str | None]]) -> int:
        """Store (record, linked supplier id) pairs by key; a repeated key replaces. Returns written."""

    def get(self, organisation: str, reference: str) -> dict[str, Any] | None: ...

    def total_pence(self, organisation: str) -> int: ...


class SqliteSpendStore:
    """`SpendStore` as one table in the ingest state file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=10000")
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

    def total_pence(self, organisation: str) -> int:
        row = self._conn.execute("SELECT coalesce(sum(amount_pence), 0) FROM spend WHERE organisation = ?",
                                 (organisation,)).fetchone()
        return int(row[0])

    def close(self) -> None:
        self._conn.close()


class SupplierLinker(Protocol):
    def cluster_for_number(self, kind: str, number: str) -> str | None: ...


def link(record: SpendRecord, linker: SupplierLinker | None) -> str | None:
    """The directory id of the supplier a name-and-number record pays, when the number is listed."""
    if record.supplier_id or linker is None:
        return None
    for kind, number in (("company", record.supplier_company_number), ("charity", record.supplier_charity_number)):
        if number and (found := linker.cluster_for_number(kind, registry_number(kind, number))):
            return found
    return None


def plan_spend(messages: Sequence[Message]) -> tuple[dict[str, SpendRecord], list[Rejection]]:
    """Valid records by key (the last one of a key in the batch wins), and rejections."""
    valid: dict[str, SpendRecord] = {}
    rejections: list[Rejection] = []
    for message in messages:
        raw, _ = split_provenance(message.value)
        if not isinstance(raw, dict):
            rejections.append(Rejection(message, "not a JSON object"))
            continue
        try:
            record = SpendRecord.model_validate(raw)
        except ValidationError as exc:
            rejections.append(Rejection(message, "spend record failed validation", validation_errors(exc)))
            continue
        valid[record.key] = record
    return valid, rejections
