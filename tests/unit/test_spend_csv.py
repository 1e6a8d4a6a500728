"""Reading a finance team's spend CSV: amounts in every form a credit note takes, UK dates, the
encodings Excel writes, and line numbers that match the file even when a value spans lines."""

from __future__ import annotations

from datetime import date

import pytest

from services.ingest.spend_csv import decode, parse_date, parse_pounds, read_rows
from services.matcher.spend.store import PackageBody
from shared.errors import InvalidInput


@pytest.mark.parametrize(("text", "pence"), [
    ("1234.50", 123_450), ("£1,234.50", 123_450), ("1,234", 123_400), ("0.01", 1), ("£ 12", 1_200),
    ("-4500", -450_000), ("-£4,500.00", -450_000), ("£-4,500.00", -450_000), ("(4,500.00)", -450_000),
    ("(£4,500)", -450_000), ("−12.00", -1_200),
])
def test_amounts_in_pounds_and_accounting_forms(text: str, pence: int) -> None:
    assert parse_pounds(text) == (pence, None)


@pytest.mark.parametrize("text", ["12.345", "1,23.00", "lots", "--5", "(-5)", "£", "1.2.3", "5-"])
def test_what_is_not_an_amount_says_so(text: str) -> None:
    pence, problem = parse_pounds(text)
    assert pence is None and problem and repr(text) in problem


def test_dates_iso_or_uk_and_never_american() -> None:
    assert parse_date("2025-05-31") == date(2025, 5, 31) and parse_date("31/05/2025") == date(2025, 5, 31)
    assert parse_date("1/6/2025") == date(2025, 6, 1)
    assert parse_date("05/31/2025") is None and parse_date("31/02/2025") is None and parse_date("soon") is None


def test_encodings() -> None:
    assert decode("£5".encode()) == ("£5", "utf-8")
    assert decode(b"\xef\xbb\xbf\xc2\xa35") == ("£5", "utf-8")  # Excel's CSV UTF-8 starts with a BOM
    assert decode("£5".encode("cp1252")) == ("£5", "windows-1252")
    assert decode("£5".encode("latin-1"), "ISO-8859-1") == ("£5", "iso-8859-1")
    with pytest.raises(InvalidInput) as refused:
        decode(b"ok\n\x81")
    assert refused.value.status == 415 and refused.value.errors[0].field == "line 2"


def test_rows_are_numbered_by_the_line_they_start_on() -> None:
    rows = read_rows('reference,date,amount,supplier_name\nA,2025-05-01,1,"Two\nLines Ltd"\n\nB,2025-05-01,x,C\n')
    assert [r.line for r in rows] == [2, 5]
    assert rows[0].values["supplier_name"] == "Two\nLines Ltd" and rows[1].problems[0].field == "line 5: amount"


def test_a_row_with_more_values_than_columns_is_named() -> None:
    [row] = read_rows("reference,date\nA,2025-05-01,extra\n")
    assert row.problems[0].field == "line 2" and "1 more values" in row.problems[0].message


def test_a_header_that_names_a_column_twice_or_both_amounts_is_refused() -> None:
    with pytest.raises(InvalidInput) as twice:
        read_rows("reference,date,amount,amount\nA,2025-05-01,1,2\n")
    assert twice.value.errors[0].field == "line 1: amount"
    with pytest.raises(InvalidInput) as both:
        read_rows("reference,date,amount,amount_pence\nA,2025-05-01,1,100\n")
    assert both.value.errors[0].field == "line 1: amount_pence"


def test_a_package_counts_for_its_days_inside_the_period() -> None:
    lot = {"title": "Cleaning", "postcode": "LS1 1UN"}
    two_years = PackageBody.model_validate({"lot": lot, "value_pence": 730_000, "expected_on": "2025-12-01",
                                            "ends_on": "2027-11-30"})
    assert two_years.value_within(date(2025, 4, 1), date(2026, 3, 31)) == 121_000
    assert two_years.value_within(date(2028, 1, 1), date(2028, 12, 31)) == 0
    one_day = PackageBody.model_validate({"lot": lot, "value_pence": 5, "expected_on": "2026-01-01"})
    assert one_day.value_within(date(2025, 4, 1), date(2026, 3, 31)) == 5
