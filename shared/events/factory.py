"""Pick the event-log adapter from `EVENTS_URL`: `sqlite:///path` (embedded) or `kafka://host:port[,host:port]`.

A Kafka URL may carry `?max_poll_interval_ms=N`: the consumers' poll deadline, which is also how
long a rebalance waits for a member that died without leaving (default in shared/events/kafka.py).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from shared.events.port import EventLog
from shared.search.factory import sqlite_path


def open_event_log(url: str, client_id: str = "socialmatch") -> EventLog:
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        from shared.events.embedded import EmbeddedEventLog

        return EmbeddedEventLog(sqlite_path(url))
    if scheme == "kafka":
        from shared.events.kafka import KafkaEventLog

        parsed = urlparse(url)
        options = parse_qs(parsed.query)
        poll_ms = int(options["max_poll_interval_ms"][0]) if "max_poll_interval_ms" in options else None
        return KafkaEventLog(parsed.netloc.split(","), client_id, max_poll_interval_ms=poll_ms)
    raise ValueError(f"EVENTS_URL scheme {scheme!r} is not supported; use sqlite:/// or kafka://")
