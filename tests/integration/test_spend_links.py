"""Spend links by name through the consumer and the Buy Social API: suggestions count only once a
member confirms them, decisions outlive re-sent records, and other organisations learn nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from services.ingest.config import IngestSettings
from services.ingest.consumer import SpendIngest
from services.ingest.dedupe import OrganisationRegistry
from services.ingest.spend_relink import SpendRelinker
from services.matcher.app import create_app
from shared.accounts import Role, SqliteAccountStore
from shared.events.embedded import EmbeddedEventLog
from shared.search.factory import open_search_index
from shared.search.port import SearchIndex
from shared.spend_store import open_spend_store
from tests.factories import directory, doc, listing

TARGET = {"name": "Buy Social 2025/26", "start": "2025-04-01", "end": "2026-03-31", "amount_pence": 500_000}


@dataclass
class World:
    client: FlaskClient
    ingest: SpendIngest
    events: EmbeddedEventLog
    org: str
    member: str
    other: str

    def send(self, *records: dict[str, Any]) -> None:
        """Publish records as `POST /spend` would, and let the consumer's spend handler take them."""
        self.events.publish(
            "spend", [(f"{self.org}:{r['reference']}", {"organisation": self.org, **r}) for r in records]
        )
        consumer = self.events.consumer("spend", "ingest")
        messages = consumer.poll(100, 0.1)
        assert self.ingest.handle(messages) == []
        consumer.commit(messages)
        consumer.close()

    def call(self, method: str, path: str, key: str | None = None, json: object = None) -> Any:
        headers = {"X-API-Key": key} if key else {}
        return self.client.open(path.format(org=self.org), method=method, headers=headers, json=json)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    urls = {
        "search_url": f"sqlite:///{tmp_path}/search.db",
        "accounts_url": f"sqlite:///{tmp_path}/accounts.db",
        "spend_url": f"sqlite:///{tmp_path}/spend.db",
        "events_url": f"sqlite:///{tmp_path}/events.db",
    }
    index: SearchIndex = open_search_index(urls["search_url"])
    index.ensure_index()
    index.bulk_upsert(directory())
    accounts = SqliteAccountStore(f"{tmp_path}/accounts.db")
    org, other = accounts.create_organisation("Builder plc"), accounts.create_organisation("Council")
    settings = IngestSettings(**urls)
    store, registry = open_spend_store(settings.spend_location()), OrganisationRegistry(tmp_path / "state.db")
    events = EmbeddedEventLog(f"{tmp_path}/events.db")
    app = create_app(urls)
    app.testing = True
    yield World(
        app.test_client(),
        SpendIngest(store, registry, settings, index),
        events,
        org.id,
        accounts.create_key(Role.member, org.id)[1],
        accounts.create_key(Role.member, other.id)[1],
    )
    events.close()
    store.close()
    registry.close()
    index.close()


RECORDS = (
    {"reference": "INV-1", "supplier_name": "Sparkle Cleaning Ltd", "amount_pence": 100_000, "date": "2025-05-01"},
    {
        "reference": "INV-2",
        "supplier_name": "Sparkle Cleaning Services",
        "supplier_postcode": "LS1 1UN",
        "amount_pence": 40_000,
        "date": "2025-05-02",
    },
    {"reference": "INV-3", "supplier_name": "Big Facilities Ltd", "amount_pence": 300_000, "date": "2025-06-01"},
)


def progress(world: World) -> dict[str, Any]:
    return world.call("GET", "/organisations/{org}/targets/fy25/report?as_of=2025-06-30", world.member).json  # type: ignore[no-any-return]


