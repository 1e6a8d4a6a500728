"""Dead letters: an invalid record is never dropped; it goes to `<topic>.dlq` with its reason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.events.port import EventLog, Message, dead_letter_topic


def dead_letter_record(message: Message, reason: str, errors: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    """The DLQ payload: where the record came from, the raw record, and field-level reasons."""
    return {
        "reason": reason,
        "errors": list(errors),
        "source": {
            "topic": message.topic,
            "partition": message.partition,
            "offset": message.offset,
            "key": message.key,
        },
        "raw": message.value,
    }


def send_to_dead_letter(
    log: EventLog, message: Message, reason: str, errors: Sequence[dict[str, str]] = ()
) -> None:
    log.publish(
        dead_letter_topic(message.topic),
        [(message.key, dead_letter_record(message, reason, errors))],
    )
