"""One listing per organisation when several sources describe it.

Workers.coop and Co-ops UK share the Co-ops UK identifier, so their records meet under the same
id. Power to Change and Owned by Oxford do not carry it; `CoopIndex` links them to a register
record only on strong evidence (the same company number, or the same postcode district) plus
similar names, because a wrong merge misrepresents an organisation while a missed one only
leaves a near-duplicate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from shared.geo import InvalidPostcode, is_outcode, outcode

from .common import RawListing, unique

_LIST_FIELDS = (
    "services",
    "cpv_codes",
    "sic_codes",
    "categories",
    "impact_areas",
    "beneficiaries",
    "certifications",
    "org_ids",
)
_NESTED_FIELDS = ("address", "contact")
_PLACE_FIELDS = ("postcode", "location", "geo_precision", "region")
_PRECISION_RANK = {"given": 0, "postcode": 1, "address": 2, "district": 3, "area": 4, "region": 5, "none": 6}
_NAME_NOISE = re.compile(r"community interest company|[^a-z0-9 ]")
# Punctuation is gone by then, so "co-operative" arrives as "cooperative".
_NAME_STOP = frozenset(
    ["the", "and", "of", "limited", "ltd", "cic", "llp", "plc", "cooperative", "coop", "society"]
)
_MIN_NAME_SIMILARITY = 0.5


def _richness(listing: RawListing) -> int:
    return len(listing.get("description") or "")


def _precision(listing: RawListing) -> int:
    return _PRECISION_RANK[listing.get("geo_precision", "none")]


def merge(a: RawListing, b: RawListing) -> RawListing:
    """Fold two records of one organisation; the one with the longer description leads.

    The leader's values win and the other fills gaps; lists are united; the place comes from the
    more precise record; `updated_at` is the newer edition. The id is `a`'s.
    """
    lead, other = (b, a) if _richness(b) > _richness(a) else (a, b)
    merged: RawListing = {**{k: v for k, v in other.items() if v}, **{k: v for k, v in lead.items() if v}}
    for field in _LIST_FIELDS:
        merged[field] = unique([*lead.get(field, []), *other.get(field, [])])
    licences = unique(part for listing in (lead, other) for part in (listing.get("licence") or "").split(";"))
    if licences:  # a merged record is used under every member source's terms
        merged["licence"] = "; ".join(licences)
    merged["verified"] = _united_verifications(lead.get("verified", []), other.get("verified", []))
    for field in _NESTED_FIELDS:
        merged[field] = {**_present(other.get(field)), **_present(lead.get(field))}
    placed = min((lead, other), key=_precision)
    for field in _PLACE_FIELDS:
        merged.pop(field, None)
        if placed.get(field):
            merged[field] = placed[field]
    merged["id"] = a["id"]
    merged["updated_at"] = max(a["updated_at"], b["updated_at"])
    return merged


def _united_verifications(*groups: list[Any]) -> list[Any]:
    """Every register entry once (by registry and identifier), the newer extract's when both
    sources saw the same entry."""
    kept: dict[tuple[str, str], Any] = {}
    for entry in (e for group in groups for e in group):
        key = (str(entry.get("registry")), str(entry.get("identifier")))
        if key not in kept or str(entry.get("as_of", "")) > str(kept[key].get("as_of", "")):
            kept[key] = entry
    return list(kept.values())


def _present(values: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (values or {}).items() if v}


def name_tokens(name: str) -> frozenset[str]:
    """Distinctive words of an organisation name, without legal suffixes and punctuation."""
    words = _NAME_NOISE.sub("", name.lower().replace("&", " ")).split()
    return frozenset(w for w in words if w not in _NAME_STOP)


def similar_names(a: str, b: str) -> bool:
    """True when most of the two names' distinctive words are shared (Jaccard above 0.5)."""
    ta, tb = name_tokens(a), name_tokens(b)
    return bool(ta and tb) and len(ta & tb) / len(ta | tb) > _MIN_NAME_SIMILARITY


def _district(listing: RawListing) -> str | None:
    postcode = listing.get("postcode")
    if not postcode:
        return None
    try:
        return str(postcode) if is_outcode(postcode) else outcode(postcode)
    except InvalidPostcode:
        return None


class CoopIndex:
    """Finds the register listing (`coop:…`) that another source's record describes."""

    def __init__(self, listings: Iterable[RawListing]) -> None:
        self._by_company: dict[str, RawListing] = {}
        self._by_district: dict[str, list[RawListing]] = {}
        for listing in listings:
            if listing.get("company_number"):
                self._by_company[listing["company_number"]] = listing
            district = _district(listing)
            if district:
                self._by_district.setdefault(district, []).append(listing)

    def match(self, listing: RawListing) -> str | None:
        """The id of the register listing for the same organisation, or None."""
        name = listing["name"]
        by_number = self._by_company.get(listing.get("company_number") or "")
        if by_number and similar_names(name, by_number["name"]):
            return str(by_number["id"])
        district = _district(listing)
        candidates = self._by_district.get(district, []) if district else []
        found = [c for c in candidates if similar_names(name, c["name"])]
        return str(found[0]["id"]) if len(found) == 1 else None
