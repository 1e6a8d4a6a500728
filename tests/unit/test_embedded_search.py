"""What is specific to the SQLite search adapter: query parsing, versions, storage and WAL sharing.

Backend-agnostic semantics are in tests/contract; these tests pin what only SQLite can get wrong.
"""

from __future__ import annotations

import multiprocessing
import random
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from shared.search import embedded_geo
from shared.search.embedded import EmbeddedSearchIndex, fts_query
from shared.search.port import Near, SearchQuery
from shared.search.schema import LISTINGS_SCHEMA


def listing(doc_id: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": doc_id,
        "name": f"Listing {doc_id}",
        "description": "",
        "services": [],
        "cpv_codes": [],
        "categories": [],
        "region": "London",
        "location": None,
        "updated_at": "2025-01-01T00:00:00+00:00",
    }
    return base | fields


@pytest.fixture
def index(tmp_path: Path) -> Iterator[EmbeddedSearchIndex]:
    idx = EmbeddedSearchIndex(str(tmp_path / "nested" / "search.db"), LISTINGS_SCHEMA, prefix="t-")
    idx.ensure_index()
    yield idx
    idx.close()


HOSTILE_TEXT = [
    '"',
    "*",
    "clean*",
    "name:cleaning",
    "(cleaning",
    "cleaning NEAR catering",
    "cleaning AND OR NOT",
    "NOT",
    "\\",
    "'; DROP TABLE x; --",
    "^cleaning",
    "café  naïve",
    "\x00",
    "🙂",
    "a" * 5000,
]


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_query_syntax_is_literal_and_never_raises(index: EmbeddedSearchIndex, text: str) -> None:
    index.bulk_upsert([listing("a:1", description="office cleaning and catering")])
    index.search(SearchQuery(text=text))


def test_syntax_words_are_plain_words(index: EmbeddedSearchIndex) -> None:
    index.bulk_upsert([listing("a:1", description="cleaning"), listing("a:2", description="cleaning near you")])
    hits = index.search(SearchQuery(text="cleaning NEAR")).hits
    assert [h.id for h in hits] == ["a:2"]


def test_fts_query_quotes_words_and_drops_stop_words() -> None:
    assert fts_query('The "Cleaning" of* (offices)') == '"cleaning" "offices"'
    assert fts_query("the of and") is None
    assert fts_query("!!! ...") is None


@pytest.mark.parametrize("text", ["the of and", "!!!", "*"])
def test_text_of_only_stop_words_or_punctuation_matches_nothing(index: EmbeddedSearchIndex, text: str) -> None:
    index.bulk_upsert([listing("a:1", description="the best of it")])
    assert index.search(SearchQuery(text=text)).total == 0


@pytest.mark.parametrize("text", [None, "", "   "])
def test_empty_text_is_no_constraint(index: EmbeddedSearchIndex, text: str | None) -> None:
    index.bulk_upsert([listing("a:1"), listing("a:2")])
    assert index.search(SearchQuery(text=text)).total == 2


def test_stemming_and_diacritics(index: EmbeddedSearchIndex) -> None:
    index.bulk_upsert([listing("a:1", description="Cleaners at the Café")])
    assert index.search(SearchQuery(text="cleaner cafe")).total == 1


def test_older_update_is_stale_and_equal_timestamp_overwrites(index: EmbeddedSearchIndex) -> None:
    index.bulk_upsert([listing("a:1", name="New", updated_at="2025-02-01T00:00:00Z")])
    older = index.bulk_upsert([listing("a:1", name="Old", updated_at="2025-02-01T00:00:00+01:00")])
    assert (older.written, older.stale) == (0, 1)
    replay = index.bulk_upsert([listing("a:1", name="Replay", updated_at="2025-02-01T00:00:00+00:00")])
    assert (replay.written, replay.stale) == (1, 0)
    doc = index.get("a:1")
    assert doc is not None and doc["name"] == "Replay"


