"""Declarative CSV mappings: which column feeds which listing field, through which transform.

A data steward with a new spreadsheet should not need code: a JSON mapping file names, for each
listing field, the column(s) to read and a transform from a fixed vocabulary (`TRANSFORMS`).
The built-in sources are declared the same way, with `Derived` rules where one field needs
several columns (Co-ops UK's legal form reads the form and the ownership class).

Mappings only move and reshape text. Everything that judges a value (postcode validity, CPV
codes, legal-form vocabulary, geocoding) happens once, in the consumer, whatever the source.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from shared.models import Listing

from .common import RawListing, Skipped, listing_id, registry_numbers, text, unique

Row = Mapping[str, Any]
Transform = Callable[[str], Any]
LIST_SEPARATOR = ";"


def split_list(value: str) -> list[str]:
    """A `;`-separated cell as a list (commas are too common inside service names)."""
    return unique(value.split(LIST_SEPARATOR))


def _number(value: str) -> float | None:
    cleaned = value.strip().replace(",", "")
    return float(cleaned) if cleaned else None


TRANSFORMS: dict[str, Transform] = {
    "text": text,
    "list": split_list,
    "lines": lambda value: text(", ".join(unique(value.splitlines()))),
    "number": _number,
    "registry_number": registry_numbers,
    "upper": lambda value: text(value.upper()),
    "lower": lambda value: text(value.lower()),
}
"""Transforms a JSON mapping may name; `id:<prefix>` (a source-qualified id) is also accepted."""


def named_transform(name: str) -> Transform:
    """Look a transform up by name; raises ValueError listing the known names."""
    if name.startswith("id:"):
        prefix = name[3:]
        return lambda value: listing_id(prefix, value) if value.strip() else None
    if name not in TRANSFORMS:
        raise ValueError(f"unknown transform {name!r}; known: id:<prefix>, {', '.join(sorted(TRANSFORMS))}")
    return TRANSFORMS[name]


@dataclass(frozen=True)
class Column:
    """The first of `names` that the row has and is not blank, through `transform`.

    Several names let one mapping read several editions of a file whose headers drifted.
    """

    names: tuple[str, ...]
    transform: Transform = text

    def __call__(self, row: Row) -> Any:
        for name in self.names:
            value = row.get(name)
            if isinstance(value, str) and value.strip():
                return self.transform(value)
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
    columns: tuple[str, ...] = field(default=())

    def to_listing(self, row: Row) -> RawListing:
        """The listing dict for one row (blank values left out); raises Skipped for non-suppliers."""
        if self.skip and (reason := self.skip(row)):
            raise Skipped(reason)
        out: RawListing = {}
        for path, spec in self.fields.items():
            value = spec(row)
            if value is None or value == "" or value == [] or value == {}:
                continue
            if isinstance(spec, Derived) and spec.spread:
                out.update(value)
            else:
                _set_path(out, path, value)
        return out

    @classmethod
    def from_json(cls, path: Path) -> CsvMapping:
        """Load a steward's mapping file: {"fields": {field: column | {column(s), transform}},
        "constants": {field: value}}."""
        spec = json.loads(path.read_text(encoding="utf-8"))
        fields: dict[str, Spec] = {}
        for target, source in spec.get("fields", {}).items():
            if isinstance(source, str):
                source = {"column": source}
            names = source.get("columns") or [source["column"]]
            fields[target] = col(*names, transform=named_transform(source.get("transform", "text")))
        for target, value in spec.get("constants", {}).items():
            fields[target] = Const(value)
        return cls(fields)


def _set_path(out: RawListing, path: str, value: Any) -> None:
    head, _, rest = path.partition(".")
    if rest:
        _set_path(out.setdefault(head, {}), rest, value)
    else:
        out[head] = value


def own_schema_mapping() -> CsvMapping:
    """The project's own CSV: one column per Listing field (`address.town` for nested ones),
    lists separated by `;`. Derived from the model so a new field needs no mapping change."""
    fields: dict[str, Spec] = {}
    for name, info in Listing.model_fields.items():
        if name == "provenance":  # set by ingest, never read from a file
            continue
        nested = info.annotation if isinstance(info.annotation, type) else _optional_model(info.annotation)
        if nested is not None and issubclass(nested, BaseModel):
            for sub in nested.model_fields:
                fields[f"{name}.{sub}"] = col(f"{name}.{sub}", transform=_cell(nested.model_fields[sub].annotation))
        else:
            fields[name] = col(name, transform=_cell(info.annotation))
    return CsvMapping(fields)


def _optional_model(annotation: Any) -> type | None:
    """`GeoPoint | None` -> GeoPoint; anything else -> None."""
    models = [a for a in get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
    return models[0] if len(models) == 1 else None


def _cell(annotation: Any) -> Transform:
    return split_list if get_origin(annotation) is list or annotation is list else text
