"""The consumer's per-batch rules: validation, geocoding, ordering within a batch."""

from __future__ import annotations

from typing import Any

import pytest

from services.ingest.geocode import GeoChain, default_chain
from services.ingest.pipeline import plan_batch, prepare_listing
from shared.events.port import Message


@pytest.fixture(scope="module")
def gazetteer() -> GeoChain:
    return default_chain()


def raw(id: str = "t:a", minute: int = 0, **fields: Any) -> dict[str, Any]:
    return {"id": id, "name": "Alpha", "source": "test", "updated_at": f"2025-01-01T00:{minute:02d}:00Z", **fields}


def msgs(*values: tuple[str | None, dict[str, Any] | None]) -> list[Message]:
    return [Message("listings", 0, i, key, value, 0) for i, (key, value) in enumerate(values)]


def test_postcode_is_normalised_and_geocoded_to_its_district(gazetteer: GeoChain) -> None:
    listing = prepare_listing(raw(postcode="ls11un"), gazetteer)
    assert listing.postcode == "LS1 1UN"
    assert listing.location is not None and listing.location.lat == pytest.approx(53.79, abs=0.05)
    assert listing.geo_precision == "district"
    assert listing.region == "Yorkshire and The Humber"


def test_a_given_location_wins(gazetteer: GeoChain) -> None:
    listing = prepare_listing(raw(postcode="LS1 1UN", location={"lat": 51.5, "lon": -0.1}), gazetteer)
    assert listing.location is not None and listing.location.lat == 51.5
    assert listing.geo_precision == "given"


def test_invalid_records_are_rejected_with_field_reasons(gazetteer: GeoChain) -> None:
    plan = plan_batch(msgs(("t:a", raw(name="")), ("t:b", raw("t:b", postcode="12345")),
                           ("t:c", raw("t:c"))), gazetteer)
    assert set(plan.upserts) == {"t:c"}
    reasons = {r.message.key: r for r in plan.rejections}
    assert reasons["t:a"].errors[0]["field"] == "name"
    assert reasons["t:b"].reason == "invalid postcode"


def test_key_must_match_id(gazetteer: GeoChain) -> None:
    plan = plan_batch(msgs(("t:other", raw("t:a"))), gazetteer)
    assert not plan.upserts and "does not match" in plan.rejections[0].reason


def test_last_tombstone_wins_unless_a_later_upsert_follows(gazetteer: GeoChain) -> None:
    plan = plan_batch(msgs(("t:a", raw()), ("t:a", None), ("t:b", None), ("t:b", raw("t:b"))), gazetteer)
    assert plan.deletes == {"t:a"}
    assert set(plan.upserts) == {"t:b"}


def test_newest_version_in_a_batch_wins_whatever_the_order(gazetteer: GeoChain) -> None:
    plan = plan_batch(msgs(("t:a", raw(minute=5, name="New")), ("t:a", raw(minute=1, name="Old"))), gazetteer)
    assert plan.upserts["t:a"].name == "New"


def test_a_district_alone_is_kept_and_geocoded(gazetteer: GeoChain) -> None:
    listing = prepare_listing(raw(postcode="ox4"), gazetteer)
    assert listing.postcode == "OX4" and listing.geo_precision == "district"


def test_a_listing_fetched_from_the_index_can_be_sent_back_as_it_is(gazetteer: GeoChain) -> None:
    """`verified_by` is the index's own derivation: read back, it is dropped and derived again."""
    entry = {"registry": "GB-SC", "identifier": "GB-SC-SC000001", "status": "registered charity", "as_of": "2024-05"}
    listing = prepare_listing(raw(postcode="EH1 1YZ", verified=[entry], verified_by=["GB-CHC"]), gazetteer)
    assert listing.index_document()["verified_by"] == ["GB-SC"]
