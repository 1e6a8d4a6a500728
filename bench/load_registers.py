"""Loading the staged charity registers end to end on the embedded backend: the rate, and every row
accounted for.

    .venv/bin/python -m bench.load_registers

Each staged register file (UK-CAT's classified charities, the Northern Ireland register) goes
through `load_file`, exactly as `load --format …` runs it, into a fresh embedded event log while a
real consumer process (`python -m services.ingest.consumer`) validates, geocodes, de-duplicates
and indexes it into a fresh embedded index. The rate is rows read per second from the first row
read to the consumer's last commit. Then every row must be accounted for: read = published +
skipped by a stated supplier rule + rejected by the reader; and every published record is either
in the index, folded into another organisation's listing (the same org-id from another file), or
dead-lettered by the consumer with a reason. The benchmark exits non-zero when a row is lost.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from services.ingest.dead_letters import dead_letters
from services.ingest.dedupe import OrganisationRegistry
from services.ingest.loading import LoadSummary, load_file
from services.ingest.preparing import settle_memory
from shared.events.embedded import EmbeddedEventLog
from shared.events.port import dead_letter_topic
from shared.search.factory import open_search_index
from shared.search.port import SearchQuery

ROOT = Path(__file__).resolve().parent.parent
TOPIC = "listings"
GROUP = "ingest-indexer"
SOURCES = ROOT / "data" / "sources"
STAGED = (
    (SOURCES / "ukcat" / "sample.csv", "ukcat"),
    (SOURCES / "ukcat" / "top2000.csv", "ukcat"),
    (SOURCES / "ccni" / "ni-roc-2020-06-30.csv", "ccni"),
)


def _published_ids(events: EmbeddedEventLog) -> set[str]:
    reader = events.consumer(TOPIC, "bench-audit")
    ids: set[str] = set()
    while batch := reader.poll(5000, 0.05):
        ids.update(m.key for m in batch if m.key)
    return ids


def _cpu_s(pid: int) -> float:
    """CPU seconds used so far by process `pid` and its children (the consumer's worker), read
    from Linux's /proc; NaN elsewhere."""
    proc = Path("/proc")
    if not proc.is_dir():
        return math.nan
    total = 0.0
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # the process ended meanwhile
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return total


def run(workdir: Path) -> dict[str, object]:
    files = [(path, fmt) for path, fmt in STAGED if path.exists()]
    env = {**os.environ, "SEARCH_URL": f"sqlite:///{workdir}/search.db", "EVENTS_URL": f"sqlite:///{workdir}/events.db",
           "STATE_URL": f"sqlite:///{workdir}/state.db",
           "INGEST_METRICS_PORT": "0", "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    events = EmbeddedEventLog(str(workdir / "events.db"))
    events.ensure_topics([TOPIC, dead_letter_topic(TOPIC)])
    consumer = subprocess.Popen([sys.executable, "-m", "services.ingest.consumer"], cwd=ROOT, env=env)
    time.sleep(1.5)  # let it import and open its stores, so the rate measures loading, not start-up
    settle_memory()  # as `load` does before it reads
    consumer_cpu = -_cpu_s(consumer.pid)
    started = time.monotonic()
    loader_cpu = time.process_time()
    summaries: dict[str, LoadSummary] = {}
    for path, fmt in files:
        summaries[path.name] = load_file(events, TOPIC, path, fmt)
    loaded = time.monotonic() - started
    loader_cpu = time.process_time() - loader_cpu
    reader = events.consumer(TOPIC, GROUP)
    while reader.lag() > 0:
        if consumer.poll() is not None:
            raise SystemExit(f"the consumer exited with {consumer.returncode}")
        time.sleep(0.02)  # the rate ends at the last commit, not at the next look
    elapsed = time.monotonic() - started
    consumer_cpu += _cpu_s(consumer.pid)
    consumer.terminate()
    consumer.wait(timeout=30)

    read = sum(s.read for s in summaries.values())
    published = sum(s.published for s in summaries.values())
    skipped = Counter[str]()
    for summary in summaries.values():
        skipped.update(summary.skipped)
    reader_rejected = sum(s.rejected.total() for s in summaries.values())
    # The consumer's letters carry their log position; the reader's (unreadable rows) do not.
    consumer_letters = [letter for letter in dead_letters(events, TOPIC, timeout_s=0.05) if letter.value.get("source")]
    rejected_ids = {str(letter.value["source"].get("key")) for letter in consumer_letters}
    ids = _published_ids(events)
    index = open_search_index(f"sqlite:///{workdir}/search.db")
    indexed_ids = {hit.id for hit in index.scan(SearchQuery(limit=500))}
    index.close()
    events.close()
    registry = OrganisationRegistry(workdir / "state.db")
    merged, queued = registry.merged(limit=100_000), registry.review(limit=100_000)
    registry.close()
    folded = ids - indexed_ids - rejected_ids
    unaccounted = read - published - skipped.total() - reader_rejected
    return {
        "files": {name: {"read": s.read, "published": s.published, "skipped": s.skipped.total(),
                         "rejected": s.rejected.total()} for name, s in summaries.items()},
        "rows_read": read,
        "seconds": round(elapsed, 2),
        "rows_per_s": round(read / elapsed),
        "reading_and_publishing_s": round(loaded, 2),
        # CPU is steadier than the wall clock on a shared machine; two cores kept busy could
        # manage about 2 / (CPU seconds per row).
        "loader_cpu_s": round(loader_cpu, 2),
        "consumer_cpu_s": round(consumer_cpu, 2),
        "cpu_ms_per_row": round(1000 * (loader_cpu + consumer_cpu) / read, 3),
        "published_records": published,
        "distinct_listing_ids_published": len(ids),
        "indexed_listings": len(indexed_ids),
        "folded_into_another_listing": len(folded),
        "merged_clusters": len(merged),
        "pairs_queued_for_review": len(queued),
        "consumer_rejected": len(rejected_ids),
        "consumer_reject_reasons": dict(Counter(str(letter.value.get("reason")) for letter in consumer_letters)),
        "skipped_by_rule": dict(skipped.most_common()),
        "rows_unaccounted_for": unaccounted,
        "load_average_1m": os.getloadavg()[0],
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-registers-") as tmp:
        figures = run(Path(tmp))
    print(json.dumps(figures, indent=2))
    if figures["rows_unaccounted_for"]:
        raise SystemExit(f"{figures['rows_unaccounted_for']} rows neither published, skipped nor dead-lettered")


if __name__ == "__main__":
    main()
