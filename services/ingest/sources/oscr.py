"""The Scottish Charity Register download from OSCR (`--format oscr`).

A deployment downloads the register from oscr.org.uk (About charities -> Search the register ->
Charity register download, https://www.oscr.org.uk/download/charity-register): a zip holding one
CSV, which the loader reads as it is (zipped or not). OSCR publishes no data definition for the
file that we could find; the layout here is the best public evidence, the column list and
formats kanedata/find-that-charity reads the live file with
(`findthatcharity/apps/charity/management/commands/import_oscr.py`, `STANDARD_FIELD_NAMES`):
UTF-8 CSV with a header, "Charity Number" (SC012345), "Charity Name", "Registered Date"
(dd/mm/yyyy), "Charity Status", "Postcode", "Constitutional Form", "Purposes", "Beneficiaries"
and "Activities" (each a comma-separated list of single-quoted labels), "Objectives",
"Website", "Most recent year income", "Year End", "Designated religious body", "Regulatory Type".
The file carries no extract date: it is taken from the file's name when dated, else from the
day the file was downloaded (`register_files.extract_date`).

Kept: charities on the register. Skipped, each with its reason: removed or ceased charities (the
former-charities download has them); designated religious bodies and charities whose only
purpose is the advancement of religion; grant-makers (every activity is making grants); and,
by name, parent-teacher associations, places of worship and members' clubs. The principal
office or trustees' address is left out (often a trustee's home); the postcode is kept.

Each listing is verified by GB-SC as of the extract's date, which is also its `updated_at`.
Licence: Open Government Licence v3.0 ("Contains information from the Scottish Charity Register
supplied by the Office of the Scottish Charity Regulator and licensed under the Open Government
Licence v3.0").
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from .common import RawListing, Skipped, edition, given_place, listing_id, unique
from .impact import impact_areas
from .non_suppliers import by_name
from .register_files import Cells, RowReading, cell, dated_by_file, file_rows, verification, website

SOURCE = "oscr"
LICENCE = "OGL-UK-3.0"
REGISTER_URL = "https://www.oscr.org.uk/about-charities/search-the-register/charity-details?number={n}"
COLUMNS = (
    "Charity Number", "Charity Name", "Registered Date", "Known As", "Charity Status", "Notes",
    "Postcode", "Constitutional Form", "Previous Constitutional Form 1", "Geographical Spread",
    "Main Operating Location", "Purposes", "Beneficiaries", "Activities", "Objectives",
    "Principal Office/Trustees Address", "Website", "Most recent year income",
    "Most recent year expenditure", "Mailing cycle", "Year End", "Date annual return received",
    "Next year end date", "Donations and legacies income", "Charitable activities income",
    "Other trading activities income", "Investments income", "Other income", "Raising funds spending",
    "Charitable activities spending", "Other spending", "Parent charity name", "Parent charity number",
    "Parent charity country of registration", "Designated religious body", "Regulatory Type",
)
"""The download's columns in OSCR's order."""

_NUMBER = re.compile(r"^SC\d{6}$")
_RELIGION = "the advancement of religion"


def rows(path: Path) -> Iterator[RowReading]:
    """The register's rows (plain or zipped CSV)."""
    return file_rows(path, ".csv")


def converter(path: Path) -> Callable[[Cells], RawListing]:
    """`record` dated by the extract `path` is."""
    return dated_by_file(record, path)


def labels(value: str | None) -> list[str]:
    """`'The advancement of education','The relief of those in need'` -> the two labels."""
    if not value:
        return []
    return unique(next(csv.reader([value], quotechar="'", skipinitialspace=True), []))


def skip_reason(row: Cells) -> str | None:
    """Why a register row is not listed, or None to list it."""
    status = (row["Charity Status"] or "").strip().lower()
    if status.startswith(("removed", "ceased")) or cell(row, "Ceased Date"):
        return "removed from the register"
    if (row["Designated religious body"] or "").strip().lower() == "yes":
        return "designated religious body"
    purposes = {p.lower() for p in labels(row["Purposes"])}
    if purposes and purposes <= {_RELIGION}:
        return "religious body (advancement of religion only)"
    activities = labels(row["Activities"])
    if activities and all("grant" in a.lower() for a in activities):
        return "grant-maker (makes grants, provides no services)"
    return by_name(row["Charity Name"])


def record(row: Cells, as_of: str) -> RawListing:
    """A listing dict for one register row; Skipped for rows that are not suppliers."""
    reason = skip_reason(row)
    if reason:
        raise Skipped(reason)
    number = (row["Charity Number"] or "").strip().upper()
    if not _NUMBER.match(number):
        raise ValueError(f"Charity Number {number!r} is not SC and six digits")
    name = cell(row, "Charity Name")
    if not name:
        raise ValueError("Charity Name is blank")
    identifier = f"GB-SC-{number}"
    categories = labels(row["Purposes"])
    description = (cell(row, "Objectives") or "").replace("\r\n", "\n")
    return {
        "id": listing_id(SOURCE, identifier),
        "name": name,
        "legal_form": "charity",
        "charity_number": number,
        "org_ids": [identifier],
        "verified": verification("GB-SC", identifier, "registered charity", as_of),
        "description": description,
        "categories": categories,
        "beneficiaries": labels(row["Beneficiaries"]),
        "impact_areas": impact_areas(categories, description),
        **given_place(cell(row, "Postcode")),
        "contact": {"website": website(cell(row, "Website"))},
        "source": SOURCE,
        "source_url": REGISTER_URL.format(n=number),
        "licence": LICENCE,
        "updated_at": edition(as_of),
    }
