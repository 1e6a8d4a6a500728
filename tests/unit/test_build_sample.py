"""The default directory's build: one listing per charity org-id across files, rules that hold
whichever file describes a charity, counts per source, and byte-identical rebuilds."""

from __future__ import annotations

import csv
from itertools import islice
from pathlib import Path

import pytest

from services.ingest.sources import build_sample
from shared.geo import default_gazetteer

from .test_source_ccni import HEADER as CCNI_HEADER
from .test_source_ccni import _row as ccni_row

UKCAT_COLUMNS = [
    "org_id", "reg_number", "name", "postcode", "active", "date_registered", "activities", "objects", "source",
    "income", "spending", "fye", "Batch ID", "web", "company_number", "UKCAT", "ICNPTSO",
]


def _ukcat_row(org_id: str, **values: str) -> dict[str, str]:
    row = dict.fromkeys(UKCAT_COLUMNS, "")
    row.update(
        org_id=org_id, reg_number="NI" + org_id.rpartition("-")[2], name="Cancer Lifeline", postcode="BT14 7PJ",
        active="True", activities="Counselling and complementary therapies for people affected by cancer.",
        source="CCNI", ICNPTSO="C12", **{"Batch ID": "06_under_100000"},
    )
    row.update(values)
    return row


def _write_csv(path: Path, rows: list[dict[str, str]], fieldnames: list[str], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fieldnames, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _head(source: Path, target: Path, rows: int = 8) -> Path:
    """The first rows of a shipped extract, so the co-operative sources take part in the build."""
    with source.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        head = list(islice(reader, rows))
        return _write_csv(target, head, list(reader.fieldnames or []))


@pytest.fixture
def tiny_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("COOPSUK_FILE", "WORKERSCOOP_FILE", "OXFORD_FILE", "POWERTOCHANGE_FILE"):
        original: Path = getattr(build_sample, name)
        monkeypatch.setattr(build_sample, name, _head(original, tmp_path / original.name))
    sample = [
        _ukcat_row("GB-NIC-100002"),
        _ukcat_row("GB-NIC-100002", **{"Batch ID": "08_under_100000", "ICNPTSO": "C11"}),  # classified again
        _ukcat_row("GB-NIC-100003", name="Raloo Presbyterian Church", ICNPTSO="I10"),
    ]
    top = [_ukcat_row("GB-NIC-100002", **{"Batch ID": "Top charities"})]
    files = (
        _write_csv(tmp_path / "sample.csv", sample, UKCAT_COLUMNS),
        _write_csv(tmp_path / "top2000.csv", top, UKCAT_COLUMNS),
    )
    monkeypatch.setattr(build_sample, "UKCAT_FILES", files)
    church = ccni_row(**{"Reg charity number": "100003", "Charity name": "Raloo Presbyterian Church",
                         "How the charity works": "Community development,Youth development"})
    ni = [ccni_row(), church, ccni_row(**{"Reg charity number": "100004", "Charity name": "Cultúrlann Uí Chanáin"})]
    fields = CCNI_HEADER.split(",")
    monkeypatch.setattr(build_sample, "CCNI_FILE", _write_csv(tmp_path / "ni.csv", ni, fields, encoding="cp1252"))
    return tmp_path


def test_a_charity_in_three_files_is_one_listing_verified_once_under_every_licence(tiny_sources: Path) -> None:
    report = build_sample.Report()
    listings = {listing.id: listing for listing in build_sample.build(default_gazetteer(), report)}
    lifeline = listings["charity:GB-NIC-100002"]
    assert lifeline.org_ids == ["GB-NIC-100002"]
    assert {"Specialized outpatient care centres", "Counselling/support"} <= set(lifeline.categories)
    assert [(v.registry, v.as_of) for v in lifeline.verified] == [("GB-NIC", "2026-07")]
    assert sorted((lifeline.licence or "").split("; ")) == ["CC-BY-4.0", "OGL-UK-3.0"]
    assert lifeline.contact.email == "info@cancerlifeline.info"  # only the NI register gives it
    assert "Carers" in lifeline.beneficiaries and lifeline.location is not None
    # Only the NI register lists it: the listing has the id `load --format ccni` gives it.
    assert listings["ccni:GB-NIC-100004"].name == "Cultúrlann Uí Chanáin"
    assert not {"charity:GB-NIC-100003", "ccni:GB-NIC-100003"} & set(listings)
    counts = report.counts
    assert counts["ukcat sample.csv"]["skipped (charity classified again in a later batch (first row kept))"] == 1
    assert counts["ukcat top2000.csv"]["merged into an existing listing"] == 1
    assert counts["ccni"]["merged into an existing listing"] == 1
    congregation = "not a supplier: religious congregation (ICNP/TSO)"
    assert counts["ccni"][f"skipped (another file: {congregation})"] == 1
    assert any(line.startswith("all: listed") for line in build_sample.placed_lines(list(listings.values())))


def test_the_build_is_byte_identical_when_repeated(tiny_sources: Path) -> None:
    outputs = []
    for attempt in ("first", "second"):
        path = tiny_sources / f"{attempt}.jsonl"
        build_sample.write(build_sample.build(default_gazetteer(), build_sample.Report()), path)
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1] and outputs[0].count(b"\n") > 10
