"""Turning `/search` query strings into a `SearchQuery`, with 400s that name the parameter.

The API and the web pages share this, so a URL means the same thing in both.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError
from werkzeug.datastructures import MultiDict

from services.directory.filter_values import filter_value_errors
from services.directory.search_messages import MAX_TEXT_CHARS, MESSAGES, search_errors
from shared.errors import FieldError, InvalidInput
from shared.geo import InvalidPostcode, default_gazetteer, normalise_place_code
from shared.limits import MAX_RADIUS_KM
from shared.models import ORG_ID_PATTERN, REGISTERS
from shared.search.port import Near, SearchQuery

# query parameter -> index filter; facets are reported under the parameter name.
FILTERS: dict[str, str] = {
    "region": "region",
    "category": "categories",
    "legal_form": "legal_form",
    "impact_area": "impact_areas",
    "certification": "certifications",
    "size_band": "size_band",
    "cpv": "cpv",
    "verified_by": "verified_by",
}
# query parameter -> index field counted for its facet; CPV filters by prefix but counts whole codes.
FACETS: dict[str, str] = {**FILTERS, "cpv": "cpv_codes"}
# Filters that pick organisations rather than describe them, so they get no facet: an org-id
# (`GB-CHC-1000003`) names one organisation in a register, whichever directory record holds it.
IDENTITY_FILTERS: dict[str, str] = {"org_id": "org_ids"}
LIST_PARAMS = (*FILTERS, *IDENTITY_FILTERS)
# Paging parameters: they pick a slice of the results, so exports and cursors ignore them.
PAGING_PARAMS = ("page", "per_page", "cursor")
MAX_PAGE = 10_000
# How deep paging may reach, as Elasticsearch's default max_result_window: past it a search is
# better narrowed than paged, and the export streams everything anyway.
MAX_WINDOW = 10_000

# Registers print their identifiers in capitals; people type them any way.
OrgId = Annotated[str, BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v),
                  StringConstraints(pattern=ORG_ID_PATTERN, max_length=60)]
FilterValues = list[Annotated[str, StringConstraints(min_length=1, max_length=200)]]


class SearchParams(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    q: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    postcode: str | None = Field(default=None, max_length=10)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    radius_km: float | None = Field(default=None, gt=0, le=MAX_RADIUS_KM)
    sort: Literal["relevance", "distance", "name"] = "relevance"
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=500)
    region: FilterValues = Field(default_factory=list, max_length=20)
    category: FilterValues = Field(default_factory=list, max_length=20)
    legal_form: FilterValues = Field(default_factory=list, max_length=20)
    impact_area: FilterValues = Field(default_factory=list, max_length=20)
    certification: FilterValues = Field(default_factory=list, max_length=20)
    size_band: FilterValues = Field(default_factory=list, max_length=20)
    cpv: FilterValues = Field(default_factory=list, max_length=20)
    verified_by: FilterValues = Field(default_factory=list, max_length=20)
    verified: bool = False
    """Only organisations an official register lists (any of them): `verified_by` every register."""
    org_id: list[OrgId] = Field(default_factory=list, max_length=100)

    @property
    def has_location(self) -> bool:
        return bool(self.postcode) or self.lat is not None

    def without_paging(self) -> dict[str, object]:
        """The parameters that choose the result set (not the slice of it), as given."""
        return self.model_dump(exclude=set(PAGING_PARAMS), exclude_defaults=True)


def parse_search_args(args: MultiDict[str, str]) -> SearchParams:
    """Validate a query string; every mistake at once, each a 400 naming its parameter in words a
    person can act on (GOV.UK style), and the postcode looked up even when other fields are wrong."""
    raw: dict[str, object] = {}
    for key in args:
        values = [v for v in args.getlist(key) if v != ""]
        if not values:
            continue
        raw[key] = values if key in LIST_PARAMS else values[-1]
    errors: list[FieldError] = []
    try:
        params = SearchParams.model_validate(raw)
    except ValidationError as exc:
        errors = search_errors(exc)
        bad = {e.field.split(".")[0] for e in errors}  # "region.0" -> region
        kept = {k: v for k, v in raw.items() if k not in bad and k in SearchParams.model_fields}
        params = SearchParams.model_validate(kept)
    errors += _combination_errors(params, {e.field.split(".")[0] for e in errors})
    errors += filter_value_errors(params)
    detail = "invalid search parameters"
    if params.postcode and not any(e.field == "postcode" for e in errors):
        try:
            resolve_near(params)
        except InvalidInput as exc:
            detail = detail if errors else exc.detail
            errors += exc.errors
    if errors:
        raise InvalidInput(detail, _dedupe(errors))
    return params


def _combination_errors(params: SearchParams, bad: set[str]) -> list[FieldError]:
    errors = []
    if "lat" not in bad and "lon" not in bad and (params.lat is None) != (params.lon is None):
        errors.append(FieldError("lat" if params.lat is None else "lon", "Enter both a latitude and a longitude"))
    if params.postcode and params.lat is not None:
        errors.append(FieldError("postcode", "Enter a postcode or a latitude and longitude, not both"))
    if params.cursor and params.page != 1:
        errors.append(FieldError("cursor", "Give a page number or a cursor, not both"))
    if params.radius_km is not None and not params.has_location and "postcode" not in bad:
        errors.append(FieldError("radius_km", "Enter a postcode to search within a distance"))
    if params.sort == "distance" and not params.has_location and "postcode" not in bad:
        errors.append(FieldError("sort", "Enter a postcode to sort by distance"))
    if params.page * params.per_page > MAX_WINDOW:
        errors.append(FieldError("page", f"Only the first {MAX_WINDOW:,} results can be paged; narrow the search"))
    return errors


def _dedupe(errors: list[FieldError]) -> list[FieldError]:
    return list(dict.fromkeys(errors))


def resolve_near(params: SearchParams) -> Near | None:
    """The search centre: a postcode's district centroid or the given lat/lon."""
    if params.postcode:
        try:
            place = default_gazetteer().locate(normalise_place_code(params.postcode))
        except InvalidPostcode as exc:
            raise InvalidInput("postcode not recognised", [FieldError("postcode", MESSAGES["postcode"])]) from exc
        if place is None:
            message = f"We do not know where {params.postcode.upper()} is; enter a postcode or district, like LS1 4AP"
            raise InvalidInput("postcode not recognised", [FieldError("postcode", message)])
        return Near(place.lat, place.lon, params.radius_km)
    if params.lat is not None and params.lon is not None:
        return Near(params.lat, params.lon, params.radius_km)
    return None


def to_query(params: SearchParams) -> SearchQuery:
    """The index query for `params`' first page: a facet for every filter, highlighted snippets,
    the buyers' vocabulary (synonyms, acronyms, phrases) and "did you mean" for words the index
    does not know, never a silent guess."""
    filters = {FILTERS[name]: getattr(params, name) for name in FILTERS if getattr(params, name)}
    filters.update({field: getattr(params, name) for name, field in IDENTITY_FILTERS.items() if getattr(params, name)})
    if params.verified and not params.verified_by:
        filters["verified_by"] = list(REGISTERS)
    return SearchQuery(
        text=params.q or None,
        filters=filters,
        near=resolve_near(params),
        facets=list(FACETS.values()),
        sort=params.sort,
        limit=params.per_page,
        highlight=bool(params.q),
        buyer_terms=True,
        spelling=True,
    )
