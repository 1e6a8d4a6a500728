"""Linking a spend record's supplier to the directory by name, when no id or registry number does.

An invoice names "Sparkle Cleaning Ltd"; the directory lists "Sparkle Cleaning CIC". A wrong
link would count ordinary spend as social-enterprise spend in a public report, so a name links
on its own only when it is near certain, and is otherwise suggested for a person to confirm.

Names are compared as in de-duplication: rapidfuzz token-sort ratio (0-100) on the distinctive
words (legal suffixes, "the", punctuation dropped), so word order and "Ltd" vs "CIC" do not
matter. Thresholds, chosen so that only a typo or a legal-form difference links by itself:

- `AUTO_SCORE` 95: near certain. Identical distinctive words score 100 ("Sparkle Cleaning Ltd"
  vs "Sparkle Cleaning CIC"); a dropped letter in "Green Spaces Training" 98; two swapped
  letters in the shorter "Sparkle Cleaning" 94 (suggested); "Sparkle Cleaning Services" 78.
- `AUTO_MARGIN` 10: the runner-up must score at least this much lower. Two listings with the
  same name (a chain's branches, two charities called "Community Transport") are never guessed.
- a place that agrees: when the record gives the supplier's postcode, the listing must be in
  the same postcode district or within `PLACE_KM` (25 km) of it. A listing with no known place,
  or a postcode that cannot be placed, cannot agree, so the link is suggested instead.
- `SUGGEST_SCORE` 75: below this a listing is not offered at all (up to `MAX_CANDIDATES`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from services.ingest.dedupe import name_key
from services.ingest.sources.merge import name_tokens
from shared.geo import InvalidPostcode, Place, default_gazetteer, distance_km, normalise_place_code
from shared.search.port import SearchIndex, SearchQuery
from shared.spend_store import Candidate, SupplierLink

AUTO_SCORE = 95.0
AUTO_MARGIN = 10.0
SUGGEST_SCORE = 75.0
PLACE_KM = 25.0
MAX_CANDIDATES = 5
SEARCH_LIMIT = 10  # hits read per name query


@dataclass(frozen=True)
class Listed:
    """What linking needs of a directory listing."""

    id: str
    name: str
    district: str | None = None
    point: tuple[float, float] | None = None

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Listed:
        location = doc.get("location") or {}
        point = (location["lat"], location["lon"]) if "lat" in location and "lon" in location else None
        return cls(str(doc["id"]), str(doc.get("name") or ""), _district(doc.get("postcode")), point)


@dataclass(frozen=True)
class SupplierPlace:
    """Where the record says the supplier is: its postcode district and, when known, a centroid."""

    district: str | None
    point: tuple[float, float] | None


def name_score(a: str, b: str) -> float:
    """0-100: how alike two organisation names are, ignoring order, legal suffixes and punctuation."""
    key_a, key_b = name_key(a), name_key(b)
    if not key_a or not key_b:  # a name of legal words only ("The Co-operative Ltd"): compare it whole
        key_a, key_b = a.lower(), b.lower()
    return float(fuzz.token_sort_ratio(key_a, key_b))


def place_agrees(place: SupplierPlace | None, listed: Listed) -> bool | None:
    """None when the record gives no place; else whether the listing is demonstrably there."""
    if place is None:
        return None
    if place.district and listed.district == place.district:
        return True
    return bool(place.point and listed.point and distance_km(place.point, listed.point) <= PLACE_KM)


def decide(name: str, place: SupplierPlace | None, listed: Iterable[Listed]) -> SupplierLink:
    """Link, suggest or leave unlinked: see the module docstring for the rule."""
    scored = sorted(
        ((name_score(name, item.name), item) for item in {i.id: i for i in listed}.values()),
        key=lambda pair: (-pair[0], pair[1].id),
    )
    offered = [
        Candidate(item.id, item.name, score, place_agrees(place, item))
        for score, item in scored[:MAX_CANDIDATES]
        if score >= SUGGEST_SCORE
    ]
    if not offered:
        return SupplierLink(None, "unlinked")
    best, runner_up = offered[0], (scored[1][0] if len(scored) > 1 else 0.0)
    certain = (
        best.score >= AUTO_SCORE
        and best.score - runner_up >= AUTO_MARGIN
        and best.place_agrees is not False
        and (place is None or best.place_agrees is True)
    )
    return SupplierLink(best.supplier_id, "name" if certain else "unconfirmed", tuple(offered))


def supplier_place(postcode: str | None) -> SupplierPlace | None:
    """The record's postcode placed by the offline gazetteer; a postcode it cannot read still
    counts as given (with no place), so it blocks an automatic link rather than being ignored."""
    if not postcode:
        return None
    district = _district(postcode)
    try:
        found: Place | None = default_gazetteer().locate(postcode) if district else None
    except InvalidPostcode:
        found = None
    return SupplierPlace(district, (found.lat, found.lon) if found else None)


def _district(postcode: Any) -> str | None:
    """The postcode district ("LS1") of a full postcode or a district alone; None if neither."""
    if not postcode:
        return None
    try:
        return normalise_place_code(str(postcode)).split(" ")[0]
    except InvalidPostcode:
        return None


class DirectoryNames:
    """Candidate listings for a name, from the search index: every distinctive word together
    (typo-tolerant), and the two longest words alone so that a listing missing one word of the
    invoice's name, or a second listing of a similar name, is still seen and compared."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index

    def candidates(self, name: str) -> list[Listed]:
        words = sorted(name_tokens(name), key=lambda w: (-len(w), w))
        queries = [" ".join(words), *words[:2]] if len(words) > 1 else [" ".join(words) or name]
        found: dict[str, Listed] = {}
        for text in dict.fromkeys(queries):
            for hit in self.index.search(SearchQuery(text=text, limit=SEARCH_LIMIT, fuzzy=True)).hits:
                found.setdefault(hit.id, Listed.from_document(hit.document))
        return list(found.values())

    def link(self, name: str, postcode: str | None) -> SupplierLink:
        return decide(name, supplier_place(postcode), self.candidates(name))


def link_by_name(
    directory: DirectoryNames, names: Sequence[tuple[str, str | None]]
) -> dict[tuple[str, str | None], SupplierLink]:
    """One lookup per distinct (name, postcode) in a batch: invoices repeat their suppliers."""
    return {key: directory.link(*key) for key in dict.fromkeys(names)}
