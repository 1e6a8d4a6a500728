"""Source adapters, merging, and the shipped sample directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.ingest.sources import coopsuk, oxford, threesixtygiving, workerscoop
from services.ingest.sources.common import Skipped, listing_id, registry_numbers
from services.ingest.sources.impact import impact_areas
from services.ingest.sources.merge import CoopIndex, merge, similar_names
from services.ingest.sources.sic import describe
from services.ingest.sources.sic_to_cpv import cpv_for_sic
from shared.geo import default_gazetteer
from shared.models import Listing

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "listings.jsonl"


def coop_row(**overrides: str) -> dict[str, str]:
    """A Digital Commons standard row (Co-ops UK and Workers.coop share these columns)."""
    row = dict.fromkeys(
        [
            "Description",
            "Companies House Number",
            "Website",
            "Geo Container Latitude",
            "Geo Container Longitude",
        ],
        "",
    )
    row.update(
        {
            "Identifier": "R007121",
            "Name": "Belfast Cleaning Co-operative Limited",
            "Street Address": "Unit 1\nShankill Road",
            "Locality": "Belfast",
            "Postcode": "bt13 2jf",
            "Sector": "Housing",
            "SIC Code": "81200",
            "Ownership Classification": "Workers",
            "Legal Form": "Society",
            "Registered Number": "",
            "Registrar": "",
        }
    )
    row.update(overrides)
    return row


def test_coopsuk_keeps_a_cleaning_coop_filed_under_housing() -> None:
    listing = Listing.model_validate(coopsuk.to_listing(coop_row(), default_gazetteer()))
    assert listing.id == "coop:R007121"
    assert listing.legal_form.value == "cooperative"
    assert listing.cpv_codes == ["90910000"]
    assert "Cleaning activities" in listing.services
    assert listing.postcode == "BT13 2JF"
    assert listing.geo_precision == "district" and listing.region == "Northern Ireland"
    assert listing.address.street == "Unit 1, Shankill Road"


def test_coopsuk_uses_given_coordinates() -> None:
    row = coop_row(**{"Geo Container Latitude": "54.6", "Geo Container Longitude": "-5.95"})
    listing = coopsuk.to_listing(row, default_gazetteer())
    assert listing["geo_precision"] == "postcode"
    assert listing["location"] == {"lat": 54.6, "lon": -5.95}


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"Sector": "Housing", "SIC Code": "68201", "Ownership Classification": "Tenants"}, "non-supplier"),
        ({"Sector": "Housing", "SIC Code": "81100", "Ownership Classification": "Tenants"}, "non-supplier"),
        ({"Sector": "Finance", "SIC Code": "64921"}, "non-supplier"),
        ({"Sector": "Sports and Recreation", "SIC Code": "93120"}, "members' club"),
        ({"Sector": "Other", "SIC Code": "98100"}, "allotment"),
        ({"Sector": "", "SIC Code": ""}, "no sector"),
    ],
)
def test_coopsuk_skips_non_suppliers(overrides: dict[str, str], reason: str) -> None:
    with pytest.raises(Skipped, match=reason):
        coopsuk.to_listing(coop_row(**overrides), default_gazetteer())


@pytest.mark.parametrize(
    ("form", "ownership", "expected"),
    [
        ("Community Interest Company", "Workers", "cic"),
        ("Society", "", "cooperative"),
        ("Company", "Workers", "cooperative"),
        ("Company", "Employee Trust", "other"),
        ("Scottish Charitable Incorporated Organisation", "", "charity"),
    ],
)
def test_coopsuk_legal_form(form: str, ownership: str, expected: str) -> None:
    assert coopsuk.legal_form(form, ownership) == expected


def test_workerscoop_brings_description_and_society_number() -> None:
    row = coop_row(
        Description="We clean offices.\r\nWe also run training for new members.",
        **{"Registered Number": "4821", "Registrar": "FCA"},
    )
    listing = Listing.model_validate(workerscoop.to_listing(row, default_gazetteer()))
    assert listing.source == "workerscoop"
    assert listing.society_number == "4821"
    assert listing.description == "We clean offices.\nWe also run training for new members."
    assert "training" in listing.impact_areas


def oxford_row(**overrides: str) -> dict[str, str]:
    row = {
        "survey_id": "8",
        "name": "Transition by Design",
        "address_line1": "Makespace Oxford",
        "address_line2": "1 Aristotle Ln",
        "address_line3": "",
        "town": "Oxford",
        "postcode": "OX2 6TP",
        "website": "www.transitionbydesign.org",
        "description": "Architecture & design cooperative.\n\n\n \n\nGreen architecture.",
        "primary_activity": "Community & Collective Spaces",
        "secondary_activities_flags": "secondaryActivities[SQ006]=Yes;secondaryActivities[SQ007]=No",
        "structure_flags": "structure[SQ006]=Yes;structure[SQ011]=Yes",
    }
    row.update(overrides)
    return row


def test_oxford_flags_become_categories_impact_and_legal_form() -> None:
    listing = Listing.model_validate(oxford.to_listing(oxford_row(), default_gazetteer()))
    assert listing.id == "oxford:8"
    assert listing.legal_form.value == "cic"
    assert listing.categories == ["Community & Collective Spaces", "Energy"]
    assert listing.impact_areas == ["community", "environment"]
    assert listing.description == "Architecture & design cooperative.\n\nGreen architecture."
    assert listing.region == "South East"


def test_oxford_accepts_an_outcode_and_skips_campaigns() -> None:
    listing = oxford.to_listing(oxford_row(postcode="OX4"), default_gazetteer())
    assert listing["postcode"] == "OX4" and listing["geo_precision"] == "district"
    campaign = oxford_row(
        primary_activity="Campaigning, Activism & Advocacy", structure_flags="structure[SQ001]=Yes"
    )
    with pytest.raises(Skipped, match="not a supplier"):
        oxford.to_listing(campaign, default_gazetteer())


def grant(**overrides: str) -> dict[str, str]:
    row = {
        "grant_id": "360G-ptc-gr-1",
        "award_date": "2016-05-01",
        "programme": "Community Business Fund (CBF)",
        "grant_description": "Grant to The Old Pub",
        "recipient_id": "360G-ptc-ORG:the-old-pub,-ash",
        "recipient_name": "The Old Pub",
        "organisation_type": "Community Benefit Society",
        "charity_number": "",
        "company_number": "RS007123",
        "street_address": "High St",
        "locality": "Leeds",
        "postal_code": "LS1 4AP",
        "url": "",
    }
    row.update(overrides)
    return row


def test_powertochange_merges_a_recipients_grants() -> None:
    grants = [
        grant(),
        grant(
            grant_id="360G-ptc-gr-2",
            award_date="2018-02-01",
            programme="More Than a Pub (MTP)",
            grant_description="Funding to support a pub becoming community owned",
            recipient_name="The Old Pub Ltd",
        ),
    ]
    listing = Listing.model_validate(threesixtygiving.to_listing(grants, default_gazetteer()))
    assert listing.id == "ptc:360G-ptc-ORG-the-old-pub--ash"
    assert listing.name == "The Old Pub Ltd"
    assert listing.legal_form.value == "cooperative"
    assert listing.society_number == "RS007123"
    assert listing.categories == ["Community business", "Community pub"]
    assert "2016-2018" in listing.description and "Grant to" not in listing.description
    assert "Funding to support a pub" in listing.description


def test_powertochange_skips_universities() -> None:
    with pytest.raises(Skipped, match="university"):
        threesixtygiving.to_listing([grant(organisation_type="University")], default_gazetteer())


def test_merge_prefers_the_richer_record_and_the_precise_place() -> None:
    register = {
        "id": "coop:R1",
        "name": "Bike Co Limited",
        "source": "coopsuk",
        "services": ["Retail"],
        "postcode": "M14 5HF",
        "location": {"lat": 53.4, "lon": -2.2},
        "geo_precision": "postcode",
        "region": "North West",
        "contact": {"website": "http://a"},
        "updated_at": coopsuk.EDITION,
    }
    directory = {
        "id": "coop:R1",
        "name": "Bike Co",
        "source": "workerscoop",
        "description": "We repair bicycles.",
        "services": ["Repair"],
        "postcode": "M14 5HF",
        "location": {"lat": 53.0, "lon": -2.0},
        "geo_precision": "district",
        "region": "North West",
        "contact": {},
        "updated_at": workerscoop.EDITION,
    }
    merged = Listing.model_validate(merge(register, directory))
    assert merged.name == "Bike Co" and merged.source == "workerscoop"
    assert merged.services == ["Repair", "Retail"]
    assert merged.geo_precision == "postcode" and merged.location is not None and merged.location.lat == 53.4
    assert merged.contact.website == "http://a"
    assert merged.updated_at == workerscoop.EDITION


def test_coop_index_needs_number_or_district_plus_similar_name() -> None:
    index = CoopIndex(
        [
            {
                "id": "coop:R1",
                "name": "Gibside Community Farm CIC",
                "company_number": "01234567",
                "postcode": "NE16 6BG",
            },
            {"id": "coop:R2", "name": "Co-operatives London Limited", "company_number": "07654321"},
        ]
    )
    assert index.match({"name": "Gibside Community Farm", "company_number": "01234567"}) == "coop:R1"
    assert index.match({"name": "Gibside Community Farm", "postcode": "NE16 1AA"}) == "coop:R1"
    assert index.match({"name": "Co-operatives UK", "company_number": "07654321"}) is None
    assert not similar_names("Norwich Community Solar", "Norwich Community Agriculture Limited")


def test_helpers() -> None:
    assert listing_id("ptc", "360G-ptc-ORG:the-bell, ash&co") == "ptc:360G-ptc-ORG-the-bell-ash-co"
    assert registry_numbers("IP28755R") == {"society_number": "IP28755R"}
    assert registry_numbers("n/a") == {}
    assert describe("81210") == "General cleaning of buildings"
    assert describe("47200") == "Retail sale of food, beverages and tobacco in specialised stores"
    assert describe("93191") == "Activities of racehorse owners"
    assert cpv_for_sic("81229") == ["90911000"] and cpv_for_sic("47110") == []
    assert impact_areas(["Food service, Accommodation and Pubs"]) == []
    assert impact_areas(["Health and Social Care"], "jobs for ex-offenders") == [
        "health_and_wellbeing",
        "reducing_reoffending",
    ]


def test_sample_directory_lines_are_valid_listings_with_unique_ids() -> None:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    ids = [Listing.model_validate(json.loads(line)).id for line in lines]
    assert len(ids) > 1000
    assert len(ids) == len(set(ids))
    assert ids == sorted(ids)
