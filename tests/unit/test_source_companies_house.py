"""Community Interest Companies from Companies House's Free Company Data Product, read from files in
Companies House's layout (every value quoted, header names with their leading spaces), and joined to
the ICNP/TSO activity codes a model gave 62,088 CICs."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest

from services.ingest.loading import load_file
from services.ingest.sources import companies_house as ch
from services.ingest.sources.formats import FORMATS, SourceRecord
from shared.events.factory import open_event_log
from shared.models import Listing

FILE = "BasicCompanyDataAsOneFile-2026-11-01.csv"


def company(**values: str) -> dict[str, str]:
    row = dict.fromkeys(ch.COLUMNS, "")
    row.update({
        "CompanyName": "LEEDS CLEAN START CIC", " CompanyNumber": "12345678",
        "RegAddress.AddressLine1": "2 PARK ROW", " RegAddress.AddressLine2": "", "RegAddress.PostTown": "LEEDS",
        "RegAddress.PostCode": "LS1 5HD", "CompanyCategory": ch.CIC, "CompanyStatus": "Active",
        "CountryOfOrigin": "United Kingdom", "IncorporationDate": "03/04/2019",
        "SICCode.SicText_1": "81210 - General cleaning of buildings",
        "SICCode.SicText_2": "88990 - Other social work activities without accommodation n.e.c.",
        "URI": "http://business.data.gov.uk/id/company/12345678",
    })
    row.update(values)
    return row


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerow(ch.COLUMNS)
        writer.writerows([row[c] for c in ch.COLUMNS] for row in rows)
    return path


def write_activities(folder: Path, *rows: tuple[str, str, str]) -> None:
    with (folder / ch.ACTIVITIES_FILE).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["org_id", "icnptso_code", "icnptso_code_probability", "icnptso_code_source"])
        writer.writerows([org_id, code, probability, "ml_model"] for org_id, code, probability in rows)


def read(tmp_path: Path, rows: list[dict[str, str]], *activities: tuple[str, str, str]) -> list[SourceRecord]:
    write_activities(tmp_path, *activities)
    return list(FORMATS["companies-house"](write_csv(tmp_path / FILE, rows), None))


def test_an_active_cic_is_listed_with_what_its_sic_and_icnptso_codes_say(tmp_path: Path) -> None:
    [found] = read(tmp_path, [company()], ("GB-COH-12345678", "D40", "0.8"))
    assert found.listing is not None
    listing = Listing.model_validate(found.listing)
    assert listing.id == "cic:GB-COH-12345678" and listing.company_number == "12345678"
    assert listing.legal_form.value == "cic" and listing.org_ids == ["GB-COH-12345678"]
    assert [v.in_words() for v in listing.verified] == ["Community Interest Company, Companies House, 2026-11-01"]
    assert listing.sic_codes == ["81210", "88990"]
    assert listing.services[0] == "General cleaning of buildings"
    assert listing.cpv_codes == ["90910000", "85300000", "80530000", "79611000"] and listing.cpv_inferred
    assert listing.categories[0] == "Vocational rehabilitation services for people with barriers to employment"
    assert "classified by a model" in listing.description and "General cleaning" in listing.description
    assert listing.postcode == "LS1 5HD" and listing.address.town == "LEEDS" and listing.address.street == "2 PARK ROW"
    assert listing.source == "companieshouse" and listing.licence == ch.LICENCE
    assert listing.source_url == "https://find-and-update.company-information.service.gov.uk/company/12345678"
    assert listing.updated_at.date().isoformat() == "2026-11-01"


def test_a_low_probability_activity_code_is_not_used(tmp_path: Path) -> None:
    [found] = read(tmp_path, [company()], ("GB-COH-12345678", "H10", "0.3"))
    assert found.listing is not None  # a weak guess of "grant-maker" neither skips nor labels it
    assert "Grant-making foundations" not in found.listing["categories"]
    assert found.listing["cpv_codes"] == ["90910000", "85300000"]


def test_companies_that_are_not_cics_are_skipped_from_the_category_cell_alone(tmp_path: Path) -> None:
    [found] = read(tmp_path, [company(CompanyCategory="Private Limited Company")])
    assert found.skipped == "not a Community Interest Company"
    assert found.raw == {"CompanyCategory": "Private Limited Company"}


@pytest.mark.parametrize(
    ("values", "activity", "reason"),
    [
        ({"CompanyStatus": "Active - Proposal to Strike off"}, None, "company status: Active - Proposal to Strike off"),
        ({"CompanyStatus": "Liquidation"}, None, "company status: Liquidation"),
        ({"SICCode.SicText_1": "99999 - Dormant Company", "SICCode.SicText_2": ""}, None,
         "not a supplier (dormant company, SIC 99999)"),
        ({}, ("GB-COH-12345678", "H10", "0.9"), "not a supplier (grant-making foundation, ICNP/TSO by model)"),
        ({}, ("GB-COH-12345678", "G13", "1.0"), "not a supplier (members' social club, ICNP/TSO by model)"),
        ({"CompanyName": "ST JOHN'S SCHOOL PTA CIC"}, None, "parent-teacher association"),
    ],
)
def test_cics_that_are_not_suppliers_are_skipped_with_the_reason(
        tmp_path: Path, values: dict[str, str], activity: tuple[str, str, str] | None, reason: str) -> None:
    [found] = read(tmp_path, [company(**values)], *([activity] if activity else []))
    assert found.skipped == reason


def test_the_shipped_activities_file_is_used_when_none_is_beside_the_download(tmp_path: Path) -> None:
    path = write_csv(tmp_path / FILE, [company(**{" CompanyNumber": "05533834"})])  # A11 in the shipped file
    [found] = FORMATS["companies-house"](path, None)
    assert found.listing is not None and found.listing["categories"][0] == "Performing and visual arts"


def test_unreadable_rows_become_problems(tmp_path: Path) -> None:
    path = write_csv(tmp_path / FILE, [company(), company(**{" CompanyNumber": "123"})])
    with path.open("a", encoding="utf-8", newline="") as fh:
        fh.write('"BROKEN CIC","87654321"\r\n')
    ok, bad_number, truncated = FORMATS["companies-house"](path, None)
    assert ok.listing is not None
    assert bad_number.problem == "unreadable value: CompanyNumber '123' is not 8 letters and digits"
    assert truncated.problem == f"truncated row: 2 of {len(ch.COLUMNS)} columns" and truncated.where == "4"
    assert truncated.raw == {"CompanyName": "BROKEN CIC", "CompanyNumber": "87654321"}


def test_a_file_that_is_not_basic_company_data_is_refused(tmp_path: Path) -> None:
    path = tmp_path / FILE
    path.write_text("Name,Number\nA,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no CompanyCategory column"):
        list(FORMATS["companies-house"](path, None))


def test_invalid_bytes_in_a_kept_row_are_a_problem(tmp_path: Path) -> None:
    path = write_csv(tmp_path / FILE, [company()])
    path.write_bytes(path.read_bytes().replace(b"PARK ROW", b"PARK \xff ROW"))
    [found] = FORMATS["companies-house"](path, None)
    assert found.problem == "invalid text in column 'RegAddress.AddressLine1'"


def test_the_zipped_download_loads_through_the_event_log(tmp_path: Path) -> None:
    write_activities(tmp_path)
    csv_path = write_csv(tmp_path / FILE, [
        company(), company(CompanyCategory="Private Limited Company", **{" CompanyNumber": "00000001"}),
        company(CompanyStatus="Dissolved", **{" CompanyNumber": "22222222"}),
        company(**{" CompanyNumber": "bad"}),
    ])
    archive = tmp_path / "BasicCompanyDataAsOneFile-2026-11-01.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(csv_path, csv_path.name)
    events = open_event_log(f"sqlite:///{tmp_path}/events.db")
    summary = load_file(events, "listings", archive, "companies-house")
    assert (summary.read, summary.published, summary.rejected.total()) == (4, 1, 1)
    assert summary.skipped == {"not a Community Interest Company": 1, "company status: Dissolved": 1}
    [published] = events.consumer("listings", "check").poll(10, 0.1)
    assert published.key == "cic:GB-COH-12345678"
    events.close()
