"""Spend whose supplier was not surely found is linked again after the directory changes.

An invoice often names its supplier before any source lists that supplier, so its record is
stored unlinked (or with a suggestion for a person to confirm). Once listings have been indexed,
those records are run through the same rules as on arrival (`spend.link_all`: a registry number,
else a near-certain name, else suggestions). Only a record whose link changed is rewritten. A
record that a person has decided on is never revisited: their decision stands.

Re-linking costs a few index searches per distinct supplier name, so it is paced. A pass starts
at most every `interval_s`, and only when listings were indexed since the last one started (the
first pass comes at start-up, for listings indexed while the consumer was stopped). A pass pages
through the waiting records by key. While listings stream in, each `tick` links one page of
`BUSY_PAGE` records (a supplier name costs about 5 ms of index searches at 131,000 listings, so
about 25 ms beside a batch); when the consumer is idle it links pages of `PAGE` for up to
`IDLE_BUDGET_S`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from services.ingest.spend import SupplierLinker, link_all
from services.ingest.supplier_link import DirectoryNames
from shared.spend_store import SpendStore, SupplierLink

log = logging.getLogger("socialmatch.ingest.spend_relink")
PAGE = 25
BUSY_PAGE = 5
IDLE_BUDGET_S = 0.5


class SpendRelinker:
    """The consumer's re-linking of waiting spend, paced as the module says."""

    def __init__(self, store: SpendStore, linker: SupplierLinker, names: DirectoryNames | None,
                 interval_s: float, on_relinked: Callable[[int], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.linker, self.names = store, linker, names
        self.interval_s = interval_s
        self.on_relinked = on_relinked or (lambda count: None)
        self.clock = clock
        self._changed = True  # listings may have been indexed while the consumer was stopped
        self._started: float | None = None  # when the last pass started
        self._cursor: str | None = None  # the last key a pass in progress has seen

    def listings_changed(self) -> None:
        self._changed = True

    def tick(self, busy: bool = False) -> int:
        """Start a pass if one is due, and work on the pass in progress: one small page when
        `busy` (listings streaming in), else pages until the idle budget is spent. Returns how
        many records' links changed."""
        now = self.clock()
        if self._cursor is None:
            if not self._changed or (self._started is not None and now - self._started < self.interval_s):
                return 0
            self._changed, self._started, self._cursor = False, now, ""
        if busy:
            return self._page(BUSY_PAGE)
        relinked = 0
        while self._cursor is not None and self.clock() - now <= IDLE_BUDGET_S:
            relinked += self._page(PAGE)
        return relinked

    def run_pass(self) -> int:
        """One whole pass now, whatever the pacing."""
        self._cursor, relinked = "", 0
        while self._cursor is not None:
            relinked += self._page(PAGE)
        return relinked

    def _page(self, size: int) -> int:
        """Link one page again; the cursor moves only once the page is written, so a page that
        failed (the index unavailable) is done again on the next try."""
        assert self._cursor is not None
        waiting = self.store.awaiting_link(self._cursor, size)
        stored = {entry.record.key: SupplierLink(entry.suggested_supplier_id, entry.link_status, entry.candidates)
                  for entry in waiting}
        pairs = link_all([entry.record for entry in waiting], self.linker, self.names)
        changed = [(record, link) for record, link in pairs if link != stored[record.key]]
        if changed:
            self.store.upsert(changed)
            self.on_relinked(len(changed))
            log.info("spend linked again", extra={"records": len(changed)})
        self._cursor = waiting[-1].record.key if len(waiting) == size else None
        return len(changed)
