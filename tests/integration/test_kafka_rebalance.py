"""A rebalance between a poll and its commit (another member joins the group) does not stop the
consumer: the commit is refused as `Rebalanced`, nothing is committed past what was written, and
the member reads again from the group's committed offsets. Two members of one group on noida-db."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from shared.events.kafka import KafkaEventLog
from shared.events.port import Message, Rebalanced
from tests.noida import NoidaServer, start_noida


@pytest.fixture(scope="module")
def noida(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoidaServer]:
    server = start_noida(tmp_path_factory.mktemp("noida") / "data")
    yield server
    server.stop()


@pytest.fixture
def log(noida: NoidaServer) -> Iterator[KafkaEventLog]:
    events = KafkaEventLog([noida.kafka_bootstrap], "rebalance-test", max_poll_interval_ms=3000)
    yield events
    events.close()


def poll_until_some(consumer: object, timeout_s: float = 20) -> list[Message]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if got := consumer.poll(10, 0.5):  # type: ignore[attr-defined]
            return got  # type: ignore[no-any-return]
    raise AssertionError("no records within the timeout")


def test_a_commit_after_another_member_took_the_partitions_is_refused_then_reread(log: KafkaEventLog) -> None:
    topic = f"rb-{uuid.uuid4().hex[:8]}"
    log.ensure_topics([topic])
    log.publish(topic, [(f"k{i}", {"i": i}) for i in range(60)])
    first = log.consumer(topic, "g")
    polled = poll_until_some(first)
    second = log.consumer(topic, "g")
    deadline = time.monotonic() + 8  # the second member joins; the first is not polling, so it is dropped
    while time.monotonic() < deadline:
        second.poll(100, 0.5)
    with pytest.raises(Rebalanced):
        first.commit(polled)
    first.close()
    # Nothing the first member polled was committed: the second reads it all.
    assert second.lag() == 60
    second.close()
