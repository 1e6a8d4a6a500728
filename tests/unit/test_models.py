"""The data model's rules, and that the published JSON Schemas match the code."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.models import Listing, Lot, SpendRecord, normalise_cpv
from shared.schemas import MODELS, SCHEMA_DIR, render
from tests.factories import listing


@pytest.mark.parametrize("name", MODELS)
def test_published_schemas_are_current(name: str) -> None:
    published = (SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")
    assert published == render(MODELS[name]), "run `make schemas`"


def test_cpv_codes_lose_check_digit_and_duplicates() -> None:
    item = listing("t:a", "A", cpv_codes=["90910000-9", "90910000", "77314000"])
    assert item.cpv_codes == ["90910000", "77314000"]
    assert normalise_cpv(" 45000000-7 ") == "45000000"


@pytest.mark.parametrize("bad", ["9091", "90910000-99", "abcdefgh", ""])
def test_bad_cpv_codes_are_rejected(bad: str) -> None:
    with pytest.raises(ValidationError):
        listing("t:a", "A", cpv_codes=[bad])


def test_listing_rejects_unknown_fields_and_impact_areas() -> None:
    with pytest.raises(ValidationError):
        Listing.model_validate({"id": "t:a", "name": "A", "source": "t", "updated_at": "2024-01-01", "x": 1})
    with pytest.raises(ValidationError, match="unknown impact areas"):
        listing("t:a", "A", impact_areas=["world_peace"])


def test_naive_timestamps_are_utc() -> None:
    item = Listing.model_validate({"id": "t:a", "name": "A", "source": "t", "updated_at": "2024-01-01T10:00:00"})
    assert item.updated_at.utcoffset() is not None and item.updated_at.hour == 10


def test_lot_needs_a_delivery_place() -> None:
    with pytest.raises(ValidationError, match="delivery place"):
        Lot.model_validate({"title": "Cleaning"})
    assert Lot.model_validate({"title": "Cleaning", "postcode": "LS1 1AA"}).radius_km == 50


def test_spend_record_key_and_amount() -> None:
    record = SpendRecord.model_validate({"organisation": "o", "supplier_id": "coop:R1", "amount_pence": 1250,
                                         "date": "2025-04-01", "reference": "INV-1"})
    assert record.key == '["o","id:coop:R1","INV-1"]'
    travis = SpendRecord.model_validate(
        {**record.model_dump(), "supplier_id": None, "supplier_name": "Travis  Perkins"})
    assert travis.key != record.key and travis.supplier_key == "name:travis perkins"
    with pytest.raises(ValidationError):
        SpendRecord.model_validate({**record.model_dump(), "amount_pence": 0})
    credit = SpendRecord.model_validate({**record.model_dump(), "amount_pence": -450_000})
    assert credit.is_credit
