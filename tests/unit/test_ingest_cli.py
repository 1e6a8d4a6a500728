"""The steward's CLI on the embedded log: load with a summary, list/show/replay dead letters
(merges: test_ingest_cli_merges.py)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from services.ingest.cli import cli
from shared.events.dead_letter import dead_letter_record
from shared.events.embedded import EmbeddedEventLog
from shared.events.envelope import PROVENANCE_KEY
from shared.events.port import Message
from tests.ingest_cli import run


def test_load_prints_a_summary_with_reasons(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "t:1", "name": "A"}\n{broken\n', encoding="utf-8")
    output = run(env, "load", str(path))
    assert "read 2, published 1, skipped 0, rejected 1" in output
    assert "rejected 1: not valid JSON" in output


def test_dead_letters_can_be_listed_shown_and_replayed_once(env: dict[str, str], tmp_path: Path) -> None:
    events = EmbeddedEventLog(str(tmp_path / "events.db"))
    raw = {"id": "t:1", "name": "", PROVENANCE_KEY: {"file": "in.csv", "line": "3"}}
    events.publish("listings.dlq", [("t:1", dead_letter_record(Message("listings", 0, 4, "t:1", raw, 0),
                                                               "listing failed validation",
                                                               [{"field": "name", "message": "too short"}]))])
    listed = run(env, "dead-letters", "list")
    assert "0:0\tin.csv:3\tlisting failed validation\tname: too short" in listed
    shown = json.loads(run(env, "dead-letters", "show", "0:0"))
    assert shown["raw"] == {"id": "t:1", "name": ""} and shown["replayed"] is False
    assert "replayed 1 of 1" in run(env, "dead-letters", "replay", "--reason", "validation")
    [replayed] = events.consumer("listings", "check").poll(10, 0.1)
    assert replayed.key == "t:1" and replayed.value is not None
    assert replayed.value[PROVENANCE_KEY] == {"file": "in.csv", "line": "3", "replay_of": "listings.dlq@0:0"}
    assert "[replayed]" in run(env, "dead-letters", "list")
    assert "replayed 0 of 0" in run(env, "dead-letters", "replay", "0:0")  # not twice by accident
    assert "0:0" not in run(env, "dead-letters", "--spend", "list")  # spend has its own dead letters
    events.close()


def test_spend_records_load_to_the_spend_topic_keyed_by_reference(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "spend.jsonl"
    path.write_text('{"organisation": "leeds-cc", "reference": "INV-1", "supplier_id": "coop:R1",'
                    ' "amount_pence": 100, "date": "2025-04-01"}\n', encoding="utf-8")
    output = run(env, "load", "--spend", str(path))
    assert "published 1" in output and "`dead-letters --spend list --file spend.jsonl`" in output
    events = EmbeddedEventLog(str(tmp_path / "events.db"))
    assert [m.key for m in events.consumer("spend", "check").poll(10, 0.1)] == ["leeds-cc:INV-1"]
    events.close()


def test_a_spend_csv_larger_than_a_request_loads_in_batches_after_a_whole_check(
        env: dict[str, str], tmp_path: Path) -> None:
    from shared.accounts import SqliteAccountStore

    accounts = SqliteAccountStore(str(tmp_path / "accounts.db"))
    org = accounts.create_organisation("Builder plc").id
    accounts.close()
    env = {**env, "ACCOUNTS_URL": f"sqlite:///{tmp_path}/accounts.db"}
    rows = "".join(f"R{i},2025-05-01,{i + 1}.00,Supplier {i % 7}\n" for i in range(2500))
    path = tmp_path / "spend.csv"
    path.write_bytes(("reference,date,amount,supplier_name\n" + rows + "CN-1,2025-06-01,(£10.00),Café Co\n")
                     .encode("cp1252"))
    output = run(env, "load", "--spend", "--organisation", org, "--batch", "1000", str(path))
    assert "read spend.csv as windows-1252: stored 2501, updated 0, unchanged 0" in output
    events = EmbeddedEventLog(str(tmp_path / "events.db"))
    assert len(events.consumer("spend", "check").poll(5000, 0.2)) == 2501

    bad = tmp_path / "bad.csv"
    bad.write_text("reference,date,amount,supplier_name\nA,2025-05-01,x,S\nB,2025-05-01,1,S\nB,2025-05-01,2,S\n"
                   "C,someday,1,S\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["load", "--spend", "--organisation", org, str(bad)], env=env)
    assert result.exit_code == 1
    assert "line 2: amount" in result.output and "line 5: date" in result.output
    assert "line 4: reference" in result.output  # B twice, in the same reply
    assert len(events.consumer("spend", "again").poll(5000, 0.2)) == 2501  # nothing more published
