"""The Register of Charities of the Charity Commission for Northern Ireland (CCNI), as its
website exports it ("ExportSearchResultsToCsv", removed charities included).

Every charity in Northern Ireland has to register, so this is the whole NI charity sector, and
the register vouches for each one: a listing `ccni:GB-NIC-<number>` carries that verification
as of the export's date. The id is the register's own, not UK-CAT's `charity:GB-NIC-<number>`:
under one id the consumer would keep only the newer of the two records, and one source's data
would be lost; under two, de-duplication joins them by the register entry both carry
(`dedupe.py`), as it joins `ccew:` and `oscr:` records to UK-CAT's. The export has no free-text
description, only three controlled lists (purposes, beneficiaries, ways of working), so the
description is composed from them in words
and CPV codes are inferred only from ways of working that *are* a service buyers contract for.
Its quirks (Windows-1252 text, the postcode inside a free-text address, company numbers with the
`NI` and the zeros stripped, `n/a` websites) are handled here; PROVENANCE.md beside the file
documents them and counts what each non-supplier rule removes.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from shared.geo import Gazetteer

from .charities import company_fields, non_supplier_by_name, register_url, registered_charity
from .common import RawListing, Skipped, edition, geocoded, given_place, listing_id, text, unique
from .impact import impact_areas
from .mapping import Row
from .register_files import cell, website

SOURCE = "ccni"
LICENCE = "OGL-UK-3.0"
ENCODING = "cp1252"
AS_OF = "2020-06-30"
EDITION = edition(AS_OF)

# The twelve charitable purposes of the Charities Act (Northern Ireland) 2008 as the export
# words them, with the short form a description uses. The export joins them with commas although
# some contain commas, so they are found by name, not by splitting.
PURPOSES: dict[str, str] = {
    "The prevention or relief of poverty": "the relief of poverty",
    "The advancement of education": "education",
    "The advancement of religion": "religion",
    "The advancement of health or the saving of lives": "health or the saving of lives",
    "The advancement of citizenship or community development": "citizenship or community development",
    "The advancement of the arts, culture, heritage or science": "the arts, culture, heritage or science",
    "The advancement of amateur sport": "amateur sport",
    "The advancement of human rights, conflict resolution or reconciliation or the promotion of "
    "religious or racial harmony or equality and diversity": "human rights, reconciliation, equality and diversity",
    "The advancement of environmental protection or improvement": "environmental protection",
    "The relief of those in need by reason of youth, age, ill-health, disability, financial hardship "
    "or other disadvantage": "the relief of those in need",
    "The advancement of animal welfare": "animal welfare",
    "Other charitable purposes": "other charitable purposes",
}
RELIGION = "The advancement of religion"
GRANT_MAKING = "Grant making"
RELIGIOUS_ACTIVITIES = "Religious activities"
GENERAL = "General charitable purposes"

# "How the charity works" values that name a service public buyers contract for, and its CPV
# codes. Themes ("Community development", "Gender", "Disability") name no service and get none.
_CPV_BY_WAY_OF_WORKING: dict[str, tuple[str, ...]] = {
    "Advice/advocacy/information": ("85312300",),  # guidance and counselling services
    "Counselling/support": ("85312300",),
    "Education/training": ("80000000",),  # education and training services
    "Playgroup/after schools": ("85312110",),  # child day-care services
    "Medical/health/sickness": ("85100000",),  # health services
    "Accommodation/housing": ("85311000",),  # social work services with accommodation
    "Youth development": ("85311300",),  # welfare services for children and young people
    "Community transport": ("60000000",),  # transport services
    "Environment/sustainable development/conservation": ("90700000",),  # environmental services
    "Research/evaluation": ("73000000",),  # research and development services
    "Sport/recreation": ("92600000",),  # sporting services
    "Arts": ("92310000",),  # artistic creation and interpretation services
    "Heritage/historical": ("92500000",),  # library, archives, museums and other cultural services
}

# The standard UK postcode format check (PROVENANCE.md); in one address it is not the last part.
_POSTCODE = re.compile(
    r"\b(GIR ?0AA|[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9](?:[0-9ABEHMNPRV-Y])?|[0-9][A-HJKPS-UW]) ?"
    r"[0-9][ABD-HJLNP-UW-Z]{2})\b"
)
# Trailing parts that are no town: a county, the country, or a postcode too garbled to read.
_NOT_A_TOWN = re.compile(
    r"^(?:co\.?|county) |^(?:n\.? ?ireland|northern ireland|uk|united kingdom)$|^BT ?\d", re.IGNORECASE
)
# A place of worship or congregation says so in its name ("… Presbyterian Church", "St Mary's
# Parish", "… Congregation of Jehovah's Witnesses").
_CONGREGATION = re.compile(
    r"\b(?:church|parish|chapel|congregation|mosque|synagogue|gurdwara|temple|cathedral|kingdom hall"
    r"|gospel hall|mission hall|meeting house)\b",
    re.IGNORECASE,
)
_NO_LONGER_OPERATES = re.compile(r"no longer operat", re.IGNORECASE)
_STATUS_WORDS = {
    "Up-to-date": "registered charity",
    "Recently registered": "registered charity (recently registered)",
    "Due documents received late": "registered charity (documents received late)",
    "In default": "registered charity (in default with its returns)",
}


def read(path: Path) -> Iterator[dict[str, str]]:
    """Rows of the export, decoded from Windows-1252."""
    with path.open(encoding=ENCODING, newline="") as fh:
        yield from csv.DictReader(fh)


def org_id(row: Row) -> str:
    """`GB-NIC-` and the register number, as org-id.guide and UK-CAT write it."""
    return f"GB-NIC-{(row['Reg charity number'] or '').strip()}"


def purposes(row: Row) -> list[str]:
    """The charitable purposes a row names, in the Act's order."""
    cell = " ".join((row.get("What the charity does") or "").split())
    return [purpose for purpose in PURPOSES if " ".join(purpose.split()) in cell]


