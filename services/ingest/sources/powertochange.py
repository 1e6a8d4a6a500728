"""Power to Change grants 2015-2019 (360Giving), flattened to one row per grant.

Power to Change funds community businesses, so each grant recipient is a candidate supplier.
A recipient with several grants becomes one listing; the programmes and any grant description
that says more than "Grant to <name>" form its description. Caveat (see PROVENANCE.md): the
file is 360Giving's test copy of the published data - development and testing only.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from shared.geo import Gazetteer

from .common import RawListing, Skipped, edition, listing_id, place, registry_numbers, text, unique
from .impact import impact_areas

SOURCE = "powertochange"
# dateModified of every grant in the 360Giving file the flat CSV was derived from.
EDITION = edition("2019-05-15")

_LEGAL_FORMS = (
    (re.compile(r"community interest company", re.IGNORECASE), "cic"),
    (re.compile(r"society|industrial and provident|\bcbs\b", re.IGNORECASE), "cooperative"),
    (re.compile(r"charit|\btrust\b", re.IGNORECASE), "charity"),
    (re.compile(r"limited by guarantee", re.IGNORECASE), "company_limited_by_guarantee"),
)
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


def read_by_recipient(path: Path) -> dict[str, list[dict[str, str]]]:
    """Grant rows grouped by recipient id, each group oldest grant first."""
    groups: defaultdict[str, list[dict[str, str]]] = defaultdict(list)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            groups[row["recipient_id"].strip()].append(row)
    return {key: sorted(rows, key=lambda r: (r["award_date"], r["grant_id"])) for key, rows in groups.items()}


def legal_form(organisation_type: str) -> str:
    """Map 360Giving's free-text organisationType to `LegalForm`."""
    return next((form for pattern, form in _LEGAL_FORMS if pattern.search(organisation_type)), "other")


def describe(grants: Iterable[dict[str, str]]) -> str:
    """A description built from the programmes and the informative grant descriptions."""
    grants = list(grants)
    programmes = unique(g["programme"] for g in grants)
    years = sorted({g["award_date"][:4] for g in grants})
    span = years[0] if len(years) == 1 else f"{years[0]}-{years[-1]}"
    details = unique(g["grant_description"] for g in grants if not _NAME_ONLY.match(g["grant_description"]))
    summary = f"Community business funded by Power to Change ({'; '.join(programmes)}, {span})."
    return "\n\n".join([summary, *details])


def to_listing(grants: list[dict[str, str]], gazetteer: Gazetteer) -> RawListing:
    """One listing for a recipient's grants; its latest grant gives the name and address."""
    latest = grants[-1]
    organisation_type = latest["organisation_type"].strip()
    if organisation_type in _SKIPPED_TYPES:
        raise Skipped(_SKIPPED_TYPES[organisation_type])
    description = describe(grants)
    categories = unique(["Community business", *(_PROGRAMME_CATEGORIES.get(g["programme"]) for g in grants)])
    return {
        "id": listing_id("ptc", latest["recipient_id"]),
        "name": latest["recipient_name"].strip(),
        "legal_form": legal_form(organisation_type),
        **registry_numbers(latest["company_number"]),
        "charity_number": text(latest["charity_number"]),
        "description": description,
        "categories": categories,
        "impact_areas": impact_areas(categories, description),
        "address": {"street": text(latest["street_address"]), "town": text(latest["locality"])},
        **place(latest["postal_code"], gazetteer),
        "contact": {"website": text(latest["url"])},
        "source": SOURCE,
        "updated_at": EDITION,
    }
