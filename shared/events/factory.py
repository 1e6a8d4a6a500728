"""Pick the event-log adapter from `EVENTS_URL`: `sqlite:///path` (embedded) or `kafka://host:port[,host:port]`."""

from __future__ import annotations

from urllib.parse import urlparse

from shared.events.port import EventLog
from shared.search.factory import sqlite_path


def open_event_log(url: str, client_id: str = "socialmatch") -> EventLog:
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        from shared.events.embedded import EmbeddedEventLog

        return EmbeddedEventLog(sqlite_path(url))
    if scheme == "kafka":
        from shared.events.kafka import KafkaEventLog

        servers = url.split("://", 1)[1].rstrip("/")
        return KafkaEventLog(servers.split(","), client_id)
    raise ValueError(f"EVENTS_URL scheme {scheme!r} is not supported; use sqlite:/// or kafka://")
