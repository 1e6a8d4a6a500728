"""Real processes for end-to-end tests: the consumer and the gunicorn-served services."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from shared.search.factory import open_search_index
from tests.factories import directory

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout_s}s")


@dataclass
class Stack:
    """Environment shared by every process of one test's stack, and the processes it started."""

    env: dict[str, str]
    log_dir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def start_consumer(self, **extra_env: str) -> subprocess.Popen[bytes]:
        env = {**self.env, "INGEST_METRICS_PORT": "0", **extra_env}
        proc = self._spawn("consumer", [sys.executable, "-m", "services.ingest.consumer"], env)
        return proc

    def start_service(self, name: str) -> str:
        port = free_port()
        self.ports[name] = port
        self._spawn(name, [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "infra" / "gunicorn.conf.py"),
                           "--bind", f"127.0.0.1:{port}", "--workers", "2", f"services.{name}.app:create_app()"],
                    self.env)
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/healthz")
        return url

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs[name] = proc
        return proc

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def stack_env(search_url: str, events_url: str, prefix: str, state_dir: Path | None = None) -> dict[str, str]:
    """The environment of one test's stack; accounts, spend and the ingest state live in `state_dir`
    (a new temporary directory unless given), never in the repository's var/."""
    state = state_dir or Path(tempfile.mkdtemp(prefix="socialmatch-state-"))
    env = dict(os.environ)
    env.update({
        "SEARCH_URL": search_url,
        "EVENTS_URL": events_url,
        "ACCOUNTS_URL": f"sqlite:///{state}/accounts.db",
        "SPEND_URL": f"sqlite:///{state}/spend.db",
        "STATE_URL": f"sqlite:///{state}/{prefix}ingest-state.db",
        "INDEX_PREFIX": prefix,
        "TOPIC_PREFIX": prefix,
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "WARNING",
    })
    return env


def embedded_env_with_directory(tmp: Path, label: str) -> dict[str, str]:
    """A stack's environment over fresh embedded stores in `tmp` (state too), its index already
    holding the test directory (`tests.factories.directory`), under a prefix unique to the call."""
    prefix = f"{label}{uuid.uuid4().hex[:8]}-"
    env = stack_env(f"sqlite:///{tmp}/search.db", f"sqlite:///{tmp}/events.db", prefix, tmp)
    index = open_search_index(env["SEARCH_URL"], prefix=prefix)
    try:
        index.ensure_index()
        assert not index.bulk_upsert(directory()).failed
    finally:
        index.close()
    return env
