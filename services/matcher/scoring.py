"""Re-ranking candidates for a lot: named features, hard filters and a versioned weighted model.

Each feature is a pure function of (lot context, candidate) returning a value in 0..1; its
docstring is the explanation `/algorithms` publishes, so it is written for buyers. The score is
the weighted sum of feature values, so every result can say how much each feature contributed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from services.matcher.places import Place
from services.matcher.supplier import Supplier
from services.matcher.text import cosine
from shared import cpv
from shared.models import Lot


@dataclass(frozen=True)
class LotContext:
    """What the features need about a lot, resolved once per request."""

    lot: Lot
    place: Place
    radius_km: float
    vector: Mapping[str, float] = field(default_factory=dict)
    """The lot's unit word vector (`text.query_vector`), set once the index is at hand."""

    @property
    def priorities(self) -> frozenset[str]:
        return frozenset(self.lot.social_value_priorities)


@dataclass(frozen=True)
class Candidate:
    """A supplier from the index, with its distance from the delivery point when both have one."""

    supplier: Supplier
    distance_km: float | None


Feature = Callable[[LotContext, Candidate], float]


def capability_text(ctx: LotContext, cand: Candidate) -> float:
    """How closely the supplier's name, description and services match the lot's title,
    description and CPV labels: cosine similarity of word vectors in which a word counts for more
    the rarer it is across the directory (0 to 1)."""
    return cosine(ctx.vector, cand.supplier.text)


_CPV_LEVEL_VALUE: dict[str, float] = {
    "subcategory": 0.9,
    "category": 0.8,
    "class": 0.6,
    "group": 0.4,
    "division": 0.2,
}


def cpv_overlap(ctx: LotContext, cand: Candidate) -> float:
    """How close the supplier's CPV codes come to the lot's: the same code 1, the same category
    0.8, class 0.6, group 0.4, division 0.2, otherwise 0 (the best pair counts)."""
    return max(
        (_cpv_pair_value(a, b) for a in ctx.lot.cpv_codes for b in cand.supplier.cpv_codes),
        default=0.0,
    )


@lru_cache(maxsize=65536)
def _cpv_pair_value(a: str, b: str) -> float:
    if a == b:
        return 1.0
    shared = cpv.shared_level(a, b)
    return _CPV_LEVEL_VALUE[shared] if shared else 0.0


def distance(ctx: LotContext, cand: Candidate) -> float:
    """Closeness to the delivery place: exp(-distance / (radius / 2)), so 1 on the doorstep and
    about 0.14 at the edge of the search radius. When either side has no point (a lot given only
    as a region, or a supplier without a location), 0.5 if the supplier is in the lot's region,
    else 0."""
    if cand.distance_km is not None:
        return math.exp(-cand.distance_km / (ctx.radius_km / 2))
    if ctx.place.national:
        return 0.5
    return 0.5 if ctx.place.region is not None and ctx.place.region == cand.supplier.region else 0.0


def service_area(ctx: LotContext, cand: Candidate) -> float:
    """Whether the supplier says it delivers here: 1 if its service area is national, names the
    lot's region or its radius reaches the place; 0 if it declares an area that does not; 0.5 if
    it declares none."""
    sup = cand.supplier
    if sup.national:
        return 1.0
    if not sup.declares_service_area:
        return 0.5
    if ctx.place.region is not None and ctx.place.region in sup.service_regions:
        return 1.0
    reach = sup.service_radius_km
    return 1.0 if reach is not None and cand.distance_km is not None and cand.distance_km <= reach else 0.0


def social_value(ctx: LotContext, cand: Candidate) -> float:
    """The share of the buyer's social-value priorities that the supplier's impact areas cover
    (0 to 1); 0 for everyone when the lot names no priorities, so it then changes no ranking."""
    if not ctx.priorities:
        return 0.0
    return len(ctx.priorities.intersection(cand.supplier.impact_areas)) / len(ctx.priorities)


FEATURES: dict[str, Feature] = {
    "capability_text": capability_text,
    "cpv_overlap": cpv_overlap,
    "distance": distance,
    "service_area": service_area,
    "social_value": social_value,
}


@dataclass(frozen=True)
class ScoringModel:
    """A named, versioned set of weights, one per feature; the score is their weighted sum."""

    version: str
    weights: Mapping[str, float]

    def __post_init__(self) -> None:
        if set(self.weights) != set(FEATURES):
            raise ValueError(
                f"model {self.version} has features {sorted(self.weights)}, the code has {sorted(FEATURES)}"
            )

    @classmethod
    def load(cls, path: Path) -> ScoringModel:
        """Read `{"version", "features", "weights"}`; refuses a file built for other features."""
        data = json.loads(path.read_text(encoding="utf-8"))
        if sorted(data["features"]) != sorted(FEATURES):
            raise ValueError(f"{path} was saved for features {data['features']}, not {sorted(FEATURES)}")
        return cls(version=str(data["version"]), weights={k: float(v) for k, v in data["weights"].items()})


