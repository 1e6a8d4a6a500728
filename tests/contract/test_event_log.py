"""The EventLog contract: the same delivery guarantees on every backend (see shared/events/port.py)."""

from __future__ import annotations

from shared.events.port import EventLog, Message


def drain(consumer, want: int, rounds: int = 40) -> list[Message]:  # type: ignore[no-untyped-def]
    got: list[Message] = []
    for _ in range(rounds):
        got += consumer.poll(max_records=100, timeout_s=0.5)
        if len(got) >= want:
            break
    return got


def test_published_records_are_consumed_in_order_per_key(events: EventLog, unique: str) -> None:
    topic = f"{unique}listings"
    events.ensure_topics([topic])
    events.publish(topic, [("a", {"n": 1}), ("b", {"n": 1}), ("a", {"n": 2}), ("a", None)])
    consumer = events.consumer(topic, f"{unique}g")
    got = drain(consumer, 4)
    consumer.close()
    assert len(got) == 4
    a_values = [m.value for m in got if m.key == "a"]
    assert a_values == [{"n": 1}, {"n": 2}, None]  # None is a tombstone


def test_uncommitted_records_are_redelivered(events: EventLog, unique: str) -> None:
    topic, group = f"{unique}listings", f"{unique}g"
    events.ensure_topics([topic])
    events.publish(topic, [(f"k{i}", {"i": i}) for i in range(5)])
    first = events.consumer(topic, group)
    got = drain(first, 5)
    first.commit([m for m in got if m.value["i"] < 2])  # type: ignore[index]
    first.close()
    second = events.consumer(topic, group)
    again = drain(second, 3)
    second.close()
    assert sorted(m.value["i"] for m in again) == [2, 3, 4]  # type: ignore[index]


def test_committed_records_are_not_redelivered_and_lag_counts(events: EventLog, unique: str) -> None:
    topic, group = f"{unique}listings", f"{unique}g"
    events.ensure_topics([topic])
    events.publish(topic, [(f"k{i}", {"i": i}) for i in range(3)])
    consumer = events.consumer(topic, group)
    got = drain(consumer, 3)
    consumer.commit(got)
    assert consumer.lag() == 0
    events.publish(topic, [("k9", {"i": 9})])
    later = drain(consumer, 1)
    assert [m.value for m in later] == [{"i": 9}]
    consumer.commit(later)
    consumer.close()
    reopened = events.consumer(topic, group)
    assert drain(reopened, 1, rounds=2) == []
    reopened.close()


def test_groups_read_independently(events: EventLog, unique: str) -> None:
    topic = f"{unique}listings"
    events.ensure_topics([topic])
    events.publish(topic, [("k", {"i": 1})])
    one, two = events.consumer(topic, f"{unique}one"), events.consumer(topic, f"{unique}two")
    got_one = drain(one, 1)
    one.commit(got_one)
    assert [m.value for m in drain(two, 1)] == [{"i": 1}]
    one.close()
    two.close()
