"""Safe de-duplication: placeholders are blanks, one source never merges with itself, and what is
short of near-certain waits in the review queue with its rule and score.

Every test runs on SQLite and on PostgreSQL (`state_location`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.ingest.dedupe import OrganisationRegistry
from shared.models import Listing

LEEDS = {"lat": 53.7997, "lon": -1.5492}
LEEDS_NEAR = {"lat": 53.8010, "lon": -1.5480}  # ~150 m away


def listing(id: str, name: str, source: str, minute: int = 0, **fields: Any) -> Listing:
    return Listing.model_validate({"id": id, "name": name, "source": source,
                                   "updated_at": f"2025-01-01T00:{minute:02d}:00Z", **fields})


@pytest.fixture
def registry(state_location: str) -> Iterator[OrganisationRegistry]:
    registry = OrganisationRegistry(state_location, name_threshold=90, max_km=2.0)
    yield registry
    registry.close()


def load(registry: OrganisationRegistry, *listings: Listing) -> dict[str, dict[str, Any]]:
    writes = registry.apply(listings, ())
    registry.done(writes)
    return writes.upserts


def test_two_leeds_organisations_with_charity_number_na_stay_two(registry: OrganisationRegistry) -> None:
    """The steward's report: both said charity no "N/A", were merged, and one vanished from search."""
    load(registry, listing("ccew:1", "Leeds Food Aid Network", "register", charity_number="N/A",
                           postcode="LS1 4AP", location=LEEDS))
    upserts = load(registry, listing("ptc:2", "Chapeltown Youth Theatre", "powertochange", charity_number="N/A",
                                     postcode="LS1 5DL", location=LEEDS_NEAR))
    assert list(upserts) == ["ptc:2"]
    assert registry.merged() == {}
