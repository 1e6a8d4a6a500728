"""The spend ledger's contract: every test runs on SQLite and on PostgreSQL (`state_location`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from shared.limits import MAX_AMOUNT_PENCE
from shared.models import SpendRecord
from shared.spend_store import Candidate, SpendStore, SupplierLink, open_spend_store


@pytest.fixture
def store(state_location: str) -> Iterator[SpendStore]:
    store = open_spend_store(state_location)
    yield store
    store.close()


def record(reference: str, **fields: object) -> SpendRecord:
    return SpendRecord.model_validate({"organisation": "org", "reference": reference, "amount_pence": 100,
                                       "date": "2025-05-01", "supplier_name": "Someone", **fields})


def test_waiting_means_unlinked_or_suggested_and_undecided_in_key_order(store: SpendStore) -> None:
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


def test_two_suppliers_invoices_with_one_number_are_two_records(store: SpendStore) -> None:
    social = record("INV-1001", supplier_id="t:1", amount_pence=500_000)
    travis = record("INV-1001", supplier_name="Travis Perkins", amount_pence=1_000_000)
    store.upsert([(social, None), (travis, None)])
    assert sorted(e.record.amount_pence for e in store.with_reference("org", "INV-1001")) == [500_000, 1_000_000]
    assert store.total_pence("org") == 1_500_000
    # The same supplier's invoice sent again is the same record, whatever the case and spacing of its name.
    store.upsert([(record("INV-1001", supplier_name="travis  perkins", amount_pence=900_000), None)])
    assert store.total_pence("org") == 1_400_000
    assert set(store.records([social.key, travis.key, record("X").key])) == {social.key, travis.key}


def test_sums_are_exact_in_pence_far_beyond_32_bits_and_credit_notes_subtract(store: SpendStore) -> None:
    store.upsert([(record(f"R{n}", amount_pence=MAX_AMOUNT_PENCE - n), None) for n in range(7)])
    store.upsert([(record("CREDIT", amount_pence=-MAX_AMOUNT_PENCE), None), (record("X", organisation="other"), None)])
    assert store.total_pence("org") == 6 * MAX_AMOUNT_PENCE - sum(range(7))
    assert store.total_pence("nobody") == 0


def test_entries_are_by_date_then_key_within_inclusive_bounds(store: SpendStore) -> None:
    store.upsert([(record("late", date="2025-12-31"), None), (record("b", date="2025-01-01"), None),
                  (record("a", date="2025-01-01"), None), (record("old", date="1900-01-01"), None),
                  (record("far", date="2199-12-31"), None)])
    assert [e.record.reference for e in store.entries("org")] == ["old", "a", "b", "late", "far"]
    within = store.entries("org", date(2025, 1, 1), date(2025, 12, 31))
    assert [e.record.reference for e in within] == ["a", "b", "late"]
    assert store.entries("org", date(2026, 1, 1), date(2026, 1, 2)) == []


def test_a_decision_outlives_the_record_being_sent_again_and_can_be_undone(store: SpendStore) -> None:
    suggestion = SupplierLink("t:1", "unconfirmed", (Candidate("t:1", "Someone CIC", 90.0, True),))
    store.upsert([(record("A"), suggestion)])
    store.decide(record("A").key, "t:1", "confirm", "member")
    store.upsert([(record("A", amount_pence=250), suggestion)])  # re-sent: the row is rewritten
    entry = store.entry(record("A").key)
    assert entry is not None and (entry.link_status, entry.linked_supplier_id) == ("confirmed", "t:1")
    assert entry.decision is not None and entry.decision.decided_by == "member" and entry.record.amount_pence == 250
    store.decide(record("A").key, "t:1", "reject", "someone else")  # the latest decision stands
    assert (store.entry(record("A").key) or entry).link_status == "rejected"
    assert store.undecide(record("A").key) and not store.undecide(record("A").key)
    assert (store.entry(record("A").key) or entry).link_status == "unconfirmed"
    assert store.entry(record("missing").key) is None


def test_any_text_in_a_record_is_kept_and_found_as_sent(store: SpendStore) -> None:
    """A NUL or backslash in a reference or supplier id (SQLite keeps them; PostgreSQL's text type
    refuses NUL, so its adapter escapes it) is stored, found by reference and read back exactly."""
    odd = record("INV\x00\\0\\", supplier_id="t:\x00\\", organisation="org\\")
    store.upsert([(odd, None), (record("INV\x00"), None)])
    [found] = store.with_reference("org\\", "INV\x00\\0\\")
    assert found.record == odd and found.linked_supplier_id == "t:\x00\\"
    assert [e.record.reference for e in store.with_reference("org", "INV\x00")] == ["INV\x00"]


def test_a_second_store_on_the_same_location_sees_what_the_first_wrote(state_location: str) -> None:
    """The consumer writes, the matcher reads: two processes, one ledger."""
    writer, reader = open_spend_store(state_location), open_spend_store(state_location)
    try:
        writer.upsert([(record("A", amount_pence=1234), None)])
        assert reader.total_pence("org") == 1234
    finally:
        writer.close()
        reader.close()
