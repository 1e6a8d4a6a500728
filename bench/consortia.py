"""Consortium search at 131,000 listings on the embedded backend: p95 per request, 3 and 5 requirements, k = 3.

    python -m bench.consortia [--docs 131000] [--db var/bench/match.db] [--requests 60]

Reuses the matcher benchmark's index (`bench.match.load`) and lot texts: each request takes its
requirements from 3 or 5 different benchmark lots (their titles and CPV codes), delivered to a
real postcode district drawn by population, radius 20 to 50 km. Requests go through Flask's test
client one at a time, after one untimed pass that warms the process's word statistics.

Target (issue 7): p95 <= 200 ms for both sizes with k = 3.
"""

from __future__ import annotations

import argparse
import random
from typing import Any

from bench.lots import all_lots
from bench.match import load
from bench.synthetic import postcode_districts
from bench.timing import latency_summary, post_each
from services.matcher.app import create_app


def requests_for(size: int, count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed + size)
    districts, texts = postcode_districts(), [t for t in all_lots() if t.cpv_codes]
    weights = [d[4] for d in districts]
    out = []
    for _ in range(count):
        parts = rng.sample(texts, size)
        out.append({
            "lot": {"title": " / ".join(p.title[:60] for p in parts), "postcode": rng.choices(districts, weights)[0][0],
                    "radius_km": rng.choice([20, 30, 40, 50]), "value_pence": 50_000_000},
            "requirements": [{"id": f"r{i}", "label": p.title[:300], "cpv_codes": list(p.cpv_codes[:2])}
                             for i, p in enumerate(parts)],
            "max_members": 3,
        })
    return out


def measure(url: str, bodies: list[dict[str, Any]]) -> tuple[list[float], list[float]]:
    client = create_app({"search_url": url}).test_client()
    for body in bodies:  # warm-up: the words' index statistics, as in a running service
        client.post("/consortia", json=body)
    return post_each(client, "/consortia", bodies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=131_000)
    parser.add_argument("--db", default="var/bench/match.db")
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    url = f"sqlite:///{args.db}"
    load(url, args.docs)
    for size in (3, 5):
        wall, cpu = measure(url, requests_for(size, args.requests))
        print(latency_summary(f"{size} requirements, k=3", wall, cpu))


if __name__ == "__main__":
    main()
