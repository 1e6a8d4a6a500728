"""Reading the files the official registers publish for download, as the publishers ship them.

The registers ship large delimited text files, often zipped (the Charity Commission's
`publicextract.charity.zip`, Companies House's `BasicCompanyDataAsOneFile-2026-11-01.zip`), so
a deployment should be able to load the download as it is. Rows are streamed, never held: the
Companies House file alone is 2.5 GB. The extract's date is what a verification is "as of" and
what every listing's `updated_at` becomes, so rebuilding from the same file never changes it.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from .common import RawListing

Cells = Mapping[str, str]
"""One data row by column name (header names stripped of the spaces some publishers add)."""
RowReading = tuple[str, Cells, str | None]
"""(line where the row starts, the row, why it cannot be read or None)."""

_UNDECODED = re.compile("[\udc80-\udcff]")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DAY_FIRST_DATE = re.compile(r"(?<!\d)(\d{2})[-_.](\d{2})[-_.](\d{4})(?!\d)")
PLACEHOLDERS = frozenset({"", "n/a", "na", "none", "null", "0", "-", "exempt", "not known", "unknown"})
"""Cell values registers use for "nothing here"; they must never become a postcode or a website."""


@contextmanager
def open_text(path: Path, member_suffix: str, encoding: str = "utf-8-sig") -> Iterator[TextIO]:
    """The file's text, or that of the first member of a `.zip` whose name ends in `member_suffix`.

    Bytes that are not valid in `encoding` survive as surrogates (`has_bad_bytes`), so one bad
    row is dead-lettered instead of aborting a 5-million-row load.
    """
    if path.suffix.lower() != ".zip":
        with path.open(encoding=encoding, errors="surrogateescape", newline="") as fh:
            yield fh
        return
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.lower().endswith(member_suffix.lower())]
        if not names:
            raise ValueError(f"{path.name} holds no *{member_suffix} file")
        with archive.open(names[0]) as raw:
            yield io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline="")


def file_rows(path: Path, member_suffix: str, **dialect: Any) -> Iterator[RowReading]:
    """`delimited_rows` of a plain or zipped file (see `open_text`)."""
    with open_text(path, member_suffix) as fh:
        yield from delimited_rows(fh, **dialect)


def dated_by_file(record: Callable[[Cells, str], RawListing], path: Path) -> Callable[[Cells], RawListing]:
    """`record` for files that carry no date of their own: every row is as of `extract_date`."""
    as_of = extract_date(path)
    return lambda row: record(row, as_of)


def verification(registry: str, identifier: str, status: str, as_of: str) -> list[dict[str, Any]]:
    """A listing's `verified`: the one register this extract is, vouching as of its date."""
    return [{"registry": registry, "identifier": identifier, "status": status, "as_of": as_of, "current": True}]


def has_bad_bytes(value: str) -> bool:
    """True when surrogateescape decoding met bytes the file's encoding does not allow."""
    return _UNDECODED.search(value) is not None


def bad_bytes_problem(row: Cells, encoding: str = "text") -> str | None:
    """Which column holds undecodable bytes ("invalid <encoding> in column …"), or None; one scan
    of the whole row when clean."""
    if not has_bad_bytes("".join(row.values())):
        return None
    bad = next(name for name, value in row.items() if has_bad_bytes(value))
    return f"invalid {encoding} in column {bad!r}"


def delimited_rows(fh: TextIO, **dialect: Any) -> Iterator[RowReading]:
    """Every data row of a delimited file with a header line, with the line it starts on.

    A row wider or narrower than the header, or holding undecodable bytes, comes with the
    problem instead of being guessed at.
    """
    reader = csv.reader(fh, **dialect)
    header = [name.strip() for name in next(reader, [])]
    start = reader.line_num + 1
    for values in reader:
        where, start = str(start), reader.line_num + 1
        if not any(values):
            continue
        row = dict(zip(header, values, strict=False))
        yield where, row, width_problem(len(values), len(header)) or bad_bytes_problem(row)


def width_problem(width: int, expected: int) -> str | None:
    """Why a row of `width` cells does not fit a header of `expected` names, or None."""
    if width < expected:
        return f"truncated row: {width} of {expected} columns"
    if width > expected:
        return f"row has {width} columns, the header {expected}"
    return None


def cell(row: Cells, name: str) -> str | None:
    """A cell's stripped text, or None for a blank or a placeholder such as "N/A" or "Exempt"."""
    value = (row.get(name) or "").strip()
    return None if value.lower() in PLACEHOLDERS else value


def extract_date(path: Path) -> str:
    """The extract's date (YYYY-MM-DD): from its name when the publisher dates it
    (`BasicCompanyDataAsOneFile-2026-11-01.csv`, `CharityExport-01-11-2026.csv`), else the day
    the file was last written, which for a download is the day it was taken."""
    name = path.name
    iso = _ISO_DATE.search(name)
    if iso:
        return datetime(int(iso[1]), int(iso[2]), int(iso[3])).date().isoformat()
    day_first = _DAY_FIRST_DATE.search(name)
    if day_first:
        return datetime(int(day_first[3]), int(day_first[2]), int(day_first[1])).date().isoformat()
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).date().isoformat()


def day_first(value: str | None) -> str | None:
    """A register's dd/mm/yyyy date (time of day ignored) as YYYY-MM-DD; ValueError if unreadable."""
    text = (value or "").strip()
    if not text:
        return None
    return datetime.strptime(text.split(" ")[0], "%d/%m/%Y").date().isoformat()


def website(value: str | None) -> str | None:
    """A register's website cell as a link (registers often omit the scheme)."""
    if not value or "." not in value or " " in value.strip():
        return None
    return value if "://" in value else f"https://{value}"
