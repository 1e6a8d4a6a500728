"""The SQLite spend store's own upgrades of files written by earlier versions (the contract both
adapters keep is tests/contract/test_spend_store.py)."""

from __future__ import annotations

from pathlib import Path

from shared.models import SpendRecord
from shared.spend_store import Candidate, SqliteSpendStore, SupplierLink


def record(reference: str, **fields: object) -> SpendRecord:
    return SpendRecord.model_validate({"organisation": "org", "reference": reference, "amount_pence": 100,
                                       "date": "2025-05-01", "supplier_name": "Someone", **fields})


def test_rows_from_before_link_statuses_gain_them_and_wait_when_unlinked(tmp_path: Path) -> None:
    store = SqliteSpendStore(tmp_path / "spend.db")
    store.upsert([(record("A", supplier_id="t:9"), None), (record("B"), "t:2"), (record("C"), None)])
    store._conns.get().execute("UPDATE spend SET link_status = NULL, candidates = NULL")
    store.close()
    reopened = SqliteSpendStore(tmp_path / "spend.db")
    assert [e.record.reference for e in reopened.awaiting_link("", 10)] == ["C"]
    assert [e.link_status for e in reopened.entries("org")] == ["id", "number", "unlinked"]


def test_a_store_keyed_by_reference_alone_is_rekeyed_once_with_its_decisions(tmp_path: Path) -> None:
    store = SqliteSpendStore(tmp_path / "spend.db")
    old = record("B")
    store.upsert([(old, SupplierLink("t:1", "unconfirmed", (Candidate("t:1", "Someone CIC", 90.0),)))])
    store.decide(old.key, "t:1", "confirm", "member")
    conn = store._conns.get()
    conn.execute("UPDATE spend SET key = 'org:B'")
    conn.execute("UPDATE link_decisions SET key = 'org:B'")
    store.close()
    reopened = SqliteSpendStore(tmp_path / "spend.db")
    entry = reopened.entry(old.key)
    assert entry is not None and entry.link_status == "confirmed" and entry.linked_supplier_id == "t:1"
    assert reopened.undecide(old.key) and not reopened.undecide(old.key)
    assert (reopened.entry(old.key) or entry).link_status == "unconfirmed"
