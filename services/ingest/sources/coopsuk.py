"""Co-operatives UK open data (Q2 2023 edition, Digital Commons "standard" CSV).

The richest national list of co-operatives, but it is a register, not a supplier directory:
it includes social clubs, housing co-ops, credit unions and allotment societies that sell
nothing to public buyers. Those are skipped; everything else becomes a listing keyed by the
Co-ops UK identifier (`coop:R001799`), which Workers.coop shares. Licence: ODC-By 1.0,
attribution "Co-operatives UK".
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from shared.geo import Gazetteer

from .common import RawListing, Skipped, edition, geocoded, given_place, listing_id, registry_numbers, unique
from .impact import impact_areas
from .mapping import TRANSFORMS, CsvMapping, Derived, Row, col
from .sic import describe
from .sic_to_cpv import cpv_for_sic

SOURCE = "coopsuk"
# The date of the Co-ops UK schema published with the Q2 2023 edition (schema-20230616.yml).
EDITION = edition("2023-06-16")
LICENCE = "ODC-By-1.0"  # attribution "Co-operatives UK"

NON_SUPPLIER_SECTORS = frozenset(
    {"Housing", "Finance", "Membership associations, social clubs and trade unions"}
)
# Sports clubs (93120) and licensed clubs (56301, working men's clubs) serve their members.
_MEMBERS_CLUB_SIC = frozenset({"93120", "56301"})
# Ownership classes whose members own and run the business co-operatively; "Employee Trust"
# (employee-owned companies) and a blank class are not co-operatives in the buyer's sense.
_CO_OPERATIVE_OWNERSHIP = frozenset(
    {
        "Consumers",
        "Community of Interest",
        "Enterprises",
        "Multi-stakeholder",
        "Workers",
        "Self-employed",
        "Co-operatives",
        "Tenants",
    }
)


def read(path: Path) -> Iterator[dict[str, str]]:
    """Rows of a Digital Commons standard CSV (UTF-8, with or without BOM)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        yield from csv.DictReader(fh)


def coop_id(identifier: str) -> str:
    """The listing id shared by every source that carries a Co-ops UK identifier."""
    return listing_id("coop", identifier)


def legal_form(form: str, ownership: str) -> str:
    """Map the register's legal form and ownership class to `LegalForm`.

    Societies are co-operative or community benefit societies; a company, LLP or unincorporated
    body counts as a co-operative only when the register says its members own it co-operatively.
    """
    if form == "Community Interest Company":
        return "cic"
    if form == "Scottish Charitable Incorporated Organisation":
        return "charity"
    if form == "Society" or ownership in _CO_OPERATIVE_OWNERSHIP:
        return "cooperative"
    return "other"


def skip_reason(row: Row) -> str | None:
    """Why a row is not a plausible supplier, or None to keep it.

    A row in a non-supplier sector is kept when its SIC code is a buyable service (the register
    files some cleaning co-ops under "Housing") unless tenants own it (residents' associations).
    """
    sector, sic = row["Sector"].strip(), row["SIC Code"].strip()
    if sector in NON_SUPPLIER_SECTORS and (
        not cpv_for_sic(sic) or row["Ownership Classification"] == "Tenants"
    ):
        return f"non-supplier sector: {sector}"
    if sic.startswith("98"):
        return "households' own-use activity (allotment societies)"
    if sic in _MEMBERS_CLUB_SIC:
        return "members' club"
    if not sector and not sic:
        return "no sector or SIC code"
    return None


def _sector(row: Row) -> str:
    return str(row["Sector"]).strip()


def _sic(row: Row) -> str:
    return str(row["SIC Code"]).strip()


def _categories(row: Row) -> list[str]:
    return [_sector(row)] if _sector(row) and _sector(row) != "Other" else []


def _services(row: Row) -> list[str]:
    sic = _sic(row)
    return unique([describe(sic) if sic else None, _sector(row) if _sector(row) != "Other" else None])


def _place(row: Row) -> RawListing:
    return given_place(row["Postcode"], row["Geo Container Latitude"], row["Geo Container Longitude"])


STANDARD = CsvMapping(
    {
        "id": col("Identifier", transform=coop_id),
        "name": col("Name"),
        "legal_form": Derived(lambda r: legal_form(r["Legal Form"].strip(), r["Ownership Classification"].strip())),
        "registry": Derived(lambda r: registry_numbers(r["Companies House Number"]), spread=True),
        "services": Derived(_services),
        "cpv_codes": col("SIC Code", transform=lambda sic: cpv_for_sic(sic)),
        "sic_codes": col("SIC Code", transform=lambda sic: [sic.strip()]),
        "categories": Derived(_categories),
        "impact_areas": Derived(lambda r: impact_areas(_categories(r))),
        "address.street": col("Street Address", transform=TRANSFORMS["lines"]),
        "address.town": col("Locality"),
        "place": Derived(_place, spread=True),
        "contact.website": col("Website"),
    },
)
"""Fields read the same way from every Digital Commons standard CSV (Co-ops UK, Workers.coop)."""

def record(row: Row) -> RawListing:
    """A listing dict for one register row, as the source states it; raises Skipped for non-suppliers."""
    reason = skip_reason(row)
    if reason:
        raise Skipped(reason)
    fields = STANDARD.to_listing(row)
    # cpv_codes are read off the SIC code, not stated by the co-op.
    return {**fields, "cpv_inferred": bool(fields.get("cpv_codes")), "source": SOURCE, "licence": LICENCE,
            "updated_at": EDITION}


def to_listing(row: dict[str, str], gazetteer: Gazetteer) -> RawListing:
    """`record`, placed by the gazetteer (for the prebuilt sample)."""
    return geocoded(record(row), gazetteer)
