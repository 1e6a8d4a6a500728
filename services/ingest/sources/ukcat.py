"""Registered charities classified by UK-CAT (UK Charity Activity Tags): England and Wales,
Scotland and Northern Ireland rows in one shape (`sample.csv`, `top2000.csv`).

Charities are a large part of the VCSE sector buyers are asked to reach, and these files carry
what the register alone lacks: the charity's own account of its activities and a manual
classification. Each row becomes a listing keyed by its org-id (`charity:GB-SC-SC012345`) with
the org-id itself in `org_ids`, so grant files, spend records and the judged benchmark can name
it. Rows the register no longer holds (every register field blank) or marked inactive are
skipped; so are grant-making trusts, religious bodies and others that sell nothing to buyers
(ICNP/TSO and UK-CAT say which). Licence: classification CC BY 4.0; register data OGL v3.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from shared.geo import Gazetteer

from .common import RawListing, Skipped, edition, geocoded, given_place, listing_id, text, unique
from .impact import impact_areas
from .mapping import Row

SOURCE = "ukcat"
EDITION = edition("2026-07-07")  # the UK-CAT repository commit the files were taken from
TAGS_FILE = Path(__file__).resolve().parents[3] / "data" / "sources" / "ukcat" / "ukcat.csv"

_REGISTERS = {"ccew": "GB-CHC", "oscr": "GB-SC", "ccni": "GB-NIC"}
_REGISTER_URLS = {
    "GB-CHC": "https://register-of-charities.charitycommission.gov.uk/charity-search/-/charity-details/{n}",
    "GB-SC": "https://www.oscr.org.uk/about-charities/search-the-register/charity-details?number={n}",
    "GB-NIC": "https://www.charitycommissionni.org.uk/charity-details/?regId={n}",
}
# ICNP/TSO groups whose organisations are not suppliers to public buyers: grant-making
# foundations (H10), religious congregations (I10, I20) and political, professional or members'
# associations (J, K and L sections).
_NON_SUPPLIER_ICNPTSO = ("H1", "I1", "I2", "J", "K", "L")


@lru_cache(maxsize=1)
def tag_labels() -> dict[str, str]:
    """UK-CAT code -> tag label, from the code list shipped beside the data."""
    with TAGS_FILE.open(encoding="utf-8", newline="") as fh:
        return {row["Code"]: row["tag"] for row in csv.DictReader(fh)}


def org_id(row: Row) -> str:
    """The row's org-id; UK-CAT already writes them in org-id.guide form."""
    value = text(row["org_id"])
    if not value or not value.startswith(tuple(_REGISTERS.values())):
        raise Skipped("no charity register identifier")
    return value


def record(row: Row) -> RawListing:
    """A listing dict for one classified charity, or Skipped with the reason."""
    identifier = org_id(row)
    name = text(row["name"])
    if not name:
        raise Skipped("no longer in the register")
    if (row.get("active") or "").strip().lower() == "false":
        raise Skipped("inactive charity")
    icnptso = (row.get("ICNPTSO") or "").strip().upper()
    if icnptso.startswith(_NON_SUPPLIER_ICNPTSO):
        raise Skipped("not a supplier (grant-making, religious or members' body)")
    labels = tag_labels()
    tags = unique(labels.get(code.strip()) for code in (row.get("UKCAT") or "").split(";"))
    activities = text(row.get("activities"))
    objects = text(row.get("objects"))
    description = activities or objects or ""
    register, _, number = identifier.rpartition("-")
    web = text(row.get("web"))
    return {
        "id": listing_id("charity", identifier),
        "name": name,
        "legal_form": "charity",
        "charity_number": text(row["reg_number"]),
        "org_ids": [identifier],
        "description": description.replace("\r\n", "\n"),
        "categories": tags,
        "impact_areas": impact_areas(tags, description),
        **given_place(row.get("postcode")),
        "contact": {"website": web if not web or "://" in web else f"https://{web}"},
        "source": SOURCE,
        "source_url": _REGISTER_URLS[register].format(n=number),
        "updated_at": EDITION,
    }


def to_listing(row: dict[str, str], gazetteer: Gazetteer) -> RawListing:
    """`record`, placed by the gazetteer (for benchmark directories built without the consumer)."""
    return geocoded(record(row), gazetteer)