def test_stale_update_leaves_search_entries_alone(index: EmbeddedSearchIndex) -> None:
    index.bulk_upsert([listing("a:1", description="bakery", updated_at="2025-02-01T00:00:00Z")])
    index.bulk_upsert([listing("a:1", description="brewery", updated_at="2024-01-01T00:00:00Z")])
    assert index.search(SearchQuery(text="bakery")).total == 1
    assert index.search(SearchQuery(text="brewery")).total == 0


def test_bad_documents_fail_alone(index: EmbeddedSearchIndex) -> None:
    result = index.bulk_upsert(
        [
            {"name": "no id", "updated_at": "2025-01-01T00:00:00Z"},
            listing("a:2", updated_at="yesterday"),
            listing("a:3", location={"lat": 95, "lon": 0}),
            listing("a:4"),
        ]
    )
    assert result.written == 1
    assert [doc_id for doc_id, _ in result.failed] == ["", "a:2", "a:3"]
    assert index.count() == 1


def test_update_replaces_terms_geo_and_text(index: EmbeddedSearchIndex) -> None:
    index.bulk_upsert([listing("a:1", description="bakery", region="Wales", location={"lat": 51.5, "lon": -3.2})])
    index.bulk_upsert([listing("a:1", description="brewery", region="Scotland", updated_at="2025-03-01T00:00:00Z")])
    assert index.search(SearchQuery(text="bakery")).total == 0
    assert index.search(SearchQuery(filters={"region": ["Wales"]})).total == 0
    assert index.search(SearchQuery(near=Near(51.5, -3.2, 10))).total == 0
    assert index.search(SearchQuery(text="brewery", filters={"region": ["Scotland"]})).total == 1


def test_prefix_filter_treats_wildcards_literally(index: EmbeddedSearchIndex) -> None:
    index.bulk_upsert([listing("a:1", cpv_codes=["90910000"]), listing("a:2", cpv_codes=["45000000"])])
    assert [h.id for h in index.search(SearchQuery(filters={"cpv": ["909"]})).hits] == ["a:1"]
    for pattern in ["%", "_", "*", "9*", "?"]:
        assert index.search(SearchQuery(filters={"cpv": [pattern]})).total == 0
    assert index.search(SearchQuery(filters={"cpv": [""]})).total == 2


def test_unknown_filter_raises(index: EmbeddedSearchIndex) -> None:
    with pytest.raises(ValueError):
        index.search(SearchQuery(filters={"colour": ["red"]}))


def test_radius_crossing_the_antimeridian(index: EmbeddedSearchIndex) -> None:
    index.bulk_upsert([listing("a:1", location={"lat": -17.7, "lon": 179.9})])
    hits = index.search(SearchQuery(near=Near(-17.7, -179.9, 50))).hits
    assert [h.id for h in hits] == ["a:1"]
    assert hits[0].distance_km == pytest.approx(21.2, abs=0.1)


def test_indexes_with_different_prefixes_share_a_file(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    first = EmbeddedSearchIndex(path, LISTINGS_SCHEMA, prefix="one-")
    second = EmbeddedSearchIndex(path, LISTINGS_SCHEMA, prefix="two-")
    for idx in (first, second):
        idx.ensure_index()
    first.bulk_upsert([listing("a:1")])
    assert (first.count(), second.count()) == (1, 0)
    second.drop()
    assert first.ping() and not second.ping()
    first.close()
    second.close()


def test_ping_is_false_before_ensure_index(tmp_path: Path) -> None:
    idx = EmbeddedSearchIndex(str(tmp_path / "s.db"), LISTINGS_SCHEMA)
    assert not idx.ping()
    idx.ensure_index()
    assert idx.ping()
    idx.close()


def _write_many(path: str, start: int, count: int) -> None:
    idx = EmbeddedSearchIndex(path, LISTINGS_SCHEMA, prefix="t-")
    for i in range(start, start + count, 10):
        idx.bulk_upsert([listing(f"p:{j}", description="shared kitchen") for j in range(i, i + 10)])
    idx.close()


def test_another_process_writes_while_this_one_reads(tmp_path: Path) -> None:
    """WAL: a second process writes in batches while this process keeps searching."""
    path = str(tmp_path / "wal.db")
    reader = EmbeddedSearchIndex(path, LISTINGS_SCHEMA, prefix="t-")
    reader.ensure_index()
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write_many, args=(path, n * 200, 200)) for n in range(2)]
    for writer in writers:
        writer.start()
    seen = []
    while any(w.is_alive() for w in writers):
        seen.append(reader.search(SearchQuery(text="kitchen", limit=1)).total)
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    assert seen == sorted(seen)
    assert reader.search(SearchQuery(text="kitchen")).total == 400
    reader.close()


