"""Safe de-duplication: placeholders are blanks, one source never merges with itself, and what is
short of near-certain waits in the review queue with its rule and score.

Every test runs on SQLite and on PostgreSQL (`state_location`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.ingest.dedupe import Member, OrganisationRegistry, Pair
from shared.models import Listing

LEEDS = {"lat": 53.7997, "lon": -1.5492}
LEEDS_NEAR = {"lat": 53.8010, "lon": -1.5480}  # ~150 m away
LS6, LS6_OTHER = "LS6 1AA", "LS6 3HN"


def listing(id: str, name: str, source: str, minute: int = 0, **fields: Any) -> Listing:
    return Listing.model_validate({"id": id, "name": name, "source": source,
                                   "updated_at": f"2025-01-01T00:{minute:02d}:00Z", **fields})


@pytest.fixture
def registry(state_location: str) -> Iterator[OrganisationRegistry]:
    registry = OrganisationRegistry(state_location, name_threshold=90, max_km=2.0)
    yield registry
    registry.close()


def load(registry: OrganisationRegistry, *listings: Listing) -> dict[str, dict[str, Any]]:
    writes = registry.apply(listings, ())
    registry.done(writes)
    return writes.upserts


def clusters(registry: OrganisationRegistry) -> dict[str, list[str]]:
    return {c.id: [m.id for m in c.members] for c in registry.merged()}


def queued(registry: OrganisationRegistry) -> list[tuple[str, str, str, float]]:
    return [(pair.a.id, pair.b.id, pair.rule, pair.score) for pair in registry.review()]


def test_two_leeds_organisations_with_charity_number_na_stay_two(registry: OrganisationRegistry) -> None:
    """The steward's report: both said charity no "N/A", were merged, and one vanished from search."""
    load(registry, listing("ccew:1", "Leeds Food Aid Network", "register", charity_number="N/A",
                           postcode="LS1 4AP", location=LEEDS))
    upserts = load(registry, listing("ptc:2", "Chapeltown Youth Theatre", "powertochange", charity_number="N/A",
                                     postcode="LS1 5DL", location=LEEDS_NEAR))
    assert list(upserts) == ["ptc:2"]
    assert clusters(registry) == {} and queued(registry) == []


@pytest.mark.parametrize("placeholder", ["0", "00000000", "111111", "Exempt", "applied for", "-", "none"])
def test_no_placeholder_number_pairs_two_records(registry: OrganisationRegistry, placeholder: str) -> None:
    load(registry, listing("a:1", "Same Name", "a", company_number=placeholder, charity_number=placeholder,
                           postcode=LS6),
         listing("b:1", "Same Name", "b", company_number=placeholder, charity_number=placeholder, postcode=LS6))
    assert clusters(registry) == {} and queued(registry) == []


def test_two_records_of_one_source_never_merge_nor_queue_whatever_the_number(registry: OrganisationRegistry) -> None:
    load(registry, listing("ccew:1", "Leeds Bike Mill", "ccew", org_ids=["GB-CHC-1000003"], charity_number="1000003",
                           postcode=LS6, location=LEEDS))
    load(registry, listing("ccew:2", "Leeds Bike Mill", "ccew", org_ids=["GB-CHC-1000003"], charity_number="1000003",
                           postcode=LS6_OTHER, location=LEEDS_NEAR))
    assert clusters(registry) == {} and queued(registry) == []


def test_a_cluster_holding_a_record_of_the_source_takes_no_other(registry: OrganisationRegistry) -> None:
    load(registry, listing("ccew:1", "Leeds Bike Mill", "ccew", charity_number="1000003", postcode=LS6),
         listing("ptc:1", "Leeds Bike Mill", "ptc", charity_number="1000003", company_number="8996508", postcode=LS6))
    load(registry, listing("ccew:2", "Leeds Bike Mill", "ccew", company_number="08996508", postcode=LS6))
    assert clusters(registry) == {"ccew:1": ["ccew:1", "ptc:1"]} and queued(registry) == []


def test_a_steward_confirm_merges_two_records_of_one_source(registry: OrganisationRegistry) -> None:
    a, b = listing("ccew:1", "Old Name", "ccew"), listing("ccew:2", "New Name", "ccew")
    load(registry, a, b)
    registry.decide("ccew:1", "ccew:2", "confirm")
    load(registry, a, b)  # the CLI republishes them
    [cluster] = registry.merged()
    assert [m.id for m in cluster.members] == ["ccew:1", "ccew:2"]
    assert [(p.a.id, p.b.id, p.rule) for p in cluster.pairs] == [("ccew:1", "ccew:2", "steward confirm")]


