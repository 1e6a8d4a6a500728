"""The part of a listing the matcher scores, read straight from an index document.

Validating every candidate as a full `Listing` cost more than scoring it (pydantic builds every
nested model), and the index only ever holds listings the ingest consumer has validated. So
candidates are read into this small frozen view; a document missing what scoring needs is
skipped with a warning rather than failing the request.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from services.ingest.sources.sic_to_cpv import cpv_for_sic
from shared.models import Verification

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Supplier:
    id: str
    name: str
    legal_form: str
    cpv_codes: tuple[str, ...]
    cpv_inferred: bool
    """True when `cpv_codes` were inferred (here from SIC codes because the listing gave none, or by
    the loader from a register's classifications) rather than stated by the organisation."""
    impact_areas: tuple[str, ...]
    certifications: frozenset[str]
    """Case-folded, for case-insensitive hard filters."""
    services: tuple[str, ...]
    region: str | None
    national: bool
    service_regions: tuple[str, ...]
    service_radius_km: float | None
    size_band: str | None
    text: str
    """Name, description, services and categories, for text similarity."""
    register_entries: tuple[Mapping[str, Any], ...] = ()
    """Its current `verified` entries as indexed; put in words only for the results shown."""

    @property
    def verified(self) -> tuple[str, ...]:
        """The official registers that currently list it, in words, so a buyer reading a match sees
        who vouches for the supplier ("registered charity, OSCR (Scottish Charity Regulator), 2024-05").
        Read when a match is shown, not for every recalled candidate: it validates each entry."""
        return tuple(Verification.model_validate(entry).in_words() for entry in self.register_entries)

    @property
    def declares_service_area(self) -> bool:
        return self.national or bool(self.service_regions) or self.service_radius_km is not None


EXCLUSIONS = re.compile(
    r"\(\s*(?:except|not including)\b[^)]*\)|,?\s*\b(?:except|not including)\b[^;()]*|\bwithout accommodation\b",
    re.IGNORECASE,
)
"""What a classification label says an activity is not: "Retail trade, except of motor vehicles",
"Social work activities without accommodation". Many listings describe themselves only through
such labels (a register's SIC description), and matched as words the excluded work would count
for them: a village shop for a vehicle-cleaning lot."""


@lru_cache(maxsize=4096)
def without_exclusions(label: str) -> str:
    """The label with what it excludes left out."""
    return EXCLUSIONS.sub("", label)


@lru_cache(maxsize=4096)
def inferred_cpv(sic_codes: tuple[str, ...]) -> tuple[str, ...]:
    """CPV codes for a listing that gives only SIC codes, by the ingest sources' own table (which
    maps only activities whose CPV is unambiguous), so listings loaded before that table existed,
    or through the API without CPV codes, still meet lots on CPV."""
    return tuple(dict.fromkeys(code for sic in sic_codes for code in cpv_for_sic(sic)))


def supplier(document: Mapping[str, Any]) -> Supplier | None:
    """The view of an index document, or None (logged) when it lacks what scoring reads."""
    try:
        area = document.get("service_area") or {}
        services = tuple(document.get("services") or ())
        labels = [*services, *(document.get("categories") or ())]
        text = " ".join([document["name"], document.get("description") or "", *map(without_exclusions, labels)])
        given = tuple(document.get("cpv_codes") or ())
        cpv_codes = given or inferred_cpv(tuple(document.get("sic_codes") or ()))
        return Supplier(
            id=document["id"],
            name=document["name"],
            legal_form=document.get("legal_form") or "other",
            cpv_codes=cpv_codes,
            cpv_inferred=bool(cpv_codes) and (not given or bool(document.get("cpv_inferred"))),
            impact_areas=tuple(document.get("impact_areas") or ()),
            certifications=frozenset(c.casefold() for c in document.get("certifications") or ()),
            services=services,
            region=document.get("region"),
            national=bool(area.get("national")),
            service_regions=tuple(area.get("regions") or ()),
            service_radius_km=area.get("radius_km"),
            size_band=document.get("size_band"),
            text=text,
            register_entries=tuple(v for v in document.get("verified") or () if v.get("current", True)),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        log.warning("skipping indexed listing %s that scoring cannot read: %r", document.get("id"), exc)
        return None
