"""The SearchIndex contract: the same behaviour on every backend (see shared/search/port.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.errors import BackendUnavailable
from shared.models import with_index_fields
from shared.search.factory import open_search_index
from shared.search.port import HIGHLIGHT_END, HIGHLIGHT_START, Near, SearchIndex, SearchQuery, highlight_segments
from tests.contract.conftest import BackendUrls
from tests.factories import LEEDS, directory, doc

LEEDS_NEAR = Near(lat=LEEDS[0], lon=LEEDS[1], radius_km=30)


@pytest.fixture
def loaded(index: SearchIndex) -> SearchIndex:
    result = index.bulk_upsert(directory())
    assert result.failed == [] and result.written == len(directory())
    index.refresh()
    return index


def ids(index: SearchIndex, **kwargs) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.id for h in index.search(SearchQuery(**kwargs)).hits]


def test_get_returns_the_stored_document(loaded: SearchIndex) -> None:
    got = loaded.get("t:clean-leeds")
    assert got is not None and got["name"] == "Sparkle Cleaning CIC"
    assert got["cpv_codes"] == ["90910000"]
    assert loaded.get("t:absent") is None


def test_count_all_and_filtered(loaded: SearchIndex) -> None:
    assert loaded.count() == 6
    assert loaded.count(SearchQuery(filters={"categories": ["cleaning"]})) == 3


def test_text_search_stems_and_requires_every_word(loaded: SearchIndex) -> None:
    assert set(ids(loaded, text="cleaned")) == {"t:clean-leeds", "t:clean-bradford", "t:nowhere"}
    assert ids(loaded, text="bicycles repaired") == ["t:bikes-manc"]
    assert ids(loaded, text="window cleaning") == ["t:clean-leeds"]
    assert ids(loaded, text="cleaning bicycles") == []


def test_stop_words_are_ignored_the_same_way(loaded: SearchIndex) -> None:
    assert ids(loaded, text="repair of the bicycles") == ["t:bikes-manc"]


def test_name_matches_rank_above_description_matches(loaded: SearchIndex) -> None:
    hits = ids(loaded, text="cleaning")
    assert hits[0] in {"t:clean-leeds", "t:nowhere"}  # "Cleaning" in the name (boosted)
    assert "t:clean-bradford" in hits


@pytest.mark.parametrize(
    "text", ['"', "clean*", "name:cleaning", "(cleaning", "NEAR cleaning", "cleaning AND", "\\", "OR", "-", "^~"]
)
def test_query_syntax_is_taken_literally(loaded: SearchIndex, text: str) -> None:
    result = loaded.search(SearchQuery(text=text))
    assert result.total == len(result.hits)


def test_radius_filter_and_distances(loaded: SearchIndex) -> None:
    result = loaded.search(SearchQuery(near=LEEDS_NEAR, sort="distance"))
    # Two listings sit at the same point: the tie breaks by id.
    assert [h.id for h in result.hits] == ["t:clean-leeds", "t:garden-leeds", "t:clean-bradford"]
    distances = {h.id: h.distance_km for h in result.hits}
    assert distances["t:clean-leeds"] == pytest.approx(0, abs=0.01)
    assert distances["t:clean-bradford"] == pytest.approx(13.9, abs=0.5)
    assert result.total == 3


def test_distance_sort_puts_documents_without_location_last(loaded: SearchIndex) -> None:
    near = Near(lat=LEEDS[0], lon=LEEDS[1])
    hits = loaded.search(SearchQuery(near=near, sort="distance", limit=10)).hits
    assert [h.id for h in hits][-2:] == ["t:research-belfast", "t:nowhere"]
    assert hits[-1].distance_km is None
    assert [h.distance_km for h in hits[:-1]] == sorted(h.distance_km for h in hits[:-1])  # type: ignore[type-var]


def test_text_with_radius(loaded: SearchIndex) -> None:
    assert set(ids(loaded, text="cleaning", near=LEEDS_NEAR)) == {"t:clean-leeds", "t:clean-bradford"}


def test_keyword_filters_or_within_and_across(loaded: SearchIndex) -> None:
    assert set(ids(loaded, filters={"legal_form": ["cic", "charity"]})) == {"t:clean-leeds", "t:garden-leeds"}
    assert ids(loaded, filters={"legal_form": ["cooperative"], "categories": ["cleaning"]}) == [
        "t:clean-bradford"
    ]
    assert set(ids(loaded, filters={"impact_areas": ["employment"]})) == {"t:clean-leeds", "t:clean-bradford"}


def test_cpv_filter_is_hierarchical(loaded: SearchIndex) -> None:
    assert set(ids(loaded, filters={"cpv": ["909"]})) == {"t:clean-leeds", "t:clean-bradford"}
    assert ids(loaded, filters={"cpv": ["9091120"]}) == ["t:clean-bradford"]
    assert set(ids(loaded, filters={"cpv": ["77", "793"]})) == {"t:garden-leeds", "t:research-belfast"}


def test_facets_count_the_filtered_set(loaded: SearchIndex) -> None:
    result = loaded.search(SearchQuery(near=LEEDS_NEAR, facets=["legal_form", "impact_areas"]))
    legal = {b.value: b.count for b in result.facets["legal_form"]}
    assert legal == {"cic": 1, "cooperative": 1, "charity": 1}
    impact = [(b.value, b.count) for b in result.facets["impact_areas"]]
    assert impact[0] == ("employment", 2)
    assert set(impact[1:]) == {("reducing_reoffending", 1), ("youth_employment", 1), ("training", 1),
                               ("environment", 1)}


def test_facets_order_by_count_then_value(loaded: SearchIndex) -> None:
    buckets = loaded.search(SearchQuery(facets=["legal_form"])).facets["legal_form"]
    assert [(b.value, b.count) for b in buckets] == [("cooperative", 3), ("charity", 1), ("cic", 1), ("other", 1)]


def test_sort_by_name_is_case_insensitive_and_pages_are_stable(loaded: SearchIndex) -> None:
    names = [h.document["name"] for h in loaded.search(SearchQuery(sort="name", limit=10)).hits]
    assert names == sorted(names, key=str.lower)
    page1 = ids(loaded, sort="name", limit=4)
    page2 = ids(loaded, sort="name", offset=4, limit=4)
    assert len(page1) == 4 and len(page2) == 2 and not set(page1) & set(page2)


def test_relevance_without_text_sorts_by_distance_when_near(loaded: SearchIndex) -> None:
    assert ids(loaded, near=LEEDS_NEAR) == ids(loaded, near=LEEDS_NEAR, sort="distance")


def test_page_past_the_end_is_empty_but_counts(loaded: SearchIndex) -> None:
    result = loaded.search(SearchQuery(offset=100))
    assert result.hits == [] and result.total == 6


def test_older_update_never_overwrites_newer(index: SearchIndex) -> None:
    index.bulk_upsert([doc("t:a", "Newer name", minutes=10)])
    result = index.bulk_upsert([doc("t:a", "Older name", minutes=5)])
    index.refresh()
    assert result.stale == 1 and result.written == 0 and result.failed == []
    assert index.get("t:a")["name"] == "Newer name"  # type: ignore[index]


def test_upsert_is_idempotent_and_newer_replaces(index: SearchIndex) -> None:
    index.bulk_upsert([doc("t:a", "First", minutes=1)])
    index.bulk_upsert([doc("t:a", "First", minutes=1)])
    index.bulk_upsert([doc("t:a", "Second", minutes=2, description="renamed")])
    index.refresh()
    assert index.count() == 1
    assert ids(index, text="first") == []
    assert ids(index, text="renamed") == ["t:a"]


def test_delete_removes_and_absent_ids_are_fine(loaded: SearchIndex) -> None:
    result = loaded.delete(["t:clean-leeds", "t:never-existed"])
    loaded.refresh()
    assert result.failed == []
    assert loaded.get("t:clean-leeds") is None
    assert "t:clean-leeds" not in ids(loaded, text="cleaning")
    assert loaded.count() == 5


def test_ping_and_ensure_index_is_idempotent(loaded: SearchIndex) -> None:
    loaded.ensure_index()
    assert loaded.ping()
    assert loaded.count() == 6


# -- robustness ------------------------------------------------------------------------------------


def test_reads_before_ensure_index_are_backend_unavailable(backend: BackendUrls, unique: str) -> None:
    index = open_search_index(backend.search_url, prefix=unique)
    try:
        for read in (lambda: index.search(SearchQuery(text="x")), lambda: index.get("t:a"), index.count):
            with pytest.raises(BackendUnavailable):
                read()
    finally:
        index.close()


# -- disjunctive facets ----------------------------------------------------------------------------


def test_facets_leave_out_their_own_filter(loaded: SearchIndex) -> None:
    result = loaded.search(
        SearchQuery(filters={"legal_form": ["cooperative"], "categories": ["cleaning"]},
                    facets=["legal_form", "categories", "region"])  # fmt: skip
    )
    assert [h.id for h in result.hits] == ["t:clean-bradford"]
    counts = {name: {b.value: b.count for b in buckets} for name, buckets in result.facets.items()}
    # legal_form counts apply the category filter only; categories apply the legal_form filter only.
    assert counts["legal_form"] == {"cic": 1, "cooperative": 1, "other": 1}
    assert counts["categories"] == {"cleaning": 1, "retail": 1, "research": 1}
    assert counts["region"] == {"Yorkshire and The Humber": 1}


def test_prefix_filter_is_left_out_of_its_field_facet(loaded: SearchIndex) -> None:
    result = loaded.search(SearchQuery(filters={"cpv": ["909"]}, facets=["cpv_codes", "legal_form"]))
    assert {b.value for b in result.facets["cpv_codes"]} == {"90910000", "90911200", "50000000", "77314000",
                                                             "79310000"}
    assert {b.value: b.count for b in result.facets["legal_form"]} == {"cic": 1, "cooperative": 1}


# -- highlights ------------------------------------------------------------------------------------


def test_highlights_mark_the_matched_words_with_private_use_characters(loaded: SearchIndex) -> None:
    hits = {h.id: h for h in loaded.search(SearchQuery(text="cleaning", highlight=True)).hits}
    leeds = hits["t:clean-leeds"].highlights
    assert leeds is not None
    assert f"{HIGHLIGHT_START}Cleaning{HIGHLIGHT_END}" in leeds["name"]
    assert f"window {HIGHLIGHT_START}cleaning{HIGHLIGHT_END}" in leeds["description"]
    segments = highlight_segments(leeds["name"])
    assert ("Cleaning", True) in segments and "".join(t for t, _ in segments) == "Sparkle Cleaning CIC"


def test_no_highlights_unless_asked(loaded: SearchIndex) -> None:
    assert all(h.highlights is None for h in loaded.search(SearchQuery(text="cleaning")).hits)


# -- cursor paging ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [SearchQuery(sort="name"), SearchQuery(text="cleaning"), SearchQuery(near=Near(*LEEDS), sort="distance")],
    ids=["name", "relevance", "distance"],
)
def test_cursor_pages_follow_the_offset_order(loaded: SearchIndex, query: SearchQuery) -> None:
    first = loaded.search(replace(query, limit=10))
    everything = [h.id for h in first.hits]
    paged: list[str] = []
    cursor = None
    for _ in range(10):
        result = loaded.search(replace(query, limit=2, cursor=cursor))
        assert result.total == first.total  # the whole search's, on every page
        paged += [h.id for h in result.hits]
        cursor = result.next_cursor
        if cursor is None:
            break
    assert paged == everything


def test_a_cursor_belongs_to_its_sort_order(loaded: SearchIndex) -> None:
    cursor = loaded.search(SearchQuery(sort="name", limit=1)).next_cursor
    assert cursor is not None
    for bad in (SearchQuery(text="cleaning", cursor=cursor), SearchQuery(sort="name", cursor="garbage!")):
        with pytest.raises(ValueError):
            loaded.search(bad)


# -- typo tolerance --------------------------------------------------------------------------------


def test_typos_are_tolerated_only_when_asked_and_nothing_matches_exactly(loaded: SearchIndex) -> None:
    assert loaded.search(SearchQuery(text="bicyle")).total == 0
    result = loaded.search(SearchQuery(text="bicyle repiar", fuzzy=True))
    assert [h.id for h in result.hits] == ["t:bikes-manc"] and result.fuzzy
    exact = loaded.search(SearchQuery(text="bicycle", fuzzy=True))
    assert [h.id for h in exact.hits] == ["t:bikes-manc"] and not exact.fuzzy


def test_typo_tolerance_keeps_the_first_letter_and_the_edit_budget(loaded: SearchIndex) -> None:
    assert loaded.search(SearchQuery(text="xicycle", fuzzy=True)).total == 0  # first letter differs
    assert loaded.search(SearchQuery(text="bcy", fuzzy=True)).total == 0  # far too short to correct
    assert loaded.search(SearchQuery(text="the of", fuzzy=True)).total == 0  # stop words stay nothing


# -- suggestions -----------------------------------------------------------------------------------


def test_suggest_completes_names_and_keyword_values(loaded: SearchIndex) -> None:
    found = loaded.suggest("clean")
    names = {s.id for s in found if s.field == "name"}
    assert names == {"t:clean-leeds", "t:clean-bradford", "t:nowhere"}
    assert ("cleaning", "categories", 3) in {(s.text, s.field, s.count) for s in found}
    assert [s.id for s in loaded.suggest("sparkle clea")] == ["t:clean-leeds"]
    assert {(s.text, s.field) for s in loaded.suggest("yorks")} == {("Yorkshire and The Humber", "region")}
    assert loaded.suggest("   ") == [] and loaded.suggest("zzzz") == []
    assert len(loaded.suggest("c", limit=2)) == 2


# -- scan ------------------------------------------------------------------------------------------


def test_scan_yields_every_hit_in_order_in_pages(loaded: SearchIndex) -> None:
    query = SearchQuery(sort="name", filters={"region": ["Yorkshire and The Humber", "North West"]})
    expected = [h.id for h in loaded.search(replace(query, limit=100)).hits]
    assert [h.id for h in loaded.scan(query, page_size=2)] == expected
    assert len(expected) == 4


def test_an_org_id_finds_its_organisation_and_verified_by_keeps_registered_ones(index: SearchIndex) -> None:
    """Registers name organisations by org-id; a buyer keeps those a register vouches for."""
    registered = {"registry": "GB-SC", "identifier": "GB-SC-SC012345", "status": "registered charity",
                  "as_of": "2024-05"}
    removed = {**registered, "registry": "GB-NIC", "identifier": "GB-NIC-100002", "current": False}
    index.bulk_upsert([
        doc("t:scot", "Highland Care", org_ids=["GB-SC-SC012345", "GB-COH-SC123456"], verified=[registered]),
        doc("t:gone", "Belfast Trust", org_ids=["GB-NIC-100002"], verified=[removed]),
        doc("t:none", "Unregistered Group"),
    ])
    index.refresh()
    by_org_id = index.search(SearchQuery(filters={"org_ids": ["GB-COH-SC123456"]}))
    assert [hit.id for hit in by_org_id.hits] == ["t:scot"]
    verified = index.search(SearchQuery(filters={"verified_by": ["GB-SC", "GB-NIC", "GB-CHC"]}, facets=["verified_by"]))
    assert [hit.id for hit in verified.hits] == ["t:scot"]
    assert [(b.value, b.count) for b in verified.facets["verified_by"]] == [("GB-SC", 1)]


def test_a_merged_records_id_finds_the_listing_it_was_folded_into(index: SearchIndex) -> None:
    merged = doc("ccni:GB-NIC-100419", "Holywood Befriending")
    merged["provenance"] = [{"id": member, "source": member.split(":")[0], "updated_at": "2025-01-01T00:00:00+00:00"}
                            for member in ("ccni:GB-NIC-100419", "charity:GB-NIC-100419")]
    index.bulk_upsert([with_index_fields(merged), doc("t:other", "Another Group")])
    index.refresh()
    for member in ("charity:GB-NIC-100419", "ccni:GB-NIC-100419"):
        assert [hit.id for hit in index.search(SearchQuery(filters={"member_ids": [member]})).hits] == [merged["id"]]
    assert [hit.id for hit in index.search(SearchQuery(filters={"member_ids": ["t:other"]})).hits] == ["t:other"]
