"""The ingest service's OpenAPI 3.1 document, built from the pydantic models it validates against.

A listing's schema is the `Listing` model's own JSON Schema; a spend record's is `SpendRecord`'s
without `organisation`, which comes from the caller's key and is refused in a body. Every write
needs a key (`X-API-Key`): listings an administrator's, spend an organisation member's.
"""

from __future__ import annotations

from typing import Any

from shared.models import Listing, SpendRecord

Schema = dict[str, Any]
API_VERSION = "1.0.0"
_REF = "#/components/schemas/"
_STRING: Schema = {"type": "string"}
_INTEGER: Schema = {"type": "integer"}
SECURED: Schema = {"security": [{"ApiKey": []}]}


def _ref(name: str) -> Schema:
    return {"$ref": _REF + name}


def _object(required: list[str], **properties: Schema) -> Schema:
    return {"type": "object", "required": required, "properties": properties}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problem(description: str) -> Schema:
    return _json(_ref("Problem"), description)


def _listing_id_pattern() -> str:
    return str(Listing.model_json_schema()["properties"]["id"]["pattern"])


def _model_schemas() -> dict[str, Schema]:
    listing = Listing.model_json_schema(ref_template=_REF + "{model}")
    spend = SpendRecord.model_json_schema(ref_template=_REF + "{model}")
    components = {**listing.pop("$defs", {}), **spend.pop("$defs", {})}
    spend["properties"].pop("organisation", None)
    spend["required"] = [name for name in spend.get("required", []) if name != "organisation"]
    spend["additionalProperties"] = False
    return {**components, "Listing": listing, "SpendRecord": spend}


def _other_schemas(max_items: int) -> dict[str, Schema]:
    field_error = _object(["field", "message"], field=_STRING, message=_STRING)
    ids = {"type": "array", "items": _STRING}
    return {
        "Problem": _object(["detail", "errors"], detail=_STRING, errors={"type": "array", "items": field_error}),
        "ListingsBody": {"oneOf": [_ref("Listing"), {"type": "array", "items": _ref("Listing"), "minItems": 1,
                                                      "maxItems": max_items}]},
        "SpendBody": {"oneOf": [_ref("SpendRecord"), {"type": "array", "items": _ref("SpendRecord"), "minItems": 1,
                                                       "maxItems": max_items}]},
        "ListingsAccepted": _object(["accepted", "ids"], accepted=_INTEGER, ids=ids, request_id=_STRING),
        "SpendAccepted": _object(["accepted", "references", "request_id"], accepted=_INTEGER, references=ids,
                                 request_id=_STRING),
        "Health": _object(["status"], status={"enum": ["ok"]}),
        "Readiness": _object(["status", "checks"], status={"enum": ["ok", "unavailable"]},
                             checks={"type": "object", "additionalProperties": {"type": "boolean"}}),
    }  # fmt: skip


_UNAUTHENTICATED = _problem("No valid API key in X-API-Key")
_FORBIDDEN = _problem("The key's role may not do this")
_UNAVAILABLE = _problem("The event log is unavailable")
_TOO_LARGE = _problem("Too many items, or the body is larger than the service accepts")


def _paths(max_items: int) -> Schema:
    return {
        "/listings": {"post": {
            "summary": f"Publish one listing or up to {max_items:,} (administrator key); all or nothing",
            **SECURED,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ListingsBody")}}},
            "responses": {
                "202": _json(_ref("ListingsAccepted"), "Published to the listings topic; indexed by the consumer"),
                "400": _problem("The body is not a listing or a non-empty array of them"),
                "401": _UNAUTHENTICATED, "403": _FORBIDDEN, "413": _TOO_LARGE,
                "415": _problem("The body is not JSON"),
                "422": _problem("Some listing is invalid (errors[].field names it, e.g. [2].postcode); "
                                "nothing was published"),
                "503": _UNAVAILABLE,
            },
        }},
        "/listings/{listing_id}": {"delete": {
            "summary": "Publish a tombstone: the listing leaves the directory (administrator key)",
            **SECURED,
            "parameters": [{"name": "listing_id", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": _listing_id_pattern()},
                            "description": "Source-qualified id, e.g. workerscoop:R001799"}],
            "responses": {"202": _json(_ref("ListingsAccepted"), "Published"),
                          "400": _problem("That is not a listing id"), "401": _UNAUTHENTICATED,
                          "403": _FORBIDDEN, "404": _problem("No route: the path holds characters no URL path "
                                                             "segment carries here (a line break)"),
                          "503": _UNAVAILABLE},
        }},
        "/spend": {"post": {
            "summary": "Publish an organisation's spend records (member key): JSON, or a CSV upload",
            **SECURED,
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": _ref("SpendBody")},
                "text/csv": {"schema": {"type": "string", "description": (
                    "Header row, then one record a row: reference,date,amount,supplier_id,supplier_name,"
                    "supplier_company_number,supplier_charity_number,supplier_postcode,category,cpv_code "
                    "(amount in pounds, or an amount_pence column)")}},
            }},
            "responses": {
                "202": _json(_ref("SpendAccepted"), "Published to the spend topic"),
                "400": _problem("The body is not spend records, or the CSV cannot be read"),
                "401": _UNAUTHENTICATED, "403": _FORBIDDEN, "413": _TOO_LARGE,
                "415": _problem("The body is neither JSON nor CSV"),
                "422": _problem("Some record is invalid (errors[].field names it, e.g. [0].amount_pence)"),
                "503": _UNAVAILABLE,
            },
        }},
        "/healthz": {"get": {"summary": "Liveness", "responses": {"200": _json(_ref("Health"), "Alive")}}},
        "/readyz": {"get": {"summary": "Readiness: the event log answers", "responses": {
            "200": _json(_ref("Readiness"), "Ready"), "503": _json(_ref("Readiness"), "A dependency is not ready")}}},
    }  # fmt: skip


def build_openapi(max_items: int, version: str = API_VERSION) -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {"title": "socialmatch ingest", "version": version,
                 "description": "Load listings into the directory and send an organisation's spend."},
        "paths": _paths(max_items),
        "components": {"schemas": _model_schemas() | _other_schemas(max_items),
                       "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}},
    }  # fmt: skip
