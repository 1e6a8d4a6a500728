"""What the charity loaders built on UK-CAT and the CCNI export share: register links, company
numbers, the verification a register extract vouches for, and the name rules every register
loader applies (`non_suppliers.by_name`), worded as these loaders count their rules.

Both loaders meet the same charities (UK-CAT classifies CCNI's), so a rule or an identifier
written twice would let one organisation read differently depending on the file it came from.
"""

from __future__ import annotations

import re

from services.ingest.registry_keys import is_placeholder_number

from . import ccew, oscr
from .common import RawListing
from .non_suppliers import by_name
from .register_files import verification

CHARITY_REGISTERS = ("GB-CHC", "GB-SC", "GB-NIC")
"""org-id.guide lists of the three UK charity registers."""

_REGISTER_URLS = {
    "GB-CHC": ccew.REGISTER_URL,
    "GB-SC": oscr.REGISTER_URL,
    "GB-NIC": "https://www.charitycommissionni.org.uk/charity-details/?regid={n}&subid=0",
}

_COMPANY_PREFIXED = re.compile(r"^(?:RC|ZC|SC|NI)\d{6}$")


def register_url(org_id: str) -> str:
    """The charity's page on its regulator's register."""
    register, _, number = org_id.rpartition("-")
    return _REGISTER_URLS[register].format(n=number)


def registered_charity(org_id: str, as_of: str, status: str = "registered charity") -> list[RawListing]:
    """The `verified` a register extract of `as_of` gives the charity `org_id`."""
    return verification(org_id.rpartition("-")[0], org_id, status, as_of)


def non_supplier_by_name(name: str) -> str | None:
    """The shared name rules (PTA, place of worship, members' club) as a counted reason, or None."""
    why = by_name(name)
    return f"not a supplier: {why} (by name)" if why else None


def company_fields(raw: str | None, northern_ireland: bool) -> RawListing:
    """`company_number` (and, when it is certain, the `GB-COH-` org-id) from a register's cell.

    Registers store Companies House numbers loosely: `2324869.0`, leading zeros lost, `0` for
    none. A Great Britain number is digits padded to 8, or two letters and six digits (RC, ZC
    royal-charter and unregistered companies), and then its org-id is safe to state. Northern
    Ireland charities' numbers arrive with both the `NI` prefix and the zeros stripped, so
    `NI` + six digits is a rebuild nobody has checked against Companies House: it is kept as the
    number a reader can look up, but no org-id is claimed, because org-ids join records and a
    wrong one would merge two organisations. `CE` (charitable incorporated organisation) values,
    one digit repeated (`111111`) and malformed values are left out.
    """
    value = (raw or "").strip().upper().removesuffix(".0")
    if is_placeholder_number(value):  # "0", "111111": the one rule de-duplication also keeps
        return {}
    if value.isdigit():
        if northern_ireland:
            return {"company_number": f"NI{value.zfill(6)}"} if len(value) <= 6 else {}
        if len(value) > 8:
            return {}
        number = value.zfill(8)
    elif _COMPANY_PREFIXED.match(value) and not northern_ireland:
        number = value
    else:
        return {}
    return {"company_number": number, "org_ids": [f"GB-COH-{number}"]}
