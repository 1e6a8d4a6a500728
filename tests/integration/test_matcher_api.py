"""The matcher over HTTP (Flask test client) against an embedded index the tests fill themselves."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from schemathesis.specs.openapi.checks import positive_data_acceptance

from services.matcher.app import create_app
from services.matcher.model import DEFAULT_MODEL_FILE, ScoringModel
from shared.models import Listing
from tests.factories import indexed
from tests.openapi_fuzz import fuzz_settings, openapi_schema

OCDS = Path(__file__).resolve().parents[2] / "data" / "ocds"
OCDS_SAMPLES = sorted(OCDS.glob("*.json"))
PATH = re.compile(r"^(releases\[\d+\]\.)?(tender|parties\[\d+\])(\.[A-Za-z]+(\[\d+\])?)*$")
UPDATED = datetime(2024, 5, 1, tzinfo=UTC)


def _listing(suffix: str, lat: float, lon: float, region: str, **fields: Any) -> dict[str, Any]:
    base = {
        "id": f"test:{suffix}",
        "name": suffix.replace("-", " ").title(),
        "source": "test",
        "updated_at": UPDATED,
        "location": {"lat": lat, "lon": lon},
        "region": region,
    }
    return Listing(**(base | fields)).index_document()


LISTINGS = [
    _listing(
        "leeds-clean-start",
        53.80,
        -1.55,
        "Yorkshire and The Humber",
        legal_form="cic",
        description="Office and commercial cleaning employing people out of long-term unemployment",
        services=["office cleaning"],
        cpv_codes=["90919200"],
        impact_areas=["employment"],
        certifications=["Living Wage employer"],
    ),
    _listing(
        "bradford-cleaning-coop",
        53.80,
        -1.75,
        "Yorkshire and The Humber",
        legal_form="cooperative",
        description="Worker co-operative providing cleaning services",
        services=["cleaning"],
        cpv_codes=["90910000"],
        impact_areas=["local_economy"],
    ),
    _listing(
        "leeds-community-cafe",
        53.79,
        -1.54,
        "Yorkshire and The Humber",
        legal_form="charity",
        description="Cafe and event catering",
        impact_areas=["food"],
    ),
    _listing(
        "manchester-cleaners",
        53.48,
        -2.24,
        "North West",
        description="Cleaning services",
        cpv_codes=["90910000"],
    ),
    _listing(
        "glasgow-sparks",
        55.88,
        -4.22,
        "Scotland",
        legal_form="cooperative",
        description="Electrical installation, inspection and condition reports for housing associations",
        cpv_codes=["50711000"],
        impact_areas=["training"],
    ),
]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path_factory.mktemp('matcher') / 'search.db'}"
    indexed(url, LISTINGS)
    state = tmp_path_factory.mktemp("matcher-state")
    app = create_app({"search_url": url, "index_prefix": "test_", "accounts_url": f"sqlite:///{state}/accounts.db",
                      "spend_url": f"sqlite:///{state}/spend.db"})
    app.testing = True
    yield app


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _ids(body: dict[str, Any]) -> list[str]:
    return [r["listing_id"] for r in body["results"]]


def test_plain_lot_ranks_the_local_cleaner_first(client: FlaskClient) -> None:
    lot = {
        "title": "Office cleaning",
        "description": "Daily cleaning of council offices",
        "cpv_codes": ["90910000-6"],
        "postcode": "ls1 4ap",
        "social_value_priorities": ["employment"],
    }
    resp = client.post("/match", json=lot)
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["lot"]["postcode"] == "LS1 4AP"
    assert body["lot"]["region"] == "Yorkshire and The Humber"
    assert body["lot"]["cpv_codes"] == ["90910000"]
    assert _ids(body)[:2] == ["test:leeds-clean-start", "test:bradford-cleaning-coop"]
    # Beyond the 50 km default radius the right work still shows, below the local ones, marked so.
    far = {r["listing_id"]: r for r in body["results"]}["test:manchester-cleaners"]
    assert far["within_radius"] is False and far["fit"] != "strong"
    # A radius the buyer sets is a condition: nothing beyond it comes back.
    strict = client.post("/match", json={**lot, "radius_km": 50}).json
    assert "test:manchester-cleaners" not in _ids(strict)
    top = body["results"][0]
    assert top["distance_km"] < 5
    assert set(top["features"]) == {
        "capability_text",
        "cpv_overlap",
        "distance",
        "service_area",
        "social_value",
        "size_fit",
    }
    weight = ScoringModel.load(DEFAULT_MODEL_FILE).weights["social_value"]
    assert top["features"]["social_value"] == {"value": 1.0, "weight": weight, "contribution": weight}
    assert "matching your 'employment' priority" in top["reason"]
    assert client.post("/match?limit=1", json=lot).json["results"].__len__() == 1


def test_hard_filters_and_region_only_lots(client: FlaskClient) -> None:
    lot = {"title": "Cleaning", "postcode": "LS1", "required_legal_forms": ["cooperative"]}
    assert _ids(client.post("/match", json=lot).json) == ["test:bradford-cleaning-coop"]
    lot = {"title": "Cleaning", "postcode": "LS1", "required_certifications": ["living wage EMPLOYER"]}
    assert _ids(client.post("/match", json=lot).json) == ["test:leeds-clean-start"]
    resp = client.post("/match", json={"title": "Cleaning", "region": "UKD"})
    assert resp.json["lot"]["region"] == "North West"
    # The region's own cleaner first; the right work beyond the region below it, never "near".
    results = resp.json["results"]
    assert results[0]["listing_id"] == "test:manchester-cleaners" and results[0]["within_radius"]
    assert all(not r["within_radius"] and r["fit"] != "strong" for r in results[1:])


@pytest.mark.parametrize(
    ("query", "body", "status", "field", "message"),
    [
        ("", {"title": "x", "postcode": "ZZ99 9ZZ"}, 422, "postcode", "postcode not recognised"),
        ("", {"title": "x", "region": "Atlantis"}, 422, "region", None),
        ("", {"title": "x"}, 422, "body", None),
        ("", {"title": "x", "region": "Wales", "cpv_codes": ["12"]}, 422, "cpv_codes", None),
        ("", {"title": "x", "region": "Wales", "radius_km": "5"}, 422, "radius_km", None),
        ("?limit=0", {"title": "x", "region": "Wales"}, 400, "limit", None),
        ("?limit=abc", {"title": "x", "region": "Wales"}, 400, "limit", None),
        ("", [1, 2], 400, "body", None),
        ("", {"releases": [{"ocid": "x"}]}, 422, "releases[0].tender", None),
    ],
)
def test_invalid_input_names_the_field(
    client: FlaskClient, query: str, body: Any, status: int, field: str, message: str | None
) -> None:
    resp = client.post(f"/match{query}", json=body)
    assert resp.status_code == status
    errors = {e["field"]: e["message"] for e in resp.json["errors"]}
    assert field in errors, resp.json
    assert message is None or errors[field] == message


def test_non_json_body_is_a_400(client: FlaskClient) -> None:
    resp = client.post("/match", data="{not json", content_type="application/json")
    assert resp.status_code == 400
    assert resp.json["errors"][0]["field"] == "body"


def test_ocds_release_matches_each_lot(client: FlaskClient) -> None:
    release = json.loads((OCDS / "pcs_scotland_tender_releases_2019.json").read_text())["releases"][0]
    for body in (release, {"releases": [release]}):
        resp = client.post("/match", json=body)
        assert resp.status_code == 200, resp.json
        [entry] = resp.json["lots"]
        assert entry["path"].endswith("tender.lots[0]")
        assert entry["lot"]["region"] == "Scotland"
        assert entry["place_source"] == "delivery description 'North Glasgow': Glasgow"
        assert _ids(entry)[0] == "test:glasgow-sparks"
        assert {r["fit"] for r in entry["results"]} <= {"strong", "possible", "weak"}
        assert entry["strong_matches"] == sum(r["fit"] == "strong" for r in entry["results"])
        assert entry["summary"]


def test_a_package_answers_each_usable_lot_and_names_the_faults_of_the_others(client: FlaskClient) -> None:
    """One unusable release no longer rejects the package: its lot carries its own errors."""
    good = json.loads((OCDS / "pcs_scotland_tender_releases_2019.json").read_text())["releases"][0]
    bad = {"ocid": "ocds-bad", "tender": {"title": "Somewhere", "items": [{"deliveryAddresses": [{"region": "Mars"}]}]}}
    resp = client.post("/match", json={"releases": [good, bad]})
    assert resp.status_code == 200, resp.json
    first, second = resp.json["lots"]
    assert first["key"] == "ocds-r6ebe6-0000581860#1" and first["results"]
    assert second["key"] == "ocds-bad#1"
    assert second["errors"] == [
        {"field": "releases[1].tender.items[0].deliveryAddresses[0].region",
         "message": "region not recognised; use a NUTS code like UKM93 or a UK region name"}
    ]
    assert client.post("/match", json={"releases": [bad]}).status_code == 422


def test_nothing_strong_is_said_in_words(client: FlaskClient) -> None:
    resp = client.post("/match", json={"title": "Nuclear submarine reactor decommissioning", "postcode": "LS1 1UN"})
    assert resp.status_code == 200
    assert resp.json["strong_matches"] == 0
    assert resp.json["summary"].startswith("No organisation in the directory clearly does this within 50 km")
    assert all(r["fit"] != "strong" for r in resp.json["results"])
    # No padding: the Leeds suppliers near the place all do other work, so none is offered.
    assert resp.json["results"] == []
    assert "none there shows any sign of this work" in resp.json["summary"]


@pytest.mark.parametrize("sample", OCDS_SAMPLES, ids=lambda p: p.name)
def test_every_sample_release_matches_or_names_the_path(client: FlaskClient, sample: Path) -> None:
    for i, release in enumerate(json.loads(sample.read_text(encoding="utf-8"))["releases"]):
        resp = client.post("/match?limit=3", json=release)
        if resp.status_code == 200:
            assert resp.json["lots"], i
        else:
            assert resp.status_code == 422, (i, resp.json)
            assert all(PATH.match(e["field"]) for e in resp.json["errors"]), (i, resp.json)


def test_algorithms_publish_features_and_version(client: FlaskClient) -> None:
    body = client.get("/algorithms").json
    assert body["model"]["version"] == ScoringModel.load(DEFAULT_MODEL_FILE).version
    names = [f["name"] for f in body["features"]]
    assert names == ["capability_text", "cpv_overlap", "distance", "service_area", "social_value", "size_fit"]
    assert all(f["description"] for f in body["features"] + body["hard_filters"])


def test_readiness_pings_the_index_and_the_accounts(client: FlaskClient, tmp_path: Path) -> None:
    assert client.get("/readyz").json == {"status": "ok", "checks": {"search_index": True, "accounts": True}}
    missing = create_app({"search_url": f"sqlite:///{tmp_path / 'empty.db'}",
                          "accounts_url": f"sqlite:///{tmp_path / 'accounts.db'}"}).test_client()
    assert missing.get("/readyz").status_code == 503
    no_accounts = create_app({"search_url": client.application.config["SETTINGS"].search_url,
                              "index_prefix": "test_", "accounts_url": "postgresql://127.0.0.1:1/none"})
    answer = no_accounts.test_client().get("/readyz")
    assert answer.status_code == 503 and answer.json["checks"] == {"search_index": True, "accounts": False}


@pytest.fixture()
def api_schema(app: Flask) -> Any:
    return openapi_schema(app, max_examples=25)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@fuzz_settings(max_examples=25)
def test_openapi_conformance(case: schemathesis.Case) -> None:
    # A schema-valid lot may still name a postcode that does not exist, so valid data can be
    # refused with 422. Every other check (no 5xx, documented statuses and bodies) applies.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])


def test_a_lot_without_codes_is_matched_on_codes_read_from_its_title(client: FlaskClient) -> None:
    resp = client.post("/match", json={"title": "Office cleaning", "postcode": "LS1 4AP"})
    assert resp.status_code == 200, resp.json
    assert resp.json["lot"]["cpv_codes"] == ["90919200"] and resp.json["cpv_source"] == "read from the title"


def test_algorithms_document_the_fit_thresholds(client: FlaskClient) -> None:
    fit = client.get("/algorithms").json["fit"]
    assert {"strong_text", "strong_codes", "possible", "description", "remote_work"} <= set(fit)
    assert "both" in fit["description"]
    assert "BM25" in client.get("/algorithms").json["recall"]
