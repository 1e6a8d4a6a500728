"""The cross-service data model: what a listing, a lot and a spend record are.

These pydantic models are the contract between ingest, the index, the matcher and the
directory. Their JSON Schema is exported to `shared/schemas/` by `python -m shared.schemas`
so that data stewards and other systems can validate files before sending them.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from shared.limits import (
    MAX_AMOUNT_PENCE,
    MAX_CPV_CODES,
    MAX_LIST_ITEMS,
    MAX_RADIUS_KM,
    MAX_TERM_LENGTH,
    BoundedDate,
    BoundedDateTime,
)

ORG_ID_PATTERN = r"^[A-Z]{2}-[A-Z]{2,6}-[A-Za-z0-9]{1,40}$"
"""An org-id.guide identifier: country, register, the register's own number."""
CPV_PATTERN = re.compile(r"^(\d{8})(?:-\d)?$")


def has_dot_segment(value: str) -> bool:
    """Whether an id has a `.` or `..` segment (between `/` or after a listing's `source:`): ids
    become URL paths (`/suppliers/<id>`, `/targets/<id>`), where a client or proxy would resolve
    such a segment to another resource."""
    return any(part in (".", "..") for part in re.split(r"[/:]", value))


def _without_dot_segments(value: str) -> str:
    if has_dot_segment(value):
        raise ValueError("must not contain a '.' or '..' path segment")
    return value


class LegalForm(str, Enum):
    """Legal forms buyers ask about; anything else is `other`."""

    cic = "cic"
    charity = "charity"
    cooperative = "cooperative"
    company_limited_by_guarantee = "company_limited_by_guarantee"
    other = "other"


IMPACT_AREAS: tuple[str, ...] = (
    "employment",
    "youth_employment",
    "training",
    "health_and_wellbeing",
    "environment",
    "reducing_reoffending",
    "tackling_isolation",
    "disability_inclusion",
    "housing",
    "local_economy",
    "community",
    "education",
    "arts_and_culture",
    "food",
)


def normalise_cpv(code: str) -> str:
    """Reduce a CPV code to its 8 digits; publishers send it with or without the check digit."""
    match = CPV_PATTERN.match(code.strip())
    if not match:
        raise ValueError(f"CPV code {code!r} is not 8 digits with an optional check digit")
    return match.group(1)


def _normalise_cpv_list(codes: list[str]) -> list[str]:
    return list(dict.fromkeys(normalise_cpv(c) for c in codes))


Terms = Annotated[list[Annotated[str, Field(max_length=MAX_TERM_LENGTH)]], Field(max_length=MAX_LIST_ITEMS)]
"""A list of short texts (services, categories, regions…), bounded in count and length."""

CpvCodes = Annotated[list[str], Field(max_length=MAX_CPV_CODES), AfterValidator(_normalise_cpv_list)]


class GeoPoint(BaseModel):
    """WGS84 coordinates."""

    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class ServiceArea(BaseModel):
    """Where a supplier will deliver: a radius around its base, named regions, or anywhere."""

    model_config = ConfigDict(extra="forbid")

    radius_km: float | None = Field(default=None, gt=0, le=MAX_RADIUS_KM)
    regions: Terms = Field(default_factory=list)
    national: bool = False


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    website: str | None = None
    email: str | None = None
    phone: str | None = None


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")

    street: str | None = None
    locality: str | None = None
    town: str | None = None


class SizeBand(str, Enum):
    """Employee-count bands as used by UK public buyers (micro/small/medium/large)."""

    micro = "micro"
    small = "small"
    medium = "medium"
    large = "large"


GeoPrecision = Literal["given", "postcode", "address", "district", "area", "region", "none"]
"""How a listing's location was found, most precise first: given coordinates, a full-postcode
table, a geocoded street address, the postcode district's centroid, the postcode area's, the
region's, or not at all."""


