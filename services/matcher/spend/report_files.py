"""A target's report as files to hand over: the ledger as CSV, and a workbook (XLSX) with a summary
sheet, one sheet per breakdown and the ledger.

In the workbook, amounts are numbers in pounds with a pounds number format (credit notes in red
with a minus sign), dates are dates, shares are percentages, and a text cell that a spreadsheet
would run as a formula is prefixed with a quote. The CSV writes dates as YYYY-MM-DD and amounts
as plain pounds (`-4500.00`), which every spreadsheet reads as a date and a number.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from services.matcher.spend.ledger import Progress
from services.matcher.spend.reports import LEDGER_COLUMNS, breakdowns, ledger_row, summary_rows
from services.matcher.spend.service import Ledger
from services.matcher.spend.store import TargetBody

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = {"pounds": '"£"#,##0.00;[Red]-"£"#,##0.00', "date": "DD/MM/YYYY", "percent": "0.0%"}
WIDTHS = {"date": 12, "pounds": 16, "percent": 12, "text": 24}


def safe_text(value: Any) -> Any:
    """Spreadsheet-safe: text that a spreadsheet would run as a formula is prefixed with a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def pounds(pence: int | None) -> Decimal | None:
    return None if pence is None else Decimal(pence).scaleb(-2)


def report_csv(ledger: Ledger) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.title for c in LEDGER_COLUMNS])
    for line in ledger.lines:
        writer.writerow([_csv_value(value, column.kind) for value, column in zip(ledger_row(line), LEDGER_COLUMNS,
                                                                                  strict=True)])
    return out.getvalue()


def _csv_value(value: Any, kind: str) -> Any:
    if kind == "pounds":
        return pounds(value)
    if kind == "date":
        return value.isoformat()
    return safe_text(value)


def report_xlsx(organisation: str, target_id: str, body: TargetBody, progress: Progress, ledger: Ledger) -> bytes:
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "Summary"
    _header(summary, ["", f"Buy Social report: {body.name} ({target_id})"], ["text", "text"])
    for label, value, kind in summary_rows(organisation, body, progress):
        summary.append([label, _xlsx_value(value, kind)])
        summary.cell(summary.max_row, 2).number_format = FORMATS.get(kind, "General")
    summary.column_dimensions["A"].width = 52
    summary.column_dimensions["B"].width = 28
    for title, first, rows in breakdowns(ledger, progress):
        sheet = book.create_sheet(title)
        _header(sheet, [first, "Spend with social enterprises (£)"], ["text", "pounds"])
        for what, pence in rows:
            sheet.append([safe_text(what), pounds(pence)])
            sheet.cell(sheet.max_row, 2).number_format = FORMATS["pounds"]
    sheet = book.create_sheet("Ledger")
    _header(sheet, [c.title for c in LEDGER_COLUMNS], [c.kind for c in LEDGER_COLUMNS])
    for line in ledger.lines:
        sheet.append([_xlsx_value(v, c.kind) for v, c in zip(ledger_row(line), LEDGER_COLUMNS, strict=True)])
        for i, column in enumerate(LEDGER_COLUMNS, start=1):
            if column.kind in FORMATS:
                sheet.cell(sheet.max_row, i).number_format = FORMATS[column.kind]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _header(sheet: Worksheet, titles: list[str], kinds: list[str]) -> None:
    sheet.append(titles)
    for i, kind in enumerate(kinds, start=1):
        sheet.cell(1, i).font = Font(bold=True)
        sheet.column_dimensions[sheet.cell(1, i).column_letter].width = max(WIDTHS[kind], len(titles[i - 1]) + 2)
    sheet.freeze_panes = "A2"


def _xlsx_value(value: Any, kind: str) -> Any:
    if kind == "pounds":
        amount = pounds(value)
        return None if amount is None else float(amount)
    if kind == "date":
        return value if isinstance(value, date) else None
    return safe_text(value)
