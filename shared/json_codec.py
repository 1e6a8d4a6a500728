"""Fast JSON for the hot paths: event-log records, index bodies, de-duplication state.

orjson encodes and decodes several times faster than the standard library, which matters when
every listing is decoded from the log, stored as a cluster member and stored in the index. It
refuses a few things the standard library accepts (integers beyond 64 bits, NaN and Infinity,
lone surrogates); those rare values fall back to `json`, so every record that was accepted before
still is, and the fallback escapes non-ASCII so that SQLite can always store the text.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    """Compact JSON text (non-ASCII kept as is, keys in the order given)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
