"""The Charity Commission's full register download, read from files in the Commission's own layout."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from services.ingest.loading import load_file
from services.ingest.sources import ccew
from services.ingest.sources.formats import FORMATS, SourceRecord
from shared.events.factory import open_event_log
from shared.models import Listing


def charity(**values: str) -> dict[str, str]:
    row = dict.fromkeys(ccew.COLUMNS, "")
    row.update({
        "date_of_extract": "2026-11-30 00:00:00", "organisation_number": "5012345",
        "registered_charity_number": "1100001", "linked_charity_number": "0",
        "charity_name": "Hebden Food Works", "charity_type": "Charitable company",
        "charity_registration_status": "Registered", "date_of_registration": "2003-05-01 00:00:00",
        "charity_contact_address1": "Unit 4", "charity_contact_address2": "Mill Lane",
        "charity_contact_address3": "Hebden Bridge", "charity_contact_postcode": "hx7 8aa",
        "charity_contact_web": "www.hebdenfood.org.uk", "charity_company_registration_number": "4123456",
        "charity_insolvent": "False", "charity_in_administration": "False", "charity_is_cio": "False",
        "cio_is_dissolved": "False",
        "charity_activities": "We run a community kitchen and cookery training for young people.",
    })
    row.update(values)
    return row


def classification(organisation: str, code: str, kind: str, label: str) -> dict[str, str]:
    return {"date_of_extract": "2026-11-30 00:00:00", "organisation_number": organisation,
            "registered_charity_number": "1100001", "linked_charity_number": "0",
            "classification_code": code, "classification_type": kind, "classification_description": label}


def write_txt(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> Path:
    """Tab-separated, no quoting, UTF-8 with BOM and CRLF line ends, as the Commission ships it."""
    lines = ["\t".join(columns), *("\t".join(row[c] for c in columns) for row in rows)]
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


DEFAULT_CLASSES = [
    classification("5012345", "102", "What", "Education/training"),
    classification("5012345", "103", "What", "The Advancement Of Health Or Saving Of Lives"),
    classification("5012345", "201", "Who", "Children/young People"),
    classification("5012345", "306", "How", "Provides Services"),
]


def read(tmp_path: Path, rows: list[dict[str, str]], classes: list[dict[str, str]] | None = None
         ) -> list[SourceRecord]:
    path = write_txt(tmp_path / "publicextract.charity.txt", ccew.COLUMNS, rows)
    if classes is not None:
        write_txt(tmp_path / "publicextract.charity_classification.txt", ccew.CLASSIFICATION_COLUMNS, classes)
    return list(FORMATS["ccew"](path, None))


def test_a_registered_main_charity_is_listed_verified_and_classified(tmp_path: Path) -> None:
    [found] = read(tmp_path, [charity()], DEFAULT_CLASSES)
    assert found.where == "2" and found.listing is not None
    listing = Listing.model_validate(found.listing)
    assert listing.id == "ccew:GB-CHC-1100001" and listing.charity_number == "1100001"
    assert listing.org_ids == ["GB-CHC-1100001", "GB-COH-04123456"] and listing.company_number == "04123456"
    assert [v.in_words() for v in listing.verified] == [
        "registered charity, Charity Commission for England and Wales, 2026-11-30"]
    assert listing.categories == ["Education/training", "The Advancement Of Health Or Saving Of Lives"]
    assert listing.beneficiaries == ["Children/young People"]
    assert set(listing.impact_areas) >= {"education", "health_and_wellbeing", "training"}
    assert listing.description.startswith("We run a community kitchen")
    assert listing.postcode == "HX7 8AA" and listing.address.town == "Hebden Bridge"
    assert listing.address.street == "Unit 4, Mill Lane"
    assert listing.contact.website == "https://www.hebdenfood.org.uk" and listing.contact.email is None
    assert listing.licence == "OGL-UK-3.0" and listing.updated_at.isoformat() == "2026-11-30T00:00:00+00:00"
    assert listing.source_url is not None and listing.source_url.endswith("/1100001")


def test_without_a_classification_file_charities_load_without_categories(tmp_path: Path) -> None:
    [found] = read(tmp_path, [charity()])
    assert found.listing is not None and found.listing["categories"] == []


@pytest.mark.parametrize(
    ("values", "classes", "reason"),
    [
        ({"linked_charity_number": "1"}, [], "linked charity (listed under its main charity)"),
        ({"charity_registration_status": "Removed"}, [], "removed from the register"),
        ({"cio_is_dissolved": "True"}, [], "CIO being dissolved"),
        ({"charity_in_administration": "True"}, [], "insolvent or in administration"),
        ({}, [classification("5012345", "302", "How", "Makes Grants To Organisations"),
              classification("5012345", "301", "How", "Makes Grants To Individuals")],
         "grant-maker (makes grants, provides no services)"),
        ({}, [classification("5012345", "108", "What", "Religious Activities")],
         "religious body (religious activities only)"),
        ({"charity_name": "St Mary's Primary School PTA"}, [], "parent-teacher association"),
        ({"charity_name": "The Parochial Church Council of St Peter"}, [], "place of worship"),
        ({"charity_name": "Hebden Bowling Club"}, [], "members' club"),
    ],
)
def test_rows_that_are_not_suppliers_are_skipped_with_the_reason(
        tmp_path: Path, values: dict[str, str], classes: list[dict[str, str]], reason: str) -> None:
    [found] = read(tmp_path, [charity(**values)], classes)
    assert found.skipped == reason and found.listing is None


def test_a_grant_maker_that_also_provides_services_is_kept(tmp_path: Path) -> None:
    classes = [classification("5012345", "302", "How", "Makes Grants To Organisations"),
               classification("5012345", "306", "How", "Provides Services")]
    [found] = read(tmp_path, [charity()], classes)
    assert found.listing is not None


def test_unreadable_rows_become_problems_not_guesses(tmp_path: Path) -> None:
    path = tmp_path / "publicextract.charity.txt"
    write_txt(path, ccew.COLUMNS, [charity(), charity(registered_charity_number="N/A"),
                                   charity(date_of_extract="")])
    with path.open("a", encoding="utf-8", newline="") as fh:
        fh.write("2026-11-30\t5099999\r\n")  # a truncated row
    ok, bad_number, no_date, truncated = FORMATS["ccew"](path, None)
    assert ok.listing is not None
    assert bad_number.problem == "unreadable value: registered_charity_number 'N/A' is not a number"
    assert no_date.problem and "date_of_extract" in no_date.problem
    assert truncated.problem == f"truncated row: 2 of {len(ccew.COLUMNS)} columns" and truncated.where == "5"


def test_an_escaped_tab_stays_inside_the_activities(tmp_path: Path) -> None:
    [found] = read(tmp_path, [charity(charity_activities="Meals\\\tand training")])
    assert found.listing is not None and found.listing["description"] == "Meals\tand training"


def test_the_zipped_download_loads_through_the_event_log(tmp_path: Path) -> None:
    txt = write_txt(tmp_path / "publicextract.charity.txt", ccew.COLUMNS,
                    [charity(), charity(linked_charity_number="2"), charity(registered_charity_number="x")])
    archive = tmp_path / "download" / "publicextract.charity.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(txt, "publicextract.charity.txt")
    events = open_event_log(f"sqlite:///{tmp_path}/events.db")
    summary = load_file(events, "listings", archive, "ccew")
    assert (summary.read, summary.published, summary.skipped.total(), summary.rejected.total()) == (3, 1, 1, 1)
    [published] = events.consumer("listings", "check").poll(10, 0.1)
    assert published.key == "ccew:GB-CHC-1100001"
    events.close()
