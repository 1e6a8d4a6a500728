"""Registry numbers and org-ids as de-duplication keys: placeholders are blanks, never keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.registry_keys import (
    _placeholder_by_rules,
    is_placeholder_number,
    org_id_keys,
    registry_keys,
    registry_number,
)
from services.ingest.sources.common import registry_number_text, registry_numbers
from shared.models import Listing

PLACEHOLDERS = ["", "  ", "N/A", "n/a", "NA", "none", "None", "-", "--", "Exempt", "EXCEPTED", "excepted charity",
                "pending", "applied for", "Applied for 2019", "TBC", "tba", "unknown", "CIO", "0", "00000000",
                "SC000000", "111111", "999999", "0000000", "2222222"]
NUMBERS = ["1000003", "SC012345", "NI612345", "08996508", "IP28755R", "7654R", "100419", "1122334", "55", "9"]


@pytest.mark.parametrize("value", PLACEHOLDERS)
def test_placeholders_are_blanks(value: str) -> None:
    assert is_placeholder_number(value)
    assert registry_number("charity", value) is None
    assert registry_numbers(value) == {}  # the source adapters' rule is the same one


@pytest.mark.parametrize("value", NUMBERS)
def test_real_numbers_are_keys(value: str) -> None:
    assert not is_placeholder_number(value)
    assert registry_number("charity", value) == value


def test_company_numbers_regain_their_leading_zeros() -> None:
    assert registry_number("company", " 8996508 ") == "08996508"
    assert registry_number("company", "sc 123456") == "SC123456"
    assert registry_number("charity", "1000003") == "1000003"


def test_an_org_id_is_a_key_and_its_local_part_its_registers_number() -> None:
    assert org_id_keys("GB-CHC-1000003") == [("org-id", "GB-CHC-1000003"), ("charity", "1000003")]
    assert org_id_keys("GB-COH-8996508") == [("org-id", "GB-COH-08996508"), ("company", "08996508")]
    assert org_id_keys("GB-SC-SC012345") == [("org-id", "GB-SC-SC012345"), ("charity", "SC012345")]
    assert org_id_keys("GB-MPR-IP28755R") == [("org-id", "GB-MPR-IP28755R"), ("society", "IP28755R")]
    assert org_id_keys("XI-PB-12345") == [("org-id", "XI-PB-12345")]  # a register we know no number kind of
    assert org_id_keys("GB-CHC-0") == [] and org_id_keys("GB-COH-11111111") == []


def test_a_listings_keys_come_org_ids_first_without_repeats_or_placeholders() -> None:
    listing = Listing.model_validate({
        "id": "t:1", "name": "Leeds Bike Mill", "source": "t", "org_ids": ["GB-CHC-1000003"],
        "charity_number": "1000003", "company_number": "N/A", "society_number": "Exempt",
        "updated_at": "2025-01-01T00:00:00Z"})
    assert registry_keys(listing) == [("org-id", "GB-CHC-1000003"), ("charity", "1000003")]


def test_source_adapters_keep_a_stated_number_and_drop_a_placeholder() -> None:
    assert registry_number_text(" 1000003 ") == "1000003"
    assert registry_number_text("Exempt") is None and registry_number_text("0") is None


def test_a_register_entry_is_the_strongest_key() -> None:
    listing = Listing.model_validate({
        "id": "ccni:GB-NIC-100002", "name": "Cancer Lifeline", "source": "ccni", "updated_at": "2020-06-30T00:00:00Z",
        "org_ids": ["GB-NIC-100002"], "charity_number": "100002",
        "verified": [{"registry": "GB-NIC", "identifier": "GB-NIC-100002", "status": "registered charity",
                      "as_of": "2020-06-30"}]})
    assert registry_keys(listing) == [("register entry", "GB-NIC-100002"), ("org-id", "GB-NIC-100002"),
                                      ("charity", "100002")]


@given(st.text(alphabet=st.characters(categories=["Nd"]), min_size=1, max_size=12)
       | st.from_regex(r"\A[0-9]{1,10}\Z") | st.sampled_from(["0", "00", "000", "11", "111", "1111111", "0000001"]))
def test_the_shortcut_for_plain_digits_agrees_with_the_rules(digits: str) -> None:
    assert is_placeholder_number(digits) == _placeholder_by_rules(digits.strip().upper())
