"""Registry numbers and org-ids as keys that say two records are one organisation.

Sources fill a missing number with a placeholder ("N/A", "Exempt", "0", "111111"); taken as a
key, every organisation with that placeholder would be one, so a placeholder is a blank here and
in every source adapter (`sources.common.registry_numbers` uses `is_placeholder_number`).

An org-id (org-id.guide: `GB-CHC-1000003`) names its register, so it is a strong key; its
local part is also the register's own number, so `GB-COH-08996508` meets a company number
`8996508` and `GB-CHC-1000003` a charity number `1000003`. Strongest of all is a register entry:
the identifier of a `verified` entry, which a register loader copied from the register's own
extract rather than from what an organisation typed into a form.
"""

from __future__ import annotations

import re

from shared.models import Listing

# Words sources write where a number would be; whole words, so "EXEMPT 2019" is still a blank.
_PLACEHOLDER_WORDS = frozenset({
    "NONE", "NA", "NIL", "NULL", "UNKNOWN", "EXEMPT", "EXCEPTED", "PENDING", "APPLIED", "APPLYING",
    "TBC", "TBA", "TBD", "AWAITING",
})
_WORD = re.compile(r"[A-Z]+")
_ONE_DIGIT_REPEATED = re.compile(r"^(\d)\1{2,}$")  # 111, 999999, 0000000
# A listing's number fields and what register their numbers belong to.
NUMBER_FIELDS = (("company", "company_number"), ("charity", "charity_number"), ("society", "society_number"))
# org-id.guide register prefixes -> the kind of number their local part is.
_ORG_ID_KINDS = {"GB-COH": "company", "GB-CHC": "charity", "GB-SC": "charity", "GB-NIC": "charity",
                 "GB-MPR": "society"}
ORG_ID = "org-id"
REGISTER_ENTRY = "register entry"

RegistryKey = tuple[str, str]
"""(kind, normalised number): kind is `company`, `charity`, `society`, `org-id` or `register entry`."""


def is_placeholder_number(value: str | None) -> bool:
    """True for values that stand for "no number": blanks, no digit at all ("N/A", "-", "CIO"),
    all zeros ("0", "SC000000"), one digit repeated ("111111"), or a placeholder word
    ("Exempt", "applied for", "pending", "tbc")."""
    upper = (value or "").strip().upper()
    if upper.isdecimal():  # most numbers: no word to look for, so only the digits' own rules
        return len(set(upper)) == 1 and (upper[0] == "0" or len(upper) >= 3)
    return _placeholder_by_rules(upper)


def _placeholder_by_rules(upper: str) -> bool:
    """`is_placeholder_number` for any stripped, upper-case value (a unit test checks that the
    shortcut for plain digits agrees with it)."""
    digits = "".join(ch for ch in upper if ch.isdigit())
    if not digits or set(digits) == {"0"} or _ONE_DIGIT_REPEATED.match(upper):
        return True
    return bool(_PLACEHOLDER_WORDS.intersection(_WORD.findall(upper)))


def registry_number(kind: str, value: str | None) -> str | None:
    """A number as a key (upper case, no spaces; Companies House numbers padded to their 8
    characters, as sources often drop the leading zeros), or None for a placeholder."""
    if is_placeholder_number(value):
        return None
    cleaned = (value or "").strip().upper().replace(" ", "")
    return cleaned.zfill(8) if kind == "company" and cleaned.isdigit() else cleaned


def org_id_keys(org_id: str) -> list[RegistryKey]:
    """The keys an org-id carries: itself (normalised) and, for a register we know, its number."""
    prefix, _, local = org_id.strip().upper().rpartition("-")
    kind = _ORG_ID_KINDS.get(prefix)
    number = registry_number(kind or ORG_ID, local)
    if not prefix or number is None:
        return []
    keys = [(ORG_ID, f"{prefix}-{number}")]
    return keys + [(kind, number)] if kind else keys


def registry_keys(listing: Listing) -> list[RegistryKey]:
    """Every key a listing carries, strongest first (register entries, org-ids, then numbers),
    without repeats."""
    keys = [(REGISTER_ENTRY, org_id) for entry in listing.verified  # an entry's identifier is an org-id:
            for _, org_id in org_id_keys(entry.identifier)[:1]]  # its first key is that org-id, normalised
    keys += [key for org_id in listing.org_ids for key in org_id_keys(org_id)]
    for kind, attr in NUMBER_FIELDS:
        if (number := registry_number(kind, getattr(listing, attr))) is not None:
            keys.append((kind, number))
    return list(dict.fromkeys(keys))