class SourceRef(BaseModel):
    """One source record folded into a listing, so a merged organisation still says where each
    part came from (`origin` is a file and line, or an API request id)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=100)
    origin: str | None = Field(default=None, max_length=500)
    updated_at: BoundedDateTime


REGISTERS: dict[str, str] = {
    "GB-CHC": "Charity Commission for England and Wales",
    "GB-SC": "OSCR (Scottish Charity Regulator)",
    "GB-NIC": "Charity Commission for Northern Ireland",
    "GB-COH": "Companies House",
    "GB-MPR": "FCA Mutuals Public Register",
}
"""The official registers a listing can be verified by, keyed by their org-id.guide list code."""
RegisterCode = Literal["GB-CHC", "GB-SC", "GB-NIC", "GB-COH", "GB-MPR"]


class Verification(BaseModel):
    """One official register that lists the organisation, with what status, as of which extract.

    A buyer must see who vouches for a supplier ("registered charity, OSCR, 2024-05"), not take a
    directory's word; `as_of` is the date of the register extract the record came from, so an old
    extract reads as old. `current` is False when the register says the organisation was removed
    or dissolved: such a record still explains itself but no longer verifies anything.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    registry: RegisterCode
    identifier: str = Field(pattern=ORG_ID_PATTERN, max_length=60)
    status: str = Field(min_length=1, max_length=100)
    as_of: str = Field(pattern=r"^\d{4}-\d{2}(-\d{2})?$")
    current: bool = True

    def in_words(self) -> str:
        """"registered charity, OSCR (Scottish Charity Regulator), 2024-05"."""
        return f"{self.status}, {REGISTERS[self.registry]}, {self.as_of}"


class Listing(BaseModel):
    """A social enterprise supplier in the directory.

    `id` is source-qualified (`workerscoop:R001799`) so that two sources never collide.
    `updated_at` orders versions: the index keeps the newest and ignores older updates.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: Annotated[str, AfterValidator(_without_dot_segments)] = Field(
        min_length=3, max_length=200, pattern=r"^[a-z0-9_-]+:[A-Za-z0-9_.\-/]+$")
    name: str = Field(min_length=1, max_length=300)
    legal_form: LegalForm = LegalForm.other
    company_number: str | None = Field(default=None, max_length=20)
    charity_number: str | None = Field(default=None, max_length=20)
    society_number: str | None = Field(default=None, max_length=20)
    org_ids: list[Annotated[str, StringConstraints(pattern=ORG_ID_PATTERN, max_length=60)]] = Field(
        default_factory=list,
        description="org-id.guide identifiers (GB-CHC-1000003, GB-SC-SC012345, GB-NIC-100016, GB-COH-05533834), "
        "so records from registers, grant files and benchmarks can name this organisation",
    )
    verified: list[Verification] = Field(
        default_factory=list,
        max_length=MAX_LIST_ITEMS,
        description="the official registers that list this organisation (set by register loaders)",
    )
    description: str = Field(default="", max_length=20_000)
    services: Terms = Field(default_factory=list)
    cpv_codes: CpvCodes = Field(default_factory=list)
    cpv_inferred: bool = Field(
        default=False,
        description="True when cpv_codes were inferred by a loader from the register's own classifications "
        "(SIC, ICNP/TSO, UK-CAT) or activities text, not stated by the organisation",
    )
    sic_codes: Terms = Field(default_factory=list)
    categories: Terms = Field(default_factory=list)
    impact_areas: Terms = Field(default_factory=list)
    beneficiaries: Terms = Field(default_factory=list)
    certifications: Terms = Field(default_factory=list)
    address: Address = Field(default_factory=Address)
    postcode: str | None = Field(default=None, max_length=10)
    location: GeoPoint | None = None
    geo_precision: GeoPrecision = "none"
    region: str | None = None
    service_area: ServiceArea = Field(default_factory=ServiceArea)
    size_band: SizeBand | None = None
    contact: Contact = Field(default_factory=Contact)
    source: str = Field(min_length=1, max_length=100)
    source_url: str | None = None
    licence: str | None = Field(
        default=None,
        max_length=100,
        description="the terms the source's data is used under (OGL-UK-3.0, CC-BY-4.0, ODC-By-1.0; "
        "'development only' when the licence is unconfirmed)",
    )
    provenance: list[SourceRef] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    updated_at: BoundedDateTime

    @field_validator("updated_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        """Naive timestamps are read as UTC so that ordering never depends on the host clock (the
        type bounds the date first: converting one near date.min or date.max overflows)."""
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @field_validator("impact_areas")
    @classmethod
    def _known_impact_areas(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in IMPACT_AREAS]
        if unknown:
            raise ValueError(f"unknown impact areas {unknown}; known: {', '.join(IMPACT_AREAS)}")
        return value

    def index_document(self) -> dict[str, object]:
        """The JSON document stored in the search index (dates as ISO strings), plus `verified_by`:
        the registers that currently list it, a keyword a buyer filters on."""
        return with_index_fields(self.model_dump(mode="json"))


DERIVED_INDEX_FIELDS = ("verified_by", "member_ids")
"""Fields the index derives from a listing (`with_index_fields`): never read from a record sent in,
so a listing fetched from the directory can be sent back as it is."""


def with_index_fields(document: dict[str, Any]) -> dict[str, Any]:
    """A listing's JSON with the fields the index derives from it: `verified_by`, the registries
    whose entry is current, and `member_ids`, the ids of the source records folded into it (its own
    among them), so that a merged record's old address still finds the organisation. Every writer of
    the index goes through here (a listing's own document, and the consumer's fold of a cluster's
    members), so a filter never misses a derived value."""
    entries = document.get("verified") or ()
    document["verified_by"] = sorted({str(e["registry"]) for e in entries if e.get("current", True)})
    members = {str(document["id"])} if document.get("id") else set()
    document["member_ids"] = sorted(members | {str(e["id"]) for e in document.get("provenance") or () if e.get("id")})
    return document


def require_place(model: Any, what: str) -> None:
    """Lots and partner seekers must be somewhere: a postcode, a point or a region."""
    if model.postcode is None and model.location is None and model.region is None:
        raise ValueError(f"{what}: postcode, location or region")


class Lot(BaseModel):
    """A contract lot to be delivered somewhere, aligned with OCDS tender.lots/items."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str | None = Field(default=None, max_length=200)
    title: str = Field(min_length=1, max_length=1000)
    description: str = Field(default="", max_length=20_000)
    cpv_codes: CpvCodes = Field(default_factory=list)
    postcode: str | None = Field(default=None, max_length=10)
    location: GeoPoint | None = None
    region: str | None = None
    radius_km: float = Field(default=50, gt=0, le=MAX_RADIUS_KM)
    value_pence: int | None = Field(default=None, ge=0, le=MAX_AMOUNT_PENCE)
    social_value_priorities: Terms = Field(default_factory=list)
    required_certifications: Terms = Field(default_factory=list)
    required_legal_forms: list[LegalForm] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)

    @model_validator(mode="after")
    def _has_place(self) -> Lot:
        require_place(self, "a lot needs a delivery place")
        return self


