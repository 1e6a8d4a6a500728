"""Delivery places written in words, and NUTS/ITL codes, resolved to a point.

Real notices rarely give a postcode for where the work is done. Scottish and Welsh notices give a
NUTS3 code (`UKM50`) and a description ("North Glasgow", "Angus Council Area", "Robert Gordon
University, Garthdee Campus, Aberdeen"); placing such a lot only by its nation ranks Edinburgh
first for an Aberdeen taxi contract. The gazetteers shipped with the project answer most of
them offline:

- a postcode or postcode district written in the description (`EH8 7AU`);
- place names: post towns and local authorities from the postcode districts, places and
  counties/unitary authorities from GeoNames (`data/geonames`), each at the mean of its points;
- NUTS 2016 codes (`data/nuts`) at every level, and ITL codes (`TLM50`) read as NUTS.

A name is only taken when it is written as a proper noun (capitalised) and, when the nation is
known, lies in that nation, so "Various locations" or "Street cleaning" never become Street in
Somerset. The longest name wins ("East Ayrshire" over "Ayr"), then the most widely used.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shared.geo import InvalidPostcode, default_gazetteer, is_outcode, normalise_postcode

DATA = Path(__file__).resolve().parents[2] / "data"
GEONAMES = DATA / "geonames" / "zipcodes.gb.csv"
NUTS = DATA / "nuts" / "nuts2016_uk.csv"
POSTCODE_DISTRICTS = DATA / "postcodes" / "postcode_districts.csv"

_NATIONS = {"ENG": "England", "SCT": "Scotland", "WLS": "Wales", "NIR": "Northern Ireland"}
_ENGLISH_REGIONS = frozenset(
    {
        "North East",
        "North West",
        "Yorkshire and The Humber",
        "East Midlands",
        "West Midlands",
        "East of England",
        "London",
        "South East",
        "South West",
    }
)
# Capitalised words that are also UK place names but, in a notice, almost never mean the place.
_NOT_PLACES = frozenset(
    {
        "street", "various", "centre", "central", "north", "south", "east", "west", "hospital",
        "university", "council", "area", "services", "service", "house", "road", "park", "bank",
        "college", "school", "city", "county", "station", "all", "the", "lot", "new", "within",
        "across", "throughout", "premises", "office", "offices", "site", "sites", "main", "national",
        "health", "board", "police", "fire", "rescue", "harbour", "campus", "green", "common",
        "locations", "location", "wales", "scotland", "england", "ireland", "kingdom", "united",
        "great", "little", "upper", "lower", "high", "middle", "hope", "march", "deal", "sale",
        "wells", "bath", "reading", "ash", "box", "cross", "mile", "end", "well", "marsh", "bay",
        "fleet", "pool", "stone", "ford", "forest", "water", "moss", "heath", "field", "bridge",
        "grange", "church", "chapel", "castle", "hill", "dale", "rock", "orchard", "garden", "mill",
        "farm", "port", "island", "islands", "valley", "vale", "lake", "beach", "quay",
        "dock", "docks", "airport", "link", "hub", "gate", "court", "hall", "tower", "towers",
        "market", "cliff", "brook", "oak", "elm", "ashford", "parc", "lodge", "crescent",
    }
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*")
_POSTCODE_IN_TEXT = re.compile(r"\b([A-Z]{1,2}[0-9][0-9A-Z]?)\s*([0-9][A-Z]{2})\b")
_MAX_WORDS = 4


@dataclass(frozen=True)
class NamedPlace:
    """A point for a place name, with the nation it lies in and how many gazetteer rows name it."""

    name: str
    lat: float
    lon: float
    nation: str | None
    weight: int


@dataclass(frozen=True)
class NutsArea:
    """A NUTS area: its name, and for NUTS2/3 an anchor point and the radius that covers it."""

    code: str
    name: str
    point: tuple[float, float] | None
    extent_km: float | None


def nation_of(region: str | None) -> str | None:
    """England for an English region; the nation itself for Scotland, Wales, Northern Ireland."""
    if region is None:
        return None
    return "England" if region in _ENGLISH_REGIONS else region


@lru_cache(maxsize=1)
def _names() -> tuple[dict[str, NamedPlace], dict[tuple[str, str | None], NamedPlace]]:
    """Case-folded place name -> its point (the most widely used place of that name), and
    (name, nation) -> point, so "Newport" in a Welsh notice is the Welsh Newport."""
    points: dict[tuple[str, str | None], list[tuple[float, float]]] = defaultdict(list)
    shown: dict[str, str] = {}

    def add(name: str, lat: str, lon: str, nation: str | None) -> None:
        name = " ".join(name.replace("\u2019", "'").split())
        if not name or not lat or not lon or name.casefold() in _NOT_PLACES:
            return
        shown.setdefault(name.casefold(), name)
        points[(name.casefold(), nation)].append((float(lat), float(lon)))

    with GEONAMES.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            nation = _NATIONS.get(row["state_code"])
            add(row["place"], row["latitude"], row["longitude"], nation)
            add(row["province"], row["latitude"], row["longitude"], nation)
    with POSTCODE_DISTRICTS.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            nation = nation_of((row["UK region"] or "").strip() or None)
            for name in {row["Post Town"], row["Region"], *row["Town/Area"].split(",")}:
                add(name or "", row["Latitude"], row["Longitude"], nation)
    by_nation = {
        (key, nation): NamedPlace(
            shown[key], sum(p[0] for p in found) / len(found), sum(p[1] for p in found) / len(found), nation, len(found)
        )
        for (key, nation), found in points.items()
    }
    best: dict[str, NamedPlace] = {}
    for (key, _), place in by_nation.items():
        if key not in best or place.weight > best[key].weight:
            best[key] = place
    return best, by_nation


def find_place(text: str, nation: str | None = None) -> NamedPlace | tuple[str, tuple[float, float]] | None:
    """The place a delivery description names: a postcode in it, else the longest capitalised
    place name (in `nation` when one is known). A postcode comes back as (postcode, point)."""
    postcode = _postcode_in(text, nation)
    if postcode is not None:
        return postcode
    best_names, by_nation = _names()
    tokens = [_unjoined(m.group(0), best_names) for m in _WORD.finditer(text)]
    best: tuple[int, int, int, NamedPlace] | None = None
    for start, first in enumerate(tokens):
        if not first[0].isupper():
            continue
        for size in range(min(_MAX_WORDS, len(tokens) - start), 0, -1):
            words = tokens[start : start + size]
            if not words[-1][0].isupper():
                continue
            key = " ".join(words).casefold()
            found = by_nation.get((key, nation)) if nation else best_names.get(key)
            if found is None:
                continue
            rank = (size, found.weight, -start)
            if best is None or rank > best[:3]:
                best = (*rank, found)
            break
    return best[3] if best else None


def _unjoined(token: str, names: dict[str, NamedPlace]) -> str:
    """Sell2Wales and PCS text lost its line breaks as a literal `rn` ("Edinburghrn EH8"): a word
    that is a place without its trailing `rn` is read as that place."""
    if len(token) > 4 and token.endswith("rn") and token.casefold() not in names and token[:-2].casefold() in names:
        return token[:-2]
    return token


def _postcode_in(text: str, nation: str | None) -> tuple[str, tuple[float, float]] | None:
    for match in _POSTCODE_IN_TEXT.finditer(text.upper()):
        try:
            postcode = normalise_postcode(match.group(1) + match.group(2))
        except InvalidPostcode:
            continue
        found = default_gazetteer().locate(postcode)
        if found is not None and (nation is None or nation_of(found.region) == nation):
            return postcode, (found.lat, found.lon)
    return None


@lru_cache(maxsize=1)
def nuts_areas() -> dict[str, NutsArea]:
    """NUTS 2016 code -> area, with NUTS2/3 anchors placed by the postcode gazetteer."""
    out = {}
    with NUTS.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            point = None
            if row["anchor"] and is_outcode(row["anchor"]):
                found = default_gazetteer().locate(row["anchor"])
                point = (found.lat, found.lon) if found else None
            extent = float(row["extent_km"]) if row["extent_km"] else None
            out[row["code"]] = NutsArea(row["code"], row["name"], point, extent)
    return out


def nuts_area(code: str) -> NutsArea | None:
    """The most specific area the code names that the table holds (UKE42 -> UKE4 West Yorkshire).

    ITL codes are NUTS codes with `TL` for `UK`."""
    code = code.strip().upper()
    if code.startswith("TL"):
        code = "UK" + code[2:]
    areas = nuts_areas()
    while len(code) >= 3:
        if code in areas:
            return areas[code]
        code = code[:-1]
    return None


def is_place_name(name: str) -> bool:
    """Whether the gazetteers know `name` as a UK place (any nation)."""
    return " ".join(name.split()).casefold() in _names()[0]
