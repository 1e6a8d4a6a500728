"""The consumer's batch discipline on the embedded backends: retries, no commit past a failed write,
the invalid-share limit, dead letters with provenance, and spend records."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from services.ingest.config import IngestSettings
from services.ingest.consumer import BatchRunner, Indexer, IndexingStalled, SpendIngest
from services.ingest.dedupe import OrganisationRegistry
from services.ingest.geocode import default_chain
from services.ingest.guard import InvalidShareExceeded
from services.ingest.metrics import ConsumerMetrics
from shared.errors import BackendUnavailable
from shared.events.embedded import EmbeddedEventLog
from shared.events.envelope import with_provenance
from shared.search.factory import open_search_index
from shared.search.port import BulkResult, Document, SearchIndex
from shared.spend_store import SqliteSpendStore


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


def runner(settings: IngestSettings, events: EmbeddedEventLog, index: Any) -> BatchRunner:
    registry = OrganisationRegistry(settings.resolved_state_path())
    indexer = Indexer(index, events, settings, default_chain(), ConsumerMetrics(), registry)
    return BatchRunner(events.consumer("listings", "ingest"), indexer.handle, events, settings, ConsumerMetrics())


def listing(n: int, **fields: Any) -> tuple[str, dict[str, Any]]:
    return f"t:{n}", {"id": f"t:{n}", "name": f"Listing {n}", "source": "test",
                      "updated_at": "2025-01-01T00:00:00Z", **fields}


def test_a_transient_outage_is_retried_then_committed(settings: IngestSettings, events: EmbeddedEventLog,
                                                      index: FlakyIndex) -> None:
    events.publish("listings", [listing(1), listing(2)])
    index.down = True
    original = index.bulk_upsert

    def recover(documents: Sequence[Document]) -> BulkResult:
        index.down = index.attempts < 1
        return original(documents)

    index.bulk_upsert = recover  # type: ignore[method-assign]
    assert runner(settings, events, index).run_batch() == 2
    assert index.inner.count() == 2 and events.consumer("listings", "ingest").lag() == 0


def test_an_outage_past_the_retries_commits_nothing_and_the_stream_resumes(
        settings: IngestSettings, events: EmbeddedEventLog, index: FlakyIndex) -> None:
    events.publish("listings", [listing(n) for n in range(5)])
    index.down = True
    with pytest.raises(IndexingStalled):
        runner(settings, events, index).run_batch()
    assert events.consumer("listings", "ingest").lag() == 5  # nothing committed past what was written
    index.down = False
    assert runner(settings, events, index).run_batch() == 5  # a restarted consumer picks up the batch
    assert index.inner.count() == 5 and events.consumer("listings", "ingest").lag() == 0


def test_the_invalid_share_limit_stops_without_committing_or_dead_lettering(
        settings: IngestSettings, events: EmbeddedEventLog, index: FlakyIndex) -> None:
    events.publish("listings", [listing(n, name="") for n in range(8)] + [listing(9), listing(10)])
    with pytest.raises(InvalidShareExceeded, match="8 of the last 10"):
        runner(settings, events, index).run_batch()
    assert events.consumer("listings", "ingest").lag() == 10
    assert events.consumer("listings.dlq", "viewer").poll(10, 0.1) == []


def test_invalid_records_are_dead_lettered_with_provenance_and_reasons(
        settings: IngestSettings, events: EmbeddedEventLog, index: FlakyIndex) -> None:
    key, bad = listing(1, cpv_codes=["12345678"])
    events.publish("listings", [(key, with_provenance(bad, {"file": "in.csv", "line": "7"})), listing(2)])
    runner(settings, events, index).run_batch()
    [dead] = events.consumer("listings.dlq", "viewer").poll(10, 0.1)
    assert dead.value is not None
    assert dead.value["reason"] == "unknown CPV code" and dead.value["errors"][0]["field"] == "cpv_codes.0"
    assert dead.value["provenance"] == {"file": "in.csv", "line": "7"} and dead.value["raw"] == bad
    assert index.inner.get("t:2") is not None


def test_spend_records_are_stored_by_reference_and_linked_by_registry_number(
        settings: IngestSettings, events: EmbeddedEventLog, index: FlakyIndex) -> None:
    events.publish("listings", [listing(1, company_number="01234567")])
    runner(settings, events, index).run_batch()
    registry = OrganisationRegistry(settings.resolved_state_path())
    store = SqliteSpendStore(settings.spend_path())
    spend = {"organisation": "leeds-cc", "supplier_name": "Listing 1", "supplier_company_number": "1234567",
             "amount_pence": 1000, "date": "2025-04-01", "reference": "INV-1"}
    events.publish("spend", [("leeds-cc:INV-1", spend), ("leeds-cc:INV-1", {**spend, "amount_pence": 1500}),
                             ("x", {"organisation": "leeds-cc", "amount_pence": -1})])
    spend_runner = BatchRunner(events.consumer("spend", "ingest"), SpendIngest(store, registry, settings).handle,
                               events, settings, ConsumerMetrics())
    assert spend_runner.run_batch() == 3
    stored = store.get("leeds-cc", "INV-1")
    assert stored is not None and stored["amount_pence"] == 1500 and stored["linked_supplier_id"] == "t:1"
    assert store.total_pence("leeds-cc") == 1500
    [dead] = events.consumer("spend.dlq", "viewer").poll(10, 0.1)
    assert dead.value is not None and dead.value["reason"] == "spend record failed validation"
