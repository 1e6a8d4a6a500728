"""Words people read for the codes the index stores (`cic`, `youth_employment`, `90910000`)."""

from __future__ import annotations

from shared import cpv
from shared.listing_labels import LEGAL_FORMS, SIZE_BANDS
from shared.models import REGISTERS

FACET_TITLES: dict[str, str] = {
    "region": "Region",
    "category": "Category",
    "legal_form": "Legal form",
    "impact_area": "Social impact",
    "certification": "Certification",
    "size_band": "Size",
    "cpv": "Type of work (CPV)",
    "verified_by": "Listed by an official register",
    "org_id": "Register identifier",  # a filter without a facet: it picks one organisation
}


def value_label(param: str, value: str) -> str:
    """How a filter value is shown: `legal_form` `cic` -> "Community interest company (CIC)"."""
    if param == "legal_form":
        return LEGAL_FORMS.get(value, value)
    if param == "size_band":
        return SIZE_BANDS.get(value, value)
    if param == "impact_area":
        return value.replace("_", " ").capitalize()
    if param == "verified_by":
        return REGISTERS.get(value, value)
    if param == "cpv":
        name = cpv.label(value.ljust(8, "0")) if value.isdigit() and len(value) <= 8 else None
        return f"{value} {name}" if name else value
    return value
