"""The indexing consumer: its own process (`python -m services.ingest.consumer`).

Poll a bounded batch, turn it into index writes, bulk-write, dead-letter what is invalid, and
only then commit. A crash at any point replays the uncommitted batch, and because writes are
idempotent by id and ordered by `updated_at`, a replay changes nothing that was already right.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from types import FrameType

from shared.errors import BackendUnavailable
from shared.events.dead_letter import send_to_dead_letter
from shared.events.factory import open_event_log
from shared.events.port import Consumer, EventLog
from shared.geo import Gazetteer, default_gazetteer
from shared.logging_setup import configure_logging
from shared.search.factory import open_search_index
from shared.search.port import BulkResult, SearchIndex
from services.ingest.config import IngestSettings
from services.ingest.metrics import ConsumerMetrics, serve_metrics
from services.ingest.pipeline import BatchPlan, plan_batch

log = logging.getLogger("socialmatch.ingest.consumer")


class IndexingStalled(RuntimeError):
    """The index stayed unavailable through every retry: stop without committing."""


class Indexer:
    def __init__(
        self,
        index: SearchIndex,
        events: EventLog,
        settings: IngestSettings,
        gazetteer: Gazetteer,
        metrics: ConsumerMetrics,
    ) -> None:
        self.index, self.events, self.settings = index, events, settings
        self.gazetteer, self.metrics = gazetteer, metrics

    def run_batch(self, consumer: Consumer) -> int:
        """Process one batch end to end; returns how many records it held."""
        messages = consumer.poll(self.settings.batch_size, self.settings.batch_timeout_s)
        if not messages:
            self.metrics.lag.set(consumer.lag())
            return 0
        started = time.monotonic()
        self.metrics.consumed.inc(len(messages))
        plan = plan_batch(messages, self.gazetteer)
        self._write(plan)
        for rejection in plan.rejections:
            send_to_dead_letter(self.events, rejection.message, rejection.reason, rejection.errors)
        self.metrics.dead_lettered.inc(len(plan.rejections))
        consumer.commit(messages)
        self.metrics.batch_seconds.observe(time.monotonic() - started)
        self.metrics.lag.set(consumer.lag())
        log.info("batch indexed", extra={"records": len(messages), "upserts": len(plan.upserts),
                                          "deletes": len(plan.deletes), "rejected": len(plan.rejections)})
        return len(messages)

    def _write(self, plan: BatchPlan) -> None:
        """Bulk-write with bounded retries; items the index keeps refusing become dead letters."""
        pending: dict[str, dict[str, object]] = {i: listing.index_document() for i, listing in plan.upserts.items()}
        deletes = sorted(plan.deletes)
        unavailable = False
        for attempt in range(self.settings.max_retries + 1):
            try:
                if deletes:
                    self._check(self.index.delete(deletes), "delete")
                    self.metrics.indexed.inc(len(deletes))
                    deletes = []
                if not pending:
                    return
                result = self.index.bulk_upsert(list(pending.values()))
            except BackendUnavailable as exc:
                unavailable = True
                log.warning("index unavailable (attempt %d): %s", attempt + 1, exc)
            else:
                unavailable = False
                self.metrics.indexed.inc(result.written)
                self.metrics.stale.inc(result.stale)
                failed = dict(result.failed)
                pending = {i: d for i, d in pending.items() if i in failed}
                if not pending:
                    return
                log.warning("index refused %d documents (attempt %d), e.g. %s",
                            len(failed), attempt + 1, next(iter(failed.items())))
            if attempt < self.settings.max_retries:
                time.sleep(self.settings.retry_base_s * 2**attempt)
        if unavailable:
            raise IndexingStalled("the index stayed unavailable; stopping without committing")
        self._dead_letter_refused(plan, pending)

    def _check(self, result: BulkResult, action: str) -> None:
        if result.failed:
            raise BackendUnavailable(f"{action} failed for {len(result.failed)} documents: {result.failed[:3]}")

    def _dead_letter_refused(self, plan: BatchPlan, refused: dict[str, dict[str, object]]) -> None:
        """A document the index refuses every time is a data problem: keep it as a dead letter."""
        for listing_id in refused:
            send_to_dead_letter(self.events, plan.origins[listing_id], "index refused the document")
        self.metrics.dead_lettered.inc(len(refused))


def main() -> int:
    settings = IngestSettings()
    configure_logging(settings.log_format, settings.log_level)
    stopping = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        log.info("signal %d: finishing the current batch, then stopping", signum)
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    metrics = ConsumerMetrics()
    server = serve_metrics(metrics, settings.metrics_port) if settings.metrics_port else None
    index = open_search_index(settings.search_url, prefix=settings.index_prefix)
    events = open_event_log(settings.events_url, client_id="ingest-consumer")
    topic = settings.topic(settings.listings_topic)
    try:
        index.ensure_index()
        events.ensure_topics([topic])
        consumer = events.consumer(topic, settings.consumer_group)
        indexer = Indexer(index, events, settings, default_gazetteer(), metrics)
        log.info("consuming %s as group %s", topic, settings.consumer_group)
        while not stopping:
            indexer.run_batch(consumer)
        consumer.close()
        return 0
    except IndexingStalled as exc:
        log.error("%s", exc)
        return 2
    finally:
        events.close()
        index.close()
        if server is not None:
            server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
