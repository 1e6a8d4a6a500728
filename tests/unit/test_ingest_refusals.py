"""A record a store refuses for its content is dead-lettered with the reason; the rest of its batch
is written and committed, and the consumer goes on. Only a store that is down stops it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from services.ingest.batch_runner import BatchRunner, IndexingStalled
from services.ingest.config import IngestSettings
from services.ingest.consumer import Indexer, SpendIngest
from services.ingest.dedupe import OrganisationRegistry
from services.ingest.geocode import default_chain
from services.ingest.metrics import ConsumerMetrics
from services.ingest.refusals import write_or_isolate
from shared.errors import BackendUnavailable
from shared.events.embedded import EmbeddedEventLog
from shared.models import SpendRecord
from shared.search.factory import open_search_index
from shared.search.port import BulkResult, Document, SearchIndex
from shared.spend_store import Linked, SqliteSpendStore
from shared.sqlite import sqlite_file


@pytest.fixture
def settings(tmp_path: Path) -> IngestSettings:
    return IngestSettings(events_url=f"sqlite:///{tmp_path}/events.db", search_url=f"sqlite:///{tmp_path}/s.db",
                          max_retries=1, retry_base_s=0.01, batch_timeout_s=0.1, invalid_window=10)


@pytest.fixture
def events(settings: IngestSettings) -> Iterator[EmbeddedEventLog]:
    log = EmbeddedEventLog(settings.events_url.split("sqlite:///", 1)[1])
    yield log
    log.close()


class RefusingStore(SqliteSpendStore):
    """The real store, refusing (as a column constraint would) any batch holding a marked reference."""

    def upsert(self, records: Sequence[tuple[SpendRecord, Linked]]) -> int:
        if any(r.reference.startswith("BAD") for r, _ in records):
            raise sqlite3.IntegrityError("CHECK constraint failed: amount_pence")
        return super().upsert(records)


class RefusingIndex:
    """The real index, raising on any batch holding a marked document (a mapping refusal)."""

    def __init__(self, inner: SearchIndex) -> None:
        self.inner = inner

    def bulk_upsert(self, documents: Sequence[Document]) -> BulkResult:
        if any(d["name"].startswith("BAD") for d in documents):
            raise ValueError("field [name] cannot be parsed")
        return self.inner.bulk_upsert(documents)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def spend(reference: str) -> tuple[str, dict[str, Any]]:
    return f"org:{reference}", {"organisation": "org", "supplier_id": "t:1", "amount_pence": 100,
                                "date": "2025-04-01", "reference": reference}


def test_a_spend_record_the_store_refuses_is_dead_lettered_and_the_rest_stored(
        settings: IngestSettings, events: EmbeddedEventLog) -> None:
    store = RefusingStore(Path(sqlite_file(settings.spend_location())))
    registry = OrganisationRegistry(settings.state_location())
    events.publish("spend", [spend("A"), spend("BAD-1"), spend("B")])
    runner = BatchRunner(events.consumer("spend", "ingest"), SpendIngest(store, registry, settings).handle,
                         events, settings, ConsumerMetrics())
    assert runner.run_batch() == 3
    assert store.with_reference("org", "A") and store.with_reference("org", "B")
    assert not store.with_reference("org", "BAD-1")
    [dead] = events.consumer("spend.dlq", "viewer").poll(10, 0.1)
    assert dead.key == "org:BAD-1" and dead.value is not None
    assert "spend store refused the record" in dead.value["reason"] and "CHECK constraint" in dead.value["reason"]
    assert events.consumer("spend", "ingest").lag() == 0  # committed: never read again


def test_a_listing_the_index_refuses_is_dead_lettered_and_the_rest_indexed(
        settings: IngestSettings, events: EmbeddedEventLog) -> None:
    inner = open_search_index(settings.search_url)
    inner.ensure_index()
    registry = OrganisationRegistry(settings.state_location())
    indexer = Indexer(RefusingIndex(inner), events, settings, default_chain(), ConsumerMetrics(), registry)
    records = [(f"t:{n}", {"id": f"t:{n}", "name": name, "source": "test", "updated_at": "2025-01-01T00:00:00Z"})
               for n, name in enumerate(["Good one", "BAD mapping", "Good two"])]
    events.publish("listings", records)
    runner = BatchRunner(events.consumer("listings", "ingest"), indexer.handle, events, settings, ConsumerMetrics())
    assert runner.run_batch() == 3
    assert inner.get("t:0") is not None and inner.get("t:2") is not None and inner.get("t:1") is None
    [dead] = events.consumer("listings.dlq", "viewer").poll(10, 0.1)
    assert dead.value is not None and "cannot be parsed" in dead.value["reason"]
    assert dead.value["raw"]["name"] == "BAD mapping"
    assert events.consumer("listings", "ingest").lag() == 0
    inner.close()


def test_a_store_that_is_down_is_not_mistaken_for_a_refusal() -> None:
    def down(items: Sequence[int]) -> int:
        raise IndexingStalled("the index stayed unavailable")

    with pytest.raises(IndexingStalled):
        write_or_isolate([1, 2, 3], down, "index")


def test_only_the_records_that_fail_alone_are_refused() -> None:
    calls: list[list[int]] = []

    def write(items: Sequence[int]) -> int:
        calls.append(list(items))
        if 2 in items:
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        return len(items)

    results, refused = write_or_isolate([1, 2, 3], write, "spend store")
    assert results == [1, 1] and [r.item for r in refused] == [2]
    assert "OverflowError" in refused[0].reason and calls[0] == [1, 2, 3]


def test_backend_unavailable_is_not_a_refusal() -> None:
    """`write` retries BackendUnavailable itself; if it leaks, it is the store, and it propagates."""
    def flaky(items: Sequence[int]) -> int:
        raise BackendUnavailable("locked")

    with pytest.raises(BackendUnavailable):
        write_or_isolate([1], flaky, "index")
