"""The Charity Commission for England and Wales full register download (`--format ccew`).

A deployment downloads `publicextract.charity.zip` (or the `.txt` inside it) from
register-of-charities.charitycommission.gov.uk/register/full-register-download, and, to give
charities categories and beneficiaries, `publicextract.charity_classification.zip` saved beside
it: the loader reads the classification file when it finds it there. Field names are the
Commission's own (its published data definition, mirrored in drkane/charity-lookups
`ccew-fields.md`): `date_of_extract`, `registered_charity_number`, `linked_charity_number`,
`charity_registration_status`, `charity_activities`, `charity_contact_postcode`,
`charity_company_registration_number`, ...

The tab-separated TXT form is read, not the JSON one: the JSON file is a single array, which
streams only with a JSON event parser (a new dependency), while the TXT form streams with the
standard library and carries the same fields. TXT layout (as the Commission ships it and as
kanedata/find-that-charity `import_ccew.py` reads it): UTF-8 (optionally with BOM), a header
line, tabs between fields, no quoting (a backslash escapes a tab or newline inside a field),
dates as `YYYY-MM-DD HH:MM:SS`.

Kept: main charities (`linked_charity_number` 0; linked charities share the main charity's
number and are listed under it) whose status is "Registered". Skipped, each with its reason:
removed charities; CIOs being dissolved; insolvent charities or those in administration;
grant-makers (every "How" classification is a grant or other finance); charities whose only
"What" is "Religious Activities"; and, by name, parent-teacher associations, places of worship
and members' clubs (`non_suppliers.by_name`). Contact details other than the website are left
out: a small charity's phone and email are often a trustee's own.

Each listing is verified by GB-CHC as of the extract's date, which is also its `updated_at`.
Licence: Open Government Licence v3.0.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

from .common import RawListing, Skipped, edition, given_place, listing_id, unique
from .impact import impact_areas
from .non_suppliers import by_name
from .register_files import Cells, RowReading, cell, file_rows, verification, website

SOURCE = "ccew"
LICENCE = "OGL-UK-3.0"
REGISTER_URL = "https://register-of-charities.charitycommission.gov.uk/charity-search/-/charity-details/{n}"
DIALECT = {"delimiter": "\t", "quoting": csv.QUOTE_NONE, "escapechar": "\\"}
CHARITY_FILE = "publicextract.charity"
CLASSIFICATION_FILE = "publicextract.charity_classification"

COLUMNS = (
    "date_of_extract", "organisation_number", "registered_charity_number", "linked_charity_number",
    "charity_name", "charity_type", "charity_registration_status", "date_of_registration",
    "date_of_removal", "charity_reporting_status", "latest_acc_fin_period_start_date",
    "latest_acc_fin_period_end_date", "latest_income", "latest_expenditure",
    "charity_contact_address1", "charity_contact_address2", "charity_contact_address3",
    "charity_contact_address4", "charity_contact_address5", "charity_contact_postcode",
    "charity_contact_phone", "charity_contact_email", "charity_contact_web",
    "charity_company_registration_number", "charity_insolvent", "charity_in_administration",
    "charity_previously_excepted", "charity_is_cdf_or_cif", "charity_is_cio", "cio_is_dissolved",
    "date_cio_dissolution_notice", "charity_activities", "charity_gift_aid", "charity_has_land",
)
"""`publicextract.charity.txt`'s columns in the Commission's order."""
CLASSIFICATION_COLUMNS = (
    "date_of_extract", "organisation_number", "registered_charity_number", "linked_charity_number",
    "classification_code", "classification_type", "classification_description",
)

# "How" classifications that only move money: makes grants to individuals (301) or to
# organisations (302), provides other finance (303).
_FUNDING_ONLY = frozenset({"301", "302", "303"})
_RELIGIOUS_ONLY = frozenset({"religious activities"})
_DIGITS = re.compile(r"^\d+$")


class Classified:
    """What/Who/How labels by organisation number, read once from the classification file."""

    def __init__(self) -> None:
        self.what: dict[str, list[str]] = defaultdict(list)
        self.who: dict[str, list[str]] = defaultdict(list)
        self.how: dict[str, set[str]] = defaultdict(set)

    @classmethod
    def read(cls, path: Path | None) -> Classified:
        """The labels in `path` (main charities only); none when there is no file."""
        found = cls()
        if path is None:
            return found
        labels: dict[str, str] = {}  # one string per label, not one per row
        for _, row, problem in file_rows(path, ".txt", **DIALECT):
            if problem or (row.get("linked_charity_number") or "0").strip() != "0":
                continue
            number, kind = row["organisation_number"].strip(), row["classification_type"].strip().lower()
            text = row["classification_description"].strip()
            label = labels.setdefault(text, text)
            if kind == "what":
                found.what[number].append(label)
            elif kind == "who":
                found.who[number].append(label)
            elif kind == "how":
                found.how[number].add(row["classification_code"].strip())
        return found


def classification_beside(path: Path) -> Path | None:
    """`publicextract.charity_classification.{txt,zip}` in the charity file's folder, if there."""
    for suffix in (".txt", ".zip"):
        candidate = path.with_name(CLASSIFICATION_FILE + suffix)
        if candidate.exists():
            return candidate
    return None


