"""Spend records (the `spend` topic): validated like listings, stored by organisation + reference.

Records are stored in `shared.spend_store` (the matcher's targets read the same store).

A payment names its supplier by directory id, or by name and registry number; the latter is
linked to the organisation registry's cluster when the number is known. Failing both, the name
is looked up in the directory (`supplier_link`): linked when near certain, else suggested for a
member of the organisation to confirm (never counted as social-enterprise spend until then), or
kept unlinked (with the name). Unlinked and suggested records are linked again once listings have
been indexed (`spend_relink`), and whenever the record is sent again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import ValidationError

from services.ingest.pipeline import Rejection, validation_errors
from services.ingest.registry_keys import registry_number
from services.ingest.supplier_link import DirectoryNames, link_by_name
from shared.events.envelope import split_provenance
from shared.events.port import Message
from shared.models import SpendRecord
from shared.spend_store import SupplierLink, as_link


class SupplierLinker(Protocol):
    def cluster_for_number(self, kind: str, number: str) -> str | None: ...


def link(record: SpendRecord, linker: SupplierLinker | None) -> str | None:
    """The directory id of the supplier a name-and-number record pays, when the number is listed."""
    if record.supplier_id or linker is None:
        return None
    for kind, number in (("company", record.supplier_company_number), ("charity", record.supplier_charity_number)):
        if (key := registry_number(kind, number)) and (found := linker.cluster_for_number(kind, key)):
            return found
    return None


def link_all(
    records: Iterable[SpendRecord], linker: SupplierLinker | None, names: DirectoryNames | None
) -> list[tuple[SpendRecord, SupplierLink]]:
    """Each record with its link: the payer's id, else a registry number, else the directory by name."""
    linked = [(record, as_link(record, link(record, linker))) for record in records]
    wanted = [
        (r.supplier_name, r.supplier_postcode) for r, found in linked if found.status == "unlinked" and r.supplier_name
    ]
    by_name = link_by_name(names, wanted) if names is not None else {}
    return [(r, by_name.get((r.supplier_name or "", r.supplier_postcode), found)) for r, found in linked]


@dataclass
class SpendPlan:
    """A batch of spend as records by key (the last one of a key in the batch wins), the message
    each came from (to dead-letter it if a store refuses it), and the rejections."""

    records: dict[str, SpendRecord] = field(default_factory=dict)
    origins: dict[str, Message] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)


def plan_spend(messages: Sequence[Message]) -> SpendPlan:
    plan = SpendPlan()
    for message in messages:
        raw, _ = split_provenance(message.value)
        if not isinstance(raw, dict):
            plan.rejections.append(Rejection(message, "not a JSON object"))
            continue
        try:
            record = SpendRecord.model_validate(raw)
        except ValidationError as exc:
            plan.rejections.append(Rejection(message, "spend record failed validation", validation_errors(exc)))
            continue
        plan.records[record.key] = record
        plan.origins[record.key] = message
    return plan
