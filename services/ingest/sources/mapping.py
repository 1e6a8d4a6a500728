"""Declarative CSV mappings: which column feeds which listing field, through which transform.

A data steward with a new spreadsheet should not need code: a JSON mapping file names, for each
listing field, the column(s) to read and a transform from a fixed vocabulary (`TRANSFORMS`).
The built-in sources are declared the same way, with `Derived` rules where one field needs
several columns (Co-ops UK's legal form reads the form and the ownership class).

Mappings only move and reshape text. Everything that judges a value (postcode validity, CPV
codes, legal-form vocabulary, geocoding) happens once, in the consumer, whatever the source.

The JSON format (`CsvMapping.from_json`; worked example: `data/examples/council-suppliers.csv`
with `data/examples/council-suppliers.mapping.json`)::

    {
      "fields": {
        "id":          {"column": "Supplier Ref", "transform": "id:leeds-cc"},
        "name":        "Supplier Name",
        "services":    {"columns": ["Services", "Activities"], "transform": "list"},
        "address.town": "Town",
        "charity_number": {"column": "Charity No", "transform": "charity_number"},
        "registry":    {"column": "Company No", "transform": "registry_number"},
        "updated_at":  {"column": "Last Updated", "transform": "date_uk"}
      },
      "constants": {"source": "leeds-cc", "licence": "OGL-UK-3.0"}
    }

- `fields` maps a listing field to a column: a column name, or an object with `column` (one
  name) or `columns` (several: the first that is present and not blank wins, for files whose
  headers drifted between editions) and an optional `transform` (default `text`). Nested fields
  are dotted: `address.town`, `contact.email`, `location.lat`, `service_area.regions`.
- A transform that yields several fields (`registry_number`: `company_number` or
  `society_number`, by the number's shape) is spread into the listing; its key in `fields` is
  only a label.
- `constants` sets a field to the same value on every row (`source`, `licence`, an
  `updated_at` for a file without a date column).
- `id:<prefix>` turns the column into a source-qualified id (`leeds-cc:SUP-0042`).
- Top-level keys starting with `_` (`"_about": "..."`) are comments, ignored.

A mistake in the file (not JSON, an unknown field or transform, the wrong shape) is a
`MappingError` naming it, before any row is read; a mapped column the file's header lacks is a
warning (`missing_columns`); a cell a transform cannot read (31/02/2024) is a problem of that
row, naming the column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from shared.models import Listing

from .common import RawListing, Skipped, listing_id, registry_numbers, text, unique

Row = Mapping[str, Any]
Transform = Callable[[str], Any]
LIST_SEPARATOR = ";"
COMPANY_NUMBER_LENGTH = 8  # Companies House numbers; spreadsheets drop their leading zeros
_UK_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")


class MappingError(ValueError):
    """A steward's mapping file that cannot be used as it stands; the message names the problem."""


def split_list(value: str) -> list[str]:
    """A `;`-separated cell as a list (commas are too common inside service names)."""
    return unique(value.split(LIST_SEPARATOR))


def _number(value: str) -> float | None:
    cleaned = value.strip().replace(",", "")
    return float(cleaned) if cleaned else None


def uk_date(value: str) -> str:
    """dd/mm/yyyy (also d/m/yyyy, dd-mm-yyyy, dd.mm.yyyy) as ISO yyyy-mm-dd, the way UK
    spreadsheets write dates; raises ValueError for anything else, or a day that does not exist."""
    found = _UK_DATE.match(value.strip())
    if not found:
        raise ValueError(f"{value.strip()!r} is not a date as dd/mm/yyyy")
    day, month, year = (int(part) for part in found.groups())
    try:
        return date(year, month, day).isoformat()
    except ValueError as exc:
        raise ValueError(f"{value.strip()!r} is not a date ({exc})") from None


def iso_date(value: str) -> str:
    """yyyy-mm-dd, checked; raises ValueError otherwise."""
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise ValueError(f"{value.strip()!r} is not a date as yyyy-mm-dd") from None


def registry_fields(value: str) -> dict[str, str]:
    """A registration number filed under company_number or society_number (`registry_numbers`),
    with a Companies House number's lost leading zeros put back."""
    fields = registry_numbers(value)
    company = fields.get("company_number")
    if company is not None and company.isdigit():
        fields["company_number"] = company.zfill(COMPANY_NUMBER_LENGTH)
    return fields


