"""De-duplication: registry numbers, fuzzy name + distance across sources, steward decisions
(the review queue and its safety rules: test_dedupe_safety.py).

The ingest state's contract: every test runs on SQLite and on PostgreSQL (`state_location`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.ingest.dedupe import OrganisationRegistry
from shared.models import Listing

LEEDS = {"lat": 53.7997, "lon": -1.5492}
LEEDS_NEAR = {"lat": 53.8010, "lon": -1.5480}  # ~150 m away
BRADFORD = {"lat": 53.7950, "lon": -1.7594}  # ~14 km away
LS6, LS6_OTHER = "LS6 1AA", "LS6 3HN"  # one postcode district: with the number and the name, near-certain


def listing(id: str, name: str, source: str, minute: int = 0, **fields: Any) -> Listing:
    return Listing.model_validate({"id": id, "name": name, "source": source,
                                   "updated_at": f"2025-01-01T00:{minute:02d}:00Z",
                                   "provenance": [{"id": id, "source": source, "origin": f"{source}.csv:1",
                                                   "updated_at": "2025-01-01T00:00:00Z"}], **fields})


@pytest.fixture
def registry(state_location: str) -> Iterator[OrganisationRegistry]:
    registry = OrganisationRegistry(state_location, name_threshold=90, max_km=2.0)
    yield registry
    registry.close()


def clusters(registry: OrganisationRegistry) -> dict[str, list[tuple[str, str]]]:
    """Merged clusters as id -> [(member id, source)]."""
    return {c.id: [(m.id, m.source) for m in c.members] for c in registry.merged()}


def queued(registry: OrganisationRegistry) -> list[tuple[str, str, str]]:
    return [(pair.a.id, pair.b.id, pair.rule) for pair in registry.review()]


def index_after(registry: OrganisationRegistry, upserts: list[Listing], deletes: tuple[str, ...] = ()
                ) -> tuple[dict[str, dict[str, Any]], list[str]]:
    writes = registry.apply(upserts, deletes)
    registry.done(writes)
    return writes.upserts, writes.deletes


def test_same_company_number_is_one_organisation_keeping_both_provenances(registry: OrganisationRegistry) -> None:
    index_after(registry, [listing("coop:R1", "Bike Mill", "coopsuk", company_number="123", postcode=LS6)])
    upserts, deletes = index_after(registry, [listing("ptc:X", "Bike Mill Ltd", "powertochange", postcode=LS6_OTHER,
                                                      company_number="00000123", description="We fix bikes.")])
    assert list(upserts) == ["coop:R1"]
    merged = upserts["coop:R1"]
    assert merged["description"] == "We fix bikes."
    assert [p["id"] for p in merged["provenance"]] == ["coop:R1", "ptc:X"]


def test_fuzzy_name_and_nearby_location_are_queued_across_sources_only(registry: OrganisationRegistry) -> None:
    index_after(registry, [listing("coop:R1", "Leeds Community Bike Mill Ltd", "coopsuk", location=LEEDS)])
    upserts, _ = index_after(registry, [
        listing("oxford:9", "Leeds Community Bike Mill", "oxford", location=LEEDS_NEAR),
        listing("coop:R2", "Leeds Community Bike Mill", "coopsuk", location=LEEDS_NEAR),
        listing("ptc:far", "Leeds Community Bike Mill", "powertochange", location=BRADFORD),
    ])
    assert set(upserts) == {"oxford:9", "coop:R2", "ptc:far"}  # a name and a place alone never merge
    rule = "similar name within 2 km"
    expected = [("coop:R1", "oxford:9", rule), ("coop:R2", "oxford:9", rule)]
    assert clusters(registry) == {} and queued(registry) == expected  # never coop:R1 with coop:R2, nor ptc:far
    index_after(registry, [listing("oxford:9", "Leeds Community Bike Mill", "oxford", minute=1, location=LEEDS)])
    assert queued(registry) == expected  # an update stays queued


def test_a_split_is_remembered_and_a_confirm_merges(registry: OrganisationRegistry) -> None:
    a = listing("coop:R1", "Green Gardens", "coopsuk", charity_number="55", postcode=LS6)
    b = listing("ptc:Y", "Green Gardens Trust", "powertochange", charity_number="55", postcode=LS6_OTHER)
    index_after(registry, [a, b])
    assert clusters(registry) == {"coop:R1": [("coop:R1", "coopsuk"), ("ptc:Y", "powertochange")]}
    registry.decide("ptc:Y", "coop:R1", "split")
    upserts, deletes = index_after(registry, [a, b])  # the CLI republishes the members
    assert clusters(registry) == {} and set(upserts) == {"coop:R1", "ptc:Y"}
    assert "coop:R1" in deletes  # the merged document is replaced, not left with both
    index_after(registry, [b])  # a reload does not undo the decision
    assert clusters(registry) == {} and queued(registry) == []
    c = listing("oxford:1", "Unrelated Name", "oxford")
    registry.decide("oxford:1", "coop:R1", "confirm")
    index_after(registry, [c])
    assert clusters(registry) == {"coop:R1": [("coop:R1", "coopsuk"), ("oxford:1", "oxford")]}


def test_deleting_the_smallest_member_renames_the_cluster(registry: OrganisationRegistry) -> None:
    index_after(registry, [listing("a:1", "Same", "a", company_number="9", postcode=LS6),
                           listing("b:1", "Same", "b", company_number="9", postcode=LS6)])
    upserts, deletes = index_after(registry, [], ("a:1",))
    assert "a:1" in deletes and list(upserts) == ["b:1"]
    assert upserts["b:1"]["id"] == "b:1"


def test_older_member_versions_are_stale_and_write_nothing(registry: OrganisationRegistry) -> None:
    index_after(registry, [listing("a:1", "New", "a", minute=5)])
    writes = registry.apply([listing("a:1", "Old", "a", minute=1)], ())
    assert writes.stale == 1 and not writes.upserts


def test_a_cluster_left_behind_survives_a_crash_before_the_index_write(registry: OrganisationRegistry,
                                                                       state_location: str) -> None:
    index_after(registry, [listing("a:1", "Same", "a", company_number="9", postcode=LS6),
                           listing("b:1", "Same", "b", company_number="9", postcode=LS6)])
    registry.apply([listing("b:1", "Same", "b", minute=1, company_number="8", postcode=LS6)],
                   ())  # died before the index write
    reopened = OrganisationRegistry(state_location)
    writes = reopened.pending()
    reopened.close()
    assert writes.deletes == ["a:1"] and list(writes.upserts) == ["a:1"]  # rebuilt without b:1
    assert [p["id"] for p in writes.upserts["a:1"]["provenance"]] == ["a:1"]


def test_a_dirty_mark_set_again_outlives_the_earlier_writes_settling(registry: OrganisationRegistry) -> None:
    """The worker prepares the next batch before the consumer settles this one: settling the
    earlier writes must not clear a mark the later batch set again, or a crash would lose it."""
    index_after(registry, [listing("a:1", "Same", "a", company_number="9", postcode=LS6),
                           listing("b:1", "Same", "b", company_number="9", postcode=LS6)])
    earlier = registry.apply([listing("b:1", "Other", "b", minute=1, company_number="8", postcode=LS6)],
                             ())  # b:1 leaves a:1
    later = registry.apply([], ("a:1",))  # marks a:1 again
    assert set(earlier.marked) == {"a:1"} and later.marked["a:1"] > earlier.marked["a:1"]
    registry.done(earlier)
    assert registry.pending().deletes == ["a:1"]
    registry.done(later)
    assert registry.pending().deletes == [] and registry.pending().upserts == {}


def test_a_state_file_from_before_mark_seqs_keeps_its_marks(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "state.db")
    old.execute("CREATE TABLE dirty (cluster TEXT PRIMARY KEY, replace INTEGER NOT NULL)")
    old.execute("INSERT INTO dirty VALUES ('gone:1', 1)")
    old.commit()
    old.close()
    registry = OrganisationRegistry(tmp_path / "state.db")
    writes = registry.pending()
    assert writes.deletes == ["gone:1"] and writes.marked == {"gone:1": 0}
    registry.done(writes)
    assert registry.pending().deletes == []


def test_a_registry_number_with_one_corroboration_is_queued_and_with_none_ignored(
        registry: OrganisationRegistry) -> None:
    index_after(registry, [listing("coop:R1", "Co-operatives London Limited", "coopsuk", company_number="05386797",
                                   postcode="E2 9PT")])
    index_after(registry, [listing("ptc:Y", "Co-operatives UK", "powertochange", company_number="05386797",
                                   postcode="M60 0AS")])  # a wrong number in the source: no merge
    index_after(registry, [listing("ptc:Z", "Gardens for All", "powertochange", company_number="05386797",
                                   postcode="E2 7AA")])  # renamed, same district: for a steward to say
    assert clusters(registry) == {}
    assert queued(registry) == [("coop:R1", "ptc:Z", "same company number + same district")]
