"""The directory's JSON API and pages over an embedded index the tests fill themselves."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import Phase
from schemathesis.specs.openapi.checks import positive_data_acceptance

from services.directory.app import create_app
from services.directory.export import neutralise
from services.directory.search_params import SearchParams
from shared.search.factory import open_search_index
from tests.factories import BELFAST, directory, doc, indexed
from tests.noida import NoidaServer
from tests.openapi_fuzz import fuzz_settings, openapi_schema

# Text that must never reach a page or a spreadsheet as markup or a formula.
TRICKY = doc("t:tricky", '=HYPERLINK("http://evil") <b>Cleaning</b>', at=BELFAST, legal_form="cic",
             description="<script>alert('x')</script> Cleaning & more", categories=["-2+3"],
             region="Northern Ireland")
LISTINGS = [*directory(), TRICKY]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    path = tmp_path_factory.mktemp("directory")
    url = f"sqlite:///{path}/search.db"
    indexed(url, LISTINGS)
    # Port 9 (discard) refuses connections at once: the lot page's "matcher unreachable" path.
    app = create_app({"search_url": url, "index_prefix": "test_", "matcher_url": "http://127.0.0.1:9"})
    app.testing = True
    yield app


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="module")
def elastic_app(noida: NoidaServer) -> Iterator[Flask]:
    prefix = f"d{uuid.uuid4().hex[:8]}-"
    index = open_search_index(noida.es_url, prefix=prefix)
    index.ensure_index()
    assert not index.bulk_upsert(LISTINGS).failed
    index.refresh()
    app = create_app({"search_url": noida.es_url, "index_prefix": prefix})
    app.testing = True
    yield app
    index.drop()
    index.close()


@pytest.fixture(params=["embedded", "elastic"])
def any_client(request: pytest.FixtureRequest) -> FlaskClient:
    """The same API over either backend: answers must not depend on it."""
    app: Flask = request.getfixturevalue("app" if request.param == "embedded" else "elastic_app")
    return app.test_client()


def _ids(body: dict[str, Any]) -> list[str]:
    return [r["id"] for r in body["results"]]


def _buckets(body: dict[str, Any], facet: str) -> dict[str, int]:
    return {b["value"]: b["count"] for b in body["facets"][facet]}


def test_text_and_postcode_radius_give_distances_and_facets(any_client: FlaskClient) -> None:
    body = any_client.get("/search?q=cleaning&postcode=LS1%201UN&radius_km=30&sort=distance").json
    assert _ids(body) == ["t:clean-leeds", "t:clean-bradford"]
    assert body["results"][0]["distance_km"] < 3
    assert body["location"]["radius_km"] == 30
    assert _buckets(body, "legal_form") == {"cic": 1, "cooperative": 1}


def test_filters_and_hierarchical_cpv(any_client: FlaskClient) -> None:
    body = any_client.get("/search?cpv=909&legal_form=cooperative").json
    assert _ids(body) == ["t:clean-bradford"]
    assert _buckets(body, "cpv") == {"50000000": 1, "79310000": 1, "90911200": 1}  # CPV codes of co-operatives


def test_each_facet_ignores_its_own_filter_and_honours_the_others(any_client: FlaskClient) -> None:
    body = any_client.get("/search?legal_form=cic&region=Yorkshire+and+The+Humber").json
    assert _ids(body) == ["t:clean-leeds"]
    # legal forms across Yorkshire (the region filter applies, the legal-form one does not)
    assert _buckets(body, "legal_form") == {"charity": 1, "cic": 1, "cooperative": 1}
    # regions across CICs
    assert _buckets(body, "region") == {"Northern Ireland": 1, "Yorkshire and The Humber": 1}
    # a facet without a filter counts the results themselves
    assert _buckets(body, "impact_area") == {"employment": 1, "reducing_reoffending": 1}


def test_matches_are_highlighted_and_data_escaped(any_client: FlaskClient) -> None:
    results = {r["id"]: r for r in any_client.get("/search?q=cleaning").json["results"]}
    assert results["t:clean-leeds"]["highlight"]["name"] == "Sparkle <mark>Cleaning</mark> CIC"
    assert "<mark>cleaning</mark>" in results["t:clean-leeds"]["highlight"]["description"]
    tricky = results["t:tricky"]["highlight"]
    assert tricky["name"] == "=HYPERLINK(&#34;http://evil&#34;) &lt;b&gt;<mark>Cleaning</mark>&lt;/b&gt;"
    assert tricky["description"].startswith("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; <mark>Cleaning</mark>")
    assert results["t:tricky"]["description"] == "<script>alert('x')</script> Cleaning & more"  # plain text


def test_a_word_no_listing_uses_is_corrected_and_says_so(any_client: FlaskClient) -> None:
    body = any_client.get("/search?q=cleening&postcode=LS1&radius_km=30").json
    assert "t:clean-leeds" in _ids(body) and body["fuzzy"] is False
    assert body["corrections"] == [{"typed": "cleening", "searched": "cleaning"}]
    assert any_client.get("/search?q=cleaning").json["corrections"] == []


def test_known_words_are_never_corrected_and_the_empty_answer_says_why(any_client: FlaskClient) -> None:
    text = any_client.get("/search?q=cleaning+bicycles").json
    assert text["total"] == 0 and text["corrections"] == [] and text["empty"]["cause"] == "text"
    radius = any_client.get("/search?q=bicycle&postcode=LS1&radius_km=20").json
    assert radius["empty"]["cause"] == "radius"
    assert [n["name"] for n in radius["empty"]["nearest"]] == ["Bicycle Doctor"]
    assert radius["empty"]["nearest"][0]["distance_km"] == pytest.approx(58, abs=3)
    by_filter = any_client.get("/search?q=bicycle&legal_form=cic").json
    assert by_filter["empty"]["cause"] == "filter" and by_filter["empty"]["filters"] == ["legal_form"]
    assert any_client.get("/search?q=cleaning").json["empty"] is None
    # Sorted by distance, empty anywhere: the text and a filter are what emptied it, not the radius.
    nowhere = any_client.get("/search?q=bicycle+cleaning&postcode=LS1&radius_km=20&sort=distance&legal_form=cic")
    assert nowhere.status_code == 200 and nowhere.json["empty"]["cause"] in {"text", "filter"}


@pytest.mark.parametrize(
    ("query", "field"),
    [("region=Narnia", "region"), ("legal_form=plc", "legal_form"), ("impact_area=fun", "impact_area"),
     ("cpv=99999", "cpv"), ("category=nonsense", "category"), ("size_band=huge", "size_band")],
)
def test_an_unknown_filter_value_is_a_400_naming_it(any_client: FlaskClient, query: str, field: str) -> None:
    response = any_client.get(f"/search?q=cleaning&{query}")
    assert response.status_code == 400
    [error] = response.json["errors"]
    assert error["field"] == field and query.split("=")[1] in error["message"]


def test_every_parameter_error_at_once_in_plain_words(any_client: FlaskClient) -> None:
    response = any_client.get("/search?postcode=ZZ99+9ZZ&radius_km=abc&sort=sideways&region=Narnia")
    messages = {e["field"]: e["message"] for e in response.json["errors"]}
    assert response.status_code == 400 and set(messages) == {"postcode", "radius_km", "sort", "region"}
    assert messages["radius_km"].startswith("Distance must be a number")
    assert messages["postcode"].startswith("Enter a real postcode")


def test_a_match_in_services_gets_its_own_snippet(client: FlaskClient) -> None:
    [hit] = client.get("/search?q=bicycle+repair").json["results"]
    assert hit["highlight"]["services"] == "<mark>bicycle</mark> <mark>repair</mark>"
    assert client.get("/search?q=bicycle").json["results"][0]["highlight"]["services"] is not None


def test_cursor_walks_every_result_once_in_page_order(any_client: FlaskClient) -> None:
    by_page = [_ids(any_client.get(f"/search?sort=name&per_page=3&page={n}").json) for n in (1, 2, 3)]
    walked, cursor = [], None
    while True:
        paging = {"cursor": cursor} if cursor else {}
        body = any_client.get("/search", query_string={"sort": "name", "per_page": 3, **paging}).json
        walked.append(_ids(body))
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert walked == by_page and sum(map(len, walked)) == len(LISTINGS)


def test_a_cursor_page_reports_the_whole_search(any_client: FlaskClient) -> None:
    first = any_client.get("/search?sort=name&per_page=3").json
    paging = {"sort": "name", "per_page": 3, "cursor": first["next_cursor"]}
    second = any_client.get("/search", query_string=paging).json
    assert second["page"] == 2 and second["facets"] == first["facets"]
    assert second["total"] == first["total"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("postcode=ZZ99%209ZZ", "postcode"),
        ("postcode=hello", "postcode"),
        ("postcode=LS1&radius_km=-5", "radius_km"),
        ("postcode=LS1&radius_km=100000", "radius_km"),
        ("postcode=LS1&radius_km=1e308", "radius_km"),
        ("postcode=LS1&radius_km=nan", "radius_km"),
        ("postcode=LS1&radius_km=inf", "radius_km"),
        ("lat=nan&lon=0", "lat"),
        ("radius_km=10", "radius_km"),
        ("lat=53.8", ""),
        ("sort=distance", "sort"),
        ("sort=random", "sort"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page=9999&per_page=100", "page"),
        ("per_page=1000", "per_page"),
        ("cpv=abc", "cpv"),
        ("unknown=1", "unknown"),
        ("q=" + "x" * 600, "q"),
        ("region=" + "x" * 300, "region.0"),
        ("&".join(["region=x"] * 21), "region"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=" + "x" * 600, "cursor"),
    ],
)
def test_bad_parameters_get_400_naming_the_field(client: FlaskClient, query: str, field: str) -> None:
    response = client.get(f"/search?{query}")
    assert response.status_code == 400, response.json
    assert response.json["detail"]
    if field:
        assert field in {e["field"] for e in response.json["errors"]}


def test_a_cursor_is_refused_on_another_search_or_with_a_page(any_client: FlaskClient) -> None:
    cursor = any_client.get("/search?per_page=2").json["next_cursor"]
    assert any_client.get("/search", query_string={"per_page": 2, "cursor": cursor}).status_code == 200
    elsewhere = any_client.get("/search", query_string={"per_page": 2, "cursor": cursor, "region": "North West"})
    assert elsewhere.status_code == 400 and elsewhere.json["errors"][0]["field"] == "cursor"
    assert any_client.get("/search", query_string={"page": 2, "cursor": cursor}).status_code == 400


def test_unknown_postcode_says_so(client: FlaskClient) -> None:
    assert client.get("/search?postcode=ZZ99%209ZZ").json["detail"] == "postcode not recognised"


@pytest.mark.parametrize(
    "q", ['"', '"unbalanced', "clean*", "*", "a:b", "name:x", "(", "(((", ")", "NEAR", "NEAR(a b)", "AND", "a AND",
          "OR", "NOT", "-", "+clean", "clean~", "^", "{", "[", "/", "!", "\\", "\x00", "ü", "😀"],
)
def test_query_syntax_characters_are_literal(any_client: FlaskClient, q: str) -> None:
    for extra in ({}, {"postcode": "LS1", "radius_km": 50}):
        response = any_client.get("/search", query_string={"q": q, **extra})
        assert response.status_code == 200, (q, response.json)
    assert _ids(any_client.get("/search", query_string={"q": '"cleaning" AND (window*'}).json) == ["t:clean-leeds"]


def test_page_past_the_end_is_empty(any_client: FlaskClient) -> None:
    body = any_client.get("/search?page=50").json
    assert body["results"] == [] and body["total"] == len(LISTINGS) and body["next_cursor"] is None


def test_listing_by_id_and_404(client: FlaskClient) -> None:
    assert client.get("/listings/t:clean-leeds").json["name"] == "Sparkle Cleaning CIC"
    missing = client.get("/listings/t:absent")
    assert missing.status_code == 404 and missing.json["detail"]


def test_suggest_names_categories_regions_and_places(any_client: FlaskClient) -> None:
    found = any_client.get("/suggest?q=spark").json["suggestions"]
    assert found[0] == {"kind": "name", "label": "Sparkle Cleaning CIC", "param": "q", "value": "Sparkle Cleaning CIC",
                        "listing_id": "t:clean-leeds"}
    assert ("category", "category", "cleaning") in {(s["kind"], s["param"], s["value"]) for s in
                                                    any_client.get("/suggest?q=clea").json["suggestions"]}
    assert ("region", "Yorkshire and The Humber") in {(s["param"], s["value"]) for s in
                                                      any_client.get("/suggest?q=york").json["suggestions"]}
    places = any_client.get("/suggest?q=leeds&limit=3").json["suggestions"]
    assert [s["value"] for s in places if s["kind"] == "place"] == ["LS1", "LS2", "LS3"]
    assert {s["param"] for s in places if s["kind"] == "place"} == {"postcode"}
    assert any_client.get("/suggest?q=ls1&limit=2").json["suggestions"][-2]["value"] == "LS1"


@pytest.mark.parametrize("query", ["", "q=", "q=%20", "q=" + "x" * 101, "q=a&limit=0", "q=a&limit=x", "q=a&limit=99"])
def test_bad_suggest_input_is_a_400(client: FlaskClient, query: str) -> None:
    response = client.get(f"/suggest?{query}")
    assert response.status_code == 400 and response.json["errors"]


def test_export_streams_every_match_as_safe_csv(any_client: FlaskClient) -> None:
    response = any_client.get("/export.csv?q=cleaning&sort=name")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["id"] for r in rows] == _ids(any_client.get("/search?q=cleaning&sort=name").json)
    tricky = next(r for r in rows if r["id"] == "t:tricky")
    assert tricky["name"].startswith("'=HYPERLINK") and tricky["categories"] == "'-2+3"
    leeds = next(r for r in rows if r["id"] == "t:clean-leeds")
    assert leeds["services"] == "office cleaning; window cleaning" and leeds["legal_form"] == "cic"


def test_export_checks_parameters_before_streaming(client: FlaskClient) -> None:
    response = client.get("/export.csv?postcode=nowhere")
    assert response.status_code == 400 and response.json["detail"] == "postcode not recognised"


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_neutralised(cell: str) -> None:
    assert neutralise(cell) == "'" + cell
    assert neutralise("plain -1") == "plain -1"


def test_openapi_documents_every_search_parameter(client: FlaskClient) -> None:
    document = client.get("/openapi.json").json
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {"/search", "/listings/{listing_id}", "/suggest", "/export.csv", "/healthz",
                                      "/readyz"}
    documented = {p["name"] for p in document["paths"]["/search"]["get"]["parameters"]}
    assert documented == set(SearchParams.model_fields)


def test_search_page_renders_facets_results_and_shareable_links(client: FlaskClient) -> None:
    page = client.get("/?q=cleaning&postcode=LS1%201UN&radius_km=30&legal_form=cic")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "Sparkle <mark>Cleaning</mark> CIC" in html and "km away" in html
    assert 'name="legal_form" type="checkbox" value="cooperative"' in html  # still offered while cic is ticked
    assert 'value="cic" checked' in html
    assert "/export.csv?q=cleaning&amp;postcode=LS1+1UN&amp;radius_km=30&amp;legal_form=cic" in html
    assert "Remove filter" in html


def test_pages_escape_listing_text(client: FlaskClient) -> None:
    html = client.get("/?q=cleaning").get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    profile = client.get("/suppliers/t:tricky").get_data(as_text=True)
    assert "<b>Cleaning</b>" not in profile and "&lt;b&gt;Cleaning&lt;/b&gt;" in profile


def test_pagination_keeps_the_search_in_the_url(client: FlaskClient) -> None:
    html = client.get("/?per_page=2&sort=name&page=2").get_data(as_text=True)
    assert 'href="/?per_page=2&amp;sort=name&amp;page=3" rel="next"' in html
    assert 'aria-current="page">2</a>' in html


def test_profile_and_lot_pages(client: FlaskClient) -> None:
    profile = client.get("/suppliers/t:clean-leeds").get_data(as_text=True)
    assert "ex-offenders" in profile and "Last updated" in profile and "2025-01-01" in profile
    assert "Reducing reoffending" in profile and "90910000 Cleaning services" in profile
    assert client.get("/lots").status_code == 200
    unreachable = client.post("/lots", data={"title": "Cleaning", "postcode": "LS1"})
    assert unreachable.status_code == 400 and "not reachable" in unreachable.get_data(as_text=True)
    assert client.get("/docs").status_code == 200


def test_page_errors_are_html(client: FlaskClient) -> None:
    bad = client.get("/?postcode=nonsense")
    assert bad.status_code == 400 and bad.mimetype == "text/html"
    assert "There is a problem" in bad.get_data(as_text=True)
    missing = client.get("/suppliers/t:absent")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert "Page not found" in missing.get_data(as_text=True)
    assert client.get("/listings/t:absent").mimetype == "application/json"  # the API stays JSON


@pytest.fixture()
def api_schema(app: Flask) -> Any:
    return openapi_schema(app, max_examples=50)


schema = schemathesis.pytest.from_fixture("api_schema")


# No deadline: a first request loads the gazetteer, and speed is not what this test checks. No
# explicit phase: it is where schemathesis's coverage cases come from, which grow combinatorially
# with /search's 16 parameters (minutes per run); random generation keeps to max_examples.
@schema.parametrize()
@fuzz_settings(max_examples=50, phases=[Phase.reuse, Phase.generate, Phase.shrink])
def test_openapi_conformance(case: schemathesis.Case) -> None:
    # Schema-valid parameters can still be refused: a postcode that does not exist, a radius
    # without a place. Every other check (no 5xx, documented statuses and bodies) applies.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
