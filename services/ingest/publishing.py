"""Publishing listings to the log: the one path the HTTP API and the CLI share."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from shared.events.port import EventLog


def listing_records(listings: Iterable[dict[str, Any]]) -> list[tuple[str | None, dict[str, Any]]]:
    """Key each record by its entity so that every version of it stays in order."""
    return [(_key(raw), raw) for raw in listings]


def _key(raw: dict[str, Any]) -> str | None:
    """A listing's id, or a spend record's `organisation:reference`: every version of a record
    (whose own key adds its supplier) then stays in one partition, in order."""
    value = raw.get("id")
    if isinstance(value, str):
        return value
    organisation, reference = raw.get("organisation"), raw.get("reference")
    if isinstance(organisation, str) and isinstance(reference, str):
        return f"{organisation.strip()}:{reference.strip()}"
    return None


def publish_listings(events: EventLog, topic: str, listings: Sequence[dict[str, Any]]) -> int:
    events.publish(topic, listing_records(listings))
    return len(listings)


def publish_tombstone(events: EventLog, topic: str, listing_id: str) -> None:
    events.publish(topic, [(listing_id, None)])


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
