"""The directory service: `gunicorn "services.directory.app:create_app()"`."""

from __future__ import annotations

from typing import Any

from flask import Flask

from shared.models import IMPACT_AREAS
from shared.web import create_base_app, search_index
from services.directory import api, pages
from services.directory.config import DirectorySettings


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    settings = DirectorySettings(**(test_config or {}))
    app = create_base_app("socialmatch-directory", settings, checks={"search_index": lambda: search_index().ping()})
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    app.jinja_env.globals["IMPACT_AREAS"] = IMPACT_AREAS
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    return app
