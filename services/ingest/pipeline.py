"""What the consumer does to one record: validate, normalise, geocode, or explain the rejection.

Pure functions over messages, so the rules are unit-tested without a backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from shared.errors import field_errors
from shared.events.port import Message
from shared.geo import Gazetteer, InvalidPostcode, normalise_place_code
from shared.models import Listing


@dataclass(frozen=True)
class Rejection:
    message: Message
    reason: str
    errors: list[dict[str, str]] = field(default_factory=list)


@dataclass
class BatchPlan:
    """One batch reduced to index writes: the newest upsert or a delete per key, plus rejections."""

    upserts: dict[str, Listing] = field(default_factory=dict)
    origins: dict[str, Message] = field(default_factory=dict)
    deletes: set[str] = field(default_factory=set)
    rejections: list[Rejection] = field(default_factory=list)


def prepare_listing(raw: dict[str, Any], gazetteer: Gazetteer) -> Listing:
    """Validate a raw listing and fill what can be derived: normalised postcode, location, region.

    A given location wins; otherwise the postcode's district (or area) centroid is used, and the
    listing records which precision it got so that users can judge a distance.
    """
    listing = Listing.model_validate(raw)
    updates: dict[str, Any] = {}
    if listing.postcode:
        postcode = normalise_place_code(listing.postcode)
        updates["postcode"] = postcode
        place = gazetteer.locate(postcode)
        if listing.location is None and place is not None:
            updates["location"] = {"lat": place.lat, "lon": place.lon}
            updates["geo_precision"] = place.precision
        if listing.region is None and place is not None and place.region:
            updates["region"] = place.region
    if listing.location is not None and listing.geo_precision == "none":
        updates["geo_precision"] = "given"
    if not updates:
        return listing
    return Listing.model_validate({**listing.model_dump(), **updates})


def plan_batch(messages: Sequence[Message], gazetteer: Gazetteer) -> BatchPlan:
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
        try:
            listing = prepare_listing(message.value, gazetteer)
        except ValidationError as exc:
            errors = [{"field": e.field, "message": e.message} for e in field_errors(exc)]
            plan.rejections.append(Rejection(message, "listing failed validation", errors))
            continue
        except InvalidPostcode as exc:
            plan.rejections.append(Rejection(message, "invalid postcode", [{"field": "postcode", "message": str(exc)}]))
            continue
        if message.key is not None and message.key != listing.id:
            reason = f"record key {message.key!r} does not match listing id {listing.id!r}"
            plan.rejections.append(Rejection(message, reason, [{"field": "id", "message": reason}]))
            continue
        current = plan.upserts.get(listing.id)
        if current is None or current.updated_at <= listing.updated_at:
            plan.upserts[listing.id] = listing
            plan.origins[listing.id] = message
        plan.deletes.discard(listing.id)
    return plan
