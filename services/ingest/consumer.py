"""The ingest consumer: its own process (`python -m services.ingest.consumer`).

For each topic (listings, spend): poll a bounded batch, turn it into writes, check the share of
invalid records, write (bulk, with bounded retries), dead-letter what is invalid, and only then
commit. A crash at any point replays the uncommitted batch, and because writes are idempotent by
id and ordered by `updated_at`, a replay changes nothing that was already right.

With `INGEST_PREPARE_WORKER` (the default) a worker process (`prepare_worker`) plans and
de-duplicates batch N+1 while this process writes and commits batch N; commits stay in log order.

Exit codes: 0 after SIGTERM/SIGINT (the batches in hand finished), 2 when the index stayed
unavailable through every retry, 3 when the invalid-share limit tripped, 4 when the worker process
died. None of 2, 3 and 4 commits the batches in hand.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from types import FrameType
from typing import Protocol, TypeVar

from services.ingest.config import IngestSettings
from services.ingest.dedupe import ClusterWrites, OrganisationRegistry
from services.ingest.geocode import GeoChain
from services.ingest.guard import InvalidShareExceeded, InvalidShareGuard
from services.ingest.metrics import ConsumerMetrics, serve_metrics
from services.ingest.pipeline import Rejection
from services.ingest.prepare_worker import PrepareWorker
from services.ingest.preparing import ListingPreparer, PreparedListings, geo_chain, settle_memory
from services.ingest.spend import link_all, plan_spend
from services.ingest.supplier_link import DirectoryNames
from shared.errors import BackendUnavailable
from shared.events.dead_letter import rejected_record, send_dead_letters
from shared.events.factory import open_event_log
from shared.events.port import Consumer, EventLog, Message, dead_letter_topic
from shared.logging_setup import configure_logging
from shared.search.factory import open_search_index
from shared.search.port import BulkResult, GenerationWriter, SearchIndex
from shared.spend_store import SpendStore, SqliteSpendStore

log = logging.getLogger("socialmatch.ingest.consumer")
T = TypeVar("T")


class IndexingStalled(RuntimeError):
    """A store stayed unavailable through every retry: stop without committing."""


def with_retries(settings: IngestSettings, action: Callable[[], T], what: str) -> T:
    """Run `action`, retrying BackendUnavailable with exponential back-off; then IndexingStalled."""
    for attempt in range(settings.max_retries + 1):
        try:
            return action()
        except BackendUnavailable as exc:
            log.warning("%s unavailable (attempt %d): %s", what, attempt + 1, exc)
            if attempt < settings.max_retries:
                time.sleep(settings.retry_base_s * 2**attempt)
    raise IndexingStalled(f"the {what} stayed unavailable; stopping without committing")


class BatchRunner:
    """Poll, handle, dead-letter, commit: the discipline every topic shares."""

    def __init__(self, consumer: Consumer, handle: Callable[[Sequence[Message]], list[Rejection]],
                 events: EventLog, settings: IngestSettings, metrics: ConsumerMetrics,
                 report_lag: bool = True) -> None:
        self.consumer, self.handle, self.events = consumer, handle, events
        self.settings, self.metrics, self.report_lag = settings, metrics, report_lag

    def run_batch(self, timeout_s: float | None = None) -> int:
        """Process one batch end to end; returns how many records it held."""
        messages = self._poll(timeout_s)
        if messages:
            started = time.monotonic()
            self._settle(messages, self.handle(messages), started)
        return len(messages)

    def drain(self) -> None:
        """Finish what is in hand before stopping: nothing, since `run_batch` finishes its batch."""

    def _poll(self, timeout_s: float | None) -> list[Message]:
        timeout = self.settings.batch_timeout_s if timeout_s is None else timeout_s
        messages = self.consumer.poll(self.settings.batch_size, timeout)
        if messages:
            self.metrics.consumed.inc(len(messages))
        elif self.report_lag:  # a broker round trip on Kafka: only for the topic the gauge is about
            self.metrics.lag.set(self.consumer.lag())
        return messages

    def _settle(self, messages: Sequence[Message], rejections: list[Rejection], started: float) -> None:
        """Dead-letter the rejections, then commit: the batch's writes are already done."""
        if rejections:
            with_retries(self.settings, lambda: send_dead_letters(
                self.events, [(r.message, r.reason, r.errors) for r in rejections]), "event log")
            self.metrics.dead_lettered.inc(len(rejections))
        with_retries(self.settings, lambda: self.consumer.commit(messages), "event log")
        self.metrics.batch_seconds.observe(time.monotonic() - started)
        log.info("batch done", extra={"records": len(messages), "rejected": len(rejections)})


