"""Latency of one request at a time through a Flask test client, in wall and CPU time.

Wall time is what a user waits; CPU time is what the request cost, and stays meaningful on a
shared machine where other work stretches the wall clock. Every bench reports both the same way.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable
from typing import Any

from flask.testing import FlaskClient


def post_each(client: FlaskClient, path: str, bodies: Iterable[dict[str, Any]]) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds per POST, in order; any answer but 200 stops the bench loudly."""
    wall, cpu = [], []
    for body in bodies:
        started, used = time.perf_counter(), time.process_time()
        response = client.post(path, json=body)
        cpu.append((time.process_time() - used) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
    return wall, cpu


def latency_summary(label: str, wall: list[float], cpu: list[float]) -> str:
    """One line: p50 and p95 of wall and CPU milliseconds."""

    def cut(values: list[float]) -> str:
        return f"p50 {statistics.median(values):5.1f} ms, p95 {statistics.quantiles(values, n=20)[18]:5.1f} ms"

    return f"{label:28} wall {cut(wall)}; CPU {cut(cpu)}"
