"""Where a listing comes from, in words, with links to the original records.

The index stores a source's short name (`coopsuk`); a buyer needs to read "Co-operatives UK open
data" and to check the listing against the register that holds the organisation.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from shared.models import REGISTERS, Verification

SOURCE_NAMES: dict[str, str] = {
    "coopsuk": "Co-operatives UK open data",
    "workerscoop": "Workers.coop directory of worker co-operatives",
    "oxford": "Owned by Oxford survey of community businesses",
    "powertochange": "Power to Change grant recipients (360Giving data)",
    "360giving": "360Giving grant data",
    "ukcat": "UK Charity Activity Tags (UK-CAT) classified charities",
    "ccni": "Charity Commission for Northern Ireland register",
    "ccew": "Charity Commission for England and Wales register extract",
    "oscr": "Scottish Charity Register (OSCR)",
    "companieshouse": "Companies House basic company data",
    "fcamutuals": "FCA Mutuals Public Register",
    "api": "Sent to the directory through its API",
}
COMPANIES_HOUSE = "https://find-and-update.company-information.service.gov.uk/company/{}"
CHARITY_COMMISSION = "https://register-of-charities.charitycommission.gov.uk/charity-search/-/charity-details/{}"
OSCR = "https://www.oscr.org.uk/about-charities/search-the-register/charity-details?number={}"
CHARITY_COMMISSION_NI = "https://www.charitycommissionni.org.uk/charity-details/?regid={}&subid=0"


def source_name(source: str | None) -> str:
    """The source in words; an unknown one (a steward's own file) as it was named."""
    return SOURCE_NAMES.get(source or "", source or "Not known")


def record_links(listing: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, URL) for each original record that can be reached: the source's own page for the
    listing, and the public registers that hold its company or charity number."""
    links = []
    if listing.get("source_url"):
        links.append((f"The record in {source_name(listing.get('source'))}", str(listing["source_url"])))
    company = (listing.get("company_number") or "").strip().upper()
    if re.fullmatch(r"[A-Z]{2}\d{6}|\d{8}", company):
        links.append((f"Companies House record {company}", COMPANIES_HOUSE.format(quote(company))))
    charity = (listing.get("charity_number") or "").strip().upper()
    if re.fullmatch(r"SC\d{6}", charity):
        links.append((f"Scottish Charity Register entry {charity}", OSCR.format(quote(charity))))
    elif re.fullmatch(r"NIC?\d{6}|10\d{4}", charity):
        links.append((f"Charity Commission for Northern Ireland entry {charity}",
                      CHARITY_COMMISSION_NI.format(quote(charity.removeprefix("NIC").removeprefix("NI")))))
    elif re.fullmatch(r"\d{6,7}", charity):
        links.append((f"Charity Commission register entry {charity}", CHARITY_COMMISSION.format(quote(charity))))
    return links


LICENCE_NAMES: dict[str, str] = {
    "OGL-UK-3.0": "Open Government Licence v3.0",
    "CC-BY-4.0": "Creative Commons Attribution 4.0",
    "ODC-By-1.0": "Open Data Commons Attribution 1.0",
}
DEVELOPMENT_ONLY = "development only"


def verifications(listing: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(current, former) register entries in words: "registered charity, OSCR (Scottish Charity
    Regulator), 2024-05". A register that says the organisation was removed still explains it."""
    current: list[str] = []
    former: list[str] = []
    for entry in listing.get("verified") or ():
        verification = Verification.model_validate(entry)
        (current if verification.current else former).append(verification.in_words())
    return current, former


def short_verification(listing: dict[str, Any]) -> str | None:
    """One line for a result: "Registered charity (Charity Commission for Northern Ireland)"."""
    entries = [Verification.model_validate(e) for e in listing.get("verified") or () if e.get("current", True)]
    if not entries:
        return None
    registers = ", ".join(dict.fromkeys(REGISTERS[e.registry] for e in entries))
    return f"{entries[0].status[:1].upper()}{entries[0].status[1:]} ({registers})"


def licence_terms(listing: dict[str, Any]) -> tuple[list[str], bool]:
    """The terms the listing's data is used under, in words, and whether any source allows
    development use only (its licence unconfirmed), which the page must say plainly."""
    parts = [p.strip() for p in (listing.get("licence") or "").split(";") if p.strip()]
    development = any(p.lower() == DEVELOPMENT_ONLY for p in parts)
    return [LICENCE_NAMES.get(p, p) for p in parts if p.lower() != DEVELOPMENT_ONLY], development
