"""`make run`'s supervisor (`scripts/run_stack.py`) as a terminal drives it.

Ctrl-C pressed over and over (SIGINT to the supervisor's whole process group, 20 times) stops
the stack: every process of every service's group exits, and every port is free again. A port
already taken at start gives one line naming the port and its holder, not a traceback. And a
gunicorn service that gets SIGINT 20 times in its own group (master and workers together, as a
terminal's Ctrl-C reached them before each service had a group of its own) stops instead of
leaving a worker deadlocked on the second quit signal.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scripts.process_groups import live_members
from tests.e2e.processes import ROOT, free_port, stack_env, wait_http

pytestmark = pytest.mark.slow
SIGNALS = 20


def base_port() -> int:
    """Four free consecutive ports."""
    for _ in range(50):
        base = free_port()
        if base + 3 < 65536 and all(_free(base + i) for i in range(4)):
            return base
    raise AssertionError("no four free consecutive ports")


def _free(port: int) -> bool:
    """Whether a server could listen there now (connections left in TIME_WAIT do not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def supervisor(tmp_path: Path, base: int, sample: Path) -> subprocess.Popen[bytes]:
    env = {**stack_env(f"sqlite:///{tmp_path}/search.db", f"sqlite:///{tmp_path}/events.db", "", tmp_path),
           "STACK_BASE_PORT": str(base), "STACK_VAR": str(tmp_path), "STACK_SAMPLE": str(sample),
           "WEB_CONCURRENCY": "1"}
    return subprocess.Popen([sys.executable, "-m", "scripts.run_stack"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def small_sample(tmp_path: Path) -> Path:
    path = tmp_path / "sample.jsonl"
    lines = (ROOT / "data" / "sample" / "listings.jsonl").read_text().splitlines()[:20]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_ctrl_c_twenty_times_stops_every_process(tmp_path: Path) -> None:
    base = base_port()
    proc = supervisor(tmp_path, base, small_sample(tmp_path))
    try:
        for port in range(base, base + 4):
            wait_http(f"http://127.0.0.1:{port}/healthz", timeout_s=90)
        # Each service (and the loader, while it runs) leads a session of its own: its pid is its group.
        groups = [pid for pid in children(proc.pid) if live_members(pid)]
        assert len(groups) >= 4
        members = {g: live_members(g) for g in groups}
        for _ in range(SIGNALS):
            os.killpg(proc.pid, signal.SIGINT)
            time.sleep(0.05)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b"Traceback" not in err, err.decode()[-3000:]
    survivors = {g: live_members(g) for g in groups}
    assert not any(survivors.values()), (survivors, members)
    assert all(_free(port) for port in range(base, base + 4))


def test_a_port_in_use_gives_one_line_naming_it(tmp_path: Path) -> None:
    base = base_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", base + 1))
        holder.listen()
        proc = supervisor(tmp_path, base, small_sample(tmp_path))
        out, err = proc.communicate(timeout=30)
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 2
    assert len(lines) == 1 and f"port {base + 1}" in lines[0] and f"pid {os.getpid()}" in lines[0], lines
    assert children(proc.pid) == []


def test_a_gunicorn_group_stops_on_repeated_sigint(tmp_path: Path) -> None:
    port = free_port()
    env = stack_env(f"sqlite:///{tmp_path}/search.db", f"sqlite:///{tmp_path}/events.db", "", tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", str(ROOT / "infra" / "gunicorn.conf.py"),
                             "--bind", f"127.0.0.1:{port}", "--workers", "2", "services.ingest.app:create_app()"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        for _ in range(SIGNALS):
            os.killpg(proc.pid, signal.SIGINT)
            time.sleep(0.02)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while live_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert live_members(proc.pid) == []
        assert _free(port)
    finally:
        if live_members(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