def test_a_suggestion_counts_only_once_confirmed_and_stays_confirmed(world: World) -> None:
    world.send(*RECORDS)
    world.call("PUT", "/organisations/{org}/targets/fy25", world.member, TARGET)
    [suggestion] = world.call("GET", "/organisations/{org}/spend/links?status=unconfirmed", world.member).json
    assert suggestion["reference"] == "INV-2" and suggestion["suggested_supplier_id"] == "t:clean-leeds"
    top = suggestion["candidates"][0]
    assert (top["supplier_id"], top["name"], top["place_agrees"]) == ("t:clean-leeds", "Sparkle Cleaning CIC", True)
    assert 75 <= top["score"] < 95
    before = progress(world)
    assert before["progress"]["social_pence"] == 100_000 and before["progress"]["addressable_pence"] == 440_000
    assert before["progress"]["awaiting_confirmation_pence"] == 40_000
    assert before["unconfirmed_references"] == ["INV-2"] and before["unlinked_references"] == ["INV-3"]

    decided = world.call(
        "POST",
        "/organisations/{org}/spend/links/INV-2",
        world.member,
        {"supplier_id": "t:clean-leeds", "decision": "confirm"},
    )
    assert decided.status_code == 200 and decided.json["status"] == "confirmed"
    after = progress(world)["progress"]
    assert after["social_pence"] == 140_000 and after["awaiting_confirmation_pence"] == 0

    world.send(RECORDS[1])  # the same record sent again does not undo the decision
    assert progress(world)["progress"]["social_pence"] == 140_000
    assert world.call("GET", "/organisations/{org}/spend/links?status=unconfirmed", world.member).json == []


def test_a_rejected_suggestion_stays_addressable_spend(world: World) -> None:
    world.send(*RECORDS)
    world.call("PUT", "/organisations/{org}/targets/fy25", world.member, TARGET)
    rejected = world.call(
        "POST",
        "/organisations/{org}/spend/links/INV-2",
        world.member,
        {"supplier_id": "t:clean-leeds", "decision": "reject"},
    )
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    world.send(RECORDS[1])
    report = progress(world)
    assert report["progress"]["social_pence"] == 100_000 and report["progress"]["awaiting_confirmation_pence"] == 0
    assert "INV-2" in report["unlinked_references"]
    [link] = world.call("GET", "/organisations/{org}/spend/links?status=rejected", world.member).json
    assert link["reference"] == "INV-2" and link["decision"]["decision"] == "reject"

    undone = world.call("DELETE", "/organisations/{org}/spend/links/INV-2", world.member)
    assert undone.status_code == 200 and undone.json["status"] == "unconfirmed" and undone.json["decision"] is None
    assert progress(world)["progress"]["awaiting_confirmation_pence"] == 40_000
    assert world.call("DELETE", "/organisations/{org}/spend/links/INV-2", world.member).status_code == 404


def test_a_reference_two_suppliers_share_is_decided_by_naming_the_supplier(world: World) -> None:
    world.send(RECORDS[1], {**RECORDS[2], "reference": "INV-2"})
    links = world.call("GET", "/organisations/{org}/spend/links", world.member).json
    assert sorted(link["supplier_name"] for link in links if link["reference"] == "INV-2") == [
        "Big Facilities Ltd", "Sparkle Cleaning Services"]
    body = {"supplier_id": "t:clean-leeds", "decision": "confirm"}
    ambiguous = world.call("POST", "/organisations/{org}/spend/links/INV-2", world.member, body)
    assert ambiguous.status_code == 409 and ambiguous.json["errors"][0]["field"] == "supplier_key"
    key = next(link["supplier_key"] for link in links if link["supplier_name"] == "Sparkle Cleaning Services")
    decided = world.call("POST", "/organisations/{org}/spend/links/INV-2", world.member, {**body, "supplier_key": key})
    assert decided.status_code == 200 and decided.json["supplier_name"] == "Sparkle Cleaning Services"


@pytest.mark.parametrize(
    ("reference", "body", "status", "field"),
    [
        ("INV-2", {"supplier_id": "t:nope", "decision": "confirm"}, 422, "supplier_id"),
        ("INV-2", {"supplier_id": "t:bikes-manc", "decision": "reject"}, 422, "supplier_id"),
        ("INV-2", {"supplier_id": "t:clean-leeds", "decision": "maybe"}, 422, "decision"),
        ("INV-2", {"decision": "confirm"}, 422, "supplier_id"),
        ("ID-1", {"supplier_id": "t:clean-leeds", "decision": "confirm"}, 409, "reference"),
    ],
)
def test_bad_decisions_are_refused_naming_the_field(
    world: World, reference: str, body: dict[str, str], status: int, field: str
) -> None:
    world.send(
        *RECORDS, {"reference": "ID-1", "supplier_id": "t:garden-leeds", "amount_pence": 5, "date": "2025-05-01"}
    )
    response = world.call("POST", f"/organisations/{{org}}/spend/links/{reference}", world.member, body)
    assert response.status_code == status and field in {e["field"] for e in response.json["errors"]}