def test_an_org_id_meets_the_same_register_number_and_the_merge_keeps_its_rule_and_score(
        registry: OrganisationRegistry) -> None:
    load(registry, listing("ccew:1", "Leeds Bike Mill", "ccew", org_ids=["GB-CHC-1000003"], postcode=LS6))
    load(registry, listing("ptc:1", "Leeds Bike Mill Limited", "ptc", charity_number="1000003", postcode=LS6_OTHER))
    load(registry, listing("grant:1", "The Leeds Bike Mill", "360g", org_ids=["GB-CHC-1000003"], postcode=LS6))
    load(registry, listing("coop:1", "Harehills Food Co-op", "coopsuk", org_ids=["GB-COH-8996508"], postcode=LS6))
    load(registry, listing("ws:1", "Harehills Food Coop", "workerscoop", company_number="08996508", postcode=LS6))
    assert [cluster.members for cluster in registry.merged()] == [
        [Member("ccew:1", "Leeds Bike Mill", "ccew"), Member("grant:1", "The Leeds Bike Mill", "360g"),
         Member("ptc:1", "Leeds Bike Mill Limited", "ptc")],
        [Member("coop:1", "Harehills Food Co-op", "coopsuk"), Member("ws:1", "Harehills Food Coop", "workerscoop")],
    ]
    assert {(p.a.id, p.b.id): (p.rule, p.score) for cluster in registry.merged() for p in cluster.pairs} == {
        ("ccew:1", "ptc:1"): ("same charity number + similar name + same district", 100),
        ("ccew:1", "grant:1"): ("same org-id + similar name + same district", 100),
        ("coop:1", "ws:1"): ("same company number + similar name + same district", 100),
    }
    assert queued(registry) == []


def test_a_record_near_certain_of_two_clusters_joins_the_first_and_queues_the_other(
        registry: OrganisationRegistry) -> None:
    """Keys in order: org-ids, company, charity, society numbers."""
    load(registry, listing("ccew:1", "Leeds Bike Mill", "ccew", charity_number="1000003", postcode=LS6),
         listing("coop:1", "Leeds Bike Mill", "coopsuk", company_number="8996508", postcode=LS6))
    load(registry, listing("ptc:1", "Leeds Bike Mill", "ptc", charity_number="1000003", company_number="8996508",
                           postcode=LS6))
    assert clusters(registry) == {"coop:1": ["coop:1", "ptc:1"]}
    assert queued(registry) == [("ccew:1", "ptc:1", "same charity number + similar name + same district", 100)]


def test_a_number_with_one_corroboration_is_queued_and_a_confirm_merges_it(registry: OrganisationRegistry) -> None:
    a = listing("coop:1", "Bike Mill", "coopsuk", company_number="123")
    b = listing("ptc:1", "Bike Mill Ltd", "ptc", company_number="00000123")  # no postcodes: the name alone
    load(registry, a, b)
    assert clusters(registry) == {}
    assert queued(registry) == [("coop:1", "ptc:1", "same company number + similar name", 100)]
    [pair] = registry.review()
    assert pair == Pair(Member("coop:1", "Bike Mill", "coopsuk"), Member("ptc:1", "Bike Mill Ltd", "ptc"),
                        "same company number + similar name", 100)
    registry.decide("ptc:1", "coop:1", "confirm")
    assert queued(registry) == []  # off the queue at once
    load(registry, a, b)
    assert clusters(registry) == {"coop:1": ["coop:1", "ptc:1"]} and queued(registry) == []


def test_a_split_takes_a_pair_off_the_queue_for_good(registry: OrganisationRegistry, state_location: str) -> None:
    a = listing("coop:1", "Bike Mill", "coopsuk", company_number="123", postcode=LS6)
    b = listing("ptc:1", "Cycle Repair Leeds", "ptc", company_number="123", postcode=LS6_OTHER)
    load(registry, a, b)
    assert [q[:3] for q in queued(registry)] == [("coop:1", "ptc:1", "same company number + same district")]
    registry.decide("coop:1", "ptc:1", "split")
    load(registry, a, b)
    reopened = OrganisationRegistry(state_location)
    load(reopened, b)
    assert queued(reopened) == [] and clusters(reopened) == {}
    reopened.close()


def test_the_queue_survives_a_reopen_and_loses_deleted_members(registry: OrganisationRegistry,
                                                               state_location: str) -> None:
    load(registry, listing("coop:1", "Leeds Bike Mill", "coopsuk", location=LEEDS),
         listing("ptc:1", "Leeds Bike Mill", "ptc", location=LEEDS_NEAR))
    reopened = OrganisationRegistry(state_location)
    assert queued(reopened) == [("coop:1", "ptc:1", "similar name within 2 km", 100)]
    reopened.done(reopened.apply([], ["ptc:1"]))
    assert queued(reopened) == []
    reopened.close()


