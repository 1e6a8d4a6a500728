"""The consumer's batch discipline on the embedded backends: retries, no commit past a failed write,
the invalid-share limit, dead letters with provenance, and spend records. Listings run both ways:
inline, and pipelined with a real worker process preparing the next batch."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from services.ingest.batch_runner import BatchRunner, IndexingStalled, PipelinedRunner, TopicRunner
from services.ingest.config import IngestSettings
from services.ingest.consumer import ClusterWriter, Indexer, SpendIngest
from services.ingest.dedupe import OrganisationRegistry
from services.ingest.geocode import default_chain
from services.ingest.guard import InvalidShareExceeded
from services.ingest.metrics import ConsumerMetrics
from services.ingest.prepare_worker import PrepareWorker
from shared.errors import BackendUnavailable
from shared.events.embedded import EmbeddedEventLog
from shared.events.envelope import with_provenance
from shared.events.port import Rebalanced
from shared.search.factory import open_search_index
from shared.search.port import BulkResult, Document, SearchIndex
from shared.spend_store import open_spend_store


class FlakyIndex:
    """The real index behind a switch that makes every write raise BackendUnavailable."""

    def __init__(self, inner: SearchIndex) -> None:
        self.inner, self.down, self.attempts = inner, False, 0

    def bulk_upsert(self, documents: Sequence[Document]) -> BulkResult:
        self.attempts += 1
        if self.down:
            raise BackendUnavailable("index file locked")
        return self.inner.bulk_upsert(documents)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def settings(tmp_path: Path) -> IngestSettings:
    return IngestSettings(events_url=f"sqlite:///{tmp_path}/events.db", search_url=f"sqlite:///{tmp_path}/s.db",
                          max_retries=2, retry_base_s=0.01, batch_timeout_s=0.1, invalid_window=10)


@pytest.fixture
def events(settings: IngestSettings) -> Iterator[EmbeddedEventLog]:
    log = EmbeddedEventLog(settings.events_url.split("sqlite:///", 1)[1])
    yield log
    log.close()


@pytest.fixture
def index(settings: IngestSettings) -> Iterator[FlakyIndex]:
    inner = open_search_index(settings.search_url)
    inner.ensure_index()
    yield FlakyIndex(inner)
    inner.close()


MakeRunner = Callable[[IngestSettings, EmbeddedEventLog, Any], TopicRunner]


@pytest.fixture(params=["inline", "worker", "worker two ahead"])
def runner(request: pytest.FixtureRequest) -> Iterator[MakeRunner]:
    """Listings runners, each over a fresh consumer (as after a restart) on the same stores."""
    workers: list[PrepareWorker] = []

    def make(settings: IngestSettings, events: EmbeddedEventLog, index: Any) -> TopicRunner:
        registry = OrganisationRegistry(settings.state_location())
        consumer = events.consumer("listings", "ingest")
        if request.param == "inline":
            indexer = Indexer(index, events, settings, default_chain(), ConsumerMetrics(), registry)
            return BatchRunner(consumer, indexer.handle, events, settings, ConsumerMetrics())
        workers.append(PrepareWorker(settings))
        writer = ClusterWriter(index, events, settings, ConsumerMetrics(), registry)
        return PipelinedRunner(consumer, workers[-1], writer.finish, events, settings, ConsumerMetrics(),
                               ahead=2 if request.param == "worker two ahead" else 1)

    yield make
    for worker in workers:
        worker.close()


def consume(runner: TopicRunner) -> int:
    """One batch, finished: a pipelined runner only finishes a batch when it polls the next or drains."""
    taken = runner.run_batch()
    runner.drain()
    return taken


def listing(n: int, **fields: Any) -> tuple[str, dict[str, Any]]:
    return f"t:{n}", {"id": f"t:{n}", "name": f"Listing {n}", "source": "test",
                      "updated_at": "2025-01-01T00:00:00Z", **fields}


def test_a_transient_outage_is_retried_then_committed(settings: IngestSettings, events: EmbeddedEventLog,
                                                      index: FlakyIndex, runner: MakeRunner) -> None:
    events.publish("listings", [listing(1), listing(2)])
    index.down = True
    original = index.bulk_upsert

    def recover(documents: Sequence[Document]) -> BulkResult:
        index.down = index.attempts < 1
        return original(documents)

    index.bulk_upsert = recover  # type: ignore[method-assign]
    assert consume(runner(settings, events, index)) == 2
    assert index.inner.count() == 2 and events.consumer("listings", "ingest").lag() == 0


def test_an_outage_past_the_retries_commits_nothing_and_the_stream_resumes(
        settings: IngestSettings, events: EmbeddedEventLog, index: FlakyIndex, runner: MakeRunner) -> None:
    events.publish("listings", [listing(n) for n in range(5)])
    index.down = True
    with pytest.raises(IndexingStalled):
        consume(runner(settings, events, index))
    assert events.consumer("listings", "ingest").lag() == 5  # nothing committed past what was written
    index.down = False
    assert consume(runner(settings, events, index)) == 5  # a restarted consumer picks up the batch
    assert index.inner.count() == 5 and events.consumer("listings", "ingest").lag() == 0


def test_the_invalid_share_limit_stops_without_committing_or_dead_lettering(
        settings: IngestSettings, events: EmbeddedEventLog, index: FlakyIndex, runner: MakeRunner) -> None:
    events.publish("listings", [listing(n, name="") for n in range(8)] + [listing(9), listing(10)])
    with pytest.raises(InvalidShareExceeded, match="8 of the last 10"):
        consume(runner(settings, events, index))
    assert events.consumer("listings", "ingest").lag() == 10
    assert events.consumer("listings.dlq", "viewer").poll(10, 0.1) == []


def test_invalid_records_are_dead_lettered_with_provenance_and_reasons(
        settings: IngestSettings, events: EmbeddedEventLog, index: FlakyIndex, runner: MakeRunner) -> None:
    key, bad = listing(1, cpv_codes=["12345678"])
    events.publish("listings", [(key, with_provenance(bad, {"file": "in.csv", "line": "7"})), listing(2)])
    consume(runner(settings, events, index))
    [dead] = events.consumer("listings.dlq", "viewer").poll(10, 0.1)
    assert dead.value is not None
    assert dead.value["reason"] == "unknown CPV code" and dead.value["errors"][0]["field"] == "cpv_codes.0"
    assert dead.value["provenance"] == {"file": "in.csv", "line": "7"} and dead.value["raw"] == bad
    assert index.inner.get("t:2") is not None


def test_spend_records_are_stored_by_reference_and_linked_by_registry_number(
        settings: IngestSettings, events: EmbeddedEventLog, index: FlakyIndex, runner: MakeRunner) -> None:
    events.publish("listings", [listing(1, company_number="01234567")])
    consume(runner(settings, events, index))
    registry = OrganisationRegistry(settings.state_location())
    store = open_spend_store(settings.spend_location())
    spend = {"organisation": "leeds-cc", "supplier_name": "Listing 1", "supplier_company_number": "1234567",
             "amount_pence": 1000, "date": "2025-04-01", "reference": "INV-1"}
    events.publish("spend", [("leeds-cc:INV-1", spend), ("leeds-cc:INV-1", {**spend, "amount_pence": 1500}),
                             ("x", {"organisation": "leeds-cc", "amount_pence": 0})])
    spend_runner = BatchRunner(events.consumer("spend", "ingest"), SpendIngest(store, registry, settings).handle,
                               events, settings, ConsumerMetrics())
    assert spend_runner.run_batch() == 3
    [stored] = store.with_reference("leeds-cc", "INV-1")
    assert stored.record.amount_pence == 1500 and stored.linked_supplier_id == "t:1"
    assert store.total_pence("leeds-cc") == 1500
    [dead] = events.consumer("spend.dlq", "viewer").poll(10, 0.1)
    assert dead.value is not None and dead.value["reason"] == "spend record failed validation"


def test_batches_are_committed_in_log_order_once_written(
        settings: IngestSettings, events: EmbeddedEventLog, index: FlakyIndex, runner: MakeRunner) -> None:
    """A pipelined runner finishes (writes, then commits) each batch when it hands the next to the
    worker, and a drain finishes the last; inline, each call finishes its own batch."""
    settings.batch_size = 2
    events.publish("listings", [listing(n) for n in range(5)])
    run = runner(settings, events, index)
    committed = events.consumer("listings", "ingest")
    steps = []
    for _ in range(3):
        steps.append((run.run_batch(), committed.lag(), index.inner.count()))
    run.drain()
    assert (committed.lag(), index.inner.count(), run.run_batch()) == (0, 5, 0)
    if isinstance(run, PipelinedRunner) and run.ahead == 2:  # two batches wait in the worker's queue
        assert steps == [(2, 5, 0), (2, 5, 0), (3, 3, 2)]
    elif isinstance(run, PipelinedRunner):  # taken in + finished, then what is committed and written
        assert steps == [(2, 5, 0), (4, 3, 2), (3, 1, 4)]
    else:
        assert steps == [(2, 3, 2), (2, 1, 4), (1, 0, 5)]


def test_a_listing_a_register_verifies_is_filterable_by_that_register_once_indexed(
        settings: IngestSettings, events: EmbeddedEventLog, index: FlakyIndex, runner: MakeRunner) -> None:
    """`verified_by` is derived when the consumer writes the index, whichever path wrote it."""
    from shared.search.port import SearchQuery

    entry = {"registry": "GB-NIC", "identifier": "GB-NIC-100002", "status": "registered charity", "as_of": "2020-06-30"}
    events.publish("listings", [listing(1, postcode="BT1 1AA", org_ids=["GB-NIC-100002"], verified=[entry]),
                                listing(2, postcode="BT1 1AA")])
    consume(runner(settings, events, index))
    index.refresh()
    found = index.search(SearchQuery(filters={"verified_by": ["GB-NIC"]}))
    assert [hit.id for hit in found.hits] == ["t:1"]
    assert [hit.id for hit in index.search(SearchQuery(filters={"org_ids": ["GB-NIC-100002"]})).hits] == ["t:1"]


class RebalancedOnce:
    """A group consumer whose first commit is refused by a rebalance, after which it reads again
    from the committed offsets, as a Kafka consumer does once its partitions come back."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.refused = inner, False

    def commit(self, messages: Sequence[Any]) -> None:
        if not self.refused:
            self.refused = True
            self.inner._position = self.inner._committed()
            raise Rebalanced("partitions moved")
        self.inner.commit(messages)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_rebalance_drops_every_batch_prepared_ahead_and_they_are_read_again(
        settings: IngestSettings, events: EmbeddedEventLog, index: FlakyIndex) -> None:
    settings.batch_size = 2
    events.publish("listings", [listing(n) for n in range(7)])
    worker = PrepareWorker(settings)
    try:
        registry = OrganisationRegistry(settings.state_location())
        writer = ClusterWriter(index, events, settings, ConsumerMetrics(), registry)
        consumer = RebalancedOnce(events.consumer("listings", "ingest"))
        run = PipelinedRunner(consumer, worker, writer.finish, events, settings, ConsumerMetrics(), ahead=2)
        assert run.run_batch() == 2 and run.run_batch() == 2
        assert run.run_batch() == 2 + 2  # the oldest finished, but its commit was refused
        assert not run._in_flight  # what was prepared ahead is dropped, to be polled again
        while run.run_batch():
            pass
        run.drain()
    finally:
        worker.close()
    assert events.consumer("listings", "ingest").lag() == 0
    assert index.inner.count() == 7
