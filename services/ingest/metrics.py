"""Every consumer metric declared in one place, and the tiny server that exposes them.

The consumer is not a web app, so it serves `/metrics` (Prometheus text format) and `/healthz`
from a background thread on 127.0.0.1 instead of pulling in Flask.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class ConsumerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.consumed = Counter("ingest_consumed", "Records read from the log.", registry=self.registry)
        self.indexed = Counter("ingest_indexed", "Documents written or deleted in the index.", registry=self.registry)
        self.stale = Counter("ingest_stale", "Upserts ignored because a newer version is indexed.",
                             registry=self.registry)
        self.dead_lettered = Counter("ingest_dead_lettered", "Records sent to the dead-letter topic.",
                                     registry=self.registry)
        self.spend_relinked = Counter("ingest_spend_relinked", "Spend records whose supplier link changed when"
                                      " linked again after listings were indexed.", registry=self.registry)
        self.rebalances = Counter("ingest_rebalances", "Batches read again because the group moved their partitions"
                                  " before they were committed.", registry=self.registry)
        self.lag = Gauge("ingest_lag", "Records published but not yet committed.", registry=self.registry)
        self.batch_seconds = Histogram("ingest_batch_seconds", "Time to process and commit one batch.",
                                       registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def serve_metrics(metrics: ConsumerMetrics, port: int) -> ThreadingHTTPServer:
    """Start the metrics/health server in a daemon thread; returns it so main can shut it down."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path == "/metrics":
                self._send(200, metrics.render(), CONTENT_TYPE_LATEST)
            elif self.path == "/healthz":
                self._send(200, b'{"status": "ok"}', "application/json")
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
