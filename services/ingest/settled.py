"""What the consumer tells stewards once a listings batch is committed, on two small topics.

- `<topic>.progress`: per partition, the offset the consumer has processed up to. `load` waits
  on it (bounded) to report the consumer's rejects of the file it just published; reading the
  group's own committed offsets would need a member of the consumer's group, which on Kafka
  would take partitions away from the consumer.
- `<topic>.dlq.resolved`: a marker for each record indexed under a key that has a dead letter
  (the listing id, or `file:line` for a row that had no id). `dead-letters list` matches markers
  to letters and shows a letter as resolved when a record with its key came *after* it, so a
  fixed and reloaded record closes its letter. Markers are written only for keys with letters,
  known from the dead-letter topic itself (read as it grows) and from the batch's own
  rejections, so an ordinary batch adds no marker at all.

A record the index refuses after passing the checks is dead-lettered later than its marker's
position and so stays open; it can still close an older letter with its key (a known gap: the
write's outcome per member record is not passed back to the runner).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from services.ingest.pipeline import Rejection
from shared.events.envelope import split_provenance
from shared.events.port import EventLog, LogReader, Message, dead_letter_topic

DRAIN_BATCH = 5_000


def progress_topic(topic: str) -> str:
    return f"{topic}.progress"


def resolved_topic(topic: str) -> str:
    return f"{dead_letter_topic(topic)}.resolved"


def record_keys(key: str | None, value: Any) -> list[str]:
    """The keys a record (or a dead letter's raw record) is known by: its listing id, and
    `file:line` when it came from a file. A dead letter is matched on the first of them."""
    raw, provenance = split_provenance(value)
    keys: list[str] = []
    listing_id = key if key is not None else raw.get("id") if isinstance(raw, dict) else None
    if isinstance(listing_id, str):
        keys.append(listing_id)
    if provenance and provenance.get("file") and provenance.get("line") is not None:
        keys.append(f"{provenance['file']}:{provenance['line']}")
    return keys


def letter_key(letter: dict[str, Any], message_key: str | None) -> str | None:
    """The key that closes a dead letter: its listing id, else the file and line it came from."""
    raw = letter.get("raw")
    listing_id = message_key if message_key is not None else raw.get("id") if isinstance(raw, dict) else None
    if isinstance(listing_id, str):
        return listing_id
    provenance = letter.get("provenance") or {}
    if provenance.get("file") and provenance.get("line") is not None:
        return f"{provenance['file']}:{provenance['line']}"
    return None


class SettledMarkers:
    """The listings runner's `after_commit`: progress, and resolutions of open dead letters."""

    def __init__(self, events: EventLog, topic: str) -> None:
        self.events, self.topic = events, topic
        self.open: set[str] = set()
        self._letters: LogReader = events.read_from_start(dead_letter_topic(topic))

    def after_commit(self, messages: Sequence[Message], rejections: Iterable[Rejection]) -> None:
        """Publish the batch's markers; the open keys change only once they are published, so a
        retried call publishes the same markers again (a duplicate marker changes nothing)."""
        self._read_new_letters()
        rejected = {(r.message.partition, r.message.offset) for r in rejections}
        still_open = set(self.open)
        resolved: list[tuple[str | None, dict[str, Any]]] = []
        for message in sorted(messages, key=lambda m: (m.partition, m.offset)):
            keys = record_keys(message.key, message.value)
            if (message.partition, message.offset) in rejected:
                still_open.update(keys[:1])
            elif message.value is not None:
                for key in (k for k in keys if k in still_open):
                    still_open.discard(key)
                    resolved.append((key, {"key": key, "partition": message.partition, "offset": message.offset,
                                           "timestamp_ms": message.timestamp_ms}))
        if resolved:
            self.events.publish(resolved_topic(self.topic), resolved)
        upto: dict[int, int] = {}
        for message in messages:
            upto[message.partition] = max(upto.get(message.partition, 0), message.offset + 1)
        self.events.publish(progress_topic(self.topic),
                            [(str(p), {"partition": p, "next_offset": o}) for p, o in sorted(upto.items())])
        self.open = still_open

    def close(self) -> None:
        self._letters.close()

    def _read_new_letters(self) -> None:
        while letters := self._letters.poll(DRAIN_BATCH, 0.0):
            for letter in letters:
                if (key := letter_key(letter.value or {}, letter.key)) is not None:
                    self.open.add(key)


def wait_until_processed(events: EventLog, topic: str, targets: dict[int, int], wait_s: float) -> bool:
    """True once the consumer has processed every record below `targets` (per partition, end
    offsets read after publishing); False when `wait_s` passed first (the consumer is behind or
    not running)."""
    pending = {p: end for p, end in targets.items() if end > 0}
    if not pending:
        return True
    reader = events.read_from_start(progress_topic(topic))
    deadline = time.monotonic() + wait_s
    try:
        while True:
            for marker in reader.poll(DRAIN_BATCH, min(0.5, max(0.0, deadline - time.monotonic()))):
                value = marker.value or {}
                if value.get("next_offset", 0) >= pending.get(value.get("partition", -1), float("inf")):
                    pending.pop(value["partition"])
            if not pending:
                return True
            if time.monotonic() >= deadline:
                return False
    finally:
        reader.close()
