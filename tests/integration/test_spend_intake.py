"""`POST /spend`: member keys only, own organisation only, JSON or the documented CSV, all-or-nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from services.ingest.app import create_app
from shared.accounts import Role, SqliteAccountStore
from shared.events.envelope import split_provenance
from shared.events.factory import open_event_log
from shared.models import SpendRecord
from shared.spend_store import open_spend_store


@pytest.fixture
def env(tmp_path: Path) -> dict[str, Any]:
    store = SqliteAccountStore(f"{tmp_path}/accounts.db")
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
    ("reference,date,amount,supplier_name\nA,2025-01-01,12.345,X\n", "line 2: amount"),
    ("reference,date,amount,supplier_name\nA,2025-01-01,lots,X\n", "line 2: amount"),
    ("reference,date,amount,colour\nA,2025-01-01,1\n", "line 1: colour"),
    ("reference,date,amount,supplier_name\nA,not-a-date,1,X\n", "line 2: date"),
    ("reference,date,amount\nA,2025-01-01,1\n", "line 2: supplier_name"),
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


def test_every_csv_error_is_reported_at_once_by_the_files_line_and_column(env: dict[str, Any]) -> None:
    body = ("reference,date,amount,supplier_name\n"
            "A,2025-05-01,100.00,Sparkle CIC\n"
            "B,2025-13-01,lots,Sparkle CIC\n"
            '"C",2025-05-02,"1,000.001",\n'
            "D,2025-05-03,0,Sparkle CIC\n")
    response = post(env, env["member"], data=body, content_type="text/csv")
    assert response.status_code == 422
    fields = [e["field"] for e in response.json["errors"]]
    assert fields == ["line 3: date", "line 3: amount", "line 4: amount", "line 5: amount"]
    assert published(env["events"]) == []


def test_a_missing_supplier_is_reported_with_the_other_errors(env: dict[str, Any]) -> None:
    body = "reference,date,amount,supplier_name\nA,2025-05-01,100.00,\nB,soon,1,X\n"
    response = post(env, env["member"], data=body, content_type="text/csv")
    assert {e["field"] for e in response.json["errors"]} == {"line 2: supplier_name", "line 3: date"}


@pytest.mark.parametrize("amount", ["-4500", "-£4,500.00", "£-4,500.00", "(4,500.00)", "(£4,500)"])
def test_credit_notes_in_accounting_forms_are_negative_pence(env: dict[str, Any], amount: str) -> None:
    body = f'reference,date,amount,supplier_name\nCN-1,2025-05-01,"{amount}",Sparkle CIC\n'
    assert post(env, env["member"], data=body, content_type="text/csv").status_code == 202
    [(_, value)] = published(env["events"])
    assert value["amount_pence"] == -450_000


def test_a_windows_1252_csv_from_excel_is_read(env: dict[str, Any]) -> None:
    body = "reference,date,amount,supplier_name\nA,31/05/2025,£1,250.00,Café Sparkle CIC\n"
    body = body.replace("£1,250.00", '"£1,250.00"')
    response = post(env, env["member"], data=body.encode("cp1252"), content_type="text/csv")
    assert response.status_code == 202 and response.json["encoding"] == "windows-1252"
    [(_, value)] = published(env["events"])
    assert value["supplier_name"] == "Café Sparkle CIC" and value["amount_pence"] == 125_000
    assert value["date"] == "2025-05-31"


def test_a_file_in_no_known_encoding_says_how_to_save_it_as_csv_utf8(env: dict[str, Any]) -> None:
    response = post(env, env["member"], data=b"reference,date\nA,\x81\x8d\n", content_type="text/csv")
    assert response.status_code == 415 and "CSV UTF-8" in response.json["detail"]
    assert response.json["errors"][0]["field"] == "line 2"


def test_duplicates_within_one_upload_are_refused_with_their_lines(env: dict[str, Any]) -> None:
    body = ("reference,date,amount,supplier_name\n"
            "INV-1001,2025-05-01,5000,Sparkle CIC\n"
            "INV-1001,2025-05-01,10000,Travis Perkins\n"
            "INV-1001,2025-05-02,5000,sparkle  cic\n")
    response = post(env, env["member"], data=body, content_type="text/csv")
    assert response.status_code == 422
    [error] = response.json["errors"]
    assert error["field"] == "line 4: reference" and "line 2" in error["message"]
    json_response = post(env, env["member"], json=[RECORD, {**RECORD, "amount_pence": 1}])
    assert json_response.status_code == 422 and json_response.json["errors"][0]["field"] == "[1].reference"
    assert published(env["events"]) == []


def test_the_reply_counts_stored_updated_and_unchanged_and_lists_each_change(env: dict[str, Any]) -> None:
    app_settings = env["client"].application.config["SETTINGS"]
    store = open_spend_store(app_settings.spend_location())
    first = [RECORD, {**RECORD, "reference": "INV-2"}]
    reply = post(env, env["member"], json=first).json
    assert (reply["stored"], reply["updated"], reply["unchanged"]) == (2, 0, 0)
    # What the consumer does with them; then the same two again, one corrected, and a new one.
    store.upsert([(SpendRecord.model_validate({**r, "organisation": env["org"]}), None) for r in first])
    travis = {**RECORD, "supplier_id": None, "supplier_name": "Travis Perkins", "amount_pence": 1_000_000}
    again = post(env, env["member"], json=[RECORD, {**RECORD, "reference": "INV-2", "amount_pence": 999}, travis])
    body = again.json
    assert (body["stored"], body["updated"], body["unchanged"]) == (1, 1, 1)
    [updated] = [c for c in body["changes"] if c["change"] == "updated"]
    assert updated["reference"] == "INV-2" and updated["fields"] == {"amount_pence": {"from": 12345, "to": 999}}
    [new] = [c for c in body["changes"] if c["change"] == "stored"]
    assert new["supplier"] == "Travis Perkins" and new["where"] == "[2]"
    store.close()


def test_more_records_than_one_request_takes_is_413_naming_the_cli(env: dict[str, Any]) -> None:
    rows = "".join(f"R{i},2025-05-01,1,X\n" for i in range(1001))
    response = post(env, env["member"], data="reference,date,amount,supplier_name\n" + rows, content_type="text/csv")
    assert response.status_code == 413 and "--spend --organisation" in response.json["detail"]
