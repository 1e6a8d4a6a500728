"""Zero-downtime reindex on every backend: generations, the rebuild lock, orphans, and a rebuild
from the event log while searches and the live consumer keep running (services/ingest/reindex.py)."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.ingest import reindex as reindexing
from services.ingest.batch_runner import BatchRunner
from services.ingest.config import IngestSettings
from services.ingest.consumer import Indexer
from services.ingest.dedupe import OrganisationRegistry
from services.ingest.geocode import default_chain
from services.ingest.metrics import ConsumerMetrics
from services.ingest.publishing import publish_listings, publish_tombstone
from shared.events.port import EventLog, dead_letter_topic
from shared.search.factory import open_search_index
from shared.search.port import RebuildInProgress, SearchIndex, SearchQuery
from tests.contract.conftest import BackendUrls
from tests.factories import directory

LISTINGS = 240
# Long enough for a consumer group to join on noida's Kafka; the loops end as soon as they can.
DEADLINE_S = 20.0


@pytest.fixture(autouse=True)
def _no_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests drop the replaced generation at once (the grace protects searches in flight)."""
    monkeypatch.setattr(reindexing, "SWITCH_GRACE_S", 0.0)


@pytest.fixture
def settings(backend: BackendUrls, unique: str, tmp_path: Path) -> IngestSettings:
    return IngestSettings(
        search_url=backend.search_url, events_url=backend.events_url, index_prefix=unique, topic_prefix=unique,
        state_url=str(tmp_path / "state.db"), batch_size=50, batch_timeout_s=0.2, retry_base_s=0.05,
    )  # fmt: skip


@pytest.fixture
def topic(settings: IngestSettings, events: EventLog) -> str:
    name = settings.topic(settings.listings_topic)
    events.ensure_topics([name, dead_letter_topic(name)])
    return name


def raw(n: int, minutes: int = 0, **fields: Any) -> dict[str, Any]:
    return {"id": f"r:{n:04d}", "name": f"Kitchen {n}", "source": "test", "description": "shared kitchen",
            "postcode": "LS1 1UN", "updated_at": f"2025-01-01T00:{minutes:02d}:00Z", **fields}  # fmt: skip


class LiveConsumer:
    """The ingest consumer's batch loop (its own group), run in the test's thread or a background one."""

    def __init__(self, settings: IngestSettings, events: EventLog, index: SearchIndex, topic: str) -> None:
        self.registry = OrganisationRegistry(settings.state_location())
        indexer = Indexer(index, events, settings, default_chain(), ConsumerMetrics(), self.registry)
        consumer = events.consumer(topic, settings.topic(settings.consumer_group))
        self.runner = BatchRunner(consumer, indexer.handle, events, settings, ConsumerMetrics())
        self.stop = threading.Event()
        self.errors: list[BaseException] = []

    def until_lag_is_zero(self) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            if self.runner.run_batch() == 0 and self.runner.consumer.lag() == 0:
                return
        raise AssertionError("the consumer did not catch up")

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.runner.run_batch()
        except BaseException as exc:  # reported by the test's thread
            self.errors.append(exc)

    def close(self) -> None:
        self.runner.consumer.close()
        self.registry.close()


@pytest.fixture
def consumer(settings: IngestSettings, events: EventLog, index: SearchIndex, topic: str) -> Iterator[LiveConsumer]:
    live = LiveConsumer(settings, events, index, topic)
    yield live
    live.close()


def everything(index: SearchIndex) -> dict[str, dict[str, Any]]:
    return {hit.id: hit.document for hit in index.scan(SearchQuery(sort="name"))}


# -- generations -------------------------------------------------------------------------------


def test_a_new_generation_is_invisible_until_the_switch(index: SearchIndex, backend: BackendUrls, unique: str) -> None:
    index.bulk_upsert(directory())
    index.refresh()
    other = open_search_index(backend.search_url, prefix=unique)  # as another process would see it
    assert other.search(SearchQuery(text="cleaning")).total == 3
    old = index.generation
    writer = index.build_generation()
    writer.bulk_upsert(directory()[:2])
    writer.refresh()
    assert writer.count() == 2 and index.count() == 6 and other.count() == 6
    assert set(index.generations()) == {old, writer.generation}
    index.switch_to(writer.generation)
    assert index.generation == other.generation == writer.generation
    assert index.count() == 2 and index.get("t:clean-leeds") is not None and index.get("t:nowhere") is None
    assert other.search(SearchQuery(text="cleaning")).total == 2
    other.close()
    index.bulk_upsert(directory()[5:])  # writers follow the switch too
    index.refresh()
    assert index.count() == 3 and writer.count() == 3
    index.drop_generations([old])
    assert index.generations() == [writer.generation]
    writer.close()