def test_an_unknown_status_or_reference_is_refused(world: World) -> None:
    world.send(*RECORDS)
    bad = world.call("GET", "/organisations/{org}/spend/links?status=maybe", world.member)
    assert bad.status_code == 400 and bad.json["errors"][0]["field"] == "status"
    missing = world.call(
        "POST",
        "/organisations/{org}/spend/links/NOPE",
        world.member,
        {"supplier_id": "t:clean-leeds", "decision": "confirm"},
    )
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/organisations/{org}/spend/links?status=unconfirmed", None),
        ("POST", "/organisations/{org}/spend/links/INV-2", {"supplier_id": "t:clean-leeds", "decision": "confirm"}),
    ],
)
def test_only_the_organisations_members_see_or_decide(world: World, method: str, path: str, body: object) -> None:
    world.send(*RECORDS)
    assert world.call(method, path, None, body).status_code == 401
    theirs = world.call(method, path, world.other, body)
    missing = world.call(method, path.replace("{org}", "org_doesnotexist"), world.other, body)
    assert theirs.status_code == missing.status_code == 404 and theirs.json == missing.json
    [still] = world.call("GET", "/organisations/{org}/spend/links?status=unconfirmed", world.member).json
    assert still["reference"] == "INV-2" and still["decision"] is None


def relinker(world: World, clock: list[float] | None = None) -> SpendRelinker:
    ingest = world.ingest
    now = clock or [0.0]
    return SpendRelinker(ingest.store, ingest.registry, ingest.names, interval_s=60, clock=lambda: now[0])


def test_spend_sent_before_its_supplier_is_listed_links_once_the_supplier_is(world: World) -> None:
    numbered = {"reference": "INV-4", "supplier_name": "Harbour Works", "supplier_company_number": "1234567",
                "amount_pence": 7_000, "date": "2025-06-02"}
    world.send(*RECORDS, numbered)
    world.call("PUT", "/organisations/{org}/targets/fy25", world.member, TARGET)
    assert set(progress(world)["unlinked_references"]) == {"INV-3", "INV-4"}
    assert relinker(world).run_pass() == 0  # nothing new in the directory: nothing rewritten

    assert world.ingest.names is not None
    world.ingest.names.index.bulk_upsert([doc("t:big", "Big Facilities CIC")])
    harbour = listing("t:harbour", "Harbour Works Co-operative", company_number="01234567")
    world.ingest.registry.done(world.ingest.registry.apply([harbour], ()))
    world.ingest.names.index.bulk_upsert([harbour.index_document()])
    assert relinker(world).run_pass() == 2

    listed = world.call("GET", "/organisations/{org}/spend/links", world.member).json
    links = {link["reference"]: link for link in listed}
    assert (links["INV-3"]["status"], links["INV-3"]["counted_supplier_id"]) == ("name", "t:big")
    assert (links["INV-4"]["status"], links["INV-4"]["counted_supplier_id"]) == ("number", "t:harbour")
    assert links["INV-2"]["status"] == "unconfirmed"  # still only a suggestion: still for a person
    report = progress(world)
    assert report["progress"]["social_pence"] == 100_000 + 300_000 + 7_000 and report["unlinked_references"] == []


def test_linking_again_never_revisits_a_persons_decision(world: World) -> None:
    world.send(*RECORDS)
    rejected = world.call("POST", "/organisations/{org}/spend/links/INV-2", world.member,
                          {"supplier_id": "t:clean-leeds", "decision": "reject"})
    assert rejected.status_code == 200
    assert world.ingest.names is not None
    world.ingest.names.index.bulk_upsert([doc("t:sparkle-services", "Sparkle Cleaning Services")])
    relinker(world).run_pass()
    [link] = world.call("GET", "/organisations/{org}/spend/links?status=rejected", world.member).json
    assert link["reference"] == "INV-2" and link["counted_supplier_id"] is None


def test_passes_start_after_listings_change_and_no_oftener_than_the_interval(world: World) -> None:
    world.send(*RECORDS)
    assert world.ingest.names is not None
    clock = [0.0]
    paced = relinker(world, clock)
    assert paced.tick() == 0  # the start-up pass: nothing to link yet
    world.ingest.names.index.bulk_upsert([doc("t:big", "Big Facilities CIC")])
    paced.listings_changed()
    clock[0] = 30.0
    assert paced.tick() == 0  # within the interval of the last pass
    clock[0] = 61.0
    assert paced.tick() == 1
    clock[0] = 200.0
    assert paced.tick() == 0  # no listings since: no pass
