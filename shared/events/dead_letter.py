"""Dead letters: an invalid record is never dropped; it goes to `<topic>.dlq` with its reason.

Each dead letter says what was wrong (`reason`, field-level `errors`), where the record came from
(`provenance`: file and line, or request id; `source`: the log position, when it got that far)
and the raw record, so that a steward can fix the cause and replay it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.events.envelope import Provenance, split_provenance
from shared.events.port import EventLog, Message, dead_letter_topic

# Kafka refuses messages over 1 MB by default; a dead letter must never be refused, and nobody
# reads a megabyte field in a DLQ listing. Longer strings are cut (the record was invalid anyway).
MAX_RAW_STRING = 16_384


def dead_letter_record(message: Message, reason: str, errors: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    """The DLQ payload for a record the consumer read from `message`."""
    raw, provenance = split_provenance(message.value)
    position = {"topic": message.topic, "partition": message.partition, "offset": message.offset,
                "key": message.key}
    return _payload(reason, errors, raw, provenance, position)


def rejected_record(raw: Any, reason: str, errors: Sequence[dict[str, str]] = (),
                    provenance: Provenance | None = None) -> dict[str, Any]:
    """The DLQ payload for a record rejected before it reached the log (unreadable at the source)."""
    return _payload(reason, errors, raw, provenance, None)


def _payload(reason: str, errors: Sequence[dict[str, str]], raw: Any, provenance: Provenance | None,
             position: dict[str, Any] | None) -> dict[str, Any]:
    return {"reason": reason, "errors": list(errors), "provenance": provenance, "source": position,
            "raw": truncated(raw)}


def truncated(value: Any) -> Any:
    """`value` with every string longer than MAX_RAW_STRING cut and marked."""
    if isinstance(value, str) and len(value) > MAX_RAW_STRING:
        return f"{value[:MAX_RAW_STRING]}…[{len(value) - MAX_RAW_STRING} more characters cut]"
    if isinstance(value, dict):
        return {k: truncated(v) for k, v in value.items()}
    if isinstance(value, list):
        return [truncated(v) for v in value]
    return value


def send_to_dead_letter(
    log: EventLog, message: Message, reason: str, errors: Sequence[dict[str, str]] = ()
) -> None:
    log.publish(
        dead_letter_topic(message.topic),
        [(message.key, dead_letter_record(message, reason, errors))],
    )


def send_dead_letters(log: EventLog, rejected: Sequence[tuple[Message, str, Sequence[dict[str, str]]]]) -> None:
    """Publish a batch's dead letters in one write per topic (one fsync, not one per record)."""
    by_topic: dict[str, list[tuple[str | None, dict[str, Any]]]] = {}
    for message, reason, errors in rejected:
        by_topic.setdefault(dead_letter_topic(message.topic), []).append(
            (message.key, dead_letter_record(message, reason, errors)))
    for topic, records in by_topic.items():
        log.publish(topic, records)
