"""The ingest consumer: its own process (`python -m services.ingest.consumer`).

For each topic (listings, spend): poll a bounded batch, turn it into writes, check the share of
invalid records, write (bulk, with bounded retries), dead-letter what is invalid, and only then
commit. A crash at any point replays the uncommitted batch, and because writes are idempotent by
id and ordered by `updated_at`, a replay changes nothing that was already right.

With `INGEST_PREPARE_WORKER` (the default) a worker process (`prepare_worker`) plans and
de-duplicates the next batches (up to `INGEST_PREPARE_AHEAD`) while this process writes and
commits batch N; commits stay in log order.

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

from services.ingest.batch_runner import BatchRunner, IndexingStalled, PipelinedRunner, TopicRunner, with_retries
from services.ingest.config import IngestSettings
from services.ingest.dead_letter_counts import DeadLetterCounts
from services.ingest.dedupe import ClusterWrites, OrganisationRegistry
from services.ingest.geocode import GeoChain
from services.ingest.guard import InvalidShareExceeded
from services.ingest.metrics import ConsumerMetrics, serve_metrics
from services.ingest.pipeline import Rejection
from services.ingest.prepare_worker import PrepareWorker
from services.ingest.preparing import ListingPreparer, PreparedListings, geo_chain, settle_memory
from services.ingest.refusals import MAX_REASON, Refused, write_or_isolate
from services.ingest.settled import SettledMarkers, progress_topic, resolved_topic
from services.ingest.spend import link_all, plan_spend
from services.ingest.spend_relink import SpendRelinker
from services.ingest.supplier_link import DirectoryNames
from shared.errors import BackendUnavailable
from shared.events.dead_letter import rejected_record
from shared.events.factory import open_event_log
from shared.events.port import EventLog, Message, dead_letter_topic
from shared.logging_setup import configure_logging
from shared.models import SpendRecord
from shared.search.factory import open_search_index
from shared.search.port import BulkResult, Document, GenerationWriter, SearchIndex
from shared.spend_store import SpendStore, SupplierLink, open_spend_store

log = logging.getLogger("socialmatch.ingest.consumer")


class ClusterWriter:
    """Listings' second half: bulk-write a prepared batch's clusters to the index."""

    def __init__(self, index: GenerationWriter, events: EventLog, settings: IngestSettings,
                 metrics: ConsumerMetrics, registry: OrganisationRegistry,
                 on_refused: Callable[[list[Refused[Document]]], None] | None = None) -> None:
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

    def _write(self, writes: ClusterWrites) -> list[Refused[Document]]:
        """Deletes, then upserts with bounded retries; returns the documents the index refused.

        A document the index reports as failed is tried again a few times (the index may be
        shedding load); one whose write raises is refused for what it holds, and not retried.
        """
        if writes.deletes:
            deletes = writes.deletes
            with_retries(self.settings, lambda: _check(self.index.delete(deletes), "delete"), "index")
            self.metrics.indexed.inc(len(deletes))
        pending: dict[str, Document] = dict(writes.upserts)
        refused: list[Refused[Document]] = []
        failed: dict[str, str] = {}
        for attempt in range(self.settings.max_retries + 1):
            if not pending:
                break
            results, raised = write_or_isolate(list(pending.values()), self._bulk, "index")
            refused += raised
            failed = {doc_id: reason for result in results for doc_id, reason in result.failed}
            self.metrics.indexed.inc(sum(r.written for r in results))
            self.metrics.stale.inc(sum(r.stale for r in results))
            pending = {i: d for i, d in pending.items() if i in failed}
            if pending:
                log.warning("index refused %d documents (attempt %d), e.g. %s",
                            len(failed), attempt + 1, next(iter(failed.items())))
                if attempt < self.settings.max_retries:
                    time.sleep(self.settings.retry_base_s * 2**attempt)
        return refused + [Refused(doc, f"the index refused the document ({failed.get(i, '')})"[:MAX_REASON])
                          for i, doc in pending.items()]

    def _bulk(self, documents: Sequence[Document]) -> BulkResult:
        return with_retries(self.settings, partial(self.index.bulk_upsert, list(documents)), "index")

    def _dead_letter_refused(self, refused: list[Refused[Document]]) -> None:
        """A document the index refuses is a data problem: keep it as a dead letter, with why."""
        topic = dead_letter_topic(self.settings.topic(self.settings.listings_topic))
        letters = [(str(r.item.get("id")), rejected_record(r.item, r.reason, [{"field": "body", "message": r.reason}]))
                   for r in refused]
        with_retries(self.settings, lambda: self.events.publish(topic, letters), "event log")
        for r in refused:
            self.metrics.dead_letter(self.settings.listings_topic, r.reason)


class Indexer(ClusterWriter):
    """Listings, both halves in this process: prepare (plan, check the invalid share,
    de-duplicate), then write."""

    def __init__(self, index: GenerationWriter, events: EventLog, settings: IngestSettings, geo: GeoChain,
                 metrics: ConsumerMetrics, registry: OrganisationRegistry,
                 on_refused: Callable[[list[Refused[Document]]], None] | None = None) -> None:
        super().__init__(index, events, settings, metrics, registry, on_refused)
        self.preparer = ListingPreparer.configured(settings, registry, geo)

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
        """Link and store the batch; a record the linker or the store refuses is rejected alone."""
        plan = plan_spend(messages)
        linked, unlinkable = write_or_isolate(list(plan.records.values()), self._link, "directory lookup")
        pairs = [pair for batch in linked for pair in batch]
        _, unstorable = write_or_isolate(pairs, self._store, "spend store")
        refused = [(r.item, r.reason) for r in unlinkable] + [(r.item[0], r.reason) for r in unstorable]
        return plan.rejections + [Rejection(plan.origins[record.key], reason, [{"field": "body", "message": reason}])
                                  for record, reason in refused]

    def _link(self, records: Sequence[SpendRecord]) -> list[tuple[SpendRecord, SupplierLink]]:
        return with_retries(self.settings, lambda: link_all(records, self.registry, self.names), "index")

    def _store(self, pairs: Sequence[tuple[SpendRecord, SupplierLink]]) -> int:
        return with_retries(self.settings, lambda: self.store.upsert(pairs), "spend store")


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
    metrics = ConsumerMetrics(settings.stall_after_s)
    server = serve_metrics(metrics, settings.metrics_port) if settings.metrics_port else None
    index = open_search_index(settings.search_url, prefix=settings.index_prefix)
    events = open_event_log(settings.events_url, client_id="ingest-consumer")
    state = settings.state_location()
    registry = OrganisationRegistry(state, settings.dedupe_name_threshold, settings.dedupe_max_km)
    spend_store = open_spend_store(settings.spend_location())
    listings, spend = settings.topic(settings.listings_topic), settings.topic(settings.spend_topic)
    worker: PrepareWorker | None = None
    markers: SettledMarkers | None = None
    try:
        with_retries(settings, index.ensure_index, "index")
        events.ensure_topics([listings, dead_letter_topic(listings), spend, dead_letter_topic(spend),
                              progress_topic(listings), resolved_topic(listings)])
        markers = SettledMarkers(events, listings)
        spend_ingest = SpendIngest(spend_store, registry, settings, index)
        listings_group = settings.topic(settings.consumer_group)
        spend_group = settings.topic(settings.spend_consumer_group)
        listing_consumer = events.consumer(listings, listings_group)
        listing_runner: TopicRunner
        if settings.prepare_worker:
            worker = PrepareWorker(settings)
            writer = ClusterWriter(index, events, settings, metrics, registry)
            listing_runner = PipelinedRunner(listing_consumer, worker, writer.finish, events, settings, metrics,
                                             topic=settings.listings_topic, after_commit=markers.after_commit,
                                             ahead=settings.prepare_ahead)
        else:
            indexer = Indexer(index, events, settings, geo_chain(settings), metrics, registry)
            listing_runner = BatchRunner(listing_consumer, indexer.handle, events, settings, metrics,
                                         topic=settings.listings_topic, after_commit=markers.after_commit)
        spend_runner = BatchRunner(events.consumer(spend, spend_group), spend_ingest.handle, events, settings, metrics,
                                   report_lag=False, topic=settings.spend_topic)
        dead_letter_counts = DeadLetterCounts(events, metrics, {
            settings.listings_topic: dead_letter_topic(listings), settings.spend_topic: dead_letter_topic(spend)})
        relinker = SpendRelinker(spend_store, registry, spend_ingest.names, settings.relink_interval_s,
                                 on_relinked=metrics.spend_relinked.inc) if settings.relink_interval_s else None
        settle_memory()
        log.info("consuming %s and %s", listings, spend)
        while not stopping:
            dead_letter_counts.tick()
            busy = listing_runner.run_batch() > 0
            spend_runner.run_batch(timeout_s=0.0)  # listings wait for a full batch; spend is only checked
            if relinker is not None:
                if busy:
                    relinker.listings_changed()
                with_retries(settings, partial(relinker.tick, busy), "index")
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
        if markers is not None:
            markers.close()
        events.close()
        index.close()
        registry.close()
        spend_store.close()
        if server is not None:
            server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
