"""What the search page shows beyond the API's answer: facet checkboxes, active filters, links.

Every link is built from the current URL, so the whole search state survives each click and
any page can be shared by copying its address.
"""

from __future__ import annotations

import math
from typing import Any

from flask import url_for
from werkzeug.datastructures import MultiDict

from services.directory.labels import FACET_TITLES
from services.directory.search_params import MAX_WINDOW
from shared.geo import InvalidPostcode, is_outcode, outcode
from shared.search.port import SearchIndex

FACETS_SHOWN = 10
# Page-only parameter: the facet whose every value is listed ("show all", a plain link).
SHOW_ALL = "all"
# A postcode district's centroid is typically this far from the addresses in it.
DISTRICT_KM = 2


def facet_options(facets: dict[str, list[dict[str, Any]]], args: MultiDict[str, str]) -> list[dict[str, Any]]:
    """Each facet's most frequent values (every value for the one the user asked to see whole),
    plus any value the user ticked, so a ticked box never disappears from the page."""
    out = []
    expanded = args.getlist(SHOW_ALL)
    for name, buckets in facets.items():
        selected = args.getlist(name)
        shown = buckets if name in expanded else buckets[:FACETS_SHOWN]
        counts = {b["value"]: b["count"] for b in buckets}
        options = [{**b, "checked": b["value"] in selected} for b in shown]
        options += [{"value": v, "count": counts.get(v, 0), "checked": True}
                    for v in selected if v not in {b["value"] for b in shown}]
        if options:
            hidden = len(buckets) - len(shown)
            out.append({"name": name, "title": FACET_TITLES[name], "options": options, "hidden": max(hidden, 0),
                        "total": len(buckets), "expanded": name in expanded})
    return out


def distance_words(distance_km: float | None, precision: str | None, postcode: str | None) -> str:
    """How far away, no more precisely than the location is known: a listing placed at its postcode
    district's centre is "in LS9, about 3 km away" (whole km, never under the district's size),
    not "0.0 km away"."""
    if distance_km is None:
        return "distance not known"
    district = _district(postcode) if precision in ("district", "area") else None
    if district is None:
        return f"{distance_km:.1f} km away"
    if distance_km < DISTRICT_KM:
        return f"in {district}, within about {DISTRICT_KM} km"
    return f"in {district}, about {math.floor(distance_km + 0.5)} km away"


def _district(postcode: str | None) -> str | None:
    if not postcode:
        return None
    try:
        return postcode.strip().upper() if is_outcode(postcode) else outcode(postcode)
    except InvalidPostcode:
        return None


def with_places(index: SearchIndex, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each matcher result with its listing's postcode and how precisely it is placed, so a page
    can say "in LS9, about 3 km away" where only the district is known (the matcher gives only
    the distance)."""
    for result in results:
        listing = index.get(result["listing_id"]) or {}
        result["postcode"], result["geo_precision"] = listing.get("postcode"), listing.get("geo_precision")
    return results


def wider_radius(distance_km: float) -> int:
    """A round distance that takes in a supplier this far away (for "search within 100 km")."""
    for step in (10, 25, 50, 100, 150, 200, 300, 500, 750, 1000):
        if distance_km <= step:
            return step
    return 1000


def active_filters(args: MultiDict[str, str]) -> list[tuple[str, str]]:
    """(parameter, value) for every filter in the URL, in the order the facets are shown."""
    return [(name, value) for name in FACET_TITLES for value in args.getlist(name) if value]


def search_url(args: MultiDict[str, str], endpoint: str = "pages.search_page", **changes: Any) -> str:
    """The search's URL with some parameters changed (None removes one); it starts again at page 1
    unless a page is given, so a new filter never lands on a page past the end."""
    state: dict[str, Any] = {k: [v for v in args.getlist(k) if v] for k in args if k not in ("page", "cursor")}
    if endpoint != "pages.search_page":
        state.pop(SHOW_ALL, None)
    for key, value in changes.items():
        state[key] = [] if value is None else value if isinstance(value, list) else [value]
    return url_for(endpoint, **{k: v for k, v in state.items() if v})


def last_page(results: dict[str, Any]) -> int:
    """The last page a link may point at: the end of the results or of the pageable window."""
    per_page: int = results["per_page"]
    return min(-(-results["total"] // per_page), MAX_WINDOW // per_page)
