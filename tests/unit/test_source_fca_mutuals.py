"""Registered societies from the FCA Mutuals Public Register's extract (`SocietyList.csv`)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from services.ingest.loading import load_file
from services.ingest.sources import fca_mutuals
from services.ingest.sources.formats import FORMATS, SourceRecord
from shared.events.factory import open_event_log
from shared.models import Listing

FILE = "SocietyList-2026-11-15.csv"


def society(**values: str) -> dict[str, str]:
    row = {
        "Society Name": "Calder Valley Community Energy Limited", "Full Registation Number": "7654R",
        "Society Address": "1 Mill Lane, Hebden Bridge, West Yorkshire, HX7 8AA",
        "Registered As": "Community Benefit Society",
        "Registration Act": "Co-operative and Community Benefit Societies Act 2014",
        "Registration Date": "12/06/2015", "Deregistration Date": "", "Society Status": "Registered",
    }
    row.update(values)
    return row


def write_csv(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] = fca_mutuals.COLUMNS) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)
    return path


def read(tmp_path: Path, rows: list[dict[str, str]]) -> list[SourceRecord]:
    return list(FORMATS["fca-mutuals"](write_csv(tmp_path / FILE, rows), None))


def test_a_registered_community_benefit_society_is_listed_and_verified(tmp_path: Path) -> None:
    [found] = read(tmp_path, [society()])
    assert found.listing is not None
    listing = Listing.model_validate(found.listing)
    assert listing.id == "mutual:GB-MPR-7654R" and listing.society_number == "7654R"
    assert listing.org_ids == ["GB-MPR-7654R"] and listing.legal_form.value == "cooperative"
    assert [v.in_words() for v in listing.verified] == [
        "community benefit society, FCA Mutuals Public Register, 2026-11-15"]
    assert listing.postcode == "HX7 8AA" and listing.address.street == "1 Mill Lane, Hebden Bridge, West Yorkshire"
    assert listing.description == ("A community benefit society registered with the FCA since 2015-06-12. "
                                   "Registered under the Co-operative and Community Benefit Societies Act 2014.")
    assert listing.licence == "development only" and listing.updated_at.date().isoformat() == "2026-11-15"


def test_older_society_numbers_and_a_corrected_column_name_are_read(tmp_path: Path) -> None:
    columns = tuple("Full Registration Number" if c == "Full Registation Number" else c for c in fca_mutuals.COLUMNS)
    row = society(**{"Registered As": "Co-operative Society"})
    row["Full Registration Number"] = "IP28755R"
    del row["Full Registation Number"]
    [found] = FORMATS["fca-mutuals"](write_csv(tmp_path / FILE, [row], columns), None)
    assert found.listing is not None and found.listing["society_number"] == "IP28755R"
    assert found.listing["verified"][0]["status"] == "co-operative society"


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"Society Status": "Cancelled"}, "no longer registered (Cancelled)"),
        ({"Society Status": "Registered", "Deregistration Date": "01/02/2024"}, "no longer registered (deregistered)"),
        ({"Registered As": "Credit Union"}, "not a supplier (credit union)"),
        ({"Registered As": "Friendly Society"}, "not a supplier (friendly society)"),
        ({"Registered As": "Working Men's Club"}, "not a supplier (members' club)"),
        ({"Society Name": "Hulme Tenants Housing Co-operative Limited"},
         "serves its own members (tenants' housing co-operative or allotment society)"),
        ({"Society Name": "Hebden Royd Allotment Society Limited"},
         "serves its own members (tenants' housing co-operative or allotment society)"),
        ({"Society Name": "Todmorden Conservative Club Limited"}, "members' club"),
    ],
)
def test_societies_that_are_not_suppliers_are_skipped_with_the_reason(
        tmp_path: Path, values: dict[str, str], reason: str) -> None:
    [found] = read(tmp_path, [society(**values)])
    assert found.skipped == reason


def test_unreadable_rows_become_problems(tmp_path: Path) -> None:
    ok, not_a_society, bad_date = read(tmp_path, [
        society(), society(**{"Full Registation Number": "08996508"}),
        society(**{"Registration Date": "2015-06-12"})])
    assert ok.listing is not None
    assert not_a_society.problem == "unreadable value: registration number '08996508' is not a society number"
    assert bad_date.problem and bad_date.problem.startswith("unreadable value: time data '2015-06-12'")


def test_the_extract_loads_through_the_event_log(tmp_path: Path) -> None:
    path = write_csv(tmp_path / FILE, [society(), society(**{"Registered As": "Credit Union"}),
                                       society(**{"Full Registation Number": "N/A"})])
    events = open_event_log(f"sqlite:///{tmp_path}/events.db")
    summary = load_file(events, "listings", path, "fca-mutuals")
    assert (summary.read, summary.published, summary.skipped.total(), summary.rejected.total()) == (3, 1, 1, 1)
    [published] = events.consumer("listings", "check").poll(10, 0.1)
    assert published.key == "mutual:GB-MPR-7654R"
    events.close()
