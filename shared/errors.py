"""One exception hierarchy and one JSON problem shape for every service.

Every error a client sees is `{"detail": str, "errors": [{"field": str, "message": str}]}`
with a 4xx status; anything unexpected is logged and becomes a plain 500 without internals.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass
class ProblemError(Exception):
    """An error the client can fix; `status` is the HTTP status it maps to."""

    detail: str
    errors: list[FieldError] = field(default_factory=list)
    status: int = 400

    def body(self) -> dict[str, Any]:
        return {
            "detail": self.detail,
            "errors": [{"field": e.field, "message": e.message} for e in self.errors],
        }


class InvalidInput(ProblemError):
    """The request was understood but a field is wrong (422 for bodies, 400 for queries)."""


class NotFound(ProblemError):
    def __init__(self, detail: str = "not found") -> None:
        super().__init__(detail=detail, status=404)


class Unauthenticated(ProblemError):
    """No key, or a key that is malformed, unknown or revoked (they are not told apart)."""

    def __init__(self) -> None:
        super().__init__(detail="a valid API key is required in the X-API-Key header", status=401)


class Forbidden(ProblemError):
    def __init__(self, detail: str = "this key's role may not do that") -> None:
        super().__init__(detail=detail, status=403)


class BackendUnavailable(Exception):
    """The search index or event log cannot be reached; callers may retry later."""


def field_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    """Turn pydantic's errors into named fields (`lot.cpv_codes.0`)."""
    out = []
    for err in exc.errors(include_url=False):
        path = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        out.append(FieldError(field=path or "body", message=err["msg"]))
    return out


def invalid_body(exc: ValidationError, prefix: str = "") -> InvalidInput:
    return InvalidInput(detail="request body is invalid", errors=field_errors(exc, prefix), status=422)


def register_error_handlers(app: Flask) -> None:
    """Install the problem-shape handlers on an app; call from every `create_app`."""

    @app.errorhandler(ProblemError)
    def _problem(exc: ProblemError):  # type: ignore[no-untyped-def]
        return jsonify(exc.body()), exc.status

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        # Keep werkzeug's headers (405's Allow, for one); the body becomes the problem shape.
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        return jsonify({"detail": exc.description or exc.name, "errors": []}), exc.code or 500, headers

    @app.errorhandler(BackendUnavailable)
    def _unavailable(exc: BackendUnavailable):  # type: ignore[no-untyped-def]
        log.warning("backend unavailable: %s", exc)
        return jsonify({"detail": "a backend is unavailable; try again shortly", "errors": []}), 503

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        log.exception("unhandled error")
        return jsonify({"detail": "internal server error", "errors": []}), 500
