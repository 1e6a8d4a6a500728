"""Helpers every source adapter shares: skipping, ids, places, registry numbers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from services.ingest.geocode import GeoChain
from services.ingest.registry_keys import is_placeholder_number
from shared.geo import Gazetteer, InvalidPostcode, is_outcode, normalise_postcode

RawListing = dict[str, Any]

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-/]+")
# FCA mutuals register numbers (7654R, IP28755R, RS007123) as opposed to Companies House numbers.
_SOCIETY_NUMBER = re.compile(r"^(?:IP\d+R?|RS\d+|\d+R)$")


class Skipped(Exception):
    """A row that is not a plausible supplier or cannot be used; `reason` is counted in reports."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def edition(day: str) -> datetime:
    """A source edition's date as the listing's `updated_at`, so rebuilding never changes it."""
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def listing_id(prefix: str, key: str) -> str:
    """A source-qualified id; characters the Listing id pattern forbids become '-'."""
    return f"{prefix}:{_ID_UNSAFE.sub('-', key.strip()).strip('-')}"


def unique(items: Iterable[str | None]) -> list[str]:
    """Non-empty stripped strings in first-seen order."""
    return list(dict.fromkeys(s.strip() for s in items if s and s.strip()))


def text(value: str | None) -> str | None:
    """Stripped text, or None for blanks, so empty cells never overwrite a value when merging."""
    return (value or "").strip() or None


def registry_number_text(value: str | None) -> str | None:
    """A stated registry number (a charity number, say), or None for a blank or a placeholder
    ("N/A", "Exempt", "0"): a placeholder kept would look like a number to every reader."""
    return None if is_placeholder_number(value) else text(value)


def registry_numbers(number: str | None) -> dict[str, str]:
    """File a registration number under society_number (FCA) or company_number (Companies House)."""
    cleaned = (number or "").strip().upper()
    if is_placeholder_number(cleaned):  # "N/A", "CIO", "Exempt", "0", "111111": no number
        return {}
    if _SOCIETY_NUMBER.match(cleaned):
        return {"society_number": cleaned}
    return {"company_number": cleaned}


def given_place(raw_postcode: str | None, lat: str | None = None, lon: str | None = None) -> RawListing:
    """The place as the source states it: a readable postcode and any coordinates it gives.

    Sources' coordinates are postcode centroids (precision "postcode"). An unreadable postcode is
    dropped, not fatal: the rest of the record is still worth listing.
    """
    fields: RawListing = {}
    raw = (raw_postcode or "").strip()
    try:
        postcode = raw.upper() if raw and is_outcode(raw) else normalise_postcode(raw)
    except InvalidPostcode:
        postcode = None
    if postcode:
        fields["postcode"] = postcode
    given_lat, given_lon = text(lat), text(lon)
    if given_lat and given_lon:
        fields["location"] = {"lat": float(given_lat), "lon": float(given_lon)}
        fields["geo_precision"] = "postcode"
    return fields


def place(
    raw_postcode: str | None,
    gazetteer: Gazetteer,
    lat: str | None = None,
    lon: str | None = None,
) -> RawListing:
    """postcode/location/geo_precision/region for a listing, placed by the consumer's chain.

    The region always comes from the gazetteer so that all sources share the same ITL1 names.
    """
    return geocoded(given_place(raw_postcode, lat, lon), gazetteer)


def geocoded(fields: RawListing, gazetteer: Gazetteer) -> RawListing:
    """`fields` placed by the consumer's chain, for the prebuilt sample directory."""
    try:
        return {**fields, **GeoChain(gazetteer).place(fields)}
    except InvalidPostcode:  # non-geographic: keep it as the mailing postcode
        return fields
