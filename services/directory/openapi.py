"""The directory's OpenAPI 3.1 document, served at `/openapi.json` and shown on `/docs`.

OpenAPI 3.1 speaks JSON Schema 2020-12, so the Listing schema is pydantic's own, unconverted:
the document cannot drift from the model the index stores. Parameters mirror `SearchParams`.
"""

from __future__ import annotations

from typing import Any

from services.directory.search_params import FACETS, LIST_PARAMS, MAX_PAGE
from services.directory.suggest import MAX_PREFIX_CHARS, MAX_SUGGESTIONS
from services.directory.suggest import PARAMS as SUGGESTION_PARAMS
from shared.limits import MAX_RADIUS_KM
from shared.models import REGISTERS, Listing

Schema = dict[str, Any]
_REF = "#/components/schemas/"
_STRING, _NUMBER, _INTEGER = {"type": "string"}, {"type": "number"}, {"type": "integer"}
API_VERSION = "1.0.0"


def _ref(name: str) -> Schema:
    return {"$ref": _REF + name}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def _array(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


def _object(required: list[str], **properties: Schema) -> Schema:
    return {"type": "object", "required": required, "properties": properties}


def _query(name: str, schema: Schema, description: str, required: bool = False) -> Schema:
    param = {"name": name, "in": "query", "required": required, "description": description, "schema": schema}
    if schema.get("type") == "array":
        param |= {"style": "form", "explode": True}
    return param


_FILTER_HELP = {
    "region": "ITL1 region, e.g. 'North West'",
    "category": "directory category",
    "legal_form": "cic, charity, cooperative, company_limited_by_guarantee or other",
    "impact_area": "social impact area, e.g. employment",
    "certification": "e.g. 'Living Wage employer'",
    "size_band": "micro, small, medium or large",
    "cpv": "CPV code prefix (digits): 909 matches 90910000",
    "verified_by": "an official register that lists the organisation: GB-CHC (Charity Commission for England "
                   "and Wales), GB-SC (OSCR), GB-NIC (Charity Commission for Northern Ireland), GB-COH (Companies "
                   "House), GB-MPR (FCA Mutuals Public Register)",
    "org_id": "an org-id.guide identifier (GB-CHC-1000003, GB-SC-SC012345, GB-COH-08996508; case-insensitive): "
              "the organisation that register entry names",
}


def _filter_parameters() -> list[Schema]:
    items = {"type": "string", "maxLength": 200}
    return [_query(name, _array(items, maxItems=20), f"Filter, repeatable (OR within, AND across filters): "
                   f"{_FILTER_HELP[name]}. An empty value is ignored; a value no listing can have is a 400 "
                   "naming it.") for name in LIST_PARAMS]


def _selection_parameters() -> list[Schema]:
    """What picks the result set: shared by `/search` and `/export.csv`."""
    return [
        _query("q", {"type": "string", "maxLength": 500},
               "Words to find in name, description and services (English stemming; every word, or a synonym "
               "a buyer would use for it, must match; acronyms such as IT, HR, SEND are kept; the words "
               "next to each other rank higher; a word no listing uses is replaced by the nearest one "
               "that is, and the answer's corrections say so; query syntax characters are literal)."),
        _query("verified", {"type": "boolean", "default": False},
               "true: only organisations an official register lists (any register; see verified_by)."),
        _query("postcode", {"type": "string", "maxLength": 10},
               "UK postcode or district (LS1 4AP, LS1): the search centre. Not with lat/lon."),
        _query("lat", {"type": "number", "minimum": -90, "maximum": 90}, "Latitude of the centre, with lon."),
        _query("lon", {"type": "number", "minimum": -180, "maximum": 180}, "Longitude of the centre, with lat."),
        _query("radius_km", {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_RADIUS_KM},
               "Keep listings within this distance of the centre (needs postcode or lat/lon)."),
        _query("sort", {"type": "string", "enum": ["relevance", "distance", "name"], "default": "relevance"},
               "Order; distance needs a centre. Relevance without words sorts by distance, else by name."),
        *_filter_parameters(),
    ]


def _paging_parameters() -> list[Schema]:
    return [
        _query("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
               "Page number; page × per_page may not pass 10,000. Not with cursor."),
        _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, "Results per page."),
        _query("cursor", {"type": "string", "maxLength": 500},
               "The previous response's next_cursor: the following page of the same search."),
    ]


