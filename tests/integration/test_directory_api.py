"""The directory's JSON API and pages over an embedded index the test fills itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from shared.search.factory import open_search_index
from services.directory.app import create_app
from tests.factories import directory


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    url = f"sqlite:///{tmp_path}/search.db"
    index = open_search_index(url)
    index.ensure_index()
    index.bulk_upsert(directory())
    index.close()
    app = create_app({"search_url": url, "events_url": f"sqlite:///{tmp_path}/events.db"})
    app.testing = True
    return app.test_client()


def test_text_and_postcode_radius_give_distances_and_facets(client: FlaskClient) -> None:
    body = client.get("/search?q=cleaning&postcode=LS1%201UN&radius_km=30&sort=distance").json
    assert [r["id"] for r in body["results"]] == ["t:clean-leeds", "t:clean-bradford"]
    assert body["results"][0]["distance_km"] < 3
    assert {b["value"] for b in body["facets"]["legal_form"]} == {"cic", "cooperative"}


def test_filters_and_hierarchical_cpv(client: FlaskClient) -> None:
    body = client.get("/search?cpv=909&legal_form=cooperative").json
    assert [r["id"] for r in body["results"]] == ["t:clean-bradford"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("postcode=ZZ99%209ZZ", "postcode"),
        ("postcode=hello", "postcode"),
        ("postcode=LS1&radius_km=-5", "radius_km"),
        ("postcode=LS1&radius_km=100000", "radius_km"),
        ("radius_km=10", "radius_km"),
        ("lat=53.8", ""),
        ("sort=distance", "sort"),
        ("page=0", "page"),
        ("per_page=1000", "per_page"),
        ("cpv=abc", "cpv"),
        ("unknown=1", "unknown"),
        ("q=" + "x" * 600, "q"),
    ],
)
def test_bad_parameters_get_400_naming_the_field(client: FlaskClient, query: str, field: str) -> None:
    response = client.get(f"/search?{query}")
    assert response.status_code == 400, response.json
    assert response.json["detail"]
    if field:
        assert field in {e["field"] for e in response.json["errors"]}


def test_unknown_postcode_says_so(client: FlaskClient) -> None:
    assert client.get("/search?postcode=ZZ99%209ZZ").json["detail"] == "postcode not recognised"


@pytest.mark.parametrize("q", ['"', "clean*", "a:b", "(", "NEAR", "AND", "\\"])
def test_query_syntax_characters_never_500(client: FlaskClient, q: str) -> None:
    assert client.get("/search", query_string={"q": q}).status_code == 200


def test_page_past_the_end_is_empty(client: FlaskClient) -> None:
    body = client.get("/search?page=50").json
    assert body["results"] == [] and body["total"] == 6


def test_listing_by_id_and_404(client: FlaskClient) -> None:
    assert client.get("/listings/t:clean-leeds").json["name"] == "Sparkle Cleaning CIC"
    missing = client.get("/listings/t:absent")
    assert missing.status_code == 404 and missing.json["detail"]


def test_pages_render_without_javascript(client: FlaskClient) -> None:
    page = client.get("/?q=cleaning&postcode=LS1%201UN&radius_km=30")
    assert page.status_code == 200 and b"Sparkle Cleaning CIC" in page.data and b"km away" in page.data
    profile = client.get("/suppliers/t:clean-leeds")
    assert profile.status_code == 200 and b"ex-offenders" in profile.data
    assert client.get("/lots").status_code == 200
    assert client.get("/?postcode=nonsense").status_code == 400
