"""Every hostile input that once made a 500 (or was accepted and stopped the consumer) gets a 4xx
with the problem shape naming the field, on every service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from services.directory.app import create_app as directory_app
from services.ingest.app import create_app as ingest_app
from services.matcher.app import create_app as matcher_app
from shared.accounts import Role, SqliteAccountStore
from shared.limits import MAX_JSON_DEPTH, MAX_REQUIREMENTS


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("hostile")
    store = SqliteAccountStore(f"{tmp}/accounts.db")
    org = store.create_organisation("Builder plc")
    _, member = store.create_key(Role.member, org.id)
    _, admin = store.create_key(Role.admin)
    config = {"events_url": f"sqlite:///{tmp}/events.db", "search_url": f"sqlite:///{tmp}/s.db",
              "accounts_url": f"sqlite:///{tmp}/accounts.db"}
    return {"ingest": ingest_app(config).test_client(), "matcher": matcher_app(config).test_client(),
            "directory": directory_app(config).test_client(), "member": member, "admin": admin, "org": org.id}


def problem(response: Any, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert set(body) == {"detail", "errors"}
    if field is not None:
        assert field in {e["field"] for e in body["errors"]}, body


SPEND = {"reference": "a", "date": "2025-01-01", "amount_pence": 100, "supplier_id": "x:1"}
ITEM = {"id": "1", "classification": {"scheme": "CPV", "id": "90910000"},
        "deliveryAddresses": [{"postalCode": "LS1 1UN"}]}
TENDER = {"ocid": "o", "tender": {"id": "t", "title": "Cleaning", "items": [ITEM]}}


def spend(world: dict[str, Any], **kwargs: Any) -> Any:
    client: FlaskClient = world["ingest"]
    return client.post("/spend", headers={"X-API-Key": world["member"]}, **kwargs)


@pytest.mark.parametrize(("record", "field"), [
    ({**SPEND, "amount_pence": 9223372036854775808}, "[0].amount_pence"),
    ({**SPEND, "amount_pence": 10**12 + 1}, "[0].amount_pence"),
    ({**SPEND, "date": "9999-12-31"}, "[0].date"),
    ({**SPEND, "updated_at": "0001-01-01T00:00:00+01:00"}, "[0].updated_at"),
])
def test_spend_numbers_and_dates_are_bounded(world: dict[str, Any], record: dict[str, Any], field: str) -> None:
    problem(spend(world, json=[record]), 422, field)


@pytest.mark.parametrize("amount", ["1E+400000", "Infinity", "-Infinity", "NaN", "10000000001"])
def test_csv_amounts_are_bounded(world: dict[str, Any], amount: str) -> None:
    body = f"reference,date,amount,supplier_id\na,2025-01-01,{amount},x:1\n"
    problem(spend(world, data=body, content_type="text/csv"), 422, "line 2: amount")  # the file's own line and column


def test_json_without_its_numbers_is_a_400(world: dict[str, Any]) -> None:
    body = json.dumps(SPEND).replace("100", "Infinity")
    problem(spend(world, data=body, content_type="application/json"), 400, "body")


def test_a_listing_dated_at_the_end_of_time_is_refused(world: dict[str, Any]) -> None:
    listing = {"id": "t:1", "name": "x", "source": "t", "postcode": "LS1 1UN",
               "updated_at": "9999-12-31T23:00:00-05:00"}
    problem(world["ingest"].post("/listings", json=listing, headers={"X-API-Key": world["admin"]}), 422, "updated_at")


@pytest.mark.parametrize("amount", [1e308, -1, "Infinity"])
def test_an_ocds_value_out_of_range_is_a_4xx(world: dict[str, Any], amount: Any) -> None:
    tender = {**TENDER, "tender": {**TENDER["tender"], "value": {"amount": 0, "currency": "GBP"}}}
    body = json.dumps(tender).replace('"amount": 0', f'"amount": {amount}')
    response = world["matcher"].post("/match", data=body, content_type="application/json")
    assert response.status_code in (400, 422)
    if response.status_code == 422:
        problem(response, 422, "tender.value.amount")


def test_targets_and_their_reports_are_bounded(world: dict[str, Any]) -> None:
    client: FlaskClient = world["matcher"]
    headers = {"X-API-Key": world["member"]}
    base = f"/organisations/{world['org']}"
    target = {"name": "t", "start": "2025-01-01", "end": "9999-12-31", "amount_pence": 100}
    problem(client.put(f"{base}/targets/t1", headers=headers, json=target), 422, "end")
    problem(client.put(f"{base}/targets/t1", headers=headers, json={**target, "end": "2199-12-31"}), 422)
    assert client.put(f"{base}/targets/t1", headers=headers, json={**target, "end": "2025-12-31"}).status_code == 200
    problem(client.get(f"{base}/targets/t1/report?as_of=9999-12-31", headers=headers), 400, "as_of")
    package = {"lot": {"title": "x", "postcode": "LS1 1UN"}, "value_pence": 10**30, "expected_on": "2026-01-01"}
    problem(client.put(f"{base}/pipeline/p1", headers=headers, json=package), 422, "value_pence")


@pytest.mark.parametrize("key", ["smk_a€_b", "smk_" + "a" * 300, "smk a b"])
def test_a_key_that_cannot_be_a_key_is_a_401(world: dict[str, Any], key: str) -> None:
    problem(world["matcher"].get("/organisations", headers={"X-API-Key": key.encode().decode("latin-1")}), 401)


def test_the_buy_social_form_refuses_a_key_that_cannot_be_a_key(world: dict[str, Any]) -> None:
    response = world["directory"].post("/buy-social", data={"organisation_id": world["org"], "api_key": "smk_a€_b"})
    assert response.status_code == 400 and "API key" in response.get_data(as_text=True)


DEEP = "[" * 100_000 + "]" * 100_000
JUST_TOO_DEEP = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
JSON_ROUTES = [("matcher", "post", "/match"), ("matcher", "post", "/consortia"), ("matcher", "post", "/partners"),
               ("ingest", "post", "/listings"), ("ingest", "post", "/spend"),
               ("matcher", "put", "/organisations/ORG/targets/t1")]


@pytest.mark.parametrize(("service", "method", "path"), JSON_ROUTES)
@pytest.mark.parametrize("body", [DEEP, JUST_TOO_DEEP, '{"a": NaN}', "{"], ids=["100000", "65", "nan", "torn"])
def test_every_json_route_refuses_bad_json_with_a_400(world: dict[str, Any], service: str, method: str, path: str,
                                                      body: str) -> None:
    key = world["admin"] if path == "/listings" else world["member"]
    call = getattr(world[service], method)
    problem(call(path.replace("ORG", world["org"]), data=body, content_type="application/json",
                 headers={"X-API-Key": key}), 400, "body")


@pytest.mark.parametrize(("service", "method", "path"), JSON_ROUTES)
def test_every_json_route_refuses_another_content_type_with_a_415(world: dict[str, Any], service: str, method: str,
                                                                 path: str) -> None:
    key = world["admin"] if path == "/listings" else world["member"]
    call = getattr(world[service], method)
    problem(call(path.replace("ORG", world["org"]), data=json.dumps({"title": "x"}), content_type="text/plain",
                 headers={"X-API-Key": key}), 415, "Content-Type")


@pytest.mark.parametrize(("service", "path"), [("matcher", "/match"), ("ingest", "/spend"), ("directory", "/lots")])
def test_every_service_refuses_an_oversized_body_with_a_413(world: dict[str, Any], service: str, path: str) -> None:
    client: FlaskClient = world[service]
    limit = client.application.config["MAX_CONTENT_LENGTH"]
    response = client.post(path, data=b"x" * (limit + 1), content_type="application/json",
                           headers={"X-API-Key": world["member"]})
    assert response.status_code == 413


def test_a_consortium_of_too_many_cpv_codes_is_refused(world: dict[str, Any]) -> None:
    codes = [f"{45000000 + i * 1000:08d}" for i in range(MAX_REQUIREMENTS + 1)]
    body = {"lot": {"title": "Works", "postcode": "LS1 1UN", "cpv_codes": codes}}
    problem(world["matcher"].post("/consortia", json=body), 422, "lot.cpv_codes")


def test_a_lot_with_too_many_cpv_codes_is_refused(world: dict[str, Any]) -> None:
    codes = [f"{45000000 + i * 10:08d}" for i in range(201)]
    problem(world["matcher"].post("/match", json={"title": "Works", "postcode": "LS1 1UN", "cpv_codes": codes}),
            422, "cpv_codes")


def test_an_ocds_item_listing_thousands_of_codes_is_refused(world: dict[str, Any]) -> None:
    items = [{"id": str(i), "classification": {"scheme": "CPV", "id": f"{45000000 + i * 10:08d}"},
              "deliveryAddresses": [{"postalCode": "LS1 1UN"}]} for i in range(1000)]
    body = {"ocid": "o", "tender": {"id": "t", "title": "Works", "items": items}}
    problem(world["matcher"].post("/match", json=body), 422)


def test_an_ocds_package_for_a_consortium_of_too_many_lots_is_refused(world: dict[str, Any]) -> None:
    lots = [{"id": f"L{i}", "title": f"Lot {i}"} for i in range(MAX_REQUIREMENTS + 1)]
    items = [{"id": f"i{i}", "relatedLot": f"L{i}", "classification": {"scheme": "CPV", "id": "90910000"},
              "deliveryAddresses": [{"postalCode": "LS1 1UN"}]} for i in range(MAX_REQUIREMENTS + 1)]
    body = {"ocid": "o", "tender": {"id": "t", "title": "Works", "lots": lots, "items": items}}
    problem(world["matcher"].post("/consortia", json=body), 422, "tender.lots")


def test_one_radius_limit_for_every_service(world: dict[str, Any]) -> None:
    assert world["directory"].get("/search?postcode=LS1%201UN&radius_km=1200").status_code != 400
    problem(world["directory"].get("/search?postcode=LS1%201UN&radius_km=1501"), 400, "radius_km")
    problem(world["matcher"].post("/match", json={"title": "x", "postcode": "LS1 1UN", "radius_km": 1501}),
            422, "radius_km")


def test_a_long_query_string_gets_the_problem_shape(world: dict[str, Any]) -> None:
    problem(world["directory"].get("/search?q=" + "a" * 8000), 400, "q")


def test_unknown_body_root_paths_keep_the_shape(world: dict[str, Any], tmp_path: Path) -> None:
    problem(world["matcher"].get("/no-such-route"), 404)
    problem(world["matcher"].delete("/match"), 405)


@pytest.mark.parametrize(("service", "path"), [("directory", "/"), ("directory", "/lots"), ("directory", "/docs"),
                                               ("directory", "/no-such-page"), ("matcher", "/healthz"),
                                               ("ingest", "/healthz"), ("matcher", "/no-such-route")])
def test_every_response_carries_the_security_headers(world: dict[str, Any], service: str, path: str) -> None:
    headers = world[service].get(path).headers
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "unsafe-inline" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"


def test_the_only_inline_script_is_the_one_the_policy_hashes(world: dict[str, Any]) -> None:
    import re

    from services.directory.inline_scripts import csp_hash

    response = world["directory"].get("/lots")
    page = response.get_data(as_text=True)
    inline = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert inline and all(csp_hash(script) in response.headers["Content-Security-Policy"] for script in inline)
    assert " style=" not in page


@pytest.mark.parametrize("listing_id", ["coop:..", "coop:a/../b", "coop:./x", "coop:a/."])
def test_listing_ids_with_dot_segments_are_refused(world: dict[str, Any], listing_id: str) -> None:
    listing = {"id": listing_id, "name": "x", "source": "t", "postcode": "LS1 1UN",
               "updated_at": "2025-01-01T00:00:00Z"}
    problem(world["ingest"].post("/listings", json=listing, headers={"X-API-Key": world["admin"]}), 422, "id")


@pytest.mark.parametrize(("kind", "field"), [("targets", "target_id"), ("pipeline", "package_id")])
def test_target_and_package_ids_with_dot_segments_are_refused(world: dict[str, Any], kind: str, field: str) -> None:
    body = ({"name": "t", "start": "2025-01-01", "end": "2025-12-31", "amount_pence": 100} if kind == "targets" else
            {"lot": {"title": "x", "postcode": "LS1 1UN"}, "value_pence": 100, "expected_on": "2026-01-01"})
    for item in ("..", "."):
        response = world["matcher"].put(f"/organisations/{world['org']}/{kind}/{item}",
                                        headers={"X-API-Key": world["member"]}, json=body)
        assert response.status_code in (400, 404, 405)  # never stored
        if response.status_code == 400:
            problem(response, 400, field)


def test_an_ocds_package_asking_too_many_results_is_refused(world: dict[str, Any]) -> None:
    lots = [{"id": f"L{i}", "title": f"Lot {i}"} for i in range(20)]
    items = [{"id": f"i{i}", "relatedLot": f"L{i}", "classification": {"scheme": "CPV", "id": "90910000"},
              "deliveryAddresses": [{"postalCode": "LS1 1UN"}]} for i in range(20)]
    body = {"ocid": "o", "tender": {"id": "t", "title": "Works", "lots": lots, "items": items}}
    problem(world["matcher"].post("/match?limit=100", json=body), 400, "limit")


@pytest.mark.parametrize(("extra", "field"), [({"categories": ["x"] * 201}, "categories"),
                                              ({"services": ["y" * 501]}, "services.0")])
def test_lists_in_a_listing_are_bounded(world: dict[str, Any], extra: dict[str, Any], field: str) -> None:
    listing = {"id": "t:1", "name": "x", "source": "t", "postcode": "LS1 1UN", "updated_at": "2025-01-01T00:00:00Z",
               **extra}
    problem(world["ingest"].post("/listings", json=listing, headers={"X-API-Key": world["admin"]}), 422, field)


@pytest.mark.parametrize("path", ["/lots", "/consortia"])
def test_a_deeply_nested_upload_is_refused_on_the_pages(world: dict[str, Any], path: str) -> None:
    import io

    data = {"ocds": (io.BytesIO(DEEP.encode()), "deep.json"), "mode": "ocds"}
    response = world["directory"].post(path, data=data, content_type="multipart/form-data")
    assert 400 <= response.status_code < 500, response.status_code