class Preparing(Protocol):
    def submit(self, messages: Sequence[Message]) -> PendingPrepared: ...


class PendingPrepared(Protocol):
    def result(self) -> PreparedListings: ...


class PipelinedRunner(BatchRunner):
    """Listings in two stages: `prepare` works on batch N+1 (in the worker process) while this
    process finishes batch N (index writes, dead letters, commit), so commits stay in order.

    With a batch in flight the next poll does not wait: when nothing more has arrived, the batch
    in flight is finished at once rather than after the batch timeout.
    """

    def __init__(self, consumer: Consumer, prepare: Preparing, finish: Callable[[PreparedListings], list[Rejection]],
                 events: EventLog, settings: IngestSettings, metrics: ConsumerMetrics) -> None:
        super().__init__(consumer, lambda messages: [], events, settings, metrics)
        self.prepare, self.finish = prepare, finish
        self._in_flight: tuple[Sequence[Message], PendingPrepared, float] | None = None

    def run_batch(self, timeout_s: float | None = None) -> int:
        """Hand the next batch to `prepare` and finish the one before; returns the records taken
        in or finished (0: idle)."""
        messages = self._poll(0.0 if self._in_flight else timeout_s)
        finished = len(self._in_flight[0]) if self._in_flight else 0
        ahead = (messages, self.prepare.submit(messages), time.monotonic()) if messages else None
        self.drain()
        self._in_flight = ahead
        return len(messages) + finished

    def drain(self) -> None:
        if self._in_flight is not None:
            messages, pending, started = self._in_flight
            self._in_flight = None
            self._settle(messages, self.finish(pending.result()), started)


class ClusterWriter:
    """Listings' second half: bulk-write a prepared batch's clusters to the index."""

    def __init__(self, index: GenerationWriter, events: EventLog, settings: IngestSettings,
                 metrics: ConsumerMetrics, registry: OrganisationRegistry,
                 on_refused: Callable[[dict[str, dict[str, object]]], None] | None = None) -> None:
        """`on_refused` takes the documents the index kept refusing (default: dead-letter them)."""
        self.index, self.events, self.settings = index, events, settings
        self.metrics, self.registry = metrics, registry
        self.on_refused = on_refused or self._dead_letter_refused

    def finish(self, prepared: PreparedListings) -> list[Rejection]:
        """Write a prepared batch to the index, then settle its dirty marks; returns its rejections."""
        writes = prepared.writes
        self.metrics.stale.inc(writes.stale)
        refused = self._write(writes)
        self.registry.done(writes)
        if refused:
            self.on_refused(refused)
        return prepared.rejections

    def _write(self, writes: ClusterWrites) -> dict[str, dict[str, object]]:
        """Deletes, then upserts with bounded retries; returns documents the index kept refusing."""
        if writes.deletes:
            deletes = writes.deletes
            with_retries(self.settings, lambda: _check(self.index.delete(deletes), "delete"), "index")
            self.metrics.indexed.inc(len(deletes))
        pending = dict(writes.upserts)
        for attempt in range(self.settings.max_retries + 1):
            if not pending:
                return {}
            result = with_retries(self.settings, partial(self.index.bulk_upsert, list(pending.values())), "index")
            self.metrics.indexed.inc(result.written)
            self.metrics.stale.inc(result.stale)
            failed = dict(result.failed)
            pending = {i: d for i, d in pending.items() if i in failed}
            if pending:
                log.warning("index refused %d documents (attempt %d), e.g. %s",
                            len(failed), attempt + 1, next(iter(failed.items())))
                if attempt < self.settings.max_retries:
                    time.sleep(self.settings.retry_base_s * 2**attempt)
        return pending

    def _dead_letter_refused(self, refused: dict[str, dict[str, object]]) -> None:
        """A document the index refuses every time is a data problem: keep it as a dead letter."""
        topic = dead_letter_topic(self.settings.topic(self.settings.listings_topic))
        self.events.publish(topic, [(doc_id, rejected_record(doc, "index refused the document"))
                                    for doc_id, doc in refused.items()])
        self.metrics.dead_lettered.inc(len(refused))


