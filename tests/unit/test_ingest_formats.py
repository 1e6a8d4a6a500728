"""Loading files: each format, declarative mappings, bad rows, provenance and the load summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.ingest.loading import load_file
from services.ingest.sources.formats import FORMATS, SourceRecord
from services.ingest.sources.mapping import CsvMapping, own_schema_mapping
from shared.events.embedded import EmbeddedEventLog
from shared.events.envelope import PROVENANCE_KEY

COOP_HEADER = ("Identifier,Name,Description,Street Address,Locality,Postcode,Website,Companies House Number,"
               "Geo Container Latitude,Geo Container Longitude,Sector,SIC Code,Ownership Classification,Legal Form")


def records(fmt: str, path: Path, mapping: CsvMapping | None = None) -> list[SourceRecord]:
    return list(FORMATS[fmt](path, mapping))


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_own_csv_schema_reads_lists_and_nested_fields(tmp_path: Path) -> None:
    path = write(tmp_path / "l.csv", "id,name,services,address.town,location.lat,location.lon,source,updated_at\n"
                 "t:1,Alpha CIC,cleaning; catering,Leeds,53.8,-1.5,test,2025-01-01\n")
    [record] = records("csv", path)
    assert record.where == "2"
    assert record.listing == {"id": "t:1", "name": "Alpha CIC", "services": ["cleaning", "catering"],
                              "address": {"town": "Leeds"}, "location": {"lat": "53.8", "lon": "-1.5"},
                              "source": "test", "updated_at": "2025-01-01"}
    assert "provenance" not in own_schema_mapping().fields


def test_a_json_mapping_file_renames_columns_and_applies_transforms(tmp_path: Path) -> None:
    mapping = write(tmp_path / "m.json", json.dumps({
        "fields": {"id": {"column": "Ref", "transform": "id:acme"}, "name": "Org",
                   "services": {"columns": ["What", "Activities"], "transform": "list"}},
        "constants": {"source": "acme", "updated_at": "2025-03-01"}}))
    path = write(tmp_path / "a.csv", "Ref,Org,Activities\nA 1,Beta Co-op,repair;reuse\n")
    [record] = records("csv", path, CsvMapping.from_json(mapping))
    assert record.listing == {"id": "acme:A-1", "name": "Beta Co-op", "services": ["repair", "reuse"],
                              "source": "acme", "updated_at": "2025-03-01"}


def test_unknown_transform_is_refused(tmp_path: Path) -> None:
    mapping = write(tmp_path / "m.json", json.dumps({"fields": {"name": {"column": "N", "transform": "shout"}}}))
    with pytest.raises(ValueError, match="unknown transform"):
        CsvMapping.from_json(mapping)


def test_coopsuk_rows_are_mapped_or_skipped_with_their_line(tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", COOP_HEADER + "\n"
                 'R1,Leeds Bike Mill,,"Unit 1\nMill St",Leeds,LS1 1UN,www.x.coop,,,,Retail,95290,Workers,Society\n'
                 "R2,Allotments,,,,,,,,,Other,98000,Consumers,Society\n")
    mapped, skipped = records("coopsuk", path)
    assert mapped.where == "2" and mapped.listing is not None
    assert mapped.listing["id"] == "coop:R1" and mapped.listing["address"]["street"] == "Unit 1, Mill St"
    assert mapped.listing["postcode"] == "LS1 1UN" and "location" not in mapped.listing  # the consumer geocodes
    assert skipped.where == "4" and skipped.skipped and "allotment" in skipped.skipped


def test_360giving_json_groups_grants_by_recipient(tmp_path: Path) -> None:
    grant = {"id": "g1", "awardDate": "2020-01-01", "description": "Grant to run a repair cafe",
             "dateModified": "2021-02-03T00:00:00+00:00", "grantProgramme": [{"title": "Main"}],
             "recipientOrganization": [{"id": "GB-CHC-1", "name": "Repair Cafe", "charityNumber": "1",
                                        "postalCode": "LS1 1UN"}],
             "fundingOrganization": [{"name": "Lloyds Bank Foundation"}]}
    path = write(tmp_path / "g.json", json.dumps({"grants": [grant, {**grant, "id": "g2", "awardDate": "2021-01-01"}]}))
    [record] = records("360giving", path)
    assert record.where == "grants[0],grants[1]"
    listing = record.listing or {}
    assert listing["id"] == "360g:GB-CHC-1" and listing["source"] == "360giving"
    assert listing["updated_at"] == "2021-02-03T00:00:00+00:00"
    assert listing["description"].startswith("Funded by Lloyds Bank Foundation (Main, 2020-2021).")


def test_360giving_standard_csv_headers(tmp_path: Path) -> None:
    path = write(tmp_path / "g.csv", "Identifier,Award Date,Description,Recipient Org:Identifier,Recipient Org:Name,"
                 "Recipient Org:Postal Code,Funding Org:Name\ng1,2020-01-01,Grant to X,GB-COH-1,X Ltd,LS1 1UN,"
                 "Power to Change Trust\n")
    [record] = records("360giving", path)
    assert record.listing is not None and record.listing["id"] == "ptc:GB-COH-1"


@pytest.mark.parametrize(("content", "problem"), [
    (b"id,name,source\nt:1,Alpha\n", "truncated row"),
    (b"id,name,source\nt:1,Alpha,test,extra\n", "columns"),
    (b"id,name,source\nt:1,Caf\xe9 Bad,test\n", "invalid UTF-8"),
])
def test_unreadable_csv_rows_become_problems(tmp_path: Path, content: bytes, problem: str) -> None:
    [record] = records("csv", write(tmp_path / "bad.csv", content))
    assert record.problem and problem in record.problem
    json.dumps(record.raw)  # fit for a dead letter


def test_a_megabyte_csv_field_is_read_for_validation_to_reject(tmp_path: Path) -> None:
    path = write(tmp_path / "big.csv", f"id,name,description,source,updated_at\nt:1,A,{'x' * 1_000_000},t,2025\n")
    [record] = records("csv", path)
    assert record.listing is not None and len(record.listing["description"]) == 1_000_000


def test_jsonl_problems(tmp_path: Path) -> None:
    path = write(tmp_path / "l.jsonl", b'{"id": "t:1"}\nnot json\n[1]\n{"name": "caf\xe9"}\n\n')
    ok, not_json, not_object, bad_bytes = records("jsonl", path)
    assert ok.listing == {"id": "t:1"}
    assert not_json.problem and "not valid JSON" in not_json.problem and not_json.where == "2"
    assert not_object.problem == "not a JSON object"
    assert bad_bytes.problem and "invalid UTF-8" in bad_bytes.problem


def test_load_publishes_with_provenance_and_dead_letters_unreadable_rows(tmp_path: Path) -> None:
    events = EmbeddedEventLog(str(tmp_path / "events.db"))
    path = write(tmp_path / "in.jsonl", '{"id": "t:1", "name": "A"}\nnot json\n')
    summary = load_file(events, "listings", path, "jsonl")
    assert (summary.read, summary.published, summary.rejected["not valid JSON (Expecting value)"]) == (2, 1, 1)
    [published] = events.consumer("listings", "g").poll(10, 0.1)
    assert published.value == {"id": "t:1", "name": "A", PROVENANCE_KEY: {
        "file": "in.jsonl", "line": "1", "format": "jsonl", "load": summary.load_id}}
    [dead] = events.consumer("listings.dlq", "g").poll(10, 0.1)
    assert dead.value is not None
    assert dead.value["provenance"]["line"] == "2" and dead.value["raw"] == "not json"
    assert "read 2, published 1, skipped 0, rejected 1" in summary.lines()[0]
    events.close()
