"""The directory app in front of a real matcher on a local port, over one embedded index: what
the page tests that reach the matcher (lots, partners, consortia) run against."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from werkzeug.serving import make_server

from services.directory.app import create_app as create_directory
from services.matcher.app import create_app as create_matcher
from shared.search.factory import open_search_index


@contextmanager
def directory_with_matcher(path: Path, listings: Sequence[dict[str, Any]]) -> Iterator[FlaskClient]:
    url = f"sqlite:///{path}/search.db"
    index = open_search_index(url)
    index.ensure_index()
    assert not index.bulk_upsert(list(listings)).failed
    index.close()
    matcher = make_server(
        "127.0.0.1", 0, create_matcher({"search_url": url, "events_url": f"sqlite:///{path}/e.db"}), threaded=True
    )
    thread = threading.Thread(target=matcher.serve_forever, daemon=True)
    thread.start()
    app = create_directory({"search_url": url, "matcher_url": f"http://127.0.0.1:{matcher.server_port}"})
    app.testing = True
    try:
        yield app.test_client()
    finally:
        matcher.shutdown()
        thread.join()
