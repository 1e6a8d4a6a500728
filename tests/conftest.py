"""Session-wide fixtures: one noida-db (Elasticsearch + Kafka stand-in) and one throwaway PostgreSQL
cluster, each shared by every test that needs it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.noida import NoidaServer, start_noida
from tests.postgres import PostgresCluster, start_postgres


@pytest.fixture(scope="session")
def noida(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoidaServer]:
    server = start_noida(tmp_path_factory.mktemp("noida"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL cluster for the session; each test takes a database of its own."""
    cluster = start_postgres(tmp_path_factory.mktemp("postgres"))
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(postgres: PostgresCluster) -> Iterator[str]:
    """A fresh, empty database (a schema of its own) on the session's cluster, dropped after the test."""
    url = postgres.database()
    yield url
    postgres.drop(url)


@pytest.fixture(params=("sqlite", "postgresql"))
def state_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store of state lives, once per adapter: a fresh SQLite file, then a fresh database on
    the session's throwaway PostgreSQL cluster. Opening it again reopens the same state."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/state.db"
    url: str = request.getfixturevalue("postgres_url")
    return url
