"""Consortium search: small groups of local suppliers that together cover every part of a lot.

Pure functions, no web or index imports: the caller scores each candidate against each
requirement (with the same features as `/match`) and hands over the best few per requirement.

Method. A consortium is a set of at most `k` members; each requirement is assigned to the member
that matches it best, and a requirement counts as covered when that match reaches `min_match`.
Proposals are ranked by coverage first (a consortium that covers more of the lot always ranks
higher: a buyer cannot award a lot that is not covered), then by a blend of
- quality: the mean match of the assigned member over the covered requirements,
- cohesion: how close members are to each other (they must work together),
- proximity: how close members are to the delivery place,
- capacity: how the members' combined size compares with the lot's value,
and fewer members break remaining ties (less coordination).

Search. For k <= EXACT_MAX_K the search is exact over the pool: every subset of at most k of the
pooled candidates (the best `per_requirement` per requirement) whose members each cover
something. With 5 requirements, 6 candidates each and k = 3 that is at most ~4,500 subsets.
Beyond that, a beam search adds one member at a time, keeping the `beam_width` best partial
consortia: it is bounded (k x beam x pool evaluations) but can miss the optimum when a good
consortium needs a member that looks weak on its own.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from shared.geo import distance_km

EXACT_MAX_K = 3
SIZE_CAPACITY_PENCE = {  # rough annual contract value a member of each size band can carry
    "micro": 10_000_000,  # £100k
    "small": 100_000_000,  # £1m
    "medium": 1_000_000_000,  # £10m
    "large": 10_000_000_000,  # £100m
}
WEIGHTS = {"quality": 0.55, "cohesion": 0.15, "proximity": 0.2, "capacity": 0.1}


@dataclass(frozen=True)
class Requirement:
    id: str
    label: str


@dataclass(frozen=True)
class Candidate:
    """A supplier and how well it matches each requirement (0..1), as scored by the matcher."""

    listing_id: str
    name: str
    scores: dict[str, float]
    location: tuple[float, float] | None
    size_band: str | None = None


@dataclass(frozen=True)
class SearchSettings:
    max_members: int = 3
    proposals: int = 5
    min_match: float = 0.3
    per_requirement: int = 6
    beam_width: int = 40
    cohesion_km: float = 30.0
    proximity_km: float = 30.0


@dataclass(frozen=True)
class Proposal:
    members: tuple[Candidate, ...]
    assignment: dict[str, str]  # requirement id -> listing id
    uncovered: tuple[str, ...]
    coverage: float
    parts: dict[str, float]
    score: float

    @property
    def rank_key(self) -> tuple[float, float, int]:
        return (self.coverage, self.score, -len(self.members))


@dataclass
class _Problem:
    requirements: Sequence[Requirement]
    place: tuple[float, float] | None
    lot_value_pence: int | None
    settings: SearchSettings
    pool: list[Candidate] = field(default_factory=list)
    _distances: dict[tuple[str, str], float] = field(default_factory=dict)

    def distance(self, a: Candidate, b: Candidate | None) -> float | None:
        """Great-circle km between two members (or a member and the place), computed once per pair."""
        other = b.location if b is not None else self.place
        if a.location is None or other is None:
            return None
        key = (a.listing_id, b.listing_id if b is not None else "")
        if key not in self._distances:
            self._distances[key] = distance_km(a.location, other)
        return self._distances[key]


def uncoverable(requirements: Sequence[Requirement], candidates: Iterable[Candidate], min_match: float) -> list[str]:
    """Requirements that no candidate matches well enough: no consortium can cover them."""
    pool = list(candidates)
    return [r.id for r in requirements if not any(c.scores.get(r.id, 0.0) >= min_match for c in pool)]


def propose(
    requirements: Sequence[Requirement],
    candidates: Iterable[Candidate],
    place: tuple[float, float] | None,
    lot_value_pence: int | None = None,
    settings: SearchSettings | None = None,
) -> list[Proposal]:
    """The best `settings.proposals` consortia, best first (see the module docstring)."""
    settings = settings or SearchSettings()
    problem = _Problem(requirements, place, lot_value_pence, settings)
    problem.pool = _pool(requirements, list(candidates), settings)
    if not problem.pool:
        return []
    found = _exact(problem) if settings.max_members <= EXACT_MAX_K else _beam(problem)
    found.sort(key=lambda p: p.rank_key, reverse=True)
    return found[: settings.proposals]


def _pool(requirements: Sequence[Requirement], candidates: list[Candidate], s: SearchSettings) -> list[Candidate]:
    """The best few candidates per requirement that match it at all, without repeats."""
    chosen: dict[str, Candidate] = {}
    for req in requirements:
        good = [c for c in candidates if c.scores.get(req.id, 0.0) >= s.min_match]
        good.sort(key=lambda c: (-c.scores[req.id], c.listing_id))
        for candidate in good[: s.per_requirement]:
            chosen.setdefault(candidate.listing_id, candidate)
    return sorted(chosen.values(), key=lambda c: c.listing_id)


def _exact(problem: _Problem) -> list[Proposal]:
    """Score every subset of at most k pooled candidates at once with numpy, then build the best few.

    The arithmetic mirrors `evaluate`, which turns the winners into proposals (and so remains the
    single definition of a proposal's score).
    """
    s, pool = problem.settings, problem.pool
    scores = np.array([[c.scores.get(r.id, 0.0) for r in problem.requirements] for c in pool])
    scores = np.where(scores >= s.min_match, scores, 0.0)
    pairwise, to_place = _distance_arrays(problem)
    capacity = np.array([SIZE_CAPACITY_PENCE.get(c.size_band or "", np.nan) for c in pool], dtype=float)
    ranked: list[tuple[float, float, int, tuple[int, ...]]] = []
    for size in range(1, min(s.max_members, len(pool)) + 1):
        combos = np.array(list(itertools.combinations(range(len(pool)), size)))
        sub = scores[combos]  # (subsets, members, requirements)
        best, winner = sub.max(axis=1), sub.argmax(axis=1)
        covered = best > 0
        useful = np.all([np.any((winner == j) & covered, axis=1) for j in range(size)], axis=0)
        n_covered = covered.sum(axis=1)
        quality = np.divide(best.sum(axis=1), n_covered, out=np.zeros(len(combos)), where=n_covered > 0)
        score = (WEIGHTS["quality"] * quality
                 + WEIGHTS["cohesion"] * _cohesion_array(combos, pairwise, s.cohesion_km)
                 + WEIGHTS["proximity"] * _proximity_array(combos, to_place, s.proximity_km)
                 + WEIGHTS["capacity"] * _capacity_array(combos, capacity, problem.lot_value_pence))
        for t in np.flatnonzero(useful):
            ranked.append((float(n_covered[t]), float(score[t]), -size, tuple(int(i) for i in combos[t])))
    ranked.sort(reverse=True)
    top = ranked[: s.proposals * 4]
    return [p for _, _, _, idx in top if (p := evaluate(problem, [pool[i] for i in idx])) is not None]


def _distance_arrays(problem: _Problem) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise member distances and distances to the place, NaN where a location is unknown."""
    n = len(problem.pool)
    pairwise = np.full((n, n), np.nan)
    to_place = np.full(n, np.nan)
    for i, a in enumerate(problem.pool):
        if (d := problem.distance(a, None)) is not None:
            to_place[i] = d
        for j in range(i + 1, n):
            if (d := problem.distance(a, problem.pool[j])) is not None:
                pairwise[i, j] = pairwise[j, i] = d
    return pairwise, to_place


def _capacity_array(combos: np.ndarray, capacity: np.ndarray, lot_value_pence: int | None) -> np.ndarray:
    if not lot_value_pence:
        return np.ones(len(combos))
    caps = capacity[combos]
    known = ~np.isnan(caps)
    fit = np.minimum(1.0, np.nansum(caps, axis=1) / lot_value_pence)
    return np.where(known.any(axis=1), fit, 0.5)


def _cohesion_array(combos: np.ndarray, pairwise: np.ndarray, scale_km: float) -> np.ndarray:
    size = combos.shape[1]
    if size == 1:
        return np.ones(len(combos))
    pairs = list(itertools.combinations(range(size), 2))
    dists = np.stack([pairwise[combos[:, a], combos[:, b]] for a, b in pairs], axis=1)
    known = ~np.isnan(dists)
    mean = np.divide(np.nansum(dists, axis=1), known.sum(axis=1), out=np.zeros(len(combos)),
                     where=known.any(axis=1))
    return np.where(known.any(axis=1), np.exp(-mean / scale_km), 0.5)


def _proximity_array(combos: np.ndarray, to_place: np.ndarray, scale_km: float) -> np.ndarray:
    dists = to_place[combos]
    known = ~np.isnan(dists)
    mean = np.divide(np.nansum(dists, axis=1), known.sum(axis=1), out=np.zeros(len(combos)),
                     where=known.any(axis=1))
    return np.where(known.any(axis=1), np.exp(-mean / scale_km), 0.5)


def _beam(problem: _Problem) -> list[Proposal]:
    beam: list[tuple[Candidate, ...]] = [()]
    seen: dict[frozenset[str], Proposal] = {}
    for _ in range(problem.settings.max_members):
        grown: list[Proposal] = []
        for members in beam:
            have = {m.listing_id for m in members}
            for candidate in problem.pool:
                if candidate.listing_id in have:
                    continue
                key = frozenset(have | {candidate.listing_id})
                if key in seen:
                    continue
                proposal = evaluate(problem, (*members, candidate))
                if proposal is not None:
                    seen[key] = proposal
                    grown.append(proposal)
        if not grown:
            break
        grown.sort(key=lambda p: p.rank_key, reverse=True)
        beam = [p.members for p in grown[: problem.settings.beam_width]]
    return list(seen.values())


def evaluate(problem: _Problem, members: Sequence[Candidate]) -> Proposal | None:
    """Score one set of members; None when a member covers nothing (it would add only cost)."""
    s = problem.settings
    assignment: dict[str, str] = {}
    best: dict[str, float] = {}
    for req in problem.requirements:
        top = max(members, key=lambda m: m.scores.get(req.id, 0.0))  # ties: the first in pool order
        if top.scores.get(req.id, 0.0) >= s.min_match:
            assignment[req.id] = top.listing_id
            best[req.id] = top.scores[req.id]
    if {m.listing_id for m in members} - set(assignment.values()):
        return None
    uncovered = tuple(r.id for r in problem.requirements if r.id not in assignment)
    coverage = len(assignment) / len(problem.requirements)
    parts = {
        "quality": sum(best.values()) / len(best) if best else 0.0,
        "cohesion": _cohesion(problem, members),
        "proximity": _proximity(problem, members),
        "capacity": _capacity(members, problem.lot_value_pence),
    }
    score = sum(WEIGHTS[name] * value for name, value in parts.items())
    return Proposal(tuple(members), assignment, uncovered, coverage, parts, round(score, 6))


def _cohesion(problem: _Problem, members: Sequence[Candidate]) -> float:
    """1 for one member or members in one place, decaying with their mean pairwise distance."""
    known = [d for a, b in itertools.combinations(members, 2) if (d := problem.distance(a, b)) is not None]
    if not known:
        return 1.0 if len(members) == 1 else 0.5
    return math.exp(-(sum(known) / len(known)) / problem.settings.cohesion_km)


def _proximity(problem: _Problem, members: Sequence[Candidate]) -> float:
    """Decays with the members' mean distance to the delivery place; 0.5 when it is unknown."""
    known = [d for m in members if (d := problem.distance(m, None)) is not None]
    if not known:
        return 0.5
    return math.exp(-(sum(known) / len(known)) / problem.settings.proximity_km)


def _capacity(members: Sequence[Candidate], lot_value_pence: int | None) -> float:
    """1 when the members together can carry the lot's value; less as the lot outgrows them."""
    if not lot_value_pence:
        return 1.0
    known = [SIZE_CAPACITY_PENCE[m.size_band] for m in members if m.size_band in SIZE_CAPACITY_PENCE]
    if not known:
        return 0.5
    return min(1.0, sum(known) / lot_value_pence)
