"""Spend as a CSV file, the way finance teams export it: read whole, every error reported at once.

A file is checked completely before anything is published, and each error names the file's own
line number (the header is line 1) and the file's own column name, so a person can fix every
problem in one pass instead of one per upload.

Encoding: UTF-8 (with or without the byte-order mark Excel writes for "CSV UTF-8"). A file that
is not UTF-8 is read as Windows-1252, what Excel writes for plain "CSV" on Windows (the £ sign
is byte 0xA3 there); a charset named in the request's Content-Type is used as given. A file that
is neither is refused with how to save it as CSV UTF-8.

Amounts: pounds in `amount` (`1234.50`, `£1,234.50`) or whole pence in `amount_pence`. Credit
notes are negative, in any of the accounting forms `-4500`, `-£4,500.00`, `£-4,500.00` and
`(4,500.00)`. Dates: `YYYY-MM-DD`, or the UK's `DD/MM/YYYY` that Excel writes.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.errors import FieldError, InvalidInput

COLUMNS = ("reference", "date", "amount", "amount_pence", "supplier_id", "supplier_name", "supplier_company_number",
           "supplier_charity_number", "supplier_postcode", "category", "cpv_code", "spend_type")
SAVE_AS_UTF8 = ("save the file as CSV UTF-8: in Excel, File > Save As, and choose 'CSV UTF-8 (Comma delimited)"
                " (*.csv)'; in LibreOffice, Save As 'Text CSV', with the character set 'Unicode (UTF-8)'")
_POUNDS = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


@dataclass(frozen=True)
class CsvRow:
    """One data row: where it starts in the file, its values by field, and which column of the
    file each field came from (so validation errors can name the file's column)."""

    line: int
    values: dict[str, Any]
    columns: dict[str, str]
    problems: tuple[FieldError, ...] = ()  # values that could not be read, by line and column


def decode(data: bytes, charset: str | None = None) -> tuple[str, str]:
    """The text and the encoding it was read in."""
    if charset:
        try:
            codecs.lookup(charset)
            return data.decode(charset), charset.lower()
        except LookupError as exc:
            raise InvalidInput(f"unknown charset {charset!r}", [FieldError("charset", "unknown")], status=415) from exc
        except UnicodeDecodeError as exc:
            raise _not_readable(exc, charset) from exc
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("cp1252"), "windows-1252"
        except UnicodeDecodeError:
            raise _not_readable(utf8_error, "UTF-8 or Windows-1252") from utf8_error


def _not_readable(exc: UnicodeDecodeError, encoding: str) -> InvalidInput:
    line = exc.object[: exc.start].count(b"\n") + 1
    byte = exc.object[exc.start]
    return InvalidInput(f"the CSV is not {encoding} (byte 0x{byte:02x} on line {line}); {SAVE_AS_UTF8}",
                        [FieldError(f"line {line}", f"not {encoding}")], status=415)


def read_rows(text: str) -> list[CsvRow]:
    """Every data row of the file, each with the values it could not read; InvalidInput when the
    file's header or shape is wrong."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [name.strip() for name in next(reader, [])]
    unknown = [name for name in header if name not in COLUMNS]
    if not header or unknown:
        raise InvalidInput(f"the CSV header names unknown columns; the columns are {', '.join(COLUMNS)}",
                           [FieldError(f"line 1: {name}", "unknown column") for name in unknown]
                           or [FieldError("line 1", "no header row")])
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        raise InvalidInput("the CSV header names a column twice",
                           [FieldError(f"line 1: {name}", "named twice") for name in twice])
    if "amount" in header and "amount_pence" in header:
        raise InvalidInput("give the amount in pounds or in pence, not both",
                           [FieldError("line 1: amount_pence", "remove it, or the amount column")])
    rows = [_row(line, header, values) for line, values in _numbered(reader)]
    if not rows:
        raise InvalidInput("the CSV has a header but no records", [FieldError("line 2", "no records")])
    return rows


def _numbered(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """Rows with the line each starts on (a quoted value may span lines), blank lines skipped."""
    start = reader.line_num + 1
    for values in reader:
        if any(v.strip() for v in values):
            yield start, values
        start = reader.line_num + 1


def _row(line: int, header: list[str], cells: list[str]) -> CsvRow:
    values: dict[str, Any] = {}
    columns: dict[str, str] = {}
    errors: list[FieldError] = []
    if len(cells) > len(header):
        errors.append(FieldError(f"line {line}", f"{len(cells) - len(header)} more values than the header has columns"))
    for column, value in zip(header, cells, strict=False):
        if not value.strip():
            continue
        field, parsed, problem = _parse(column, value.strip())
        columns[field] = column
        if problem:
            errors.append(FieldError(f"line {line}: {column}", problem))
        else:
            values[field] = parsed
    return CsvRow(line, values, columns, tuple(errors))


def _parse(column: str, value: str) -> tuple[str, Any, str | None]:
    """(the record's field, its value, or what is wrong with it)."""
    if column == "amount":
        pence, problem = parse_pounds(value)
        return "amount_pence", pence, problem
    if column == "amount_pence":
        try:
            return column, int(value.replace(",", "")), None
        except ValueError:
            return column, None, f"{value!r} is not a whole number of pence"
    if column == "date":
        parsed = parse_date(value)
        return column, parsed, None if parsed else f"{value!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)"
    if column == "spend_type":
        kind = value.lower()
        return column, kind, None if kind in ("direct", "indirect") else f"{value!r} is neither direct nor indirect"
    return column, value, None


def parse_pounds(value: str) -> tuple[int | None, str | None]:
    """Pounds as whole pence; negative in the accounting forms a credit note takes."""
    text, negative = value.replace(" ", ""), False
    if text.startswith("(") and text.endswith(")"):
        text, negative = text[1:-1], True
    for mark in ("-", "−", "£", "-", "−"):  # -£4,500 and £-4,500 alike
        if text.startswith(mark):
            if mark != "£":
                if negative:
                    return None, f"{value!r} is negative twice"
                negative = True
            text = text[1:]
    if not _POUNDS.match(text):
        return None, f"{value!r} is not an amount in pounds, e.g. 1234.50, -£4,500.00 or (4,500.00)"
    try:
        pence = Decimal(text.replace(",", "")) * 100
    except InvalidOperation:
        return None, f"{value!r} is not an amount in pounds"
    if pence != pence.to_integral_value():
        return None, f"{value!r} has fractions of a penny"
    return (-int(pence) if negative else int(pence)), None


def parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    found = _UK_DATE.match(value)
    if found is None:
        return None
    try:
        return datetime(int(found[3]), int(found[2]), int(found[1])).date()
    except ValueError:
        return None
