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


def dead_letter_topic(topic: str) -> str:
    """Where a topic's invalid records go, with their reason."""
    return f"{topic}.dlq"


class Consumer(Protocol):
    def poll(self, max_records: int, timeout_s: float) -> list[Message]:
        """Up to `max_records` messages; waits at most `timeout_s` when none are ready."""

    def commit(self, messages: Sequence[Message]) -> None: ...

    def lag(self) -> int:
        """Records published but not yet committed by this group."""

    def close(self) -> None: ...


class EventLog(Protocol):
    def ensure_topics(self, topics: Sequence[str]) -> None: ...

    def publish(self, topic: str, records: Sequence[tuple[str | None, Value]]) -> None: ...

    def consumer(self, topic: str, group: str) -> Consumer: ...

    def ping(self) -> bool: ...

    def close(self) -> None: ...
