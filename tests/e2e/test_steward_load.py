"""The worked council example loaded by the CLI and consumed by the real consumer process: the load
summary reports the consumer's rejects, and a fixed file loaded again resolves every letter."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import ROOT, Stack, stack_env

pytestmark = pytest.mark.slow

EXAMPLE = ROOT / "data" / "examples" / "council-suppliers.csv"
MAPPING = ROOT / "data" / "examples" / "council-suppliers.mapping.json"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    prefix = f"s{uuid.uuid4().hex[:8]}-"
    running = Stack(env=stack_env(f"sqlite:///{tmp_path}/search.db", f"sqlite:///{tmp_path}/events.db", prefix),
                    log_dir=tmp_path)
    yield running
    running.stop_all()


def cli(stack: Stack, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "services.ingest.cli", *args], cwd=ROOT, env=stack.env,
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout + done.stderr


def test_the_council_example_reports_the_consumers_rejects_and_a_fixed_reload_resolves_them(
        stack: Stack, tmp_path: Path) -> None:
    consumer = stack.start_consumer(INGEST_BATCH_TIMEOUT_S="0.2")
    first = cli(stack, "load", str(EXAMPLE), "--mapping", str(MAPPING), "--wait", "60")
    assert "read 15, published 14, skipped 0, rejected 1" in first
    assert "warning: 1 rows have no postcode and no location" in first
    assert "the consumer rejected 1 (see `dead-letters list --file council-suppliers.csv`)" in first
    assert "  rejected 1: invalid postcode" in first
    listed = cli(stack, "dead-letters", "list", "--file", "council-suppliers.csv")
    assert "council-suppliers.csv:8\tunreadable value" in listed
    assert "council-suppliers.csv:16\tinvalid postcode" in listed

    fixed = tmp_path / "fixed" / EXAMPLE.name
    fixed.parent.mkdir()
    fixed.write_text(EXAMPLE.read_text(encoding="utf-8").replace("31/02/2024", "29/02/2024")
                     .replace("ZZ99 9ZZ", "LS26 0AA"), encoding="utf-8")
    second = cli(stack, "load", str(fixed), "--mapping", str(MAPPING), "--wait", "60")
    assert "read 15, published 15, skipped 0, rejected 0" in second and "the consumer rejected 0" in second
    assert "0 dead letters (2 resolved not shown" in cli(stack, "dead-letters", "list", "--file", EXAMPLE.name)
    assert consumer.poll() is None, (tmp_path / "consumer.log").read_text()[-3000:]
