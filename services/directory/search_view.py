"""What the search page shows beyond the API's answer: facet checkboxes, active filters, links.

Every link is built from the current URL, so the whole search state survives each click and
any page can be shared by copying its address.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from werkzeug.datastructures import MultiDict

from services.directory.labels import FACET_TITLES
from services.directory.search_params import MAX_WINDOW

FACETS_SHOWN = 10


def facet_options(facets: dict[str, list[dict[str, Any]]], args: MultiDict[str, str]) -> list[dict[str, Any]]:
    """Each facet's most frequent values, plus any value the user ticked, so a ticked box never
    disappears from the page (it may have fallen out of the top values)."""
    out = []
    for name, buckets in facets.items():
        selected = args.getlist(name)
        shown = buckets[:FACETS_SHOWN]
        counts = {b["value"]: b["count"] for b in buckets}
        options = [{**b, "checked": b["value"] in selected} for b in shown]
        options += [{"value": v, "count": counts.get(v, 0), "checked": True}
                    for v in selected if v not in {b["value"] for b in shown}]
        if options:
            out.append({"name": name, "title": FACET_TITLES[name], "options": options})
    return out


def active_filters(args: MultiDict[str, str]) -> list[tuple[str, str]]:
    """(parameter, value) for every filter in the URL, in the order the facets are shown."""
    return [(name, value) for name in FACET_TITLES for value in args.getlist(name) if value]


def search_url(args: MultiDict[str, str], endpoint: str = "pages.search_page", **changes: Any) -> str:
    """The search's URL with some parameters changed (None removes one); it starts again at page 1
    unless a page is given, so a new filter never lands on a page past the end."""
    state: dict[str, Any] = {k: [v for v in args.getlist(k) if v] for k in args if k not in ("page", "cursor")}
    for key, value in changes.items():
        state[key] = [] if value is None else value if isinstance(value, list) else [value]
    return url_for(endpoint, **{k: v for k, v in state.items() if v})


def last_page(results: dict[str, Any]) -> int:
    """The last page a link may point at: the end of the results or of the pageable window."""
    per_page: int = results["per_page"]
    return min(-(-results["total"] // per_page), MAX_WINDOW // per_page)
