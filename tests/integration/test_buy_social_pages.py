"""The Buy Social page's own checks, before and without the matcher: required fields, and a clear
page (not a 500) when the matcher cannot be reached."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from services.directory.app import create_app


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    # Port 9 (discard) refuses connections: the matcher is down.
    app = create_app(
        {"search_url": f"sqlite:///{tmp_path}/search.db", "matcher_url": "http://127.0.0.1:9", "matcher_timeout_s": 2}
    )
    app.testing = True
    return app.test_client()


def test_the_form_is_a_post_form_and_never_cached(client: FlaskClient) -> None:
    page = client.get("/buy-social")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert b'method="post"' in page.data and b'type="password"' in page.data


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({}, b"Enter your organisation ID"),
        ({"organisation_id": "org 1; drop", "api_key": "smk_x_y"}, b"Enter the organisation ID as you were given it"),
        ({"organisation_id": "org_1"}, b"Enter your API key"),
    ],
)
def test_missing_or_malformed_fields_are_named(client: FlaskClient, form: dict[str, str], message: bytes) -> None:
    page = client.post("/buy-social", data=form)
    assert page.status_code == 400 and message in page.data and b"There is a problem" in page.data


def test_an_unreachable_matcher_gives_a_clear_page(client: FlaskClient) -> None:
    page = client.post("/buy-social", data={"organisation_id": "org_1", "api_key": "smk_x_y"})
    assert page.status_code == 503 and b"not reachable" in page.data
    download = client.post(
        "/buy-social/export",
        data={"organisation_id": "org_1", "api_key": "smk_x_y", "target_id": "fy25", "format": "pdf"},
    )
    assert download.status_code == 400 and b"Choose a target and a format" in download.data
