"""Spend links by name that a person confirms or rejects: what the API lists, and the checks a
decision passes before it is remembered.

Ingest suggests a listing for an invoice's supplier name when it is not near certain (see
`services.ingest.supplier_link`); such spend is addressable only until a member of the
organisation confirms the suggestion, or names the right listing. Kept apart from the routes so
the rules read in one place.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import FieldError, InvalidInput, NotFound
from shared.search.port import SearchIndex
from shared.spend_store import DECIDABLE, LINK_STATUSES, SpendStore, StoredSpend


class LinkDecisionBody(BaseModel):
    """A person's decision on one record's supplier: confirm a listing (a suggested candidate or any
    other listing in the directory), or reject the listing that was suggested or linked by name."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    supplier_id: str = Field(min_length=1, max_length=200)
    decision: Literal["confirm", "reject"]
    supplier_key: str | None = Field(
        default=None, max_length=600,
        description="Which record, when several suppliers' records share the reference (from the links list).",
    )


def link_json(stored: StoredSpend) -> dict[str, Any]:
    record = stored.record
    return {
        "reference": record.reference,
        "supplier_key": record.supplier_key,
        "date": record.date.isoformat(),
        "amount_pence": record.amount_pence,
        "supplier_name": record.supplier_name,
        "supplier_postcode": record.supplier_postcode,
        "status": stored.link_status,
        "counted_supplier_id": stored.linked_supplier_id,
        "suggested_supplier_id": stored.suggested_supplier_id,
        "candidates": [asdict(c) for c in stored.candidates],
        "decision": asdict(stored.decision) if stored.decision else None,
    }


def parse_status(raw: str | None) -> str | None:
    if raw is not None and raw not in LINK_STATUSES:
        raise InvalidInput(
            f"status must be one of {', '.join(LINK_STATUSES)}", [FieldError("status", "unknown status")]
        )
    return raw


def list_links(store: SpendStore, organisation_id: str, status: str | None) -> list[dict[str, Any]]:
    """Every record's link (or only those with `status`), oldest payment first."""
    return [link_json(s) for s in store.entries(organisation_id) if status is None or s.link_status == status]


def apply_decision(
    store: SpendStore, index: SearchIndex, organisation_id: str, reference: str, body: LinkDecisionBody, decided_by: str
) -> dict[str, Any]:
    """Check and remember a decision; returns the record's link as it now stands.

    404 when the organisation has no such record; 409 when the payer's own id or a registry
    number links it (facts a person's decision must not override: correct the record instead);
    422 when a confirmed listing is not in the directory, or a rejected one is not the listing
    on the table.
    """
    stored = find(store, organisation_id, reference, body.supplier_key)
    if stored.link_status not in DECIDABLE:
        raise InvalidInput(
            "this record names its supplier by directory id or registry number; send the record again to change it",
            [FieldError("reference", "linked by id or number")],
            status=409,
        )
    if body.decision == "confirm" and index.get(body.supplier_id) is None:
        raise InvalidInput(
            "no listing in the directory has that id", [FieldError("supplier_id", "not listed")], status=422
        )
    if body.decision == "reject" and body.supplier_id not in (stored.suggested_supplier_id, stored.linked_supplier_id):
        raise InvalidInput(
            "only the suggested or linked listing can be rejected",
            [FieldError("supplier_id", "not the suggested or linked listing")],
            status=422,
        )
    store.decide(stored.record.key, body.supplier_id, body.decision, decided_by)
    return link_json(store.entry(stored.record.key) or stored)


def undo_decision(store: SpendStore, organisation_id: str, reference: str, supplier_key: str | None) -> dict[str, Any]:
    """Forget a person's decision, so the record's link is ingest's suggestion again (404 when
    nobody decided on it)."""
    stored = find(store, organisation_id, reference, supplier_key)
    if not store.undecide(stored.record.key):
        raise NotFound("nobody has decided on this record's supplier")
    return link_json(store.entry(stored.record.key) or stored)


def find(store: SpendStore, organisation_id: str, reference: str, supplier_key: str | None) -> StoredSpend:
    """The one record a decision is about: by reference, and by supplier when several suppliers'
    records share it (409 listing them, rather than guessing which)."""
    found = store.with_reference(organisation_id, reference)
    if supplier_key is not None:
        found = [s for s in found if s.record.supplier_key == supplier_key]
    if not found:
        raise NotFound("no such spend record")
    if len(found) > 1:
        raise InvalidInput(
            f"{len(found)} suppliers' records have the reference {reference!r}; name one with supplier_key",
            [FieldError("supplier_key", f"one of {', '.join(repr(s.record.supplier_key) for s in found)}")],
            status=409,
        )
    return found[0]
