"""Opaque `/search` cursors: the index's own cursor, bound to the search that made it.

The index's cursor (`search_after` keys) knows only its sort order; wrapping it with a
fingerprint of the whole search means a cursor pasted onto a different search is refused
rather than silently paging through the wrong results. The page number travels too, so a
cursor-paged response still says which page it is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass

from services.directory.search_params import SearchParams
from shared.errors import FieldError, InvalidInput
from shared.search.port import SortOrder
from shared.search.port import decode_cursor as index_sort_values


@dataclass(frozen=True)
class Cursor:
    index_cursor: str
    page: int


def _fingerprint(params: SearchParams) -> str:
    canonical = json.dumps(params.without_paging(), sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_cursor(params: SearchParams, cursor: Cursor) -> str:
    """The URL-safe token a client passes back as `cursor`."""
    data = {"f": _fingerprint(params), "c": cursor.index_cursor, "p": cursor.page}
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(params: SearchParams, token: str, sort: SortOrder) -> Cursor:
    """The cursor inside a token; a 400 naming `cursor` if it is damaged or from another search.

    The fingerprint is not a secret, so the index's part is checked too: it must hold the
    (sort value, id) pair every adapter writes for `sort`, or the index could fail on it.
    """
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        cursor = Cursor(index_cursor=data["c"], page=data["p"])
        fingerprint = data["f"]
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise InvalidInput("invalid cursor", [FieldError("cursor", "not a cursor this service issued")]) from exc
    valid = isinstance(cursor.index_cursor, str) and isinstance(cursor.page, int) and cursor.page > 1
    if not valid or fingerprint != _fingerprint(params) or not _sort_values_fit(cursor.index_cursor, sort):
        raise InvalidInput("invalid cursor", [FieldError("cursor", "the cursor belongs to a different search")])
    return cursor


def _sort_values_fit(index_cursor: str, sort: SortOrder) -> bool:
    try:
        after = index_sort_values(index_cursor, sort)
    except ValueError:
        return False
    value_types = (str, type(None)) if sort == "name" else (int, float, type(None))
    return len(after) == 2 and isinstance(after[1], str) and isinstance(after[0], value_types) \
        and not isinstance(after[0], bool)
