"""Where a listing is, by the most precise means available, and how precise that was.

The chain, most precise first: coordinates the record gives; a full-postcode table (optional,
configured by path: the project ships none); a geopy geocoder for the street address (optional,
off by default because it calls the network); the postcode district's centroid, else the
postcode area's (shipped); the region's centroid; nothing. Every listing records the step that
placed it in `geo_precision`, so the matcher can discount a coarse distance.

A postcode that is well-formed but places nothing (non-geographic: GIR 0AA, BX, BFPO) is only an
error when nothing else places the listing either; otherwise it is just a mailing address.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from shared.geo import DATA_DIR, Gazetteer, InvalidPostcode, default_gazetteer, normalise_place_code

log = logging.getLogger("socialmatch.ingest.geocode")
Point = tuple[float, float]


class AddressGeocoder(Protocol):
    def locate(self, address: str) -> Point | None: ...


@lru_cache(maxsize=1)
def region_centroids() -> dict[str, Point]:
    """Population-weighted centroid of each ITL1 region, from the district table.

    Weighted because an unweighted mean of Scotland's districts lands in the Highlands, far from
    where its organisations are.
    """
    sums: dict[str, list[float]] = {}
    with (DATA_DIR / "postcode_districts.csv").open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            region, lat, lon = row["UK region"].strip(), row["Latitude"], row["Longitude"]
            weight = float(row["Population"] or 0)
            if region and lat and lon and weight > 0:
                acc = sums.setdefault(region, [0.0, 0.0, 0.0])
                acc[0] += float(lat) * weight
                acc[1] += float(lon) * weight
                acc[2] += weight
    return {region: (round(a / w, 5), round(b / w, 5)) for region, (a, b, w) in sums.items()}


def load_postcode_table(path: Path) -> dict[str, Point]:
    """A full-postcode CSV (`postcode,lat,lon`, e.g. cut from ONSPD) keyed by normalised postcode."""
    table: dict[str, Point] = {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                table[normalise_place_code(row["postcode"])] = (float(row["lat"]), float(row["lon"]))
            except (InvalidPostcode, ValueError, KeyError):
                continue
    return table


class GeopyGeocoder:
    """A geopy geocoding service by name (`nominatim`, ...); only built when configured."""

    def __init__(self, service: str, user_agent: str = "socialmatch-ingest", timeout_s: float = 5.0) -> None:
        from geopy.geocoders import get_geocoder_for_service

        self._geocoder = get_geocoder_for_service(service)(user_agent=user_agent, timeout=timeout_s)

    def locate(self, address: str) -> Point | None:
        from geopy.exc import GeopyError

        try:
            found = self._geocoder.geocode(f"{address}, United Kingdom")
        except GeopyError as exc:  # a geocoder outage must not stop ingest: fall back to centroids
            log.warning("geocoder failed for %r: %s", address, exc)
            return None
        return None if found is None else (float(found.latitude), float(found.longitude))


@dataclass
class GeoChain:
    gazetteer: Gazetteer
    postcodes: Mapping[str, Point] | None = None
    geocoder: AddressGeocoder | None = None

    def place(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The fields to set: normalised postcode, location, geo_precision and region.

        Raises InvalidPostcode for text that is no postcode, or a postcode that places nothing
        when nothing else does.
        """
        out: dict[str, Any] = {}
        raw_postcode = fields.get("postcode")
        postcode = normalise_place_code(raw_postcode) if isinstance(raw_postcode, str) and raw_postcode else None
        if postcode:
            out["postcode"] = postcode
        given = _given_point(fields)
        needs_lookup = postcode and not (given and fields.get("region"))  # the common, fully placed case skips it
        found = self.gazetteer.locate(postcode) if postcode and needs_lookup else None
        if not fields.get("region") and found is not None and found.region:
            out["region"] = found.region
        point, precision = self._locate(fields, given, postcode, found)
        if point is not None:
            out["location"] = {"lat": point[0], "lon": point[1]}
        out["geo_precision"] = precision
        if postcode and precision == "none":
            raise InvalidPostcode(f"{postcode!r} is not a geographic postcode and nothing else places the listing;"
                                  " give the office's postcode, a location or a region")
        return out

    def _locate(self, fields: dict[str, Any], given: Point | None, postcode: str | None, found: Any
                ) -> tuple[Point | None, str]:
        if given is not None:
            precision = fields.get("geo_precision")
            return given, str(precision) if precision not in (None, "none") else "given"
        if postcode and self.postcodes and postcode in self.postcodes:
            return self.postcodes[postcode], "postcode"
        address = _address_line(fields, postcode)
        if self.geocoder is not None and address and (point := self.geocoder.locate(address)):
            return point, "address"
        if found is not None:
            return (found.lat, found.lon), found.precision
        region = fields.get("region")
        if isinstance(region, str) and region in region_centroids():
            return region_centroids()[region], "region"
        return None, "none"


def _given_point(fields: dict[str, Any]) -> Point | None:
    given = fields.get("location")
    if isinstance(given, dict) and given.get("lat") is not None and given.get("lon") is not None:
        return given["lat"], given["lon"]
    return None


def _address_line(fields: dict[str, Any], postcode: str | None) -> str | None:
    """A street address worth geocoding (a town alone is no better than the district centroid)."""
    address = fields.get("address")
    if not isinstance(address, dict) or not address.get("street"):
        return None
    parts = [address.get("street"), address.get("locality"), address.get("town"), postcode]
    return ", ".join(str(p) for p in parts if p)


def default_chain() -> GeoChain:
    """District and area centroids only: what the repository ships, no network."""
    return GeoChain(default_gazetteer())
