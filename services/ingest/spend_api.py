"""`POST /spend`: an organisation's invoices, purchase orders and credit notes, as JSON or CSV.

Only a member key may send spend, and always for its own organisation: the organisation comes
from the key, never from the body. The whole request is checked first and is all-or-nothing: a
422 names every problem at once (a JSON item's `[row].field`; a CSV's `line N: column`, in the
file's own line numbers and column names), including two items that are the same record. Then
it is published to the `spend` topic, and the reply counts what it will do to the ledger:
records `stored` (new), `updated` (each change listed, field by field) and `unchanged`.

A record is its organisation, supplier and reference (`SpendRecord.key`), so two suppliers'
invoices that share a number are two records. The CSV format, encodings and amount forms are in
`spend_csv`. Limits: `INGEST_MAX_BATCH_ITEMS` records (1,000) and `INGEST_MAX_BODY_BYTES` (16 MB)
per request; larger files go through the CLI (`load FILE --spend --organisation ID`), which
checks the whole file the same way and publishes it in batches.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, jsonify, request

from services.ingest import spend_changes, spend_csv
from services.ingest.publishing import publish_listings
from shared.accounts import Role
from shared.errors import FieldError, Forbidden, InvalidInput
from shared.events.envelope import with_provenance
from shared.spend_store import SpendStore, open_spend_store
from shared.web import app_resource, event_log, principal, request_json, settings

bp = Blueprint("spend_intake", __name__)


def spend_store() -> SpendStore:
    """The ledger the consumer writes, read here to tell an upload what it changes."""
    return app_resource("spend_store", lambda: open_spend_store(settings().spend_location()))  # type: ignore[no-any-return]


@bp.post("/spend")
def post_spend() -> Any:
    caller = principal()
    if caller.role is not Role.member or caller.organisation_id is None:
        raise Forbidden("spend is sent with an organisation member's key")
    encoding = None
    if request.mimetype == "text/csv":
        text, encoding = spend_csv.decode(request.get_data(), request.mimetype_params.get("charset"))
        rows = spend_csv.read_rows(text)
        _within_limit(len(rows))
        items = spend_changes.from_csv(rows, caller.organisation_id)
    else:
        raw = _json_rows()
        _within_limit(len(raw))
        items = spend_changes.from_json(raw, caller.organisation_id)
    result = spend_changes.outcome(spend_store(), items)
    request_id = (request.headers.get("X-Request-ID") or uuid.uuid4().hex)[:100]
    payloads = [with_provenance(item.record.model_dump(mode="json", exclude_none=True),
                                {"request_id": request_id, "item": i})
                for i, item in enumerate(items)]
    publish_listings(event_log(), settings().topic(settings().spend_topic), payloads)
    body = {"accepted": len(items), **result.as_json(), "references": [i.record.reference for i in items],
            "request_id": request_id}
    if encoding:
        body["encoding"] = encoding
    return jsonify(body), 202


def _within_limit(count: int) -> None:
    limit = settings().max_batch_items
    if count > limit:
        raise InvalidInput(f"at most {limit:,} records per request ({count:,} sent); send more in several"
                           " requests, or load the file with the CLI: load FILE --spend --organisation ID",
                           [FieldError("body", "too many records")], status=413)


def _json_rows() -> list[dict[str, Any]]:
    body = request_json()
    rows = [body] if isinstance(body, dict) else body
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise InvalidInput("send a spend record object, a non-empty array of them, or text/csv",
                           [FieldError("body", "expected an object or a non-empty array of objects")])
    for row in rows:
        if "organisation" in row:
            raise InvalidInput("the organisation comes from your key", [FieldError("organisation", "not allowed")],
                               status=422)
    return rows
