"""A target's report as JSON, and the rows and figures that its CSV and XLSX files share.

A contractor hands the files to the Buy Social Corporate Challenge, and a public buyer publishes
them (PPN 001 asks for the share of spend with VCSEs, direct and indirect), so they speak in
people's words: supplier names with their registry numbers, legal form and what the directory
can vouch for; amounts in pounds; dates as dates; credit notes marked as such.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from services.matcher.spend.ledger import UNSPECIFIED, Progress
from services.matcher.spend.service import Ledger, LedgerLine
from services.matcher.spend.store import TargetBody
from shared.listing_labels import LEGAL_FORMS, SIZE_BANDS, registry_numbers, verification

LINK_WORDS = {
    "id": "By directory ID",
    "number": "By registry number",
    "name": "By name (near certain)",
    "confirmed": "Confirmed by your organisation",
    "unconfirmed": "Awaiting your confirmation",
    "rejected": "Rejected by your organisation",
    "unlinked": "Not in the directory",
}
SPEND_TYPES = {"direct": "Direct", "indirect": "Indirect", UNSPECIFIED: "Not stated"}


@dataclass(frozen=True)
class Column:
    title: str
    kind: str  # text, date, pounds


LEDGER_COLUMNS = (
    Column("Date paid", "date"),
    Column("Reference", "text"),
    Column("Type", "text"),
    Column("Supplier (as paid)", "text"),
    Column("Supplier in the directory", "text"),
    Column("Directory ID", "text"),
    Column("Legal form", "text"),
    Column("Registry numbers", "text"),
    Column("Organisation identifiers (org-id.guide)", "text"),
    Column("Verification", "text"),
    Column("Social enterprise", "text"),
    Column("Size", "text"),
    Column("How the supplier was linked", "text"),
    Column("Direct or indirect", "text"),
    Column("Category", "text"),
    Column("Region", "text"),
    Column("Social impact", "text"),
    Column("Amount (£)", "pounds"),
)


def ledger_row(line: LedgerLine) -> list[Any]:
    """One record in the columns above: dates as dates, amounts as pence (the writers turn them
    into pounds in their own way), everything else as the words people read."""
    entry, record, listing = line.entry, line.stored.record, line.listing or {}
    return [
        entry.paid_on,
        entry.reference,
        "Credit note" if entry.amount_pence < 0 else "Invoice",
        record.supplier_name or listing.get("name") or record.supplier_id or "",
        listing.get("name", ""),
        line.stored.linked_supplier_id or "",
        LEGAL_FORMS.get(str(listing.get("legal_form")), "") if listing else "",
        registry_numbers(listing) if listing else _numbers_as_paid(line),
        "; ".join(listing.get("org_ids") or ()),
        verification(listing) if listing else "",
        "Yes" if entry.social_enterprise else "No",
        SIZE_BANDS.get(str(listing.get("size_band")), ""),
        LINK_WORDS.get(line.stored.link_status, line.stored.link_status),
        SPEND_TYPES.get(entry.spend_type or UNSPECIFIED, ""),
        entry.category or "",
        entry.region or "",
        "; ".join(a.replace("_", " ").capitalize() for a in entry.impact_areas),
        entry.amount_pence,
    ]


def _numbers_as_paid(line: LedgerLine) -> str:
    record = line.stored.record
    parts = [("Companies House", record.supplier_company_number), ("Charity", record.supplier_charity_number)]
    return "; ".join(f"{label} {number}" for label, number in parts if number)


def summary_rows(organisation: str, body: TargetBody, progress: Progress) -> list[tuple[str, Any, str]]:
    """The summary sheet: (label, value, kind), kind as in `Column` plus `percent` (a share, 0..1)."""
    p = progress
    rows: list[tuple[str, Any, str]] = [
        ("Organisation", organisation, "text"),
        ("Target", body.name, "text"),
        ("Period starts", body.start, "date"),
        ("Period ends", body.end, "date"),
        ("Figures as of", p.as_of, "date"),
        ("Target (£)", p.target_pence, "pounds"),
        ("Spent with social enterprises (£)", p.social_pence, "pounds"),
        ("Target achieved", _share(p.social_pence, p.target_pence), "percent"),
        ("Forecast by the period's end (£)", p.forecast_social_pence, "pounds"),
        ("Gap to target on the forecast (£)", p.gap_pence, "pounds"),
        ("Addressable spend (£)", p.addressable_pence, "pounds"),
        ("Share of addressable spend with social enterprises", _share(p.social_pence, p.addressable_pence),
         "percent"),
        ("Credit notes with social enterprises, netted off (£)", p.credit_pence, "pounds"),
        ("Awaiting your confirmation, not counted (£)", p.awaiting_confirmation_pence, "pounds"),
    ]
    for kind in ("direct", "indirect", UNSPECIFIED):
        if kind in p.addressable_by_spend_type:
            words = SPEND_TYPES[kind]
            rows.append((f"{words}: spent with social enterprises (£)", p.by_spend_type.get(kind, 0), "pounds"))
            rows.append((f"{words}: addressable spend (£)", p.addressable_by_spend_type[kind], "pounds"))
    if body.category:
        rows.insert(2, ("Category", body.category, "text"))
    if body.region:
        rows.insert(2, ("Region", body.region, "text"))
    return rows


def _share(part: int, whole: int | None) -> float | None:
    return part / whole if whole else None


def supplier_names(ledger: Ledger) -> dict[str, str]:
    """Each listed supplier's name by its directory id, for breakdowns keyed by id."""
    return {line.stored.linked_supplier_id: str(line.listing.get("name") or line.stored.linked_supplier_id)
            for line in ledger.lines if line.listing and line.stored.linked_supplier_id}


