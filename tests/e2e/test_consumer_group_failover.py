"""Two consumer processes in one Kafka group, one killed mid-stream: the group rebalances while the
survivor holds uncommitted batches, the survivor's commit is refused as `Rebalanced` and it reads
again from the committed offsets instead of crashing, takes the other's partitions over, and the
index ends with every listing. Kafka only: the embedded log has one reader per group.

The member is killed with SIGTERM (it leaves the group at once). SIGKILL is not tested here:
noida-db 0.2.3 keeps a SIGKILLed member in the group until a join starts a rebalance, and then,
with each process in two groups, the rejoins did not settle within minutes, where Kafka drops a
dead member when its session expires (the same gap `test_consumer_crash` records)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from shared.events.factory import open_event_log
from tests.e2e.processes import Stack, stack_env
from tests.e2e.test_consumer_crash import indexed
from tests.noida import NoidaServer

pytestmark = pytest.mark.slow
N = 1500


def consumer(stack: Stack, name: str) -> Any:
    env = {**stack.env, "LOG_LEVEL": "INFO", "INGEST_METRICS_PORT": "0", "INGEST_BATCH_SIZE": "40",
           "INGEST_BATCH_TIMEOUT_S": "0.2",
           "STATE_URL": str(stack.log_dir / "ingest-state.db")}
    return stack._spawn(name, [sys.executable, "-m", "services.ingest.consumer"], env)


def publish_over_seconds(stack: Stack, records: list[tuple[str, dict[str, Any] | None]], done: threading.Event) -> None:
    """About ten seconds of stream, so that the kill and the takeover happen in the middle of it."""
    events = open_event_log(stack.env["EVENTS_URL"], client_id="failover-test")
    topic = f"{stack.env['TOPIC_PREFIX']}listings"
    events.ensure_topics([topic])
    for start in range(0, len(records), 15):
        events.publish(topic, records[start:start + 15])
        time.sleep(0.1)
    events.close()
    done.set()


def wait_for_assignment(log: Path, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if log.exists() and "batch done" in log.read_text():
            return
        time.sleep(0.1)
    raise AssertionError(f"{log.name}: no batch indexed in time")


@pytest.mark.xfail(strict=False, reason=(
    "noida-db 0.2.3 can answer a rejoin during the rebalance with no assignment protocol, and kafka-python"
    " then fails an assertion inside poll ('Coordinator selected invalid assignment protocol: None');"
    " Kafka always names the protocol. The commit refused by the rebalance is handled before that point"
    " (the log shows 'reading again from the committed offsets'), and test_kafka_rebalance checks it alone."))
def test_one_member_killed_the_other_finishes_the_stream(noida: NoidaServer, tmp_path: Path) -> None:
    prefix = f"g{uuid.uuid4().hex[:8]}-"
    env = stack_env(noida.es_url, f"{noida.kafka_url}?max_poll_interval_ms=10000", prefix, tmp_path)
    stack = Stack(env=env, log_dir=tmp_path)
    records: list[tuple[str, dict[str, Any] | None]] = [
        (f"t:{i}", {"id": f"t:{i}", "name": f"Listing {i}", "source": "test", "updated_at": "2025-01-01T00:00:00Z"})
        for i in range(N)]
    try:
        survivor, doomed = consumer(stack, "consumer-a"), consumer(stack, "consumer-b")
        done = threading.Event()
        publisher = threading.Thread(target=publish_over_seconds, args=(stack, records, done))
        publisher.start()
        wait_for_assignment(tmp_path / "consumer-b.log")
        time.sleep(0.5)  # both members are indexing, each its own partitions, and the stream goes on
        os.kill(doomed.pid, signal.SIGTERM)
        doomed.wait()
        publisher.join()
        assert done.is_set()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(got := indexed(stack)) < N:
            assert survivor.poll() is None, (tmp_path / "consumer-a.log").read_text()[-3000:]
            time.sleep(1)
        assert set(indexed(stack)) == {f"t:{i}" for i in range(N)}
        assert survivor.poll() is None
        log = (tmp_path / "consumer-a.log").read_text()
        assert "Traceback" not in log, log[-3000:]
        assert log.count("Setting newly assigned partitions") >= 3  # listings twice (the takeover), spend
        assert "reading again from the committed offsets" in log
        del got
    finally:
        stack.stop_all()
