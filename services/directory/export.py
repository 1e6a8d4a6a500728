"""`GET /export.csv`: every listing a search finds, streamed as CSV a batch at a time.

The export may cover the whole directory, so rows are written as they are read and the file
is never held in memory. Spreadsheet programs run a cell that starts with `=`, `+`, `-`, `@`,
a tab or a carriage return as a formula; listing text comes from open data anyone can edit, so
such cells are prefixed with a single quote (OWASP, "CSV Injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from services.directory.provenance import verifications
from shared.search.port import Hit, SearchIndex, SearchQuery

BATCH = 500
COLUMNS = ("id", "name", "legal_form", "region", "postcode", "town", "distance_km", "categories",
           "impact_areas", "certifications", "cpv_codes", "services", "size_band", "website", "email", "phone",
           "org_ids", "verified", "licence", "source", "source_url", "updated_at")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text rather than running as a formula."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def csv_rows(index: SearchIndex, query: SearchQuery) -> Iterator[str]:
    """The header, then one CSV line per listing the query finds, in the query's order."""
    yield _line(COLUMNS)
    for hit in index.scan(query, page_size=BATCH):
        yield _line(row(hit))


def row(hit: Hit) -> list[str]:
    """The listing's cells in `COLUMNS` order; lists are joined with "; "."""
    doc: dict[str, Any] = hit.document
    contact, address = doc.get("contact") or {}, doc.get("address") or {}
    values = {**doc, **contact, "town": address.get("town"), "verified": verifications(doc)[0],
              "distance_km": None if hit.distance_km is None else f"{hit.distance_km:.2f}"}
    return [neutralise(_text(values.get(name))) for name in COLUMNS]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def _line(cells: list[str] | tuple[str, ...]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()
