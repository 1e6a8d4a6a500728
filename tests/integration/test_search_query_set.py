"""The judged buyers' query set (`bench/queries`) on the sample directory: every judged listing in
the first ten, no invented correction, every acronym kept, empty answers that say why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from werkzeug.datastructures import MultiDict

from bench.search_queries import fill, load_queries, run
from scripts.run_stack import EXAMPLE_SEARCH
from services.directory.search_params import parse_search_args
from services.directory.search_service import run_search
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


def test_the_first_example_make_run_prints_finds_suppliers(sample_index: SearchIndex) -> None:
    query = urlsplit(EXAMPLE_SEARCH)
    assert query.path == "/search"
    answer = run_search(sample_index, parse_search_args(MultiDict(parse_qsl(query.query))))
    assert answer["total"] > 0 and "Leeds Bike Mill" in [r["name"] for r in answer["results"]]


def test_every_query_answers_as_judged(sample_index: SearchIndex) -> None:
    failures = {o.query["q"]: o.problems for o in run(sample_index, load_queries()) if o.problems}
    assert failures == {}
