"""Load synthetic listings into the embedded index and print query latencies.

    python -m bench.embedded_search_smoke [--docs 131000] [--queries 200] [--path /tmp/bench.db]

The target is p95 <= 20 ms per query at 131,000 listings on a 2-core machine for each kind below.
Text is Zipf-distributed over a fixed vocabulary so that common words match many documents, as
real descriptions do. The data is random, not real: it measures the SQL, not relevance.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from shared.models import IMPACT_AREAS
from shared.search.embedded import EmbeddedSearchIndex
from shared.search.port import Document, Near, SearchQuery
from shared.search.schema import LISTINGS_SCHEMA

REGIONS = [
    "London", "South East", "South West", "East of England", "West Midlands", "East Midlands",
    "Yorkshire and The Humber", "North West", "North East", "Wales", "Scotland", "Northern Ireland",
]  # fmt: skip
LEGAL_FORMS = ["cic", "charity", "cooperative", "company_limited_by_guarantee", "other"]
CERTIFICATIONS = ["social_enterprise_mark", "b_corp", "living_wage", "fair_tax", "iso_14001"]
SIZE_BANDS = ["micro", "small", "medium", "large"]
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ren",
    "tas",
    "vel",
    "dor",
    "pin",
    "sul",
    "bra",
    "ge",
    "tho",
    "nu",
    "fer",
    "lix",
    "ost",
    "qua",
    "rim",
    "zen",
    "hal",
]


def vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    words = {"".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) for _ in range(size * 2)}
    return sorted(words)[:size]


def synthetic_listing(rng: random.Random, i: int, vocab: list[str], cum_weights: list[float]) -> Document:
    words = rng.choices(vocab, cum_weights=cum_weights, k=rng.randint(15, 60))
    located = rng.random() < 0.95
    return {
        "id": f"bench:{i}",
        "name": " ".join(rng.choices(vocab, cum_weights=cum_weights, k=rng.randint(1, 4))).title(),
        "description": " ".join(words),
        "services": [" ".join(rng.choices(vocab[:300], k=2)) for _ in range(rng.randint(0, 4))],
        "cpv_codes": [f"{rng.randint(30, 98)}{rng.randint(0, 999999):06d}" for _ in range(rng.randint(0, 3))],
        "categories": rng.sample(vocab[:40], k=rng.randint(0, 3)),
        "impact_areas": rng.sample(IMPACT_AREAS, k=rng.randint(0, 3)),
        "certifications": rng.sample(CERTIFICATIONS, k=rng.randint(0, 2)),
        "legal_form": rng.choice(LEGAL_FORMS),
        "region": rng.choice(REGIONS),
        "size_band": rng.choice(SIZE_BANDS),
        "source": rng.choice(["coops", "ptc", "manual"]),
        "location": {"lat": rng.uniform(50.0, 58.5), "lon": rng.uniform(-5.5, 1.7)} if located else None,
        "updated_at": f"2025-01-{rng.randint(1, 28):02d}T12:00:00+00:00",
    }


def load(index: EmbeddedSearchIndex, count: int, rng: random.Random, vocab: list[str]) -> float:
    weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(vocab))))
    started = time.perf_counter()
    for start in range(0, count, 1000):
        batch = [synthetic_listing(rng, i, vocab, weights) for i in range(start, min(count, start + 1000))]
        result = index.bulk_upsert(batch)
        assert not result.failed, result.failed[:3]
    return time.perf_counter() - started


def query_kinds(rng: random.Random, vocab: list[str]) -> dict[str, Callable[[], SearchQuery]]:
    def point(radius: float | None) -> Near:
        return Near(rng.uniform(50.5, 58.0), rng.uniform(-5.0, 1.5), radius)

    def words(k: int) -> str:
        return " ".join(rng.choice(vocab[: rng.choice([20, 300, 3000])]) for _ in range(k))

    return {
        "text": lambda: SearchQuery(text=words(rng.randint(1, 2))),
        "text+radius": lambda: SearchQuery(text=words(1), near=point(50.0)),
        "filters+facets": lambda: SearchQuery(
            filters={"region": [rng.choice(REGIONS)], "impact_areas": [rng.choice(IMPACT_AREAS)]},
            facets=("categories", "impact_areas", "legal_form", "certifications", "size_band"),
        ),
        "distance-sort (50 km)": lambda: SearchQuery(near=point(50.0), sort="distance"),
        "distance-sort (no radius)": lambda: SearchQuery(near=point(None), sort="distance"),
        "everything+facets": lambda: SearchQuery(facets=("region", "legal_form", "impact_areas")),
        "text+filters+facets": lambda: SearchQuery(
            text=words(1), filters={"cpv": [str(rng.randint(30, 98))]}, facets=("region", "impact_areas")
        ),
    }


def measure(
    index: EmbeddedSearchIndex, make: Callable[[], SearchQuery], n: int
) -> tuple[float, float, float]:
    timings, totals = [], []
    for _ in range(n):
        query = make()
        started = time.perf_counter()
        totals.append(index.search(query).total)
        timings.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(timings, n=20)
    return statistics.median(timings), cuts[18], statistics.mean(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=131_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--path", default=str(Path(tempfile.mkdtemp()) / "bench.db"))
    args = parser.parse_args()
    rng = random.Random(7)
    vocab = vocabulary(rng)
    index = EmbeddedSearchIndex(args.path, LISTINGS_SCHEMA, prefix="bench-")
    index.ensure_index()
    if index.count() < args.docs:
        print(f"loaded {args.docs} listings in {load(index, args.docs, rng, vocab):.1f} s into {args.path}")
    print(f"{'query':28} {'p50 ms':>8} {'p95 ms':>8} {'mean total':>11}")
    for name, make in query_kinds(rng, vocab).items():
        p50, p95, total = measure(index, make, args.queries)
        print(f"{name:28} {p50:8.1f} {p95:8.1f} {total:11.0f}")
    index.close()


if __name__ == "__main__":
    main()
