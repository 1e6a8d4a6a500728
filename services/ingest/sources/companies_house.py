"""Community Interest Companies from Companies House's Free Company Data Product
(`--format companies-house`).

A deployment downloads `BasicCompanyDataAsOneFile-YYYY-MM-DD.zip` (or the numbered part files)
from download.companieshouse.gov.uk/en_output.html and loads it as it is, zipped or not. The
layout is Companies House's own: UTF-8 CSV, every value quoted, a header whose names are those
Companies House documents (some with a leading space, ` CompanyNumber`, which the reader strips),
`CompanyCategory`, `CompanyStatus`, `RegAddress.PostCode`, `IncorporationDate` as dd/mm/yyyy,
and up to four `SICCode.SicText_N` cells such as "85100 - Pre-primary education". The file's
date comes from its name; it is the date every verification is "as of" and every `updated_at`.

About 5 million companies are read and about 1 in 60 kept: only Community Interest Companies
whose `CompanyStatus` is "Active". A skipped row is never turned into a full row: the reader
looks at the category by position and passes on only the cell that decided it, so the skip path
costs a CSV parse and nothing more (`scripts/measure_register_readers.py`: 53,000–64,000 rows
read per CPU-second with 2% CICs). Skipped among CICs, each with its reason: any status but Active (dissolved,
liquidation, proposal to strike off); companies whose only SIC codes say they do not trade or
sell nothing to buyers (dormant, non-trading, religious, political, membership bodies, trade
unions); and, by name, parent-teacher associations, places of worship and members' clubs.

What a CIC does comes from its SIC codes (their ONS descriptions become `services`; CPV codes are
inferred from them, `cpv_inferred`) and, when a `cics-icnptso.csv` is beside the file or shipped
in `data/sources/ukcat/`, from its ICNP/TSO code. That code is a model's guess (its
`icnptso_code_source` is "ml_model", with a probability): it is used only at a probability of
at least `ACTIVITY_THRESHOLD`, and then its title becomes a category and part of the
description, its CPV links are added (inferred), and a code in a non-supplier group (grant-makers,
congregations, members' clubs) skips the company.

Licence: Companies House does not put the Free Company Data Product under the Open Government
Licence; it states that it places no restriction on how the information is used (its
re-use statement and FOI answers), which `LICENCE` records.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path

from . import icnptso
from .common import RawListing, Skipped, edition, given_place, listing_id, unique
from .impact import impact_areas
from .non_suppliers import by_name
from .register_files import (
    Cells,
    RowReading,
    bad_bytes_problem,
    cell,
    extract_date,
    open_text,
    verification,
    width_problem,
)
from .sic import describe, section
from .sic_to_cpv import cpv_for_sic

SOURCE = "companieshouse"
LICENCE = "Companies House public data: no restriction on use (not OGL)"
COMPANY_URL = "https://find-and-update.company-information.service.gov.uk/company/{n}"
CIC = "Community Interest Company"
ACTIVITY_THRESHOLD = 0.5
"""Lowest model probability at which a CIC's ICNP/TSO code is used at all."""
ACTIVITIES_FILE = "cics-icnptso.csv"
SHIPPED_ACTIVITIES = Path(__file__).resolve().parents[3] / "data" / "sources" / "ukcat" / ACTIVITIES_FILE

COLUMNS = (
    "CompanyName", " CompanyNumber", "RegAddress.CareOf", "RegAddress.POBox", "RegAddress.AddressLine1",
    " RegAddress.AddressLine2", "RegAddress.PostTown", "RegAddress.County", "RegAddress.Country",
    "RegAddress.PostCode", "CompanyCategory", "CompanyStatus", "CountryOfOrigin", "DissolutionDate",
    "IncorporationDate", "Accounts.AccountRefDay", "Accounts.AccountRefMonth", "Accounts.NextDueDate",
    "Accounts.LastMadeUpDate", "Accounts.AccountCategory", "Returns.NextDueDate", "Returns.LastMadeUpDate",
    "Mortgages.NumMortCharges", "Mortgages.NumMortOutstanding", "Mortgages.NumMortPartSatisfied",
    "Mortgages.NumMortSatisfied", "SICCode.SicText_1", "SICCode.SicText_2", "SICCode.SicText_3",
    "SICCode.SicText_4", "LimitedPartnerships.NumGenPartners", "LimitedPartnerships.NumLimPartners", "URI",
    *(name for n in range(1, 11) for name in (f"PreviousName_{n}.CONDATE", f" PreviousName_{n}.CompanyName")),
    " ConfStmtNextDueDate", " ConfStmtLastMadeUpDate",
)
"""The header of BasicCompanyData files, leading spaces as Companies House writes them."""

# SIC codes that on their own say a company trades in nothing a public buyer contracts for.
_NON_SUPPLIER_SIC = {
    "99999": "dormant company",
    "74990": "non-trading company",
    "94910": "religious organisation",
    "94920": "political organisation",
    "94110": "business or employers' membership organisation",
    "94120": "professional membership organisation",
    "94200": "trade union",
}


