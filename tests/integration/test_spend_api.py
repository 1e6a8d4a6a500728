"""Buy Social API: every endpoint refuses no key, bad keys, revoked keys, the wrong role and other
organisations' keys; an organisation's data flows from spend records to progress and reports.
Every test runs with the stores of state on SQLite and on PostgreSQL (`state_location`)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from services.matcher.app import create_app
from shared.accounts import Role, open_account_store
from shared.models import SpendRecord
from shared.search.factory import open_search_index
from shared.spend_store import open_spend_store
from shared.web import close_resources
from tests.factories import directory

TARGET = {"name": "Buy Social 2025/26", "start": "2025-04-01", "end": "2026-03-31", "amount_pence": 500_000}
PACKAGE = {"lot": {"title": "Office cleaning", "description": "Daily office cleaning", "cpv_codes": ["90910000"],
                   "postcode": "LS1 1UN", "radius_km": 30}, "value_pence": 400_000, "expected_on": "2025-12-01"}


@dataclass
class World:
    client: FlaskClient
    admin: str
    member: str
    other: str
    revoked: str
    org: str
    other_org: str


@pytest.fixture
def world(tmp_path: Path, state_location: str) -> Iterator[World]:
    search_url = f"sqlite:///{tmp_path}/search.db"
    index = open_search_index(search_url)
    index.ensure_index()
    index.bulk_upsert(directory())
    index.close()
    store = open_account_store(state_location)
    org, other_org = store.create_organisation("Builder plc"), store.create_organisation("Council")
    _, admin = store.create_key(Role.admin)
    _, member = store.create_key(Role.member, org.id)
    _, other = store.create_key(Role.member, other_org.id)
    revoked_info, revoked = store.create_key(Role.member, org.id)
    store.revoke_key(revoked_info.id)
    spend = open_spend_store(state_location)
    spend.upsert([
        (SpendRecord(organisation=org.id, supplier_id="t:clean-leeds", amount_pence=100_000, date=date(2025, 5, 1),
                     reference="INV-1", category="cleaning"), "t:clean-leeds"),
        (SpendRecord(organisation=org.id, supplier_name="Big Facilities Ltd", amount_pence=300_000,
                     date=date(2025, 6, 1), reference="INV-2"), None),
        (SpendRecord(organisation=other_org.id, supplier_id="t:garden-leeds", amount_pence=999,
                     date=date(2025, 6, 1), reference="SECRET"), "t:garden-leeds"),
    ])
    app: Flask = create_app({"search_url": search_url, "accounts_url": state_location,
                             "spend_url": state_location, "events_url": f"sqlite:///{tmp_path}/e.db"})
    app.testing = True
    yield World(app.test_client(), admin, member, other, revoked, org.id, other_org.id)
    close_resources(app)
    spend.close()
    store.close()


def call(world: World, method: str, path: str, key: str | None, json: object = None):  # type: ignore[no-untyped-def]
    headers = {"X-API-Key": key} if key else {}
    return world.client.open(path.format(org=world.org), method=method, headers=headers, json=json)


ORG_ROUTES = [
    ("GET", "/organisations/{org}", None),
    ("GET", "/organisations/{org}/spend", None),
    ("PUT", "/organisations/{org}/targets/fy25", TARGET),
    ("GET", "/organisations/{org}/targets/fy25", None),
    ("GET", "/organisations/{org}/pipeline/p1", None),
    ("GET", "/organisations/{org}/targets", None),
    ("PUT", "/organisations/{org}/pipeline/p1", PACKAGE),
    ("GET", "/organisations/{org}/pipeline", None),
    ("GET", "/organisations/{org}/targets/fy25/report", None),
    ("GET", "/organisations/{org}/targets/fy25/report.csv", None),
    ("GET", "/organisations/{org}/targets/fy25/report.xlsx", None),
    ("GET", "/organisations/{org}/targets/fy25/chart.svg", None),
    ("GET", "/organisations/{org}/targets/fy25/recommendations", None),
    ("DELETE", "/organisations/{org}/pipeline/p1", None),
    ("DELETE", "/organisations/{org}/targets/fy25", None),
]
ADMIN_ROUTES = [
    ("POST", "/organisations", {"name": "New org"}),
    ("GET", "/organisations", None),
    ("POST", "/organisations/{org}/keys", {"label": "x"}),
    ("DELETE", "/keys/nonexistent", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ORG_ROUTES + ADMIN_ROUTES)
@pytest.mark.parametrize("who", ["none", "malformed", "unknown", "revoked"])
def test_every_endpoint_needs_a_valid_key(world: World, method: str, path: str, body: object, who: str) -> None:
    key = {"none": None, "malformed": "hello", "unknown": "smk_0000000000000000_abc",
           "revoked": world.revoked}[who]
    response = call(world, method, path, key, body)
    assert response.status_code == 401 and response.json["detail"]


@pytest.mark.parametrize(("method", "path", "body"), ORG_ROUTES)
def test_another_organisations_key_learns_nothing(world: World, method: str, path: str, body: object) -> None:
    response = call(world, method, path, world.other, body)
    missing = call(world, method, path.replace("{org}", "org_doesnotexist"), world.other, body)
    assert response.status_code == missing.status_code == 404
    assert response.json == missing.json


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_members_may_not_administer(world: World, method: str, path: str, body: object) -> None:
    assert call(world, method, path, world.member, body).status_code == 403


def test_spend_lists_only_the_organisations_own_records(world: World) -> None:
    records = call(world, "GET", "/organisations/{org}/spend", world.member).json
    assert {r["reference"] for r in records} == {"INV-1", "INV-2"}
    assert {r["supplier_key"] for r in records} == {"id:t:clean-leeds", "name:big facilities ltd"}


def test_progress_report_and_exports(world: World) -> None:
    assert call(world, "PUT", "/organisations/{org}/targets/fy25", world.member, TARGET).status_code == 200
    report = call(world, "GET", "/organisations/{org}/targets/fy25/report?as_of=2025-06-30", world.member).json
    progress = report["progress"]
    assert progress["social_pence"] == 100_000 and progress["addressable_pence"] == 400_000
    assert progress["by_supplier"] == {"t:clean-leeds": 100_000}
    assert report["unlinked_references"] == ["INV-2"]
    csv_text = call(world, "GET", "/organisations/{org}/targets/fy25/report.csv", world.member).data.decode()
    assert csv_text.splitlines()[0].startswith("Date paid,Reference,") and "INV-2" in csv_text
    assert "SECRET" not in csv_text
    xlsx = call(world, "GET", "/organisations/{org}/targets/fy25/report.xlsx", world.member).data
    book = load_workbook(io.BytesIO(xlsx))
    assert book.sheetnames[0] == "Summary"
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["Organisation"] == "Builder plc" and summary["Target (£)"] == 5000.0
    assert summary["Spent with social enterprises (£)"] == 1000.0 and summary["Target achieved"] == 0.2
    svg = call(world, "GET", "/organisations/{org}/targets/fy25/chart.svg?as_of=2025-06-30", world.member)
    assert svg.mimetype == "image/svg+xml" and b"<polyline" in svg.data and b"<title" in svg.data


def test_recommendation_places_a_pipeline_package_with_a_matched_supplier(world: World) -> None:
    call(world, "PUT", "/organisations/{org}/targets/fy25", world.member, TARGET)
    assert call(world, "PUT", "/organisations/{org}/pipeline/p1", world.member, PACKAGE).status_code == 200
    result = call(world, "GET", "/organisations/{org}/targets/fy25/recommendations?as_of=2025-06-30",
                  world.member).json
    assert result["gap_pence"] > 0
    assert result["placements"][0]["package_id"] == "p1"
    assert result["placements"][0]["supplier_id"] == "t:clean-leeds"
    placement = result["placements"][0]
    assert placement["supplier_name"] and placement["reason"] and placement["distance_km"] is not None


def test_only_the_share_of_a_package_inside_the_period_counts(world: World) -> None:
    call(world, "PUT", "/organisations/{org}/targets/fy25", world.member, TARGET)
    # Two years from 1 February 2026: 59 of its 730 days fall before the target's period ends.
    two_years = {**PACKAGE, "expected_on": "2026-02-01", "ends_on": "2028-01-31", "value_pence": 7_300_000}
    call(world, "PUT", "/organisations/{org}/pipeline/p2", world.member, two_years)
    result = call(world, "GET", "/organisations/{org}/targets/fy25/recommendations?as_of=2025-06-30",
                  world.member).json
    [placement] = result["placements"]
    assert placement["value_pence"] == 7_300_000 and placement["value_in_period_pence"] == 590_000
    assert result["covered_pence"] == min(590_000, result["gap_pence"])


def test_documented_reads_answer(world: World) -> None:
    assert call(world, "GET", "/organisations/{org}", world.member).json == {"id": world.org, "name": "Builder plc"}
    call(world, "PUT", "/organisations/{org}/targets/fy25", world.member, TARGET)
    call(world, "PUT", "/organisations/{org}/pipeline/p1", world.member, PACKAGE)
    assert call(world, "GET", "/organisations/{org}/targets/fy25", world.member).json["name"] == TARGET["name"]
    assert call(world, "GET", "/organisations/{org}/pipeline/p1", world.member).json["value_pence"] == 400_000
    assert call(world, "GET", "/organisations/{org}/targets/nope", world.member).status_code == 404
    assert call(world, "GET", "/organisations/{org}/pipeline/nope", world.member).status_code == 404
    assert call(world, "GET", "/organisations/{org}/targets/fy25", world.other).status_code == 404


def test_admin_creates_an_organisation_and_a_member_key_that_works(world: World) -> None:
    created = call(world, "POST", "/organisations", world.admin, {"name": "Housing Association"})
    assert created.status_code == 201
    org_id = created.json["id"]
    key = call(world, "POST", f"/organisations/{org_id}/keys", world.admin, {"label": "finance"}).json["key"]
    assert call(world, "GET", f"/organisations/{org_id}/targets", key).status_code == 200
    assert call(world, "GET", "/organisations/{org}/targets", key).status_code == 404


@pytest.mark.parametrize("body", [{"name": "x", "start": "2025-04-01", "end": "2025-01-01", "amount_pence": 1},
                                  {"name": "x", "start": "2025-04-01", "end": "2026-03-31"},
                                  {"name": "x", "start": "nope", "end": "2026-03-31", "amount_pence": 1}])
def test_bad_targets_get_422(world: World, body: dict[str, object]) -> None:
    response = call(world, "PUT", "/organisations/{org}/targets/fy25", world.member, body)
    assert response.status_code == 422 and response.json["errors"]
