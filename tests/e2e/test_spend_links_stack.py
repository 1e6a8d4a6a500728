"""Spend named by supplier name, end to end on the embedded backends: `POST /spend` on the ingest
service, the real consumer links it against the index, and the matcher lists what awaits a person."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.accounts import Role, SqliteAccountStore
from tests.e2e.processes import Stack, embedded_env_with_directory

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    env = embedded_env_with_directory(tmp_path, "sl")
    running = Stack(env=env, log_dir=tmp_path)
    yield running
    running.stop_all()


def links(matcher: str, org: str, key: str) -> list[dict[str, Any]]:
    response = requests.get(f"{matcher}/organisations/{org}/spend/links", headers={"X-API-Key": key}, timeout=10)
    return response.json()  # type: ignore[no-any-return]


def test_the_consumer_links_by_name_and_suggests_what_is_unsure(stack: Stack, tmp_path: Path) -> None:
    accounts = SqliteAccountStore(f"{tmp_path}/accounts.db")
    org = accounts.create_organisation("Builder plc")
    key = accounts.create_key(Role.member, org.id)[1]
    ingest, matcher = stack.start_service("ingest"), stack.start_service("matcher")
    stack.start_consumer()
    records = [
        {"reference": "A", "date": "2025-05-01", "amount_pence": 100, "supplier_name": "Sparkle Cleaning Ltd"},
        {"reference": "B", "date": "2025-05-01", "amount_pence": 200, "supplier_name": "Sparkle Cleaning Services"},
        {"reference": "C", "date": "2025-05-01", "amount_pence": 300, "supplier_name": "Big Facilities Ltd"},
    ]
    sent = requests.post(f"{ingest}/spend", json=records, headers={"X-API-Key": key}, timeout=10)
    assert sent.status_code == 202
    deadline, found = time.monotonic() + 30, []
    while len(found) < 3 and time.monotonic() < deadline:
        found = links(matcher, org.id, key)
        time.sleep(0.3)
    assert {link["reference"]: link["status"] for link in found} == {"A": "name", "B": "unconfirmed", "C": "unlinked"}


def test_spend_waiting_for_its_supplier_links_once_the_supplier_is_listed(stack: Stack, tmp_path: Path) -> None:
    accounts = SqliteAccountStore(f"{tmp_path}/accounts.db")
    org = accounts.create_organisation("Builder plc")
    key, admin = accounts.create_key(Role.member, org.id)[1], accounts.create_key(Role.admin)[1]
    ingest, matcher = stack.start_service("ingest"), stack.start_service("matcher")
    stack.start_consumer(INGEST_RELINK_INTERVAL_S="1")
    record = {"reference": "C", "date": "2025-05-01", "amount_pence": 300, "supplier_name": "Harbour Works Ltd"}
    assert requests.post(f"{ingest}/spend", json=[record], headers={"X-API-Key": key}, timeout=10).status_code == 202
    deadline, found = time.monotonic() + 30, []
    while not found and time.monotonic() < deadline:
        found = links(matcher, org.id, key)
        time.sleep(0.3)
    assert [link["status"] for link in found] == ["unlinked"]

    listing = {"id": "t:harbour", "name": "Harbour Works CIC", "source": "test", "postcode": "LS1 1UN",
               "updated_at": "2025-06-01T00:00:00Z"}
    listed = requests.post(f"{ingest}/listings", json=listing, headers={"X-API-Key": admin}, timeout=10)
    assert listed.status_code == 202
    deadline = time.monotonic() + 30
    while found[0]["status"] == "unlinked" and time.monotonic() < deadline:
        time.sleep(0.3)
        found = links(matcher, org.id, key)
    assert (found[0]["status"], found[0]["counted_supplier_id"]) == ("name", "t:harbour")
