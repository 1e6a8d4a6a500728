"""The matcher's OpenAPI 3.0 document, built from the pydantic Lot model plus hand-written parts.

OCDS input is described only as far as the matcher reads it (and rejects wrong types of): the
rest of a release passes through unexamined, so the schemas allow any other properties.
"""

from __future__ import annotations

from typing import Any

from shared.models import Lot

Schema = dict[str, Any]
_REF = "#/components/schemas/"


def to_openapi30(node: Any) -> Any:
    """Rewrite pydantic's JSON Schema 2020-12 into the OpenAPI 3.0 dialect.

    `anyOf [X, null]` becomes `X` + `nullable`, numeric `exclusiveMinimum` the boolean form, and
    `$defs` references point at components.
    """
    if isinstance(node, list):
        return [to_openapi30(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_openapi30(v) for k, v in node.items() if k != "$defs"}
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/$defs/", _REF)
    variants = out.get("anyOf", [])
    if {"type": "null"} in variants:
        rest = [v for v in variants if v != {"type": "null"}]
        del out["anyOf"]
        inner = rest[0] if len(rest) == 1 else {"anyOf": rest}
        inner = {"allOf": [inner]} if "$ref" in inner else inner
        out = {**inner, **out, "nullable": True}
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out[bound], bool):
            out[plain], out[bound] = out[bound], True
    return out


def _ref(name: str) -> Schema:
    return {"$ref": _REF + name}


def _nullable(schema: Schema) -> Schema:
    return {**schema, "nullable": True}


