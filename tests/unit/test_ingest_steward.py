"""A steward's load of a council spreadsheet on the embedded log, with the consumer's own code
running beside it: mapping errors without tracebacks, header warnings, a dry run that publishes
nothing, the consumer's rejects in the summary, dead letters resolved by a fixed reload, and a
replay that re-applies the (fixed) mapping."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from services.ingest.batch_runner import BatchRunner
from services.ingest.cli import cli
from services.ingest.config import IngestSettings
from services.ingest.consumer import Indexer
from services.ingest.dead_letters import dead_letters
from services.ingest.dedupe import OrganisationRegistry
from services.ingest.geocode import default_chain
from services.ingest.metrics import ConsumerMetrics
from services.ingest.pipeline import Rejection
from services.ingest.settled import SettledMarkers, resolved_topic
from shared.events.embedded import EmbeddedEventLog
from shared.events.envelope import PROVENANCE_KEY
from shared.events.port import Message
from shared.search.factory import open_search_index

HEADER = "Ref,Name,Postcode,Updated,Notes\n"
ROWS = ("R1,Alpha Catering CIC,LS1 4AP,14/03/2024,x\n"
        "R2,Beta Repair Cafe,ZZ99 9ZZ,15/03/2024,y\n"  # no such postcode: the consumer rejects it
        "R3,Gamma Gardens,,31/02/2024,z\n")  # no such day: the loader rejects it
MAPPING: dict[str, Any] = {
    "fields": {"id": {"column": "Ref", "transform": "id:council"}, "name": "Name", "postcode": "Postcode",
               "updated_at": {"column": "Updated", "transform": "date_uk"}},
    "constants": {"source": "council"}}


@pytest.fixture
def settings(tmp_path: Path) -> IngestSettings:
    return IngestSettings(events_url=f"sqlite:///{tmp_path}/events.db", search_url=f"sqlite:///{tmp_path}/s.db",
                          state_url=str(tmp_path / "state.db"), batch_timeout_s=0.05, metrics_port=0)


@pytest.fixture
def env(settings: IngestSettings) -> dict[str, str]:
    return {"EVENTS_URL": settings.events_url, "SEARCH_URL": settings.search_url, "STATE_URL": settings.state_url}


@pytest.fixture
def events(settings: IngestSettings) -> Iterator[EmbeddedEventLog]:
    log = EmbeddedEventLog(settings.events_url.split("sqlite:///", 1)[1])
    yield log
    log.close()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def ok(env: dict[str, str], *args: str) -> str:
    result = invoke(env, *args)
    assert result.exit_code == 0, result.output
    return result.output


@contextmanager
def consumer(settings: IngestSettings, events: EmbeddedEventLog) -> Iterator[None]:
    """The consumer's own listings runner, markers included, polling in a thread."""
    index = open_search_index(settings.search_url)
    index.ensure_index()
    registry = OrganisationRegistry(settings.state_location())
    markers = SettledMarkers(events, "listings")
    indexer = Indexer(index, events, settings, default_chain(), ConsumerMetrics(), registry)
    runner = BatchRunner(events.consumer("listings", "ingest"), indexer.handle, events, settings, ConsumerMetrics(),
                         after_commit=markers.after_commit)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            runner.run_batch()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        markers.close()
        registry.close()
        index.close()


def published(events: EmbeddedEventLog, topic: str = "listings") -> list[Message]:
    reader = events.read_from_start(topic)
    try:
        return reader.poll(1000, 0.05)
    finally:
        reader.close()


