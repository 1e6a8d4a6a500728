"""The spend ledger in PostgreSQL (`SPEND_URL=postgresql://…`): the consumer writes it, the
matcher's targets and the ingest API read it, from any container of the deployment.

The same rows as the SQLite adapter, with types PostgreSQL checks: amounts are BIGINT pence (sums
exact), dates are DATE, and the reference has a column of its own rather than a JSON lookup.
Keys and ids sort by code point (`COLLATE "C"`), as in SQLite, so `awaiting_link`'s paging by key
visits the same records in the same order on both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from shared.models import SpendRecord
from shared.postgres import PostgresDatabase
from shared.spend_store import (
    COUNTED,
    Decision,
    Linked,
    StoredSpend,
    link_row,
    stored_spend,
)

MIGRATIONS = (
    """
    CREATE TABLE spend (
        key TEXT COLLATE "C" PRIMARY KEY, organisation TEXT COLLATE "C" NOT NULL,
        reference TEXT COLLATE "C" NOT NULL, supplier_id TEXT COLLATE "C", linked BOOLEAN NOT NULL,
        amount_pence BIGINT NOT NULL, date DATE NOT NULL, record TEXT NOT NULL,
        link_status TEXT NOT NULL, candidates TEXT NOT NULL);
    CREATE INDEX spend_organisation ON spend (organisation, date, key);
    CREATE INDEX spend_reference ON spend (organisation, reference);
    CREATE TABLE link_decisions (
        key TEXT COLLATE "C" PRIMARY KEY, supplier_id TEXT COLLATE "C" NOT NULL, decision TEXT NOT NULL,
        decided_by TEXT NOT NULL, decided_at TEXT NOT NULL);
    """,
)
_UPSERT = (
    "INSERT INTO spend (key, organisation, reference, supplier_id, linked, amount_pence, date, record,"
    " link_status, candidates) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (key) DO UPDATE SET organisation = excluded.organisation, reference = excluded.reference,"
    " supplier_id = excluded.supplier_id, linked = excluded.linked, amount_pence = excluded.amount_pence,"
    " date = excluded.date, record = excluded.record, link_status = excluded.link_status,"
    " candidates = excluded.candidates"
)
_SELECT = (
    "SELECT s.record, s.supplier_id, s.linked, s.link_status, s.candidates, d.supplier_id, d.decision,"
    " d.decided_by, d.decided_at FROM spend s LEFT JOIN link_decisions d ON d.key = s.key"
)


class PostgresSpendStore:
    def __init__(self, url: str) -> None:
        self._db = PostgresDatabase(url, "spend", MIGRATIONS)

    def upsert(self, records: Sequence[tuple[SpendRecord, Linked]]) -> int:
        rows = []
        for record, linked in records:
            link, candidates = link_row(record, linked)
            rows.append((record.key, record.organisation, record.reference, link.supplier_id,
                         link.status in COUNTED, record.amount_pence, record.date, record.model_dump_json(),
                         link.status, candidates))
        with self._db.transaction() as conn, conn.cursor() as cursor:
            cursor.executemany(_UPSERT, rows)
        return len(records)

    def records(self, keys: Sequence[str]) -> dict[str, SpendRecord]:
        with self._db.transaction() as conn:
            rows = conn.execute("SELECT key, record FROM spend WHERE key = ANY(%s)", (list(keys),)).fetchall()
        return {key: SpendRecord.model_validate_json(record) for key, record in rows}

    def entry(self, key: str) -> StoredSpend | None:
        rows = self._select("s.key = %s", (key,))
        return rows[0] if rows else None

    def with_reference(self, organisation: str, reference: str) -> list[StoredSpend]:
        return self._select("s.organisation = %s AND s.reference = %s", (organisation, reference))

    def entries(self, organisation: str, start: date | None = None, end: date | None = None) -> list[StoredSpend]:
        return self._select("s.organisation = %s AND s.date >= %s AND s.date <= %s",
                            (organisation, start or date.min, end or date.max))

    def awaiting_link(self, after: str, limit: int) -> list[StoredSpend]:
        return self._select("s.key > %s AND d.key IS NULL AND s.link_status IN ('unlinked', 'unconfirmed')",
                            (after,), order="s.key", limit=limit)

    def _select(self, where: str, args: tuple[Any, ...], order: str = "s.date, s.key",
                limit: int | None = None) -> list[StoredSpend]:
        with self._db.transaction() as conn:
            rows = conn.execute(f"{_SELECT} WHERE {where} ORDER BY {order} LIMIT %s", (*args, limit)).fetchall()
        return [stored_spend(row) for row in rows]

    def decide(self, key: str, supplier_id: str, decision: Decision, decided_by: str) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO link_decisions VALUES (%s, %s, %s, %s, %s) ON CONFLICT (key) DO UPDATE SET"
                " supplier_id = excluded.supplier_id, decision = excluded.decision,"
                " decided_by = excluded.decided_by, decided_at = excluded.decided_at",
                (key, supplier_id, decision, decided_by, datetime.now(UTC).isoformat(timespec="seconds")),
            )

    def undecide(self, key: str) -> bool:
        with self._db.transaction() as conn:
            return conn.execute("DELETE FROM link_decisions WHERE key = %s", (key,)).rowcount == 1

    def total_pence(self, organisation: str) -> int:
        with self._db.transaction() as conn:
            row = conn.execute("SELECT coalesce(sum(amount_pence), 0) FROM spend WHERE organisation = %s",
                               (organisation,)).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self._db.close()
