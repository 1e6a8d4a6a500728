"""The index goes away mid-stream (noida stopped) and comes back (restarted on the same data):
the consumer commits nothing past what it wrote, stops (exit 2) rather than skipping records, and a
restarted consumer resumes the stream to the exact expected set."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.events.embedded import EmbeddedEventLog
from shared.search.factory import open_search_index
from tests.e2e.processes import Stack, stack_env
from tests.noida import NoidaServer, _free_port, _noida_binary, _wait_until_ready

pytestmark = pytest.mark.slow
N = 300


def start_noida_on(data_dir: Path, es_port: int, kafka_port: int) -> NoidaServer:
    """noida on fixed ports, so a restart is the same server to its clients."""
    log_path = data_dir.with_name(f"{data_dir.name}-{time.monotonic_ns()}.log")
    command = [_noida_binary(), "start", "--data-dir", str(data_dir), "--only", "elasticsearch,kafka",
               "--elasticsearch-port", str(es_port), "--kafka-port", str(kafka_port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = NoidaServer(process, es_port, kafka_port, log_path)
    _wait_until_ready(server)
    return server


@pytest.fixture
def own_noida(tmp_path: Path) -> Iterator[dict[str, Any]]:
    ports = {"es_port": _free_port(), "kafka_port": _free_port(), "data_dir": tmp_path / "noida"}
    ports["data_dir"].mkdir()
    state = {**ports, "server": start_noida_on(**ports)}
    yield state
    state["server"].stop()


def listing(i: int) -> tuple[str, dict[str, Any]]:
    return f"t:{i}", {"id": f"t:{i}", "name": f"Listing {i}", "source": "test", "updated_at": "2025-01-01T00:00:00Z"}


def indexed_ids(search_url: str, prefix: str) -> set[str]:
    index = open_search_index(search_url, prefix=prefix)
    try:
        index.refresh()
        return {f"t:{i}" for i in range(N) if index.get(f"t:{i}") is not None}
    finally:
        index.close()


def test_index_outage_commits_nothing_unwritten_and_the_stream_resumes(own_noida: dict[str, Any],
                                                                       tmp_path: Path) -> None:
    prefix = f"o{uuid.uuid4().hex[:8]}-"
    search_url = own_noida["server"].es_url
    stack = Stack(env=stack_env(search_url, f"sqlite:///{tmp_path}/events.db", prefix), log_dir=tmp_path)
    events = EmbeddedEventLog(str(tmp_path / "events.db"))
    topic = f"{prefix}listings"
    consumer_env = {"INGEST_BATCH_SIZE": "20", "INGEST_BATCH_TIMEOUT_S": "0.2", "INGEST_MAX_RETRIES": "2",
                    "INGEST_RETRY_BASE_S": "0.2"}
    try:
        stack.start_consumer(**consumer_env)
        events.publish(topic, [listing(i) for i in range(100)])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and events.consumer(topic, f"{prefix}ingest-indexer").lag():
            time.sleep(0.2)
        own_noida["server"].stop()  # the index goes away mid-stream
        feeder = threading.Thread(target=lambda: events.publish(topic, [listing(i) for i in range(100, N)]))
        feeder.start()
        assert stack.procs["consumer"].wait(timeout=60) == 2  # stalled: stops without committing
        feeder.join()
        committed = N - events.consumer(topic, f"{prefix}ingest-indexer").lag()
        own_noida["server"] = start_noida_on(own_noida["data_dir"], own_noida["es_port"], own_noida["kafka_port"])
        assert {f"t:{i}" for i in range(committed)} <= indexed_ids(search_url, prefix)  # committed => written
        assert committed < N
        stack.start_consumer(**consumer_env)  # as a supervisor would after exit 2
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and events.consumer(topic, f"{prefix}ingest-indexer").lag():
            time.sleep(0.3)
        assert indexed_ids(search_url, prefix) == {f"t:{i}" for i in range(N)}
    finally:
        stack.stop_all()
        events.close()
