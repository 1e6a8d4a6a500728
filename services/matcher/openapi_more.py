"""OpenAPI paths for the brokers' and the Buy Social endpoints, merged into the matcher's document.

Request schemas come from the pydantic models (so the document cannot drift from validation);
responses are written out. Buy Social operations declare the `X-API-Key` security scheme and
every refusal they can give: 401 (no or bad key), 403 (wrong role), 404 (not yours, or absent).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from services.matcher.brokers import ConsortiumRequest, PartnerRequest
from services.matcher.openapi import _array, _json, _nullable, _problem, _ref, to_openapi30
from services.matcher.spend.api import KeyBody, OrganisationBody
from services.matcher.spend.links import LinkDecisionBody
from services.matcher.spend.store import PackageBody, TargetBody
from shared.spend_store import LINK_STATUSES

Schema = dict[str, Any]
NUMBER: Schema = {"type": "number"}
TEXT: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
MODELS: dict[str, type[BaseModel]] = {
    "ConsortiumRequest": ConsortiumRequest, "PartnerRequest": PartnerRequest, "TargetBody": TargetBody,
    "PackageBody": PackageBody, "OrganisationBody": OrganisationBody, "KeyBody": KeyBody,
    "LinkDecisionBody": LinkDecisionBody,
}
SECURED: Schema = {"security": [{"ApiKey": []}]}
PLACEMENT_FIELDS = ["package_id", "supplier_id", "supplier_name", "distance_km", "fit", "reason", "match_score",
                    "value_pence", "value_in_period_pence", "closes_pence"]


def model_schemas() -> dict[str, Schema]:
    out: dict[str, Schema] = {}
    for name, model in MODELS.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out |= {n: to_openapi30(s) for n, s in schema.pop("$defs", {}).items()}
        out[name] = to_openapi30(schema)
    return out


def response_schemas() -> dict[str, Schema]:
    obj = {"type": "object"}
    return {
        "PartnerResults": {"type": "object", "required": ["sectors_searched", "results"], "properties": {
            "sectors_searched": _array(TEXT),
            "results": _array({"type": "object", "required": ["listing_id", "name", "score", "features", "adds",
                                                               "reason"], "properties": {
                "listing_id": TEXT, "name": TEXT, "score": NUMBER, "distance_km": _nullable(NUMBER),
                "features": obj, "reason": TEXT,
                "adds": {"type": "object", "additionalProperties": _array(TEXT)}}})}},
        "Consortia": {"type": "object", "required": ["requirements", "uncoverable", "method", "proposals"],
                      "properties": {
            "requirements": _array({"type": "object", "required": ["id", "label"],
                                    "properties": {"id": TEXT, "label": TEXT}}),
            "uncoverable": _array(TEXT),
            "method": {"type": "string", "enum": ["exact", "beam"]},
            "proposals": _array({"type": "object", "required": ["score", "coverage", "members", "uncovered"],
                                 "properties": {"score": NUMBER, "coverage": NUMBER, "parts": obj,
                                                "uncovered": _array(TEXT), "members": _array(obj)}})}},
        "Organisation": {"type": "object", "required": ["id", "name"], "properties": {"id": TEXT, "name": TEXT}},
        "NewKey": {"type": "object", "required": ["id", "organisation_id", "role", "key"],
                   "properties": {"id": TEXT, "organisation_id": TEXT, "role": TEXT, "key": TEXT}},
        "Report": {"type": "object", "required": ["target", "progress", "unlinked_references",
                                                  "unconfirmed_references"],
                   "properties": {"target": obj, "progress": obj, "unlinked_references": _array(TEXT),
                                  "unconfirmed_references": _array(TEXT), "monthly": _array(obj)}},
        "SpendLink": {"type": "object", "required": ["reference", "status", "candidates"], "properties": {
            "reference": TEXT, "supplier_key": TEXT, "date": TEXT, "amount_pence": INTEGER,
            "supplier_name": _nullable(TEXT),
            "supplier_postcode": _nullable(TEXT), "status": {"type": "string", "enum": list(LINK_STATUSES)},
            "counted_supplier_id": _nullable(TEXT), "suggested_supplier_id": _nullable(TEXT),
            "candidates": _array({"type": "object", "required": ["supplier_id", "name", "score"], "properties": {
                "supplier_id": TEXT, "name": TEXT, "score": NUMBER, "place_agrees": _nullable({"type": "boolean"})}}),
            "decision": _nullable(obj)}},
        "Recommendations": {"type": "object", "required": ["gap_pence", "covered_pence", "closes_gap", "placements"],
                            "properties": {"gap_pence": INTEGER, "covered_pence": INTEGER,
                                           "closes_gap": {"type": "boolean"}, "placements": _array({
                                               "type": "object", "required": PLACEMENT_FIELDS,
                                               "properties": {
                                                   "package_id": TEXT, "supplier_id": _nullable(TEXT),
                                                   "supplier_name": _nullable(TEXT),
                                                   "distance_km": _nullable(NUMBER), "fit": _nullable(TEXT),
                                                   "reason": _nullable(TEXT), "match_score": NUMBER,
                                                   "value_pence": INTEGER, "value_in_period_pence": INTEGER,
                                                   "closes_pence": INTEGER}}),
                                           "without_suitable_supplier": _array({
                                               "type": "object", "required": ["package_id", "message"],
                                               "properties": {
                                                   "package_id": TEXT, "message": TEXT,
                                                   "closest_supplier_name": _nullable(TEXT),
                                                   "closest_fit": _nullable(TEXT),
                                                   "closest_distance_km": _nullable(NUMBER)}})}},
    }


def _body(name: str) -> Schema:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


def _path_params(*names: str) -> list[Schema]:
    return [{"name": n, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}} for n in names]


def _secured(summary: str, ok: dict[str, Schema], params: list[Schema], body: str | None = None,
             extra: tuple[str, ...] = ()) -> Schema:
    responses = {**ok, "401": _problem("No valid API key"), "403": _problem("The key's role may not do this"),
                 "404": _problem("No such organisation or item, or not this key's organisation")}
    for code in extra:
        responses[code] = _problem("Invalid input; errors[].field names the field")
    op: Schema = {"summary": summary, **SECURED, "parameters": params, "responses": responses}
    if body:
        op["requestBody"] = _body(body)
    return op


def _file(mime: str, description: str) -> Schema:
    return {"description": description, "content": {mime: {"schema": {"type": "string"}}}}


def paths() -> Schema:
    org = _path_params("organisation_id")
    target = _path_params("organisation_id", "target_id")
    package = _path_params("organisation_id", "package_id")
    as_of = {"name": "as_of", "in": "query", "required": False, "schema": {"type": "string", "format": "date"}}
    bad = ("400", "422")
    return {
        "/partners": {"post": {"summary": "Complementary partners for an organisation", "requestBody":
                               _body("PartnerRequest"), "responses": {
            "200": _json(_ref("PartnerResults"), "Ranked partners and what each adds"),
            "400": _problem("Malformed JSON"), "422": _problem("Invalid request; errors[].field names the field"),
            "503": _problem("The search index is unavailable")}}},
        "/consortia": {"post": {"summary": "Consortia of local suppliers that together cover a lot",
                                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                                    "anyOf": [_ref("ConsortiumRequest"), _ref("OcdsRelease"),
                                              _ref("OcdsReleasePackage")]}}}},
                                "parameters": [{"name": "max_members", "in": "query", "required": False,
                                                "schema": {"type": "integer", "minimum": 1, "maximum": 6}}],
                                "responses": {
            "200": _json(_ref("Consortia"), "Proposals, best first, with who covers what"),
            "400": _problem("Malformed JSON"), "422": _problem("Invalid lot; errors[].field names the path"),
            "503": _problem("The search index is unavailable")}}},
        "/organisations": {
            "post": _secured("Create an organisation (administrators)",
                             {"201": _json(_ref("Organisation"), "Created")}, [], "OrganisationBody",
                             ("400", "409", "422")),
            "get": _secured("List organisations (administrators)",
                            {"200": _json(_array(_ref("Organisation")), "Organisations")}, []),
        },
        "/organisations/{organisation_id}": {"get": _secured(
            "The organisation a key belongs to (its members and administrators)",
            {"200": _json(_ref("Organisation"), "The organisation")}, org)},
        "/organisations/{organisation_id}/keys": {"post": _secured(
            "Create a member key (administrators); the key is shown once",
            {"201": _json(_ref("NewKey"), "Created")}, org, "KeyBody", bad)},
        "/keys/{key_id}": {"delete": _secured("Revoke a key (administrators)", {"204": {"description": "Revoked"}},
                                              _path_params("key_id"))},
        "/organisations/{organisation_id}/spend": {"get": _secured(
            "The organisation's spend records", {"200": _json(_array({"type": "object"}), "Records")}, org)},
        "/organisations/{organisation_id}/spend/links": {"get": _secured(
            "How each spend record's supplier is linked; `status=unconfirmed` lists the suggestions awaiting a"
            " person", {"200": _json(_array(_ref("SpendLink")), "Links")},
            [*org, {"name": "status", "in": "query", "required": False,
                    "schema": {"type": "string", "enum": list(LINK_STATUSES)}}], None, ("400",))},
        "/organisations/{organisation_id}/spend/links/{reference}": {
            "post": _secured(
                "Confirm or reject a spend record's link by name; remembered when the record is sent again"
                " (`supplier_key` names the record when several suppliers' records share the reference)",
                {"200": _json(_ref("SpendLink"), "The link as it now stands")},
                _path_params("organisation_id", "reference"), "LinkDecisionBody", ("400", "409", "422")),
            "delete": _secured(
                "Undo the decision on a record's link: it is ingest's suggestion (or unlinked) again",
                {"200": _json(_ref("SpendLink"), "The link as it now stands")},
                [*_path_params("organisation_id", "reference"),
                 {"name": "supplier_key", "in": "query", "required": False, "schema": TEXT}], None, ("409",)),
        },
        "/organisations/{organisation_id}/targets": {"get": _secured(
            "The organisation's targets", {"200": _json(_array({"type": "object"}), "Targets")}, org)},
        "/organisations/{organisation_id}/targets/{target_id}": {
            "put": _secured("Create or replace a target", {"200": _json({"type": "object"}, "Stored")}, target,
                            "TargetBody", bad),
            "get": _secured("A target", {"200": _json({"type": "object"}, "The target")}, target),
            "delete": _secured("Delete a target", {"204": {"description": "Deleted"}}, target),
        },
        "/organisations/{organisation_id}/pipeline": {"get": _secured(
            "Upcoming packages", {"200": _json(_array({"type": "object"}), "Packages")}, org)},
        "/organisations/{organisation_id}/pipeline/{package_id}": {
            "put": _secured("Create or replace a package", {"200": _json({"type": "object"}, "Stored")}, package,
                            "PackageBody", bad),
            "get": _secured("A package", {"200": _json({"type": "object"}, "The package")}, package),
            "delete": _secured("Delete a package", {"204": {"description": "Deleted"}}, package),
        },
        "/organisations/{organisation_id}/targets/{target_id}/report": {"get": _secured(
            "Progress against the target", {"200": _json(_ref("Report"), "Report")}, [*target, as_of], None,
            ("400",))},
        "/organisations/{organisation_id}/targets/{target_id}/report.csv": {"get": _secured(
            "The target's ledger as CSV", {"200": _file("text/csv", "CSV")}, target)},
        "/organisations/{organisation_id}/targets/{target_id}/report.xlsx": {"get": _secured(
            "The report as a workbook", {"200": _file(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "XLSX")}, [*target, as_of],
            None, ("400",))},
        "/organisations/{organisation_id}/targets/{target_id}/chart.svg": {"get": _secured(
            "Cumulative spend against the target line", {"200": _file("image/svg+xml", "SVG")}, [*target, as_of],
            None, ("400",))},
        "/organisations/{organisation_id}/targets/{target_id}/recommendations": {"get": _secured(
            "Packages to place with social enterprises to close the gap",
            {"200": _json(_ref("Recommendations"), "Placements")}, [*target, as_of], None, ("400",))},
    }


def security_schemes() -> Schema:
    return {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}