class Indexer(ClusterWriter):
    """Listings, both halves in this process: prepare (plan, check the invalid share,
    de-duplicate), then write."""

    def __init__(self, index: GenerationWriter, events: EventLog, settings: IngestSettings, geo: GeoChain,
                 metrics: ConsumerMetrics, registry: OrganisationRegistry,
                 on_refused: Callable[[dict[str, dict[str, object]]], None] | None = None) -> None:
        super().__init__(index, events, settings, metrics, registry, on_refused)
        self.preparer = ListingPreparer(geo, registry, InvalidShareGuard(settings.invalid_window,
                                                                         settings.max_invalid_share))

    def handle(self, messages: Sequence[Message]) -> list[Rejection]:
        return self.finish(self.preparer.prepare(messages))


def _check(result: BulkResult, action: str) -> None:
    if result.failed:
        raise BackendUnavailable(f"{action} failed for {len(result.failed)} documents: {result.failed[:3]}")


class SpendIngest:
    """Spend records: validate, link suppliers (id, registry number, then name in the directory), store by key."""

    def __init__(self, store: SpendStore, registry: OrganisationRegistry, settings: IngestSettings,
                 index: SearchIndex | None = None) -> None:
        self.store, self.registry, self.settings = store, registry, settings
        self.names = DirectoryNames(index) if index is not None else None

    def handle(self, messages: Sequence[Message]) -> list[Rejection]:
        valid, rejections = plan_spend(messages)
        pairs = with_retries(self.settings, lambda: link_all(valid.values(), self.registry, self.names), "index")
        with_retries(self.settings, lambda: self.store.upsert(pairs), "spend store")
        return rejections


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
    state = settings.resolved_state_path()
    registry = OrganisationRegistry(state, settings.dedupe_name_threshold, settings.dedupe_max_km)
    spend_store = SqliteSpendStore(settings.spend_path())
    listings, spend = settings.topic(settings.listings_topic), settings.topic(settings.spend_topic)
    worker: PrepareWorker | None = None
    try:
        with_retries(settings, index.ensure_index, "index")
        events.ensure_topics([listings, dead_letter_topic(listings), spend, dead_letter_topic(spend)])
        spend_ingest = SpendIngest(spend_store, registry, settings, index)
        listings_group = settings.topic(settings.consumer_group)
        spend_group = settings.topic(settings.spend_consumer_group)
        listing_consumer = events.consumer(listings, listings_group)
        listing_runner: BatchRunner
        if settings.prepare_worker:
            worker = PrepareWorker(settings)
            writer = ClusterWriter(index, events, settings, metrics, registry)
            listing_runner = PipelinedRunner(listing_consumer, worker, writer.finish, events, settings, metrics)
        else:
            indexer = Indexer(index, events, settings, geo_chain(settings), metrics, registry)
            listing_runner = BatchRunner(listing_consumer, indexer.handle, events, settings, metrics)
        spend_runner = BatchRunner(events.consumer(spend, spend_group), spend_ingest.handle, events, settings, metrics,
                                   report_lag=False)
        settle_memory()
        log.info("consuming %s and %s", listings, spend)
        while not stopping:
            listing_runner.run_batch()
            spend_runner.run_batch(timeout_s=0.0)  # listings wait for a full batch; spend is only checked
        listing_runner.drain()
        listing_runner.consumer.close()
        spend_runner.consumer.close()
        return 0
    except IndexingStalled as exc:
        log.error("%s", exc)
        return 2
    except InvalidShareExceeded as exc:
        log.critical("invalid-share limit tripped: %s", exc)
        return 3
    except BrokenProcessPool as exc:
        log.critical("the prepare worker process died: %s", exc)
        return 4
    finally:
        if worker is not None:
            worker.close()
        events.close()
        index.close()
        registry.close()
        spend_store.close()
        if server is not None:
            server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
