"""File formats the CLI loads, each read into `SourceRecord`s that say where in the file they were.

A reader never stops on a bad row: a row it cannot read (invalid UTF-8, a truncated or
over-long CSV row, a line that is not JSON) becomes a record with a `problem`, which the CLI
dead-letters with its line; a row the source mapping deliberately leaves out (a social club in
the Co-ops UK register) is `skipped` with the reason, and only counted.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import ccew, ccni, companies_house, coopsuk, fca_mutuals, oscr, threesixtygiving, ukcat, workerscoop
from .common import RawListing, Skipped
from .mapping import CsvMapping, Row, own_schema_mapping
from .register_files import bad_bytes_problem, has_bad_bytes

# The csv module refuses fields over 128 KB; a 1 MB description must reach validation and be
# rejected with a reason, not abort the file.
csv.field_size_limit(64 * 1024 * 1024)


@dataclass(frozen=True)
class SourceRecord:
    where: str  # a line number, or a JSON path such as grants[3]
    raw: Any
    listing: RawListing | None = None
    problem: str | None = None
    skipped: str | None = None


Reader = Callable[[Path, CsvMapping | None], Iterator[SourceRecord]]


def _has_bad_bytes(value: Any) -> bool:
    """True when surrogateescape decoding met bytes that are not UTF-8."""
    return isinstance(value, str) and has_bad_bytes(value)


def _printable(value: Any) -> Any:
    """A value fit for JSON: undecodable bytes become U+FFFD."""
    if isinstance(value, str):
        if not has_bad_bytes(value):  # the common case: nothing to replace
            return value
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable(v) for v in value]
    return value


def csv_header(path: Path) -> list[str]:
    """The CSV's column names (empty for an empty file), for checking a mapping before loading."""
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        return [_printable(name) for name in next(csv.reader(fh), [])]


def csv_rows(path: Path, encoding: str = "utf-8-sig") -> Iterator[tuple[str, Row, str | None]]:
    """(line, row, problem) for each data row; the line is where the row starts. A few sources
    publish in another encoding (CCNI: Windows-1252); bytes it cannot decode are problems."""
    with path.open(encoding=encoding, errors="surrogateescape", newline="") as fh:
        reader = csv.DictReader(fh)
        width = len(reader.fieldnames or [])
        dirty_header = any(_has_bad_bytes(name) for name in reader.fieldnames or [])
        start = reader.line_num + 1
        for row in reader:
            problem = _row_problem(row, width)
            yield str(start), _printable(row) if problem or dirty_header else row, problem
            start = reader.line_num + 1


def _row_problem(row: dict[Any, Any], width: int) -> str | None:
    values = [v for k, v in row.items() if k is not None]
    if None in values:
        return f"truncated row: {sum(v is not None for v in values)} of {width} columns"
    if None in row:
        return f"row has {width + len(row[None])} columns, the header {width}"
    return bad_bytes_problem(row, "UTF-8")


def mapped_csv(
    path: Path, convert: Callable[[Row], RawListing], encoding: str = "utf-8-sig"
) -> Iterator[SourceRecord]:
    """Every CSV row through a source mapping."""
    return mapped_rows(csv_rows(path, encoding), convert)


def mapped_rows(rows: Iterable[tuple[str, Row, str | None]], convert: Callable[[Row], RawListing]
                ) -> Iterator[SourceRecord]:
    """Every (line, row, problem) a reader gives through a source mapping."""
    for where, row, problem in rows:
        if problem:
            yield SourceRecord(where, row, problem=problem)
            continue
        try:
            yield SourceRecord(where, row, listing=convert(row))
        except Skipped as skipped:
            yield SourceRecord(where, row, skipped=skipped.reason)
        except KeyError as exc:
            yield SourceRecord(where, row, problem=f"missing column {exc.args[0]!r}")
        except ValueError as exc:
            yield SourceRecord(where, row, problem=f"unreadable value: {exc}")


def jsonl_records(path: Path, mapping: CsvMapping | None = None) -> Iterator[SourceRecord]:
    """One JSON object per line (a `.json` file may hold one array instead)."""
    if path.suffix.lower() == ".json":
        for number, item in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            yield _json_record(f"[{number}]", item)
        return
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                text = line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield SourceRecord(str(number), _printable(line.decode("utf-8", "surrogateescape")),
                                   problem=f"invalid UTF-8 at byte {exc.start}")
                continue
            try:
                item = json.loads(text)
            except json.JSONDecodeError as exc:
                yield SourceRecord(str(number), text.rstrip("\n"), problem=f"not valid JSON ({exc.msg})")
                continue
            yield _json_record(str(number), item)


def _json_record(where: str, item: Any) -> SourceRecord:
    if not isinstance(item, dict):
        return SourceRecord(where, item, problem="not a JSON object")
    return SourceRecord(where, item, listing=item)


def grant_records(path: Path, mapping: CsvMapping | None = None) -> Iterator[SourceRecord]:
    """One record per recipient of a 360Giving file; `where` lists the grants' lines."""
    for places, grants in threesixtygiving.group_by_recipient(threesixtygiving.read_grants(path)):
        where = ",".join(places)
        try:
            yield SourceRecord(where, grants, listing=threesixtygiving.record(grants))
        except Skipped as skipped:
            yield SourceRecord(where, grants, skipped=skipped.reason)


ROW_FORMATS: dict[str, Callable[[CsvMapping | None], Callable[[Row], RawListing]]] = {
    "csv": lambda mapping: (mapping or own_schema_mapping()).to_listing,
    "coopsuk": lambda _: coopsuk.record,
    "workerscoop": lambda _: workerscoop.record,
    "ukcat": lambda _: ukcat.record,
    "ccni": lambda _: ccni.record,
}
"""The formats whose records are single CSV rows: a row they dead-letter can be converted again
on replay (with the mapping as it is then)."""


FORMATS: dict[str, Reader] = {
    "jsonl": jsonl_records,
    "csv": lambda path, mapping: mapped_csv(path, (mapping or own_schema_mapping()).to_listing),
    "coopsuk": lambda path, _: mapped_csv(path, coopsuk.record),
    "workerscoop": lambda path, _: mapped_csv(path, workerscoop.record),
    "ukcat": lambda path, _: mapped_csv(path, ukcat.record),
    "ccni": lambda path, _: mapped_csv(path, ccni.record, ccni.ENCODING),
    "360giving": grant_records,
    "ccew": lambda path, _: mapped_rows(ccew.rows(path), ccew.converter(path)),
    "oscr": lambda path, _: mapped_rows(oscr.rows(path), oscr.converter(path)),
    "companies-house": lambda path, _: mapped_rows(companies_house.rows(path), companies_house.converter(path)),
    "fca-mutuals": lambda path, _: mapped_rows(fca_mutuals.rows(path), fca_mutuals.converter(path)),
}
"""`load --format NAME`: the project's JSONL and CSV (or CSV with a steward's mapping file),
Co-operatives UK open data, the Workers.coop directory, UK-CAT classified charities, the Northern
Ireland charity register's export, 360Giving grant files, and the official registers' own downloads
(Charity Commission, OSCR, Companies House, FCA Mutuals Public Register)."""


def guess_format(path: Path) -> str:
    """The format a file's extension suggests, for `load` without `--format`."""
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"
