"""Provenance travels inside the record, under one reserved key, so every adapter carries it.

Kafka has headers but the embedded log does not, and a record must say where it came from on
either backend (the dead-letter queue shows it, a merged listing keeps it). So a producer adds
`_provenance` to the JSON object it publishes ({"file": "coops.csv", "line": 12} from the CLI,
{"request_id": "..."} from the API, plus "replay_of" when a dead letter is replayed) and the
consumer removes it before validating. A record without it is still valid: producers that
predate it, or do not care, keep working.
"""

from __future__ import annotations

from typing import Any

PROVENANCE_KEY = "_provenance"
Provenance = dict[str, Any]


def with_provenance(record: dict[str, Any], provenance: Provenance | None) -> dict[str, Any]:
    """A copy of `record` carrying `provenance` (the record itself when there is none)."""
    return record if not provenance else {**record, PROVENANCE_KEY: provenance}


def split_provenance(value: Any) -> tuple[Any, Provenance | None]:
    """(the record without its provenance, the provenance or None); non-dicts pass through."""
    if not isinstance(value, dict) or PROVENANCE_KEY not in value:
        return value, None
    record = dict(value)
    provenance = record.pop(PROVENANCE_KEY)
    return record, provenance if isinstance(provenance, dict) else {"invalid": repr(provenance)[:200]}


def origin(provenance: Provenance | None) -> str | None:
    """One line for people: `coops.csv:12`, `request 7f3a…`, or None when unknown."""
    if not provenance:
        return None
    if "file" in provenance:
        line = provenance.get("line")
        return f"{provenance['file']}:{line}" if line is not None else str(provenance["file"])
    if "request_id" in provenance:
        item = provenance.get("item")
        return f"request {provenance['request_id']}" + (f" item {item}" if item is not None else "")
    if "steward" in provenance:
        return f"steward: {provenance['steward']}"
    return None
