"""Every contract test runs once per backend: the search index and event log embedded (SQLite) and on
Elasticsearch + Kafka; the stores of state on SQLite and on PostgreSQL.

Elasticsearch and Kafka are played by noida-db, started once for the session on free ports with
a temporary data directory. Each test gets its own index and topic names, so tests never see
each other's data and nothing needs resetting.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.events.factory import open_event_log
from shared.events.port import EventLog
from shared.search.factory import open_search_index
from shared.search.port import SearchIndex
from tests.noida import NoidaServer

BACKENDS = ("embedded", "elastic")


@dataclass(frozen=True)
class BackendUrls:
    name: str
    search_url: str
    events_url: str


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> BackendUrls:
    if request.param == "embedded":
        return BackendUrls("embedded", f"sqlite:///{tmp_path}/search.db", f"sqlite:///{tmp_path}/events.db")
    server: NoidaServer = request.getfixturevalue("noida")
    return BackendUrls("elastic", server.es_url, server.kafka_url)


@pytest.fixture
def unique() -> str:
    """A fresh name prefix for this test's indices and topics."""
    return f"t{uuid.uuid4().hex[:10]}-"


@pytest.fixture
def index(backend: BackendUrls, unique: str) -> Iterator[SearchIndex]:
    idx = open_search_index(backend.search_url, prefix=unique)
    idx.ensure_index()
    yield idx
    idx.drop()
    idx.close()


@pytest.fixture
def events(backend: BackendUrls) -> Iterator[EventLog]:
    log = open_event_log(backend.events_url, client_id="contract-tests")
    yield log
    log.close()

