"""Brokers over HTTP: partners that complement a seeker, and consortia that cover a lot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from services.matcher.app import create_app
from shared.cpv import label
from shared.search.factory import open_search_index
from tests.factories import directory, doc

YORK = (53.9590, -1.0815)
CATERING = doc("t:cater-leeds", "Leeds Community Kitchen CIC", legal_form="cic",
               description="Catering and meals for events, training young cooks.", services=["catering"],
               cpv_codes=["55520000"], categories=["food"], impact_areas=["youth_employment", "food"])
YORK_BOTH = doc("t:york-both", "York Green Kitchens", at=YORK, legal_form="cooperative",
                description="Grounds maintenance, landscaping and catering.", services=["landscaping", "catering"],
                cpv_codes=["77314000", "55520000"], impact_areas=["environment"])


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    url = f"sqlite:///{tmp_path}/search.db"
    index = open_search_index(url)
    index.ensure_index()
    index.bulk_upsert([*directory(), CATERING, YORK_BOTH])
    index.close()
    app = create_app({"search_url": url, "events_url": f"sqlite:///{tmp_path}/e.db"})
    app.testing = True
    return app.test_client()


LOT = {"title": "Community centre services", "postcode": "LS1 1UN", "radius_km": 60,
       "value_pence": 20_000_000}


def test_consortium_covers_every_requirement_with_local_members(client: FlaskClient) -> None:
    body = {"lot": LOT, "requirements": [
        {"id": "clean", "label": "Office cleaning", "cpv_codes": ["90910000"]},
        {"id": "garden", "label": "Grounds maintenance", "cpv_codes": ["77314000"]},
        {"id": "cater", "label": "Catering", "cpv_codes": ["55520000"]}]}
    response = client.post("/consortia", json=body)
    assert response.status_code == 200, response.json
    best = response.json["proposals"][0]
    assert best["coverage"] == 1.0 and best["uncovered"] == []
    covered = {c["requirement"] for m in best["members"] for c in m["covers"]}
    assert covered == {"clean", "garden", "cater"} and len(best["members"]) <= 3
    assert all(c["reason"] for m in best["members"] for c in m["covers"])


def test_a_requirement_nobody_local_covers_is_named(client: FlaskClient) -> None:
    body = {"lot": LOT, "requirements": [
        {"id": "clean", "label": "Office cleaning", "cpv_codes": ["90910000"]},
        {"id": "legal", "label": "Legal advice on procurement law", "cpv_codes": ["79100000"]}]}
    answer = client.post("/consortia", json=body).json
    assert answer["uncoverable"] == ["legal"]
    assert answer["proposals"][0]["uncovered"] == ["legal"]
    assert answer["min_match"] > 0  # the cut-off is part of the answer
    miss = answer["near_misses"]["legal"]
    assert miss["why"] and miss["short_because"] in {"match", "distance"} or set(miss) == {"why"}


def test_requirements_default_to_the_lots_cpv_codes(client: FlaskClient) -> None:
    answer = client.post("/consortia", json={"lot": {**LOT, "cpv_codes": ["90910000", "55520000"]}}).json
    assert [r["label"] for r in answer["requirements"]] == [label("90910000"), label("55520000")]


def test_an_ocds_release_with_several_lots_is_one_consortium_question(client: FlaskClient) -> None:
    release = {"ocid": "ocds-x-1", "tender": {
        "lots": [{"id": "1", "title": "Cleaning"}, {"id": "2", "title": "Catering"}],
        "items": [
            {"id": "a", "relatedLot": "1", "classification": {"scheme": "CPV", "id": "90910000"},
             "deliveryAddresses": [{"postalCode": "LS1 1UN"}]},
            {"id": "b", "relatedLot": "2", "classification": {"scheme": "CPV", "id": "55520000"},
             "deliveryAddresses": [{"postalCode": "LS1 1UN"}]}]}}
    response = client.post("/consortia", data=json.dumps(release), content_type="application/json")
    assert response.status_code == 200, response.json
    assert len(response.json["requirements"]) == 2 and response.json["proposals"]


@pytest.mark.parametrize(("body", "field"), [
    ({"lot": {"title": "x", "postcode": "LS1 1UN"}}, "requirements"),
    ({"lot": {"title": "x", "postcode": "ZZ99 9ZZ", "cpv_codes": ["90910000"]}}, "lot.postcode"),
    ({"lot": LOT, "requirements": [{"label": "x"}], "max_members": 9}, "max_members"),
])
def test_unusable_consortium_requests_get_4xx_naming_the_field(client: FlaskClient, body: object, field: str) -> None:
    response = client.post("/consortia", json=body)
    assert 400 <= response.status_code < 500
    assert any(field in e["field"] for e in response.json["errors"]), response.json


def test_partners_complement_the_seeker(client: FlaskClient) -> None:
    body = {"organisation": {"name": "Builder plc", "sector": "private", "description": "Construction",
                             "cpv_codes": ["45000000"], "impact_areas": ["employment"], "postcode": "LS1 1UN"},
            "seeks": {"capabilities": "grounds maintenance and landscaping", "cpv_codes": ["77314000"],
                      "radius_km": 60}}
    results = client.post("/partners", json=body).json["results"]
    assert results[0]["listing_id"] in {"t:garden-leeds", "t:york-both"}
    top = results[0]
    assert "Agricultural, forestry, horticultural, aquacultural and apicultural services" in top["adds"]["capabilities"]
    assert "employment" not in top["adds"]["impact_areas"]
    assert top["features"]["complementarity"]["value"] > 0 and top["reason"]


def test_partners_are_not_padded_with_weak_matches(client: FlaskClient) -> None:
    """Fewer than asked come back when fewer fit: nearness alone makes nobody a partner."""
    body = {"organisation": {"name": "Council", "sector": "public", "postcode": "LS1 1UN"},
            "seeks": {"capabilities": "nuclear reactor decommissioning", "radius_km": 60}, "limit": 10}
    results = client.post("/partners", json=body).json["results"]
    assert len(results) < 10 and all(r["fit"] in {"strong", "possible"} for r in results)


def test_partners_in_sectors_the_directory_does_not_hold_are_none(client: FlaskClient) -> None:
    body = {"organisation": {"name": "Charity", "sector": "third", "postcode": "LS1 1UN"},
            "seeks": {"capabilities": "construction", "sectors": ["private"]}}
    answer = client.post("/partners", json=body).json
    assert answer == {"sectors_searched": [], "results": []}
