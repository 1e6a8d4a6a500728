"""CPV 2008 labels and the hierarchy derived from trailing zeros."""

from __future__ import annotations

import pytest

from services.ingest.sources.sic_to_cpv import SIC_PREFIX_TO_CPV
from shared import cpv


def test_label_with_and_without_check_digit() -> None:
    assert cpv.label("90910000-9") == "Cleaning services"
    assert cpv.label("90910000") == "Cleaning services"
    assert cpv.label("99999999") is None
    assert cpv.label("not a code") is None


def test_is_known() -> None:
    assert cpv.is_known("80000000")
    assert not cpv.is_known("80000001")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("03000000", "division"),
        ("90900000", "group"),
        ("90910000", "class"),
        ("90911000", "category"),
        ("90911200", "subcategory"),
    ],
)
def test_level(code: str, expected: str) -> None:
    assert cpv.level(code) == expected


def test_parent_codes() -> None:
    assert cpv.parent_codes("90911200-8") == ["90000000", "90900000", "90910000", "90911000"]
    assert cpv.parent_codes("90000000") == []


def test_shared_level() -> None:
    assert cpv.shared_level("90911200", "90919000") == "class"
    assert cpv.shared_level("90900000", "90910000") == "group"
    assert cpv.shared_level("90911200", "90911200") == "subcategory"
    assert cpv.shared_level("03000000", "90000000") is None


def test_malformed_codes_raise() -> None:
    with pytest.raises(ValueError):
        cpv.level("9091")


def test_every_inferred_sic_code_is_a_real_cpv_code() -> None:
    codes = {code for mapped in SIC_PREFIX_TO_CPV.values() for code in mapped}
    assert all(cpv.is_known(code) for code in codes), sorted(c for c in codes if not cpv.is_known(c))
