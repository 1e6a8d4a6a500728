"""Linking a spend record's supplier by name: link only when near certain, suggest otherwise, and
a person's decision outlives a re-sent record."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from services.ingest.spend import link_all
from services.ingest.supplier_link import DirectoryNames, Listed, decide, name_score, supplier_place
from shared.models import SpendRecord
from shared.search.factory import open_search_index
from shared.spend_store import LinkDecision, SqliteSpendStore, SupplierLink, resolve
from tests.factories import BRADFORD, LEEDS, MANCHESTER, directory

SPARKLE = Listed("t:clean-leeds", "Sparkle Cleaning CIC", "LS1", LEEDS)
BRADFORD_COOP = Listed("t:clean-bradford", "Bradford Cleaners Co-operative", "BD1", BRADFORD)
BIKES = Listed("t:bikes-manc", "Bicycle Doctor", "M1", MANCHESTER)


def test_an_exact_name_links_by_itself() -> None:
    found = decide("Sparkle Cleaning Ltd", None, [SPARKLE, BRADFORD_COOP, BIKES])
    assert (found.supplier_id, found.status) == ("t:clean-leeds", "name")
    assert found.candidates[0].score == 100


def test_a_near_certain_name_with_an_agreeing_postcode_links() -> None:
    found = decide("Bradford Cleanrs Co-op", supplier_place("BD1 1AA"), [BRADFORD_COOP, SPARKLE])
    assert (found.supplier_id, found.status) == ("t:clean-bradford", "name")
    assert found.candidates[0].place_agrees is True


def test_a_looser_name_is_only_suggested_with_its_candidates() -> None:
    found = decide("Sparkle Cleaning Services", None, [SPARKLE, BIKES])
    assert (found.supplier_id, found.status) == ("t:clean-leeds", "unconfirmed")
    assert [c.supplier_id for c in found.candidates] == ["t:clean-leeds"]
    assert 75 <= found.candidates[0].score < 95


def test_two_listings_of_one_name_are_never_guessed() -> None:
    twin = Listed("t:clean-leeds-2", "Sparkle Cleaning Co-operative", "LS2", LEEDS)
    found = decide("Sparkle Cleaning", None, [SPARKLE, twin])
    assert found.status == "unconfirmed"
    assert {c.supplier_id for c in found.candidates} == {"t:clean-leeds", "t:clean-leeds-2"}


def test_a_postcode_far_from_the_listing_blocks_the_automatic_link() -> None:
    found = decide("Sparkle Cleaning", supplier_place("M1 1AA"), [SPARKLE])
    assert found.status == "unconfirmed" and found.candidates[0].place_agrees is False


def test_a_postcode_that_cannot_be_placed_cannot_corroborate() -> None:
    assert decide("Sparkle Cleaning", supplier_place("nowhere"), [SPARKLE]).status == "unconfirmed"


def test_no_similar_name_leaves_the_record_unlinked() -> None:
    assert decide("Big Facilities Ltd", None, [SPARKLE, BRADFORD_COOP, BIKES]) == SupplierLink(None, "unlinked")
    assert decide("Anything", None, []) == SupplierLink(None, "unlinked")


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        ("Sparkle Cleaning Ltd", "Sparkle Cleaning CIC", 100, 100),
        ("The Cleaning Sparkle", "Sparkle Cleaning", 100, 100),
        ("Sparkle Cleaning Services", "Sparkle Cleaning", 75, 85),
        ("Bicycle Doctor", "Sparkle Cleaning", 0, 50),
    ],
)
def test_name_scores_ignore_order_and_legal_words(a: str, b: str, low: float, high: float) -> None:
    assert low <= name_score(a, b) <= high


def test_decisions_apply_to_links_by_name_only() -> None:
    suggested = SupplierLink("t:a", "unconfirmed")
    confirm = LinkDecision("t:b", "confirm", "k1", "2025-01-01")
    reject = LinkDecision("t:a", "reject", "k1", "2025-01-01")
    assert resolve(suggested, None) == (None, "unconfirmed")
    assert resolve(suggested, confirm) == ("t:b", "confirmed")
    assert resolve(suggested, reject) == (None, "rejected")
    assert resolve(SupplierLink("t:a", "name"), reject) == (None, "rejected")
    assert resolve(SupplierLink("t:c", "unconfirmed"), reject) == (None, "unconfirmed")  # re-sent elsewhere
    assert resolve(SupplierLink("t:x", "id"), confirm) == ("t:x", "id")  # the payer's id is a fact


def test_links_through_the_index_and_a_decision_survives_a_resent_record(tmp_path: Path) -> None:
    index = open_search_index(f"sqlite:///{tmp_path}/search.db")
    index.ensure_index()
    index.bulk_upsert(directory())
    store = SqliteSpendStore(tmp_path / "spend.db")
    try:
        records = [
            SpendRecord(organisation="o", supplier_name=name, amount_pence=100, date=date(2025, 5, 1), reference=ref)
            for ref, name in (
                ("A", "Sparkle Cleaning Ltd"),
                ("B", "Sparkle Cleaning Services"),
                ("C", "Big Facilities Ltd"),
                ("D", "Green Spaces Trainng"),
            )
        ]
        store.upsert(link_all(records, None, DirectoryNames(index)))
        status = {e.record.reference: (e.link_status, e.linked_supplier_id) for e in store.entries("o")}
        assert status == {
            "A": ("name", "t:clean-leeds"),
            "B": ("unconfirmed", None),
            "C": ("unlinked", None),
            "D": ("name", "t:garden-leeds"),
        }
        [b] = store.with_reference("o", "B")
        store.decide(b.record.key, "t:clean-leeds", "confirm", "k1")
        store.upsert(link_all(records, None, DirectoryNames(index)))  # the same file, sent again
        again = store.entry(b.record.key)
        assert again is not None and (again.link_status, again.linked_supplier_id) == ("confirmed", "t:clean-leeds")
    finally:
        store.close()
        index.close()


def test_a_store_written_before_link_statuses_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE spend (key TEXT PRIMARY KEY, organisation TEXT NOT NULL, supplier_id TEXT,"
        " linked INTEGER NOT NULL, amount_pence INTEGER NOT NULL, date TEXT NOT NULL, record TEXT NOT NULL)"
    )
    record = SpendRecord(organisation="o", supplier_name="X", amount_pence=5, date=date(2025, 1, 1), reference="R")
    conn.execute("INSERT INTO spend VALUES ('o:R', 'o', 't:1', 1, 5, '2025-01-01', ?)", (record.model_dump_json(),))
    conn.commit()
    conn.close()
    store = SqliteSpendStore(path)
    [entry] = store.entries("o")
    assert (entry.link_status, entry.linked_supplier_id) == ("number", "t:1")
    store.close()