TEXTS = [
    ("b:1", "Community Cleaning", "community cleaning of offices and community halls", ["cleaning", "catering"]),
    ("b:2", "Green Gardens", "gardening for the community", ["grounds maintenance"]),
    ("b:3", "Cleaners United", "a cleaning co-operative", ["window cleaning", "cleaning"]),
    ("b:4", "Bike Mill", "bicycle repair, a long description " * 5, []),
]


def _fts5_scores(index: EmbeddedSearchIndex, words: str) -> dict[str, float]:
    """What FTS5's own bm25() says, with the schema's weights: the reference the adapter mirrors."""
    fts, docs = index._fts, index._docs  # private: the reference is SQLite itself
    weights = ", ".join(str(w) for w in LISTINGS_SCHEMA.text_boosts)
    rows = index._conn().execute(
        f"SELECT d.id, -bm25({fts}, {weights}) FROM {fts} JOIN {docs} d ON d.doc = {fts}.rowid WHERE {fts} MATCH ?",
        (fts_query(words),),
    )
    return dict(rows.fetchall())


@pytest.mark.parametrize("words", ["cleaning", "community cleaning", "bicycle", "offices"])
def test_scores_are_fts5_bm25_with_the_schema_weights(index: EmbeddedSearchIndex, words: str) -> None:
    index.bulk_upsert([listing(i, name=n, description=d, services=s) for i, n, d, s in TEXTS])
    hits = index.search(SearchQuery(text=words, limit=10)).hits
    assert {h.id: h.score for h in hits} == pytest.approx(_fts5_scores(index, words), rel=1e-12)


def test_cached_postings_follow_writes_from_another_process(tmp_path: Path) -> None:
    """A reader that cached a word's postings and then sees another connection's writes scores
    exactly as a reader that starts cold."""
    path = str(tmp_path / "cache.db")
    reader = EmbeddedSearchIndex(path, LISTINGS_SCHEMA, prefix="t-")
    reader.ensure_index()
    reader.bulk_upsert([listing(i, name=n, description=d, services=s) for i, n, d, s in TEXTS])
    reader.search(SearchQuery(text="cleaning community"))
    writer = EmbeddedSearchIndex(path, LISTINGS_SCHEMA, prefix="t-")
    writer.bulk_upsert(
        [
            listing("b:1", description="now only catering", updated_at="2025-02-01T00:00:00Z"),
            listing("b:5", description="cleaning cleaning cleaning for the community"),
        ]
    )
    writer.delete(["b:3"])
    cold = EmbeddedSearchIndex(path, LISTINGS_SCHEMA, prefix="t-")
    for words in ["cleaning", "community", "cleaning community"]:
        warm_hits = reader.search(SearchQuery(text=words)).hits
        cold_hits = cold.search(SearchQuery(text=words)).hits
        assert [(h.id, h.score) for h in warm_hits] == [(h.id, h.score) for h in cold_hits]
    assert {h.id for h in reader.search(SearchQuery(text="cleaning")).hits} == {"b:5"}
    for idx in (reader, writer, cold):
        idx.close()


