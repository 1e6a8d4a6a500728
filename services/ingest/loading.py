"""Loading a file: read it in its format, publish listings, dead-letter unreadable rows, count.

The CLI's `load` is a thin shell around `check_header`, `load_file`, `consumer_rejects` and
`dry_run`, so the counting and provenance rules are tested without a terminal.

A dry run goes through the same reading and mapping, then through the consumer's own check of
each record (`pipeline.check`: normalise, geocode with the consumer's chain, validate), and
publishes nothing; de-duplication is the one consumer step it leaves out (it needs the
registry's state, which a dry run must not change).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic_core import to_jsonable_python

from services.ingest.dead_letters import scan
from services.ingest.geocode import GeoChain
from services.ingest.pipeline import Rejection, check
from services.ingest.publishing import chunked, listing_records, publish_listings
from services.ingest.sources.formats import FORMATS, SourceRecord, csv_header
from services.ingest.sources.mapping import CsvMapping, own_schema_mapping
from shared.events.dead_letter import rejected_record
from shared.events.envelope import Provenance, with_provenance
from shared.events.port import EventLog, Message, dead_letter_topic
from shared.models import Listing


class NoMappedColumn(ValueError):
    """The mapping reads none of the file's columns: loading would publish nothing useful."""


@dataclass(frozen=True)
class HeaderCheck:
    """What a CSV's header says about the mapping, before any row is read."""

    missing: dict[str, tuple[str, ...]]  # field -> the columns it names, none of them in the header
    unmapped: list[str]  # the header's columns no field reads

    def lines(self) -> list[str]:
        out = [f"warning: column {' or '.join(map(repr, names))} (for {field_path}) is not in the file's header"
               for field_path, names in self.missing.items()]
        if self.unmapped:
            out.append(f"unmapped columns: {', '.join(self.unmapped)}")
        return out


def check_header(path: Path, fmt: str, mapping: CsvMapping | None) -> HeaderCheck | None:
    """The header check for a CSV read through a column mapping (None for other formats); raises
    NoMappedColumn when a steward's mapping finds none of its columns. The project's own CSV
    has a column per listing field, so its absent columns are no news: only unmapped ones are."""
    if fmt != "csv":
        return None
    header = csv_header(path)
    if mapping is None:
        return HeaderCheck({}, own_schema_mapping().unmapped_columns(header))
    missing = mapping.missing_columns(header)
    if missing and len(missing) == len(mapping.columns_read()):
        raise NoMappedColumn(f"none of the mapping's columns is in {path.name}'s header"
                             f" ({', '.join(header) or 'empty'}): is it the right file, or the right mapping?")
    return HeaderCheck(missing, mapping.unmapped_columns(header))


@dataclass
class LoadSummary:
    read: int = 0
    published: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    no_location: int = 0
    consumer_rejected: Counter[str] | None = None  # None until the consumer's outcome is known
    consumer_waited_s: float = 0.0
    file: str = ""
    load_id: str = ""  # in every record's provenance, so the consumer's rejects of this load can be found
    dry_run: bool = False
    spend: bool = False  # spend records' dead letters are listed with `dead-letters --spend`

    def lines(self) -> list[str]:
        """The summary a steward reads at the end of a load."""
        listing = f"`dead-letters{' --spend' if self.spend else ''} list --file {self.file}`"
        verb = "would publish" if self.dry_run else "published"
        out = [f"read {self.read}, {verb} {self.published}, skipped {self.skipped.total()},"
               f" rejected {self.rejected.total()}"]
        out += [f"  skipped {n}: {reason}" for reason, n in self.skipped.most_common()]
        out += [f"  rejected {n}: {reason}" for reason, n in self.rejected.most_common()]
        if self.no_location:
            out.append(f"warning: {self.no_location} rows have no postcode and no location: they are listed,"
                       " but no search near a place finds them")
        if not self.published:
            return out
        if self.consumer_rejected is not None:
            would = "would reject" if self.dry_run else "rejected"
            out.append(f"the consumer {would} {self.consumer_rejected.total()}"
                       + ("" if self.dry_run or not self.consumer_rejected else
                          f" (see {listing})"))
            out += [f"  rejected {n}: {reason}" for reason, n in self.consumer_rejected.most_common()]
        elif self.consumer_waited_s:
            out.append(f"the consumer had not processed this load after {self.consumer_waited_s:g}s (is it running?):"
                       f" its rejects are not known yet; see them later with {listing}")
        else:
            out.append(f"the consumer's rejects are not known yet: see them later with {listing}")
        return out