@pytest.mark.parametrize(("mapping", "message"), [
    ("{oops", "not JSON: Expecting property name"),
    (json.dumps({"fields": {"name": {"column": "Name", "transform": "shout"}}}), "unknown transform 'shout'"),
    (json.dumps({"fields": {"nmae": "Name"}}), "no listing field 'nmae'"),
    (json.dumps({"fields": ["Name"]}), '"fields" must be an object'),
])
def test_a_bad_mapping_file_is_a_one_line_error(env: dict[str, str], tmp_path: Path, mapping: str,
                                                message: str) -> None:
    csv_file = write(tmp_path / "s.csv", HEADER + ROWS)
    result = invoke(env, "load", str(csv_file), "--mapping", str(write(tmp_path / "m.json", mapping)))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    [line] = result.output.splitlines()
    assert line.startswith(f"Error: mapping file {tmp_path / 'm.json'}: ") and message in line


def test_missing_mapped_columns_are_warned_about_once_and_none_present_stops(env: dict[str, str],
                                                                              tmp_path: Path) -> None:
    mapping = write(tmp_path / "m.json", json.dumps({**MAPPING, "fields": {**MAPPING["fields"], "services": {
        "column": "Services", "transform": "list"}}}))
    output = ok(env, "load", str(write(tmp_path / "s.csv", HEADER + ROWS)), "--mapping", str(mapping), "--wait", "0")
    assert output.count("warning: column 'Services' (for services) is not in the file's header") == 1
    assert "unmapped columns: Notes" in output
    other = write(tmp_path / "other.csv", "Org,Town\nA,Leeds\n")
    result = invoke(env, "load", str(other), "--mapping", str(mapping))
    assert result.exit_code == 1 and "none of the mapping's columns is in other.csv's header" in result.output
    assert "Traceback" not in result.output


def test_a_dry_run_reports_every_row_through_the_consumers_rules_and_publishes_nothing(
        env: dict[str, str], tmp_path: Path, events: EmbeddedEventLog) -> None:
    csv_file = write(tmp_path / "s.csv", HEADER + ROWS + "R4,Delta Co-op,,16/03/2024,w\n")
    output = ok(env, "load", str(csv_file), "--mapping", str(write(tmp_path / "m.json", json.dumps(MAPPING))),
                "--dry-run")
    lines = output.splitlines()
    assert "unmapped columns: Notes" in lines
    assert "line 2\tcouncil:R1\tOK" in lines
    assert "line 3\tcouncil:R2\trejected: invalid postcode" in lines
    assert any(line.startswith("line 4\t-\trejected: unreadable value: column 'Updated'") for line in lines)
    assert lines[lines.index("line 5\tcouncil:R4\tOK") + 1].startswith("    warning: no location: blank postcode")
    assert "read 4, would publish 3, skipped 0, rejected 1" in lines
    assert "the consumer would reject 1" in lines and "  rejected 1: invalid postcode" in lines
    assert published(events) == [] and published(events, "listings.dlq") == []


def test_load_reports_the_consumers_rejects_once_it_has_processed_them(
        env: dict[str, str], tmp_path: Path, settings: IngestSettings, events: EmbeddedEventLog) -> None:
    csv_file = write(tmp_path / "s.csv", HEADER + ROWS)
    mapping = write(tmp_path / "m.json", json.dumps(MAPPING))
    alone = ok(env, "load", str(csv_file), "--mapping", str(mapping), "--wait", "0.3")
    assert "the consumer had not processed this load after 0.3s (is it running?)" in alone
    assert "dead-letters list --file s.csv" in alone
    with consumer(settings, events):
        output = ok(env, "load", str(csv_file), "--mapping", str(mapping), "--wait", "30")
    assert "read 3, published 2, skipped 0, rejected 1" in output
    assert "the consumer rejected 1 (see `dead-letters list --file s.csv`)" in output
    assert "  rejected 1: invalid postcode" in output  # this load's, not the first load's as well