def rows(path: Path) -> Iterator[RowReading]:
    """Each company's row; for companies that are not CICs only the deciding cell, cheaply."""
    with open_text(path, ".csv") as fh:
        reader = csv.reader(fh)
        header = [name.strip() for name in next(reader, [])]
        if "CompanyCategory" not in header:
            raise ValueError(f"{path.name} has no CompanyCategory column: not a BasicCompanyData file")
        category_at, width = header.index("CompanyCategory"), len(header)
        line = reader.line_num
        for values in reader:
            where, line = str(line + 1), reader.line_num
            problem = width_problem(len(values), width)
            if problem:  # the whole row, for the dead letter a steward reads
                yield where, dict(zip(header, values, strict=False)), problem
            elif values[category_at].strip() != CIC:
                yield where, {"CompanyCategory": values[category_at]}, None
            else:
                row = dict(zip(header, values, strict=True))
                yield where, row, bad_bytes_problem(row)


@lru_cache(maxsize=4)
def activities(path: Path | None) -> dict[str, tuple[str, float]]:
    """Company number -> (ICNP/TSO code, model probability) from a `cics-icnptso.csv`."""
    if path is None:
        return {}
    found: dict[str, tuple[str, float]] = {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            register, _, number = (row["org_id"] or "").strip().rpartition("-")
            code = icnptso.normalise(row["icnptso_code"])
            if register == "GB-COH" and number and code:
                found[number.upper()] = (code, float(row["icnptso_code_probability"] or 0))
    return found


def activities_for(path: Path) -> Path | None:
    """The `cics-icnptso.csv` beside the data file, else the one shipped with the project."""
    beside = path.with_name(ACTIVITIES_FILE)
    if beside.exists():
        return beside
    return SHIPPED_ACTIVITIES if SHIPPED_ACTIVITIES.exists() else None


def converter(path: Path) -> Callable[[Cells], RawListing]:
    """`record` dated by the file's name, joined to the CIC activities file once read."""
    as_of, codes = extract_date(path), activities(activities_for(path))
    return lambda row: record(row, as_of, codes)


def sic_codes(row: Cells) -> list[str]:
    """"85100 - Pre-primary education" -> "85100" for each SIC cell ("None Supplied" is none)."""
    codes = (cell(row, f"SICCode.SicText_{n}") or "" for n in range(1, 5))
    return unique(code.split(" - ")[0] for code in codes if code[:5].isdigit())


def skip_reason(row: Cells, sics: list[str], activity: str | None) -> str | None:
    """Why a CIC is not listed, or None to list it (the category is checked first, cheaply)."""
    if row["CompanyCategory"].strip() != CIC:
        return "not a Community Interest Company"
    status = (row["CompanyStatus"] or "").strip()
    if status != "Active":
        return f"company status: {status or 'blank'}"
    if sics and all(code in _NON_SUPPLIER_SIC for code in sics):
        return f"not a supplier ({_NON_SUPPLIER_SIC[sics[0]]}, SIC {sics[0]})"
    why = icnptso.non_supplier(activity)
    if why:
        return f"not a supplier ({why}, ICNP/TSO by model)"
    return by_name(row["CompanyName"])


def record(row: Cells, as_of: str, codes: dict[str, tuple[str, float]]) -> RawListing:
    """A listing dict for one CIC; Skipped for other companies and for non-suppliers."""
    if row["CompanyCategory"].strip() != CIC:  # before touching any other column: most rows stop here
        raise Skipped("not a Community Interest Company")
    number = (row["CompanyNumber"] or "").strip().upper()
    if len(number) != 8 or not number.isalnum():
        raise ValueError(f"CompanyNumber {number!r} is not 8 letters and digits")
    code, probability = codes.get(number, (None, 0.0))
    activity = code if probability >= ACTIVITY_THRESHOLD else None
    sics = sic_codes(row)
    reason = skip_reason(row, sics, activity)
    if reason:
        raise Skipped(reason)
    name = cell(row, "CompanyName")
    if not name:
        raise ValueError("CompanyName is blank")
    title = icnptso.title(activity)
    services = unique(describe(code) for code in sics)
    cpv = unique([*(c for code in sics for c in cpv_for_sic(code)), *icnptso.cpv_for(activity)])
    categories = unique([title, *(section(code) for code in sics)])
    description = _description(services, title)
    identifier = f"GB-COH-{number}"
    street = unique([cell(row, "RegAddress.AddressLine1"), cell(row, "RegAddress.AddressLine2")])
    return {
        "id": listing_id("cic", identifier),
        "name": name,
        "legal_form": "cic",
        "company_number": number,
        "org_ids": [identifier],
        "verified": verification("GB-COH", identifier, CIC, as_of),
        "description": description,
        "services": services,
        "sic_codes": sics,
        "cpv_codes": cpv,
        "cpv_inferred": bool(cpv),
        "categories": categories,
        "impact_areas": impact_areas(categories, description),
        "address": {"street": ", ".join(street) or None, "town": cell(row, "RegAddress.PostTown")},
        **given_place(cell(row, "RegAddress.PostCode")),
        "source": SOURCE,
        "source_url": COMPANY_URL.format(n=number),
        "licence": LICENCE,
        "updated_at": edition(as_of),
    }


def _description(services: list[str], activity_title: str | None) -> str:
    """A sentence saying what the register says the company does, since Companies House holds
    no description; the ICNP/TSO title is marked as a model's classification."""
    parts = []
    if services:
        parts.append(f"Registered activities (SIC): {'; '.join(services)}.")
    if activity_title:
        parts.append(f"Activity (ICNP/TSO, classified by a model): {activity_title}.")
    return " ".join(parts)