def test_an_update_that_changes_the_evidence_changes_the_queue(registry: OrganisationRegistry) -> None:
    load(registry, listing("coop:1", "Bike Mill", "coopsuk", company_number="123"),
         listing("ptc:1", "Bike Mill", "ptc", company_number="123"))
    assert [q[2] for q in queued(registry)] == ["same company number + similar name"]
    load(registry, listing("ptc:1", "Bike Mill", "ptc", minute=1, company_number="456"))
    assert queued(registry) == []


def test_a_state_file_from_before_the_review_queue_gains_it(tmp_path: Path) -> None:
    OrganisationRegistry(tmp_path / "state.db").close()
    old = sqlite3.connect(tmp_path / "state.db")
    old.execute("DROP TABLE pairings")
    old.close()
    registry = OrganisationRegistry(tmp_path / "state.db")
    load(registry, listing("coop:1", "Bike Mill", "coopsuk", company_number="123"),
         listing("ptc:1", "Bike Mill", "ptc", company_number="123"))
    assert len(registry.review()) == 1
    registry.close()


def _entry(identifier: str) -> dict[str, str]:
    return {"registry": identifier.rsplit("-", 1)[0], "identifier": identifier, "status": "registered charity",
            "as_of": "2020-06-30"}


BT14, BT9 = "BT14 7PJ", "BT9 5AA"


def test_two_registers_records_of_one_entry_merge_when_the_charity_moved_or_was_renamed(
        registry: OrganisationRegistry) -> None:
    """UK-CAT's and the NI register's records of one NI charity: both copied its entry from the
    register, so the name alone or the district alone corroborates it."""
    verified = {"org_ids": ["GB-NIC-100002"], "verified": [_entry("GB-NIC-100002")]}
    load(registry, listing("charity:GB-NIC-100002", "Cancer Lifeline", "ukcat", postcode=BT14, **verified),
         listing("ccni:GB-NIC-100002", "Cancer Lifeline", "ccni", postcode=BT9, **verified))
    load(registry, listing("charity:GB-NIC-100003", "Arbour Housing", "ukcat", postcode=BT14,
                           org_ids=["GB-NIC-100003"], verified=[_entry("GB-NIC-100003")]),
         listing("ccni:GB-NIC-100003", "South Ulster Housing Association", "ccni", postcode=BT14,
                 org_ids=["GB-NIC-100003"], verified=[_entry("GB-NIC-100003")]))
    assert clusters(registry) == {"ccni:GB-NIC-100002": ["ccni:GB-NIC-100002", "charity:GB-NIC-100002"],
                                  "ccni:GB-NIC-100003": ["ccni:GB-NIC-100003", "charity:GB-NIC-100003"]}
    rules = {(p.a.id, p.b.id): p.rule for cluster in registry.merged() for p in cluster.pairs}
    assert rules == {("ccni:GB-NIC-100002", "charity:GB-NIC-100002"): "same register entry + similar name",
                     ("ccni:GB-NIC-100003", "charity:GB-NIC-100003"): "same register entry + same district"}
    assert queued(registry) == []


def test_one_register_entry_whose_name_and_place_both_disagree_is_no_merge(registry: OrganisationRegistry) -> None:
    verified = {"org_ids": ["GB-NIC-100002"], "verified": [_entry("GB-NIC-100002")]}
    load(registry, listing("charity:GB-NIC-100002", "Cancer Lifeline", "ukcat", postcode=BT14, **verified),
         listing("ccni:GB-NIC-100002", "Newry Rowing Club", "ccni", postcode=BT9, **verified))
    assert clusters(registry) == {} and queued(registry) == []


def test_an_org_id_no_register_vouches_for_still_needs_the_name_and_the_district(
        registry: OrganisationRegistry) -> None:
    """The same org-id and name, typed by a grant-maker: a different district leaves it to a steward."""
    load(registry, listing("charity:GB-NIC-100002", "Cancer Lifeline", "ukcat", postcode=BT14,
                           org_ids=["GB-NIC-100002"], verified=[_entry("GB-NIC-100002")]),
         listing("grant:1", "Cancer Lifeline", "360g", postcode=BT9, org_ids=["GB-NIC-100002"]))
    assert clusters(registry) == {}
    assert queued(registry) == [("charity:GB-NIC-100002", "grant:1", "same org-id + similar name", 100)]
