"""Property: no record that passes an API's validation can stop the consumer. Records are generated
from the published JSON Schemas (`shared/schemas/`), kept when the API would accept them, and fed
through the consumer's real handlers on the embedded backends: every batch is committed, and each
record is indexed (or stored) or dead-lettered, never lost."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from pydantic import ValidationError

from services.ingest.api import _validate as listing_api_errors
from services.ingest.batch_runner import BatchRunner
from services.ingest.config import IngestSettings
from services.ingest.consumer import Indexer, SpendIngest
from services.ingest.dedupe import OrganisationRegistry
from services.ingest.geocode import default_chain
from services.ingest.metrics import ConsumerMetrics
from shared.cpv import _labels
from shared.events.embedded import EmbeddedEventLog
from shared.models import IMPACT_AREAS, SpendRecord
from shared.search.factory import open_search_index
from shared.search.port import SearchQuery
from shared.spend_store import open_spend_store

SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "schemas"
LISTING_SCHEMA = json.loads((SCHEMAS / "listing.schema.json").read_text())
SPEND_SCHEMA = json.loads((SCHEMAS / "spend-record.schema.json").read_text())
CPV = sorted(_labels())


def listings() -> st.SearchStrategy[dict[str, Any]]:
    """Schema-shaped listings; the two fields checked against reference tables (known CPV codes and
    impact areas) are drawn from those tables, else almost nothing generated would pass."""
    return st.builds(
        lambda raw, cpv, impact: {**raw, "cpv_codes": cpv, "impact_areas": impact},
        from_schema(LISTING_SCHEMA),
        st.lists(st.sampled_from(CPV), max_size=3),
        st.lists(st.sampled_from(IMPACT_AREAS), max_size=3),
    )


def accepted_listing(raw: dict[str, Any]) -> bool:
    return listing_api_errors(raw, "") == []


def accepted_spend(raw: dict[str, Any]) -> bool:
    try:
        SpendRecord.model_validate(raw)
    except ValidationError:
        return False
    return True


class Stack:
    """The consumer's handlers on fresh embedded backends, with the guard out of the way (it is a
    deliberate stop, tested elsewhere; here every record must be handled on its own merits)."""

    def __init__(self, root: Path) -> None:
        self.settings = IngestSettings(events_url=f"sqlite:///{root}/events.db", search_url=f"sqlite:///{root}/s.db",
                                       max_retries=0, retry_base_s=0.01, batch_timeout_s=0.05,
                                       max_invalid_share=1.0, invalid_window=10_000)
        self.events = EmbeddedEventLog(str(root / "events.db"))
        self.index = open_search_index(self.settings.search_url)
        self.index.ensure_index()
        self.registry = OrganisationRegistry(self.settings.state_location())
        self.store = open_spend_store(self.settings.spend_location())
        metrics = ConsumerMetrics()
        indexer = Indexer(self.index, self.events, self.settings, default_chain(), metrics, self.registry)
        self.listings = BatchRunner(self.events.consumer("listings", "ingest"), indexer.handle, self.events,
                                    self.settings, metrics)
        spend = SpendIngest(self.store, self.registry, self.settings, self.index)
        self.spend = BatchRunner(self.events.consumer("spend", "spend"), spend.handle, self.events,
                                 self.settings, metrics, report_lag=False)

    def dead_keys(self, topic: str) -> set[str | None]:
        reader = self.events.consumer(f"{topic}.dlq", "viewer")
        keys = {m.key for m in reader.poll(10_000, 0.05)}
        reader.close()
        return keys

    def close(self) -> None:
        for closeable in (self.events, self.index, self.registry, self.store):
            closeable.close()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(batch=st.lists(listings(), min_size=1, max_size=4))
def test_no_accepted_listing_stops_the_consumer(batch: list[dict[str, Any]]) -> None:
    records = [{**raw, "id": f"gen:{i}"} for i, raw in enumerate(batch)]
    records = [r for r in records if accepted_listing(r)]
    assume(records)
    with tempfile.TemporaryDirectory() as root:
        stack = Stack(Path(root))
        try:
            stack.events.publish("listings", [(r["id"], r) for r in records])
            assert stack.listings.run_batch() == len(records)
            assert stack.listings.consumer.lag() == 0
            dead = stack.dead_keys("listings")
            assert {r["id"] for r in records} <= indexed_ids(stack) | dead
        finally:
            stack.close()


def indexed_ids(stack: Stack) -> set[str | None]:
    """Every listing id the index holds, those merged into another's document by de-duplication too."""
    ids: set[str | None] = set()
    for hit in stack.index.scan(SearchQuery()):
        ids |= {hit.id, *(ref["id"] for ref in hit.document.get("provenance", []))}
    return ids


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(batch=st.lists(from_schema(SPEND_SCHEMA), min_size=1, max_size=4))
def test_no_accepted_spend_record_stops_the_consumer(batch: list[dict[str, Any]]) -> None:
    records = [{**raw, "organisation": "org", "reference": f"R{i}"} for i, raw in enumerate(batch)]
    records = [r for r in records if accepted_spend(r)]
    assume(records)
    with tempfile.TemporaryDirectory() as root:
        stack = Stack(Path(root))
        try:
            stack.events.publish("spend", [(f"org:{r['reference']}", r) for r in records])
            assert stack.spend.run_batch() == len(records)
            assert stack.spend.consumer.lag() == 0
            dead = stack.dead_keys("spend")
            stored = {f"org:{r['reference']}" for r in records if stack.store.with_reference("org", r["reference"])}
            assert stored | dead == {f"org:{r['reference']}" for r in records}
        finally:
            stack.close()