class SpendRecord(BaseModel):
    """One payment to a supplier, or a credit note (a negative amount) that nets off against it.

    A record is identified by its organisation, its supplier and its reference (`key`): supplier
    invoice numbers collide between suppliers in real ledgers, so two suppliers' `INV-1001` are
    two records, and the same supplier's `INV-1001` sent again is the same record, updated.

    The supplier is named by directory id when the payer knows it, else by name (and a registry
    number when known) so that ingest can link it to a listing later.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    organisation: str = Field(min_length=1, max_length=200)
    supplier_id: str | None = Field(default=None, min_length=1, max_length=200)
    supplier_name: str | None = Field(default=None, min_length=1, max_length=300)
    supplier_company_number: str | None = Field(default=None, max_length=20)
    supplier_charity_number: str | None = Field(default=None, max_length=20)
    supplier_postcode: str | None = Field(
        default=None, max_length=10, description="Where the supplier is, when known: it corroborates a link by name."
    )
    amount_pence: int = Field(
        ge=-MAX_AMOUNT_PENCE,
        le=MAX_AMOUNT_PENCE,
        description="Whole pence; negative for a credit note, which nets off against the supplier's spend.",
    )
    currency: Literal["GBP"] = "GBP"
    date: BoundedDate
    category: str | None = None
    cpv_code: str | None = None
    reference: str = Field(min_length=1, max_length=200)
    spend_type: Literal["direct", "indirect"] | None = Field(
        default=None,
        description="Direct: the organisation bought it itself; indirect: a supply-chain partner did (reported"
        " apart, as PPN 001 and the Buy Social Corporate Challenge ask).",
    )
    updated_at: BoundedDateTime | None = None

    @field_validator("amount_pence")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("an amount of nothing is not a payment; a credit note is negative")
        return value

    @field_validator("cpv_code")
    @classmethod
    def _cpv(cls, value: str | None) -> str | None:
        return None if value is None else normalise_cpv(value)

    @model_validator(mode="after")
    def _has_supplier(self) -> SpendRecord:
        if self.supplier_id is None and self.supplier_name is None:
            raise ValueError("a spend record needs supplier_id or supplier_name")
        return self

    @property
    def supplier_key(self) -> str:
        """The supplier as the record names it: its directory id, else its name in one spelling
        (case and spacing aside), so a re-sent record finds itself."""
        if self.supplier_id is not None:
            return f"id:{self.supplier_id}"
        return "name:" + " ".join((self.supplier_name or "").casefold().split())

    @property
    def key(self) -> str:
        """Organisation, supplier and reference, as one string no two records share."""
        return json.dumps([self.organisation, self.supplier_key, self.reference], ensure_ascii=False,
                          separators=(",", ":"))

    @property
    def is_credit(self) -> bool:
        return self.amount_pence < 0
