"""A rebuild lock on Elasticsearch: one lease document, created with `op_type=create`.

Creating a document that already exists fails with 409, so exactly one holder wins. The holder
renews `expires_at` every third of the lease with `if_seq_no`/`if_primary_term` (optimistic
concurrency), and deletes the document when it is done. A holder that died stops renewing: once
`expires_at` has passed, the next rebuild deletes the stale lease (again conditionally, so two
successors cannot both take it) and creates its own. Expiry compares wall clocks, so the hosts
running rebuilds need roughly synchronised clocks (seconds, against a lease of a minute).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from elasticsearch import BadRequestError, ConflictError, Elasticsearch, NotFoundError

from shared.search.port import RebuildInProgress

log = logging.getLogger(__name__)
LEASE_S = 60.0
LEASE_ID = "rebuild"


class Lease:
    """The lease on `index`'s one document, for `holder`; use `held()` as a context manager."""

    def __init__(self, client: Elasticsearch, index: str, holder: str, lease_s: float = LEASE_S) -> None:
        self._client, self._index, self._holder, self._lease_s = client, index, holder, lease_s
        self._seq_no, self._primary_term = 0, 0
        self._stop = threading.Event()

    @contextmanager
    def held(self) -> Iterator[None]:
        self._acquire()
        renewer = threading.Thread(target=self._renew_until_stopped, name="rebuild-lease", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            self._stop.set()
            renewer.join()
            self._release()

    def _document(self) -> dict[str, Any]:
        now = time.time()
        return {"holder": self._holder, "since": datetime.now(UTC).isoformat(timespec="seconds"),
                "expires_at": now + self._lease_s}  # fmt: skip

    def _acquire(self) -> None:
        try:
            self._client.indices.create(index=self._index)
        except BadRequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise
        try:
            self._create()
            return
        except ConflictError:
            pass
        current = self._client.get(index=self._index, id=LEASE_ID)
        lease = current["_source"]
        if float(lease.get("expires_at", 0)) > time.time():
            raise RebuildInProgress(
                f"a rebuild is already running ({lease.get('holder')}, since {lease.get('since')})"
            ) from None
        log.warning("taking over the expired rebuild lease of %s", lease.get("holder"))
        try:
            self._client.delete(index=self._index, id=LEASE_ID, if_seq_no=current["_seq_no"],
                                if_primary_term=current["_primary_term"], refresh=True)  # fmt: skip
            self._create()
        except (ConflictError, NotFoundError):
            raise RebuildInProgress("another rebuild took over the expired lease first") from None

    def _create(self) -> None:
        resp = self._client.create(index=self._index, id=LEASE_ID, document=self._document(), refresh=True)
        self._seq_no, self._primary_term = int(resp["_seq_no"]), int(resp["_primary_term"])

    def _renew_until_stopped(self) -> None:
        while not self._stop.wait(self._lease_s / 3):
            try:
                resp = self._client.index(index=self._index, id=LEASE_ID, document=self._document(), refresh=True,
                                          if_seq_no=self._seq_no, if_primary_term=self._primary_term)  # fmt: skip
                self._seq_no, self._primary_term = int(resp["_seq_no"]), int(resp["_primary_term"])
            except ConflictError:
                log.error("the rebuild lease was taken over; another rebuild may be running")
                return
            except Exception as exc:  # noqa: BLE001 - a missed renewal is retried; the lease still runs
                log.warning("could not renew the rebuild lease: %s", exc)

    def _release(self) -> None:
        try:
            self._client.delete(index=self._index, id=LEASE_ID, refresh=True, if_seq_no=self._seq_no,
                                if_primary_term=self._primary_term)  # fmt: skip
        except (ConflictError, NotFoundError):
            log.warning("the rebuild lease was no longer ours at release")
