"""Loading a file: read it in its format, publish listings, dead-letter unreadable rows, count.

The CLI's `load` is a thin shell around `load_file`, so the counting and provenance rules are
tested without a terminal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic_core import to_jsonable_python

from services.ingest.publishing import chunked, publish_listings
from services.ingest.sources.formats import FORMATS, SourceRecord
from services.ingest.sources.mapping import CsvMapping
from shared.events.dead_letter import rejected_record
from shared.events.envelope import with_provenance
from shared.events.port import EventLog, dead_letter_topic


@dataclass
class LoadSummary:
    read: int = 0
    published: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        """The summary a steward reads at the end of a load."""
        out = [f"read {self.read}, published {self.published}, skipped {self.skipped.total()},"
               f" rejected {self.rejected.total()}"]
        out += [f"  skipped {n}: {reason}" for reason, n in self.skipped.most_common()]
        out += [f"  rejected {n}: {reason}" for reason, n in self.rejected.most_common()]
        if self.published:
            out.append("the consumer validates published records too: see `dead-letters list` for its rejects")
        return out


def load_file(
    events: EventLog,
    topic: str,
    path: Path,
    fmt: str,
    mapping: CsvMapping | None = None,
    batch: int = 500,
    progress: Callable[[int], Any] = lambda n: None,
) -> LoadSummary:
    """Publish every listing in `path` with its file and line; unreadable rows go to the DLQ."""
    summary = LoadSummary()
    for chunk in chunked(FORMATS[fmt](path, mapping), batch):
        listings, rejects = _sort(chunk, path.name, fmt, summary)
        if listings:
            summary.published += publish_listings(events, topic, listings)
        if rejects:
            events.publish(dead_letter_topic(topic), rejects)
        progress(len(chunk))
    return summary


def _sort(chunk: Iterable[SourceRecord], file: str, fmt: str, summary: LoadSummary
          ) -> tuple[list[dict[str, Any]], list[tuple[str | None, dict[str, Any]]]]:
    listings: list[dict[str, Any]] = []
    rejects: list[tuple[str | None, dict[str, Any]]] = []
    for record in chunk:
        summary.read += 1
        provenance = {"file": file, "line": record.where, "format": fmt}
        if record.skipped:
            summary.skipped[record.skipped] += 1
        elif record.problem or record.listing is None:
            reason = record.problem or "no listing"
            summary.rejected[reason.split(":")[0]] += 1
            rejects.append((None, rejected_record(to_jsonable_python(record.raw), reason, (), provenance)))
        else:
            listings.append(with_provenance(to_jsonable_python(record.listing), provenance))
    return listings, rejects
