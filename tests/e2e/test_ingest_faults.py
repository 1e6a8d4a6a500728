"""A malformed corpus mixed with valid records, loaded by the CLI and consumed by the real consumer:
every bad record is dead-lettered with a reason, every valid one indexed, the consumer never dies."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.ingest.dead_letters import dead_letters
from shared.events.factory import open_event_log
from shared.search.factory import open_search_index
from shared.search.port import SearchQuery
from tests.e2e.processes import ROOT, Stack, stack_env

pytestmark = pytest.mark.slow

HEADER = "id,name,description,postcode,cpv_codes,location.lat,location.lon,source,updated_at"
VALID = [f"t:ok{n},Valid Supplier {n},Cleaning offices,LS1 1UN,90910000,,,test,2025-01-0{1 + n % 9}T00:00:00Z"
         for n in range(30)]
BAD_CSV = {  # id -> (row, expected reason fragment)
    "t:trunc": ("t:trunc,Truncated", "truncated row"),
    "t:utf8": ("t:utf8,Caf\udcff Bad,desc,LS1 1UN,,,,test,2025-01-01", "invalid UTF-8"),
    "t:big": ("t:big,Big," + "x" * 1_000_000 + ",LS1 1UN,,,,test,2025-01-01", "listing failed validation"),
    "t:formula": ('t:formula,"=HYPERLINK(""http://evil"",""x"")",d,LS1 1UN,,,,test,2025-01-01', "unsafe content"),
    "t:script": ("t:script,Script,<script>alert(1)</script>,LS1 1UN,,,,test,2025-01-01", "unsafe content"),
    "t:postcode": ("t:postcode,Bad Postcode,d,ZZ99 9ZZZ,,,,test,2025-01-01", "invalid postcode"),
    "t:nongeo": ("t:nongeo,Non Geographic,d,GIR 0AA,,,,test,2025-01-01", "invalid postcode"),
    "t:cpv": ("t:cpv,Unknown CPV,d,LS1 1UN,12345678,,,test,2025-01-01", "unknown CPV code"),
    "t:type": ("t:type,Wrong Type,d,LS1 1UN,,north,south,test,2025-01-01", "listing failed validation"),
}
STALE = "t:ok1,Older Name,Cleaning,LS1 1UN,,,,test,2024-01-01T00:00:00Z"  # duplicate id, older timestamp
BAD_JSONL = ['{"id": "t:jtype", "name": "X", "services": "cleaning", "source": "t", "updated_at": "2025-01-01"}',
             '{"id": "t:jdate", "name": "X", "source": "t", "updated_at": "yesterday"}', "{not json"]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    prefix = f"f{uuid.uuid4().hex[:8]}-"
    running = Stack(env=stack_env(f"sqlite:///{tmp_path}/search.db", f"sqlite:///{tmp_path}/events.db", prefix),
                    log_dir=tmp_path)
    yield running
    running.stop_all()


def write_corpus(tmp_path: Path) -> tuple[Path, Path]:
    rows = [HEADER, *VALID[:15], *(row for row, _ in BAD_CSV.values()), STALE, *VALID[15:]]
    csv_path = tmp_path / "corpus.csv"
    csv_path.write_bytes("\n".join(rows).encode("utf-8", "surrogateescape") + b"\n")
    jsonl_path = tmp_path / "corpus.jsonl"
    jsonl_path.write_text("\n".join(BAD_JSONL) + "\n", encoding="utf-8")
    return csv_path, jsonl_path


def load(stack: Stack, path: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "services.ingest.cli", "load", str(path)], cwd=ROOT,
                          env=stack.env, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def indexed(stack: Stack) -> dict[str, Any]:
    index = open_search_index(stack.env["SEARCH_URL"], prefix=stack.env["INDEX_PREFIX"])
    try:
        index.ensure_index()
        index.refresh()
        return {h.id: h.document for h in index.search(SearchQuery(sort="name", limit=100)).hits}
    finally:
        index.close()


def test_malformed_corpus_is_dead_lettered_and_the_rest_indexed(stack: Stack, tmp_path: Path) -> None:
    csv_path, jsonl_path = write_corpus(tmp_path)
    consumer = stack.start_consumer(INGEST_BATCH_SIZE="8", INGEST_BATCH_TIMEOUT_S="0.2")
    assert "read 40, published 38, skipped 0, rejected 2" in load(stack, csv_path)  # truncated, invalid UTF-8
    assert "read 3, published 2, skipped 0, rejected 1" in load(stack, jsonl_path)
    expected = {f"t:ok{n}" for n in range(30)}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and set(indexed(stack)) != expected:
        time.sleep(0.5)
    events = open_event_log(stack.env["EVENTS_URL"])
    topic = f"{stack.env['TOPIC_PREFIX']}listings"
    while time.monotonic() < deadline and events.consumer(topic, f"{stack.env['TOPIC_PREFIX']}ingest-indexer").lag():
        time.sleep(0.5)
    letters = dead_letters(events, topic, timeout_s=0.05)
    events.close()
    assert consumer.poll() is None, (tmp_path / "consumer.log").read_text()[-3000:]
    docs = indexed(stack)
    assert set(docs) == expected and docs["t:ok1"]["name"] == "Valid Supplier 1"  # the stale duplicate lost
    by_id = {(letter.value["raw"] or {}).get("id") if isinstance(letter.value["raw"], dict) else None: letter
             for letter in letters}
    for bad_id, (_, reason) in BAD_CSV.items():
        letter = next(letter for letter in letters if bad_id in str(letter.value["raw"])[:40])
        assert reason in letter.value["reason"], (bad_id, letter.value["reason"])
        assert letter.value["provenance"]["file"] == "corpus.csv" and letter.value["provenance"]["line"]
    assert by_id["t:jtype"].value["errors"][0]["field"] == "services"
    assert "t:jdate" in by_id and any(letter.value["raw"] == "{not json" for letter in letters)
    assert len(letters) == len(BAD_CSV) + len(BAD_JSONL)
