"""The embedded index's batched writes keep the one-document-at-a-time semantics, and the fast
JSON codec falls back where orjson refuses what the standard library accepts."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import json_codec
from shared.search.embedded import EmbeddedSearchIndex
from shared.search.port import SearchQuery
from shared.search.schema import LISTINGS_SCHEMA
from tests.factories import doc


@pytest.fixture
def index(tmp_path: Path) -> Iterator[EmbeddedSearchIndex]:
    idx = EmbeddedSearchIndex(str(tmp_path / "search.db"), LISTINGS_SCHEMA)
    idx.ensure_index()
    yield idx
    idx.close()


def test_an_id_twice_in_one_call_is_written_in_order(index: EmbeddedSearchIndex) -> None:
    newer, older = doc("t:1", "Newer Name", minutes=5), doc("t:1", "Older Name", minutes=1)
    result = index.bulk_upsert([newer, older])
    assert (result.written, result.stale) == (1, 1)
    assert index.get("t:1") == newer
    result = index.bulk_upsert([doc("t:2", "First", minutes=1), doc("t:2", "Second", minutes=1)])
    assert (result.written, result.stale) == (2, 0)  # equal versions overwrite
    assert index.search(SearchQuery(text="second")).total == 1 and index.search(SearchQuery(text="first")).total == 0


def test_updates_replace_every_entry_and_deletes_remove_them(index: EmbeddedSearchIndex) -> None:
    index.bulk_upsert([doc(f"t:{n}", f"Bakery {n}", categories=["food"]) for n in range(5)])
    updated = [doc(f"t:{n}", f"Laundry {n}", categories=["cleaning"], minutes=1, at=None) for n in range(3)]
    assert index.bulk_upsert(updated).written == 3
    assert index.search(SearchQuery(text="bakery")).total == 2 and index.search(SearchQuery(text="laundry")).total == 3
    assert index.count(SearchQuery(filters={"categories": ["food"]})) == 2
    assert index.delete(["t:0", "t:3", "t:absent"]).written == 3
    assert index.count() == 3 and index.get("t:0") is None
    assert index.search(SearchQuery(text="laundry")).total == 2


def test_json_codec_round_trips_and_falls_back() -> None:
    value = {"name": "Café ☕", "n": 1.5, "list": [1, None, True]}
    assert json_codec.loads(json_codec.dumps(value)) == value
    assert json_codec.dumps({"big": 2**70}) == '{"big":1180591620717411303424}'  # beyond orjson's 64 bits
    assert json_codec.dumps({1: "a"}) == '{"1":"a"}'
    assert math.isnan(json_codec.loads('{"x": NaN}')["x"])  # the standard library wrote these
