"""A spend CSV larger than one request takes (`POST /spend` accepts 1,000 records): the CLI's
`load FILE --spend --organisation ID`.

The file is read and checked whole, exactly as the API checks an upload (every error at once,
by line and column; duplicates refused), so a file is never half-published; then it is
published in batches, with progress, and the summary counts records stored, updated and
unchanged against the ledger as it stood when the load began.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.ingest import spend_changes, spend_csv
from services.ingest.publishing import chunked, publish_listings
from shared.events.envelope import with_provenance
from shared.events.port import EventLog
from shared.spend_store import SpendStore


def load_spend_csv(
    events: EventLog,
    topic: str,
    store: SpendStore,
    path: Path,
    organisation: str,
    batch: int = 500,
    progress: Callable[[int], Any] = lambda n: None,
) -> tuple[spend_changes.Outcome, str]:
    """Publish the file's records for `organisation`; returns what they do and the file's encoding.

    Raises `InvalidInput` (naming every problem) before anything is published.
    """
    text, encoding = spend_csv.decode(path.read_bytes())
    items = spend_changes.from_csv(spend_csv.read_rows(text), organisation)
    result = spend_changes.outcome(store, items)
    for chunk in chunked(items, batch):
        publish_listings(events, topic, [
            with_provenance(item.record.model_dump(mode="json", exclude_none=True),
                            {"file": path.name, "line": item.where, "format": "spend-csv"})
            for item in chunk
        ])
        progress(len(chunk))
    return result, encoding
