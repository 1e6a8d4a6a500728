"""Registered societies from the FCA Mutuals Public Register's downloadable extract
(`--format fca-mutuals`).

mutuals.fca.org.uk offers "Download the Register", a CSV of basic society details
(`SocietyList.csv`, published at fcastoragemprprod.blob.core.windows.net/societylist/). The FCA
documents the register's content (its glossary: societies under the Co-operative and Community
Benefit Societies Act 2014, credit unions, friendly and building societies, and the "Reporting
Classifications" the extract uses) but publishes no column list for the file that we could find.
The layout supported is the one kanedata/find-that-charity reads the live file with
(`findthatcharity/apps/ftc/management/commands/import_mutuals.py`): UTF-8 CSV with a header,
columns read by name: "Society Name", "Full Registation Number" (the FCA's spelling; a corrected
"Full Registration Number" is read too), "Society Address" (one cell ending in the postcode),
"Registered As", "Registration Act", "Registration Date" and "Deregistration Date" (dd/mm/yyyy),
"Society Status". The extract carries no date of its own: it is taken from the file's name when
dated, else from the day the file was downloaded.

Kept: co-operative societies, community benefit societies and other registered societies
(the 2014 Act's; older "industrial and provident" ones) whose status is Registered. Skipped,
each with its reason: any other status or a deregistration date (cancelled, dissolved,
deregistered); credit unions, building societies, friendly and benevolent societies (financial
mutuals serving their members) and working men's clubs; tenants' housing co-operatives and
allotment societies (they serve their own members); and, by name, parent-teacher associations,
places of worship and members' clubs.

Each listing is verified by GB-MPR (its org-id is `GB-MPR-<registration number>`) as of the
extract's date, which is also its `updated_at`. Licence: the FCA requires a licence to re-use
Mutuals Register extracts (fca.org.uk, "Information asset register charges"), so listings say
"development only" until a deployment holds one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

from .common import RawListing, Skipped, edition, given_place, listing_id, registry_numbers, unique
from .non_suppliers import by_name
from .register_files import Cells, RowReading, cell, dated_by_file, day_first, file_rows, verification

SOURCE = "fcamutuals"
LICENCE = "development only"
REGISTER_URL = "https://mutuals.fca.org.uk/"
COLUMNS = (
    "Society Name", "Full Registation Number", "Society Address", "Registered As", "Registration Act",
    "Registration Date", "Deregistration Date", "Society Status",
)
"""The columns the loader reads (by name, in any order)."""

_KEPT_TYPES = {
    "co-operative society": "co-operative society",
    "community benefit society": "community benefit society",
    "registered society": "registered society",
    "industrial and provident society": "registered society",
}
"""`Registered As` -> the status a listing's verification states."""
_OTHER_TYPES = {
    "credit union": "credit union",
    "building society": "building society",
    "friendly society": "friendly society",
    "benevolent society": "benevolent society",
    "working men's club": "members' club",
}
_MEMBERS_OWN = re.compile(r"\btenants?'?\b|\bhousing co-?op(?:erative)?\b|\ballotment", re.IGNORECASE)
_POSTCODE_AT_END = re.compile(r"[,\s]*([A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2})\s*$", re.IGNORECASE)


def rows(path: Path) -> Iterator[RowReading]:
    """The extract's rows (plain or zipped CSV)."""
    return file_rows(path, ".csv")


def converter(path: Path) -> Callable[[Cells], RawListing]:
    """`record` dated by the extract `path` is."""
    return dated_by_file(record, path)


def society_type(row: Cells) -> str:
    """The register's `Registered As`, lower-cased ("co-operative society")."""
    return (row.get("Registered As") or "").strip().lower().replace("cooperative", "co-operative")


def skip_reason(row: Cells) -> str | None:
    """Why a society is not listed, or None to list it."""
    status = (row.get("Society Status") or "").strip()
    if cell(row, "Deregistration Date"):
        return "no longer registered (deregistered)"
    if status.lower() != "registered":
        return f"no longer registered ({status or 'no status'})"
    kind = society_type(row)
    if kind not in _KEPT_TYPES:
        return f"not a supplier ({_OTHER_TYPES.get(kind, kind or 'no society type')})"
    name = row.get("Society Name") or ""
    if _MEMBERS_OWN.search(name):
        return "serves its own members (tenants' housing co-operative or allotment society)"
    return by_name(name)


def record(row: Cells, as_of: str) -> RawListing:
    """A listing dict for one registered society; Skipped for the rest."""
    reason = skip_reason(row)
    if reason:
        raise Skipped(reason)
    given = cell(row, "Full Registation Number") or cell(row, "Full Registration Number") or ""
    number = registry_numbers(given).get("society_number")
    if not number:
        raise ValueError(f"registration number {given!r} is not a society number")
    name = cell(row, "Society Name")
    if not name:
        raise ValueError("Society Name is blank")
    registered = day_first(row.get("Registration Date"))  # unreadable -> a problem, not a guess
    identifier = f"GB-MPR-{number}"
    street, postcode = _split_address(cell(row, "Society Address"))
    status = _KEPT_TYPES[society_type(row)]
    act = cell(row, "Registration Act")
    return {
        "id": listing_id("mutual", identifier),
        "name": name,
        "legal_form": "cooperative",
        "society_number": number,
        "org_ids": [identifier],
        "verified": verification("GB-MPR", identifier, status, as_of),
        "description": " ".join(unique([
            f"A {status} registered with the FCA" + (f" since {registered}" if registered else "") + ".",
            f"Registered under the {act}." if act else None,
        ])),
        "categories": [status.capitalize()],
        "address": {"street": street},
        **given_place(postcode),
        "source": SOURCE,
        "source_url": REGISTER_URL,
        "licence": LICENCE,
        "updated_at": edition(as_of),
    }


def _split_address(address: str | None) -> tuple[str | None, str | None]:
    """"1 Mill Lane, Hebden Bridge, HX7 8AA" -> ("1 Mill Lane, Hebden Bridge", "HX7 8AA")."""
    if not address:
        return None, None
    found = _POSTCODE_AT_END.search(address)
    if not found:
        return address.strip() or None, None
    return address[: found.start()].strip(" ,") or None, found[1]
