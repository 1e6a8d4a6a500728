"""What a client sends is escaped in the access log, and keys in query strings are redacted."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from gunicorn.config import Config

from shared.gunicorn_logging import SafeAccessLogger, escaped, redact_keys


def test_keys_in_query_strings_are_redacted() -> None:
    assert redact_keys("GET /x?q=a&api_key=smk_1_secret HTTP/1.1") == "GET /x?q=a&api_key=[redacted] HTTP/1.1"
    assert redact_keys("key=abc&page=2") == "key=[redacted]&page=2"
    assert redact_keys("q=keyboard") == "q=keyboard"


def test_control_characters_and_non_ascii_are_escaped() -> None:
    assert escaped("plain agent/1.0") == "plain agent/1.0"
    assert escaped("evil\x1b[31m\u20ac") == "evil\\x1b[31m\\u20ac"


def test_the_access_log_atoms_are_safe() -> None:
    logger = SafeAccessLogger(Config())
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/search?api_key=smk_a_b&q=x", "SERVER_PROTOCOL": "HTTP/1.1",
               "QUERY_STRING": "api_key=smk_a_b&q=x", "HTTP_USER_AGENT": "bot\x07", "PATH_INFO": "/search"}
    req = SimpleNamespace(headers=[("X-REQUEST-ID", "id\x1b"), ("X-API-KEY", "smk_a_b")])
    resp = SimpleNamespace(status="200 OK", headers=[], sent=10)
    atoms = logger.atoms(resp, req, environ, timedelta(milliseconds=5))
    assert "smk_a_b" not in repr(atoms)
    assert atoms["a"] == "bot\\x07" and atoms["{x-request-id}i"] == "id\\x1b"
