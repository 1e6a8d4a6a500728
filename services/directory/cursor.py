"""Opaque `/search` cursors: where the next page starts, bound to the search that made it.

A client that follows `next_cursor` never builds offsets itself, so the cursor's content can
change (for instance to the index's own search-after keys) without breaking clients. The
fingerprint of the search is inside, so a cursor pasted onto a different search is refused
rather than silently paging through the wrong results.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from shared.errors import FieldError, InvalidInput
from services.directory.search_params import MAX_WINDOW, SearchParams


def _fingerprint(params: SearchParams) -> str:
    canonical = json.dumps(params.without_paging(), sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_cursor(params: SearchParams, offset: int) -> str:
    """The cursor for the page of `params`' results that starts at `offset`."""
    raw = json.dumps({"o": offset, "f": _fingerprint(params)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(params: SearchParams, cursor: str) -> int:
    """The offset a cursor points at; a 400 naming `cursor` if it is damaged or from another search."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset, fingerprint = data["o"], data["f"]
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise InvalidInput("invalid cursor", [FieldError("cursor", "not a cursor this service issued")]) from exc
    if not isinstance(offset, int) or not 0 <= offset < MAX_WINDOW or fingerprint != _fingerprint(params):
        raise InvalidInput("invalid cursor", [FieldError("cursor", "the cursor belongs to a different search")])
    return offset
