"""Which upcoming packages to place with social enterprises so that the forecast gap closes.

The choice is a covering problem: pick packages whose values add up to at least the gap, with the
best match quality. Quality is measured as value placed well: the objective minimises the value
placed with poorly matched suppliers, sum of (1 - match) x value, so a large package with a weak
match costs more than a small one with a strong match, and packages are never taken beyond need.
Solved by dynamic programming over covered value for up to MAX_EXACT packages, and greedily by
match quality beyond that. The DP counts value in units of at least £1, coarse enough to keep at
most MAX_UNITS states: package values are rounded down and the gap up, so a chosen set always
truly covers the gap; a set that covers it only by less than a unit per package may be missed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

MAX_EXACT = 60
MAX_UNITS = 20_000


@dataclass(frozen=True)
class SupplierFit:
    """How the matcher's best supplier for a package is shown to a person."""

    name: str
    distance_km: float | None
    reason: str
    fit: str | None = None  # strong / possible / weak, as the matcher grades every result


@dataclass(frozen=True)
class Package:
    """An upcoming package of work and the best social enterprise match the matcher found for it.

    `value_pence` is what counts against the gap: the share of the package's value that falls
    inside the target's period (all of it for a package delivered within the period)."""

    id: str
    value_pence: int
    match_score: float  # 0..1, the best supplier's score for this package
    supplier_id: str | None
    total_value_pence: int | None = None
    supplier: SupplierFit | None = None


@dataclass(frozen=True)
class Placement:
    package: Package
    closes_pence: int


@dataclass(frozen=True)
class Recommendation:
    placements: list[Placement]
    gap_pence: int
    covered_pence: int
    unsuitable: list[Package] = field(default_factory=list)
    """Packages no social enterprise in the directory fits (none found, or only a weak fit):
    recommending them would send work to a supplier that does not do it."""

    @property
    def closes_gap(self) -> bool:
        return self.covered_pence >= self.gap_pence


def suitable(package: Package) -> bool:
    """A package has a suitable social enterprise when the matcher found one that is more than a
    weak fit for it."""
    return package.supplier_id is not None and (package.supplier is None or package.supplier.fit != "weak")


def recommend(packages: Sequence[Package], gap_pence: int) -> Recommendation:
    usable = [p for p in packages if suitable(p) and p.value_pence > 0]
    unsuitable = [p for p in packages if not suitable(p)]
    if gap_pence <= 0 or not usable:
        return Recommendation([], max(gap_pence, 0), 0, unsuitable)
    if sum(p.value_pence for p in usable) <= gap_pence:
        chosen = usable  # even everything does not close it: place it all
    elif len(usable) <= MAX_EXACT:
        chosen = _exact(usable, gap_pence)
    else:
        chosen = _greedy(usable, gap_pence)
    return replace(_placements(chosen, gap_pence), unsuitable=unsuitable)


def _cost(p: Package) -> float:
    return (1.0 - p.match_score) * p.value_pence


def _exact(packages: list[Package], gap_pence: int) -> list[Package]:
    """Min-cost cover: best[j] is the cheapest way to cover j units (the last state means "all")."""
    unit = max(100, -(-gap_pence // MAX_UNITS))
    need = -(-gap_pence // unit)
    best = np.full(need + 1, np.inf)
    best[0] = 0.0
    took = np.zeros((len(packages), need + 1), dtype=bool)
    capped_from = np.zeros(len(packages), dtype=int)  # where the "all covered" state came from
    for i, package in enumerate(packages):
        units, cost = package.value_pence // unit, _cost(package)
        new = best.copy()
        if units < need:
            shifted = best[: need - units] + cost
            better = shifted < new[units:need]
            new[units:need][better] = shifted[better]
            took[i, units:need] = better
        low = max(0, need - units)
        source = low + int(np.argmin(best[low:]))
        if best[source] + cost < new[need]:
            new[need] = best[source] + cost
            took[i, need] = True
            capped_from[i] = source
        best = new
    return _backtrack(packages, took, capped_from, need, unit)


def _backtrack(packages: list[Package], took: np.ndarray, capped_from: np.ndarray, need: int,
               unit: int) -> list[Package]:
    chosen, state = [], need
    for i in range(len(packages) - 1, -1, -1):
        if took[i, state]:
            chosen.append(packages[i])
            state = int(capped_from[i]) if state == need else state - packages[i].value_pence // unit
    return chosen


def _greedy(packages: list[Package], gap_pence: int) -> list[Package]:
    chosen, covered = [], 0
    for package in sorted(packages, key=lambda p: (-p.match_score, -p.value_pence, p.id)):
        if covered >= gap_pence:
            break
        chosen.append(package)
        covered += package.value_pence
    return chosen


def _placements(chosen: list[Package], gap_pence: int) -> Recommendation:
    """Best matches first; each closes what is left of the gap, up to its value."""
    remaining, placements = gap_pence, []
    for package in sorted(chosen, key=lambda p: (-p.match_score, p.id)):
        closes = min(package.value_pence, max(remaining, 0))
        placements.append(Placement(package, closes))
        remaining -= closes
    covered = sum(p.closes_pence for p in placements)
    return Recommendation(placements, gap_pence, covered)
