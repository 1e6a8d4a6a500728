"""What the consumer does to one record: normalise, geocode, validate, or explain the rejection.

Pure functions over messages (given a `GeoChain`), so the rules are unit-tested without a backend.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from services.ingest.geocode import GeoChain
from services.ingest.normalise import FieldErrors, Invalid, normalise_listing
from shared.errors import field_errors
from shared.events.envelope import Provenance, origin, split_provenance
from shared.events.port import Message
from shared.geo import InvalidPostcode
from shared.models import Listing

log = logging.getLogger("socialmatch.ingest.pipeline")


@dataclass(frozen=True)
class Rejection:
    message: Message
    reason: str
    errors: FieldErrors = field(default_factory=list)


@dataclass
class BatchPlan:
    """One batch reduced to index writes: the newest upsert or a delete per key, plus rejections."""

    upserts: dict[str, Listing] = field(default_factory=dict)
    origins: dict[str, Message] = field(default_factory=dict)
    deletes: set[str] = field(default_factory=set)
    rejections: list[Rejection] = field(default_factory=list)


def prepare_listing(raw: dict[str, Any], geo: GeoChain, provenance: Provenance | None = None) -> Listing:
    """Normalise, place and validate a raw listing; raises Invalid, InvalidPostcode or ValidationError.

    The listing keeps one provenance entry for itself (source, file and line or request) unless
    the record already carries merged provenance.
    """
    fields = normalise_listing(raw)
    fields.update(geo.place(fields))
    if not fields.get("provenance") and isinstance(fields.get("id"), str) and isinstance(fields.get("source"), str):
        fields["provenance"] = [{"id": fields["id"], "source": fields["source"], "origin": origin(provenance),
                                 "updated_at": fields.get("updated_at")}]
    return Listing.model_validate(fields)


def check(message: Message, geo: GeoChain) -> Listing | Rejection:
    """The listing a message carries, or why it cannot be listed. Never raises: a record that
    trips an unexpected error is a rejection too, so one odd record cannot stop the consumer
    (and the invalid-share limit stops it if every record does)."""
    raw, provenance = split_provenance(message.value)
    try:
        if not isinstance(raw, dict):
            return Rejection(message, "not a JSON object")
        listing = prepare_listing(raw, geo, provenance)
    except Invalid as exc:
        return Rejection(message, exc.reason, exc.errors)
    except ValidationError as exc:
        return Rejection(message, "listing failed validation", validation_errors(exc))
    except InvalidPostcode as exc:
        return Rejection(message, "invalid postcode", [{"field": "postcode", "message": str(exc)}])
    except Exception as exc:  # noqa: BLE001 - see the docstring
        log.exception("could not process %s@%d", message.topic, message.offset)
        return Rejection(message, f"could not process the record ({type(exc).__name__})")
    if message.key is not None and message.key != listing.id:
        reason = f"record key {message.key!r} does not match listing id {listing.id!r}"
        return Rejection(message, reason, [{"field": "id", "message": reason}])
    return listing


def validation_errors(exc: ValidationError) -> FieldErrors:
    return [{"field": e.field, "message": e.message} for e in field_errors(exc)]


def plan_batch(messages: Sequence[Message], geo: GeoChain) -> BatchPlan:
    """Reduce a batch to the writes it implies, keeping per-key order.

    The log is ordered per key, so the last tombstone for a key deletes it unless a later upsert
    follows; among upserts the newest `updated_at` wins (the index enforces that across batches).
    """
    plan = BatchPlan()
    for message in messages:
        if message.value is None:
            if message.key:
                plan.deletes.add(message.key)
                plan.upserts.pop(message.key, None)
            else:
                plan.rejections.append(Rejection(message, "tombstone without a key"))
            continue
        checked = check(message, geo)
        if isinstance(checked, Rejection):
            plan.rejections.append(checked)
            continue
        current = plan.upserts.get(checked.id)
        if current is None or current.updated_at <= checked.updated_at:
            plan.upserts[checked.id] = checked
            plan.origins[checked.id] = message
        plan.deletes.discard(checked.id)
    return plan
