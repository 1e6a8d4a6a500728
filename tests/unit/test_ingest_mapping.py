"""A steward's JSON column mapping: transforms, the worked example, and errors that name the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.ingest.sources.formats import FORMATS, csv_header
from services.ingest.sources.mapping import CsvMapping, MappingError, charity_number, iso_date, uk_date
from shared.models import SpendRecord

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "examples"


def mapping_file(tmp_path: Path, spec: object) -> Path:
    path = tmp_path / "m.json"
    path.write_text(spec if isinstance(spec, str) else json.dumps(spec), encoding="utf-8")
    return path


def test_a_registry_number_field_is_spread_into_company_or_society_number(tmp_path: Path) -> None:
    mapping = CsvMapping.from_json(mapping_file(tmp_path, {"fields": {
        "registry": {"column": "Company No", "transform": "registry_number"}}}))
    assert mapping.to_listing({"Company No": "8996508"}) == {"company_number": "08996508"}
    assert mapping.to_listing({"Company No": "ip31234r"}) == {"society_number": "IP31234R"}
    assert mapping.to_listing({"Company No": "N/A"}) == {}
    # the mapping a steward wrote in issue 15 gave {"company_number": {"company_number": "8996508"}}
    as_written = CsvMapping.from_json(mapping_file(tmp_path, {"fields": {
        "company_number": {"column": "Company No", "transform": "registry_number"}}}))
    assert as_written.to_listing({"Company No": "8996508"}) == {"company_number": "08996508"}


@pytest.mark.parametrize(("cell", "iso"), [("14/03/2024", "2024-03-14"), ("1/4/2024", "2024-04-01"),
                                           ("02-05-2024", "2024-05-02"), (" 29/02/2024 ", "2024-02-29")])
def test_uk_dates_become_iso(cell: str, iso: str) -> None:
    assert uk_date(cell) == iso


@pytest.mark.parametrize("cell", ["31/02/2024", "2024-03-14", "14/13/2024", "March 2024"])
def test_a_date_that_is_not_dd_mm_yyyy_or_does_not_exist_is_refused(cell: str) -> None:
    with pytest.raises(ValueError, match="not a date"):
        uk_date(cell)


def test_iso_dates_are_checked() -> None:
    assert iso_date("2024-03-14") == "2024-03-14"
    with pytest.raises(ValueError, match="not a date"):
        iso_date("14/03/2024")


def test_charity_number_placeholders_are_dropped() -> None:
    assert charity_number(" 1056432 ") == "1056432"
    assert charity_number("sc012345") == "SC012345"
    assert [charity_number(cell) for cell in ("N/A", "none", "Exempt", "-")] == [None] * 4


def test_an_impossible_date_is_a_row_problem_naming_the_column(tmp_path: Path) -> None:
    mapping = CsvMapping.from_json(mapping_file(tmp_path, {"fields": {
        "name": "Name", "updated_at": {"column": "Last Updated", "transform": "date_uk"}}}))
    csv_file = tmp_path / "s.csv"
    csv_file.write_text("Name,Last Updated\nA,31/02/2024\n", encoding="utf-8")
    [record] = FORMATS["csv"](csv_file, mapping)
    assert record.listing is None and record.problem is not None
    assert "'Last Updated'" in record.problem and "31/02/2024" in record.problem


def test_the_worked_example_loads_through_its_mapping() -> None:
    mapping = CsvMapping.from_json(EXAMPLES / "council-suppliers.mapping.json")
    records = list(FORMATS["csv"](EXAMPLES / "council-suppliers.csv", mapping))
    listings = {r.listing["id"]: r.listing for r in records if r.listing}
    problems = {r.where: r.problem for r in records if r.problem}
    assert len(records) == 15 and len(listings) == 14
    assert list(problems) == ["8"] and "31/02/2024" in str(problems["8"])
    catering = listings["leeds-cc:SUP-0057"]
    assert catering["company_number"] == "08996508" and "charity_number" not in catering  # "N/A"
    assert catering["postcode"] == "LS14 1BP" and catering["updated_at"] == "2024-04-01"
    assert catering["services"] == ["catering", "school meals", "event catering"]
    assert listings["leeds-cc:SUP-0071"]["society_number"] == "IP31234R"
    assert "postcode" not in listings["leeds-cc:SUP-0093"]  # blank: the consumer cannot place it
    assert all(listing["source"] == "leeds-cc" for listing in listings.values())
    header = csv_header(EXAMPLES / "council-suppliers.csv")
    assert mapping.unmapped_columns(header) == ["Spend Category 2024/25"]
    assert mapping.missing_columns(header) == {}


def test_top_level_keys_starting_with_an_underscore_are_comments(tmp_path: Path) -> None:
    mapping = CsvMapping.from_json(mapping_file(tmp_path, {"_about": "Leeds suppliers, 2024", "fields": {"name": "N"}}))
    assert mapping.to_listing({"N": "Alpha"}) == {"name": "Alpha"}


def test_a_spend_mapping_is_checked_against_spend_record_fields(tmp_path: Path) -> None:
    path = mapping_file(tmp_path, {"fields": {"reference": "Invoice", "amount_pence": {"column": "Pence",
                                                                                      "transform": "number"}}})
    assert CsvMapping.from_json(path, SpendRecord).to_listing({"Invoice": "INV-1", "Pence": "1,200"}) == {
        "reference": "INV-1", "amount_pence": 1200.0}
    with pytest.raises(MappingError, match="no listing field 'reference'"):
        CsvMapping.from_json(path)


def test_missing_columns_name_their_fields() -> None:
    mapping = CsvMapping.from_json(EXAMPLES / "council-suppliers.mapping.json")
    header = ["Supplier Ref", "Supplier Name", "Activities"]
    missing = mapping.missing_columns(header)
    assert "services" not in missing  # "Activities" is one of its columns
    assert missing["postcode"] == ("Postcode",) and missing["registry"] == ("Company No",)


@pytest.mark.parametrize(("spec", "message"), [
    ("{not json", "not JSON"),
    ([], "expected an object"),
    ({"feilds": {}}, "unknown key 'feilds'"),
    ({"fields": ["Name"]}, '"fields" must be an object'),
    ({"fields": {"name": {"column": "N", "transform": "shout"}}}, "fields.name: unknown transform 'shout'"),
    ({"fields": {"nmae": "Name"}}, "no listing field 'nmae'"),
    ({"fields": {"address.postcode": "Postcode"}}, "no listing field 'address.postcode'"),
    ({"fields": {"name": 3}}, "fields.name: expected a column name"),
    ({"fields": {"name": {"columns": "Name"}}}, "a list of them"),
    ({"fields": {"name": {"colum": "Name"}}}, "unknown key 'colum'"),
    ({"fields": {"id": {"column": "Ref", "transform": "id:Leeds CC"}}}, "id prefix"),
    ({"constants": {"sauce": "x"}}, "constants.sauce: no listing field"),
    ({}, "no fields mapped"),
])
def test_a_bad_mapping_file_names_its_problem(tmp_path: Path, spec: object, message: str) -> None:
    with pytest.raises(MappingError, match=message.replace("(", r"\(")):
        CsvMapping.from_json(mapping_file(tmp_path, spec))
