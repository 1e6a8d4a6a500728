"""`make run`: the whole stack on one machine, embedded backends, stopped cleanly by Ctrl-C.

Starts the ingest consumer and the three services (gunicorn) on 127.0.0.1, loads the sample
directory through the event log (never straight into the index), waits until it is indexed,
prints the URLs, and on Ctrl-C or SIGTERM stops every process it started.

Each service runs in a process group of its own, so a terminal's Ctrl-C (SIGINT to the terminal's
whole group) reaches only this supervisor, which then signals each group once: gunicorn's master
and workers, the consumer and its worker process never see two stop signals racing each other.
Stopping waits for every process of every group and sends SIGKILL to any group still running
after STOP_GRACE_S; further Ctrl-Cs meanwhile are ignored. A port already in use at start gives
one line naming it and the process holding it.

`STACK_BASE_PORT` (default 8080) moves the four ports together (directory, matcher, ingest,
consumer metrics); `STACK_VAR` (default `var/`) is where the embedded stores live; `STACK_SAMPLE`
is the file loaded at start (default the sample directory).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from scripts.process_groups import live_members, port_holder

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample" / "listings.jsonl"
SERVICE_NAMES = ("directory", "matcher", "ingest")
STOP_GRACE_S = 25.0  # above gunicorn's graceful timeout (20 s), so a clean stop is never cut short


@dataclass(frozen=True)
class Ports:
    directory: int
    matcher: int
    ingest: int
    consumer: int

    @classmethod
    def from_base(cls, base: int) -> Ports:
        return cls(base, base + 1, base + 2, base + 3)

    def services(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in SERVICE_NAMES}

    def all(self) -> list[int]:
        return [*self.services().values(), self.consumer]


class PortTaken(Exception):
    pass


def stack_env(ports: Ports) -> dict[str, str]:
    var = Path(os.environ.get("STACK_VAR", ROOT / "var"))
    var.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("SEARCH_URL", f"sqlite:///{var}/search.db")
    env.setdefault("EVENTS_URL", f"sqlite:///{var}/events.db")
    env.setdefault("ACCOUNTS_URL", f"sqlite:///{var}/accounts.db")
    env.setdefault("DIRECTORY_MATCHER_URL", f"http://127.0.0.1:{ports.matcher}")
    env["INGEST_METRICS_PORT"] = str(ports.consumer)
    env["PYTHONPATH"] = str(ROOT)
    return env


def check_ports_free(ports: Ports) -> None:
    """Raise PortTaken naming the first port in use and, when it can be told, who holds it."""
    for port in ports.all():
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                holder = port_holder(port) or "another process"
                raise PortTaken(f"port {port} is already in use by {holder}; stop it, or set STACK_BASE_PORT"
                                " to start the stack on other ports") from exc


def start_all(env: dict[str, str], ports: Ports, procs: list[subprocess.Popen[bytes]]) -> None:
    """Each process in a new session (so a group of its own) that only this supervisor signals;
    appended to `procs` as it starts, so an interrupt meanwhile still stops those started."""
    procs.append(subprocess.Popen([sys.executable, "-m", "services.ingest.consumer"], cwd=ROOT, env=env,
                                  start_new_session=True))
    for name, port in ports.services().items():
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "infra" / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{port}", f"services.{name}.app:create_app()"],
            cwd=ROOT, env=env, start_new_session=True,
        ))


def wait_until(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer in time")


# The first search `make run` suggests (and the README's first example): it must find something
# in the sample directory (tests/integration/test_search_query_set.py checks that it does).
EXAMPLE_SEARCH = "/search?q=bicycle&postcode=LS1%201UN&radius_km=50"


def example_answer(port: int) -> str:
    """How many suppliers the example finds and the first of them, as the running stack answers."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{EXAMPLE_SEARCH}", timeout=5) as response:
        body = json.load(response)
    first = f"; first: {body['results'][0]['name']}" if body["results"] else ""
    return f"{body['total']} suppliers{first}"


