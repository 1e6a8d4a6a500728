"""Directory search at scale: latency per query kind in-process, and throughput over HTTP.

    python -m bench.search [--docs 131000] [--queries 300] [--path var/bench/search.db]
                           [--http-seconds 15] [--no-http]

Loads `bench.synthetic` listings (real listings re-placed across the UK) into the embedded index,
once: a file that already holds them is reused. Queries are built from the directory's own URL
parameters (`parse_search_args` + `to_query`), so the in-process figures time exactly what
`GET /search` asks of the index, facets on every dimension included. Words come from the real
sample's vocabulary in three bands of document frequency (the very common ones such as
"community" or "services" are what make full-text search slow); postcodes are real districts
drawn by population, radii 5-50 km.

Throughput: the directory service under gunicorn (`infra/gunicorn.conf.py`) on 127.0.0.1, driven
by `wrk` (Debian package `wrk`) with a Lua script that rotates through the same query URLs.
Targets (issue 4): p95 <= 20 ms per kind in-process, >= 400 requests/s over HTTP, two cores.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict

from bench.synthetic import ROOT, SAMPLE, fill_index, postcode_districts
from services.directory.search_params import parse_search_args, to_query
from shared.models import IMPACT_AREAS
from shared.search.embedded import EmbeddedSearchIndex
from shared.search.port import SearchQuery
from shared.search.schema import ENGLISH_STOP_WORDS, LISTINGS_SCHEMA

PREFIX = "bench-"
BATCH = 1000
# Words that every realistic mix must contain: they match tens of thousands of listings.
COMMON_WORDS = ("community", "services", "cleaning")
LEGAL_FORMS = ("cic", "charity", "cooperative", "company_limited_by_guarantee", "other")
Params = list[tuple[str, str]]


def load(index: EmbeddedSearchIndex, count: int) -> None:
    fill_index(index, count, BATCH)


def vocabulary() -> list[str]:
    """Words of the real sample ordered by how many listings use them, most common first."""
    frequency: collections.Counter[str] = collections.Counter()
    with SAMPLE.open(encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            text = " ".join([doc.get("name", ""), doc.get("description") or "", *doc.get("services", [])])
            frequency.update({w for w in re.findall(r"[a-z]{3,}", text.lower()) if w not in ENGLISH_STOP_WORDS})
    # Ties by word: `most_common` keeps insertion order, which follows set order (hash-seeded),
    # and the query mix must be the same on every run.
    return sorted(frequency, key=lambda word: (-frequency[word], word))


class QueryMix:
    """URL parameters for each query kind, drawn from real words, districts and facet values."""

    def __init__(self, seed: int = 4) -> None:
        self._rng = random.Random(seed)
        words = vocabulary()
        # Three bands of document frequency, drawn equally: very common, common, specific.
        self._bands = [list(dict.fromkeys([*COMMON_WORDS, *words[:30]])), words[30:300], words[300:3000]]
        districts = postcode_districts()
        self._districts = [d[0] for d in districts]
        self._weights = [d[4] for d in districts]
        self._regions = sorted({d[3] for d in districts if d[3]})

    def kinds(self) -> dict[str, Callable[[], Params]]:
        return {
            "text": lambda: [("q", self._words(self._rng.randint(1, 2)))],
            "text+radius": lambda: [("q", self._words(1)), *self._place()],
            "filters+facets": self._filters,
            "distance sort": lambda: [*self._place(), ("sort", "distance")],
        }

    def _words(self, count: int) -> str:
        return " ".join(self._rng.choice(self._rng.choice(self._bands)) for _ in range(count))

    def _place(self) -> Params:
        district = self._rng.choices(self._districts, weights=self._weights)[0]
        return [("postcode", district), ("radius_km", str(self._rng.randint(5, 50)))]

    def _filters(self) -> Params:
        params = [("region", self._rng.choice(self._regions)), ("impact_area", self._rng.choice(IMPACT_AREAS))]
        if self._rng.random() < 0.5:
            params.append(("legal_form", self._rng.choice(LEGAL_FORMS)))
        return params


def as_query(params: Params) -> SearchQuery:
    """The `SearchQuery` the directory's `GET /search` builds from these parameters."""
    return to_query(parse_search_args(MultiDict(params)))


