"""Registered charities classified by UK-CAT (UK Charity Activity Tags): England and Wales,
Scotland and Northern Ireland rows in one shape (`sample.csv`, `top2000.csv`).

Charities are a large part of the VCSE sector buyers are asked to reach, and these files carry
what the register alone lacks: the charity's own account of its activities and a manual
classification. Each row becomes a listing keyed by its org-id (`charity:GB-SC-SC012345`) with
the org-id itself in `org_ids`, verified by its regulator as of the register fields the row
carries, so grant files, spend records and the judged benchmark can name it.

Rows the register no longer holds (every register field blank) or marked inactive are skipped;
so are bodies that sell nothing to public buyers, each rule counted by its reason: ICNP/TSO
groups `icnptso.non_supplier` names (grant-makers, congregations, members' clubs, parties),
UK-CAT tags that say only "place of worship", only "grant making" or "parent teacher", and the
name rules every register loader shares (`non_suppliers.by_name`). Licence: classification
CC BY 4.0; register data OGL v3.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from shared.geo import Gazetteer

from . import icnptso
from .charities import CHARITY_REGISTERS, company_fields, non_supplier_by_name, register_url, registered_charity
from .common import RawListing, Skipped, edition, geocoded, given_place, listing_id, text, unique
from .impact import impact_areas
from .mapping import Row

SOURCE = "ukcat"
LICENCE = "CC-BY-4.0; OGL-UK-3.0"
INACTIVE = "inactive charity"
GONE = "no longer in the register"
TAGS_FILE = Path(__file__).resolve().parents[3] / "data" / "sources" / "ukcat" / "ukcat.csv"


@dataclass(frozen=True)
class Edition:
    """When a row's register fields were taken: `as_of` for its verification, `day` for `updated_at`."""

    as_of: str
    day: datetime


# sample.csv's rows come from the 2020-21 manual-classification batches (`01_over_100000` …
# `08_under_100000`) and keep the register fields as sampled then (the file last changed
# 2021-07-15); top2000.csv's rows (`Top charities`, or blank for the never-classified ones) are
# refreshed from the live registers, last on 2026-07-07.
SAMPLED_2021 = Edition("2021-07", edition("2021-07-15"))
REFRESHED_2026 = Edition("2026-07", edition("2026-07-07"))
_SAMPLING_BATCH = re.compile(r"^\d\d_(?:over|under)_100000$")

_BENEFICIARY_CATEGORY = "Beneficiary group"
_PLACE_OF_WORSHIP_TAGS = frozenset({"RL302", "RL303"})  # church or place of worship; parochial church council
_GRANT_MAKING_TAGS = frozenset({"CA200", "CA201", "CA202"})
_PARENT_TEACHER_TAGS = frozenset({"ED201", "ED202"})  # parent teacher; school fundraising
# Tags that name a service public buyers contract for; their CPV codes are those of the ICNP/TSO
# group ukcat.csv relates them to. Other tags (a health condition, a faith, a beneficiary group)
# say what a charity cares about, not what it delivers, and imply no CPV code.
_SERVICE_TAG_PREFIXES = ("SC1", "CC1", "ED3", "HE30", "HE40")
_SERVICE_TAGS = frozenset({"CA101", "CJ101", "ED101", "FA102", "HO103", "HO105", "SW104", "SW203", "SW301"})


@dataclass(frozen=True)
class Tag:
    code: str
    label: str
    category: str
    related_icnptso: tuple[str, ...]


@lru_cache(maxsize=1)
def tags() -> dict[str, Tag]:
    """UK-CAT code -> tag, from the code list shipped beside the data."""
    with TAGS_FILE.open(encoding="utf-8", newline="") as fh:
        return {
            row["Code"]: Tag(
                row["Code"], row["tag"], row["Category"], tuple(unique(row["Related ICNPTSO code"].split(";")))
            )
            for row in csv.DictReader(fh)
        }


def row_edition(row: Row) -> Edition:
    """Which register snapshot a row's fields are, told by its classification batch."""
    return SAMPLED_2021 if _SAMPLING_BATCH.match((row.get("Batch ID") or "").strip()) else REFRESHED_2026


