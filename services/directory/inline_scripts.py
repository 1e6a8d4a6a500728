"""The one inline script the pages carry, and its hash for the Content-Security-Policy.

GOV.UK Frontend marks the body as soon as scripts run, before any stylesheet-dependent paint, so
this stays inline rather than in a file. The policy allows exactly this text by its SHA-256: the
template renders it from here, so the hash cannot drift from the script.
"""

from __future__ import annotations

import base64
import hashlib

JS_ENABLED = ("document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype"
              " ? ' govuk-frontend-supported' : '');")


def csp_hash(script: str) -> str:
    """The CSP source expression allowing `script` inline."""
    return f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"


HASHES = (csp_hash(JS_ENABLED),)
