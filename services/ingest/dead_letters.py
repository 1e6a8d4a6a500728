"""Reading, resolving and replaying dead letters, for the steward's CLI.

A dead letter is named by its place in `<topic>.dlq` (`partition:offset`), which never changes.

- Replaying republishes the record to the main topic with its original provenance plus
  `replay_of`, and records the replay in `<topic>.dlq.replays`, so `list` can show what was
  replayed and a second `replay` does not send it twice by accident. A row the loader rejected
  is a raw CSV row, not a listing: replay converts it again in its format (`ROW_FORMATS`), with
  the steward's mapping file as it is now (its path is in the letter's provenance), so fixing
  the mapping and replaying is enough.
- A letter is resolved when a later record with its key (listing id, else file and line) was
  indexed: the consumer writes a marker to `<topic>.dlq.resolved` (`services/ingest/settled.py`)
  and `dead_letters` matches markers to letters, keeping the order: a marker only resolves a
  letter it came after.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.ingest.settled import letter_key, progress_topic, resolved_topic
from services.ingest.sources.common import Skipped
from services.ingest.sources.formats import ROW_FORMATS
from services.ingest.sources.mapping import CsvMapping, MappingError
from shared.events.envelope import with_provenance
from shared.events.port import EventLog, Message, dead_letter_topic

EMPTY_POLLS_AT_END = 2  # a Kafka member's first polls can be empty while it joins the group


def replays_topic(topic: str) -> str:
    return f"{dead_letter_topic(topic)}.replays"


def steward_topics(topic: str) -> list[str]:
    """The topics around `topic` that the CLI reads and writes (a missing Kafka topic hangs a read)."""
    return [topic, dead_letter_topic(topic), replays_topic(topic), resolved_topic(topic), progress_topic(topic)]


@dataclass(frozen=True)
class DeadLetter:
    ref: str
    value: dict[str, Any]
    replayed: bool
    key: str | None = None
    timestamp_ms: int = 0
    resolved: bool = False

    @property
    def provenance(self) -> dict[str, Any]:
        return self.value.get("provenance") or {}

    @property
    def from_loader(self) -> bool:
        """Rejected by `load` before reaching the log: `raw` is the row as read, not a listing."""
        return self.value.get("source") is None and self.provenance.get("format") in ROW_FORMATS


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
    """Every dead letter of `topic`, oldest first per partition, marked when already replayed
    and when resolved.

    `timeout_s` is how long an empty poll waits before the end is assumed: a Kafka member needs
    a second or two to join; the embedded log answers at once.
    """
    replayed = {m.key for m in scan(events, replays_topic(topic), timeout_s)}
    markers: dict[str, list[dict[str, Any]]] = {}
    for marker in scan(events, resolved_topic(topic), timeout_s):
        if marker.key is not None and marker.value:
            markers.setdefault(marker.key, []).append(marker.value)
    letters = []
    for m in scan(events, dead_letter_topic(topic), timeout_s):
        value = m.value or {}
        letters.append(DeadLetter(ref(m), value, ref(m) in replayed, m.key, m.timestamp_ms,
                                  _resolved(value, m, markers.get(letter_key(value, m.key) or "", []))))
    return letters


def _resolved(value: dict[str, Any], letter: Message, markers: list[dict[str, Any]]) -> bool:
    """True when a marker's record came after the rejected one: later in the same partition, or
    (records in other partitions, rows rejected by the loader) published after the letter."""
    source = value.get("source") or {}
    for marker in markers:
        if source.get("partition") is not None and source.get("partition") == marker.get("partition"):
            if marker.get("offset", -1) > source.get("offset", 0):
                return True
        elif marker.get("timestamp_ms", 0) > letter.timestamp_ms:
            return True
    return False


@dataclass
class ReplayResult:
    sent: int = 0
    not_sent: list[tuple[str, str]] = field(default_factory=list)  # (ref, why)


def replay(events: EventLog, topic: str, letters: Iterable[DeadLetter]) -> ReplayResult:
    """Republish each letter's record to `topic` (a loader's row converted again) and record the
    replay; a letter that cannot be replayed is returned with why."""
    result = ReplayResult()
    records: list[tuple[str | None, dict[str, Any]]] = []
    chosen: list[DeadLetter] = []
    for letter in letters:
        record = _record(letter)
        if isinstance(record, str):
            result.not_sent.append((letter.ref, record))
            continue
        provenance = {**letter.provenance, "replay_of": f"{dead_letter_topic(topic)}@{letter.ref}"}
        records.append((record["id"] if isinstance(record.get("id"), str) else None,
                        with_provenance(record, provenance)))
        chosen.append(letter)
    if records:
        events.publish(topic, records)
        at = datetime.now(UTC).isoformat()
        events.publish(replays_topic(topic), [(letter.ref, {"ref": letter.ref, "replayed_at": at})
                                              for letter in chosen])
    result.sent = len(records)
    return result


def _record(letter: DeadLetter) -> dict[str, Any] | str:
    """The record to publish again, or why there is none."""
    raw = letter.value.get("raw")
    if not isinstance(raw, dict):
        return "no JSON record to replay"
    if not letter.from_loader:
        return raw
    fmt = letter.provenance["format"]
    mapping: CsvMapping | None = None
    if mapping_path := letter.provenance.get("mapping"):
        path = Path(mapping_path)
        if not path.is_file():
            return f"the mapping file {mapping_path} is gone: restore it, or load the fixed file again"
        try:
            mapping = CsvMapping.from_json(path)
        except MappingError as exc:
            return f"the mapping file cannot be used: {exc}"
    try:
        return ROW_FORMATS[fmt](mapping)(raw)
    except Skipped as exc:
        return f"the row is now skipped: {exc.reason}"
    except (KeyError, ValueError) as exc:
        return f"the row is still unreadable as {fmt}: {exc}"
