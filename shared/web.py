"""What every Flask service does the same way: errors, logging, health, backend lifecycle.

Clients are opened lazily on first use and kept in `app.extensions`, so nothing connects at
import time or in the gunicorn master; they are closed when the process exits.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from pydantic import BaseModel, ValidationError

from shared.accounts import AccountStore, Principal, Role, open_account_store
from shared.errors import (
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    ProblemError,
    Unauthenticated,
    invalid_body,
    register_error_handlers,
)
from shared.events.factory import open_event_log
from shared.events.port import EventLog
from shared.json_provider import OrjsonProvider
from shared.limits import MAX_JSON_DEPTH
from shared.logging_setup import configure_logging
from shared.search.factory import open_search_index
from shared.search.port import SearchIndex
from shared.settings import BackendSettings

ReadinessCheck = Callable[[], bool]
ModelT = TypeVar("ModelT", bound=BaseModel)
_lock = threading.Lock()
_OPENED = "opened_resources"  # app.extensions key: what app_resource opened, in order


def create_base_app(name: str, settings: BackendSettings, checks: dict[str, ReadinessCheck]) -> Flask:
    """A Flask app with the problem-shape errors, logging, `/healthz` + `/readyz`, the body-size
    limit (413) and the security headers every response carries."""
    configure_logging(settings.log_format, settings.log_level)
    app = Flask(name)
    app.config["SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json = OrjsonProvider(app)
    register_error_handlers(app)
    app.register_blueprint(_health_blueprint(checks))
    app.after_request(_security_headers)
    return app


def _security_headers(response: Response) -> Response:
    """On every response, pages and JSON alike: scripts, styles and images only from this origin
    (inline scripts only by the hashes the app lists in `CSP_SCRIPT_HASHES`), never framed, no
    type sniffing, no referrer leaving with a search in its URL."""
    scripts = " ".join(("'self'", *current_app.config.get("CSP_SCRIPT_HASHES", ())))
    policy = (f"default-src 'self'; script-src {scripts}; style-src 'self'; img-src 'self' data:; "
              "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    response.headers.setdefault("Content-Security-Policy", policy)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for browsers without CSP 2
    return response


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


def app_resource(key: str, opener: Callable[[], Any]) -> Any:
    """The app's client or store under `key`, opened on first use (after gunicorn's fork) and
    closed when the process exits, or by `close_resources`."""
    ext = current_app.extensions
    if key not in ext:
        with _lock:
            if key not in ext:
                resource = opener()
                atexit.register(resource.close)
                ext.setdefault(_OPENED, []).append(key)
                ext[key] = resource
    return ext[key]


def close_resources(app: Flask) -> None:
    """Close what `app_resource` opened, now: an app that ends before its process does (a test's)
    returns its database connections rather than holding them until exit."""
    for key in app.extensions.pop(_OPENED, []):
        resource = app.extensions.pop(key)
        atexit.unregister(resource.close)
        resource.close()


def settings() -> Any:
    return current_app.config["SETTINGS"]


def search_index() -> SearchIndex:
    """The app's search index, opened on first use."""
    s = settings()
    return app_resource("search_index", lambda: open_search_index(s.search_url, prefix=s.index_prefix))  # type: ignore[no-any-return]


def request_json() -> Any:
    """The request body parsed as JSON, once per request: 415 unless it is sent as JSON; 400 for
    malformed JSON, numbers JSON does not have (`NaN`, `Infinity`) and nesting deeper than
    MAX_JSON_DEPTH, which would otherwise exhaust the stack of whatever walks the body next."""
    if "json_body" in g:
        return g.json_body
    if not request.is_json:
        raise ProblemError("send the body as JSON", [FieldError("Content-Type", "expected application/json")],
                           status=415)
    try:
        body = orjson.loads(request.get_data(cache=True))
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("the body is not valid JSON", [FieldError("body", str(exc)[:200])]) from exc
    if nested_deeper_than(body, MAX_JSON_DEPTH):
        raise InvalidInput("the body is nested too deeply", [FieldError("body", f"at most {MAX_JSON_DEPTH} levels")])
    g.json_body = body
    return body


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels (iteratively: no recursion limit)."""
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, for routes that look at it before choosing a model (a
    lot or an OCDS release); anything else is a 400 naming the body (415 when not sent as JSON)."""
    body = request_json()
    if not isinstance(body, dict):
        raise InvalidInput("send a JSON object", [FieldError("body", "expected a JSON object")])
    return body


def validated_body(model: type[ModelT]) -> ModelT:
    """The request body as `model`, strictly: JSON `true` is not a number, `"5"` is not an int.
    A field that fails is a 422 naming it."""
    request_json()  # the same 415 and 400s as every JSON route, before the model sees the bytes
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
    return app_resource("accounts", lambda: open_account_store(settings().accounts_url))  # type: ignore[no-any-return]


def principal() -> Principal:
    """Who is calling, from the `X-API-Key` header; 401 when there is no valid key (one that
    cannot be a key, with a `€` say, is refused like any unknown key)."""
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
    return app_resource("event_log", lambda: open_event_log(s.events_url))  # type: ignore[no-any-return]
