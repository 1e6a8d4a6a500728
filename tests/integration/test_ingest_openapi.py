"""schemathesis over the ingest service's OpenAPI document, with the key each operation needs:
no 5xx, every status and body as documented, and the document names every route."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from schemathesis.specs.openapi.checks import positive_data_acceptance

from services.ingest.app import create_app
from shared.accounts import Role, SqliteAccountStore
from tests.openapi_fuzz import fuzz_settings, openapi_schema

KEYS: dict[str, str] = {}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    tmp: Path = tmp_path_factory.mktemp("ingest-openapi")
    accounts = SqliteAccountStore(f"{tmp}/accounts.db")
    org = accounts.create_organisation("Builder plc")
    KEYS.update(admin=accounts.create_key(Role.admin)[1], member=accounts.create_key(Role.member, org.id)[1])
    built = create_app({"events_url": f"sqlite:///{tmp}/events.db", "search_url": f"sqlite:///{tmp}/search.db",
                        "accounts_url": f"sqlite:///{tmp}/accounts.db", "max_batch_items": 5})
    built.testing = True
    return built


@pytest.fixture
def ingest_schema(app: Flask) -> Any:
    schema = openapi_schema(app, max_examples=25)
    # More items than a request may carry is refused as too large (413, documented), not as a 400.
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    return schema


schema = schemathesis.pytest.from_fixture("ingest_schema")


@schema.parametrize()
@fuzz_settings(max_examples=25)
def test_openapi_conformance(case: schemathesis.Case) -> None:
    # Listings are written with an administrator's key, spend with a member's.
    key = KEYS["member" if case.path == "/spend" else "admin"]
    case.call_and_validate(headers={"X-API-Key": key}, excluded_checks=[positive_data_acceptance])


def test_the_document_names_every_route(app: Flask) -> None:
    document = app.test_client().get("/openapi.json").json
    routes = {rule.rule.replace("<path:listing_id>", "{listing_id}") for rule in app.url_map.iter_rules()}
    assert routes - {"/openapi.json", "/static/<path:filename>"} <= set(document["paths"])