def measure(index: EmbeddedSearchIndex, make: Callable[[], Params], n: int) -> tuple[float, float, float]:
    """p50 and p95 in ms of `index.search`, and the mean number of matches."""
    timings, totals = [], []
    for _ in range(n):
        query = as_query(make())
        started = time.perf_counter()
        totals.append(index.search(query).total)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), statistics.quantiles(timings, n=20)[18], statistics.mean(totals)


def report_latency(index: EmbeddedSearchIndex, mix: QueryMix, n: int) -> None:
    for make in mix.kinds().values():  # warm the page cache and the adapter's caches
        measure(index, make, 10)
    print(f"{'in-process':16} {'p50 ms':>8} {'p95 ms':>8} {'mean total':>11}")
    for name, make in mix.kinds().items():
        p50, p95, total = measure(index, make, n)
        print(f"{name:16} {p50:8.1f} {p95:8.1f} {total:11.0f}")


# -- HTTP ---------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def directory_service(db_path: Path) -> Iterator[str]:
    """gunicorn serving the directory on the bench file; yields its base URL."""
    port = _free_port()
    env = os.environ | {
        "SEARCH_URL": f"sqlite:///{db_path.resolve()}",
        "INDEX_PREFIX": PREFIX,
        "PORT": str(port),
        "LOG_LEVEL": "warning",
    }
    command = [str(Path(sys.executable).parent / "gunicorn"), "--config", "infra/gunicorn.conf.py",
               "services.directory.app:create_app()"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the directory service did not become ready")


def wrk_script(paths: list[str]) -> str:
    """A wrk Lua script sending the given paths in turn (each wrk thread keeps its own counter)."""
    listed = ",\n".join(json.dumps(p) for p in paths)
    return (
        f"local paths = {{\n{listed}\n}}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n"
    )


def report_throughput(db_path: Path, mix: QueryMix, seconds: int) -> None:
    """Requests/s for the whole mix, rotated evenly across kinds, and for each kind alone."""
    kinds = mix.kinds()
    paths = {name: [f"/search?{urlencode(make())}" for _ in range(200)] for name, make in kinds.items()}
    everything = [p for group in zip(*paths.values(), strict=True) for p in group]
    with directory_service(db_path) as base:
        # Untimed: each worker reads its snapshot and first word scores, as a long-running one has.
        run_wrk(base, everything, max(3, seconds // 3))
        print(f"{'over HTTP':16} {'req/s':>8} {'non-2xx':>8}")
        for name, group in [("mix", everything), *paths.items()]:
            rate, errors = run_wrk(base, group, seconds)
            print(f"{name:16} {rate:8.0f} {errors:8d}")


def run_wrk(base: str, paths: list[str], seconds: int) -> tuple[float, int]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(wrk_script(paths))
    try:
        out = subprocess.run(
            ["wrk", "-t2", "-c8", f"-d{seconds}s", "-s", fh.name, base],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(fh.name)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if rate is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return float(rate.group(1)), int(errors.group(1)) if errors else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--docs", type=int, default=131_000)
    parser.add_argument("--queries", type=int, default=300, help="queries per kind, in-process")
    parser.add_argument("--path", type=Path, default=ROOT / "var" / "bench" / "search.db")
    parser.add_argument("--http-seconds", type=int, default=15, help="wrk duration per run")
    parser.add_argument("--no-http", action="store_true", help="skip the gunicorn + wrk part")
    args = parser.parse_args()
    index = EmbeddedSearchIndex(str(args.path), LISTINGS_SCHEMA, prefix=PREFIX)
    index.ensure_index()
    load(index, args.docs)
    # As a worker does before its first request (gunicorn's post_worker_init asks /readyz), so the
    # figures are those of a running service, not of its first seconds.
    index.warm_up()
    mix = QueryMix()
    report_latency(index, mix, args.queries)
    index.close()
    if not args.no_http:
        report_throughput(args.path, mix, args.http_seconds)


if __name__ == "__main__":
    main()
