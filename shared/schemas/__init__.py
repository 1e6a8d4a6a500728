"""Published JSON Schemas of the data model (regenerate with `make schemas`; a test checks they are current)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from shared.models import Listing, Lot, SpendRecord

SCHEMA_DIR = Path(__file__).parent
MODELS: dict[str, type[BaseModel]] = {"listing": Listing, "lot": Lot, "spend-record": SpendRecord}


def render(model: type[BaseModel]) -> str:
    return json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"


def write_all() -> list[Path]:
    written = []
    for name, model in MODELS.items():
        path = SCHEMA_DIR / f"{name}.schema.json"
        path.write_text(render(model), encoding="utf-8")
        written.append(path)
    return written
