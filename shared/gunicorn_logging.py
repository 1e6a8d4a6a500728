"""gunicorn's access log with what a client sends made safe to log (`infra/gunicorn.conf.py`).

Every value that comes from the request (request line, headers such as the user agent and request
id, the WSGI environment) is escaped, so control characters and non-ASCII bytes cannot forge log lines or confuse a log
reader; a query-string parameter whose name says it carries a key (`api_key=`, `key=`) is
redacted, and so is the `X-API-Key` header should a format ever name it.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

KEY_PARAM = re.compile(r"(?i)((?:^|[?&;])[^=&;]*key[^=&;]*=)[^&;\s]*")
REDACTED = "[redacted]"
FROM_REQUEST = frozenset({"r", "U", "q", "f", "a", "u", "m", "H"})


def redact_keys(text: str) -> str:
    # Most values name no key at all; finding that out costs a tenth of running the expression
    # (every header and environment value of every request passes here). `lower()` folds as the
    # expression's IGNORECASE does (the Kelvin sign is a "k" to both).
    if "key" not in text.lower():
        return text
    return KEY_PARAM.sub(rf"\g<1>{REDACTED}", text)


def escaped(text: str) -> str:
    """Printable ASCII as it is; everything else as a backslash escape."""
    if text.isascii() and text.isprintable():
        return text
    return text.encode("unicode_escape").decode("ascii")


class SafeAccessLogger(Logger):  # type: ignore[misc]
    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for name, value in atoms.items():
            if not isinstance(value, str) or not (name in FROM_REQUEST or name.endswith(("}i", "}e"))):
                continue
            atoms[name] = REDACTED if name in ("{x-api-key}i", "{http_x_api_key}e") else escaped(redact_keys(value))
        return atoms
