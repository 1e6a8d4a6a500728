"""The ingest consumer: its own process (`python -m services.ingest.consumer`).

For each topic (listings, spend): poll a bounded batch, turn it into writes, check the share of
invalid records, write (bulk, with bounded retries), dead-letter what is invalid, and only then
commit. A crash at any point replays the uncommitted batch, and because writes are idempotent by
id and ordered by `updated_at`, a replay changes nothing that was already right.

Exit codes: 0 after SIGTERM/SIGINT (the current batch finished), 2 when the index stayed
unavailable through every retry, 3 when the invalid-share limit tripped. Neither 2 nor 3 commits
the batch in hand.
"""

from __future__ import annotations

import gc
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TypeVar

from services.ingest.config import IngestSettings
from services.ingest.dedupe import ClusterWrites, OrganisationRegistry
from services.ingest.geocode import GeoChain, GeopyGeocoder, default_chain, load_postcode_table
from services.ingest.guard import InvalidShareExceeded, InvalidShareGuard
from services.ingest.metrics import ConsumerMetrics, serve_metrics
from services.ingest.pipeline import Rejection, plan_batch
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
        timeout = self.settings.batch_timeout_s if timeout_s is None else timeout_s
        messages = self.consumer.poll(self.settings.batch_size, timeout)
        if not messages:
            if self.report_lag:  # a broker round trip on Kafka: only for the topic the gauge is about
                self.metrics.lag.set(self.consumer.lag())
            return 0
        started = time.monotonic()
        self.metrics.consumed.inc(len(messages))
        rejections = self.handle(messages)
        if rejections:
            with_retries(self.settings, lambda: send_dead_letters(
                self.events, [(r.message, r.reason, r.errors) for r in rejections]), "event log")
            self.metrics.dead_lettered.inc(len(rejections))
        with_retries(self.settings, lambda: self.consumer.commit(messages), "event log")
        self.metrics.batch_seconds.observe(time.monotonic() - started)
        log.info("batch done", extra={"records": len(messages), "rejected": len(rejections)})
        return len(messages)


class Indexer:
    """Listings: plan, check the invalid share, de-duplicate, bulk-write the clusters."""

    def __init__(self, index: GenerationWriter, events: EventLog, settings: IngestSettings, geo: GeoChain,
                 metrics: ConsumerMetrics, registry: OrganisationRegistry,
                 on_refused: Callable[[dict[str, dict[str, object]]], None] | None = None) -> None:
        """`on_refused` takes the documents the index kept refusing (default: dead-letter them)."""
        self.index, self.events, self.settings = index, events, settings
        self.geo, self.metrics, self.registry = geo, metrics, registry
        self.guard = InvalidShareGuard(settings.invalid_window, settings.max_invalid_share)
        self.on_refused = on_refused or self._dead_letter_refused

    def handle(self, messages: Sequence[Message]) -> list[Rejection]:
        plan = plan_batch(messages, self.geo)
        self.guard.check(len(messages) - len(plan.rejections), len(plan.rejections))
        writes = self.registry.apply(plan.upserts.values(), plan.deletes)
        self.metrics.stale.inc(writes.stale)
        refused = self._write(writes)
        self.registry.done(writes.ids)
        if refused:
            self.on_refused(refused)
        return plan.rejections

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


def settle_memory() -> None:
    """Keep the cyclic garbage collector off what start-up loaded (CPV and postcode tables, the
    schema validators) and let it run less often: each batch makes tens of thousands of
    short-lived objects, and a full collection re-scanning every long-lived one cost a third of
    the consumer's time. Reference counting still frees everything that is not a cycle at once."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def geo_chain(settings: IngestSettings) -> GeoChain:
    """The configured chain: optional full-postcode table and geocoder on top of the centroids."""
    chain = default_chain()
    if settings.postcode_table:
        chain.postcodes = load_postcode_table(Path(settings.postcode_table))
    if settings.geocoder:
        chain.geocoder = GeopyGeocoder(settings.geocoder)
    return chain


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
    try:
        with_retries(settings, index.ensure_index, "index")
        events.ensure_topics([listings, dead_letter_topic(listings), spend, dead_letter_topic(spend)])
        indexer = Indexer(index, events, settings, geo_chain(settings), metrics, registry)
        spend_ingest = SpendIngest(spend_store, registry, settings, index)
        listings_group = settings.topic(settings.consumer_group)
        spend_group = settings.topic(settings.spend_consumer_group)
        listing_runner = BatchRunner(events.consumer(listings, listings_group), indexer.handle, events, settings,
                                     metrics)
        spend_runner = BatchRunner(events.consumer(spend, spend_group), spend_ingest.handle, events, settings, metrics,
                                   report_lag=False)
        settle_memory()
        log.info("consuming %s and %s", listings, spend)
        while not stopping:
            listing_runner.run_batch()
            spend_runner.run_batch(timeout_s=0.0)  # listings wait for a full batch; spend is only checked
        listing_runner.consumer.close()
        spend_runner.consumer.close()
        return 0
    except IndexingStalled as exc:
        log.error("%s", exc)
        return 2
    except InvalidShareExceeded as exc:
        log.critical("invalid-share limit tripped: %s", exc)
        return 3
    finally:
        events.close()
        index.close()
        registry.close()
        spend_store.close()
        if server is not None:
            server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
