"""Fixtures the unit tests share."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The steward CLI's environment: embedded event log and state in the test's directory (a test
    module may define its own)."""
    return {"EVENTS_URL": f"sqlite:///{tmp_path}/events.db", "STATE_URL": str(tmp_path / "state.db")}
