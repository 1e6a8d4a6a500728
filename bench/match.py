"""The matcher's speed at 131,000 listings on the embedded backend: latency per lot and throughput.

    python -m bench.match [--docs 131000] [--db var/bench/match.db] [--lots 300] [--seconds 20]

1. Loads `bench.synthetic` listings into an embedded SQLite index (skipped when the file already
   holds them).
2. Builds lots from `bench.lots` (real OCDS lots and constructed ones), each delivered to a real
   postcode district drawn by population, with a radius of 10 to 50 km.
3. In-process: POSTs each lot to `/match` through Flask's test client, one at a time, and prints
   p50/p95 latency, wall and CPU (everything but the socket: parsing, recall, scoring, JSON).
   First sight: each lot's text is new to the process, which asks the index how common each of
   its words is. Steady: the same texts placed elsewhere, once those counts are cached, as in a
   service that has been running for a while.
4. Over HTTP: starts the matcher under gunicorn with `infra/gunicorn.conf.py` on 127.0.0.1 and
   drives it with `wrk` (a Lua script cycles through the lot bodies), printing matches per second.
   Without `wrk` on PATH, a Python thread pool drives it instead (and competes for the CPU).

Targets (issue 5): p95 <= 50 ms per lot; >= 100 matches/s on a two-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.lots import ROOT, all_lots
from bench.synthetic import fill_index, postcode_districts
from bench.timing import latency_summary, post_each
from services.matcher.app import create_app
from shared.search.factory import open_search_index

BATCH = 5000
WRK_SCRIPT = """
local bodies, i = {}, 0
for line in io.lines("%s") do bodies[#bodies + 1] = line end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i %% #bodies + 1
  return wrk.format(nil, "/match", nil, bodies[i])
end
"""


def load(url: str, docs: int) -> None:
    """Fill the index with `docs` synthetic listings unless it already holds them."""
    index = open_search_index(url)
    try:
        fill_index(index, docs, BATCH)
    finally:
        index.close()


def lot_bodies(count: int, seed: int = 5) -> list[dict[str, Any]]:
    """`count` plain lots cycling through the benchmark lots, each placed in a real district."""
    rng = random.Random(seed)
    districts = postcode_districts()
    weights = [d[4] for d in districts]
    texts = all_lots()
    bodies = []
    for n in range(count):
        text = texts[n % len(texts)]
        body: dict[str, Any] = {
            "title": text.title,
            "description": text.description,
            "cpv_codes": list(text.cpv_codes),
            "postcode": rng.choices(districts, weights=weights)[0][0],
            "radius_km": rng.choice([10, 20, 25, 30, 40, 50]),
            "social_value_priorities": list(text.social_value_priorities),
        }
        if text.value_pence is not None:
            body["value_pence"] = text.value_pence
        bodies.append(body)
    return bodies


def in_process(url: str, bodies: list[dict[str, Any]]) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds per `/match`, one request at a time."""
    return post_each(create_app({"search_url": url}).test_client(), "/match", bodies)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    base: str
    pid: int

    def worker_cpu_s(self) -> float:
        """CPU seconds the workers have used so far (Linux /proc): on a shared machine, matches per
        CPU second say what two free cores would serve, whatever else is running."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        ticks = 0
        for child in children:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def gunicorn(url: str, workers: int) -> Iterator[Server]:
    """The matcher under gunicorn as deployed, once `/readyz` answers."""
    port = _free_port()
    env = {**os.environ, "SEARCH_URL": url, "PORT": str(port), "WEB_CONCURRENCY": str(workers)}
    command = [sys.executable, "-m", "gunicorn", "-c", "infra/gunicorn.conf.py", "services.matcher.app:create_app()"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not become ready") from None
                time.sleep(0.2)
        yield Server(base, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _post(base: str, body: bytes) -> int:
    request = urllib.request.Request(
        f"{base}/match", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        return int(response.status)


def warm_up(base: str, bodies: list[bytes]) -> None:
    """Every lot twice before the clock starts, so that each worker has met most of the words (the
    steady state of a running service) and has read the index into its caches."""
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda b: _post(base, b), bodies * 2))


def with_wrk(base: str, bodies: list[bytes], seconds: int, connections: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        lines = Path(tmp) / "bodies.jsonl"
        lines.write_bytes(b"\n".join(bodies) + b"\n")
        script = Path(tmp) / "post.lua"
        script.write_text(WRK_SCRIPT % lines)
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), base],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
    if "Non-2xx" in out:
        raise SystemExit(f"some matches failed:\n{out}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if found is None:
        raise SystemExit(f"cannot read wrk output:\n{out}")
    return float(found.group(1))


def with_threads(base: str, bodies: list[bytes], seconds: int, connections: int) -> float:
    deadline = time.monotonic() + seconds

    def client(offset: int) -> int:
        done = 0
        while time.monotonic() < deadline:
            if _post(base, bodies[(offset + done) % len(bodies)]) != 200:
                raise SystemExit("a match failed")
            done += 1
        return done

    started = time.monotonic()
    with ThreadPoolExecutor(connections) as pool:
        total = sum(pool.map(client, range(0, connections * 37, 37)))
    return total / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=131_000)
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "bench" / "match.db")
    parser.add_argument("--lots", type=int, default=250, help="lots per in-process pass (cycling the set)")
    parser.add_argument("--seconds", type=int, default=20, help="length of the HTTP run")
    parser.add_argument("--connections", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (WEB_CONCURRENCY)")
    args = parser.parse_args()
    url = f"sqlite:///{args.db.resolve()}"
    load(url, args.docs)
    bodies = lot_bodies(2 * args.lots)
    print(f"load average {os.getloadavg()[0]:.1f} (other work on the machine inflates wall times)")
    wall, cpu = in_process(url, bodies)
    half = args.lots
    print(latency_summary(f"in-process, first sight ({half})", wall[:half], cpu[:half]))
    print(latency_summary(f"in-process, steady ({half})", wall[half:], cpu[half:]))
    encoded = [json.dumps(b).encode() for b in bodies[half:]]
    driver, drive = ("wrk", with_wrk) if shutil.which("wrk") else ("python threads", with_threads)
    with gunicorn(url, args.workers) as server:
        warm_up(server.base, encoded)
        used = server.worker_cpu_s()
        rate = drive(server.base, encoded, args.seconds, args.connections)
        per_match = (server.worker_cpu_s() - used) / (rate * args.seconds)
    print(f"HTTP ({driver}, {args.connections} connections, {args.workers} gunicorn workers,"
          f" {args.seconds} s): {rate:.1f} matches/s; workers' CPU {per_match * 1000:.1f} ms per match,"
          f" so {args.workers / per_match:.0f} matches/s if they had {args.workers} cores to themselves")  # fmt: skip


if __name__ == "__main__":
    main()
