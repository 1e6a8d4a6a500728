"""The "find suppliers for a lot" form: what it offers, and its answers checked before matching.

Every field is checked here, all at once and in words a buyer can act on, before the matcher
is asked: the matcher checks a lot in stages (a bad postcode only after the rest is right) and
in its validators' words. The choices offered come from the directory itself, so the form never
offers a social value priority or certification that no listing has.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from services.directory.labels import LEGAL_FORMS
from shared import cpv
from shared.errors import BackendUnavailable
from shared.geo import InvalidPostcode, default_gazetteer, normalise_place_code
from shared.limits import MAX_RADIUS_KM
from shared.models import IMPACT_AREAS
from shared.search.port import FacetBucket, SearchIndex, SearchQuery

MAX_TITLE_CHARS = 1000
MAX_DESCRIPTION_CHARS = 20_000
# Certifications buyers ask for, offered even before a listing records one.
COMMON_CERTIFICATIONS = ("Social Enterprise Mark", "B Corp", "Living Wage employer", "Fair Tax Mark")
_MONEY = re.compile(r"^£?\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?\s*$")


@dataclass(frozen=True)
class LotChoices:
    """What the form offers: impact areas and certifications listings hold, legal forms, regions."""

    priorities: list[str]
    certifications: list[str]
    legal_forms: dict[str, str] = field(default_factory=lambda: dict(LEGAL_FORMS))
    regions: list[str] = field(default_factory=list)


def lot_choices(index: SearchIndex) -> LotChoices:
    """What listings hold; every known choice while the index cannot say, so the form (and an
    upload's own error) still shows."""
    try:
        held = index.search(SearchQuery(facets=["impact_areas", "certifications"], limit=0)).facets
    except BackendUnavailable:
        held = {"impact_areas": [FacetBucket(area, 1) for area in IMPACT_AREAS]}
    areas = {b.value for b in held.get("impact_areas", []) if b.count}
    certifications = [b.value for b in held.get("certifications", []) if b.count]
    return LotChoices(
        priorities=[a for a in IMPACT_AREAS if a in areas],
        certifications=list(dict.fromkeys([*certifications, *COMMON_CERTIFICATIONS])),
        regions=default_gazetteer().regions(),
    )


def lot_from_form(form: MultiDict[str, str], choices: LotChoices) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The plain lot the matcher takes, and every error in the form (field, message)."""
    errors: list[dict[str, str]] = []

    def error(name: str, message: str) -> None:
        errors.append({"field": name, "message": message})

    title, description = form.get("title", "").strip(), form.get("description", "").strip()
    if not title:
        error("title", "Enter a title for the lot, like Office cleaning")
    elif len(title) > MAX_TITLE_CHARS:
        error("title", f"Title must be {MAX_TITLE_CHARS:,} characters or fewer")
    if len(description) > MAX_DESCRIPTION_CHARS:
        error("description", f"Description must be {MAX_DESCRIPTION_CHARS:,} characters or fewer; "
                             f"it has {len(description):,}")  # fmt: skip
    codes = [c for c in form.get("cpv_codes", "").replace(",", " ").split() if c]
    bad_codes = [c for c in codes if not cpv.is_known(c)]
    if bad_codes:
        named = ", ".join(f"‘{c}’" for c in bad_codes) + (" is not one" if len(bad_codes) == 1 else " are not")
        error("cpv_codes", f"Enter CPV codes of 8 digits from CPV 2008, like 90910000; {named}")
    lot: dict[str, Any] = {
        "title": title,
        "description": description,
        "cpv_codes": codes,
        "social_value_priorities": [p for p in form.getlist("priorities") if p in choices.priorities],
        "required_legal_forms": [f for f in form.getlist("legal_forms") if f in choices.legal_forms],
        "required_certifications": [c for c in form.getlist("certifications") if c in choices.certifications],
    }
    postcode, region = form.get("postcode", "").strip(), form.get("region", "").strip()
    if postcode:
        _check_postcode(postcode, error)
        lot["postcode"] = postcode
    if region:
        if region in choices.regions:
            lot["region"] = region
        else:
            error("region", "Choose a region from the list")
    if not postcode and not region:
        error("postcode", "Enter the delivery postcode, like LS1 4AP, or choose a region")
    radius = form.get("radius_km", "").strip()
    if radius:
        try:
            lot["radius_km"] = float(radius)
            if not 0 < lot["radius_km"] <= MAX_RADIUS_KM:
                raise ValueError
        except ValueError:
            error("radius_km", f"Distance must be a number of kilometres between 0 and {MAX_RADIUS_KM:,g}, like 50")
    value = form.get("value", "").strip()
    if value:
        pence = value_pence(value)
        if pence is None:
            error("value", "Enter the contract value in pounds, like 120000 or £120,000.50")
        else:
            lot["value_pence"] = pence
    return lot, errors


def value_pence(text: str) -> int | None:
    """Pounds as a buyer writes them ("£120,000", "120000.5") in whole pence; None if not money."""
    match = _MONEY.match(text)
    if match is None:
        return None
    pounds, pence = match.group(1).replace(",", ""), (match.group(2) or "0").ljust(2, "0")
    return int(pounds) * 100 + int(pence)


def _check_postcode(postcode: str, error: Callable[[str, str], None]) -> None:
    try:
        place = default_gazetteer().locate(normalise_place_code(postcode))
    except InvalidPostcode:
        error("postcode", "Enter a real delivery postcode or district, like LS1 4AP or LS1")
        return
    if place is None:
        error("postcode", f"We do not know where {postcode.upper()} is; enter another postcode, like LS1 4AP")
