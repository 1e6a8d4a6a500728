"""The `EventLog` port: a durable, ordered log of keyed records read by consumer groups.

Semantics every adapter must keep (tests/contract checks them):
- `publish` returns only once the records are durable; records with the same key keep their
  order. A `None` value is a tombstone (delete the entity with that key).
- A consumer group starts at the earliest record it has not committed. `poll` advances an
  in-memory position; nothing is acknowledged until `commit`. A consumer that stops without
  committing makes the group read those records again (at-least-once delivery).
- `commit(messages)` acknowledges everything up to and including the highest offset given per
  partition.
- Two groups read independently.
- `read_from_start` reads a topic from its first record without any group (nothing is committed,
  nothing is left behind): a rebuild replays the whole log with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Value = dict[str, Any] | None


@dataclass(frozen=True)
class Message:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: Value
    timestamp_ms: int


class Rebalanced(Exception):
    """The group moved this member's partitions while it held uncommitted records: nothing was
    committed, and the next poll reads from the group's committed offsets. The work already done
    on those records is written again when they come back (writes are idempotent)."""


def dead_letter_topic(topic: str) -> str:
    """Where a topic's invalid records go, with their reason."""
    return f"{topic}.dlq"


class Consumer(Protocol):
    def poll(self, max_records: int, timeout_s: float) -> list[Message]:
        """Up to `max_records` messages; waits at most `timeout_s` when none are ready."""

    def commit(self, messages: Sequence[Message]) -> None:
        """Raises Rebalanced when the partitions were reassigned since the messages were polled."""

    def lag(self) -> int:
        """Records published but not yet committed by this group."""

    def close(self) -> None: ...


class LogReader(Protocol):
    """Reads every partition of a topic from the start, with no group and no commits."""

    def poll(self, max_records: int, timeout_s: float) -> list[Message]: ...

    def end_offsets(self) -> dict[int, int]:
        """Per partition, the offset the next record published there will get."""

    def positions(self) -> dict[int, int]:
        """Per partition, the offset of the next record this reader will return."""

    def close(self) -> None: ...


def caught_up(reader: LogReader, targets: dict[int, int]) -> bool:
    """True once `reader` has returned every record below `targets` (end offsets seen earlier)."""
    positions = reader.positions()
    return all(positions.get(partition, 0) >= end for partition, end in targets.items())


class EventLog(Protocol):
    def ensure_topics(self, topics: Sequence[str]) -> None: ...

    def publish(self, topic: str, records: Sequence[tuple[str | None, Value]]) -> None: ...

    def consumer(self, topic: str, group: str) -> Consumer: ...

    def read_from_start(self, topic: str) -> LogReader: ...

    def ping(self) -> bool: ...

    def close(self) -> None: ...
