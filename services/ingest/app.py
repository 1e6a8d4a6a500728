"""The ingest service: `gunicorn "services.ingest.app:create_app()"`."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify

from services.ingest.api import bp
from services.ingest.config import IngestSettings
from services.ingest.openapi import build_openapi
from services.ingest.spend_api import bp as spend_bp
from shared.web import accounts, create_base_app, event_log


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    settings = IngestSettings(**(test_config or {}))
    app = create_base_app("socialmatch-ingest", settings, checks={"event_log": lambda: event_log().ping(),
                                                                   "accounts": lambda: accounts().ping()})
    app.register_blueprint(bp)
    app.register_blueprint(spend_bp)
    document = build_openapi(settings.max_batch_items)
    app.add_url_rule("/openapi.json", "openapi", lambda: jsonify(document))
    return app
