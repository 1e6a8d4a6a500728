"""`GET /suggest`: supplier names, categories and places for what a user has typed so far.

Each suggestion says which search parameter its value belongs in (`q`, `category` or
`postcode`), so a client can turn a pick straight into a search URL. Places are postcode
districts, found by their code, their post town or their area name ("Leeds" -> LS1, LS2 …),
because the search takes a district wherever it takes a postcode.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from shared.geo import DATA_DIR
from shared.search.port import SearchIndex, SearchQuery

MAX_PREFIX_CHARS = 100
MAX_SUGGESTIONS = 20
_DISTRICT_NUMBER = re.compile(r"^([A-Z]+)(\d+)(.*)$")


@dataclass(frozen=True)
class District:
    code: str
    area_name: str
    post_town: str

    @property
    def label(self) -> str:
        return f"{self.code}, {self.area_name}" + ("" if self.post_town in self.area_name else f", {self.post_town}")


@lru_cache(maxsize=1)
def districts() -> tuple[District, ...]:
    """Districts still in use, in natural order (LS2 before LS10), read once per process."""
    with (DATA_DIR / "postcode_districts.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = [row for row in csv.DictReader(fh) if (row["Active postcodes"] or "0") != "0"]
    found = [District(r["Postcode"].strip(), (r["Town/Area"] or "").strip(), (r["Post Town"] or "").strip())
             for r in rows]
    return tuple(sorted(found, key=lambda d: _natural(d.code)))


def _natural(code: str) -> tuple[str, int, str]:
    match = _DISTRICT_NUMBER.match(code)
    return (match.group(1), int(match.group(2)), match.group(3)) if match else (code, 0, "")


def suggest(index: SearchIndex, prefix: str, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` suggestions of each kind, names first, for the text typed so far."""
    typed = prefix.strip()[:MAX_PREFIX_CHARS]
    if not typed:
        return []
    result = index.search(SearchQuery(text=typed, facets=["categories"], limit=limit))
    folded = typed.casefold()
    names = [_item("name", hit.document["name"], "q", hit.document["name"]) for hit in result.hits]
    categories = [_item("category", b.value, "category", b.value)
                  for b in result.facets.get("categories", []) if folded in b.value.casefold()][:limit]
    return names + categories + [_item("place", d.label, "postcode", d.code) for d in _places(folded, limit)]


def _places(folded: str, limit: int) -> list[District]:
    squashed = folded.replace(" ", "").upper()
    by_code = [d for d in districts() if d.code.startswith(squashed)]
    by_name = [d for d in districts()
               if d.post_town.casefold().startswith(folded) or d.area_name.casefold().startswith(folded)]
    return list(dict.fromkeys(by_code + by_name))[:limit]


def _item(kind: str, label: str, param: str, value: str) -> dict[str, Any]:
    return {"kind": kind, "label": label, "param": param, "value": value}
