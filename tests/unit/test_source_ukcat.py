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


def test_a_faith_based_service_is_a_supplier_though_its_icnptso_group_is_religious() -> None:
    """Amina, the Muslim Women's Resource Centre: ICNP/TSO I90 with social-welfare tags."""
    listing = ukcat.record(_row(ICNPTSO="I90", UKCAT="SW105;RL104;ED"))
    assert listing["legal_form"] == "charity"


def test_the_objects_stand_in_when_a_charity_gives_no_activities() -> None:
    assert ukcat.record(_row(activities=""))["description"] == "TO RELIEVE POVERTY"


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"name": ""}, "no longer in the register"),
        ({"active": "False"}, "inactive charity"),
        ({"ICNPTSO": "I10"}, "not a supplier: religious congregation (ICNP/TSO)"),
        ({"ICNPTSO": "H10"}, "not a supplier: grant-making foundation (ICNP/TSO)"),
        ({"ICNPTSO": "I90", "UKCAT": "RL200"},
         "not a supplier: religious association doing nothing else (ICNP/TSO I90, UK-CAT tags)"),
        ({"ICNPTSO": "", "UKCAT": "RL302;RL200;BE102"}, "not a supplier: place of worship (UK-CAT tags)"),
        ({"ICNPTSO": "", "UKCAT": "CA201;BE102"}, "not a supplier: grant-maker (UK-CAT tags)"),
        ({"ICNPTSO": "B32", "UKCAT": "ED201"}, "not a supplier: school parents' association or fund (UK-CAT tags)"),
        ({"name": "Frodsham Manor House P.T.A."}, "not a supplier: parent-teacher association (by name)"),
        ({"name": "Leith Bowling Club"}, "not a supplier: members' club (by name)"),
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


def test_a_charity_is_verified_by_its_register_as_of_the_fields_its_row_carries() -> None:
    sampled = Listing.model_validate(ukcat.record(_row(**{"Batch ID": "06_under_100000"})))
    refreshed = Listing.model_validate(ukcat.record(_row(**{"Batch ID": "Top charities"})))
    unclassified = Listing.model_validate(ukcat.record(_row(**{"Batch ID": ""})))
    assert [v.model_dump() for v in sampled.verified] == [
        {"registry": "GB-SC", "identifier": "GB-SC-SC012345", "status": "registered charity", "as_of": "2021-07",
         "current": True}
    ]
    assert refreshed.verified[0].as_of == unclassified.verified[0].as_of == "2026-07"
    assert sampled.updated_at < refreshed.updated_at
    assert sampled.licence == "CC-BY-4.0; OGL-UK-3.0"


@pytest.mark.parametrize(
    ("org_id", "raw", "number", "org_ids"),
    [
        ("GB-CHC-1000003", "2324869.0", "02324869", ["GB-CHC-1000003", "GB-COH-02324869"]),
        ("GB-CHC-1000003", "0", None, ["GB-CHC-1000003"]),
        ("GB-SC-SC012345", "SC123456", "SC123456", ["GB-SC-SC012345", "GB-COH-SC123456"]),
        ("GB-CHC-1000003", "CE013020", None, ["GB-CHC-1000003"]),
        ("GB-NIC-100016", "42579", "NI042579", ["GB-NIC-100016"]),
        ("GB-NIC-100016", "111111", None, ["GB-NIC-100016"]),
    ],
)
def test_company_numbers_are_normalised_and_named_by_org_id_only_when_certain(
    org_id: str, raw: str, number: str | None, org_ids: list[str]
) -> None:
    listing = ukcat.record(_row(org_id=org_id, company_number=raw))
    assert listing.get("company_number") == number and listing["org_ids"] == org_ids


def test_the_icnptso_title_is_a_category_and_its_cpv_codes_are_marked_inferred() -> None:
    listing = ukcat.record(_row(ICNPTSO="D20", UKCAT="SC106;BE102;HE202"))
    assert listing["categories"][0] == "Child day-care services"
    assert "Residential care" in listing["categories"] and "Cancer" in listing["categories"]
    assert listing["beneficiaries"] == [ukcat.tags()["BE102"].label]
    # D20 child day-care; the residential-care tag's related group C32; the cancer tag names no service.
    assert listing["cpv_codes"] == ["85312110", "85311100"] and listing["cpv_inferred"] is True
    assert ukcat.record(_row(ICNPTSO="F20"))["cpv_inferred"] is False


@pytest.mark.parametrize("code", ["K21", "L30", "L50"])
def test_professional_catering_and_transport_charities_are_suppliers(code: str) -> None:
    assert ukcat.record(_row(ICNPTSO=code))["cpv_codes"]


def test_a_faith_based_charity_that_delivers_a_service_is_kept() -> None:
    listing = ukcat.record(_row(ICNPTSO="", UKCAT="RL200;RL302;HO103"))
    assert "Homelessness" in listing["categories"]


def test_never_classified_rows_are_listed_with_what_they_have() -> None:
    listing = Listing.model_validate(ukcat.record(_row(ICNPTSO="", UKCAT="", **{"Batch ID": ""})))
    assert listing.categories == [] and listing.cpv_codes == [] and listing.verified


def test_an_ni_charity_number_is_written_as_the_ni_register_writes_it() -> None:
    listing = ukcat.record(_row(org_id="GB-NIC-100016", reg_number="NI100016", source="CCNI"))
    assert listing["charity_number"] == "100016" and listing["org_ids"] == ["GB-NIC-100016"]