# Why these weights (they sum to 1, so a score reads as a share of a perfect match):
# - capability text 0.35: "can they do this work?" is the buyer's first question, and every
#   listing has a description, so this is the densest signal;
# - CPV 0.25: precise when present, but many social enterprises list no CPV codes;
# - distance 0.20: social value is local and delivery costs rise with distance;
# - social value 0.15: the platform's purpose, but it ranks among capable suppliers, not above them;
# - service area 0.05: a tie-breaker; declarations are sparse and often out of date.
MODEL_V1 = ScoringModel(
    version="1.0.0",
    weights={
        "capability_text": 0.35,
        "cpv_overlap": 0.25,
        "distance": 0.20,
        "social_value": 0.15,
        "service_area": 0.05,
    },
)


def passes_hard_filters(lot: Lot, sup: Supplier) -> bool:
    """Required certifications (all of them, case-insensitive) and legal forms (any of them) are
    conditions of the tender, not preferences: a supplier without them is not shown at all."""
    if any(c.casefold() not in sup.certifications for c in lot.required_certifications):
        return False
    return not lot.required_legal_forms or sup.legal_form in {f.value for f in lot.required_legal_forms}


@dataclass(frozen=True)
class FeatureScore:
    value: float
    weight: float
    contribution: float


@dataclass(frozen=True)
class Match:
    supplier: Supplier
    score: float
    distance_km: float | None
    features: dict[str, FeatureScore]
    reason: str


def rank(
    ctx: LotContext, pool: Sequence[tuple[Supplier, float | None]], model: ScoringModel, limit: int
) -> list[Match]:
    """Hard-filter the pool, score what is left and explain the best `limit`, ties by supplier id.

    Every candidate gets every feature; only the ones returned get the per-feature breakdown and
    the reason, which cost more than the scoring itself.
    """
    weights = [model.weights[name] for name in FEATURES]
    scored = []
    for sup, km in pool:
        if passes_hard_filters(ctx.lot, sup):
            cand = Candidate(sup, km)
            values = [feature(ctx, cand) for feature in FEATURES.values()]
            total = round(sum(v * w for v, w in zip(values, weights, strict=True)), 4)
            scored.append((-total, sup.id, cand, values))
    scored.sort(key=lambda row: (row[0], row[1]))
    return [_explain(ctx, cand, values, weights, -neg) for neg, _, cand, values in scored[:limit]]


def _explain(ctx: LotContext, cand: Candidate, values: list[float], weights: list[float], total: float) -> Match:
    features = {
        name: FeatureScore(round(value, 4), weight, round(value * weight, 4))
        for name, value, weight in zip(FEATURES, values, weights, strict=True)
    }
    return Match(cand.supplier, total, cand.distance_km, features, reason(ctx, cand))


def reason(ctx: LotContext, cand: Candidate) -> str:
    """One readable line: where the supplier is, what it does that fits, what impact it brings."""
    parts = [_where(ctx, cand), _what(ctx, cand), _impact(ctx, cand)]
    return "; ".join(p for p in parts if p)


def _where(ctx: LotContext, cand: Candidate) -> str:
    if cand.distance_km is not None:
        return f"{cand.distance_km:.1f} km away"
    return f"based in {cand.supplier.region}" if cand.supplier.region else "location not given"


def _what(ctx: LotContext, cand: Candidate) -> str:
    best = max(
        ((b, _cpv_pair_value(a, b)) for a in ctx.lot.cpv_codes for b in cand.supplier.cpv_codes),
        key=lambda pair: pair[1],
        default=None,
    )
    if best and best[1] > 0:
        code = best[0]
        return f"delivers {(cpv.label(code) or 'work').lower()} (CPV {code})"
    if cand.supplier.services:
        return f"offers {', '.join(cand.supplier.services[:2])}"
    return ""


def _impact(ctx: LotContext, cand: Candidate) -> str:
    areas = cand.supplier.impact_areas
    if not areas:
        return ""
    line = "impact: " + ", ".join(a.replace("_", " ") for a in areas[:3])
    matched = [p for p in ctx.lot.social_value_priorities if p in areas]
    if matched:
        line += ", matching your " + ", ".join(f"'{p.replace('_', ' ')}'" for p in matched) + " priority"
        line += "s" if len(matched) > 1 else ""
    return line
