"""The matcher's app factory; gunicorn runs `services.matcher.app:create_app()`."""

from __future__ import annotations

from typing import Any

from flask import Flask

from services.matcher.api import MAX_LIMIT, bp
from services.matcher.brokers_api import bp as brokers_bp
from services.matcher.config import MatcherSettings
from services.matcher.model import DEFAULT_MODEL_FILE, ScoringModel
from services.matcher.openapi import build_openapi
from services.matcher.spend.api import bp as spend_bp
from services.matcher.text import WordStatistics
from shared.web import accounts, create_base_app, search_index


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app; `test_config` overrides settings fields (e.g. `search_url`) for tests."""
    settings = MatcherSettings(**(test_config or {}))
    model = ScoringModel.load(settings.weights_file or DEFAULT_MODEL_FILE)
    app = create_base_app("matcher", settings, checks={"search_index": lambda: search_index().ping(),
                                                       "accounts": lambda: accounts().ping()})
    app.extensions["matcher_model"] = model
    app.extensions["matcher_word_stats"] = WordStatistics()
    app.extensions["matcher_openapi"] = build_openapi(model.version, MAX_LIMIT)
    app.register_blueprint(bp)
    app.register_blueprint(spend_bp)
    app.register_blueprint(brokers_bp)
    return app
