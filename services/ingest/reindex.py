"""Zero-downtime reindex: rebuild the listings index from the event log, then switch to it.

`python -m services.ingest.cli reindex` runs `reindex`:

1. Take the index's rebuild lock; a second rebuild is refused (`RebuildInProgress`) until the
   first ends or its holder dies.
2. Drop orphans: generations that are not live. Under the lock nothing else is being built, so
   these are what a rebuild that died half-way left behind (`reindex --cleanup` does only this).
3. Build an empty generation beside the live one. Readers keep using the live one throughout.
4. Replay the listings topic from its first record, without a consumer group, through the
   consumer's own code (`Indexer`: validation, normalisation, geocoding, de-duplication with a
   fresh cluster state that carries the stewards' decisions, bulk writes), up to the end offsets
   seen at the start; then catch up to the end offsets seen now, until a pass finds less than a
   batch. So the new generation holds what the consumer would have built from the same log.
   Invalid records are counted, not dead-lettered again (the consumer did that when they arrived).
5. Switch, then drop the replaced generation. If anything fails before the switch, the new
   generation is dropped and the live one is untouched; a process killed outright leaves an
   orphan for step 2.

What happens to records that arrive while it runs: the live consumer keeps indexing them into the
live generation (so searches stay current) until the switch, and into the new one after it.

- Embedded: the last catch-up runs inside the write transaction that switches. A consumer write
  that committed before it was published before it, so the catch-up read it; every later write
  lands in the new generation. Nothing is lost, exactly.
- Elasticsearch cannot hold writers off, so after the alias swap the rebuild reads once more up
  to the end offsets seen then: whatever the consumer wrote to the old index in between is
  written again to the new one. Upserts are safe in any order (external versions: an older
  `updated_at` never overwrites a newer one). The one residual race is a delete replayed after
  the consumer indexed a re-creation of the same id published in the moment of the swap; that
  listing is missing until its next update.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from services.ingest.config import IngestSettings
from services.ingest.consumer import Indexer
from services.ingest.dedupe import OrganisationRegistry
from services.ingest.metrics import ConsumerMetrics
from services.ingest.preparing import geo_chain
from services.ingest.refusals import Refused
from shared.events.port import EventLog, LogReader, caught_up
from shared.search.port import Document, GenerationWriter, SearchIndex

# How long one poll of the log waits when a partition has nothing ready yet.
POLL_TIMEOUT_S = 1.0
# Between the switch and dropping the replaced generation: a search that resolved the alias just
# before the swap (Elasticsearch) finishes on the old index instead of finding it deleted.
SWITCH_GRACE_S = 1.0


@dataclass
class ReindexSummary:
    generation: str = ""
    replaced: str = ""
    orphans: list[str] = field(default_factory=list)
    records: int = 0
    rejected: int = 0
    refused: int = 0
    documents: int = 0

    def lines(self) -> list[str]:
        out = [f"rebuilt {self.generation} from {self.records} records: {self.documents} documents"
               f" (replaced {self.replaced or 'nothing'})"]  # fmt: skip
        if self.rejected:
            out.append(f"  {self.rejected} records were invalid (dead-lettered when they first arrived)")
        if self.refused:
            out.append(f"  {self.refused} documents were refused by the index")
        if self.orphans:
            out.append(f"  dropped orphan generations: {', '.join(self.orphans)}")
        return out


def holder() -> str:
    return f"reindex on {socket.gethostname()} pid {os.getpid()}"


def cleanup(index: SearchIndex) -> list[str]:
    """Drop every generation that is not live (under the rebuild lock); returns their names."""
    with index.rebuild_lock(holder()):
        return _drop_orphans(index)


def _drop_orphans(index: SearchIndex) -> list[str]:
    live = index.generation
    orphans = [g for g in index.generations() if g != live]
    index.drop_generations(orphans)
    return orphans


def reindex(
    index: SearchIndex,
    events: EventLog,
    settings: IngestSettings,
    progress: Callable[[int], Any] = lambda n: None,
    on_total: Callable[[int], Any] = lambda n: None,
) -> ReindexSummary:
    """Rebuild `index` from the listings topic and switch to it; see the module docstring."""
    with index.rebuild_lock(holder()):
        summary = ReindexSummary(orphans=_drop_orphans(index), replaced=index.generation)
        writer = index.build_generation()
        summary.generation = writer.generation
        try:
            _fill_and_switch(index, writer, events, settings, summary, progress, on_total)
        except BaseException:
            if index.generation != writer.generation:
                index.drop_generations([writer.generation])
            raise
        finally:
            writer.close()
        time.sleep(SWITCH_GRACE_S)
        if summary.replaced != writer.generation:
            index.drop_generations([summary.replaced])
        index.refresh()
        summary.documents = index.count()
        return summary


def _fill_and_switch(
    index: SearchIndex, writer: GenerationWriter, events: EventLog, settings: IngestSettings, summary: ReindexSummary,
    progress: Callable[[int], Any], on_total: Callable[[int], Any],
) -> None:  # fmt: skip
    with TemporaryDirectory(prefix="reindex-") as scratch:
        registry = _fresh_registry(settings, Path(scratch) / "clusters.db")
        reader = events.read_from_start(settings.topic(settings.listings_topic))
        indexer = _indexer(writer, events, settings, registry, summary)
        try:
            replay = _Replay(reader, indexer, settings, summary, progress)
            targets = reader.end_offsets()
            on_total(sum(targets.values()))
            replay.until(targets)
            while replay.until(reader.end_offsets()) >= settings.batch_size:
                pass

            def finish() -> None:
                replay.until(reader.end_offsets())
                writer.refresh()  # Elasticsearch: searchable the moment the alias moves

            if not index.switch_to(writer.generation, finish):
                replay.until(reader.end_offsets())
        finally:
            reader.close()
            registry.close()


def _fresh_registry(settings: IngestSettings, path: Path) -> OrganisationRegistry:
    """Empty cluster state with the stewards' decisions copied from the consumer's."""
    registry = OrganisationRegistry(path, settings.dedupe_name_threshold, settings.dedupe_max_km)
    live = OrganisationRegistry(settings.state_location())
    try:
        for a, b, decision, decided_at in live.decisions():
            registry.decide(a, b, decision, decided_at)  # type: ignore[arg-type]
    finally:
        live.close()
    return registry


def _indexer(
    writer: GenerationWriter, events: EventLog, settings: IngestSettings, registry: OrganisationRegistry,
    summary: ReindexSummary,
) -> Indexer:  # fmt: skip
    def count_refused(refused: list[Refused[Document]]) -> None:
        summary.refused += len(refused)

    return Indexer(writer, events, settings, geo_chain(settings), ConsumerMetrics(), registry, count_refused)


class _Replay:
    """Feeds the log to the indexer batch by batch, from wherever the reader stands."""

    def __init__(self, reader: LogReader, indexer: Indexer, settings: IngestSettings, summary: ReindexSummary,
                 progress: Callable[[int], Any]) -> None:  # fmt: skip
        self.reader, self.indexer, self.settings = reader, indexer, settings
        self.summary, self.progress = summary, progress

    def until(self, targets: dict[int, int]) -> int:
        """Index every record below `targets` (per partition); returns how many were read."""
        read = 0
        while not caught_up(self.reader, targets):
            messages = self.reader.poll(self.settings.batch_size, POLL_TIMEOUT_S)
            if not messages:
                continue
            self.summary.rejected += len(self.indexer.handle(messages))
            self.summary.records += len(messages)
            read += len(messages)
            self.progress(len(messages))
        return read