def _array(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


_STRING_OR_INT: Schema = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
_TEXT = _nullable({"type": "string"})


def _ocds_schemas() -> dict[str, Schema]:
    value = _nullable(
        {"type": "object", "properties": {"amount": _nullable({"type": "number"}), "currency": _TEXT}}
    )
    classification = {"type": "object", "properties": {"scheme": _TEXT, "id": _nullable(_STRING_OR_INT)}}
    address = {"type": "object", "properties": {"postalCode": _TEXT, "region": _TEXT}}
    item = {
        "type": "object",
        "properties": {
            "relatedLot": _nullable(_STRING_OR_INT),
            "classification": _nullable(classification),
            "additionalClassifications": _nullable(_array(classification)),
            "deliveryAddresses": _nullable(_array(address)),
            "deliveryAddress": _nullable(address),
            "deliveryLocation": _nullable(
                {"type": "object", "properties": {"geometry": _nullable({"type": "object"})}}
            ),
        },
    }
    lot = {
        "type": "object",
        "required": ["id"],
        "properties": {"id": _STRING_OR_INT, "title": _TEXT, "description": _TEXT, "value": value},
    }
    tender = {
        "type": "object",
        "description": "A tender without lots is matched as one lot.",
        "properties": {
            "title": _TEXT,
            "description": _TEXT,
            "value": value,
            "lots": _nullable(_array(lot)),
            "items": _nullable(_array(item)),
        },
    }
    return {
        "OcdsRelease": {
            "type": "object",
            "description": "Matched when it has a tender; a release without one is refused with 422.",
            "anyOf": [{"required": ["ocid"]}, {"required": ["tender"]}],
            "properties": {"ocid": {"type": "string"}, "tender": tender},
        },
        "OcdsReleasePackage": {
            "type": "object",
            "required": ["releases"],
            "properties": {"releases": _array(_ref("OcdsRelease"), minItems=1)},
        },
    }


def _result_schemas() -> dict[str, Schema]:
    number = {"type": "number"}
    feature = {
        "type": "object",
        "required": ["value", "weight", "contribution"],
        "properties": {"value": number, "weight": number, "contribution": number},
    }
    result = {
        "type": "object",
        "required": ["listing_id", "name", "score", "distance_km", "features", "reason"],
        "properties": {
            "listing_id": {"type": "string"},
            "name": {"type": "string"},
            "score": number,
            "distance_km": _nullable(number),
            "features": {"type": "object", "additionalProperties": _ref("FeatureScore")},
            "reason": {"type": "string"},
            "verified": {**_array({"type": "string"}),
                         "description": "The official registers that list the supplier, in words (status, register, "
                                        "date of the register extract); empty when none does."},
        },
    }
    lot_matches = {
        "type": "object",
        "required": ["lot", "results"],
        "properties": {"lot": _ref("Lot"), "results": _array(_ref("MatchResult"))},
    }
    ocds_lot = {
        "allOf": [
            _ref("LotMatches"),
            {
                "type": "object",
                "required": ["path"],
                "properties": {"path": {"type": "string", "description": "JSON path of the lot in the body"}},
            },
        ]
    }
    return {
        "FeatureScore": feature,
        "MatchResult": result,
        "LotMatches": lot_matches,
        "OcdsMatches": {"type": "object", "required": ["lots"], "properties": {"lots": _array(ocds_lot)}},
    }


def _other_schemas() -> dict[str, Schema]:
    text = {"type": "string"}
    named = {
        "type": "object",
        "required": ["name", "description"],
        "properties": {"name": text, "description": text, "weight": {"type": "number"}},
    }
    return {
        "Problem": {
            "type": "object",
            "required": ["detail", "errors"],
            "properties": {
                "detail": text,
                "errors": _array(
                    {
                        "type": "object",
                        "required": ["field", "message"],
                        "properties": {"field": text, "message": text},
                    }
                ),
            },
        },
        "Algorithms": {
            "type": "object",
            "required": ["model", "features", "hard_filters"],
            "properties": {
                "model": {
                    "type": "object",
                    "required": ["version", "weights"],
                    "properties": {
                        "version": text,
                        "weights": {"type": "object", "additionalProperties": {"type": "number"}},
                    },
                },
                "features": _array(named),
                "hard_filters": _array(named),
                "recall": {"type": "string", "description": "How the candidates to rank are found"},
            },
        },
        "Health": {"type": "object", "required": ["status"], "properties": {"status": {"enum": ["ok"]}}},
        "Readiness": {
            "type": "object",
            "required": ["status", "checks"],
            "properties": {
                "status": {"type": "string", "enum": ["ok", "unavailable"]},
                "checks": {"type": "object", "additionalProperties": {"type": "boolean"}},
            },
        },
    }


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problem(description: str) -> Schema:
    return _json(_ref("Problem"), description)


def _paths(max_limit: int) -> Schema:
    limit = {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "Results per lot.",
        "schema": {"type": "integer", "minimum": 1, "maximum": max_limit, "default": 10},
    }
    body = {"anyOf": [_ref("Lot"), _ref("OcdsRelease"), _ref("OcdsReleasePackage")]}
    return {
        "/match": {
            "post": {
                "summary": "Suppliers for a lot, or for every lot of an OCDS release or package",
                "parameters": [limit],
                "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
                "responses": {
                    "200": _json(
                        {"anyOf": [_ref("LotMatches"), _ref("OcdsMatches")]},
                        "Ranked suppliers with per-feature scores (OCDS: one entry per lot)",
                    ),
                    "400": _problem("Malformed JSON or query parameter"),
                    "422": _problem("The lot cannot be matched; errors[].field names the field or JSON path"),
                    "503": _problem("The search index is unavailable"),
                },
            }
        },
        "/algorithms": {
            "get": {
                "summary": "The scoring model: features, weights, hard filters",
                "responses": {"200": _json(_ref("Algorithms"), "The published model")},
            }
        },
        "/healthz": {"get": {"summary": "Liveness", "responses": {"200": _json(_ref("Health"), "Alive")}}},
        "/readyz": {
            "get": {
                "summary": "Readiness: the search index answers",
                "responses": {
                    "200": _json(_ref("Readiness"), "Ready"),
                    "503": _json(_ref("Readiness"), "A dependency is not ready"),
                },
            }
        },
    }


def build_openapi(version: str, max_limit: int) -> Schema:
    lot_schema = Lot.model_json_schema()
    components = {name: to_openapi30(s) for name, s in lot_schema.get("$defs", {}).items()}
    components["Lot"] = to_openapi30(lot_schema)
    components |= _ocds_schemas() | _result_schemas() | _other_schemas()
    from services.matcher import openapi_more  # imports this module's helpers

    components |= openapi_more.model_schemas() | openapi_more.response_schemas()
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "socialmatch matcher",
            "version": version,
            "description": "Ranks social enterprises for a contract lot, explaining every score.",
        },
        "paths": _paths(max_limit) | openapi_more.paths(),
        "components": {"schemas": components, "securitySchemes": openapi_more.security_schemes()},
    }