def test_the_rtree_holds_exactly_the_located_documents(index: EmbeddedSearchIndex) -> None:
    index.bulk_upsert(
        [
            listing("g:1", location={"lat": 53.8, "lon": -1.55}),
            listing("g:2", location={"lat": 51.5, "lon": -0.12}),
            listing("g:3"),
        ]
    )
    index.bulk_upsert([listing("g:2", updated_at="2025-02-01T00:00:00Z")])  # moved to nowhere
    index.bulk_upsert([listing("g:3", location={"lat": 55.95, "lon": -3.19}, updated_at="2025-02-01T00:00:00Z")])
    index.delete(["g:1"])
    rows = index._conn().execute(  # private: the R*Tree is what radius queries read
        f"SELECT d.id, g.lat, g.lon FROM {index._geo} g JOIN {index._docs} d ON d.doc = g.doc"
    )
    assert rows.fetchall() == [("g:3", 55.95, -3.19)]
    assert [h.id for h in index.search(SearchQuery(near=Near(55.95, -3.19, 1))).hits] == ["g:3"]


def test_ping_needs_the_rtree(index: EmbeddedSearchIndex) -> None:
    assert index.ping()
    index._conn().execute(f"DROP TABLE {index._geo}")
    assert not index.ping()


@pytest.mark.parametrize("text", [None, "cleaning", "cleaning catering"])
def test_radius_answers_alike_through_the_rtree_and_measured_directly(
    index: EmbeddedSearchIndex, monkeypatch: pytest.MonkeyPatch, text: str | None
) -> None:
    """Small candidate sets skip the R*Tree; both ways must select exactly the same listings."""
    rng = random.Random(3)
    words = ["cleaning", "catering", "gardening"]
    docs = [
        listing(f"g{i}", description=" ".join(rng.sample(words, 2)),
                location={"lat": 53.8 + rng.uniform(-1.5, 1.5), "lon": -1.55 + rng.uniform(-2.5, 2.5)})
        for i in range(400)
    ]  # fmt: skip
    assert not index.bulk_upsert(docs).failed
    sizes = set()
    for radius in (0.5, 5, 25, 80, 400):
        query = SearchQuery(text=text, near=Near(53.8, -1.55, radius), sort="distance", limit=500)
        monkeypatch.setattr(embedded_geo, "MEASURE_DIRECTLY", 10**9)
        measured = [(h.id, h.distance_km) for h in index.search(query).hits]
        monkeypatch.setattr(embedded_geo, "MEASURE_DIRECTLY", 0)
        boxed = [(h.id, h.distance_km) for h in index.search(query).hits]
        assert measured == boxed
        assert all(d is not None and d <= radius for _, d in measured)
        sizes.add(len(measured))
    assert len(sizes) >= 3  # the radii really cut: not all or nothing each time


def test_a_remembered_radius_area_follows_writes(index: EmbeddedSearchIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """The R*Tree path remembers each area per snapshot; a write makes a new snapshot, so a moved
    or deleted listing is never answered from the old area."""
    monkeypatch.setattr(embedded_geo, "MEASURE_DIRECTLY", 0)
    leeds, york = {"lat": 53.8, "lon": -1.55}, {"lat": 53.96, "lon": -1.08}
    index.bulk_upsert([listing("a:1", description="bakery", location=leeds),
                       listing("a:2", description="brewery", location=leeds)])  # fmt: skip
    near_leeds = SearchQuery(near=Near(53.8, -1.55, 5), sort="distance")
    assert [h.id for h in index.search(near_leeds).hits] == ["a:1", "a:2"]
    assert [h.id for h in index.search(replace(near_leeds, text="brewery")).hits] == ["a:2"]  # same area, other base
    index.bulk_upsert([listing("a:1", description="bakery", location=york, updated_at="2025-03-01T00:00:00Z")])
    index.delete(["a:2"])
    assert index.search(near_leeds).hits == []
    assert [h.id for h in index.search(SearchQuery(near=Near(53.96, -1.08, 5))).hits] == ["a:1"]
