"""The search, profile and lot pages as a buyer meets them, over a real matcher on a local port."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from services.directory.lot_form import value_pence
from services.directory.search_view import FACETS_SHOWN, distance_words
from tests.directory_stack import directory_with_matcher
from tests.factories import LEEDS, directory, doc

# Twelve regions, so the region facet has more values than it shows at first.
REGIONS = ["East Midlands", "East of England", "London", "North East", "North West", "Northern Ireland",
           "Scotland", "South East", "South West", "Wales", "West Midlands", "Yorkshire and The Humber"]  # fmt: skip
EXTRA = [
    doc(f"t:garden-{i}", f"Garden Crew {i}", at=LEEDS, region=region, description="Gardening and landscaping.")
    for i, region in enumerate(REGIONS)
] + [
    doc("t:district-leeds", "District Cleaners", at=(53.8, -1.50), postcode="LS9", geo_precision="district",
        description="Office cleaning.", company_number="SC123456", charity_number="1234567", source="coopsuk"),
]  # fmt: skip


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    with directory_with_matcher(tmp_path_factory.mktemp("search-pages"), [*directory(), *EXTRA]) as served:
        yield served


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def region_boxes(html: str) -> list[str]:
    return re.findall(r'name="region" type="checkbox" value="([^"]+)"', html)


def test_every_facet_value_is_reachable_without_javascript(client: FlaskClient) -> None:
    html = page(client, "/?q=gardening")
    assert len(region_boxes(html)) == FACETS_SHOWN
    link = re.search(r'href="([^"]+)">Show all (\d+)<span class="govuk-visually-hidden"> region', html)
    assert link is not None and int(link.group(2)) == len(REGIONS)
    everything = page(client, link.group(1).replace("&amp;", "&"))
    assert sorted(region_boxes(everything)) == REGIONS
    assert "Show fewer" in everything
    # The page-only parameter never reaches the API links.
    export = re.search(r'href="(/export.csv[^"]*)"', everything)
    assert export is not None and "all=" not in export.group(1)


def test_did_you_mean_names_the_corrected_word(client: FlaskClient) -> None:
    html = page(client, "/?q=cleening")
    assert "Did you mean “cleaning”?" in html and "No listing uses “cleening”" in html
    assert "Sparkle <mark>Cleaning</mark> CIC" in html


def test_an_empty_search_says_what_emptied_it(client: FlaskClient) -> None:
    radius = page(client, "/?q=bicycle&postcode=LS1&radius_km=20")
    assert "No supplier matching “bicycle” is within 20 km of LS1. The nearest are:" in radius
    assert "Bicycle Doctor</a>, 5" in radius and "Search within 100 km" in radius  # takes in the nearest
    words = page(client, "/?q=cleaning+bicycles")
    assert "No supplier in the directory uses the words “cleaning bicycles”" in words
    assert "similar spellings" not in words
    by_filter = page(client, "/?q=bicycle&legal_form=cic")
    assert "Remove the legal form filter" in by_filter


def test_errors_in_plain_words_all_at_once_with_the_input_kept(client: FlaskClient) -> None:
    html = page(client, "/?q=cleaning&postcode=nowhere&radius_km=abc", 400)
    assert "Enter a real postcode or district" in html and "Distance must be a number" in html
    assert 'value="nowhere"' in html and 'value="abc"' in html and 'value="cleaning"' in html
    assert "String should" not in html
    kept = page(client, "/?q=cleaning&postcode=nowhere&legal_form=cic&region=Narnia", 400)
    assert '<input type="hidden" name="legal_form" value="cic">' in kept  # the filters chosen survive
    assert 'name="region" value="Narnia"' not in kept  # but not the one in error


def test_district_only_locations_are_not_given_false_precision(client: FlaskClient) -> None:
    html = page(client, "/?q=office+cleaning&postcode=LS9&radius_km=10")
    assert "in LS9, within about 2 km" in html and "0.0 km away" not in html
    assert distance_words(7.6, "district", "LS9 8AA") == "in LS9, about 8 km away"
    assert distance_words(7.64, "postcode", "LS9 8AA") == "7.6 km away"


def test_back_link_keeps_the_search_and_sources_are_in_words(client: FlaskClient) -> None:
    html = page(client, "/?q=office+cleaning&postcode=LS9")
    link = re.search(r'href="(/suppliers/t:district-leeds\?back=[^"]+)"', html)
    assert link is not None
    profile = page(client, link.group(1).replace("&amp;", "&"))
    back = re.search(r'href="([^"]+)" class="govuk-back-link"', profile)
    assert back is not None and back.group(1).replace("&amp;", "&") == "/?q=office+cleaning&postcode=LS9"
    assert "Co-operatives UK open data" in profile
    assert "https://find-and-update.company-information.service.gov.uk/company/SC123456" in profile
    assert "charity-details/1234567" in profile
    elsewhere = page(client, "/suppliers/t:district-leeds?back=" + quote("//evil.example/"))
    assert 'href="/" class="govuk-back-link"' in elsewhere


def test_lot_form_offers_only_what_listings_have_and_checks_everything_at_once(client: FlaskClient) -> None:
    form = page(client, "/lots")
    assert 'value="reducing_reoffending"' in form and 'value="arts_and_culture"' not in form
    assert 'name="value"' in form and 'name="legal_forms"' in form and 'name="certifications"' in form
    assert '<option value="North West">North West</option>' in form
    # A whole specification pasted in (600,000 characters: past Werkzeug's 500 KB default for a
    # form field, which answered 413 and lost the input), sent as the page's form sends it.
    long_text = "Cleaning of council offices. " * 21_000
    response = client.post("/lots", content_type="multipart/form-data",
                           data={"title": "", "description": long_text, "cpv_codes": "abc 90910000",
                                 "postcode": "ZZ", "value": "lots", "radius_km": "-3"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    for message in ("Enter a title for the lot", "Description must be 20,000 characters or fewer",
                    "‘abc’ is not one", "Enter a real delivery postcode", "Enter the contract value in pounds",
                    "Distance must be a number"):
        assert message in html, message
    assert long_text.strip() in html  # the pasted text is still there to fix


def test_lot_form_sends_value_legal_form_and_region_to_the_matcher(client: FlaskClient) -> None:
    response = client.post("/lots", data={"title": "Office cleaning", "cpv_codes": "90910000", "region": "North West",
                                          "value": "£120,000", "legal_forms": "cooperative", "radius_km": "100"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:2000]
    assert "Suppliers for “Office cleaning”" in html
    assert "Sparkle Cleaning CIC" not in html  # a CIC: the lot asks for co-operatives
    assert value_pence("£120,000.5") == 12_000_050 and value_pence("12x") is None


def test_score_line_and_reason_give_the_same_distance(client: FlaskClient) -> None:
    html = client.post("/lots", data={"title": "Office cleaning", "cpv_codes": "90910000", "postcode": "LS9",
                                      "radius_km": "30"}).get_data(as_text=True)
    score_line = r"</span> · <strong>([^<]+)</strong>(?: \(beyond the search radius\))?</p>"
    pairs = re.findall(score_line + r"\s*<p[^>]*>([^<]+)</p>", html)
    assert pairs
    for line, reason in pairs:
        assert reason.startswith(line), (line, reason)
    assert "in LS9, within about 2 km" in html
