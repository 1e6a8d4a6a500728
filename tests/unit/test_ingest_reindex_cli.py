"""`python -m services.ingest.cli reindex [--cleanup]` on the embedded backends: summary, refusal, orphans."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from services.ingest import cli as cli_module
from services.ingest import reindex as reindexing
from services.ingest.cli import cli
from services.ingest.publishing import publish_listings
from shared.events.embedded import EmbeddedEventLog
from shared.search.factory import open_search_index


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(reindexing, "SWITCH_GRACE_S", 0.0)
    monkeypatch.setattr(cli_module, "settle_memory", lambda: None)  # the test process keeps its collector
    return {
        "EVENTS_URL": f"sqlite:///{tmp_path}/events.db",
        "SEARCH_URL": f"sqlite:///{tmp_path}/search.db",
        "STATE_URL": str(tmp_path / "state.db"),
    }


def test_reindex_rebuilds_from_the_log_and_prints_a_summary(env: dict[str, str], tmp_path: Path) -> None:
    events = EmbeddedEventLog(str(tmp_path / "events.db"))
    publish_listings(
        events,
        "listings",
        [
            {"id": f"t:{n}", "name": f"Listing {n}", "source": "test", "updated_at": "2025-01-01T00:00:00Z"}
            for n in range(3)
        ]
        + [{"id": "t:bad", "name": ""}],
    )
    events.close()
    result = CliRunner().invoke(cli, ["reindex"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "from 4 records: 3 documents (replaced listings_v" in result.output
    assert "1 records were invalid" in result.output
    index = open_search_index(env["SEARCH_URL"])
    assert index.count() == 3 and "_g" in index.generation
    index.close()


def test_a_running_rebuild_is_reported_and_cleanup_drops_orphans(env: dict[str, str]) -> None:
    index = open_search_index(env["SEARCH_URL"])
    index.ensure_index()
    orphan = index.build_generation()
    orphan.close()
    with index.rebuild_lock("someone else"):
        refused = CliRunner().invoke(cli, ["reindex", "--cleanup"], env=env)
    assert refused.exit_code == 1 and "already running (someone else" in refused.output
    cleaned = CliRunner().invoke(cli, ["reindex", "--cleanup"], env=env, catch_exceptions=False)
    assert cleaned.exit_code == 0 and f"dropped 1 orphan generations: {orphan.generation}" in cleaned.output
    assert index.generations() == [index.generation]
    index.close()
