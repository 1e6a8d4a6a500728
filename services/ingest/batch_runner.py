"""How the consumer works through a topic: poll a bounded batch, handle it, dead-letter what was
rejected, and only then commit, retrying what a store could not take for a while.

`BatchRunner` handles each batch whole; `PipelinedRunner` splits listings in two stages so that a
worker process prepares batch N+1 while this process writes batch N, committing in log order.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from services.ingest.config import IngestSettings
from services.ingest.metrics import ConsumerMetrics
from services.ingest.pipeline import Rejection
from services.ingest.preparing import PreparedListings
from shared.errors import BackendUnavailable
from shared.events.dead_letter import send_dead_letters
from shared.events.port import Consumer, EventLog, Message, Rebalanced

log = logging.getLogger("socialmatch.ingest.consumer")
T = TypeVar("T")
LAG_EVERY_S = 5.0


class IndexingStalled(RuntimeError):
    """A store stayed unavailable through every retry: stop without committing."""


def with_retries(settings: IngestSettings, action: Callable[[], T], what: str) -> T:
    """Run `action`, retrying BackendUnavailable with exponential back-off; then IndexingStalled."""
    for attempt in range(settings.max_retries + 1):
        try:
            return action()
        except BackendUnavailable as exc:
            log.warning("%s unavailable (attempt %d): %s", what, attempt + 1, exc)
            if attempt < settings.max_retries:
                time.sleep(settings.retry_base_s * 2**attempt)
    raise IndexingStalled(f"the {what} stayed unavailable; stopping without committing")


AfterCommit = Callable[[Sequence[Message], list[Rejection]], None]


class TopicRunner(ABC):
    """Poll, handle, dead-letter, commit: the discipline every topic shares."""

    def __init__(self, consumer: Consumer, events: EventLog, settings: IngestSettings, metrics: ConsumerMetrics,
                 report_lag: bool = True, topic: str = "", after_commit: AfterCommit | None = None) -> None:
        """`topic` labels the metrics (the topic's name without the deployment's prefix);
        `after_commit` hears of each committed batch (the steward's markers: `settled.py`)."""
        self.consumer, self.events = consumer, events
        self.settings, self.metrics, self.report_lag, self.topic = settings, metrics, report_lag, topic or "unknown"
        self.after_commit = after_commit
        self._lag_measured = 0.0

    @abstractmethod
    def run_batch(self, timeout_s: float | None = None) -> int:
        """Take in a batch (waiting up to `timeout_s`, default the batch timeout) and finish what
        is due; returns the records taken in or finished, 0 when idle."""

    @abstractmethod
    def drain(self) -> None:
        """Finish what is in hand before stopping."""

    def _poll(self, timeout_s: float | None) -> list[Message]:
        timeout = self.settings.batch_timeout_s if timeout_s is None else timeout_s
        messages = self.consumer.poll(self.settings.batch_size, timeout)
        if messages:
            self.metrics.consumed.labels(topic=self.topic).inc(len(messages))
        else:
            self._measure_lag(force=True)
        return messages

    def _measure_lag(self, force: bool = False) -> None:
        """The group's lag, for `/metrics` and the stall check: on every idle poll, and every
        LAG_EVERY_S while busy (a broker round trip on Kafka: only for topics that report it)."""
        if self.report_lag and (force or time.monotonic() - self._lag_measured > LAG_EVERY_S):
            self._lag_measured = time.monotonic()
            self.metrics.measured_lag(self.topic, self.consumer.lag())

    def _settle(self, messages: Sequence[Message], rejections: list[Rejection], started: float) -> bool:
        """Dead-letter the rejections, then commit: the batch's writes are already done. False when a
        rebalance moved the partitions first: the records are read again (the writes are idempotent)."""
        if rejections:
            with_retries(self.settings, lambda: send_dead_letters(
                self.events, [(r.message, r.reason, r.errors) for r in rejections]), "event log")
            for rejection in rejections:
                self.metrics.dead_letter(self.topic, rejection.reason)
        try:
            with_retries(self.settings, lambda: self.consumer.commit(messages), "event log")
        except Rebalanced as exc:
            log.warning("%s: reading again from the committed offsets", exc)
            self.metrics.rebalances.labels(topic=self.topic).inc()
            return False
        self.metrics.batch_seconds.observe(time.monotonic() - started)
        self.metrics.committed(self.topic)
        if self.after_commit is not None:
            after_commit = self.after_commit
            with_retries(self.settings, lambda: after_commit(messages, rejections), "event log")
        self._measure_lag()
        log.info("batch done", extra={"records": len(messages), "rejected": len(rejections)})
        return True


class Preparing(Protocol):
    def submit(self, messages: Sequence[Message]) -> PendingPrepared: ...


class PendingPrepared(Protocol):
    def result(self) -> PreparedListings: ...


class BatchRunner(TopicRunner):
    """Each batch handled whole, in this process."""

    def __init__(self, consumer: Consumer, handle: Callable[[Sequence[Message]], list[Rejection]],
                 events: EventLog, settings: IngestSettings, metrics: ConsumerMetrics,
                 report_lag: bool = True, topic: str = "", after_commit: AfterCommit | None = None) -> None:
        super().__init__(consumer, events, settings, metrics, report_lag, topic, after_commit)
        self.handle = handle

    def run_batch(self, timeout_s: float | None = None) -> int:
        messages = self._poll(timeout_s)
        if messages:
            started = time.monotonic()
            self._settle(messages, self.handle(messages), started)
        return len(messages)

    def drain(self) -> None:
        """Nothing is ever in hand: each `run_batch` finishes its batch."""


class PipelinedRunner(TopicRunner):
    """Listings in two stages: `prepare` works on the next batches (in the worker process) while
    this process finishes the oldest (index writes, dead letters, commit), so commits stay in order.

    `ahead` batches wait in the worker's queue while this process writes: with one, the worker sat
    idle whenever a write took longer than its own batch, and the two processes took turns.
    With a batch in flight the next poll does not wait: when nothing more has arrived, every batch
    in flight is finished at once rather than after the batch timeout.
    """

    def __init__(self, consumer: Consumer, prepare: Preparing, finish: Callable[[PreparedListings], list[Rejection]],
                 events: EventLog, settings: IngestSettings, metrics: ConsumerMetrics, topic: str = "",
                 after_commit: AfterCommit | None = None, ahead: int = 1) -> None:
        super().__init__(consumer, events, settings, metrics, topic=topic, after_commit=after_commit)
        self.prepare, self.finish, self.ahead = prepare, finish, ahead
        self._in_flight: deque[tuple[Sequence[Message], PendingPrepared, float]] = deque()

    def run_batch(self, timeout_s: float | None = None) -> int:
        """Hand the next batch to `prepare`, then finish the oldest beyond `ahead` (all of them when
        nothing more arrived)."""
        messages = self._poll(0.0 if self._in_flight else timeout_s)
        if messages:
            self._in_flight.append((messages, self.prepare.submit(messages), time.monotonic()))
        finished = 0
        while self._in_flight and (len(self._in_flight) > self.ahead or not messages):
            finished += len(self._in_flight[0][0])
            if not self._finish_oldest():
                break
        return len(messages) + finished

    def drain(self) -> None:
        while self._in_flight and self._finish_oldest():
            pass

    def _finish_oldest(self) -> bool:
        """Finish the oldest batch in flight; False when a rebalance kept it from being committed,
        and then every later batch is dropped too: the rewound group polls them again."""
        messages, pending, started = self._in_flight.popleft()
        if self._settle(messages, self.finish(pending.result()), started):
            return True
        while self._in_flight:
            self._in_flight.popleft()[1].result()
        return False
