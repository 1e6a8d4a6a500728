"""Normalisation rules and the geocoding precision chain."""

from __future__ import annotations

import re
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest.geocode import GeoChain, Point, region_centroids
from services.ingest.normalise import (
    _TIDY_URL,
    JAVASCRIPT_LOOKALIKES,
    Invalid,
    _may_hold_unsafe,
    _split_and_tidied,
    _tidied_text,
    _unsafe_text,
    normalise_email,
    normalise_listing,
    normalise_url,
    plain_text,
    tidy_name,
)
from services.ingest.sources.legal_forms import legal_form_from_text
from services.ingest.sources.sic_to_cpv import SIC_PREFIX_TO_CPV
from shared.cpv import is_known
from shared.geo import InvalidPostcode, default_gazetteer


def raw(**fields: Any) -> dict[str, Any]:
    return {"id": "t:a", "name": "Alpha", "source": "test", "updated_at": "2025-01-01T00:00:00Z", **fields}


@pytest.mark.parametrize(("given", "expected"), [
    ("  Leeds   Bike\tMill ", "Leeds Bike Mill"),
    ("LEEDS COMMUNITY CLEANING CIC", "Leeds Community Cleaning CIC"),
    ("FRIENDS OF THE EARTH-NORTH", "Friends of the Earth-North"),
    ("NHS", "NHS"),
    ("Already Mixed CASE", "Already Mixed CASE"),
    ("Men?s Sheds Cymru Association Limited", "Men's Sheds Cymru Association Limited"),
    ("West Tilbury King?s Head", "West Tilbury King's Head"),
    ("Why? Seriously?", "Why? Seriously?"),
])
def test_names(given: str, expected: str) -> None:
    assert tidy_name(given) == expected


def test_urls_and_emails() -> None:
    assert normalise_url("www.Example.ORG/Path") == "https://www.example.org/Path"
    assert normalise_url("HTTP://x.coop") == "http://x.coop"
    assert normalise_url("not applicable") is None and normalise_url("ftp://x.org") is None
    assert normalise_email("mailto:Info@Example.ORG") == "Info@example.org"
    assert normalise_email("info at example") is None


def test_unusable_contact_details_are_dropped_not_fatal() -> None:
    fields = normalise_listing(raw(contact={"website": "n/a", "email": "x@y.org"}))
    assert fields["contact"] == {"website": None, "email": "x@y.org"}


@pytest.mark.parametrize(("text", "form"), [
    ("Community Interest Company Limited by Guarantee", "cic"), ("CIO", "charity"),
    ("Industrial and provident society", "cooperative"), ("Co-operative", "cooperative"),
    ("Company Limited by Guarantee", "company_limited_by_guarantee"), ("Sole trader", "other"), ("cic", "cic"),
])
def test_legal_forms_map_to_the_vocabulary(text: str, form: str) -> None:
    assert legal_form_from_text(text) == form


def test_unknown_cpv_codes_are_rejected_with_the_field() -> None:
    assert normalise_listing(raw(cpv_codes=["90910000-9", "90911200"]))["cpv_codes"] == ["90910000-9", "90911200"]
    with pytest.raises(Invalid) as caught:
        normalise_listing(raw(cpv_codes=["90910000", "12345678"]))
    assert caught.value.errors == [{"field": "cpv_codes.1", "message": "'12345678' is not a CPV 2008 code"}]


def test_every_inferred_cpv_code_is_in_cpv_2008() -> None:
    assert all(is_known(code) for codes in SIC_PREFIX_TO_CPV.values() for code in codes)


def test_sic_codes_give_services_categories_and_likely_cpv() -> None:
    fields = normalise_listing(raw(sic_codes=["81.21.0"]))
    assert fields["cpv_codes"] == ["90910000"]
    assert fields["categories"] == ["Administrative and support service activities"]
    assert "General cleaning of buildings" in fields["services"]
    kept = normalise_listing(raw(sic_codes=["81210"], cpv_codes=["90911200"], categories=["cleaning"]))
    assert kept["cpv_codes"] == ["90911200"] and kept["categories"] == ["cleaning"]


@pytest.mark.parametrize("fields", [
    {"name": '=HYPERLINK("http://evil","click")'}, {"description": "@SUM(A1:A9)"}, {"name": "\t=1+1"},
    {"contact": {"phone": "=1+1"}}, {"description": "<p>Hi</p><script>alert(1)</script>"},
    {"description": '<img src=x onerror="alert(1)">'}, {"contact": {"website": "javascript:alert(1)"}},
])
def test_formulas_and_active_content_are_rejected(fields: dict[str, Any]) -> None:
    with pytest.raises(Invalid, match="unsafe content"):
        normalise_listing(raw(**fields))


def test_harmless_leading_signs_pass() -> None:
    normalise_listing(raw(description="- cleaning\n- catering", contact={"phone": "+44 113 000 0000"}))


def test_html_markup_becomes_text() -> None:
    assert plain_text("<p>We  clean <b>offices</b>.</p><p>Tea &amp; cake</p>") == "We clean offices.\nTea & cake"


class FakeGeocoder:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def locate(self, address: str) -> Point | None:
        self.asked.append(address)
        return (53.0, -1.0)


@pytest.fixture(scope="module")
def chain() -> GeoChain:
    return GeoChain(default_gazetteer())


def test_precision_chain_given_then_district_then_region_then_none(chain: GeoChain) -> None:
    given = chain.place({"postcode": "ls11un", "location": {"lat": 51.5, "lon": -0.1}})
    assert given["geo_precision"] == "given" and given["region"] == "Yorkshire and The Humber"
    assert chain.place({"postcode": "LS1 1UN"})["geo_precision"] == "district"
    region = chain.place({"region": "Wales"})
    assert region["geo_precision"] == "region"
    assert region["location"] == {"lat": region_centroids()["Wales"][0], "lon": region_centroids()["Wales"][1]}
    assert chain.place({}) == {"geo_precision": "none"}


