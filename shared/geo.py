"""UK postcodes and offline geocoding from postcode-district centroids.

Every service needs the same answer to "where is LS1 4AP?" without a network call, so the
gazetteer reads the district (outcode) and area centroids shipped in `data/postcodes/`
(OS / Royal Mail / ONS open data; see its PROVENANCE.md). A district centroid is good to a
few kilometres, which is the precision the matcher's distance feature needs.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from geopy.distance import great_circle

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "postcodes"

# Royal Mail's letter rules: position 1 never Q/V/X, position 2 never I/J/Z, a trailing letter
# in the outward code only from restricted sets, and the inward code never uses C/I/K/M/O/V.
_OUTCODE = (
    r"(?:[A-PR-UWYZ][0-9][0-9]?"
    r"|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?"
    r"|[A-PR-UWYZ][0-9][A-HJKPSTUW]"
    r"|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRV-Y])"
)
_INCODE = r"[0-9][ABD-HJLNP-UW-Z]{2}"
_POSTCODE_RE = re.compile(rf"^(?:({_OUTCODE})({_INCODE})|(GIR)(0AA))$")
_OUTCODE_RE = re.compile(rf"^(?:{_OUTCODE}|GIR)$")
_AREA_RE = re.compile(r"^[A-Z]+")

Precision = Literal["district", "area"]


class InvalidPostcode(ValueError):
    """Raised for text that cannot be a UK postcode; the message is fit to show a user."""


def _squash(raw: str) -> str:
    return "".join(raw.split()).upper()


def normalise_postcode(raw: str) -> str:
    """Return the postcode in Royal Mail's form ("bt133ru" -> "BT13 3RU") or raise InvalidPostcode."""
    match = _POSTCODE_RE.match(_squash(raw))
    if not match:
        raise InvalidPostcode(f"{raw.strip()!r} is not a valid UK postcode (expected e.g. 'LS1 4AP')")
    out, inward = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
    return f"{out} {inward}"


def is_outcode(raw: str) -> bool:
    """True for an outward code alone ("LS1", "ec1a"), which sources often give instead of a postcode."""
    return bool(_OUTCODE_RE.match(_squash(raw)))


def normalise_place_code(raw: str) -> str:
    """A full postcode in Royal Mail's form, or an outward code alone ("ox4" -> "OX4").

    Sources and users often give only the district; it still places a listing or a search.
    """
    return _squash(raw) if is_outcode(raw) else normalise_postcode(raw)


def _district(code: str) -> str:
    """The district of a postcode or outcode; a postcode already in Royal Mail's form (what the
    consumer passes, having normalised it) is split without parsing it again."""
    out, space, inward = code.partition(" ")
    if space and _POSTCODE_RE.match(out + inward):
        return out
    return _squash(code) if is_outcode(code) else outcode(code)


def outcode(postcode: str) -> str:
    """The outward code (district) of a full postcode: "bt133ru" -> "BT13"."""
    return normalise_postcode(postcode).split(" ")[0]


@dataclass(frozen=True)
class Place:
    """A geocoded point with how precise it is, so the matcher can discount coarse locations."""

    lat: float
    lon: float
    precision: Precision
    region: str | None
    town: str | None


@dataclass(frozen=True)
class _Centroid:
    lat: float | None
    lon: float | None
    region: str | None
    town: str | None


def _float(value: str) -> float | None:
    return float(value) if value.strip() else None


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


class Gazetteer:
    """Postcode or outcode -> centroid, falling back from district to postcode area.

    Districts without coordinates (19 non-geographic or retired ones such as BT58 or W1E) fall
    back to their postcode area's centroid with precision "area": the area still says which city
    or county the organisation is in, which beats no location at all. Non-geographic districts that
    do have coordinates (W1A, BT99) keep them: Doogal places them at the delivery office. Districts
    outside both tables (GIR, BFPO) give None. Regions are ITL1 names ("North West", "Scotland");
    the Channel Islands and the Isle of Man have none.
    """

    def __init__(self, districts: dict[str, _Centroid], areas: dict[str, _Centroid]) -> None:
        self._districts = districts
        self._areas = areas

    @classmethod
    def from_directory(cls, directory: Path = DATA_DIR) -> Gazetteer:
        """Load `postcode_districts.csv` and `postcode_areas_derived.csv` from `directory`."""
        with (directory / "postcode_districts.csv").open(encoding="utf-8-sig", newline="") as fh:
            districts = {
                row["Postcode"].strip(): _Centroid(
                    _float(row["Latitude"]),
                    _float(row["Longitude"]),
                    _text(row["UK region"]),
                    _text(row["Post Town"]),
                )
                for row in csv.DictReader(fh)
            }
        with (directory / "postcode_areas_derived.csv").open(encoding="utf-8-sig", newline="") as fh:
            areas = {
                row["area"].strip(): _Centroid(
                    _float(row["latitude"]), _float(row["longitude"]), _text(row["uk_region_majority"]), None
                )
                for row in csv.DictReader(fh)
            }
        return cls(districts, areas)

    def locate(self, postcode_or_outcode: str) -> Place | None:
        """Centroid of the postcode's district, else of its area; None if neither is known.

        Raises InvalidPostcode when the text is neither a postcode nor an outcode.
        """
        district = _district(postcode_or_outcode)
        found = self._districts.get(district)
        if found and found.lat is not None and found.lon is not None:
            return Place(found.lat, found.lon, "district", found.region, found.town)
        area_match = _AREA_RE.match(district)
        area = self._areas.get(area_match.group(0)) if area_match else None
        if area is None or area.lat is None or area.lon is None:
            return None
        region = found.region if found and found.region else area.region
        return Place(area.lat, area.lon, "area", region, found.town if found else None)

    def regions(self) -> list[str]:
        """The ITL1 region names a listing or lot may use, sorted."""
        return sorted({d.region for d in self._districts.values() if d.region})


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    """The gazetteer over the repository's data, loaded on first use and then shared."""
    return Gazetteer.from_directory()


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points; ample for ranking by nearness."""
    return float(great_circle(a, b).km)
