"""Owned by Oxford survey (2019-08-28): Oxford community businesses, co-ops and social enterprises.

Small but descriptive: every respondent wrote what they do and ticked activity and structure
boxes, which become categories, impact areas and a legal form. Campaign groups and housing
co-ops that ticked no trading structure are skipped as not suppliers. All respondents consented
to a public map; the licence is not stated (see PROVENANCE.md).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from shared.geo import Gazetteer

from .common import RawListing, Skipped, edition, listing_id, place, text, unique
from .impact import impact_areas

SOURCE = "oxford"
EDITION = edition("2019-08-28")
LICENCE = "development only"  # not stated (PROVENANCE.md)

# Survey answer codes, from the Owned by Oxford converter (see PROVENANCE.md).
SECONDARY_ACTIVITIES = {
    "SQ002": "Arts",
    "SQ003": "Campaigning",
    "SQ004": "Community",
    "SQ005": "Education",
    "SQ006": "Energy",
    "SQ007": "Food",
    "SQ008": "Goods and services",
    "SQ009": "Health",
    "SQ010": "Housing",
    "SQ011": "Money",
    "SQ012": "Nature",
    "SQ013": "Reuse and repair",
}
_CIC = "SQ011"
_COOPERATIVES = frozenset({"SQ006", "SQ007", "SQ008", "SQ009", "SQ010", "SQ012"})
_CHARITY = "SQ004"
# social enterprise, company, worker/consumer/producer/stakeholder co-op, CIC, CBS
_TRADING_STRUCTURES = frozenset({"SQ003", "SQ005", "SQ006", "SQ008", "SQ009", "SQ010", "SQ011", "SQ012"})
_NON_SUPPLIER_ACTIVITIES = frozenset({"Campaigning, Activism & Advocacy", "Housing"})
_FLAG = re.compile(r"\[(SQ\d+)\]=Yes")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


def read(path: Path) -> Iterator[dict[str, str]]:
    """Rows of the survey CSV."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        yield from csv.DictReader(fh)


def ticked(flags: str) -> set[str]:
    """Answer codes marked Yes in a LimeSurvey multi-choice column ("structure[SQ006]=Yes;...")."""
    return set(_FLAG.findall(flags or ""))


def legal_form(structure: set[str]) -> str:
    """The most specific legal form ticked: CIC, then co-operative or CBS, then charity."""
    if _CIC in structure:
        return "cic"
    if structure & _COOPERATIVES:
        return "cooperative"
    return "charity" if _CHARITY in structure else "other"


def to_listing(row: dict[str, str], gazetteer: Gazetteer) -> RawListing:
    """A listing dict for one survey response; raises Skipped for non-trading campaigns and housing co-ops."""
    structure = ticked(row["structure_flags"])
    primary = row["primary_activity"].strip()
    if primary in _NON_SUPPLIER_ACTIVITIES and not structure & _TRADING_STRUCTURES:
        raise Skipped(f"not a supplier: {primary}")
    secondary = [SECONDARY_ACTIVITIES[c] for c in sorted(ticked(row["secondary_activities_flags"]))]
    categories = unique([primary, *secondary])
    description = _BLANK_LINES.sub("\n\n", row["description"]).strip()
    street = ", ".join(unique([row["address_line1"], row["address_line2"], row["address_line3"]]))
    return {
        "id": listing_id(SOURCE, row["survey_id"]),
        "name": row["name"].strip(),
        "legal_form": legal_form(structure),
        "description": description,
        "services": unique([primary]),
        "categories": categories,
        "impact_areas": impact_areas(categories, description),
        "address": {"street": text(street), "town": text(row["town"])},
        **place(row["postcode"], gazetteer),
        "contact": {"website": text(row["website"])},
        "source": SOURCE,
        "licence": LICENCE,
        "updated_at": EDITION,
    }
