"""End-to-end fixtures: a stack of real processes per test, on the embedded backend or on noida."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import Stack, stack_env
from tests.noida import NoidaServer


@pytest.fixture(params=["embedded", "elastic"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    prefix = f"e{uuid.uuid4().hex[:8]}-"
    if request.param == "embedded":
        env = stack_env(f"sqlite:///{tmp_path}/search.db", f"sqlite:///{tmp_path}/events.db", prefix, tmp_path)
    else:
        server: NoidaServer = request.getfixturevalue("noida")
        # noida holds a rebalance for a SIGKILLed member until the rebalance timeout (the poll
        # interval) runs out, where Kafka drops it when its session expires; keep both at 10 s.
        env = stack_env(server.es_url, f"{server.kafka_url}?max_poll_interval_ms=10000", prefix, tmp_path)
    running = Stack(env=env, log_dir=tmp_path)
    running.backend = request.param  # type: ignore[attr-defined]
    yield running
    running.stop_all()