def indexed_count(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/search?per_page=1", timeout=5) as response:
        return int(json.load(response)["total"])


def wait_for_consumer(env: dict[str, str], deadline: float) -> None:
    """Wait until the indexing group has committed everything published (lag read from the log)."""
    from services.ingest.config import IngestSettings
    from shared.events.factory import open_event_log

    settings = IngestSettings(search_url=env["SEARCH_URL"], events_url=env["EVENTS_URL"])
    events = open_event_log(settings.events_url, client_id="run-stack")
    consumer = events.consumer(settings.topic(settings.listings_topic), settings.topic(settings.consumer_group))
    try:
        while consumer.lag() > 0:
            if time.monotonic() > deadline:
                raise TimeoutError("the consumer did not catch up in time")
            time.sleep(0.5)
    finally:
        consumer.close()
        events.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _still_stopping(signum: int, frame: object) -> None:
    print(f"still stopping (up to {STOP_GRACE_S:.0f} s, then every process is killed)", file=sys.stderr, flush=True)


def stop_all(procs: list[subprocess.Popen[bytes]], grace_s: float = STOP_GRACE_S) -> list[int]:
    """SIGTERM each group once, wait for every member, SIGKILL what is left; returns pids killed."""
    signal.signal(signal.SIGINT, _still_stopping)
    signal.signal(signal.SIGTERM, _still_stopping)
    groups = [proc.pid for proc in procs]  # a new session's leader: its pid is the group id
    for pgid in groups:
        _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(live_members(g) for g in groups):
        _reap(procs)
        time.sleep(0.1)
    killed = [pid for g in groups for pid in live_members(g)]
    for pgid in groups:
        if live_members(pgid):
            _signal_group(pgid, signal.SIGKILL)
    for proc in procs:
        proc.wait()
    return killed


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with suppress(ProcessLookupError):  # the whole group has exited already
        os.killpg(pgid, signum)


def _reap(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.poll()


def main() -> int:
    ports = Ports.from_base(int(os.environ.get("STACK_BASE_PORT", "8080")))
    try:
        check_ports_free(ports)
    except PortTaken as exc:
        print(f"socialmatch: {exc}", file=sys.stderr)
        return 2
    env = stack_env(ports)
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        start_all(env, ports, procs)
        deadline = time.monotonic() + 90
        for port in ports.all():
            wait_until(f"http://127.0.0.1:{port}/healthz", deadline)
        sample = os.environ.get("STACK_SAMPLE", str(SAMPLE))
        # In a group of its own too; on Ctrl-C `run` kills it (what it published is durable, and
        # loading the file again later republishes the same records by id).
        subprocess.run([sys.executable, "-m", "services.ingest.cli", "load", sample], cwd=ROOT, env=env, check=True,
                       start_new_session=True)
        wait_for_consumer(env, deadline + 60)
        print(f"\nsocialmatch is running ({indexed_count(ports.directory)} listings indexed):")
        for name, port in ports.services().items():
            print(f"  {name:10s} http://127.0.0.1:{port}/")
        print(f"  {'consumer':10s} http://127.0.0.1:{ports.consumer}/metrics")
        print(f"Try: curl 'http://127.0.0.1:{ports.directory}{EXAMPLE_SEARCH}'  ({example_answer(ports.directory)})")
        print("Press Ctrl-C to stop.", flush=True)
        while all(proc.poll() is None for proc in procs):
            time.sleep(0.5)
        print("socialmatch: a process exited; stopping the stack", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    except (TimeoutError, subprocess.CalledProcessError) as exc:
        print(f"socialmatch: {exc}; stopping the stack", file=sys.stderr)
        return 1
    finally:
        killed = stop_all(procs)
        if killed:
            print(f"socialmatch: killed {len(killed)} processes that did not stop in {STOP_GRACE_S:.0f} s",
                  file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