def charity_number(value: str) -> str | None:
    """A charity number, or None for a placeholder ("N/A", "none", "exempt")."""
    return text(value.upper()) if registry_numbers(value) else None


TRANSFORMS: dict[str, Transform] = {
    "text": text,
    "list": split_list,
    "lines": lambda value: text(", ".join(unique(value.splitlines()))),
    "number": _number,
    "date_uk": uk_date,
    "date": iso_date,
    "registry_number": registry_fields,
    "charity_number": charity_number,
    "upper": lambda value: text(value.upper()),
    "lower": lambda value: text(value.lower()),
}
"""Transforms a JSON mapping may name; `id:<prefix>` (a source-qualified id) is also accepted."""

SPREADING = frozenset({"registry_number"})
"""Transforms whose result is a dict of several listing fields, spread into the listing."""


def named_transform(name: str) -> Transform:
    """Look a transform up by name; raises MappingError listing the known names."""
    if name.startswith("id:"):
        prefix = name[3:]
        if not re.fullmatch(r"[a-z0-9_-]+", prefix):
            raise MappingError(f"transform {name!r}: the id prefix must be lower-case letters, digits, - or _")
        return lambda value: listing_id(prefix, value) if value.strip() else None
    if name not in TRANSFORMS:
        raise MappingError(f"unknown transform {name!r}; known: id:<prefix>, {', '.join(sorted(TRANSFORMS))}")
    return TRANSFORMS[name]


@dataclass(frozen=True)
class Column:
    """The first of `names` that the row has and is not blank, through `transform`.

    Several names let one mapping read several editions of a file whose headers drifted. A value
    the transform cannot read is a ValueError naming the column, so the row's problem says where.
    """

    names: tuple[str, ...]
    transform: Transform = text
    spread: bool = False

    def __call__(self, row: Row) -> Any:
        for name in self.names:
            value = row.get(name)
            if isinstance(value, str) and value.strip():
                try:
                    return self.transform(value)
                except ValueError as exc:
                    raise ValueError(f"column {name!r}: {exc}") from None
        return None


@dataclass(frozen=True)
class Derived:
    """A field computed from the whole row; `spread` results are dicts of several fields."""

    compute: Callable[[Row], Any]
    spread: bool = False

    def __call__(self, row: Row) -> Any:
        return self.compute(row)


@dataclass(frozen=True)
class Const:
    value: Any

    def __call__(self, row: Row) -> Any:
        return self.value


Spec = Column | Derived | Const


def col(*names: str, transform: Transform = text) -> Column:
    return Column(tuple(names), transform)


