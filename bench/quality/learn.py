"""Learn the matcher's feature weights on the relevance benchmark and save the shipped model.

    python -m bench.quality.learn [--save]   # prints cross-validated NDCG@10; --save writes model.json

Pairwise least squares (RankRLS-style): for pairs of candidates of the same lot with different
grades, find non-negative weights w with w . (x_better - x_worse) ~ 1. Non-negative, so that every
contribution a buyer sees reads "this helped"; normalised to sum to 1, so a score reads as a share
of a perfect match. Candidates are what the matcher's own recall returns for each lot, so the
weights are learned on the pools they will re-rank. Five-fold cross-validation by lot says how
well weights learned on some lots rank others; the saved model is fitted on all lots.

`size_fit` cannot be learned here (the shipped directory states no sizes, so it is 1 everywhere)
and keeps a weight set by hand, `SIZE_FIT_WEIGHT`.
"""

from __future__ import annotations

import argparse
import random
import statistics
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GroupKFold

from bench.match_quality import Case, K, cases, sample_index
from bench.quality.metrics import ndcg
from services.matcher.config import MatcherSettings
from services.matcher.features import FEATURES, Candidate, passes_hard_filters
from services.matcher.matching import prepare, recall
from services.matcher.model import DEFAULT_MODEL_FILE, ScoringModel
from services.matcher.text import WordStatistics

PAIRS_PER_LOT = 400
SIZE_FIT_WEIGHT = 0.05
FOLDS = 5
Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Pool:
    """One lot's candidates: feature values (rows in FEATURES order), ids and grades."""

    x: Matrix
    ids: list[str]
    grades: dict[str, int]

    def ranked(self, weights: Matrix) -> list[str]:
        scores = self.x @ weights
        return [self.ids[i] for i in sorted(range(len(self.ids)), key=lambda i: (-round(scores[i], 4), self.ids[i]))]


def pools(all_cases: list[Case]) -> list[Pool]:
    out = []
    stats, size = WordStatistics(), MatcherSettings().candidate_pool
    with sample_index() as index:
        for case in all_cases:
            ctx, found = recall(index, stats, prepare(case.lot, 50), size, K)
            kept = [Candidate(s, km) for s, km in found if passes_hard_filters(ctx.lot, s)]
            x = np.array([[f(ctx, c) for f in FEATURES.values()] for c in kept], dtype=np.float64).reshape(
                -1, len(FEATURES)
            )
            out.append(Pool(x, [c.supplier.id for c in kept], dict(case.grades)))
    return out


def fit(train: list[Pool], seed: int = 5) -> Matrix:
    """Non-negative pairwise weights over the learnable features, scaled to leave `size_fit` its share."""
    rng = random.Random(seed)
    diffs = []
    for pool in train:
        graded = [(pool.grades.get(i, 0), n) for n, i in enumerate(pool.ids)]
        pairs = [(a, b) for ga, a in graded for gb, b in graded if ga > gb]
        for a, b in rng.sample(pairs, min(PAIRS_PER_LOT, len(pairs))):
            diffs.append(pool.x[a] - pool.x[b])
    learned = LinearRegression(positive=True, fit_intercept=False).fit(np.array(diffs), np.ones(len(diffs))).coef_
    size = list(FEATURES).index("size_fit")
    learned[size] = 0.0
    weights = learned / learned.sum() * (1 - SIZE_FIT_WEIGHT)
    weights[size] = SIZE_FIT_WEIGHT
    return np.asarray(weights, dtype=np.float64)


def mean_ndcg(test: list[Pool], weights: Matrix) -> float:
    return statistics.fmean(ndcg(p.ranked(weights), p.grades, K) for p in test)


def cross_validate(all_pools: list[Pool], baseline: Matrix) -> tuple[float, float]:
    """Mean NDCG@10 on held-out lots: weights learned on the other folds, and `baseline`."""
    learned, fixed = [], []
    for train_idx, test_idx in GroupKFold(FOLDS).split(all_pools, groups=range(len(all_pools))):
        train, test = [all_pools[i] for i in train_idx], [all_pools[i] for i in test_idx]
        learned.append(mean_ndcg(test, fit(train)))
        fixed.append(mean_ndcg(test, baseline))
    return statistics.fmean(learned), statistics.fmean(fixed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", action="store_true", help=f"write {DEFAULT_MODEL_FILE}")
    parser.add_argument("--version", default="2.0.0")
    args = parser.parse_args()
    current = ScoringModel.load(DEFAULT_MODEL_FILE)
    baseline = np.array([current.weights[name] for name in FEATURES])
    all_pools = pools(cases())
    cv_learned, cv_current = cross_validate(all_pools, baseline)
    weights = fit(all_pools)
    print(
        f"NDCG@10 on held-out lots ({FOLDS}-fold): learned {cv_learned:.3f}, model {current.version} {cv_current:.3f}"
    )
    print("weights fitted on all lots:", {n: round(float(w), 3) for n, w in zip(FEATURES, weights, strict=True)})
    if args.save:
        model = ScoringModel(args.version, {n: round(float(w), 3) for n, w in zip(FEATURES, weights, strict=True)})
        notes = {
            "method": "pairwise least squares, non-negative, on the benchmark: python -m bench.quality.learn",
            "cv_ndcg_at_10": round(cv_learned, 3),
            "size_fit": f"set by hand to {SIZE_FIT_WEIGHT}: the benchmark directory states no sizes",
        }
        model.save(DEFAULT_MODEL_FILE, notes)
        print(f"saved {DEFAULT_MODEL_FILE}")


if __name__ == "__main__":
    main()
