"""End-to-end ingest benchmark on the embedded backend: publish, consume, index; report the rate.

    .venv/bin/python -m bench.ingest --n 131000

Generates realistic listings (`bench.synthetic`), publishes them to a fresh embedded log while a
real consumer process (`python -m services.ingest.consumer`, with its prepare worker unless
INGEST_PREPARE_WORKER=false) indexes them into a fresh embedded index, and prints listings per
second end to end (first publish to last commit) and the peak resident memory (VmHWM from /proc)
of the consumer and its child processes. `--profile` runs the consumer's per-batch work in this
process instead, inline, under cProfile, to show where the time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.synthetic import synthetic_listings
from services.ingest.config import IngestSettings
from shared.events.embedded import EmbeddedEventLog

ROOT = Path(__file__).resolve().parent.parent
TOPIC = "listings"
GROUP = "ingest-indexer"


def publish(events: EmbeddedEventLog, docs: list[dict[str, object]], chunk: int) -> float:
    """Publish in chunks (as the CLI does); returns the seconds it took."""
    started = time.monotonic()
    for start in range(0, len(docs), chunk):
        events.publish(TOPIC, [(str(d["id"]), d) for d in docs[start:start + chunk]])
    return time.monotonic() - started


def memory_mb(pid: int) -> dict[str, object]:
    """Peak resident set (VmHWM) of the consumer with its child processes (the prepare worker and
    multiprocessing's resource tracker), and, now, its anonymous and file-backed parts, in MB. Each
    figure is the processes' sum (for the peak, an upper bound: they need not peak at once);
    `peak_rss_by_process_mb` lists the consumer's first.

    The embedded index maps its SQLite file (mmap), so file-backed pages - page cache the kernel
    can drop - count towards the resident set; the anonymous part is the heap and SQLite caches.
    """
    names = (("consumer_peak_rss_mb", "VmHWM"), ("rss_anon_mb", "RssAnon"), ("rss_file_mb", "RssFile"))
    totals = dict.fromkeys((name for name, _ in names), 0.0)
    peaks = []
    for process in (pid, *children(pid)):
        status = Path(f"/proc/{process}/status").read_text().splitlines()
        fields = dict(line.split(":", 1) for line in status if ":" in line)
        for name, key in names:
            totals[name] += int(fields[key].split()[0]) / 1024
        peaks.append(round(int(fields["VmHWM"].split()[0]) / 1024, 1))
    return {**{name: round(value, 1) for name, value in totals.items()}, "peak_rss_by_process_mb": peaks}


def children(pid: int) -> list[int]:
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]


REGISTRY_FIELDS = ("company_number", "charity_number", "society_number")


def distinct_organisations(n: int) -> list[dict[str, object]]:
    """Synthetic listings without the registry numbers they copy from their template: each stands
    for a different organisation, and a shared number would (rightly) make de-duplication merge them."""
    return [{k: v for k, v in doc.items() if k not in REGISTRY_FIELDS} for doc in synthetic_listings(n)]


def run(n: int, batch: int, workdir: Path) -> dict[str, object]:
    """Stream `n` listings through a real consumer process; the figures the README quotes."""
    docs = distinct_organisations(n)
    env = {**os.environ, "SEARCH_URL": f"sqlite:///{workdir}/search.db", "EVENTS_URL": f"sqlite:///{workdir}/events.db",
           "INGEST_METRICS_PORT": "0", "INGEST_BATCH_SIZE": str(batch), "INGEST_BATCH_TIMEOUT_S": "0.5",
           "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    events = EmbeddedEventLog(str(workdir / "events.db"))
    events.ensure_topics([TOPIC])
    consumer = subprocess.Popen([sys.executable, "-m", "services.ingest.consumer"], cwd=ROOT, env=env)
    time.sleep(1.5)  # let it import and open its stores, so the rate measures streaming, not start-up
    started = time.monotonic()
    published: dict[str, float] = {}
    publisher = threading.Thread(target=lambda: published.update(s=publish(events, docs, 1000)))
    publisher.start()
    reader = events.consumer(TOPIC, GROUP)
    while True:
        time.sleep(0.2)
        if not publisher.is_alive() and reader.lag() == 0:
            break
        if consumer.poll() is not None:
            raise SystemExit(f"the consumer exited with {consumer.returncode}")
    elapsed = time.monotonic() - started
    memory = memory_mb(consumer.pid)
    consumer.terminate()
    consumer.wait(timeout=30)
    events.close()
    return {"listings": n, "seconds": round(elapsed, 2), "listings_per_s": round(n / elapsed),
            "publish_per_s": round(n / published["s"]), **memory, "batch": batch,
            "load_average_1m": os.getloadavg()[0]}


def profile(n: int, batch: int, workdir: Path) -> None:
    """The consumer's per-batch work in-process under cProfile (publishing is not profiled)."""
    import cProfile
    import pstats

    from services.ingest.batch_runner import BatchRunner
    from services.ingest.consumer import Indexer
    from services.ingest.dedupe import OrganisationRegistry
    from services.ingest.geocode import default_chain
    from services.ingest.metrics import ConsumerMetrics
    from shared.search.factory import open_search_index

    settings = IngestSettings(search_url=f"sqlite:///{workdir}/search.db", events_url=f"sqlite:///{workdir}/events.db",
                              batch_size=batch, batch_timeout_s=0.1)
    events = EmbeddedEventLog(str(workdir / "events.db"))
    publish(events, distinct_organisations(n), 1000)
    index = open_search_index(settings.search_url)
    index.ensure_index()
    registry = OrganisationRegistry(settings.state_location())
    indexer = Indexer(index, events, settings, default_chain(), ConsumerMetrics(), registry)
    runner = BatchRunner(events.consumer(TOPIC, GROUP), indexer.handle, events, settings, ConsumerMetrics())
    profiler = cProfile.Profile()
    started = time.monotonic()
    profiler.runcall(lambda: [None for _ in iter(lambda: runner.run_batch(), 0)])
    print(f"{n / (time.monotonic() - started):.0f} listings/s consumed in-process (profiled)")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=131_000, help="Listings to stream.")
    parser.add_argument("--batch", type=int, default=IngestSettings.model_fields["batch_size"].default,
                        help="The consumer's INGEST_BATCH_SIZE (default: the consumer's own default).")
    parser.add_argument("--profile", action="store_true", help="Profile the consumer's work in-process.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        if args.profile:
            profile(args.n, args.batch, Path(tmp))
        else:
            print(json.dumps(run(args.n, args.batch, Path(tmp))))


if __name__ == "__main__":
    main()