def test_the_live_generation_cannot_be_dropped(index: SearchIndex) -> None:
    with pytest.raises(ValueError, match="live"):
        index.drop_generations([index.generation])
    assert index.ping()


def test_the_rebuild_lock_is_exclusive_and_released(index: SearchIndex) -> None:
    with index.rebuild_lock("first"), pytest.raises(RebuildInProgress, match="first"), index.rebuild_lock("second"):
        pass
    with index.rebuild_lock("third"):
        pass


def _hold_lock_then_die(search_url: str, prefix: str, ready: Any) -> None:
    index = open_search_index(search_url, prefix=prefix)
    with index.rebuild_lock("doomed"):
        ready.set()
        time.sleep(60)  # killed long before


def test_a_dead_holders_lock_is_free_again(backend: BackendUrls, index: SearchIndex, unique: str) -> None:
    if backend.name == "elastic":
        from shared.search.elastic_lease import Lease

        # A holder that died stops renewing: a short lease shows the expiry rule without waiting a minute.
        client = index._client  # type: ignore[attr-defined]  # private: the lease document's own index
        Lease(client, f"{unique}listings-rebuild-lock", "doomed", lease_s=0.2)._acquire()
        with pytest.raises(RebuildInProgress, match="doomed"), index.rebuild_lock("too early"):
            pass
        time.sleep(0.3)
    else:
        context = multiprocessing.get_context("spawn")
        ready = context.Event()
        holder = context.Process(target=_hold_lock_then_die, args=(backend.search_url, unique, ready))
        holder.start()
        assert ready.wait(DEADLINE_S)
        with pytest.raises(RebuildInProgress, match="doomed"), index.rebuild_lock("too early"):
            pass
        holder.kill()
        holder.join()
    with index.rebuild_lock("successor"):
        pass


# -- rebuilds ----------------------------------------------------------------------------------


def test_a_rebuild_equals_what_the_consumer_built(
    settings: IngestSettings, events: EventLog, index: SearchIndex, topic: str, consumer: LiveConsumer
) -> None:
    publish_listings(events, topic, [raw(n) for n in range(LISTINGS)])
    publish_listings(events, topic, [raw(n, minutes=5, description="new kitchen") for n in range(0, LISTINGS, 3)])
    publish_listings(events, topic, [raw(1, minutes=1, description="stale")])  # older than what is indexed
    publish_listings(events, topic, [{"id": "r:bad", "name": "", "source": "test"}])  # invalid
    publish_tombstone(events, topic, "r:0002")
    consumer.until_lag_is_zero()
    index.refresh()
    before = everything(index)
    assert len(before) == LISTINGS - 1 and before["r:0003"]["description"] == "new kitchen"

    summary = reindexing.reindex(index, events, settings)

    assert summary.generation == index.generation != summary.replaced
    assert index.generations() == [summary.generation]
    assert summary.records == LISTINGS + LISTINGS // 3 + 3 and summary.rejected == 1
    assert summary.documents == LISTINGS - 1
    assert everything(index) == before


def test_searches_answer_in_full_throughout_a_rebuild(
    settings: IngestSettings, events: EventLog, index: SearchIndex, topic: str, consumer: LiveConsumer
) -> None:
    publish_listings(events, topic, [raw(n) for n in range(LISTINGS)])
    consumer.until_lag_is_zero()
    index.refresh()
    stop, answers, failures = threading.Event(), [], []

    def search_continuously() -> None:
        while not stop.is_set():
            try:
                result = index.search(SearchQuery(text="kitchen", limit=10, facets=["source"]))
                answers.append((result.total, len(result.hits)))
            except Exception as exc:  # noqa: BLE001 - every failure is the test's finding
                failures.append(exc)

    searcher = threading.Thread(target=search_continuously)
    searcher.start()
    try:
        summary = reindexing.reindex(index, events, settings)
        during = len(answers)
        deadline = time.monotonic() + DEADLINE_S
        while len(answers) < during + 5 and time.monotonic() < deadline:  # and on after the switch
            time.sleep(0.01)
    finally:
        stop.set()
        searcher.join()
    assert failures == []
    assert answers and set(answers) == {(LISTINGS, 10)}
    assert summary.documents == LISTINGS and index.generation == summary.generation


