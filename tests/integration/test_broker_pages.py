"""The directory's "Find partners" and "Build a consortium" pages, over a real matcher on a local port."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient

from tests.directory_stack import directory_with_matcher
from tests.factories import directory, doc

YORK = (53.9590, -1.0815)
EXTRA = [
    doc(
        "t:cater-leeds",
        "Leeds Community Kitchen CIC",
        legal_form="cic",
        description="Catering and meals for events, training young cooks.",
        services=["catering"],
        cpv_codes=["55520000"],
        impact_areas=["youth_employment", "food"],
    ),
    doc(
        "t:york-both",
        "York Green Kitchens",
        at=YORK,
        legal_form="cooperative",
        description="Grounds maintenance, landscaping and catering.",
        services=["landscaping", "catering"],
        cpv_codes=["77314000", "55520000"],
        impact_areas=["environment"],
    ),
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    with directory_with_matcher(tmp_path_factory.mktemp("broker-pages"), [*directory(), *EXTRA]) as served:
        yield served


def page(client: FlaskClient, path: str, **params: str | list[str]) -> tuple[int, str]:
    response = client.get(f"{path}?{urlencode(params, doseq=True)}" if params else path)
    assert response.mimetype == "text/html"
    return response.status_code, response.get_data(as_text=True)


PARTNER_SEARCH: dict[str, str | list[str]] = {
    "name": "Builder plc",
    "sector": "private",
    "description": "Construction",
    "cpv_codes": "45000000",
    "impact_area": "employment",
    "postcode": "LS1 1UN",
    "capabilities": "grounds maintenance and landscaping",
    "seek_cpv": "77314000",
    "sectors": "third",
    "radius_km": "60",
}


def test_partners_page_shows_ranked_partners_with_reasons_and_what_they_add(client: FlaskClient) -> None:
    status, html = page(client, "/partners")
    assert status == 200 and "Find partners" in html and 'value="third" checked' in html

    status, html = page(client, "/partners", **PARTNER_SEARCH)
    assert status == 200, html
    assert 'href="/suppliers/t:garden-leeds"' in html and "Green Spaces Training" in html
    assert "What they add" in html and "Agricultural, forestry, horticultural" in html  # a type of work Builder lacks
    assert "How the score was made" in html and "Adds what you lack" in html and "km away" in html
    assert 'value="Builder plc"' in html and 'value="private" checked' in html  # the form keeps its answers


def test_partners_in_sectors_the_directory_does_not_list_are_explained(client: FlaskClient) -> None:
    status, html = page(client, "/partners", **{**PARTNER_SEARCH, "sectors": ["public", "private"]})
    assert status == 200 and "0 partners found" in html and "no\n    public-sector or private partners" in html


def test_partners_form_errors_use_the_error_summary(client: FlaskClient) -> None:
    status, html = page(client, "/partners", postcode="", capabilities="cleaning", sectors="third", radius_km="far")
    assert status == 400 and "<title>Error: Find partners" in html and "There is a problem" in html
    assert '<a href="#sector">Your sector: Select your organisation’s sector</a>' in html
    assert '<a href="#postcode">' in html and '<a href="#radius_km">' in html
    assert 'id="radius_km-error"' in html and 'value="far"' in html

    # The matcher's refusals, shown beside the fields they name.
    status, html = page(client, "/partners", **{**PARTNER_SEARCH, "postcode": "ZZ99 9ZZ"})
    assert status == 400 and '<a href="#postcode">Your postcode: postcode not recognised</a>' in html
    status, html = page(client, "/partners", **{**PARTNER_SEARCH, "seek_cpv": "123"})
    assert status == 400 and '<a href="#seek_cpv">CPV codes sought: ' in html and 'id="seek_cpv-error"' in html


CONSORTIUM = {
    "title": "Community centre services",
    "requirements": "Office cleaning 90910000\nGrounds maintenance 77314000\nCatering 55520000\nLegal advice 79100000",
    "postcode": "LS1 1UN",
    "radius_km": "60",
    "value": "200,000",
    "max_members": "3",
    "proposals": "3",
}


def test_consortia_page_names_who_covers_what_and_what_nobody_covers(client: FlaskClient) -> None:
    status, html = page(client, "/consortia")
    assert status == 200 and "Build a consortium" in html

    status, html = page(client, "/consortia", **CONSORTIUM)
    assert status == 200, html
    assert "Proposal 1:" in html and "covers 3 of 4" in html
    assert "No supplier in the directory covers Legal advice" in html and "Not covered:</strong> Legal advice" in html
    assert "a match of 0.17 or more" in html  # the cut-off is shown
    assert "is under the 0.17 a member needs" in html  # the near miss, and why
    assert "Try a wider distance" not in html  # distance is not why legal advice is uncovered
    for listing in ("t:clean-leeds", "t:cater-leeds"):
        assert f'href="/suppliers/{listing}"' in html
    assert "<strong>Office cleaning</strong> (<strong class=\"govuk-tag govuk-tag--green\">Strong fit</strong>" in html
    assert "km away" in html  # the member's reason
    assert "Office cleaning 90910000\nGrounds maintenance" in html  # the textarea keeps the lines


def test_consortia_form_errors_name_the_fields(client: FlaskClient) -> None:
    status, html = page(client, "/consortia", requirements="", postcode="", max_members="9")
    assert status == 400 and "There is a problem" in html
    for field in ("requirements", "postcode", "max_members"):
        assert f'<a href="#{field}">' in html and f'id="{field}-error"' in html

    status, html = page(client, "/consortia", **{**CONSORTIUM, "requirements": "Cleaning 9091"})
    assert status == 200  # "9091" is not a code, so it stays part of the label

    status, html = page(client, "/consortia", **{**CONSORTIUM, "postcode": "ZZ99 9ZZ"})
    assert status == 400 and '<a href="#postcode">Delivery postcode: postcode not recognised</a>' in html


def test_an_uploaded_ocds_release_is_one_consortium_question(client: FlaskClient) -> None:
    release = {
        "ocid": "ocds-x-1",
        "tender": {
            "lots": [{"id": "1", "title": "Cleaning"}, {"id": "2", "title": "Catering"}],
            "items": [
                {
                    "id": "a",
                    "relatedLot": "1",
                    "classification": {"scheme": "CPV", "id": "90910000"},
                    "deliveryAddresses": [{"postalCode": "LS1 1UN"}],
                },
                {
                    "id": "b",
                    "relatedLot": "2",
                    "classification": {"scheme": "CPV", "id": "55520000"},
                    "deliveryAddresses": [{"postalCode": "LS1 1UN"}],
                },
            ],
        },
    }
    upload = (io.BytesIO(json.dumps(release).encode()), "tender.json")
    response = client.post(
        "/consortia", data={"ocds": upload, "ocds_max_members": "2"}, content_type="multipart/form-data"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "For 2 requirements: Cleaning; Catering." in html and "Proposal 1:" in html

    bad = client.post(
        "/consortia", data={"ocds": (io.BytesIO(b"not json"), "x.json")}, content_type="multipart/form-data"
    )
    assert bad.status_code == 400 and "The file must be an OCDS release in JSON" in bad.get_data(as_text=True)
