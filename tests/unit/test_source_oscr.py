"""The Scottish Charity Register download, read from files in OSCR's layout."""

from __future__ import annotations

import csv
import os
import zipfile
from pathlib import Path

import pytest

from services.ingest.loading import load_file
from services.ingest.sources import oscr
from services.ingest.sources.formats import FORMATS, SourceRecord
from shared.events.factory import open_event_log
from shared.models import Listing

NEED = ("'The relief of those in need by reason of age, ill-health, disability, financial hardship"
        " or other disadvantage'")


def charity(**values: str) -> dict[str, str]:
    row = dict.fromkeys(oscr.COLUMNS, "")
    row.update({
        "Charity Number": "SC012345", "Charity Name": "Fife Furniture Reuse", "Registered Date": "14/03/2001",
        "Charity Status": "Registered", "Postcode": "ky1 1aa", "Constitutional Form":
        "SCIO (Scottish Charitable Incorporated Organisation)",
        "Purposes": f"'The advancement of environmental protection or improvement',{NEED}",
        "Beneficiaries": "'People with disabilities or health problems',"
                         "'People of a particular ethnic or racial origin'",
        "Activities": "'It provides services','It provides buildings/ facilities/ open space'",
        "Objectives": "To collect furniture and pass it on to households in need.",
        "Principal Office/Trustees Address": "12 Some Street, Kirkcaldy, KY1 1AA",
        "Website": "www.fifefurniture.org.uk", "Most recent year income": "120000", "Year End": "31/03/2026",
        "Designated religious body": "No", "Regulatory Type": "Standard",
    })
    row.update(values)
    return row


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(oscr.COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return path


def read(tmp_path: Path, rows: list[dict[str, str]]) -> list[SourceRecord]:
    return list(FORMATS["oscr"](write_csv(tmp_path / "CharityExport-30-11-2026.csv", rows), None))


def test_a_registered_charity_is_listed_with_its_purposes_and_verified_as_of_the_file_date(tmp_path: Path) -> None:
    [found] = read(tmp_path, [charity()])
    assert found.listing is not None
    listing = Listing.model_validate(found.listing)
    assert listing.id == "oscr:GB-SC-SC012345" and listing.org_ids == ["GB-SC-SC012345"]
    assert [v.in_words() for v in listing.verified] == [
        "registered charity, OSCR (Scottish Charity Regulator), 2026-11-30"]
    assert listing.categories == ["The advancement of environmental protection or improvement", NEED.strip("'")]
    assert listing.beneficiaries[0] == "People with disabilities or health problems"
    assert listing.impact_areas == ["health_and_wellbeing"]  # "ill-health" in the second purpose
    assert listing.description == "To collect furniture and pass it on to households in need."
    assert listing.postcode == "KY1 1AA" and listing.address.street is None  # trustees' address left out
    assert listing.contact.website == "https://www.fifefurniture.org.uk"
    assert listing.licence == "OGL-UK-3.0" and listing.updated_at.date().isoformat() == "2026-11-30"


def test_placeholders_are_blanks(tmp_path: Path) -> None:
    [found] = read(tmp_path, [charity(Postcode="N/A", Website="0", Objectives="Exempt")])
    assert found.listing is not None
    assert "postcode" not in found.listing and found.listing["contact"]["website"] is None
    assert found.listing["description"] == ""


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"Charity Status": "Removed"}, "removed from the register"),
        ({"Designated religious body": "Yes"}, "designated religious body"),
        ({"Purposes": "'The advancement of religion'"}, "religious body (advancement of religion only)"),
        ({"Activities": "'It makes grants to individuals','It makes grants to organisations'"},
         "grant-maker (makes grants, provides no services)"),
        ({"Charity Name": "Burntisland Primary School Parent Teacher Association"}, "parent-teacher association"),
        ({"Charity Name": "Leven Ex-Servicemen's Club"}, "members' club"),
    ],
)
def test_rows_that_are_not_suppliers_are_skipped_with_the_reason(
        tmp_path: Path, values: dict[str, str], reason: str) -> None:
    [found] = read(tmp_path, [charity(**values)])
    assert found.skipped == reason


def test_unreadable_rows_become_problems(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "CharityExport.csv", [charity(), charity(**{"Charity Number": "12345"})])
    with path.open("a", encoding="utf-8", newline="") as fh:
        fh.write("SC099999,Broken\r\n")
    ok, bad_number, truncated = FORMATS["oscr"](path, None)
    assert ok.listing is not None
    assert bad_number.problem == "unreadable value: Charity Number '12345' is not SC and six digits"
    assert truncated.problem == f"truncated row: 2 of {len(oscr.COLUMNS)} columns"


def test_an_undated_download_is_as_of_the_day_it_was_saved(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "CharityExport.csv", [charity()])
    os.utime(path, (1_780_000_000, 1_780_000_000))  # 2026-05-28 UTC
    [found] = FORMATS["oscr"](path, None)
    assert found.listing is not None and found.listing["verified"][0]["as_of"] == "2026-05-28"


def test_the_zipped_download_loads_through_the_event_log(tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "CharityExport-30-11-2026.csv",
                         [charity(), charity(**{"Charity Status": "Removed"}), charity(**{"Charity Number": ""})])
    archive = tmp_path / "CharityExport-30-11-2026.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(csv_path, csv_path.name)
    events = open_event_log(f"sqlite:///{tmp_path}/events.db")
    summary = load_file(events, "listings", archive, "oscr")
    assert (summary.read, summary.published, summary.skipped.total(), summary.rejected.total()) == (3, 1, 1, 1)
    [published] = events.consumer("listings", "check").poll(10, 0.1)
    assert published.key == "oscr:GB-SC-SC012345"
    events.close()