def org_id(row: Row) -> str:
    """The row's org-id; UK-CAT already writes them in org-id.guide form."""
    value = text(row["org_id"])
    if not value or not value.startswith(CHARITY_REGISTERS):
        raise Skipped("no charity register identifier")
    return value


def row_tags(row: Row) -> list[Tag]:
    known = tags()
    return [known[code] for code in unique((row.get("UKCAT") or "").split(";")) if code in known]


def non_supplier_reason(name: str, code: str | None, classified: list[Tag]) -> str | None:
    """Why a classified charity sells nothing to public buyers, or None to keep it."""
    why = icnptso.non_supplier(code)
    if why:
        return f"not a supplier: {why} (ICNP/TSO)"
    codes = {tag.code for tag in classified}
    activities = {tag.code for tag in classified if tag.category != _BENEFICIARY_CATEGORY}
    religious_only = all(tags()[c].category == "Religion" for c in activities)
    if codes & _PLACE_OF_WORSHIP_TAGS and religious_only:
        return "not a supplier: place of worship (UK-CAT tags)"
    if (code or "").upper().startswith("I9") and religious_only:
        return "not a supplier: religious association doing nothing else (ICNP/TSO I90, UK-CAT tags)"
    if activities and activities <= _GRANT_MAKING_TAGS:
        return "not a supplier: grant-maker (UK-CAT tags)"
    if codes & _PARENT_TEACHER_TAGS:
        return "not a supplier: school parents' association or fund (UK-CAT tags)"
    return non_supplier_by_name(name)


def inferred_cpv(code: str | None, classified: list[Tag]) -> list[str]:
    """CPV codes read off the ICNP/TSO code and the service tags, or none."""
    service = [t for t in classified if t.code in _SERVICE_TAGS or t.code.startswith(_SERVICE_TAG_PREFIXES)]
    from_tags = (cpv for tag in service for related in tag.related_icnptso for cpv in icnptso.cpv_for(related))
    return unique([*icnptso.cpv_for(code), *from_tags])


def record(row: Row) -> RawListing:
    """A listing dict for one classified charity, or Skipped with the reason."""
    identifier = org_id(row)
    name = text(row["name"])
    if not name:
        raise Skipped(GONE)
    if (row.get("active") or "").strip().lower() == "false":
        raise Skipped(INACTIVE)
    code = icnptso.normalise(row.get("ICNPTSO"))
    classified = row_tags(row)
    reason = non_supplier_reason(name, code, classified)
    if reason:
        raise Skipped(reason)
    categories = unique([icnptso.title(code), *(t.label for t in classified if t.category != _BENEFICIARY_CATEGORY)])
    description = (text(row.get("activities")) or text(row.get("objects")) or "").replace("\r\n", "\n")
    cpv_codes = inferred_cpv(code, classified)
    snapshot = row_edition(row)
    company = company_fields(row.get("company_number"), northern_ireland=identifier.startswith("GB-NIC-"))
    web = text(row.get("web"))
    return {
        "id": listing_id("charity", identifier),
        "name": name,
        "legal_form": "charity",
        # The regulator's own form (CCNI's "100016", not UK-CAT's "NI100016"), as the NI register's
        # loader writes it, so a merged listing reads the same whichever source leads.
        "charity_number": identifier.rpartition("-")[2],
        **company,
        "org_ids": [identifier, *company.get("org_ids", [])],
        "verified": registered_charity(identifier, snapshot.as_of),
        "description": description,
        "categories": categories,
        "beneficiaries": [t.label for t in classified if t.category == _BENEFICIARY_CATEGORY],
        "impact_areas": impact_areas(categories, description),
        "cpv_codes": cpv_codes,
        "cpv_inferred": bool(cpv_codes),
        **given_place(row.get("postcode")),
        "contact": {"website": web if not web or "://" in web else f"https://{web}"},
        "source": SOURCE,
        "source_url": register_url(identifier),
        "licence": LICENCE,
        "updated_at": snapshot.day,
    }


def to_listing(row: dict[str, str], gazetteer: Gazetteer) -> RawListing:
    """`record`, placed by the gazetteer (for the prebuilt sample directory)."""
    return geocoded(record(row), gazetteer)
