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
    store.decide(record("F").key, "t:1", "reject", "member")
    assert [e.record.reference for e in store.awaiting_link("", 10)] == ["D", "E", "G"]
    assert [e.record.reference for e in store.awaiting_link(record("D").key, 1)] == ["E"]
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


def test_two_suppliers_invoices_with_one_number_are_two_records(tmp_path: Path) -> None:
    store = SqliteSpendStore(tmp_path / "spend.db")
    social = record("INV-1001", supplier_id="t:1", amount_pence=500_000)
    travis = record("INV-1001", supplier_name="Travis Perkins", amount_pence=1_000_000)
    store.upsert([(social, None), (travis, None)])
    assert sorted(e.record.amount_pence for e in store.with_reference("org", "INV-1001")) == [500_000, 1_000_000]
    assert store.total_pence("org") == 1_500_000
    # The same supplier's invoice sent again is the same record, whatever the case and spacing of its name.
    store.upsert([(record("INV-1001", supplier_name="travis  perkins", amount_pence=900_000), None)])
    assert store.total_pence("org") == 1_400_000
    assert set(store.records([social.key, travis.key, record("X").key])) == {social.key, travis.key}


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
