"""`GET /suggest`: supplier names, categories and places for what a user has typed so far.

Each suggestion says which search parameter its value belongs in (`q`, `category`, `region`
or `postcode`), so a client can turn a pick straight into a search URL; a name also carries
its listing's id, for a client that would rather open the profile. Places are postcode
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
from shared.search.port import SearchIndex

MAX_PREFIX_CHARS = 100
MAX_SUGGESTIONS = 20
# suggestion kind -> the search parameter its value belongs in
PARAMS = {"name": "q", "category": "category", "region": "region", "place": "postcode"}
_KINDS = {"name": "name", "categories": "category", "region": "region"}
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
    """Up to `limit` names, categories and regions from the index (names first), then up to
    `limit` places, for the text typed so far."""
    typed = prefix.strip()[:MAX_PREFIX_CHARS]
    if not typed:
        return []
    found = [_item(_KINDS[s.field], s.text, s.text, s.id) for s in index.suggest(typed, limit)]
    return found + [_item("place", d.label, d.code) for d in _places(typed.casefold(), limit)]


def _places(folded: str, limit: int) -> list[District]:
    squashed = folded.replace(" ", "").upper()
    by_code = [d for d in districts() if d.code.startswith(squashed)]
    by_name = [d for d in districts()
               if d.post_town.casefold().startswith(folded) or d.area_name.casefold().startswith(folded)]
    return list(dict.fromkeys(by_code + by_name))[:limit]


def _item(kind: str, label: str, value: str, listing_id: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "label": label, "param": PARAMS[kind], "value": value, "listing_id": listing_id}
