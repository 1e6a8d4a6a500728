"""Every process of a deployment sees one state when its stores point at one PostgreSQL database.

Real processes over HTTP, as in the compose stack: an administrator key made by the accounts CLI
(its own process) works in the matcher; a member key the matcher makes works in the ingest
service; spend sent to the ingest service and written by the consumer counts in the matcher's
target report; a listing the consumer indexes leaves its de-duplication state in the database;
and all of it is still there for processes started afresh.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from tests.e2e.processes import ROOT, Stack, embedded_env_with_directory

pytestmark = pytest.mark.slow
STORES = ("ACCOUNTS_URL", "TARGETS_URL", "SPEND_URL", "STATE_URL")


@pytest.fixture
def stack(tmp_path: Path, postgres_url: str) -> Iterator[Stack]:
    env = embedded_env_with_directory(tmp_path, "pg")
    env.update(dict.fromkeys(STORES, postgres_url))
    running = Stack(env=env, log_dir=tmp_path)
    yield running
    running.stop_all()


def eventually(read: Callable[[], Any], done: Callable[[Any], bool], timeout_s: float = 30) -> Any:
    deadline = time.monotonic() + timeout_s
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.3)
        value = read()
    return value


def create_admin(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "shared.accounts_cli", "create-admin"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip().splitlines()[-1]


def test_processes_on_one_database_share_keys_spend_targets_and_ingest_state(stack: Stack,
                                                                             postgres_url: str) -> None:
    admin = {"X-API-Key": create_admin(stack.env)}
    matcher, ingest = stack.start_service("matcher"), stack.start_service("ingest")
    stack.start_consumer()

    org = requests.post(f"{matcher}/organisations", json={"name": "Builder plc"}, headers=admin, timeout=10)
    assert org.status_code == 201, org.text
    org_id = org.json()["id"]
    again = requests.post(f"{matcher}/organisations", json={"name": "Builder plc"}, headers=admin, timeout=10)
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "name"
    made = requests.post(f"{matcher}/organisations/{org_id}/keys", json={"label": "finance"}, headers=admin,
                         timeout=10)
    member = {"X-API-Key": made.json()["key"]}
    target = {"name": "2025 pledge", "start": "2025-01-01", "end": "2025-12-31", "amount_pence": 1_000_000}
    assert requests.put(f"{matcher}/organisations/{org_id}/targets/pledge", json=target, headers=member,
                        timeout=10).status_code == 200

    spend = [{"reference": "INV-1", "date": "2025-05-01", "amount_pence": 123_456, "supplier_id": "t:clean-leeds"},
             {"reference": "INV-2", "date": "2025-06-01", "amount_pence": 10**12, "supplier_id": "t:clean-leeds"}]
    sent = requests.post(f"{ingest}/spend", json=spend, headers=member, timeout=10)  # the matcher's key
    assert sent.status_code == 202, sent.text
    listing = {"id": "t:harbour", "name": "Harbour Works CIC", "source": "test", "postcode": "LS1 1UN",
               "company_number": "01234567", "updated_at": "2025-06-01T00:00:00Z"}
    assert requests.post(f"{ingest}/listings", json=listing, headers=admin, timeout=10).status_code == 202

    def progress() -> dict[str, Any]:
        answer = requests.get(f"{matcher}/organisations/{org_id}/targets/pledge/report", headers=member,
                              timeout=10)
        return answer.json()["progress"]  # type: ignore[no-any-return]

    social = eventually(progress, lambda p: p["social_pence"] == 10**12 + 123_456)["social_pence"]
    assert social == 10**12 + 123_456  # exact pence, written by the consumer, read by the matcher

    def clusters() -> list[tuple[str, str]]:
        with psycopg.connect(postgres_url) as conn:
            return conn.execute("SELECT id, cluster FROM members").fetchall()

    assert eventually(clusters, lambda rows: ("t:harbour", "t:harbour") in rows) == [("t:harbour", "t:harbour")]

    stack.stop_all()  # a new set of processes, as after `docker compose down && up`
    stack.procs.clear()
    matcher = stack.start_service("matcher")
    assert requests.get(f"{matcher}/organisations", headers=admin, timeout=10).json() == [
        {"id": org_id, "name": "Builder plc"}]
    assert progress()["social_pence"] == 10**12 + 123_456
    missing = requests.get(f"{matcher}/organisations/{org_id}/targets/nope", headers=member, timeout=10)
    assert missing.status_code == 404 and set(missing.json()) == {"detail", "errors"}