def _listing_schemas() -> dict[str, Schema]:
    schema = Listing.model_json_schema(ref_template=_REF + "{model}", mode="serialization")
    components = schema.pop("$defs", {})
    # What the index derives and returns with every listing (`shared.models.with_index_fields`).
    schema["properties"] |= {
        "verified_by": {"type": "array", "items": {"type": "string", "enum": sorted(REGISTERS)},
                        "description": "The registers whose entry for this organisation is current."},
        "member_ids": {"type": "array", "items": {"type": "string"},
                       "description": "The ids of the source records merged into this listing, its own among them:"
                                      " GET /listings/{id} with any of them leads here."},
    }
    return {**components, "Listing": schema}


def _result_schemas() -> dict[str, Schema]:
    strings = _array(_STRING)
    hit = _object(
        ["id", "name", "legal_form", "region", "postcode", "categories", "impact_areas", "certifications",
         "services", "size_band", "geo_precision", "org_ids", "verified", "licence", "description", "highlight",
         "distance_km"],
        id=_STRING, name=_STRING, legal_form=_STRING, region=_nullable(_STRING), postcode=_nullable(_STRING),
        categories=strings, impact_areas=strings, certifications=strings, services=strings,
        size_band=_nullable(_STRING), geo_precision=_STRING,
        org_ids={**strings, "description": "org-id.guide identifiers of the register entries for it."},
        verified={**_array(_object(["registry", "identifier", "status", "as_of", "current"], registry=_STRING,
                                   identifier=_STRING, status=_STRING, as_of=_STRING, current={"type": "boolean"})),
                  "description": "The official registers that list it, with status and the extract's date."},
        licence={**_nullable(_STRING), "description": "Terms of the source data; 'development only' when unconfirmed."},
        description={"type": "string", "description": "Plain text, clipped to about 300 characters."},
        highlight={**_object(["name", "description", "services"], name=_STRING, description=_STRING,
                             services=_nullable(_STRING)),
                   "description": "HTML: the text escaped, query matches wrapped in <mark> (no other markup); "
                                  "description is a snippet around the matches, services one when they matched."},
        distance_km={**_nullable(_NUMBER), "description": "Kilometres from the centre; null without one."},
    )
    bucket = _object(["value", "count"], value=_STRING, count=_INTEGER)
    facets = {**_object(list(FACETS), **{name: _array(bucket) for name in FACETS}),
              "description": "Counts per filter value; each facet ignores its own filter and honours the others."}
    location = _object(["lat", "lon", "radius_km"], lat=_NUMBER, lon=_NUMBER, radius_km=_nullable(_NUMBER))
    correction = _object(["typed", "searched"], typed=_STRING, searched=_STRING)
    nearest = _object(["id", "name", "postcode", "region", "geo_precision", "distance_km"], id=_STRING,
                      name=_STRING, postcode=_nullable(_STRING), region=_nullable(_STRING),
                      geo_precision=_nullable(_STRING), distance_km=_nullable(_NUMBER))
    empty = _object(["cause", "message", "filters", "nearest"], cause={"enum": ["text", "filter", "radius"]},
                    message=_STRING, filters={**_array(_STRING), "description": "The filters that emptied it."},
                    nearest={**_array(nearest), "description": "The nearest matches beyond the radius."})
    response = _object(
        ["total", "page", "per_page", "next_cursor", "fuzzy", "corrections", "empty", "location", "results",
         "facets"],
        total=_INTEGER, page=_INTEGER, per_page=_INTEGER,
        next_cursor={**_nullable(_STRING), "description": "Pass as cursor for the next page; null on the last."},
        fuzzy={"type": "boolean", "description": "Always false: words are never silently replaced (kept for "
                                                 "clients of earlier versions); see corrections."},
        corrections={**_array(correction), "description": "Words no listing uses, each with the word searched "
                                                          "instead (\"did you mean\"); empty when none was replaced."},
        empty={**_nullable(empty), "description": "When nothing matched: whether the words, a filter or the radius "
                                                  "emptied the search, and the nearest matches beyond the radius."},
        location=_nullable(location), results=_array(_ref("SearchHit")), facets=facets,
    )
    suggestion = _object(["kind", "label", "param", "value", "listing_id"], kind={"enum": list(SUGGESTION_PARAMS)},
                         label=_STRING, param={"enum": list(SUGGESTION_PARAMS.values())}, value=_STRING,
                         listing_id={**_nullable(_STRING), "description": "The listing a name belongs to."})
    return {"SearchHit": hit, "SearchResponse": response, "Suggestion": suggestion,
            "Suggestions": _object(["query", "suggestions"], query=_STRING, suggestions=_array(suggestion))}


