"""SIGTERM mid-stream, to the consumer and its worker alike: the consumer finishes what it has in
hand and exits 0, having committed exactly what it wrote, and a restarted consumer takes the
stream up from there."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from shared.events.embedded import EmbeddedEventLog
from shared.search.factory import open_search_index
from tests.e2e.processes import Stack, stack_env

pytestmark = pytest.mark.slow
N = 20_000  # seconds of work at full speed: the stop lands mid-stream even on a busy machine


def committed(events: EmbeddedEventLog, stack: Stack) -> int:
    return N - events.consumer("listings", stack.env["TOPIC_PREFIX"] + "ingest-indexer").lag()


def indexed(stack: Stack) -> int:
    index = open_search_index(stack.env["SEARCH_URL"], prefix=stack.env["INDEX_PREFIX"])
    try:
        index.ensure_index()
        return index.count()
    finally:
        index.close()


@pytest.mark.parametrize("worker", ["true", "false"])
def test_sigterm_finishes_the_batches_in_hand_and_exits_cleanly(tmp_path: Path, worker: str) -> None:
    env = stack_env(f"sqlite:///{tmp_path}/search.db", f"sqlite:///{tmp_path}/events.db", "", tmp_path)
    stack = Stack(env=env, log_dir=tmp_path)
    events = EmbeddedEventLog(f"{tmp_path}/events.db")
    events.publish("listings", [(f"t:{n}", {"id": f"t:{n}", "name": f"Stop test {n}", "source": "test",
                                            "updated_at": "2025-01-01T00:00:00Z"}) for n in range(N)])
    settings = {"INGEST_BATCH_SIZE": "200", "INGEST_PREPARE_WORKER": worker}
    try:
        consumer = stack.start_consumer(**settings)
        deadline = time.monotonic() + 60
        while committed(events, stack) < 400 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(consumer.pid, signal.SIGTERM)  # as a supervisor stops a service: every process of it
        assert consumer.wait(timeout=30) == 0, (tmp_path / "consumer.log").read_text()[-2000:]
        done = committed(events, stack)
        assert 400 <= done < N, "the test needs the stop to land mid-stream"
        assert indexed(stack) == done  # written and committed agree: nothing half-finished
        stack.start_consumer(**settings)
        deadline = time.monotonic() + 60
        while committed(events, stack) < N and time.monotonic() < deadline:
            time.sleep(0.1)
        assert committed(events, stack) == N and indexed(stack) == N
    finally:
        stack.stop_all()
        events.close()