def rows(path: Path) -> Iterator[RowReading]:
    """The charity file's rows (plain or zipped)."""
    return file_rows(path, ".txt", **DIALECT)


def converter(path: Path) -> Callable[[Cells], RawListing]:
    """`record` with the classification file beside `path` read once."""
    classified = Classified.read(classification_beside(path))
    return lambda row: record(row, classified)


def skip_reason(row: Cells, classified: Classified) -> str | None:
    """Why a register row is not listed, or None to list it."""
    if (row["linked_charity_number"] or "0").strip() != "0":
        return "linked charity (listed under its main charity)"
    if (row["charity_registration_status"] or "").strip().lower() != "registered":
        return "removed from the register"
    if _true(row["cio_is_dissolved"]):
        return "CIO being dissolved"
    if _true(row["charity_insolvent"]) or _true(row["charity_in_administration"]):
        return "insolvent or in administration"
    number = row["organisation_number"].strip()
    how = classified.how.get(number)
    if how and how <= _FUNDING_ONLY:
        return "grant-maker (makes grants, provides no services)"
    what = {label.lower() for label in classified.what.get(number, ())}
    if what and what <= _RELIGIOUS_ONLY:
        return "religious body (religious activities only)"
    return by_name(row["charity_name"])


def record(row: Cells, classified: Classified) -> RawListing:
    """A listing dict for one register row; Skipped for rows that are not suppliers."""
    reason = skip_reason(row, classified)
    if reason:
        raise Skipped(reason)
    number = row["registered_charity_number"].strip()
    if not _DIGITS.match(number):
        raise ValueError(f"registered_charity_number {number!r} is not a number")
    name = cell(row, "charity_name")
    if not name:
        raise ValueError("charity_name is blank")
    as_of = _date(row["date_of_extract"])
    identifier = f"GB-CHC-{number}"
    company = _company_number(cell(row, "charity_company_registration_number"))
    organisation = row["organisation_number"].strip()
    categories = unique(classified.what.get(organisation, ()))
    description = (cell(row, "charity_activities") or "").replace("\r\n", "\n")
    lines = unique(cell(row, f"charity_contact_address{n}") for n in range(1, 6))
    return {
        "id": listing_id(SOURCE, identifier),
        "name": name,
        "legal_form": "charity",
        "charity_number": number,
        **({"company_number": company} if company else {}),
        "org_ids": [identifier, *([f"GB-COH-{company}"] if company else [])],
        "verified": verification("GB-CHC", identifier, "registered charity", as_of),
        "description": description,
        "categories": categories,
        "beneficiaries": unique(classified.who.get(organisation, ())),
        "impact_areas": impact_areas(categories, description),
        "address": {"street": ", ".join(lines[:-1]) or None, "town": lines[-1] if lines else None},
        **given_place(cell(row, "charity_contact_postcode")),
        "contact": {"website": website(cell(row, "charity_contact_web"))},
        "source": SOURCE,
        "source_url": REGISTER_URL.format(n=number),
        "licence": LICENCE,
        "updated_at": edition(as_of),
    }


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in {"true", "1", "yes", "t"}


def _date(value: str | None) -> str:
    """`2026-11-30 00:00:00` -> `2026-11-30`; ValueError when the extract gives no date."""
    day = (value or "").strip()[:10]
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
        raise ValueError(f"date_of_extract {value!r} is not a date")
    return day


def _company_number(value: str | None) -> str | None:
    """Companies House numbers are 8 characters; the extract drops leading zeros."""
    if not value:
        return None
    cleaned = value.strip().upper()
    return cleaned.zfill(8) if cleaned.isdigit() else cleaned