def test_a_fixed_and_reloaded_file_resolves_its_dead_letters(
        env: dict[str, str], tmp_path: Path, settings: IngestSettings, events: EmbeddedEventLog) -> None:
    mapping = write(tmp_path / "m.json", json.dumps(MAPPING))
    elsewhere = write(tmp_path / "other.jsonl", '{"id": "t:1", "name": ""}\n')
    with consumer(settings, events):
        ok(env, "load", str(write(tmp_path / "s.csv", HEADER + ROWS)), "--mapping", str(mapping), "--wait", "30")
        ok(env, "load", str(elsewhere), "--wait", "30")
        listed = ok(env, "dead-letters", "list", "--file", "s.csv")
        assert "s.csv:3\tinvalid postcode\t" in listed and "s.csv:4\tunreadable value" in listed
        assert "other.jsonl" not in listed and "2 dead letters" in listed
        fixed = ROWS.replace("ZZ99 9ZZ", "LS2 7EY").replace("31/02/2024", "29/02/2024")
        ok(env, "load", str(write(tmp_path / "fixed" / "s.csv", HEADER + fixed)), "--mapping", str(mapping),
           "--wait", "30")
    listed = ok(env, "dead-letters", "list", "--file", "s.csv")
    assert "0 dead letters (2 resolved not shown: --all shows them)" in listed
    assert json.loads(ok(env, "dead-letters", "show", "0:0"))["resolved"] is True
    every = ok(env, "dead-letters", "list", "--all")
    assert every.count("[resolved]") == 2 and "other.jsonl:1" in every and every.count("\n") == 4


def test_an_earlier_good_record_does_not_resolve_a_later_rejection(events: EmbeddedEventLog) -> None:
    markers = SettledMarkers(events, "listings")
    good = Message("listings", 0, 0, "t:1", {"id": "t:1", "name": "A"}, 1)
    bad = Message("listings", 0, 1, "t:1", {"id": "t:1", "name": ""}, 2)
    # as the runner does: the batch's dead letters are written before it commits
    events.publish("listings.dlq", [("t:1", {"reason": "bad", "raw": {"id": "t:1"},
                                             "source": {"topic": "listings", "partition": 0, "offset": 1}})])
    markers.after_commit([good, bad], [Rejection(bad, "bad")])
    [letter] = dead_letters(events, "listings", timeout_s=0.05)
    assert not letter.resolved
    fixed = Message("listings", 0, 2, "t:1", {"id": "t:1", "name": "A"}, 3)
    markers.after_commit([fixed], [])
    [letter] = dead_letters(events, "listings", timeout_s=0.05)
    assert letter.resolved
    unrelated = Message("listings", 0, 3, "t:2", {"id": "t:2", "name": "B"}, 4)
    before = len(published(events, resolved_topic("listings")))
    markers.after_commit([unrelated], [])  # a key without letters adds no marker
    assert len(published(events, resolved_topic("listings"))) == before
    markers.close()


def test_replaying_a_rejected_row_re_applies_the_fixed_mapping(env: dict[str, str], tmp_path: Path,
                                                               events: EmbeddedEventLog) -> None:
    wrong = {**MAPPING, "fields": {**MAPPING["fields"], "updated_at": {"column": "Updated", "transform": "date"}}}
    mapping = write(tmp_path / "m.json", json.dumps(wrong))
    output = ok(env, "load", str(write(tmp_path / "s.csv", HEADER + ROWS)), "--mapping", str(mapping),
                "--wait", "0")
    assert "rejected 3" in output and published(events) == []
    write(mapping, json.dumps(MAPPING))  # the steward fixes the mapping
    replayed = ok(env, "dead-letters", "replay", "--file", "s.csv")
    assert "replayed 2 of 3 selected dead letters" in replayed
    assert "not replayed 0:2: the row is still unreadable as csv: column 'Updated'" in replayed
    alpha, beta = published(events)
    assert alpha.key == "council:R1" and alpha.value is not None and alpha.value["updated_at"] == "2024-03-14"
    assert alpha.value[PROVENANCE_KEY]["replay_of"] == "listings.dlq@0:0"
    assert alpha.value[PROVENANCE_KEY]["line"] == "2" and beta.key == "council:R2"
    mapping.unlink()
    gone = ok(env, "dead-letters", "replay", "0:2")
    assert f"not replayed 0:2: the mapping file {mapping.resolve()} is gone" in gone