def load_file(
    events: EventLog,
    topic: str,
    path: Path,
    fmt: str,
    mapping: CsvMapping | None = None,
    batch: int = 500,
    progress: Callable[[int], Any] = lambda n: None,
    mapping_path: Path | None = None,
) -> LoadSummary:
    """Publish every listing in `path` with its file, line, format, mapping file and this load's
    id; unreadable rows go to the DLQ."""
    summary = LoadSummary(file=path.name, load_id=uuid.uuid4().hex[:12])
    base: Provenance = {"format": fmt, "load": summary.load_id}
    if mapping_path is not None:
        base["mapping"] = str(mapping_path.resolve())
    for chunk in chunked(FORMATS[fmt](path, mapping), batch):
        listings, rejects = _sort(chunk, path.name, base, summary)
        if listings:
            summary.published += publish_listings(events, topic, listings)
        if rejects:
            events.publish(dead_letter_topic(topic), rejects)
        progress(len(chunk))
    return summary


def end_offsets(events: EventLog, topic: str) -> dict[int, int]:
    """Per partition, where `topic` ends now: after a load, what the consumer must reach."""
    reader = events.read_from_start(topic)
    try:
        return reader.end_offsets()
    finally:
        reader.close()


def consumer_rejects(events: EventLog, topic: str, load_id: str, timeout_s: float = 1.0) -> Counter[str]:
    """The consumer's dead letters for records of load `load_id`, counted by reason (the loader's
    own rejects carry no log position and are counted by `load_file`)."""
    counts: Counter[str] = Counter()
    for message in scan(events, dead_letter_topic(topic), timeout_s):
        value = message.value or {}
        if value.get("source") and (value.get("provenance") or {}).get("load") == load_id:
            counts[str(value.get("reason"))] += 1
    return counts


@dataclass(frozen=True)
class RowReport:
    """One row of a dry run: what the loader and then the consumer would make of it."""

    where: str
    name: str  # the listing id, or its name, or "-"
    outcome: str  # "OK", "skipped: ...", "rejected: ..."
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"line {self.where}\t{self.name}\t{self.outcome}"]
        out += [f"    {error}" for error in self.errors]
        out += [f"    warning: {warning}" for warning in self.warnings]
        return out


def dry_run(path: Path, fmt: str, mapping: CsvMapping | None, geo: GeoChain, topic: str = "listings"
            ) -> Iterator[RowReport | LoadSummary]:
    """A report per row, then the summary a load would print; nothing is published."""
    would_reject: Counter[str] = Counter()
    summary = LoadSummary(file=path.name, dry_run=True, consumer_rejected=would_reject)
    for number, record in enumerate(FORMATS[fmt](path, mapping)):
        [listings, _] = _sort([record], path.name, {"format": fmt}, summary)
        if not listings:
            yield _unpublished(record)
            continue
        summary.published += 1
        [(key, value)] = listing_records(listings)
        checked = check(Message(topic, 0, number, key, value, 0), geo)
        name = str(record.listing.get("id") or record.listing.get("name") or "-") if record.listing else "-"
        if isinstance(checked, Rejection):
            would_reject[checked.reason] += 1
            yield RowReport(record.where, name, f"rejected: {checked.reason}",
                            [f"{e.get('field', '')}: {e.get('message', '')}" for e in checked.errors])
        else:
            yield RowReport(record.where, name, "OK", warnings=_placement_warnings(checked))
    yield summary


def _unpublished(record: SourceRecord) -> RowReport:
    if record.skipped:
        return RowReport(record.where, "-", f"skipped: {record.skipped}")
    return RowReport(record.where, "-", f"rejected: {record.problem or 'no listing'}")


def _placement_warnings(listing: Listing) -> list[str]:
    if listing.location is not None or listing.region:
        return []
    if listing.postcode:
        return [f"no location: postcode {listing.postcode} places nothing"]
    return ["no location: blank postcode (no search near a place finds it)"]


def _sort(chunk: Iterable[SourceRecord], file: str, base: Provenance, summary: LoadSummary
          ) -> tuple[list[dict[str, Any]], list[tuple[str | None, dict[str, Any]]]]:
    listings: list[dict[str, Any]] = []
    rejects: list[tuple[str | None, dict[str, Any]]] = []
    for record in chunk:
        summary.read += 1
        provenance = {"file": file, "line": record.where, **base}
        if record.skipped:
            summary.skipped[record.skipped] += 1
        elif record.problem or record.listing is None:
            reason = record.problem or "no listing"
            summary.rejected[reason.split(":")[0]] += 1
            rejects.append((None, rejected_record(to_jsonable_python(record.raw), reason, (), provenance)))
        else:
            if not _placed(record.listing):
                summary.no_location += 1
            listings.append(with_provenance(to_jsonable_python(record.listing), provenance))
    return listings, rejects


def _placed(listing: dict[str, Any]) -> bool:
    return bool(listing.get("postcode") or listing.get("location") or listing.get("region"))
