"""Every consumer metric declared in one place, and the tiny server that exposes them.

The consumer is not a web app, so it serves `/metrics` (Prometheus text format) and `/healthz`
from a background thread on 127.0.0.1 instead of pulling in Flask.

Counters are labelled by topic (and dead letters by the kind of reason, the reason's text up to
its first detail, so the label set stays small). `ingest_dead_letters_in_log` is read from the
dead-letter topics themselves, so it survives restarts and counts the loader's rejects too.
`/healthz` answers 503 "stalled" when the consumer has made no progress for `stall_after_s` while
records wait (lag > 0, as last measured): alive but stuck, which a process check cannot see.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

MAX_REASON_LABEL = 60


def reason_kind(reason: str) -> str:
    """A dead letter's reason without its details: `the spend store refused the record (OverflowError:
    …)` is counted as `the spend store refused the record`."""
    return re.split(r"[(:]", reason, maxsplit=1)[0].strip()[:MAX_REASON_LABEL] or "unknown"


class ConsumerMetrics:
    def __init__(self, stall_after_s: float = 300.0) -> None:
        self.registry = CollectorRegistry()
        self.consumed = Counter("ingest_consumed", "Records read from the log.", ["topic"], registry=self.registry)
        self.indexed = Counter("ingest_indexed", "Documents written or deleted in the index.", registry=self.registry)
        self.stale = Counter("ingest_stale", "Upserts ignored because a newer version is indexed.",
                             registry=self.registry)
        self.dead_lettered = Counter("ingest_dead_lettered", "Records this process sent to a dead-letter topic,"
                                     " by topic and kind of reason.", ["topic", "reason"], registry=self.registry)
        self.dead_letters_in_log = Gauge("ingest_dead_letters_in_log", "Records held in each dead-letter topic"
                                         " (read from the log: every process's, the loader's too).", ["topic"],
                                         registry=self.registry)
        self.spend_relinked = Counter("ingest_spend_relinked", "Spend records whose supplier link changed when"
                                      " linked again after listings were indexed.", registry=self.registry)
        self.rebalances = Counter("ingest_rebalances", "Batches read again because the group moved their"
                                  " partitions before they were committed.", ["topic"], registry=self.registry)
        self.lag = Gauge("ingest_lag", "Records published but not yet committed, as last measured.", ["topic"],
                         registry=self.registry)
        self.last_batch = Gauge("ingest_last_batch_timestamp_seconds", "When a batch was last committed (Unix time).",
                                ["topic"], registry=self.registry)
        self.batch_seconds = Histogram("ingest_batch_seconds", "Time to process and commit one batch.",
                                       registry=self.registry)
        self.stall_after_s = stall_after_s
        self._lags: dict[str, int] = {}
        self._progress = time.monotonic()

    def dead_letter(self, topic: str, reason: str, count: int = 1) -> None:
        self.dead_lettered.labels(topic=topic, reason=reason_kind(reason)).inc(count)

    def measured_lag(self, topic: str, lag: int) -> None:
        self.lag.labels(topic=topic).set(lag)
        self._lags[topic] = lag
        if lag == 0:  # caught up: idling is not stalling
            self._progress = time.monotonic()

    def committed(self, topic: str) -> None:
        self.last_batch.labels(topic=topic).set(time.time())
        self._progress = time.monotonic()

    def health(self) -> tuple[int, dict[str, object]]:
        """200 "ok", or 503 "stalled" with how long since progress and the lag that waits."""
        waiting = sum(self._lags.values())
        idle_s = time.monotonic() - self._progress
        if waiting > 0 and idle_s > self.stall_after_s:
            return 503, {"status": "stalled", "seconds_since_progress": round(idle_s), "lag": self._lags}
        return 200, {"status": "ok"}

    def render(self) -> bytes:
        return generate_latest(self.registry)


def serve_metrics(metrics: ConsumerMetrics, port: int) -> ThreadingHTTPServer:
    """Start the metrics/health server in a daemon thread; returns it so main can shut it down."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path == "/metrics":
                self._send(200, metrics.render(), CONTENT_TYPE_LATEST)
            elif self.path == "/healthz":
                status, body = metrics.health()
                self._send(status, json.dumps(body).encode(), "application/json")
            else:
                self._send(404, b'{"detail": "not found", "errors": []}', "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # scrapes are not news
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
