"""`make run`: the whole stack on one machine, embedded backends, stopped cleanly by Ctrl-C.

Starts the ingest consumer and the three services (gunicorn) on 127.0.0.1, loads the sample
directory through the event log (never straight into the index), waits until it is indexed,
prints the URLs, and on Ctrl-C or SIGTERM stops every process it started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample" / "listings.jsonl"
SERVICES = {"directory": 8080, "matcher": 8081, "ingest": 8082}
CONSUMER_METRICS_PORT = 8083


def stack_env() -> dict[str, str]:
    var = ROOT / "var"
    var.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("SEARCH_URL", f"sqlite:///{var}/search.db")
    env.setdefault("EVENTS_URL", f"sqlite:///{var}/events.db")
    env.setdefault("DIRECTORY_MATCHER_URL", f"http://127.0.0.1:{SERVICES['matcher']}")
    env.setdefault("INGEST_METRICS_PORT", str(CONSUMER_METRICS_PORT))
    env["PYTHONPATH"] = str(ROOT)
    return env


def start_all(env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    procs = [subprocess.Popen([sys.executable, "-m", "services.ingest.consumer"], cwd=ROOT, env=env)]
    for name, port in SERVICES.items():
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "infra" / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{port}", f"services.{name}.app:create_app()"],
            cwd=ROOT, env=env,
        ))
    return procs


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


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> int:
    env = stack_env()
    procs = start_all(env)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        deadline = time.monotonic() + 90
        for port in SERVICES.values():
            wait_until(f"http://127.0.0.1:{port}/healthz", deadline)
        wait_until(f"http://127.0.0.1:{CONSUMER_METRICS_PORT}/healthz", deadline)
        subprocess.run([sys.executable, "-m", "services.ingest.cli", "load", str(SAMPLE)], cwd=ROOT, env=env,
                       check=True)
        wait_for_consumer(env, deadline + 60)
        print(f"\nsocialmatch is running ({indexed_count(SERVICES['directory'])} listings indexed):")
        for name, port in SERVICES.items():
            print(f"  {name:10s} http://127.0.0.1:{port}/")
        print(f"  {'consumer':10s} http://127.0.0.1:{CONSUMER_METRICS_PORT}/metrics")
        print("Try: curl 'http://127.0.0.1:8080/search?q=bicycle&postcode=BT13%203RU&radius_km=50'")
        print("Press Ctrl-C to stop.", flush=True)
        while all(proc.poll() is None for proc in procs):
            time.sleep(0.5)
        print("a process exited; stopping the stack", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    finally:
        stop_all(procs)


if __name__ == "__main__":
    sys.exit(main())