def test_records_published_during_a_rebuild_are_not_lost(
    settings: IngestSettings, events: EventLog, index: SearchIndex, topic: str, consumer: LiveConsumer
) -> None:
    publish_listings(events, topic, [raw(n) for n in range(LISTINGS)])
    consumer.until_lag_is_zero()
    background = threading.Thread(target=consumer.run)
    background.start()
    starts = iter(range(LISTINGS, LISTINGS + 100, 10))
    published: list[int] = []

    def publish_more(_: int) -> None:  # while the rebuild reads, new listings, updates and deletes arrive
        start = next(starts, None)
        if start is not None:
            publish_listings(events, topic, [raw(n) for n in range(start, start + 10)])
            publish_listings(events, topic, [raw(start - LISTINGS, minutes=9, description="updated")])
            publish_tombstone(events, topic, f"r:{start - LISTINGS + 1:04d}")
            published.append(start - LISTINGS)

    try:
        reindexing.reindex(index, events, settings, progress=publish_more)
        time.sleep(0.5)
    finally:
        consumer.stop.set()
        background.join()
    assert consumer.errors == []
    consumer.until_lag_is_zero()
    index.refresh()
    found = everything(index)
    assert len(published) >= 5  # during the first pass, the catch-up and the switch
    assert len(found) == LISTINGS + 10 * len(published) - len(published)
    assert all(found[f"r:{n:04d}"]["description"] == "updated" for n in published)
    assert not any(f"r:{n + 1:04d}" in found for n in published)


def test_a_second_concurrent_rebuild_is_refused(
    settings: IngestSettings, events: EventLog, index: SearchIndex, topic: str
) -> None:
    publish_listings(events, topic, [raw(n) for n in range(LISTINGS)])
    started, release, outcome = threading.Event(), threading.Event(), []

    def first_rebuild() -> None:
        def pause(_: int) -> None:
            started.set()
            release.wait(DEADLINE_S)

        outcome.append(reindexing.reindex(index, events, settings, progress=pause))

    first = threading.Thread(target=first_rebuild)
    first.start()
    try:
        assert started.wait(DEADLINE_S)
        with pytest.raises(RebuildInProgress, match="already running"):
            reindexing.reindex(index, events, settings)
        with pytest.raises(RebuildInProgress):
            reindexing.cleanup(index)
    finally:
        release.set()
        first.join()
    assert outcome and outcome[0].documents == LISTINGS


def test_the_orphan_of_a_rebuild_that_died_is_cleaned_up(
    settings: IngestSettings, events: EventLog, index: SearchIndex, topic: str
) -> None:
    live = index.generation
    orphan = index.build_generation()  # a rebuild that died half-way: filled, never switched to
    orphan.bulk_upsert(directory())
    orphan.close()
    assert set(index.generations()) == {live, orphan.generation}
    assert reindexing.cleanup(index) == [orphan.generation]
    assert index.generations() == [live]

    second = index.build_generation()
    second.close()
    publish_listings(events, topic, [raw(n) for n in range(10)])
    summary = reindexing.reindex(index, events, settings)
    assert summary.orphans == [second.generation]
    assert index.generations() == [summary.generation] and index.count() == 10


def test_a_failed_rebuild_drops_its_generation_and_keeps_the_live_one(
    settings: IngestSettings, events: EventLog, index: SearchIndex, topic: str, consumer: LiveConsumer
) -> None:
    publish_listings(events, topic, [raw(n) for n in range(LISTINGS)])
    consumer.until_lag_is_zero()
    live = index.generation

    def fail(_: int) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        reindexing.reindex(index, events, settings, progress=fail)
    assert index.generations() == [live]
    index.refresh()
    assert index.count() == LISTINGS
