"""Consortium search on constructed cases whose best answer is known."""

from __future__ import annotations

import random

from services.matcher.consortia import Candidate, Requirement, SearchSettings, propose, uncoverable

LEEDS = (53.7997, -1.5492)
BRADFORD = (53.7950, -1.7594)
YORK = (53.9590, -1.0815)
LONDON = (51.5072, -0.1276)
REQS = [Requirement("clean", "cleaning"), Requirement("garden", "grounds maintenance"),
        Requirement("cater", "catering")]


def cand(id: str, at: tuple[float, float] | None, size: str | None = "small", **scores: float) -> Candidate:
    return Candidate(id, id.title(), scores, at, size)


def test_one_supplier_per_requirement_forms_the_best_local_consortium() -> None:
    pool = [cand("cleanco", LEEDS, clean=0.9), cand("gardenco", BRADFORD, garden=0.8),
            cand("caterco", LEEDS, cater=0.85), cand("farclean", LONDON, clean=0.95)]
    best = propose(REQS, pool, LEEDS)[0]
    assert best.coverage == 1.0 and best.uncovered == ()
    assert best.assignment == {"clean": "cleanco", "garden": "gardenco", "cater": "caterco"}


def test_a_member_covering_two_parts_beats_two_members_when_as_good() -> None:
    pool = [cand("both", LEEDS, clean=0.8, garden=0.8), cand("cleanco", LEEDS, clean=0.8),
            cand("gardenco", LEEDS, garden=0.8), cand("caterco", LEEDS, cater=0.8)]
    best = propose(REQS, pool, LEEDS)[0]
    assert {m.listing_id for m in best.members} == {"both", "caterco"}


def test_no_full_cover_names_what_no_local_supplier_covers() -> None:
    pool = [cand("cleanco", LEEDS, clean=0.9), cand("gardenco", LEEDS, garden=0.7),
            cand("weakcater", LEEDS, cater=0.1)]
    assert uncoverable(REQS, pool, min_match=0.3) == ["cater"]
    best = propose(REQS, pool, LEEDS)[0]
    assert best.uncovered == ("cater",) and best.coverage == 2 / 3


def test_the_nearest_suppliers_are_not_the_best_cover() -> None:
    # Near the delivery place, two suppliers cover one part each and nobody covers catering;
    # in York (40 km) one supplier covers two parts and a neighbour covers the third.
    pool = [cand("nearclean", LEEDS, clean=0.6), cand("neargarden", LEEDS, garden=0.6),
            cand("yorkboth", YORK, garden=0.9, cater=0.9), cand("yorkclean", YORK, clean=0.9)]
    best = propose(REQS, pool, LEEDS)[0]
    assert best.coverage == 1.0
    assert {m.listing_id for m in best.members} == {"yorkboth", "yorkclean"}


def test_capacity_prefers_members_who_can_carry_a_large_lot() -> None:
    pool = [cand("microclean", LEEDS, "micro", clean=0.8), cand("bigclean", LEEDS, "medium", clean=0.8)]
    best = propose(REQS[:1], pool, LEEDS, lot_value_pence=500_000_000)[0]
    assert best.members[0].listing_id == "bigclean"


def test_k_limits_members_and_beam_search_handles_larger_k() -> None:
    reqs = [Requirement(f"r{i}", f"part {i}") for i in range(5)]
    pool = [cand(f"s{i}", LEEDS, **{f"r{i}": 0.9}) for i in range(5)]
    assert propose(reqs, pool, LEEDS, settings=SearchSettings(max_members=3))[0].coverage == 3 / 5
    full = propose(reqs, pool, LEEDS, settings=SearchSettings(max_members=5))[0]
    assert full.coverage == 1.0 and len(full.members) == 5


def test_proposals_respect_k_and_come_best_first() -> None:
    rng = random.Random(7)
    reqs = [Requirement(f"r{i}", f"part {i}") for i in range(5)]
    pool = [cand(f"s{n}", (53.8 + rng.uniform(-0.3, 0.3), -1.55 + rng.uniform(-0.5, 0.5)),
                 **{r.id: rng.random() for r in rng.sample(reqs, 2)}) for n in range(60)]
    proposals = propose(reqs, pool, LEEDS)
    assert 0 < len(proposals) <= 5
    assert all(len(p.members) <= 3 for p in proposals)
    assert [p.rank_key for p in proposals] == sorted((p.rank_key for p in proposals), reverse=True)


def test_vectorised_exact_search_agrees_with_scoring_every_subset_one_by_one() -> None:
    import itertools

    from services.matcher.consortia import _pool, _Problem, evaluate

    rng = random.Random(11)
    reqs = [Requirement(f"r{i}", f"part {i}") for i in range(4)]
    pool = [cand(f"s{n}", None if n % 7 == 0 else (53.8 + rng.uniform(-0.3, 0.3), -1.55 + rng.uniform(-0.5, 0.5)),
                 rng.choice(["micro", "small", None]), **{r.id: rng.random() for r in rng.sample(reqs, 2)})
            for n in range(25)]
    settings = SearchSettings(proposals=5)
    problem = _Problem(reqs, LEEDS, 300_000_000, settings)
    problem.pool = _pool(reqs, pool, settings)
    brute = [p for k in (1, 2, 3) for c in itertools.combinations(problem.pool, k) if (p := evaluate(problem, c))]
    brute.sort(key=lambda p: p.rank_key, reverse=True)
    fast = propose(reqs, pool, LEEDS, 300_000_000, settings)
    assert [p.assignment for p in fast] == [p.assignment for p in brute[:5]]
