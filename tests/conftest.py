"""Session-wide fixtures: one noida-db (Elasticsearch + Kafka stand-in) shared by every test that needs it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.noida import NoidaServer, start_noida


@pytest.fixture(scope="session")
def noida(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoidaServer]:
    server = start_noida(tmp_path_factory.mktemp("noida"))
    yield server
    server.stop()
