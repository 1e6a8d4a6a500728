"""Start `noida-db` as a stand-in for Elasticsearch and Kafka, for tests that need real wire protocols.

One server per test session (or module) keeps the suite fast; each test isolates itself with its
own index prefix and topic names.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from scripts.process_groups import live_members

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
HOST = "127.0.0.1"


@dataclass
class NoidaServer:
    """A running noida-db; `stop()` ends it and everything it spawned."""

    process: subprocess.Popen[bytes]
    es_port: int
    kafka_port: int
    log_path: Path

    @property
    def es_url(self) -> str:
        return f"http://{HOST}:{self.es_port}"

    @property
    def kafka_url(self) -> str:
        return f"kafka://{HOST}:{self.kafka_port}"

    @property
    def kafka_bootstrap(self) -> str:
        return f"{HOST}:{self.kafka_port}"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM to the whole process group, then wait until every process in it has gone.

        The `noida-db` script is a Python wrapper around the real binary and does not forward
        signals, so the group is signalled; and the wrapper exits at once while the binary can
        still serve (and acknowledge writes it then loses) for a moment, so waiting for the
        wrapper alone would let a test believe the server was down while it was not.
        """
        group = self.process.pid
        try:
            os.killpg(group, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while live_members(group):
            if time.monotonic() > deadline:
                os.killpg(group, signal.SIGKILL)
                deadline = float("inf")
            time.sleep(0.05)
        self.process.wait()


def start_noida(data_dir: Path) -> NoidaServer:
    """Start noida-db with Elasticsearch and Kafka on free ports and wait until both answer."""
    es_port, kafka_port = _free_port(), _free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.with_name(f"{data_dir.name}.log")
    command = [
        _noida_binary(), "start", "--data-dir", str(data_dir), "--only", "elasticsearch,kafka",
        "--elasticsearch-port", str(es_port), "--kafka-port", str(kafka_port),
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = NoidaServer(process, es_port, kafka_port, log_path)
    try:
        _wait_until_ready(server)
    except BaseException:
        server.stop()
        raise
    return server


def _noida_binary() -> str:
    """Prefer the virtualenv's noida-db (beside the interpreter running the tests), then PATH."""
    beside = Path(sys.executable).parent / "noida-db"
    found = str(beside) if beside.exists() else shutil.which("noida-db")
    if found is None:
        raise RuntimeError("noida-db not found; install the dev requirements (pip install noida-db)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _wait_until_ready(server: NoidaServer) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"noida-db exited with {server.process.returncode}:\n{server.output()}")
        if _es_answers(server.es_url) and _port_open(server.kafka_port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"noida-db not ready after {STARTUP_TIMEOUT_S:.0f}s:\n{server.output()}")


def _es_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False
