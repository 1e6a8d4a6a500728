"""What an operator sees: counters by topic and reason, dead letters counted from the log (so they
survive restarts and include the loader's), the last batch time and lag, and a stall on /healthz."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from services.ingest.batch_runner import BatchRunner
from services.ingest.config import IngestSettings
from services.ingest.dead_letter_counts import DeadLetterCounts
from services.ingest.metrics import ConsumerMetrics, reason_kind, serve_metrics
from services.ingest.pipeline import Rejection
from shared.events.dead_letter import rejected_record
from shared.events.embedded import EmbeddedEventLog
from shared.events.port import Message


@pytest.fixture
def events(tmp_path: Path) -> Iterator[EmbeddedEventLog]:
    log = EmbeddedEventLog(str(tmp_path / "events.db"))
    yield log
    log.close()


def reject_odd(messages: Sequence[Message]) -> list[Rejection]:
    return [Rejection(m, "unknown CPV code" if m.offset % 4 == 1 else f"the index refused the document ({m.offset})")
            for m in messages if m.offset % 2]


def sample(metrics: ConsumerMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_counters_are_labelled_by_topic_and_kind_of_reason(events: EmbeddedEventLog, tmp_path: Path) -> None:
    settings = IngestSettings(events_url=f"sqlite:///{tmp_path}/events.db", batch_timeout_s=0.05)
    events.publish("listings", [(f"k{i}", {"i": i}) for i in range(8)])
    metrics = ConsumerMetrics()
    runner = BatchRunner(events.consumer("listings", "g"), reject_odd, events, settings, metrics, topic="listings")
    assert runner.run_batch() == 8
    assert sample(metrics, "ingest_consumed_total", topic="listings") == 8
    assert sample(metrics, "ingest_dead_lettered_total", topic="listings", reason="unknown CPV code") == 2
    assert sample(metrics, "ingest_dead_lettered_total", topic="listings",
                  reason="the index refused the document") == 2
    assert sample(metrics, "ingest_lag", topic="listings") == 0
    assert time.time() - (sample(metrics, "ingest_last_batch_timestamp_seconds", topic="listings") or 0) < 5


def test_reason_labels_drop_the_details() -> None:
    assert reason_kind("the spend store refused the record (OverflowError: too big)") == \
        "the spend store refused the record"
    assert reason_kind("record key 'a' does not match listing id 'b'") == "record key 'a' does not match listing id 'b'"


def test_dead_letters_are_counted_from_the_log_across_restarts(events: EmbeddedEventLog, tmp_path: Path) -> None:
    # Two letters from an earlier consumer, one from the loader (a row it could not read).
    events.publish("listings.dlq", [("a", {"reason": "x"}), ("b", {"reason": "y"}),
                                    (None, rejected_record("not,a,row", "unreadable CSV row"))])
    metrics = ConsumerMetrics()  # a fresh process: its own counters start at zero
    DeadLetterCounts(events, metrics, {"listings": "listings.dlq", "spend": "spend.dlq"}).tick()
    assert sample(metrics, "ingest_dead_letters_in_log", topic="listings") == 3
    assert sample(metrics, "ingest_dead_letters_in_log", topic="spend") == 0


def test_healthz_reports_a_stall_only_while_records_wait() -> None:
    metrics = ConsumerMetrics(stall_after_s=0.05)
    server = serve_metrics(metrics, 0)
    url = f"http://127.0.0.1:{server.server_address[1]}/healthz"
    try:
        metrics.measured_lag("listings", 0)
        time.sleep(0.1)
        with urllib.request.urlopen(url) as response:  # idle and caught up: healthy
            assert json.load(response) == {"status": "ok"}
        metrics.measured_lag("listings", 40)
        time.sleep(0.1)
        with pytest.raises(urllib.error.HTTPError) as raised:  # records wait and nothing moves
            urllib.request.urlopen(url)
        body = json.loads(raised.value.read())
        assert raised.value.code == 503 and body["status"] == "stalled" and body["lag"] == {"listings": 40}
        metrics.committed("listings")
        with urllib.request.urlopen(url) as response:
            assert response.status == 200
    finally:
        server.shutdown()