def test_full_postcode_table_and_geocoder_are_used_when_configured() -> None:
    geocoder = FakeGeocoder()
    chain = GeoChain(default_gazetteer(), postcodes={"LS1 1UN": (53.7961, -1.5475)}, geocoder=geocoder)
    assert chain.place({"postcode": "LS1 1UN"})["geo_precision"] == "postcode"
    placed = chain.place({"postcode": "LS2 7HY", "address": {"street": "1 Mill St", "town": "Leeds"}})
    assert placed["geo_precision"] == "address" and geocoder.asked == ["1 Mill St, Leeds, LS2 7HY"]


def test_a_non_geographic_postcode_is_an_error_only_when_nothing_else_places_the_listing(chain: GeoChain) -> None:
    with pytest.raises(InvalidPostcode, match="not a geographic postcode"):
        chain.place({"postcode": "GIR 0AA"})
    assert chain.place({"postcode": "GIR 0AA", "region": "London"})["geo_precision"] == "region"
    with pytest.raises(InvalidPostcode):
        chain.place({"postcode": "12345"})


@pytest.mark.parametrize(("description", "field"), [
    ("<b>=HYPERLINK(\"http://evil\",\"x\")</b>", "description"),
    ("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>", "description"),
    ("&lt;script&gt;alert(1)&lt;/script&gt;", "description"),
    ("&#61;SUM(A1:A9)", "description"),
    ("<i> @SUM(A1)</i>", "description"),
])
def test_unsafe_text_is_caught_as_it_would_be_stored(description: str, field: str) -> None:
    with pytest.raises(Invalid) as raised:
        normalise_listing({"id": "t:1", "name": "X", "description": description})
    assert field in {e["field"] for e in raised.value.errors}


def test_ordinary_entities_and_markup_still_pass() -> None:
    fields = normalise_listing({"id": "t:1", "name": "X", "description": "<p>Fish &amp; chips, 5 &lt; 6</p>"})
    assert fields["description"] == "Fish & chips, 5 < 6"


# Pieces of formulas, markup, entities and the characters around them, so that generated records
# hold near misses as well as hits.
_UNSAFE_PIECES = ["=", "+", "-", "@", "SUM(", "A1(", " ", "\n", "\t", "\u00a0", '"', "'", "<", ">", "/", "script",
                  "SCRIPT", "iframe", "embed", " onclick", "=", "javascript", "java\u017fcript", "\u0130", ":",
                  "&", "&lt;", "&gt;", "&#61;", "&#x3c;", "&#10;", "&amp", "&quot;", ";", "\x00", "x", "care"]
_texts = st.lists(st.sampled_from(_UNSAFE_PIECES), max_size=8).map("".join)
_records = st.dictionaries(
    st.sampled_from(["name", "description", "services", "contact", "extra"]),
    st.recursive(_texts | st.integers() | st.none(),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b"]), inner,
                                                                             max_size=2), max_leaves=6),
    max_size=4)


@settings(max_examples=600, deadline=None)
@given(_records)
def test_the_joined_scan_misses_nothing_the_field_walk_finds(record: dict[str, object]) -> None:
    """The one-scan prefilter may send a clean record on to the walk, but must never let through
    a record whose fields the walk would reject."""
    if list(_unsafe_text(record, "")):
        assert _may_hold_unsafe(record)


def test_every_non_ascii_letter_that_matches_javascript_case_insensitively_is_a_lookalike() -> None:
    letters = re.compile("[javscript]", re.IGNORECASE)
    found = {chr(c) for c in range(128, sys.maxunicode + 1) if letters.fullmatch(chr(c))}
    assert found == set(JAVASCRIPT_LOOKALIKES)


_TEXT_PIECES = [" ", "  ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u2003", "\x0b", "<p>", "</p>", "<br/>", "< b >",
                "&amp;", "&", "<", ">", "care", "Health", "\n\n\n"]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_TEXT_PIECES) | st.text(max_size=3), max_size=10).map("".join))
def test_plain_texts_shortcut_agrees_with_tidying_it(description: str) -> None:
    assert plain_text(description) == _tidied_text(description)


def test_a_rewritten_field_is_checked_again_and_an_unchanged_one_was_checked_already() -> None:
    with pytest.raises(Invalid):  # only the stored text, once the markup is gone, is a formula
        normalise_listing({"id": "x:1", "name": "A", "description": "<b>=HYPERLINK(1)</b>"})
    with pytest.raises(Invalid):
        normalise_listing({"id": "x:1", "name": "A", "services": ["=SUM(1)"]})


_URL_PIECES = ["http", "https", "HTTPS", "://", "www", ".", "example", "org", "-", "/", "//", "?", "#", "a=1", "&", ":",
               "8080", " ", "\t", "\n", "\u00a0", "é", "[", "]", "@", "%20", "\x00", "X", ""]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(_URL_PIECES), max_size=12).map("".join))
def test_a_url_the_shortcut_keeps_is_one_tidying_would_keep(candidate: str) -> None:
    if _TIDY_URL.match(candidate):
        assert _split_and_tidied(candidate) == candidate
    assert normalise_url(candidate) == (_split_and_tidied(candidate if "://" in candidate.strip()
                                                          else f"https://{candidate.strip()}") if candidate.strip()
                                        else None)


def test_a_website_urlsplit_refuses_is_dropped_and_the_record_kept() -> None:
    fields = normalise_listing({"id": "x:1", "name": "A", "contact": {"website": "http://[www.example.org"}})
    assert fields["contact"]["website"] is None
