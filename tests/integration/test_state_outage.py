"""A PostgreSQL store that goes away answers 503 (and `/readyz` says which), never 500, and the
service serves again once the database is back, without a restart: as a locked SQLite file does.

The cluster is this test's own, since it is stopped and started again."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from services.matcher.app import create_app
from shared import postgres
from shared.accounts import Role, open_account_store
from shared.search.factory import open_search_index
from shared.web import close_resources
from tests.postgres import start_postgres


def test_a_database_outage_is_503_and_its_end_needs_no_restart(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "POOL_TIMEOUT_S", 1.0)  # how long a request waits for a connection
    cluster = start_postgres(tmp_path / "pg")
    search_url = f"sqlite:///{tmp_path}/search.db"
    index = open_search_index(search_url)
    index.ensure_index()
    index.close()
    app = create_app({"search_url": search_url, "accounts_url": cluster.database(),
                      "spend_url": f"sqlite:///{tmp_path}/spend.db", "events_url": f"sqlite:///{tmp_path}/e.db"})
    try:
        store = open_account_store(app.config["SETTINGS"].accounts_url)
        admin = {"X-API-Key": store.create_key(Role.admin)[1]}
        store.close()
        client = app.test_client()
        assert client.get("/organisations", headers=admin).status_code == 200

        cluster.halt()
        down = client.get("/organisations", headers=admin)
        assert down.status_code == 503 and set(down.json) == {"detail", "errors"}, (down.status_code, down.json)
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json["checks"]["accounts"] is False, ready.json

        cluster.resume()
        # The pool reconnects in the background, backing off while the server was away: the
        # service answers again within that back-off, with no restart.
        deadline = time.monotonic() + 30
        while client.get("/organisations", headers=admin).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        back = client.get("/organisations", headers=admin)
        assert back.status_code == 200, (back.status_code, back.json, (cluster.data_dir / "server.log").read_text())
        assert client.get("/readyz").status_code == 200
    finally:
        close_resources(app)
        cluster.stop()
