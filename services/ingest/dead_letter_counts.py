"""How many records each dead-letter topic holds, read from the log for `/metrics`.

Counting what this process dead-lettered would start at zero on every restart and miss the
loader's rejects (the CLI dead-letters unreadable rows itself); the topic's own end offsets are
the count every process agrees on. Read every `every_s`, never on the scrape's thread (a Kafka
read needs a client of its own), and never fatal: a count that cannot be read now is read next time.
"""

from __future__ import annotations

import logging
import time

from services.ingest.metrics import ConsumerMetrics
from shared.errors import BackendUnavailable
from shared.events.port import EventLog

log = logging.getLogger("socialmatch.ingest.consumer")


class DeadLetterCounts:
    def __init__(self, events: EventLog, metrics: ConsumerMetrics, topics: dict[str, str],
                 every_s: float = 15.0) -> None:
        """`topics` maps each metric label to its dead-letter topic."""
        self.events, self.metrics, self.topics, self.every_s = events, metrics, topics, every_s
        self._read_at: float | None = None

    def tick(self) -> None:
        if self._read_at is not None and time.monotonic() - self._read_at < self.every_s:
            return
        self._read_at = time.monotonic()
        for label, topic in self.topics.items():
            try:
                reader = self.events.read_from_start(topic)
                try:
                    held = sum(reader.end_offsets().values())
                finally:
                    reader.close()
            except BackendUnavailable as exc:
                log.warning("could not count the dead letters in %s: %s", topic, exc)
                continue
            self.metrics.dead_letters_in_log.labels(topic=label).set(held)
