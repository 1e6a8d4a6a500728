"""The spend store's list of records waiting for a supplier link: what re-linking reads."""

from __future__ import annotations

from pathlib import Path

from shared.models import SpendRecord
from shared.spend_store import Candidate, SqliteSpendStore, SupplierLink


def record(reference: str, **fields: object) -> SpendRecord:
    return SpendRecord.model_validate({"organisation": "org", "reference": reference, "amount_pence": 100,
                                       "date": "2025-05-01", "supplier_name": "Someone", **fields})


def test_waiting_means_unlinked_or_suggested_and_undecided_in_key_order(tmp_path: Path) -> None:
    store = SqliteSpendStore(tmp_path / "spend.db")
    suggestion = SupplierLink("t:1", "unconfirmed", (Candidate("t:1", "Someone CIC", 90.0),))
    store.upsert([
        (record("A", supplier_id="t:9"), None), (record("B"), "t:2"), (record("C"), SupplierLink("t:3", "name")),
        (record("D"), suggestion), (record("E"), None), (record("F"), suggestion), (record("G"), None),
    ])
    store.decide("org", "F", "t:1", "reject", "member")
    assert [e.record.reference for e in store.awaiting_link("", 10)] == ["D", "E", "G"]
    assert [e.record.reference for e in store.awaiting_link("org:D", 1)] == ["E"]
    [waiting] = store.awaiting_link("", 1)
    assert (waiting.suggested_supplier_id, waiting.link_status, waiting.candidates) == ("t:1", "unconfirmed",
                                                                                      suggestion.candidates)


def test_rows_from_before_link_statuses_gain_them_and_wait_when_unlinked(tmp_path: Path) -> None:
    store = SqliteSpendStore(tmp_path / "spend.db")
    store.upsert([(record("A", supplier_id="t:9"), None), (record("B"), "t:2"), (record("C"), None)])
    store._conns.get().execute("UPDATE spend SET link_status = NULL, candidates = NULL")
    store.close()
    reopened = SqliteSpendStore(tmp_path / "spend.db")
    assert [e.record.reference for e in reopened.awaiting_link("", 10)] == ["C"]
    assert [e.link_status for e in reopened.entries("org")] == ["id", "number", "unlinked"]
