"""The directory service: `gunicorn "services.directory.app:create_app()"`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

from services.directory import api, broker_pages, buy_social_pages, inline_scripts, pages
from services.directory.config import DirectorySettings
from services.directory.openapi import build_openapi
from shared.models import IMPACT_AREAS
from shared.web import create_base_app, search_index

log = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app; `test_config` overrides settings fields (e.g. `search_url`) for tests."""
    settings = DirectorySettings(**(test_config or {}))
    app = create_base_app("socialmatch-directory", settings, checks={"search_index": lambda: search_index().ping()})
    # Werkzeug keeps a form's text fields to 500 KB; a lot description pasted from a tender document
    # may be longer (and is then refused with its input kept, see `lot_form`), never a bare 413.
    app.config["MAX_FORM_MEMORY_SIZE"] = settings.max_body_bytes
    app.jinja_env.globals["IMPACT_AREAS"] = IMPACT_AREAS
    app.jinja_env.globals["JS_ENABLED_SCRIPT"] = inline_scripts.JS_ENABLED
    app.config["CSP_SCRIPT_HASHES"] = inline_scripts.HASHES
    app.extensions["directory_openapi"] = build_openapi()
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(buy_social_pages.bp)
    app.register_blueprint(broker_pages.bp)
    if not (Path(pages.bp.root_path) / pages.ASSETS / ".built").exists():
        log.warning("front-end assets are not built; pages will be unstyled until `make assets` runs")
    return app
