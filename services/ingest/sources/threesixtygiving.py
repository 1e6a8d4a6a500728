"""360Giving grant files: each recipient organisation becomes a listing.

Grant-makers who fund community businesses (Power to Change, first of all) publish what they
fund in the 360Giving standard. A recipient with several grants becomes one listing; the
programmes and any grant description that says more than "Grant to <name>" form its
description, which is often the only place that says what the organisation does.

Three shapes are read into one flat row per grant (`FLAT_COLUMNS`): the project's flattened CSV
(`data/sources/powertochange`, test data: development only, see its PROVENANCE.md), the
standard 360Giving CSV (`Recipient Org:Name` headers) and the 360Giving JSON package.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from shared.geo import Gazetteer

from .common import (
    RawListing,
    Skipped,
    edition,
    geocoded,
    given_place,
    listing_id,
    registry_number_text,
    registry_numbers,
    text,
    unique,
)
from .impact import impact_areas
from .legal_forms import legal_form_from_text
from .mapping import CsvMapping, col

SOURCE = "powertochange"
GENERIC_SOURCE = "360giving"
POWER_TO_CHANGE = "Power to Change"
# dateModified of every grant in the 360Giving file the flat CSV was derived from.
EDITION = edition("2019-05-15")
DEVELOPMENT_ONLY = "development only"  # the Power to Change file is 360Giving test data (PROVENANCE.md)
GrantRow = dict[str, str]

FLAT_COLUMNS = CsvMapping(
    {
        "grant_id": col("grant_id", "Identifier"),
        "award_date": col("award_date", "Award Date"),
        "programme": col("programme", "Grant Programme:Title"),
        "grant_description": col("grant_description", "Description"),
        "recipient_id": col("recipient_id", "Recipient Org:Identifier"),
        "recipient_name": col("recipient_name", "Recipient Org:Name"),
        "organisation_type": col("organisation_type", "Recipient Org:Organisation Type", "Recipient Org:Type"),
        "charity_number": col("charity_number", "Recipient Org:Charity Number"),
        "company_number": col("company_number", "Recipient Org:Company Number"),
        "street_address": col("street_address", "Recipient Org:Street Address"),
        "locality": col("locality", "Recipient Org:City", "Recipient Org:Locality"),
        "postal_code": col("postal_code", "Recipient Org:Postal Code"),
        "url": col("url", "Recipient Org:Web Address", "Recipient Org:URL"),
        "funder": col("funder", "Funding Org:Name"),
        "date_modified": col("date_modified", "Last Modified", "Last modified"),
    }
)
"""Column aliases that bring the flat and the standard CSV to one row shape."""


def flat_row(row: dict[str, Any]) -> GrantRow:
    """One grant in the flat shape; every column present (blank when the file lacks it)."""
    return {**dict.fromkeys(FLAT_COLUMNS.fields, ""), **FLAT_COLUMNS.to_listing(row)}


def flat_json_grant(grant: dict[str, Any]) -> GrantRow:
    """A 360Giving JSON grant in the flat shape."""
    recipient = (grant.get("recipientOrganization") or [{}])[0]
    programme = (grant.get("grantProgramme") or [{}])[0]
    funder = (grant.get("fundingOrganization") or [{}])[0]
    return flat_row({
        "grant_id": grant.get("id"), "award_date": grant.get("awardDate"), "programme": programme.get("title"),
        "grant_description": grant.get("description"), "recipient_id": recipient.get("id"),
        "recipient_name": recipient.get("name"), "organisation_type": recipient.get("organisationType"),
        "charity_number": recipient.get("charityNumber"), "company_number": recipient.get("companyNumber"),
        "street_address": recipient.get("streetAddress"), "locality": recipient.get("addressLocality"),
        "postal_code": recipient.get("postalCode"), "url": recipient.get("url") or grant.get("url"),
        "funder": funder.get("name"), "date_modified": grant.get("dateModified"),
    })


def read_grants(path: Path) -> Iterator[tuple[str, GrantRow]]:
    """(where in the file, flat grant row) for a 360Giving JSON package or CSV."""
    if path.suffix.lower() == ".json":
        with path.open(encoding="utf-8") as fh:
            for number, grant in enumerate(json.load(fh).get("grants", [])):
                yield f"grants[{number}]", flat_json_grant(grant)
        return
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        line = 1
        for row in reader:
            yield str(line + 1), flat_row(row)
            line = reader.line_num


def group_by_recipient(grants: Iterable[tuple[str, GrantRow]]) -> list[tuple[list[str], list[GrantRow]]]:
    """(where, grants) per recipient, in first-seen order, each group oldest grant first."""
    groups: dict[str, list[tuple[str, GrantRow]]] = defaultdict(list)
    for where, row in grants:
        groups[row["recipient_id"].strip()].append((where, row))
    out = []
    for members in groups.values():
        members.sort(key=lambda m: (m[1]["award_date"], m[1]["grant_id"]))
        out.append(([where for where, _ in members], [row for _, row in members]))
    return out


def read_by_recipient(path: Path) -> dict[str, list[GrantRow]]:
    """Grant rows grouped by recipient id, each group oldest grant first."""
    return {rows[0]["recipient_id"].strip(): rows for _, rows in group_by_recipient(read_grants(path))}


_SKIPPED_TYPES = {
    "University": "university, not a community business",
    "Individual": "individual, not an organisation",
    "Converted/Closed": "closed or converted",
}
_PROGRAMME_CATEGORIES = {
    "More Than a Pub (MTP)": "Community pub",
    "Homes in Community Hands (HiCH)": "Community-led housing",
    "Next Generation Community Energy (NGCE)": "Community energy",
}
_NAME_ONLY = re.compile(r"^(?:grant to|provided capacity support to)\s", re.IGNORECASE)


def legal_form(organisation_type: str) -> str:
    """Map 360Giving's free-text organisationType to `LegalForm`."""
    return legal_form_from_text(organisation_type)


