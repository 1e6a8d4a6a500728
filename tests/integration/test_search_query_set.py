"""The judged buyers' query set (`bench/queries`) on the sample directory: every judged listing in
the first ten, no invented correction, every acronym kept, empty answers that say why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.search_queries import fill, load_queries, run
from shared.search.factory import open_search_index
from shared.search.port import SearchIndex


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchIndex]:
    path: Path = tmp_path_factory.mktemp("queries") / "search.db"
    index = open_search_index(f"sqlite:///{path}")
    fill(index)
    yield index
    index.close()


def test_the_query_set_is_large_and_drawn_from_real_notices() -> None:
    queries = load_queries()
    assert len(queries) >= 60
    assert sum(q["from"].startswith("notice") for q in queries) >= 30
    assert any(q["q"].isupper() for q in queries)  # acronyms as buyers type them


def test_every_query_answers_as_judged(sample_index: SearchIndex) -> None:
    failures = {o.query["q"]: o.problems for o in run(sample_index, load_queries()) if o.problems}
    assert failures == {}