@dataclass(frozen=True)
class CsvMapping:
    """Field path (`name`, `address.town`) -> how to read it; `skip` says why a row is no supplier."""

    fields: Mapping[str, Spec]
    skip: Callable[[Row], str | None] | None = None

    def to_listing(self, row: Row) -> RawListing:
        """The listing dict for one row (blank values left out); raises Skipped for non-suppliers
        and ValueError (naming the column) for a value a transform cannot read."""
        if self.skip and (reason := self.skip(row)):
            raise Skipped(reason)
        out: RawListing = {}
        for path, spec in self.fields.items():
            value = spec(row)
            if value is None or value == "" or value == [] or value == {}:
                continue
            if isinstance(spec, Column | Derived) and spec.spread:
                out.update(value)
            else:
                _set_path(out, path, value)
        return out

    def columns_read(self) -> dict[str, tuple[str, ...]]:
        """Each field read from columns -> the column names it reads (derived rules read the whole
        row and are left out: they name no column here)."""
        return {path: spec.names for path, spec in self.fields.items() if isinstance(spec, Column)}

    def missing_columns(self, header: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """The fields none of whose columns is in `header` -> the columns they name."""
        present = set(header)
        return {path: names for path, names in self.columns_read().items() if not present.intersection(names)}

    def unmapped_columns(self, header: Sequence[str]) -> list[str]:
        """The header's columns that no field reads, in the file's order."""
        read = {name for names in self.columns_read().values() for name in names}
        return [name for name in header if name not in read]

    @classmethod
    def from_json(cls, path: Path, model: type[BaseModel] = Listing) -> CsvMapping:
        """Load a steward's mapping file (the format is in this module's docstring) for records of
        `model` (a spend CSV maps to SpendRecord); raises MappingError naming the first problem."""
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MappingError(f"not JSON: {exc}") from None
        if not isinstance(spec, dict):
            raise MappingError('expected an object with "fields" (and "constants")')
        unknown = sorted(key for key in set(spec) - {"fields", "constants"} if not key.startswith("_"))
        if unknown:
            raise MappingError(f"unknown key {unknown[0]!r}; a mapping has \"fields\" and \"constants\"")
        fields: dict[str, Spec] = dict(_fields(_object(spec, "fields"), model))
        for target, value in _object(spec, "constants").items():
            _check_field(target, "constants", model)
            fields[target] = Const(value)
        if not fields:
            raise MappingError("no fields mapped")
        return cls(fields)


def _object(spec: dict[str, Any], key: str) -> dict[str, Any]:
    value = spec.get(key, {})
    if not isinstance(value, dict):
        what = "column" if key == "fields" else "value"
        raise MappingError(f"\"{key}\" must be an object of listing field -> {what}")
    return value


def _fields(spec: dict[str, Any], model: type[BaseModel]) -> Iterator[tuple[str, Column]]:
    for target, source in spec.items():
        where = f"fields.{target}"
        if isinstance(source, str):
            source = {"column": source}
        if not isinstance(source, dict):
            raise MappingError(f"{where}: expected a column name or an object with \"column\" or \"columns\"")
        unknown = sorted(set(source) - {"column", "columns", "transform"})
        if unknown:
            raise MappingError(f"{where}: unknown key {unknown[0]!r} (known: column, columns, transform)")
        names = source.get("columns") if "columns" in source else [source.get("column")]
        if not isinstance(names, list) or not names or not all(isinstance(name, str) and name for name in names):
            raise MappingError(f"{where}: \"column\" must be a column name, \"columns\" a list of them")
        transform = source.get("transform", "text")
        if not isinstance(transform, str):
            raise MappingError(f"{where}: \"transform\" must be a name")
        try:
            function = named_transform(transform)
        except MappingError as exc:
            raise MappingError(f"{where}: {exc}") from None
        spread = transform in SPREADING
        if not spread:
            _check_field(target, "fields", model)
        yield target, Column(tuple(names), function, spread)


@cache
def model_fields(model: type[BaseModel] = Listing) -> dict[str, Any]:
    """Every field a file may set -> its annotation: the model's own fields, and nested ones
    dotted (`address.town`). Lists of objects (`provenance`, set by ingest; `verified`, set by
    register loaders) have no place in one cell, and are left out."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if get_origin(info.annotation) is list and _optional_model(info.annotation) is not None:
            continue
        nested = info.annotation if isinstance(info.annotation, type) else _optional_model(info.annotation)
        if nested is not None and issubclass(nested, BaseModel):
            out.update({f"{name}.{sub}": sub_info.annotation for sub, sub_info in nested.model_fields.items()})
        else:
            out[name] = info.annotation
    return out


def _check_field(target: str, where: str, model: type[BaseModel]) -> None:
    if target not in model_fields(model):
        what = "listing" if model is Listing else model.__name__
        raise MappingError(f"{where}.{target}: no {what} field {target!r} (known: {', '.join(model_fields(model))})")


def _set_path(out: RawListing, path: str, value: Any) -> None:
    head, _, rest = path.partition(".")
    if rest:
        _set_path(out.setdefault(head, {}), rest, value)
    else:
        out[head] = value


def own_schema_mapping() -> CsvMapping:
    """The project's own CSV: one column per Listing field (`address.town` for nested ones),
    lists separated by `;`. Derived from the model so a new field needs no mapping change."""
    return CsvMapping({path: col(path, transform=_cell(annotation)) for path, annotation in model_fields().items()})


def _optional_model(annotation: Any) -> type | None:
    """`GeoPoint | None` -> GeoPoint; anything else -> None."""
    models = [a for a in get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
    return models[0] if len(models) == 1 else None


def _cell(annotation: Any) -> Transform:
    return split_list if get_origin(annotation) is list or annotation is list else text
