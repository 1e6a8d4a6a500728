"""What is specific to the SQLite event log: offsets, groups, redelivery and multi-process use."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.events.embedded import EmbeddedEventLog


@pytest.fixture
def log(tmp_path: Path) -> Iterator[EmbeddedEventLog]:
    events = EmbeddedEventLog(str(tmp_path / "nested" / "events.db"))
    events.ensure_topics(["listings"])
    yield events
    events.close()


def test_offsets_count_from_zero_per_topic(log: EmbeddedEventLog) -> None:
    log.publish("listings", [("a", {"n": 1}), ("b", {"n": 2})])
    log.publish("spend", [("x", {"n": 1})])
    log.publish("listings", [("a", None)])
    listings = log.consumer("listings", "g").poll(10, 0)
    assert [(m.offset, m.key, m.value) for m in listings] == [
        (0, "a", {"n": 1}),
        (1, "b", {"n": 2}),
        (2, "a", None),
    ]
    assert [m.offset for m in log.consumer("spend", "g").poll(10, 0)] == [0]


def test_redelivery_without_commit(log: EmbeddedEventLog) -> None:
    log.publish("listings", [(str(i), {"i": i}) for i in range(5)])
    first = log.consumer("listings", "g")
    batch = first.poll(3, 0)
    first.commit(batch[:2])
    first.close()
    again = log.consumer("listings", "g")
    assert [m.offset for m in again.poll(10, 0)] == [2, 3, 4]


def test_groups_are_independent_and_commits_never_go_back(log: EmbeddedEventLog) -> None:
    log.publish("listings", [(str(i), {"i": i}) for i in range(4)])
    a = log.consumer("listings", "a")
    messages = a.poll(10, 0)
    a.commit(messages)
    a.commit(messages[:1])
    assert a.lag() == 0
    b = log.consumer("listings", "b")
    assert b.lag() == 4
    assert [m.offset for m in b.poll(2, 0)] == [0, 1]
    assert log.consumer("listings", "a").poll(10, 0) == []


def test_poll_waits_for_a_record_up_to_the_timeout(log: EmbeddedEventLog) -> None:
    consumer = log.consumer("listings", "g")
    assert consumer.poll(10, 0.1) == []
    log.publish("listings", [("k", {"v": 1})])
    assert len(consumer.poll(10, 1.0)) == 1


def test_ping(log: EmbeddedEventLog, tmp_path: Path) -> None:
    assert log.ping()
    missing_dir = tmp_path / "file-not-dir"
    missing_dir.write_text("")
    assert not EmbeddedEventLog(str(missing_dir / "events.db")).ping()


def _publish(path: str, name: str, count: int) -> None:
    events = EmbeddedEventLog(path)
    for i in range(count):
        events.publish("listings", [(name, {"i": i})])
    events.close()


def test_concurrent_publishers_and_a_reader_in_other_processes(tmp_path: Path) -> None:
    """Offsets assigned inside BEGIN IMMEDIATE never collide; per-key order survives."""
    path = str(tmp_path / "events.db")
    reader = EmbeddedEventLog(path)
    consumer = reader.consumer("listings", "g")
    context = multiprocessing.get_context("spawn")
    publishers = [context.Process(target=_publish, args=(path, f"p{n}", 50)) for n in range(3)]
    for publisher in publishers:
        publisher.start()
    received = []
    while len(received) < 150:
        batch = consumer.poll(20, 5.0)
        assert batch, "publishers stalled"
        received.extend(batch)
        consumer.commit(batch)
    for publisher in publishers:
        publisher.join()
        assert publisher.exitcode == 0
    assert [m.offset for m in received] == list(range(150))
    for name in ("p0", "p1", "p2"):
        assert [m.value for m in received if m.key == name] == [{"i": i} for i in range(50)]
    assert consumer.lag() == 0
    reader.close()
