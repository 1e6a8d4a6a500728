"""HTML error pages for the directory's page blueprints.

The JSON API answers errors with problem bodies; a person reading a page gets a page instead,
saying what went wrong in words, with no stack trace. Every page blueprint registers the same
handlers here, so an error looks the same wherever it happens.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, render_template
from werkzeug.exceptions import HTTPException

from shared.errors import BackendUnavailable, ProblemError

log = logging.getLogger(__name__)
UNAVAILABLE = "The directory is not available at the moment. Try again in a few minutes."
UNEXPECTED = "Something went wrong on our side. Try again later."


def error_page(status: int, detail: str) -> Any:
    return render_template("error.html", status=status, detail=detail), status


def _http_error(exc: HTTPException) -> Any:
    return error_page(exc.code or 500, exc.description or exc.name)


def _problem(exc: ProblemError) -> Any:
    return error_page(exc.status, exc.detail)


def _unavailable(exc: BackendUnavailable) -> Any:
    log.warning("backend unavailable: %s", exc)
    return error_page(503, UNAVAILABLE)


def _unexpected(exc: Exception) -> Any:
    log.exception("unhandled error on a page")
    return error_page(500, UNEXPECTED)


def register_html_errors(bp: Blueprint) -> None:
    """Answer errors on `bp`'s routes with the HTML error page."""
    bp.register_error_handler(HTTPException, _http_error)
    bp.register_error_handler(ProblemError, _problem)
    bp.register_error_handler(BackendUnavailable, _unavailable)
    bp.register_error_handler(Exception, _unexpected)