def _funder(grants: list[GrantRow]) -> str:
    """The funder's name; the flat Power to Change file has no funder column."""
    name = grants[-1].get("funder", "").strip()
    return POWER_TO_CHANGE if not name or name.startswith(POWER_TO_CHANGE) else name


def describe(grants: Iterable[GrantRow]) -> str:
    """A description built from the programmes and the informative grant descriptions."""
    grants = list(grants)
    programmes = unique(g["programme"] for g in grants)
    years = sorted({g["award_date"][:4] for g in grants})
    span = years[0] if len(years) == 1 else f"{years[0]}-{years[-1]}"
    details = unique(g["grant_description"] for g in grants if not _NAME_ONLY.match(g["grant_description"]))
    funder = _funder(grants)
    lead = "Community business funded by" if funder == POWER_TO_CHANGE else "Funded by"
    summary = f"{lead} {funder} ({'; '.join(programmes)}, {span})."
    return "\n\n".join([summary, *details])


def record(grants: list[GrantRow]) -> RawListing:
    """One listing for a recipient's grants, as the file states it; its latest grant gives the
    name and address. Raises Skipped for universities, individuals and closed organisations."""
    latest = grants[-1]
    organisation_type = latest["organisation_type"].strip()
    if organisation_type in _SKIPPED_TYPES:
        raise Skipped(_SKIPPED_TYPES[organisation_type])
    power_to_change = _funder(grants) == POWER_TO_CHANGE
    description = describe(grants)
    programme_categories = (_PROGRAMME_CATEGORIES.get(g["programme"]) for g in grants)
    categories = unique(["Community business" if power_to_change else None, *programme_categories])
    return {
        "id": listing_id("ptc" if power_to_change else "360g", latest["recipient_id"]),
        "name": latest["recipient_name"].strip(),
        "legal_form": legal_form(organisation_type),
        **registry_numbers(latest["company_number"]),
        "charity_number": registry_number_text(latest["charity_number"]),
        "description": description,
        "categories": categories,
        "impact_areas": impact_areas(categories, description),
        "address": {"street": text(latest["street_address"]), "town": text(latest["locality"])},
        **given_place(latest["postal_code"]),
        "contact": {"website": text(latest["url"])},
        "source": SOURCE if power_to_change else GENERIC_SOURCE,
        # Power to Change's file is 360Giving test data; other files carry their publisher's
        # licence, which the steward states, not this adapter.
        "licence": DEVELOPMENT_ONLY if power_to_change else None,
        "updated_at": _updated_at(grants) or EDITION,
    }


def _updated_at(grants: list[GrantRow]) -> str | None:
    """The newest dateModified of the recipient's grants (JSON and standard CSV carry it)."""
    return max((g["date_modified"] for g in grants if g.get("date_modified")), default=None)


def to_listing(grants: list[GrantRow], gazetteer: Gazetteer) -> RawListing:
    """`record`, placed by the gazetteer (for the prebuilt sample)."""
    return geocoded(record(grants), gazetteer)