def breakdowns(ledger: Ledger, progress: Progress) -> list[tuple[str, str, list[tuple[str, int]]]]:
    """(sheet title, first column's title, rows of (what, pence)), the supplier by name."""
    names = supplier_names(ledger)
    return [
        ("By supplier", "Supplier", [(names.get(k, k), v) for k, v in progress.by_supplier.items()]),
        ("By category", "Category", list(progress.by_category.items())),
        ("By region", "Region", list(progress.by_region.items())),
        ("By impact area", "Social impact", [(k.replace("_", " ").capitalize(), v)
                                             for k, v in progress.by_impact_area.items()]),
        ("By direct or indirect", "Direct or indirect", [(SPEND_TYPES.get(k, k), v)
                                                          for k, v in progress.by_spend_type.items()]),
    ]


def report_json(target_id: str, body: TargetBody, progress: Progress, ledger: Ledger,
                series: list[tuple[date, int]] | None = None) -> dict[str, Any]:
    data = asdict(progress)
    data["as_of"] = progress.as_of.isoformat()
    data["achieved_percentage"] = progress.achieved_percentage
    out: dict[str, Any] = {
        "target": {"id": target_id, **body.model_dump(mode="json")},
        "progress": data,
        "supplier_names": supplier_names(ledger),
        "unlinked_references": ledger.unlinked_references,
        "unconfirmed_references": ledger.unconfirmed_references,
    }
    if series is not None:
        out["monthly"] = monthly(body, series, progress.target_pence)
    return out


def target_line(body: TargetBody, day: date, target_pence: int | None) -> int | None:
    """The chart's dashed line: the target reached evenly from nothing at the start to all at the end."""
    if target_pence is None:
        return None
    return target_pence * (day - body.start).days // ((body.end - body.start).days or 1)


def monthly(body: TargetBody, series: list[tuple[date, int]], target_pence: int | None) -> list[dict[str, Any]]:
    """The chart's numbers at each month's end and on the last day drawn: the table that gives
    people who cannot see the chart the same information."""
    points = [(d, total) for i, (d, total) in enumerate(series)
              if i == len(series) - 1 or series[i + 1][0].month != d.month]
    return [{"date": d.isoformat(), "cumulative_pence": total, "target_line_pence": target_line(body, d, target_pence)}
            for d, total in points]
