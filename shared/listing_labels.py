"""Words people read for a listing's codes, wherever they are shown: the directory's pages and
the matcher's Buy Social reports both say "Community interest company (CIC)" for `cic`."""

from __future__ import annotations

LEGAL_FORMS: dict[str, str] = {
    "cic": "Community interest company (CIC)",
    "charity": "Charity or CIO",
    "cooperative": "Co-operative or community benefit society",
    "company_limited_by_guarantee": "Company limited by guarantee",
    "other": "Other",
}
SIZE_BANDS: dict[str, str] = {
    "micro": "Micro (fewer than 10 staff)",
    "small": "Small (10 to 49 staff)",
    "medium": "Medium (50 to 249 staff)",
    "large": "Large (250 or more staff)",
}
SOURCES: dict[str, str] = {
    "coopsuk": "Co-operatives UK open data",
    "workerscoop": "Workers.coop directory",
    "oxford": "Owned by Oxford survey",
    "powertochange": "Power to Change grant recipients (360Giving)",
    "360giving": "360Giving grant recipients",
}
REGISTRY_NUMBERS: tuple[tuple[str, str], ...] = (
    ("company_number", "Companies House"),
    ("charity_number", "Charity"),
    ("society_number", "FCA Mutuals"),
)


def registry_numbers(listing: dict[str, object]) -> str:
    """`Companies House 01234567; Charity 1100000`: the numbers a buyer checks a supplier by."""
    return "; ".join(f"{label} {listing[key]}" for key, label in REGISTRY_NUMBERS if listing.get(key))


def verification(listing: dict[str, object]) -> str:
    """Which source lists the supplier, and as of when: what the directory can vouch for."""
    source = str(listing.get("source") or "")
    updated = str(listing.get("updated_at") or "")[:10]
    listed = f"Listed in {SOURCES.get(source, source)}" if source else "Listed in the directory"
    return f"{listed}, record of {updated}" if updated else listed
