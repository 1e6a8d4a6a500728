"""The steward's `merges` commands: what merged and why, what awaits review, and the decisions."""

from __future__ import annotations

from pathlib import Path

from services.ingest.dedupe import OrganisationRegistry
from shared.events.embedded import EmbeddedEventLog
from shared.models import Listing
from tests.ingest_cli import run


def store(tmp_path: Path, *records: tuple[str, str, str, str | None]) -> None:
    """(id, name, source, postcode) records, all with company number 7, as the consumer stores them."""
    registry = OrganisationRegistry(tmp_path / "state.db")
    for id, name, source, postcode in records:
        registry.apply([Listing.model_validate({"id": id, "name": name, "source": source, "company_number": "7",
                                                "postcode": postcode, "updated_at": "2025-01-01T00:00:00Z"})], ())
    registry.close()


def republished(tmp_path: Path) -> set[str | None]:
    events = EmbeddedEventLog(str(tmp_path / "events.db"))
    keys = {m.key for m in events.consumer("listings", "check").poll(10, 0.1)}
    events.close()
    return keys


def test_merges_list_shows_names_sources_and_the_rule_and_score_of_each_pair(env: dict[str, str],
                                                                            tmp_path: Path) -> None:
    store(tmp_path, ("a:1", "Bike Mill", "a", "LS6 1AA"), ("b:1", "Bike Mill Ltd", "b", "LS6 3HN"))
    listed = run(env, "merges", "list")
    assert "a:1\t2 records\n  a:1 'Bike Mill' (a)\n  b:1 'Bike Mill Ltd' (b)\n" in listed
    assert "  a:1 = b:1\tsame company number + similar name + same district\tscore 100\n" in listed
    assert "republished 2 member records" in run(env, "merges", "split", "a:1", "b:1")
    assert "decision\tsplit a:1 b:1" in run(env, "merges", "list")
    assert republished(tmp_path) == {"a:1", "b:1"}


def test_merges_review_lists_queued_pairs_with_the_commands_and_confirm_takes_them_off(
        env: dict[str, str], tmp_path: Path) -> None:
    store(tmp_path, ("a:1", "Bike Mill", "a", None), ("b:1", "Bike Mill Ltd", "b", None))  # the name alone
    assert "a:1" not in run(env, "merges", "list")
    review = run(env, "merges", "review")
    assert "a:1 'Bike Mill' (a)  ~  b:1 'Bike Mill Ltd' (b)\n" in review
    assert "\n  same company number + similar name\tscore 100\n" in review
    assert "merges confirm a:1 b:1" in review and "merges split a:1 b:1" in review
    assert "republished 2 member records" in run(env, "merges", "confirm", "b:1", "a:1")
    assert "a:1" not in run(env, "merges", "review")
    assert republished(tmp_path) == {"a:1", "b:1"}
