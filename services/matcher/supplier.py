"""The part of a listing the matcher scores, read straight from an index document.

Validating every candidate as a full `Listing` cost more than scoring it (pydantic builds every
nested model), and the index only ever holds listings the ingest consumer has validated. So
candidates are read into this small frozen view; a document missing what scoring needs is
skipped with a warning rather than failing the request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Supplier:
    id: str
    name: str
    legal_form: str
    cpv_codes: tuple[str, ...]
    impact_areas: tuple[str, ...]
    certifications: frozenset[str]
    """Case-folded, for case-insensitive hard filters."""
    services: tuple[str, ...]
    region: str | None
    national: bool
    service_regions: tuple[str, ...]
    service_radius_km: float | None
    text: str
    """Name, description, services and categories, for text similarity."""

    @property
    def declares_service_area(self) -> bool:
        return self.national or bool(self.service_regions) or self.service_radius_km is not None


def supplier(document: Mapping[str, Any]) -> Supplier | None:
    """The view of an index document, or None (logged) when it lacks what scoring reads."""
    try:
        area = document.get("service_area") or {}
        services = tuple(document.get("services") or ())
        text = " ".join(
            [document["name"], document.get("description") or "", *services, *(document.get("categories") or ())]
        )
        return Supplier(
            id=document["id"],
            name=document["name"],
            legal_form=document.get("legal_form") or "other",
            cpv_codes=tuple(document.get("cpv_codes") or ()),
            impact_areas=tuple(document.get("impact_areas") or ()),
            certifications=frozenset(c.casefold() for c in document.get("certifications") or ()),
            services=services,
            region=document.get("region"),
            national=bool(area.get("national")),
            service_regions=tuple(area.get("regions") or ()),
            service_radius_km=area.get("radius_km"),
            text=text,
        )
    except (KeyError, TypeError, AttributeError) as exc:
        log.warning("skipping indexed listing %s that scoring cannot read: %r", document.get("id"), exc)
        return None
