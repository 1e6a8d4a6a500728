"""schemathesis over the Buy Social endpoints with a member's key: no 5xx, responses as documented,
and nothing of another organisation's ever appears in a response."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from schemathesis.specs.openapi.checks import positive_data_acceptance

from services.matcher.app import create_app
from services.matcher.spend.store import SqliteOrganisationPlans, TargetBody
from shared.accounts import Role, SqliteAccountStore
from shared.models import SpendRecord
from shared.search.factory import open_search_index
from shared.spend_store import SqliteSpendStore
from tests.factories import directory
from tests.openapi_fuzz import fuzz_settings, openapi_schema

CANARY = "CANARY-OTHER-ORG"
STATE: dict[str, str] = {}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    tmp: Path = tmp_path_factory.mktemp("buy-social")
    index = open_search_index(f"sqlite:///{tmp}/search.db")
    index.ensure_index()
    index.bulk_upsert(directory())
    index.close()
    accounts = SqliteAccountStore(f"{tmp}/accounts.db")
    mine, other = accounts.create_organisation("Builder plc"), accounts.create_organisation(CANARY)
    STATE.update(mine=mine.id, other=other.id, key=accounts.create_key(Role.member, mine.id)[1])
    plans = SqliteOrganisationPlans(tmp / "accounts.db")
    for org in (mine.id, other.id):
        name = CANARY if org == other.id else "Ours"
        plans.put("targets", org, "fy25", TargetBody(name=name, start=date(2025, 4, 1), end=date(2026, 3, 31),
                                                     amount_pence=1_000_000))
    SqliteSpendStore(tmp / "spend.db").upsert([
        (SpendRecord(organisation=other.id, supplier_name=CANARY, amount_pence=1, date=date(2025, 5, 1),
                     reference=CANARY), None),
        (SpendRecord(organisation=mine.id, supplier_id="t:clean-leeds", amount_pence=5, date=date(2025, 5, 1),
                     reference="OURS-1"), "t:clean-leeds")])
    built = create_app({"search_url": f"sqlite:///{tmp}/search.db", "accounts_url": f"sqlite:///{tmp}/accounts.db",
                        "spend_url": f"sqlite:///{tmp}/spend.db"})
    built.testing = True
    return built


@pytest.fixture
def keyed_schema(app: Flask) -> Any:
    return openapi_schema(app, max_examples=25)


schema = schemathesis.pytest.from_fixture("keyed_schema").include(path_regex="^/(organisations|keys)")


@schema.parametrize()
@fuzz_settings(max_examples=25)
def test_a_member_key_never_sees_another_organisations_data(case: schemathesis.Case) -> None:
    if "organisation_id" in case.path_parameters:
        # Half the cases address our organisation (real data behind the path), half the other one.
        ours = hash(repr(case.body)) % 2 == 0
        case.path_parameters["organisation_id"] = STATE["mine" if ours else "other"]
    response = case.call_and_validate(headers={"X-API-Key": STATE["key"]}, excluded_checks=[positive_data_acceptance])
    assert response.status_code < 500
    assert CANARY not in response.text and STATE["other"] not in response.text
