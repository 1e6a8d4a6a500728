"""What every Flask service does the same way: errors, logging, health, backend lifecycle.

Clients are opened lazily on first use and kept in `app.extensions`, so nothing connects at
import time or in the gunicorn master; they are closed when the process exits.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Flask, current_app, jsonify, request
from pydantic import BaseModel, ValidationError

from shared.accounts import AccountStore, Principal, Role
from shared.errors import (
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
    invalid_body,
    register_error_handlers,
)
from shared.events.factory import open_event_log
from shared.events.port import EventLog
from shared.json_provider import OrjsonProvider
from shared.logging_setup import configure_logging
from shared.search.factory import open_search_index, sqlite_path
from shared.search.port import SearchIndex
from shared.settings import BackendSettings

ReadinessCheck = Callable[[], bool]
ModelT = TypeVar("ModelT", bound=BaseModel)
_lock = threading.Lock()


def create_base_app(name: str, settings: BackendSettings, checks: dict[str, ReadinessCheck]) -> Flask:
    """A Flask app with the problem-shape errors, logging and `/healthz` + `/readyz`."""
    configure_logging(settings.log_format, settings.log_level)
    app = Flask(name)
    app.config["SETTINGS"] = settings
    app.json = OrjsonProvider(app)
    register_error_handlers(app)
    app.register_blueprint(_health_blueprint(checks))
    return app


def _health_blueprint(checks: dict[str, ReadinessCheck]) -> Blueprint:
    bp = Blueprint("health", __name__)

    @bp.get("/healthz")
    def healthz() -> Any:
        return jsonify({"status": "ok"})

    @bp.get("/readyz")
    def readyz() -> Any:
        results = {name: _safe(check) for name, check in checks.items()}
        status = 200 if all(results.values()) else 503
        return jsonify({"status": "ok" if status == 200 else "unavailable", "checks": results}), status

    return bp


def _safe(check: ReadinessCheck) -> bool:
    try:
        return bool(check())
    except Exception:
        return False


def _resource(key: str, opener: Callable[[], Any]) -> Any:
    ext = current_app.extensions
    if key not in ext:
        with _lock:
            if key not in ext:
                resource = opener()
                atexit.register(resource.close)
                ext[key] = resource
    return ext[key]


def settings() -> Any:
    return current_app.config["SETTINGS"]


def search_index() -> SearchIndex:
    """The app's search index, opened on first use."""
    s = settings()
    return _resource("search_index", lambda: open_search_index(s.search_url, prefix=s.index_prefix))  # type: ignore[no-any-return]


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, for routes that look at it before choosing a model (a
    lot or an OCDS release); anything else, malformed JSON included, is a 400 naming the body."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("send a JSON object", [FieldError("body", "expected a JSON object")])
    return body


def validated_body(model: type[ModelT]) -> ModelT:
    """The request body as `model`, strictly: JSON `true` is not a number, `"5"` is not an int.
    A field that fails is a 422 naming it."""
    try:
        return model.model_validate_json(request.get_data(), strict=True)
    except ValidationError as exc:
        raise invalid_body(exc) from exc


def json_body(model: type[ModelT]) -> ModelT:
    """A JSON object body as `model` (400 for anything that is not an object, 422 naming a field)."""
    json_object()
    return validated_body(model)


def accounts() -> AccountStore:
    """The app's organisation and key store, opened on first use."""
    return _resource("accounts", lambda: AccountStore(sqlite_path(settings().accounts_url)))  # type: ignore[no-any-return]


def principal() -> Principal:
    """Who is calling, from the `X-API-Key` header; 401 when there is no valid key."""
    presented = request.headers.get("X-API-Key", "")
    found = accounts().authenticate(presented) if presented else None
    if found is None:
        raise Unauthenticated()
    return found


def require_admin() -> Principal:
    caller = principal()
    if caller.role is not Role.admin:
        raise Forbidden("only an administrator key may do that")
    return caller


def require_organisation(organisation_id: str) -> Principal:
    """A key of that organisation, or an administrator's. Any other key gets the same 404 as an
    organisation that does not exist, so a caller learns nothing about other organisations."""
    caller = principal()
    if not caller.may_access(organisation_id) or accounts().organisation(organisation_id) is None:
        raise NotFound("no such organisation")
    return caller


def event_log() -> EventLog:
    """The app's event log, opened on first use."""
    s = settings()
    return _resource("event_log", lambda: open_event_log(s.events_url))  # type: ignore[no-any-return]