def _other_schemas() -> dict[str, Schema]:
    field_error = _object(["field", "message"], field=_STRING, message=_STRING)
    return {
        "Problem": _object(["detail", "errors"], detail=_STRING, errors=_array(field_error)),
        "Health": _object(["status"], status={"enum": ["ok"]}),
        "Readiness": _object(["status", "checks"], status={"enum": ["ok", "unavailable"]},
                             checks={"type": "object", "additionalProperties": {"type": "boolean"}}),
    }


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problem(description: str) -> Schema:
    return _json(_ref("Problem"), description)


_BAD_QUERY = _problem("A parameter is invalid (errors[].field names it), e.g. an unknown postcode")
_UNAVAILABLE = _problem("The search index is unavailable")


def _paths() -> Schema:
    csv_body = {"description": "One row per listing, streamed; cells that a spreadsheet would run as a "
                "formula start with a single quote.", "content": {"text/csv": {"schema": _STRING}}}
    return {
        "/search": {"get": {
            "summary": "Search the directory: text, place and radius, filters, facets, pages or cursor",
            "parameters": [*_selection_parameters(), *_paging_parameters()],
            "responses": {"200": _json(_ref("SearchResponse"), "One page of results"),
                          "400": _BAD_QUERY, "503": _UNAVAILABLE},
        }},
        "/listings/{listing_id}": {"get": {
            "summary": "One listing: everything the directory knows about a supplier",
            "parameters": [{"name": "listing_id", "in": "path", "required": True, "schema": _STRING,
                            "description": "Source-qualified id, e.g. workerscoop:R001799"}],
            "responses": {"200": _json(_ref("Listing"), "The listing"),
                          "302": {"description": "The record with that id was merged into another source's record of"
                                                 " the same organisation: Location is the merged listing (temporary,"
                                                 " since a steward's split gives the record its own listing back)",
                                  "headers": {"Location": {"schema": _STRING}}},
                          "404": _problem("No listing has that id"), "503": _UNAVAILABLE},
        }},
        "/suggest": {"get": {
            "summary": "Names, categories, regions and places for what a user has typed so far",
            "parameters": [
                _query("q", {"type": "string", "minLength": 1, "maxLength": MAX_PREFIX_CHARS}, "Text typed so far.",
                       required=True),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_SUGGESTIONS, "default": 5},
                       "Most suggestions from the directory (names, categories, regions), and most places."),
            ],
            "responses": {"200": _json(_ref("Suggestions"), "Suggestions, names first"),
                          "400": _BAD_QUERY, "503": _UNAVAILABLE},
        }},
        "/export.csv": {"get": {
            "summary": "Every listing a search finds, as CSV (the /search parameters; paging is ignored)",
            "parameters": _selection_parameters(),
            "responses": {"200": csv_body, "400": _BAD_QUERY, "503": _UNAVAILABLE},
        }},
        "/healthz": {"get": {"summary": "Liveness", "responses": {"200": _json(_ref("Health"), "Alive")}}},
        "/readyz": {"get": {"summary": "Readiness: the search index answers", "responses": {
            "200": _json(_ref("Readiness"), "Ready"), "503": _json(_ref("Readiness"), "A dependency is not ready")}}},
    }


def build_openapi(version: str = API_VERSION) -> Schema:
    """The whole document (the integration tests check it documents every `SearchParams` field)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "socialmatch directory", "version": version,
                 "description": "Search UK social enterprise suppliers by need, place and social impact."},
        "paths": _paths(),
        "components": {"schemas": _listing_schemas() | _result_schemas() | _other_schemas()},
    }
