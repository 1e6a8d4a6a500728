"""The directory's search judged on buyers' queries, over the sample directory's co-operatives and
community businesses.

    python -m bench.search_queries [--path var/bench/queries.db] [--verbose]

`bench/queries/search_queries.jsonl` holds 76 queries written from real notice titles (Public
Contracts Scotland, Sell2Wales: `data/ocds`, and the lots of `data/benchmark`) and searches
buyers type, each with the listings judged relevant by reading the sample directory's text
(`relevant`; empty where the directory holds nothing that fits, which is then the right answer to
give), the cause an empty answer must name (`empty`: text or radius, with the `nearest` listings
beyond the radius), and for the two misspelt queries the word "did you mean" must offer.

Each query runs as `GET /search` runs it (`parse_search_args` + `run_search`, so synonyms,
acronyms, phrases and spelling are the directory's own). A query passes when every judged
listing is in its first 10 results, no word was corrected unless the query is a misspelling (no
invented fallback), every result of a query with an acronym holds that acronym in capitals or a
synonym of it (the acronym was kept, not dropped), and an empty answer names the expected cause.
Prints one line per failure and the summary the README quotes; exits 1 when any query fails.

The queries were judged before the default directory took in the registered charities (UK-CAT,
the NI register), so they run over the listings they were judged on (`JUDGED_SOURCES`): over the
whole directory, unjudged charities (often relevant) fill the first ten and "nothing fits"
answers stop being true. Judging the charities too is what would let the set cover them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.datastructures import MultiDict

from bench.synthetic import ROOT, SAMPLE
from services.directory.search_params import parse_search_args
from services.directory.search_service import run_search
from shared.models import Listing
from shared.search.factory import open_search_index
from shared.search.port import SearchIndex
from shared.search.vocabulary import PROTECTED_ACRONYMS, SHORT_TERMS, SYNONYMS

QUERIES = ROOT / "bench" / "queries" / "search_queries.jsonl"
TOP = 10
JUDGED_SOURCES = frozenset({"coopsuk", "workerscoop", "oxford", "powertochange"})
ACRONYMS = (*PROTECTED_ACRONYMS, *SHORT_TERMS)


@dataclass
class Outcome:
    query: dict[str, Any]
    total: int
    top: list[str]
    problems: list[str] = field(default_factory=list)


def load_queries(path: Path = QUERIES) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def fill(index: SearchIndex) -> None:
    """The judged part of the sample directory, as the consumer would index it."""
    index.ensure_index()
    with SAMPLE.open(encoding="utf-8") as fh:
        listings = [Listing.model_validate_json(line) for line in fh if line.strip()]
    docs = [listing.index_document() for listing in listings if listing.source in JUDGED_SOURCES]
    for start in range(0, len(docs), 500):
        result = index.bulk_upsert(docs[start : start + 500])
        if result.failed:
            raise RuntimeError(f"could not index the sample: {result.failed[:3]}")
    index.refresh()


def judge(index: SearchIndex, query: dict[str, Any]) -> Outcome:
    args = MultiDict([("q", query["q"]), ("per_page", str(TOP)), *query.get("params", {}).items()])
    answer = run_search(index, parse_search_args(args))
    top = [hit["id"] for hit in answer["results"]]
    outcome = Outcome(query, answer["total"], top)
    missing = [i for i in query["relevant"] if i not in top]
    if missing:
        outcome.problems.append(f"judged relevant but not in the first {TOP}: {missing}")
    corrected = [c["searched"] for c in answer["corrections"]]
    if corrected != ([query["correction"]] if "correction" in query else []):
        outcome.problems.append(f"corrections {answer['corrections']} (expected {query.get('correction')})")
    empty = answer["empty"] or {}
    if empty.get("cause") != query.get("empty"):
        outcome.problems.append(f"empty answer cause {empty.get('cause')!r}, expected {query.get('empty')!r}")
    nearest = [n["id"] for n in empty.get("nearest", [])]
    if query.get("nearest") and nearest[: len(query["nearest"])] != query["nearest"]:
        outcome.problems.append(f"nearest beyond the radius {nearest}, expected {query['nearest']} first")
    for acronym in acronyms_in(query["q"]):
        lost = [hit["name"] for hit in answer["results"] if not holds(index.get(hit["id"]) or hit, acronym)]
        if lost:
            outcome.problems.append(f"results without {acronym} or a synonym of it: {lost}")
    return outcome


def acronyms_in(text: str) -> list[str]:
    return [word for word in re.findall(r"[^\W_]+", text) if word in ACRONYMS]


def holds(listing: dict[str, Any], acronym: str) -> bool:
    """Whether a listing's text has the acronym in capitals, or every word of a synonym of it
    (anywhere, as synonyms match; a word's first five letters, as stemming would)."""
    text = " ".join([listing.get("name") or "", listing.get("description") or "", *(listing.get("services") or [])])
    if re.search(rf"\b{acronym}\b", text):
        return True
    group = next((g for g in SYNONYMS if acronym in g), ())
    return any(
        all(re.search(rf"\b{re.escape(word[:5])}", text, re.IGNORECASE) for word in synonym.split())
        for synonym in group
        if synonym != acronym
    )


def run(index: SearchIndex, queries: list[dict[str, Any]]) -> list[Outcome]:
    return [judge(index, query) for query in queries]


def summary(outcomes: list[Outcome]) -> str:
    judged = [o for o in outcomes if o.query["relevant"]]
    found = sum(1 for o in judged if all(i in o.top for i in o.query["relevant"]))
    with_acronyms = [o for o in outcomes if acronyms_in(o.query["q"])]
    invented = sum(1 for o in outcomes if any(p.startswith("corrections") for p in o.problems))
    return (
        f"{len(outcomes)} queries ({sum(1 for o in outcomes if o.query['from'].startswith('notice'))} from notice "
        f"titles); every judged listing in the first {TOP}: {found}/{len(judged)}; answered empty as judged: "
        f"{sum(1 for o in outcomes if o.query.get('empty') and o.total == 0)}/"
        f"{sum(1 for o in outcomes if o.query.get('empty'))}; invented corrections: {invented}; queries with "
        f"acronyms kept: {sum(1 for o in with_acronyms if not o.problems)}/{len(with_acronyms)}; "
        f"failing: {sum(1 for o in outcomes if o.problems)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--path", type=Path, help="embedded index file (default: a temporary one)")
    parser.add_argument("--verbose", action="store_true", help="print every query's first results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = args.path or Path(scratch) / "queries.db"
        index = open_search_index(f"sqlite:///{path}", prefix="queries-")
        fill(index)
        outcomes = run(index, load_queries())
        index.close()
    for o in outcomes:
        if o.problems or args.verbose:
            print(f"{o.query['q']!r} {o.query.get('params', '')}: {o.total} found, first {o.top[:5]}")
            for problem in o.problems:
                print(f"    {problem}")
    print(summary(outcomes))
    sys.exit(1 if any(o.problems for o in outcomes) else 0)


if __name__ == "__main__":
    main()
