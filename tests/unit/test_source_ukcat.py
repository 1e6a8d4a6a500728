"""UK-CAT classified charities become listings that name themselves by org-id."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ingest.sources import ukcat
from services.ingest.sources.common import Skipped
from services.ingest.sources.formats import FORMATS
from shared.geo import default_gazetteer
from shared.models import Listing

DATA = Path(__file__).resolve().parents[2] / "data" / "sources" / "ukcat"


def _row(**values: str) -> dict[str, str]:
    row = {
        "org_id": "GB-SC-SC012345", "reg_number": "SC012345", "name": "Fife Furniture Reuse",
        "postcode": "ky1 1aa ", "active": "True", "activities": "We collect and pass on furniture.",
        "objects": "TO RELIEVE POVERTY", "source": "OSCR", "web": "fifefurniture.org.uk",
        "UKCAT": "", "ICNPTSO": "F20",
    }
    return {**row, **values}


def test_a_charity_is_keyed_by_its_org_id_and_keeps_its_own_words() -> None:
    listing = Listing.model_validate(ukcat.to_listing(_row(), default_gazetteer()))
    assert listing.id == "charity:GB-SC-SC012345" and listing.org_ids == ["GB-SC-SC012345"]
    assert listing.legal_form.value == "charity" and listing.charity_number == "SC012345"
    assert listing.description == "We collect and pass on furniture."
    assert listing.postcode == "KY1 1AA" and listing.location is not None and listing.region == "Scotland"
    assert listing.contact.website == "https://fifefurniture.org.uk"
    assert listing.source_url is not None and "SC012345" in listing.source_url


def test_the_objects_stand_in_when_a_charity_gives_no_activities() -> None:
    assert ukcat.record(_row(activities=""))["description"] == "TO RELIEVE POVERTY"


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"name": ""}, "no longer in the register"),
        ({"active": "False"}, "inactive charity"),
        ({"ICNPTSO": "I10"}, "not a supplier (grant-making, religious or members' body)"),
        ({"org_id": "GB-COH-01234567"}, "no charity register identifier"),
    ],
)
def test_rows_that_are_not_suppliers_are_skipped_with_the_reason(values: dict[str, str], reason: str) -> None:
    with pytest.raises(Skipped) as skipped:
        ukcat.record(_row(**values))
    assert skipped.value.reason == reason


def test_the_shipped_files_load_through_the_cli_format() -> None:
    records = list(FORMATS["ukcat"](DATA / "top2000.csv", None))
    listings = [Listing.model_validate(r.listing) for r in records if r.listing is not None]
    assert len(listings) > 1000 and not [r for r in records if r.problem]
    assert all(listing.org_ids[0].startswith(("GB-CHC-", "GB-SC-", "GB-NIC-")) for listing in listings)