def listed(row: Row, column: str) -> list[str]:
    """A comma-joined controlled list (beneficiaries, ways of working)."""
    return unique((row.get(column) or "").split(","))


def non_supplier_reason(name: str, aims: list[str], ways: list[str], address: str) -> str | None:
    """Why a registered charity sells nothing to public buyers, or None to keep it."""
    if _NO_LONGER_OPERATES.search(address):
        return "no longer operates (the register's address says so)"
    if GRANT_MAKING in ways and set(ways) <= {GRANT_MAKING, GENERAL}:
        return "not a supplier: grant-maker (works only by grant making)"
    if RELIGION in aims and set(ways) <= {RELIGIOUS_ACTIVITIES, GENERAL}:
        return "not a supplier: religious body delivering nothing else"
    if RELIGION in aims and _CONGREGATION.search(name):
        return "not a supplier: congregation or place of worship (religion, and its name)"
    return non_supplier_by_name(name)


def address_fields(address: str, name: str) -> RawListing:
    """postcode, town and street read from the one free-text address (the postcode may sit
    anywhere in it; the first part is often the charity's own name)."""
    address = " ".join(address.split())  # some addresses space their postcode with U+00A0
    found = _POSTCODE.search(address.upper())
    parts = [p.strip() for p in address.split(",") if p.strip()]
    if found:
        parts = [_strip_postcode(p, found.group(1)) for p in parts]
        parts = [p for p in parts if p]
    if parts and parts[0].casefold() == name.casefold():
        parts = parts[1:]
    while parts and _NOT_A_TOWN.search(parts[-1]):
        parts = parts[:-1]
    fields: RawListing = given_place(found.group(1)) if found else {}
    if parts:
        fields["address"] = {"town": parts[-1], **({"street": ", ".join(parts[:-1])} if len(parts) > 1 else {})}
    return fields


def _strip_postcode(part: str, postcode: str) -> str:
    """A part of the address with the postcode taken out (it can share a part with a town)."""
    start = part.upper().find(postcode)
    return part if start < 0 else (part[:start] + part[start + len(postcode) :]).strip(" .")


def describe(aims: list[str], beneficiaries: list[str], ways: list[str]) -> str:
    """The three lists in words: "Advice/advocacy/information and counselling/support for
    carers and older people. Charitable purposes: education; the relief of those in need."."""
    sentences = []
    specific = [way for way in ways if way != GENERAL]
    doing = _joined([w if i == 0 else w[:1].lower() + w[1:] for i, w in enumerate(specific)])
    helping = _joined([b[:1].lower() + b[1:] for b in beneficiaries])
    if doing:
        sentences.append(f"{doing} for {helping}." if helping else f"{doing}.")
    elif helping:
        sentences.append(f"Works for {helping}.")
    if aims:
        sentences.append("Charitable purposes: " + "; ".join(PURPOSES[a] for a in aims) + ".")
    return " ".join(sentences)


def _joined(items: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _contact(row: Row) -> RawListing:
    email = text(row.get("Email"))
    phone = text(row.get("Telephone"))
    return {
        "website": website(cell(row, "Website")),
        "email": email if email and "@" in email else None,
        "phone": phone if phone and any(ch.isdigit() for ch in phone) else None,
    }


def record(row: Row) -> RawListing:
    """A listing dict for one register row, or Skipped with the reason."""
    number = text(row["Reg charity number"])
    name = text(row["Charity name"])
    if not number or not number.isdigit() or not name:
        raise ValueError("no charity number or name")
    status = (row["Status"] or "").strip()
    if status == "Removed":
        raise Skipped("removed from the register")
    aims, ways = purposes(row), listed(row, "How the charity works")
    beneficiaries = listed(row, "Who the charity helps")
    address = row["Public address"] or ""
    reason = non_supplier_reason(name, aims, ways, address)
    if reason:
        raise Skipped(reason)
    identifier = org_id(row)
    description = describe(aims, beneficiaries, ways)
    cpv_codes = unique(cpv for way in ways for cpv in _CPV_BY_WAY_OF_WORKING.get(way, ()))
    categories = [way for way in ways if way != GENERAL]
    return {
        "id": listing_id(SOURCE, identifier),
        "name": name,
        "legal_form": "charity",
        "charity_number": number,
        **company_fields(row.get("Company number"), northern_ireland=True),
        "org_ids": [identifier],
        "verified": registered_charity(identifier, AS_OF, _STATUS_WORDS.get(status, "registered charity")),
        "description": description,
        "categories": categories,
        "beneficiaries": beneficiaries,
        "impact_areas": impact_areas([*categories, *(PURPOSES[a] for a in aims)], description),
        "cpv_codes": cpv_codes,
        "cpv_inferred": bool(cpv_codes),
        **address_fields(address, name),
        "contact": _contact(row),
        "source": SOURCE,
        "source_url": register_url(identifier),
        "licence": LICENCE,
        "updated_at": EDITION,
    }


def to_listing(row: dict[str, str], gazetteer: Gazetteer) -> RawListing:
    """`record`, placed by the gazetteer (for the prebuilt sample directory)."""
    return geocoded(record(row), gazetteer)
