"""SIGKILL the consumer at random points while listings stream in: nothing lost, nothing doubled.

Each restart replays whatever was not committed; idempotent writes ordered by `updated_at` make the
replays harmless, so the index must end with exactly the expected set at its newest versions.
Only the consumer's own process is killed: its prepare worker must die with it (an orphan would
go on writing the de-duplication state beside the replacement).
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from typing import Any

import pytest

from scripts.process_groups import live_members
from shared.events.factory import open_event_log
from shared.search.factory import open_search_index
from shared.search.port import SearchQuery
from tests.e2e.processes import Stack

pytestmark = pytest.mark.slow

SIZES = {"embedded": (1500, 20), "elastic": (1000, 20)}  # (listings, kills)


def version(i: int, v: int) -> dict[str, Any]:
    return {"id": f"t:{i}", "name": f"Listing {i} v{v}", "source": "test",
            "description": "crash test", "updated_at": f"2025-01-01T00:{v:02d}:00Z"}


def stream(n: int, rng: random.Random) -> tuple[list[tuple[str, dict[str, Any] | None]], dict[str, str]]:
    """Records to publish, and the expected final index: id -> name."""
    ids = list(range(n))
    updated = set(rng.sample(ids, n // 3))
    stale = rng.sample(ids, n // 4)
    deleted = set(rng.sample(ids, n // 10))
    records: list[tuple[str, dict[str, Any] | None]] = [(f"t:{i}", version(i, 1)) for i in ids]
    records += [(f"t:{i}", version(i, 2)) for i in sorted(updated)]
    records += [(f"t:{i}", version(i, 0)) for i in stale]  # older than what is indexed: ignored
    records += [(f"t:{i}", None) for i in sorted(deleted)]
    expected = {f"t:{i}": f"Listing {i} v{2 if i in updated else 1}" for i in ids if i not in deleted}
    return records, expected


def publish_slowly(stack: Stack, records: list[tuple[str, dict[str, Any] | None]], done: threading.Event) -> None:
    events = open_event_log(stack.env["EVENTS_URL"], client_id="crash-test")
    topic = f"{stack.env['TOPIC_PREFIX']}listings"
    events.ensure_topics([topic])
    for start in range(0, len(records), 100):
        events.publish(topic, records[start:start + 100])
        time.sleep(0.05)
    events.close()
    done.set()


def indexed(stack: Stack) -> dict[str, str]:
    index = open_search_index(stack.env["SEARCH_URL"], prefix=stack.env["INDEX_PREFIX"])
    try:
        index.ensure_index()  # the first consumer may have been killed before it created the index
        index.refresh()
        total = index.count()
        hits = index.search(SearchQuery(sort="name", limit=max(total, 1))).hits if total else []
        return {h.id: h.document["name"] for h in hits}
    finally:
        index.close()


def kill_consumer_alone(proc: Any) -> None:
    """SIGKILL the consumer's process only, then wait for the rest of its group to follow."""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while (left := live_members(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"processes outlived the killed consumer: {left}"


def test_sigkill_loses_nothing_and_duplicates_nothing(stack: Stack, request: pytest.FixtureRequest) -> None:
    if stack.backend == "elastic":  # type: ignore[attr-defined]
        request.applymarker(pytest.mark.xfail(strict=False, reason=(
            "noida-db 0.2.3 keeps a SIGKILLed member in its Kafka group and restarts the rebalance as each "
            "replacement joins, so after many kills the last consumer can stall past the deadline; real Kafka "
            "drops a dead member when its session times out. The embedded run checks the same guarantee.")))
    rng = random.Random(20261123)
    n, kills = SIZES[stack.backend]  # type: ignore[attr-defined]
    records, expected = stream(n, rng)
    consumer_env = {"INGEST_BATCH_SIZE": "40", "INGEST_BATCH_TIMEOUT_S": "0.2"}
    done = threading.Event()
    publisher = threading.Thread(target=publish_slowly, args=(stack, records, done))
    stack.start_consumer(**consumer_env)
    publisher.start()
    for _ in range(kills):
        time.sleep(rng.uniform(0.3, 1.5))
        kill_consumer_alone(stack.procs["consumer"])
        stack.start_consumer(**consumer_env)
    publisher.join()
    assert done.is_set()
    deadline = time.monotonic() + (180 if stack.backend == "embedded" else 60)  # type: ignore[attr-defined]
    while time.monotonic() < deadline and (got := indexed(stack)) != expected:
        assert stack.procs["consumer"].poll() is None, (stack.log_dir / "consumer.log").read_text()[-3000:]
        time.sleep(1)
    got = indexed(stack)
    assert len(got) == len(expected), f"{len(got)} indexed, {len(expected)} expected"
    assert got == expected
