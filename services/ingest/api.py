"""HTTP intake: `POST /listings` (one or a batch) and `DELETE /listings/<id>` publish to the log.

Writing the directory is a data steward's job, so both need an administrator key.

Requests are validated here so that a client learns about a bad field at once (422 naming the
field) and a batch is all-or-nothing; the consumer validates again, because the log has other
producers. Each published record carries its request id (the client's `X-Request-ID`, or a new
one) so that a record the consumer still rejects can be traced to the request that sent it.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Blueprint, jsonify, request

from services.ingest.geocode import default_chain
from services.ingest.pipeline import Rejection, check
from services.ingest.publishing import publish_listings, publish_tombstone
from shared.errors import FieldError, InvalidInput
from shared.events.envelope import with_provenance
from shared.events.port import Message
from shared.models import Listing
from shared.web import event_log, request_json, require_admin, settings

bp = Blueprint("ingest", __name__)


@bp.post("/listings")
def post_listings() -> Any:
    require_admin()
    body = request_json()
    if isinstance(body, dict):
        items, many = [body], False
    elif isinstance(body, list) and body:
        items, many = body, True
    else:
        raise InvalidInput("send a JSON listing object or a non-empty array of listings",
                           [FieldError("body", "expected an object or a non-empty array")], status=400)
    if len(items) > settings().max_batch_items:
        raise InvalidInput(f"at most {settings().max_batch_items} listings per request",
                           [FieldError("body", "too many items")], status=413)
    errors = [e for i, item in enumerate(items) for e in _validate(item, f"[{i}]" if many else "")]
    if errors:
        raise InvalidInput("some listings are invalid; nothing was published", errors, status=422)
    request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
    provenance = {"request_id": request_id[:100]}
    records = [with_provenance(item, {**provenance, "item": i} if many else provenance) for i, item in enumerate(items)]
    count = publish_listings(event_log(), settings().topic(settings().listings_topic), records)
    body = {"accepted": count, "ids": [item["id"] for item in items], "request_id": provenance["request_id"]}
    return jsonify(body), 202, {"X-Request-ID": provenance["request_id"]}


# What a listing id looks like (`workerscoop:R001799`): the model's own rule.
LISTING_ID = re.compile(Listing.model_json_schema()["properties"]["id"]["pattern"])


@bp.delete("/listings/<path:listing_id>")
def delete_listing(listing_id: str) -> Any:
    require_admin()
    if not LISTING_ID.match(listing_id):
        raise InvalidInput("that is not a listing id", [FieldError("listing_id", "expected source:id, e.g. "
                                                                   "workerscoop:R001799")])
    publish_tombstone(event_log(), settings().topic(settings().listings_topic), listing_id)
    return jsonify({"accepted": 1, "ids": [listing_id]}), 202


def _validate(item: Any, prefix: str) -> list[FieldError]:
    """The consumer's own checks (normalise, place, validate), so a client hears at once what the
    consumer would dead-letter."""
    if not isinstance(item, dict):
        return [FieldError(prefix or "body", "expected a JSON object")]
    checked = check(Message("api", 0, 0, None, item, 0), default_chain())
    if not isinstance(checked, Rejection):
        return []
    errors = checked.errors or [{"field": "body", "message": checked.reason}]
    return [FieldError(".".join(p for p in (prefix, e["field"]) if p), e["message"]) for e in errors]
