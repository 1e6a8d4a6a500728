"""Relevance of the matcher against baselines: first on real lots judged blind, then on the
constructed benchmark.

    python -m bench.match_quality [--model FILE] [--judged-only]

**Judged benchmark** (`data/judged-benchmark`, the measure that counts): 90 real Scottish and
Welsh lots, each matched as its OCDS release (that lot only) through the matcher's one entry
point, over the default directory (co-operatives, community businesses and charities). Prints
P@10 (judged results only, with the unjudged share), success@10, the precision of `strong` results and "honest none"
(`bench/quality/judged.py` defines each), for the matcher and for BM25 over the lot's title and
description within its nation; for the matcher also "in recall", the lots whose candidates before
ranking hold a relevant one (success@10's ceiling).

**Constructed benchmark** (`data/benchmark`, second, and labelled for what it is: its lots were
placed next to capable suppliers and judged by rules reading the same codes and words the
matcher reads, so it flatters the matcher). Loads the real sample directory into a temporary
embedded index, ranks every benchmark lot three ways and prints NDCG@10, recall@10 and MRR@10
overall and by lot source:

- matcher: `POST /match`'s ranking (candidate recall + re-ranking with the model);
- portal: what procurement portals do today, CPV prefix (the lot's CPV groups) and radius
  filter, sorted by distance (radius only when the lot has no CPV code);
- bm25: text only, BM25 over the lot's title words (each word its own index query, scores
  summed, so any word may match: the index alone ANDs words), within the radius.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.lots import ROOT
from bench.quality import judged as judged_bench
from bench.quality.metrics import ndcg, recall, reciprocal_rank
from bench.synthetic import SAMPLE
from services.matcher.config import MatcherSettings
from services.matcher.features import LotContext
from services.matcher.matching import Matcher, match, prepare
from services.matcher.matching import recall as recall_candidates
from services.matcher.model import DEFAULT_MODEL_FILE, ScoringModel
from services.matcher.places import LotError
from services.matcher.text import WordStatistics, words
from shared.models import Listing, Lot
from shared.search.factory import open_search_index
from shared.search.port import Near, SearchIndex, SearchQuery

BENCHMARK = ROOT / "data" / "benchmark"
K = 10
Ranker = Callable[[SearchIndex, LotContext], list[str]]


@dataclass(frozen=True)
class Case:
    lot: Lot
    source: str
    grades: Mapping[str, int]


def cases() -> list[Case]:
    grades: dict[str, dict[str, int]] = defaultdict(dict)
    for line in (BENCHMARK / "judgements.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        grades[row["lot"]][row["listing"]] = row["grade"]
    out = []
    for line in (BENCHMARK / "lots.jsonl").read_text(encoding="utf-8").splitlines():
        lot = Lot.model_validate(json.loads(line)["lot"])
        out.append(Case(lot, (lot.id or "").split(":")[0], grades[lot.id or ""]))
    return out


@contextmanager
def sample_index() -> Iterator[SearchIndex]:
    """The shipped directory in a throw-away embedded index."""
    with tempfile.TemporaryDirectory() as tmp:
        index = open_search_index(f"sqlite:///{Path(tmp) / 'quality.db'}")
        index.ensure_index()
        docs = [Listing.model_validate_json(line).index_document() for line in SAMPLE.read_text().splitlines()]
        for start in range(0, len(docs), 1000):
            assert not index.bulk_upsert(docs[start : start + 1000]).failed
        index.refresh()
        try:
            yield index
        finally:
            index.close()


def matcher(model: ScoringModel) -> Ranker:
    stats, pool = WordStatistics(), MatcherSettings().candidate_pool

    def rank(index: SearchIndex, ctx: LotContext) -> list[str]:
        return [m.supplier.id for m in match(index, stats, ctx, model, pool, K)]

    return rank


def _area(ctx: LotContext) -> Near:
    assert ctx.place.point is not None  # every benchmark lot has a postcode
    return Near(ctx.place.point[0], ctx.place.point[1], ctx.radius_km)


def portal(index: SearchIndex, ctx: LotContext) -> list[str]:
    groups = sorted({code[:3] for code in ctx.lot.cpv_codes})
    query = SearchQuery(filters={"cpv": groups} if groups else {}, near=_area(ctx), sort="distance", limit=K)
    return [hit.id for hit in index.search(query).hits]


def bm25(index: SearchIndex, ctx: LotContext) -> list[str]:
    scores: dict[str, float] = defaultdict(float)
    for word in dict.fromkeys(words(ctx.lot.title)):
        for hit in index.search(SearchQuery(text=word, near=_area(ctx), limit=1000)).hits:
            scores[hit.id] += hit.score or 0.0
    return sorted(scores, key=lambda i: (-scores[i], i))[:K]


def evaluate(index: SearchIndex, all_cases: list[Case], rankers: Mapping[str, Ranker]) -> dict[str, Any]:
    """{ranker: {source: (ndcg, recall, mrr)}} with an "all" source."""
    contexts = [prepare(case.lot, 50) for case in all_cases]
    table: dict[str, Any] = {}
    for name, ranker in rankers.items():
        per_source: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
        for case, ctx in zip(all_cases, contexts, strict=True):
            ranked = ranker(index, ctx)
            row = (
                ndcg(ranked, case.grades, K),
                recall(ranked, case.grades, K),
                reciprocal_rank(ranked, case.grades, K),
            )
            per_source[case.source].append(row)
            per_source["all"].append(row)
        table[name] = {
            src: tuple(statistics.fmean(col) for col in zip(*rows, strict=True)) for src, rows in per_source.items()
        }
    return table


def judged(model: ScoringModel) -> dict[str, judged_bench.Scores]:
    """The matcher and BM25 on the judged real lots."""
    lots = judged_bench.judged_lots()
    with judged_bench.judged_index() as (index, keys):
        engine = Matcher(index, WordStatistics(), model, MatcherSettings().candidate_pool, 50)
        ours, baseline = [], []
        for lot in lots:
            ours.append(_matcher_answer(engine, lot, keys))
            baseline.append(_bm25_answer(index, lot, keys))
    return {
        f"matcher {model.version}": judged_bench.score(lots, ours),
        "bm25 in the nation": judged_bench.score(lots, baseline),
    }


def _matcher_answer(engine: Matcher, lot: judged_bench.JudgedLot, keys: Mapping[str, str]) -> judged_bench.Answer:
    entry = lot.parsed()
    if entry.lot is None:
        return judged_bench.Answer([])
    try:
        answer = engine.answer(engine.prepare(entry.lot, entry.place_source), K)
    except LotError:
        return judged_bench.Answer([])
    ranked = [keys[m.supplier.id] for m in answer.results]
    strong = frozenset(keys[m.supplier.id] for m in answer.results if m.fit == "strong")
    _, pool = recall_candidates(engine.index, engine.stats, answer.ctx, engine.pool, K)
    return judged_bench.Answer(ranked, strong, frozenset(keys[sup.id] for sup, _ in pool))


def _bm25_answer(index: SearchIndex, lot: judged_bench.JudgedLot, keys: Mapping[str, str]) -> judged_bench.Answer:
    """Plain BM25: every word of the lot's title and description its own query (so any word may
    match; the index alone ANDs words), scores summed, within the lot's nation."""
    entry = lot.parsed()
    text = f"{entry.lot.title} {entry.lot.description}" if entry.lot else lot.title
    scores: dict[str, float] = defaultdict(float)
    for word in dict.fromkeys(words(text)):
        query = SearchQuery(text=word, filters={"region": [lot.nation]}, limit=200)
        for hit in index.search(query).hits:
            scores[hit.id] += hit.score or 0.0
    return judged_bench.Answer([keys[i] for i in sorted(scores, key=lambda i: (-scores[i], i))[:K]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a saved model file (default: the shipped one)")
    parser.add_argument("--judged-only", action="store_true", help="skip the constructed benchmark")
    args = parser.parse_args()
    model = ScoringModel.load(args.model or DEFAULT_MODEL_FILE)
    print("Judged benchmark: 90 real lots, candidates judged blind (data/judged-benchmark)")
    print(judged_bench.table(judged(model)))
    if args.judged_only:
        return
    print("\nConstructed benchmark (data/benchmark: lots placed beside capable suppliers, judged by rules")
    print("that read the same codes and words the matcher reads; it flatters the matcher)")
    all_cases = cases()
    with sample_index() as index:
        table = evaluate(index, all_cases, {f"matcher {model.version}": matcher(model), "portal": portal, "bm25": bm25})
    counts = defaultdict(int, {"all": len(all_cases)})
    for case in all_cases:
        counts[case.source] += 1
    print(f"{'ranker':16} {'lots':>12} {'NDCG@10':>8} {'recall@10':>10} {'MRR@10':>7}")
    for name, per_source in table.items():
        for source, (n, r, m) in sorted(per_source.items()):
            print(f"{name:16} {source + f' ({counts[source]})':>12} {n:8.3f} {r:10.3f} {m:7.3f}")


if __name__ == "__main__":
    main()
