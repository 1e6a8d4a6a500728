"""The spend ledger's storage: ingest writes spend records here, the matcher's targets read them.

A port (`SpendStore`) with two adapters chosen by `SPEND_URL` (`open_spend_store`): a SQLite
file on one machine (the default, beside the embedded event log; see
`BackendSettings.spend_location`) and PostgreSQL (`postgresql://…`, `spend_store_postgres.py`),
which the consumer and the matcher of a distributed deployment share. Spend is small (an
organisation's invoices, not the directory) and needs exact sums in integer pence and
idempotent upserts by key, not full-text search.

A record's key is its organisation, supplier and reference (`SpendRecord.key`), so two suppliers'
invoices with one number are two records. A store written when the key was organisation and
reference alone is re-keyed once, when it opens.

Each record keeps how its supplier was linked (`LinkStatus`). A link by name that is not near
certain is stored as a suggestion ("unconfirmed", with its candidates) and counts as addressable
spend only, until a member of the organisation confirms or rejects it. Those decisions live in
their own table, keyed by record, so a re-sent record (which rewrites its row) never undoes them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from shared.models import SpendRecord
from shared.sqlite import ThreadConnections, sqlite_file, transaction
from shared.store_urls import is_postgres_url

LinkStatus = Literal["id", "number", "name", "unconfirmed", "unlinked", "confirmed", "rejected"]
"""How a record's supplier is linked: by the payer's directory id, by a registry number, by a
near-certain name match, a name suggestion awaiting a person, nothing found, or a person's decision."""
LINK_STATUSES: tuple[LinkStatus, ...] = ("id", "number", "name", "unconfirmed", "unlinked", "confirmed", "rejected")
COUNTED: frozenset[LinkStatus] = frozenset({"id", "number", "name", "confirmed"})
DECIDABLE: frozenset[LinkStatus] = frozenset({"name", "unconfirmed", "unlinked", "confirmed", "rejected"})
Decision = Literal["confirm", "reject"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS spend (key TEXT PRIMARY KEY, organisation TEXT NOT NULL, supplier_id TEXT,"
    " linked INTEGER NOT NULL, amount_pence INTEGER NOT NULL, date TEXT NOT NULL, record TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS spend_organisation ON spend (organisation, date)",
    "CREATE TABLE IF NOT EXISTS link_decisions (key TEXT PRIMARY KEY, supplier_id TEXT NOT NULL,"
    " decision TEXT NOT NULL, decided_by TEXT NOT NULL, decided_at TEXT NOT NULL)",
)
# Columns added after the first release: a store written before them gains them on open.
_ADDED_COLUMNS = (("link_status", "TEXT"), ("candidates", "TEXT"))


@dataclass(frozen=True)
class Candidate:
    """A directory listing a supplier name might mean, with its name score (0-100) and whether its
    place agrees with the record's postcode (None: the record gave none, or either is unknown)."""

    supplier_id: str
    name: str
    score: float
    place_agrees: bool | None = None


@dataclass(frozen=True)
class SupplierLink:
    """Ingest's answer for one record: the supplier it links (or suggests) and how."""

    supplier_id: str | None
    status: LinkStatus
    candidates: tuple[Candidate, ...] = ()


@dataclass(frozen=True)
class LinkDecision:
    supplier_id: str
    decision: Decision
    decided_by: str
    decided_at: str


@dataclass(frozen=True)
class StoredSpend:
    """A spend record as stored: the listing it counts for (if any), how that was decided, and the
    suggestion and candidates when a person still has to confirm a link by name."""

    record: SpendRecord
    linked_supplier_id: str | None
    link_status: LinkStatus = "id"
    suggested_supplier_id: str | None = None
    candidates: tuple[Candidate, ...] = ()
    decision: LinkDecision | None = None


Linked = str | SupplierLink | None
"""What `upsert` takes beside a record: a linked listing id, None, or ingest's full answer."""


class SpendStore(Protocol):
    def upsert(self, records: Sequence[tuple[SpendRecord, Linked]]) -> int:
        """Store (record, link) pairs by key; a repeated key replaces (decisions stay). Returns written."""

    def records(self, keys: Sequence[str]) -> dict[str, SpendRecord]:
        """The stored records among `keys`: what a new upload is compared with."""

    def entry(self, key: str) -> StoredSpend | None: ...

    def with_reference(self, organisation: str, reference: str) -> list[StoredSpend]:
        """An organisation's records with this reference: one per supplier that used it."""

    def entries(self, organisation: str, start: date | None = None, end: date | None = None) -> list[StoredSpend]:
        """An organisation's records, optionally within [start, end], ordered by date then reference."""

    def awaiting_link(self, after: str, limit: int) -> list[StoredSpend]:
        """Records whose supplier is unlinked or only suggested and that no person has decided on,
        in key order after the key `after`: what may link once the directory changes."""

    def decide(self, key: str, supplier_id: str, decision: Decision, decided_by: str) -> None:
        """Remember a person's decision on a record's link by name; the latest one stands."""

    def undecide(self, key: str) -> bool:
        """Forget the decision on a record (undo), so its link is ingest's again. False: none was made."""

    def total_pence(self, organisation: str) -> int: ...

    def close(self) -> None: ...


def open_spend_store(location: str | Path) -> SpendStore:
    """The adapter `location` names: `postgresql://…`, else a SQLite file (`sqlite:///path` or a path)."""
    if isinstance(location, str) and is_postgres_url(location):
        from shared.spend_store_postgres import PostgresSpendStore  # psycopg only where it is used

        return PostgresSpendStore(location)
    return SqliteSpendStore(Path(sqlite_file(str(location))))


def link_row(record: SpendRecord, linked: Linked) -> tuple[SupplierLink, str]:
    """The link a record is stored with, and its candidates as stored (JSON)."""
    link = as_link(record, linked)
    return link, json.dumps([asdict(c) for c in link.candidates])


def as_link(record: SpendRecord, linked: Linked) -> SupplierLink:
    """A bare id (or None) as the link it always meant: the payer's id, else a registry number."""
    if isinstance(linked, SupplierLink):
        return linked
    if record.supplier_id is not None:
        return SupplierLink(linked or record.supplier_id, "id")
    return SupplierLink(linked, "number") if linked else SupplierLink(None, "unlinked")


def resolve(link: SupplierLink, decision: LinkDecision | None) -> tuple[str | None, LinkStatus]:
    """The listing a record counts for, and its status, once a person's decision is applied.

    The payer's own id and a registry number are facts, not guesses: a decision never overrides
    them. A confirmation links the chosen listing; a rejection unlinks the listing it rejects
    (and is moot when a re-sent record now points elsewhere).
    """
    if link.status not in DECIDABLE or decision is None:
        return (link.supplier_id if link.status in COUNTED else None), link.status
    if decision.decision == "confirm":
        return decision.supplier_id, "confirmed"
    if decision.supplier_id == link.supplier_id:
        return None, "rejected"
    return (link.supplier_id if link.status in COUNTED else None), link.status


class SqliteSpendStore:
    """The ledger in one SQLite file, for one machine."""

    def __init__(self, path: Path) -> None:
        # One connection per thread: the matcher's threaded workers read while the consumer writes.
        self._conns = ThreadConnections(str(path), "FULL")
        with transaction(self._conns.get(), "IMMEDIATE") as conn:
            for statement in _SCHEMA:
                conn.execute(statement)
            present = {row[1] for row in conn.execute("PRAGMA table_info(spend)")}
            for name, kind in _ADDED_COLUMNS:
                if name not in present:
                    conn.execute(f"ALTER TABLE spend ADD COLUMN {name} {kind}")
            # Rows written before link statuses existed: `linked` alone said whether they counted.
            conn.execute(
                "UPDATE spend SET link_status = CASE WHEN json_extract(record, '$.supplier_id') IS NOT NULL"
                " THEN 'id' WHEN linked THEN 'number' ELSE 'unlinked' END WHERE link_status IS NULL"
            )
            _rekey(conn)

    def upsert(self, records: Sequence[tuple[SpendRecord, Linked]]) -> int:
        rows = []
        for record, linked in records:
            link, candidates = link_row(record, linked)
            rows.append(
                (
                    record.key,
                    record.organisation,
                    link.supplier_id,
                    int(link.status in COUNTED),
                    record.amount_pence,
                    record.date.isoformat(),
                    record.model_dump_json(),
                    link.status,
                    candidates,
                )
            )
        with transaction(self._conns.get(), "IMMEDIATE") as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO spend (key, organisation, supplier_id, linked, amount_pence,"
                " date, record, link_status, candidates) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(records)

    def records(self, keys: Sequence[str]) -> dict[str, SpendRecord]:
        found: dict[str, SpendRecord] = {}
        conn = self._conns.get()
        for start in range(0, len(keys), 500):  # SQLite's limit on bound parameters
            chunk = list(keys[start:start + 500])
            rows = conn.execute(
                f"SELECT key, record FROM spend WHERE key IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
            found.update((key, SpendRecord.model_validate_json(record)) for key, record in rows)
        return found

    def entry(self, key: str) -> StoredSpend | None:
        rows = self._select("s.key = ?", (key,))
        return rows[0] if rows else None

    def with_reference(self, organisation: str, reference: str) -> list[StoredSpend]:
        # The key ends with the reference as a JSON string (`SpendRecord.key`), and `,"` never occurs
        # inside one, so the suffix is the reference exactly; json_extract() would lose one holding a NUL.
        suffix = f",{json.dumps(reference, ensure_ascii=False)}]"
        return self._select("s.organisation = ? AND substr(s.key, -?) = ?", (organisation, len(suffix), suffix))

    def entries(self, organisation: str, start: date | None = None, end: date | None = None) -> list[StoredSpend]:
        return self._select(
            "s.organisation = ? AND s.date >= ? AND s.date <= ?",
            (organisation, (start or date.min).isoformat(), (end or date.max).isoformat()),
        )

    def awaiting_link(self, after: str, limit: int) -> list[StoredSpend]:
        return self._select(
            "s.key > ? AND d.key IS NULL AND s.link_status IN ('unlinked', 'unconfirmed')",
            (after,), order="s.key", limit=limit,
        )

    def _select(
        self, where: str, args: tuple[str | int, ...], order: str = "s.date, s.key", limit: int = -1
    ) -> list[StoredSpend]:
        rows = self._conns.get().execute(
            "SELECT s.record, s.supplier_id, s.linked, s.link_status, s.candidates, d.supplier_id, d.decision,"
            " d.decided_by, d.decided_at FROM spend s LEFT JOIN link_decisions d ON d.key = s.key"
            f" WHERE {where} ORDER BY {order} LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [stored_spend(row) for row in rows]

    def decide(self, key: str, supplier_id: str, decision: Decision, decided_by: str) -> None:
        self._conns.get().execute(
            "INSERT OR REPLACE INTO link_decisions VALUES (?, ?, ?, ?, ?)",
            (
                key,
                supplier_id,
                decision,
                decided_by,
                datetime.now(UTC).isoformat(timespec="seconds"),
            ),
        )

    def undecide(self, key: str) -> bool:
        return self._conns.get().execute("DELETE FROM link_decisions WHERE key = ?", (key,)).rowcount == 1

    def total_pence(self, organisation: str) -> int:
        row = self._conns.get().execute(
            "SELECT coalesce(sum(amount_pence), 0) FROM spend WHERE organisation = ?", (organisation,)
        ).fetchone()
        return int(row[0])

    def close(self) -> None:
        self._conns.close_all()


def _rekey(conn: sqlite3.Connection) -> None:
    """Rows keyed `organisation:reference` (before the supplier was part of the key) take the
    record's own key, and so do their decisions. Old keys were unique per reference, so no two
    rows can collide on the new ones."""
    old = conn.execute("SELECT key, record FROM spend WHERE key NOT LIKE '[%'").fetchall()
    for key, record in old:
        new = SpendRecord.model_validate_json(record).key
        conn.execute("UPDATE spend SET key = ? WHERE key = ?", (new, key))
        conn.execute("UPDATE link_decisions SET key = ? WHERE key = ?", (new, key))


def stored_spend(row: tuple[Any, ...]) -> StoredSpend:
    """A row of (record, supplier id, linked, link status, candidates, and the decision's supplier
    id, decision, decided by, decided at) as the stored record with its decision applied."""
    record = SpendRecord.model_validate_json(row[0])
    status: LinkStatus = row[3]  # set for every row: older rows gain theirs when the store opens
    link = SupplierLink(row[1], status, tuple(Candidate(**c) for c in json.loads(row[4] or "[]")))
    decision = LinkDecision(row[5], row[6], row[7], row[8]) if row[5] is not None else None
    linked, resolved = resolve(link, decision)
    return StoredSpend(
        record, linked, resolved, link.supplier_id if status in DECIDABLE else None, link.candidates, decision
    )
