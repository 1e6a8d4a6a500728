"""What an upload of spend does to the ledger, told before it is published: which records are new,
which change a stored one (and how), which are already there; and the refusals that keep a
mistaken upload from overwriting anything.

Checked as a whole, so one reply names every problem: a record that fails validation (by the
file's line and column, or the JSON item's path), and two items of one upload that are the same
record (same supplier and reference), which would otherwise silently keep only the last.

The counts compare with the ledger as stored when the upload arrives; records of an earlier
upload that the consumer has not written yet are not seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from services.ingest.spend_csv import CsvRow
from shared.errors import FieldError, InvalidInput
from shared.models import SpendRecord
from shared.spend_store import SpendStore

# Fields a re-sent record may change; `updated_at` is bookkeeping, not a change a person made.
COMPARED = tuple(name for name in SpendRecord.model_fields if name not in ("organisation", "updated_at"))


@dataclass(frozen=True)
class Item:
    """One record of an upload and where it came from: `line 7` in a CSV, `[6]` in JSON."""

    record: SpendRecord
    where: str

    def field(self, name: str) -> str:
        """How an error names one of its fields: `line 7: reference`, or `[6].reference`."""
        return f"{self.where}.{name}" if self.where.startswith("[") else f"{self.where}: {name}"


@dataclass
class Outcome:
    stored: int = 0
    updated: int = 0
    unchanged: int = 0
    changes: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"stored": self.stored, "updated": self.updated, "unchanged": self.unchanged, "changes": self.changes}


def from_csv(rows: Sequence[CsvRow], organisation: str) -> list[Item]:
    """The CSV's rows as records, or InvalidInput naming every invalid value (by line and the
    file's column) and every record sent twice."""
    items: list[Item] = []
    errors: list[FieldError] = []
    for row in rows:
        errors += row.problems
        unread = {e.field for e in row.problems}  # a value that could not be read is not also "missing"
        try:
            record = SpendRecord.model_validate({**row.values, "organisation": organisation})
        except ValidationError as exc:
            found = [FieldError(f"line {row.line}: {_column(err['loc'], row.columns)}", _message(err))
                     for err in exc.errors(include_url=False)]
            errors += [e for e in found if e.field not in unread]
            continue
        if not row.problems:
            items.append(Item(record, f"line {row.line}"))
    return _accepted(items, errors)


def from_json(rows: Sequence[dict[str, Any]], organisation: str) -> list[Item]:
    """The JSON items as records, or InvalidInput naming every invalid field and repeated record."""
    items: list[Item] = []
    errors: list[FieldError] = []
    for i, row in enumerate(rows):
        try:
            items.append(Item(SpendRecord.model_validate({**row, "organisation": organisation}), f"[{i}]"))
        except ValidationError as exc:
            errors += [FieldError(".".join([f"[{i}]", *map(str, err["loc"])]), _message(err))
                       for err in exc.errors(include_url=False)]
    return _accepted(items, errors)


def _column(loc: tuple[Any, ...], columns: dict[str, str]) -> str:
    """The file's name for a field: `amount` where the file gave pounds; a record-level rule
    (no supplier named) belongs to the supplier columns."""
    if not loc:
        return "supplier_name"
    name = str(loc[0])
    if name == "amount_pence" and "amount_pence" not in columns:
        return columns.get(name, "amount")
    return columns.get(name, name)


def _message(err: Any) -> str:
    message = str(err["msg"])
    return message.removeprefix("Value error, ")


def _accepted(items: list[Item], errors: list[FieldError]) -> list[Item]:
    errors = errors + duplicates(items)
    if errors:
        raise InvalidInput(f"{len(errors)} problems in the spend records; nothing was published", errors,
                           status=422)
    return items


def duplicates(items: Sequence[Item]) -> list[FieldError]:
    """Two items that are one record (same supplier and reference), naming both places: keeping
    only the last would silently lose the other."""
    first: dict[str, Item] = {}
    errors = []
    for item in items:
        seen = first.setdefault(item.record.key, item)
        if seen is not item:
            errors.append(FieldError(
                item.field("reference"),
                f"{item.record.reference!r} for this supplier is also on {seen.where}: send each record once",
            ))
    return errors


def outcome(store: SpendStore, items: Sequence[Item]) -> Outcome:
    """Each item as new, an update (with each field's old and new value) or unchanged."""
    stored = store.records([item.record.key for item in items])
    result = Outcome()
    for item in items:
        record, before = item.record, stored.get(item.record.key)
        base = {"where": item.where, "reference": record.reference, "supplier": _supplier(record)}
        if before is None:
            result.stored += 1
            result.changes.append({**base, "change": "stored", "amount_pence": record.amount_pence})
            continue
        fields = {name: {"from": _json(getattr(before, name)), "to": _json(getattr(record, name))}
                  for name in COMPARED if getattr(before, name) != getattr(record, name)}
        if fields:
            result.updated += 1
            result.changes.append({**base, "change": "updated", "fields": fields})
        else:
            result.unchanged += 1
    return result


def _supplier(record: SpendRecord) -> str:
    return record.supplier_name or record.supplier_id or ""


def _json(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
