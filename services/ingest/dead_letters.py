"""Reading and replaying dead letters, for the steward's CLI.

A dead letter is named by its place in `<topic>.dlq` (`partition:offset`), which never changes.
Replaying republishes the raw record to the main topic with its original provenance plus
`replay_of`, and records the replay in `<topic>.dlq.replays`, so `list` can show what was
replayed and a second `replay` does not send it twice by accident.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.events.envelope import with_provenance
from shared.events.port import EventLog, Message, dead_letter_topic

EMPTY_POLLS_AT_END = 2  # a Kafka member's first polls can be empty while it joins the group


def replays_topic(topic: str) -> str:
    return f"{dead_letter_topic(topic)}.replays"


@dataclass(frozen=True)
class DeadLetter:
    ref: str
    value: dict[str, Any]
    replayed: bool

    @property
    def replayable(self) -> bool:
        """Only a record that reached the log as a JSON object can be published again."""
        return isinstance(self.value.get("raw"), dict)


def scan(events: EventLog, topic: str, timeout_s: float = 1.0) -> Iterator[Message]:
    """Every message of `topic`, read by a throwaway group that never commits."""
    consumer = events.consumer(topic, f"viewer-{uuid.uuid4()}")
    try:
        empty = 0
        while empty < EMPTY_POLLS_AT_END:
            messages = consumer.poll(500, timeout_s)
            empty = 0 if messages else empty + 1
            yield from messages
    finally:
        consumer.close()


def ref(message: Message) -> str:
    return f"{message.partition}:{message.offset}"


def dead_letters(events: EventLog, topic: str, timeout_s: float = 1.0) -> list[DeadLetter]:
    """Every dead letter of `topic`, oldest first per partition, marked when already replayed.

    `timeout_s` is how long an empty poll waits before the end is assumed: a Kafka member needs
    a second or two to join; the embedded log answers at once.
    """
    replayed = {m.key for m in scan(events, replays_topic(topic), timeout_s)}
    return [DeadLetter(ref(m), m.value or {}, ref(m) in replayed)
            for m in scan(events, dead_letter_topic(topic), timeout_s)]


def replay(events: EventLog, topic: str, letters: Iterable[DeadLetter]) -> int:
    """Republish each letter's raw record to `topic` and record the replay; returns how many."""
    chosen = [letter for letter in letters if letter.replayable]
    if not chosen:
        return 0
    events.publish(topic, [(_key(letter), _republished(topic, letter)) for letter in chosen])
    at = datetime.now(UTC).isoformat()
    events.publish(replays_topic(topic), [(letter.ref, {"ref": letter.ref, "replayed_at": at}) for letter in chosen])
    return len(chosen)


def _key(letter: DeadLetter) -> str | None:
    raw_id = letter.value["raw"].get("id")
    return raw_id if isinstance(raw_id, str) else None


def _republished(topic: str, letter: DeadLetter) -> dict[str, Any]:
    provenance = {**(letter.value.get("provenance") or {}), "replay_of": f"{dead_letter_topic(topic)}@{letter.ref}"}
    return with_provenance(letter.value["raw"], provenance)
