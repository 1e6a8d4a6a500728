"""The consumer's worker process: it prepares the next batches while the consumer writes batch N.

Preparing a listing (normalise, geocode, validate, de-duplicate) costs about as much CPU as
writing it to the index, and one Python process uses one core: inline, the consumer managed
about 4,600 listings/s at 131,000. Split over two processes the halves overlap.

- Batches cross as JSON text (orjson), both ways: decoding a batch of listings that way costs
  about half what unpickling the same dicts does, and the worker's half is the longer one.
- The worker owns the de-duplication writes, so the registry runs a batch or two
  (`INGEST_PREPARE_AHEAD`) ahead of the index.
  That is safe: a crash replays every uncommitted batch, which recomputes its clusters from the
  registry, and a dirty mark is only cleared by the write that settled that very mark
  (`OrganisationRegistry.done`).
- It is started with `spawn`, so no SQLite connection or thread of the consumer crosses a fork;
  it ignores SIGTERM and SIGINT (the consumer decides when to stop, and finishes its batches
  first) and, on Linux, is killed when the consumer dies, even by SIGKILL: an orphan must not
  keep writing the registry beside the consumer's replacement.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from services.ingest.config import IngestSettings
from services.ingest.dedupe import ClusterWrites, OrganisationRegistry
from services.ingest.pipeline import Rejection
from services.ingest.preparing import ListingPreparer, PreparedListings, settle_memory
from shared import json_codec
from shared.events.port import Message
from shared.logging_setup import configure_logging

PR_SET_PDEATHSIG = 1
_preparer: ListingPreparer | None = None  # the worker process's own, made by `_start`


class PendingBatch:
    """A batch in the worker's hands; `result` waits for it (and re-raises what the worker raised,
    InvalidShareExceeded included)."""

    def __init__(self, messages: Sequence[Message], future: Future[str]) -> None:
        self.messages, self._future = messages, future

    def result(self) -> PreparedListings:
        return decode_prepared(self._future.result(), self.messages)


class PrepareWorker:
    """The consumer's handle on its worker process."""

    def __init__(self, settings: IngestSettings) -> None:
        """Starts the worker and waits until it is ready, so a bad setting fails at start-up
        (BrokenProcessPool) and the first batch does not wait for the worker's imports."""
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
                                         initargs=(settings,))
        self._pool.submit(_ready).result()

    def submit(self, messages: Sequence[Message]) -> PendingBatch:
        return PendingBatch(messages, self._pool.submit(_prepare, encode_messages(messages)))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def encode_messages(messages: Sequence[Message]) -> str:
    return json_codec.dumps([[m.topic, m.partition, m.offset, m.key, m.value, m.timestamp_ms] for m in messages])


def decode_messages(wire: str) -> list[Message]:
    return [Message(*fields) for fields in json_codec.loads(wire)]


def encode_prepared(prepared: PreparedListings, messages: Sequence[Message]) -> str:
    """Rejections travel as positions in the batch: the consumer keeps the messages themselves."""
    position = {id(message): number for number, message in enumerate(messages)}
    writes = prepared.writes
    return json_codec.dumps({
        "upserts": writes.upserts, "deletes": writes.deletes, "stale": writes.stale, "marked": writes.marked,
        "rejections": [[position[id(r.message)], r.reason, r.errors] for r in prepared.rejections],
    })


def decode_prepared(wire: str, messages: Sequence[Message]) -> PreparedListings:
    fields = json_codec.loads(wire)
    writes = ClusterWrites(fields["upserts"], fields["deletes"], fields["stale"], fields["marked"])
    rejections = [Rejection(messages[n], reason, errors) for n, reason, errors in fields["rejections"]]
    return PreparedListings(writes, rejections)


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (elsewhere: nothing to ask); exit
    at once if the parent died before the asking."""
    name = ctypes.util.find_library("c")
    if name:
        ctypes.CDLL(name, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid != os.getppid():
        os._exit(1)


def _start(settings: IngestSettings) -> None:
    global _preparer
    die_with_parent()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging(settings.log_format, settings.log_level)
    registry = OrganisationRegistry(settings.state_location(), settings.dedupe_name_threshold,
                                    settings.dedupe_max_km)
    _preparer = ListingPreparer.configured(settings, registry)
    settle_memory()


def _ready() -> bool:
    return _preparer is not None


def _prepare(wire: str) -> str:
    assert _preparer is not None, "the worker was not started"
    messages = decode_messages(wire)
    return encode_prepared(_preparer.prepare(messages), messages)
