"""`POST /spend`: member keys only, own organisation only, JSON or the documented CSV, all-or-nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from services.ingest.app import create_app
from shared.accounts import AccountStore, Role
from shared.events.envelope import split_provenance
from shared.events.factory import open_event_log


@pytest.fixture
def env(tmp_path: Path) -> dict[str, Any]:
    store = AccountStore(f"{tmp_path}/accounts.db")
    org = store.create_organisation("Builder plc")
    _, member = store.create_key(Role.member, org.id)
    _, admin = store.create_key(Role.admin)
    app = create_app({"events_url": f"sqlite:///{tmp_path}/events.db", "search_url": f"sqlite:///{tmp_path}/s.db",
                      "accounts_url": f"sqlite:///{tmp_path}/accounts.db"})
    app.testing = True
    return {"client": app.test_client(), "member": member, "admin": admin, "org": org.id,
            "events": f"sqlite:///{tmp_path}/events.db"}


def published(events_url: str) -> list[tuple[str | None, Any]]:
    log = open_event_log(events_url)
    consumer = log.consumer("spend", "reader")
    out = [(m.key, split_provenance(m.value)[0]) for m in consumer.poll(100, 0.5)]
    consumer.close()
    log.close()
    return out


def post(env: dict[str, Any], key: str | None, **kwargs: Any):  # type: ignore[no-untyped-def]
    client: FlaskClient = env["client"]
    return client.post("/spend", headers={"X-API-Key": key} if key else {}, **kwargs)


RECORD = {"reference": "INV-1", "date": "2025-05-01", "amount_pence": 12345, "supplier_id": "coop:R1"}


def test_json_spend_is_published_for_the_keys_organisation(env: dict[str, Any]) -> None:
    response = post(env, env["member"], json=[RECORD])
    assert response.status_code == 202
    [(key, value)] = published(env["events"])
    assert key == f"{env['org']}:INV-1" and value["organisation"] == env["org"] and value["amount_pence"] == 12345


def test_csv_amounts_in_pounds_become_exact_pence(env: dict[str, Any]) -> None:
    body = ("reference,date,amount,supplier_name,supplier_company_number\n"
            'PO-7,2025-06-01,"1,234.50",Sparkle CIC,0123\n')
    assert post(env, env["member"], data=body, content_type="text/csv").status_code == 202
    [(_, value)] = published(env["events"])
    assert value["amount_pence"] == 123450 and value["supplier_name"] == "Sparkle CIC"


@pytest.mark.parametrize(("body", "field"), [
    ("reference,date,amount\nA,2025-01-01,12.345\n", "[0].amount"),
    ("reference,date,amount\nA,2025-01-01,lots\n", "[0].amount"),
    ("reference,date,amount,colour\nA,2025-01-01,1\n", "header"),
    ("reference,date,amount\nA,not-a-date,1\n", "[0].date"),
])
def test_bad_csv_is_refused_naming_the_field(env: dict[str, Any], body: str, field: str) -> None:
    response = post(env, env["member"], data=body, content_type="text/csv")
    assert response.status_code in (400, 422)
    assert field in {e["field"] for e in response.json["errors"]}
    assert published(env["events"]) == []


def test_the_body_may_not_name_another_organisation(env: dict[str, Any]) -> None:
    assert post(env, env["member"], json={**RECORD, "organisation": "org_other"}).status_code == 422


@pytest.mark.parametrize("who", [None, "smk_x_y", "admin"])
def test_only_member_keys_send_spend(env: dict[str, Any], who: str | None) -> None:
    key = env["admin"] if who == "admin" else who
    assert post(env, key, json=RECORD).status_code == (403 if who == "admin" else 401)


def test_csv_may_give_the_suppliers_postcode_to_corroborate_a_link_by_name(env: dict[str, Any]) -> None:
    body = "reference,date,amount_pence,supplier_name,supplier_postcode\nPO-8,2025-06-01,500,Sparkle CIC,LS1 1UN\n"
    assert post(env, env["member"], data=body, content_type="text/csv").status_code == 202
    [(_, value)] = published(env["events"])
    assert value["supplier_postcode"] == "LS1 1UN"
