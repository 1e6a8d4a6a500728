"""Workers.coop directory of UK worker co-operatives (2023-06-23 export).

Its value is the descriptions: Co-ops UK says a co-op is in "Retail"; Workers.coop says it
"sells and repairs all kinds of bicycles". Every row carries the Co-ops UK identifier, so its
listing merges with the register's row under `coop:<identifier>`. It has no coordinates, so
locations come from the postcode gazetteer. Licence not stated upstream: see PROVENANCE.md.
"""

from __future__ import annotations

from shared.geo import Gazetteer

from .common import RawListing, edition, geocoded, text
from .coopsuk import STANDARD
from .impact import impact_areas
from .mapping import Row

SOURCE = "workerscoop"
EDITION = edition("2023-06-23")
LICENCE = "development only"  # not stated upstream (PROVENANCE.md)


def _registration(row: Row) -> RawListing:
    """The FCA society number, which only this file carries (the register gives company numbers)."""
    number = text(row["Registered Number"])
    return {"society_number": number} if number and row["Registrar"].strip() == "FCA" else {}


def record(row: Row) -> RawListing:
    """A listing dict for one directory row; every row is a trading worker co-op, so none is skipped."""
    fields = STANDARD.to_listing(row)
    description = (row["Description"] or "").replace("\r\n", "\n").strip()
    return {
        **fields,
        **_registration(row),
        "description": description,
        "impact_areas": impact_areas(fields.get("categories", []), description),
        "cpv_inferred": bool(fields.get("cpv_codes")),
        "source": SOURCE,
        "licence": LICENCE,
        "updated_at": EDITION,
    }


def to_listing(row: dict[str, str], gazetteer: Gazetteer) -> RawListing:
    """`record`, placed by the gazetteer (for the prebuilt sample)."""
    return geocoded(record(row), gazetteer)
