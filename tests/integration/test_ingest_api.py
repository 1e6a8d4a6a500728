"""The ingest HTTP API: validation with named fields, publishing to the log, tombstones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from services.ingest.app import create_app
from shared.accounts import Role, SqliteAccountStore
from shared.events.factory import open_event_log


@pytest.fixture
def events_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/events.db"


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    store = SqliteAccountStore(f"{tmp_path}/accounts.db")
    org = store.create_organisation("Builder plc")
    return {"admin": store.create_key(Role.admin)[1], "member": store.create_key(Role.member, org.id)[1]}


@pytest.fixture
def client(events_url: str, tmp_path: Path, keys: dict[str, str]) -> FlaskClient:
    app = create_app({"events_url": events_url, "search_url": f"sqlite:///{tmp_path}/search.db",
                      "accounts_url": f"sqlite:///{tmp_path}/accounts.db"})
    app.testing = True
    client = app.test_client()
    client.environ_base["HTTP_X_API_KEY"] = keys["admin"]  # a data steward, unless a test says otherwise
    return client


@pytest.mark.parametrize(("key", "status"), [("", 401), ("smk_bad_key", 401), ("member", 403)])
def test_writing_listings_needs_an_administrator_key(client: FlaskClient, keys: dict[str, str], key: str,
                                                     status: int, events_url: str) -> None:
    client.environ_base["HTTP_X_API_KEY"] = keys.get(key, key)
    assert client.post("/listings", json=listing()).status_code == status
    assert client.delete("/listings/t:a").status_code == status
    assert published(events_url) == []


def published(events_url: str) -> list[Any]:
    log = open_event_log(events_url)
    consumer = log.consumer("listings", "test-reader")
    messages = consumer.poll(100, timeout_s=0.5)
    consumer.close()
    log.close()
    return [(m.key, m.value) for m in messages]


def listing(id: str = "t:a", **fields: Any) -> dict[str, Any]:
    return {"id": id, "name": "Alpha CIC", "source": "test", "updated_at": "2025-02-01T00:00:00Z", **fields}


def test_one_listing_is_published_keyed_by_id(client: FlaskClient, events_url: str) -> None:
    response = client.post("/listings", json=listing(postcode="LS1 1UN"), headers={"X-Request-ID": "req-1"})
    assert response.status_code == 202
    assert response.json == {"accepted": 1, "ids": ["t:a"], "request_id": "req-1"}
    assert published(events_url) == [("t:a", {**listing(postcode="LS1 1UN"), "_provenance": {"request_id": "req-1"}})]


def test_batch_items_carry_the_request_id_and_their_position(client: FlaskClient, events_url: str) -> None:
    response = client.post("/listings", json=[listing("t:a"), listing("t:b")])
    request_id = response.headers["X-Request-ID"]
    assert [value["_provenance"] for _, value in published(events_url)] == [
        {"request_id": request_id, "item": 0}, {"request_id": request_id, "item": 1}]


def test_a_batch_with_one_bad_item_publishes_nothing_and_names_the_field(client: FlaskClient, events_url: str) -> None:
    response = client.post("/listings", json=[listing("t:a"), listing("t:b", name=""), listing("t:c", postcode="XX")])
    assert response.status_code == 422
    fields = {e["field"] for e in response.json["errors"]}
    assert fields == {"[1].name", "[2].postcode"}
    assert published(events_url) == []


@pytest.mark.parametrize("body", [b"not json", b"[]", b"42", b'"text"'])
def test_bodies_that_are_not_listings_get_400(client: FlaskClient, body: bytes) -> None:
    response = client.post("/listings", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == "body"


def test_delete_publishes_a_tombstone(client: FlaskClient, events_url: str) -> None:
    refused = client.delete("/listings/no colon here")
    assert refused.status_code == 400 and refused.json["errors"][0]["field"] == "listing_id"
    assert client.delete("/listings/t:a").status_code == 202
    assert published(events_url) == [("t:a", None)]


def test_health_and_readiness(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").status_code == 200


def test_the_consumers_rules_apply_at_the_door(client: FlaskClient, events_url: str) -> None:
    response = client.post("/listings", json=[listing("t:a", cpv_codes=["12345678"]),
                                              listing("t:b", name='=HYPERLINK("x")'),
                                              listing("t:c", postcode="GIR 0AA")])
    assert response.status_code == 422
    assert {e["field"] for e in response.json["errors"]} == {"[0].cpv_codes.0", "[1].name", "[2].postcode"}
    assert published(events_url) == []
