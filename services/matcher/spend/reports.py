"""A target's report as JSON, CSV, XLSX and an SVG chart of cumulative spend against the target line."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from openpyxl import Workbook

from services.matcher.spend.ledger import Progress
from services.matcher.spend.service import Ledger
from services.matcher.spend.store import TargetBody

LEDGER_COLUMNS = ("reference", "paid_on", "supplier_id", "social_enterprise", "amount_pence", "category", "region",
                  "impact_areas", "awaiting_confirmation")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def report_json(target_id: str, body: TargetBody, progress: Progress, ledger: Ledger,
                series: list[tuple[date, int]] | None = None) -> dict[str, Any]:
    data = asdict(progress)
    data["as_of"] = progress.as_of.isoformat()
    out: dict[str, Any] = {
        "target": {"id": target_id, **body.model_dump(mode="json")},
        "progress": data,
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


def _cell(value: Any) -> Any:
    """Spreadsheet-safe: text that a spreadsheet would run as a formula is prefixed with a quote."""
    if isinstance(value, tuple):
        value = "; ".join(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _ledger_rows(ledger: Ledger) -> list[list[Any]]:
    return [[_cell(getattr(e, c)) for c in LEDGER_COLUMNS] for e in ledger.entries]


def report_csv(ledger: Ledger) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(LEDGER_COLUMNS)
    writer.writerows(_ledger_rows(ledger))
    return out.getvalue()


def report_xlsx(target_id: str, body: TargetBody, progress: Progress, ledger: Ledger) -> bytes:
    book = Workbook()
    summary = book.active
    summary.title = "Summary"
    summary.append(["target", _cell(body.name)])
    for key, value in report_json(target_id, body, progress, ledger)["progress"].items():
        if not isinstance(value, dict):
            summary.append([key, value])
    for name, breakdown in (("By supplier", progress.by_supplier), ("By category", progress.by_category),
                            ("By region", progress.by_region), ("By impact area", progress.by_impact_area)):
        sheet = book.create_sheet(name)
        sheet.append(["key", "amount_pence"])
        for key, pence in breakdown.items():
            sheet.append([_cell(key), pence])
    sheet = book.create_sheet("Ledger")
    sheet.append(list(LEDGER_COLUMNS))
    for row in _ledger_rows(ledger):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def chart_svg(body: TargetBody, series: list[tuple[date, int]], target_pence: int | None) -> str:
    """Cumulative spend (solid) against a straight target line from nothing to the target (dashed)."""
    width, height, pad = 640, 320, 48
    days = (body.end - body.start).days or 1
    top = max([target_pence or 0] + [total for _, total in series] + [1])

    def x(day: date) -> float:
        return pad + (width - 2 * pad) * (day - body.start).days / days

    def y(pence: int) -> float:
        return height - pad - (height - 2 * pad) * pence / top

    spent = " ".join(f"{x(d):.1f},{y(t):.1f}" for d, t in series)
    latest = series[-1][1] if series else 0
    title = f"Social enterprise spend for {body.name}: £{latest / 100:,.2f} to date"
    line = (f'<line x1="{x(body.start):.1f}" y1="{y(0):.1f}" x2="{x(body.end):.1f}" y2="{y(target_pence):.1f}"'
                   ' stroke="#505a5f" stroke-width="2" stroke-dasharray="6 4"/>' if target_pence else "")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-labelledby="t d">'
        f'<title id="t">{escape(title)}</title>'
        f'<desc id="d">Cumulative spend from {body.start} to {body.end}; the dashed line is the target'
        f'{f" of £{target_pence / 100:,.2f}" if target_pence else ""}.</desc>'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#0b0c0c"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#0b0c0c"/>'
        f"{line}"
        f'<polyline fill="none" stroke="#1d70b8" stroke-width="3" points="{spent}"/>'
        f'<text x="{pad}" y="{height - 12}" font-size="12">{body.start}</text>'
        f'<text x="{width - pad}" y="{height - 12}" font-size="12" text-anchor="end">{body.end}</text>'
        "</svg>"
    )
