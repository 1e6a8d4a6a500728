"""Telling a record a store refuses from a store that is down.

A store that cannot serve raises `BackendUnavailable`: the consumer retries, then stops without
committing, and the batch is read again once it is back. Any other error from a write means the
store refused what it was given (a number too big for a column, a value the mapping rejects):
retrying cannot help and stopping would stop the stream for everyone on every restart. So the
batch is written again one record at a time, and each record that still fails is handed back,
with the reason, to be dead-lettered; the rest are written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from services.ingest.batch_runner import IndexingStalled
from shared.errors import BackendUnavailable

log = logging.getLogger("socialmatch.ingest.consumer")
T = TypeVar("T")
R = TypeVar("R")
MAX_REASON = 500


@dataclass(frozen=True)
class Refused(Generic[T]):
    item: T
    reason: str


def refusal_reason(what: str, exc: Exception) -> str:
    return f"the {what} refused the record ({type(exc).__name__}: {exc})"[:MAX_REASON]


def write_or_isolate(
    items: Sequence[T], write: Callable[[Sequence[T]], R], what: str
) -> tuple[list[R], list[Refused[T]]]:
    """Write `items` in one call; if the store refuses the call for its content, write them one by
    one. Returns the results of the calls that succeeded and the items refused, with the reason.

    `write` should retry `BackendUnavailable` itself (raising `IndexingStalled` when the store
    stays down); both are passed on: that is the store, not the record.
    """
    try:
        return [write(items)], []
    except (IndexingStalled, BackendUnavailable):
        raise
    except Exception as exc:  # noqa: BLE001 - see the module docstring
        if len(items) == 1:
            return [], [Refused(items[0], refusal_reason(what, exc))]
        log.warning("the %s refused a batch of %d (%s); writing it one record at a time", what, len(items), exc)
    results: list[R] = []
    refused: list[Refused[T]] = []
    for item in items:
        done, failed = write_or_isolate([item], write, what)
        results += done
        refused += failed
    return results, refused
