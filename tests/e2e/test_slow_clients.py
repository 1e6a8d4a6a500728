"""A slow or half-open client cannot take a service down: 50 connections that send half a request
(headers cut off, or a body cut short) wait in the worker's event loop, not in its threads, while
`/healthz` keeps answering; they are closed after the client timeout. gunicorn's own errors (a
request line past its limit) come in the problem shape."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import Stack, stack_env

HALF_OPEN = 50
CLIENT_TIMEOUT_S = 3


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("slow")
    env = stack_env(f"sqlite:///{tmp}/search.db", f"sqlite:///{tmp}/events.db", "slow-", tmp)
    env["GUNICORN_CLIENT_TIMEOUT"] = str(CLIENT_TIMEOUT_S)
    stack = Stack(env=env, log_dir=Path(tmp))
    yield stack.start_service("ingest")
    stack.stop_all()


def half_open(url: str, payload: bytes) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.sendall(payload)
    return sock


def healthz_seconds(url: str) -> float:
    started = time.monotonic()
    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
        assert response.status == 200
    return time.monotonic() - started


def test_fifty_half_open_connections_do_not_stop_healthz(service: str) -> None:
    cut_headers = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
    cut_body = b"POST /listings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 900\r\n\r\n{"
    socks = [half_open(service, cut_headers if i % 2 else cut_body) for i in range(HALF_OPEN)]
    try:
        time.sleep(0.5)
        timings = [healthz_seconds(service) for _ in range(10)]
        assert max(timings) < 1.0, timings
        time.sleep(CLIENT_TIMEOUT_S + 2)  # past the client timeout the worker has closed them all
        closed = 0
        for sock in socks:
            sock.settimeout(1)
            try:
                closed += sock.recv(1) == b""
            except (TimeoutError, ConnectionResetError):
                closed += 0
        assert closed == HALF_OPEN
    finally:
        for sock in socks:
            sock.close()


def test_a_request_sent_in_pieces_is_still_served(service: str) -> None:
    sock = half_open(service, b"GET /heal")
    try:
        time.sleep(0.3)
        sock.sendall(b"thz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = sock.recv(4096)
        assert reply.startswith(b"HTTP/1.1 200")
    finally:
        sock.close()


def test_a_request_line_past_gunicorns_limit_is_a_json_problem(service: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(f"{service}/healthz?q={'a' * 9000}", timeout=5)
    assert raised.value.code == 400
    assert raised.value.headers["Content-Type"] == "application/json"
    assert set(json.loads(raised.value.read())) == {"detail", "errors"}


def test_an_8kb_query_string_reaches_the_app(service: str) -> None:
    with urllib.request.urlopen(f"{service}/healthz?q={'a' * 8000}", timeout=5) as response:
        assert response.status == 200
