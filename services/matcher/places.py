"""Where a lot is delivered: a point (given or from a postcode), a UK region, or the whole UK.

OCDS publishers give NUTS codes (`UKM93`); the first three characters name a NUTS1 area, which
maps one-to-one onto the UK regions the postcode data uses (its "UK region" column), so listings
and lots agree on region names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.geo import InvalidPostcode, default_gazetteer, is_outcode, normalise_postcode
from shared.models import GeoPoint, Lot

NATIONAL = "United Kingdom"

# NUTS1 (2016, as UK publishers still use) -> UK region name in data/postcodes "UK region".
NUTS1_REGIONS: dict[str, str] = {
    "UKC": "North East",
    "UKD": "North West",
    "UKE": "Yorkshire and The Humber",
    "UKF": "East Midlands",
    "UKG": "West Midlands",
    "UKH": "East of England",
    "UKI": "London",
    "UKJ": "South East",
    "UKK": "South West",
    "UKL": "Wales",
    "UKM": "Scotland",
    "UKN": "Northern Ireland",
}
ENGLAND = "England"
ENGLISH_REGIONS: tuple[str, ...] = tuple(NUTS1_REGIONS[f"UK{letter}"] for letter in "CDEFGHIJK")
_NUTS = re.compile(r"^(?:UK|TL)(?:[C-N][0-9A-Z]{0,2})?$")
_BY_NAME = {name.casefold(): name for name in (*NUTS1_REGIONS.values(), NATIONAL, ENGLAND)} | {
    alias: NATIONAL for alias in ("uk", "gb", "great britain", "britain", "the united kingdom")
} | {"yorkshire and the humber": "Yorkshire and The Humber", "east": "East of England"}


def region_name(value: str) -> str | None:
    """A UK region name from a NUTS or ITL code (`UKM93`, `TLM93`, `UK`), a region or nation name
    in any case ("England", "United Kingdom"); else None."""
    text = value.strip()
    upper = text.upper()
    if _NUTS.match(upper):
        return NUTS1_REGIONS.get("UK" + upper[2:3], NATIONAL)
    return _BY_NAME.get(" ".join(text.casefold().split()))


def regions_within(region: str) -> tuple[str, ...]:
    """The listings' region names a lot's region covers: England is its nine regions."""
    return ENGLISH_REGIONS if region == ENGLAND else (region,)


class LotError(Exception):
    """The lot cannot be matched as given; `field` is the Lot field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Place:
    """A resolved delivery place: `point` when known, `region` when known, `national` for UK-wide;
    `source` says in words where it came from, for the buyer to check."""

    point: tuple[float, float] | None
    region: str | None
    source: str = ""

    @property
    def national(self) -> bool:
        return self.point is None and self.region == NATIONAL

    def covers_region(self, region: str | None) -> bool:
        """Whether a supplier based in `region` is in the lot's region (or nation)."""
        return region is not None and self.region is not None and region in regions_within(self.region)


def resolve_place(lot: Lot, source: str | None = None) -> tuple[Lot, Place]:
    """Locate the lot (given point, then postcode, then region) and return it normalised;
    `source` is where the caller found the place (an OCDS field), else it is said from the lot.

    A postcode that is given but unknown is an error even when a region is also given: the buyer
    asked for that place, and silently widening the search would hide their mistake.
    """
    lot, point = _point(lot)
    region = None
    if lot.region is not None:
        region = region_name(lot.region)
        if region is None:
            raise LotError("region", "region not recognised; use a UK region name or a NUTS code like UKM93")
    # Lot's own validator guarantees a postcode, location or region, so one of them is set here.
    return lot.model_copy(update={"region": region}), Place(point, region, source or _said(lot, point, region))


def _said(lot: Lot, point: tuple[float, float] | None, region: str | None) -> str:
    if lot.postcode is not None:
        return f"postcode {lot.postcode}"
    if point is not None:
        return "location given"
    return "the whole UK" if region == NATIONAL else f"region {region}"


def _point(lot: Lot) -> tuple[Lot, tuple[float, float] | None]:
    if lot.location is not None:
        return lot, (lot.location.lat, lot.location.lon)
    if lot.postcode is None:
        return lot, None
    # An outward code alone ("EH1") is accepted: buyers often know only the district.
    try:
        found = default_gazetteer().locate(lot.postcode)
    except InvalidPostcode as exc:
        raise LotError("postcode", "postcode not recognised") from exc
    if found is None:
        raise LotError("postcode", "postcode not recognised")
    raw = lot.postcode
    postcode = "".join(raw.split()).upper() if is_outcode(raw) else normalise_postcode(raw)
    located = lot.model_copy(
        update={
            "postcode": postcode,
            "location": GeoPoint(lat=found.lat, lon=found.lon),
            "region": lot.region or found.region,
        }
    )
    return located, (found.lat, found.lon)
