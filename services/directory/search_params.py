"""Turning `/search` query strings into a `SearchQuery`, with 400s that name the parameter.

The API and the web pages share this, so a URL means the same thing in both.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from werkzeug.datastructures import MultiDict

from shared.errors import FieldError, InvalidInput, field_errors
from shared.geo import InvalidPostcode, default_gazetteer, normalise_place_code
from shared.limits import MAX_RADIUS_KM
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
}
# query parameter -> index field counted for its facet; CPV filters by prefix but counts whole codes.
FACETS: dict[str, str] = {**FILTERS, "cpv": "cpv_codes"}
LIST_PARAMS = tuple(FILTERS)
# Paging parameters: they pick a slice of the results, so exports and cursors ignore them.
PAGING_PARAMS = ("page", "per_page", "cursor")
MAX_PAGE = 10_000
# How deep paging may reach, as Elasticsearch's default max_result_window: past it a search is
# better narrowed than paged, and the export streams everything anyway.
MAX_WINDOW = 10_000

FilterValues = list[Annotated[str, StringConstraints(min_length=1, max_length=200)]]


class SearchParams(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    q: str | None = Field(default=None, max_length=500)
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

    @model_validator(mode="after")
    def _location_is_whole(self) -> SearchParams:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        if self.postcode and self.lat is not None:
            raise ValueError("give a postcode or lat/lon, not both")
        if self.cursor and self.page != 1:
            raise ValueError("give a page or a cursor, not both")
        return self

    @property
    def has_location(self) -> bool:
        return bool(self.postcode) or self.lat is not None

    def without_paging(self) -> dict[str, object]:
        """The parameters that choose the result set (not the slice of it), as given."""
        return self.model_dump(exclude=set(PAGING_PARAMS), exclude_defaults=True)


def parse_search_args(args: MultiDict[str, str]) -> SearchParams:
    """Validate a query string; every mistake is a 400 naming the parameter."""
    raw: dict[str, object] = {}
    for key in args:
        values = [v for v in args.getlist(key) if v != ""]
        if not values:
            continue
        raw[key] = values if key in LIST_PARAMS else values[-1]
    try:
        params = SearchParams.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput("invalid search parameters", field_errors(exc)) from exc
    if params.radius_km is not None and not params.has_location:
        raise InvalidInput("radius_km needs a postcode or lat/lon", [FieldError("radius_km", "no location given")])
    if params.sort == "distance" and not params.has_location:
        raise InvalidInput("sort=distance needs a postcode or lat/lon", [FieldError("sort", "no location given")])
    if any(not code.isdigit() for code in params.cpv):
        raise InvalidInput("cpv filters are digit prefixes", [FieldError("cpv", "expected digits, e.g. 909")])
    if params.page * params.per_page > MAX_WINDOW:
        raise InvalidInput(f"only the first {MAX_WINDOW:,} results can be paged; narrow the search",
                           [FieldError("page", "too deep")])
    return params


def resolve_near(params: SearchParams) -> Near | None:
    """The search centre: a postcode's district centroid or the given lat/lon."""
    if params.postcode:
        try:
            place = default_gazetteer().locate(normalise_place_code(params.postcode))
        except InvalidPostcode as exc:
            raise InvalidInput("postcode not recognised", [FieldError("postcode", str(exc))]) from exc
        if place is None:
            raise InvalidInput("postcode not recognised", [FieldError("postcode", "no location known for it")])
        return Near(place.lat, place.lon, params.radius_km)
    if params.lat is not None and params.lon is not None:
        return Near(params.lat, params.lon, params.radius_km)
    return None


def to_query(params: SearchParams) -> SearchQuery:
    """The index query for `params`' first page: a facet for every filter, highlighted snippets,
    and typo tolerance (a misspelt word still finds something when the exact text finds nothing)."""
    filters = {FILTERS[name]: getattr(params, name) for name in FILTERS if getattr(params, name)}
    return SearchQuery(
        text=params.q or None,
        filters=filters,
        near=resolve_near(params),
        facets=list(FACETS.values()),
        sort=params.sort,
        limit=params.per_page,
        highlight=bool(params.q),
        fuzzy=True,
    )
