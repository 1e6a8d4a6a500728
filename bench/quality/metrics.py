"""Ranking metrics over graded judgements (grades 0 to 4; 2 and above count as relevant)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

RELEVANT = 2


def ndcg(ranked: Sequence[str], grades: Mapping[str, int], k: int = 10) -> float:
    """Normalised DCG at k with gains 2^grade - 1 and log2 discounts (Järvelin & Kekäläinen)."""
    ideal = _dcg(sorted(grades.values(), reverse=True)[:k])
    return _dcg([grades.get(i, 0) for i in ranked[:k]]) / ideal if ideal else 0.0


def _dcg(gains: Sequence[int]) -> float:
    return sum((2**g - 1) / math.log2(rank + 2) for rank, g in enumerate(gains))


def recall(ranked: Sequence[str], grades: Mapping[str, int], k: int = 10) -> float:
    """Share of the relevant listings in the top k, out of at most k (so 1.0 is reachable when a
    lot has more relevant listings than fit on the page)."""
    relevant = {i for i, g in grades.items() if g >= RELEVANT}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / min(k, len(relevant))


def reciprocal_rank(ranked: Sequence[str], grades: Mapping[str, int], k: int = 10) -> float:
    """1 / rank of the first relevant listing in the top k, else 0."""
    for rank, listing_id in enumerate(ranked[:k], start=1):
        if grades.get(listing_id, 0) >= RELEVANT:
            return 1 / rank
    return 0.0
