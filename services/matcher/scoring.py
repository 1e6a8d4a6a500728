"""Re-ranking candidates for a lot: every feature, combined by the model, explained for buyers.

The score is the weighted sum of feature values, so every result can say how much each feature
contributed; the reason line says the same in words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from services.matcher.features import (
    CAPABILITY_FEATURES,
    FEATURES,
    Candidate,
    LotContext,
    cpv_pair_value,
    passes_hard_filters,
)
from services.matcher.model import FitLevel, ScoringModel
from services.matcher.supplier import Supplier
from shared import cpv


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
    fit: FitLevel = "weak"
    near: bool = True
    """Within the lot's radius (or remote work, or no distance known); beyond it when recall
    looked further than a radius the buyer did not set."""
    shows_work: bool = True
    """Whether its words or codes show any sign of the lot's work (`FitThresholds.shows_work`)."""


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
            cand, values = _values(ctx, Candidate(sup, km), model)
            total = round(sum(v * w for v, w in zip(values, weights, strict=True)), 4)
            scored.append((-total, sup.id, cand, values))
    scored.sort(key=lambda row: (row[0], row[1]))
    return [_explain(ctx, cand, values, weights, -neg, model) for neg, _, cand, values in scored[:limit]]


def _values(ctx: LotContext, cand: Candidate, model: ScoringModel) -> tuple[Candidate, list[float]]:
    """Every feature's value, the capability features first: the others count only for a
    supplier that shows some sign of the work (`features.CAPABILITY_FEATURES`)."""
    found = {name: FEATURES[name](ctx, cand) for name in CAPABILITY_FEATURES}
    shows = model.fit.shows_work(found["capability_text"], found["cpv_overlap"])
    cand = replace(cand, shows_work=shows)
    for name, feature in FEATURES.items():
        if name not in found:
            found[name] = feature(ctx, cand) if shows else 0.0
    return cand, [found[name] for name in FEATURES]


def _explain(
    ctx: LotContext, cand: Candidate, values: list[float], weights: list[float], total: float, model: ScoringModel
) -> Match:
    features = {
        name: FeatureScore(round(value, 4), weight, round(value * weight, 4))
        for name, value, weight in zip(FEATURES, values, weights, strict=True)
    }
    near = is_near(ctx, cand)
    values_by_name = dict(zip(FEATURES, values, strict=True))
    fit = model.fit.level(total, values_by_name["capability_text"], values_by_name["cpv_overlap"], near)
    return Match(cand.supplier, total, cand.distance_km, features, reason(ctx, cand), fit, near, cand.shows_work)


def is_near(ctx: LotContext, cand: Candidate) -> bool:
    """Within the lot's radius, or in its region when either side has no point (text recall reads
    a region's lot UK-wide, so a supplier beyond the border is never called near); remote work is
    near from anywhere, and a supplier whose place is unknown is not held against it."""
    if ctx.remote:
        return True
    if cand.distance_km is not None:
        return cand.distance_km <= ctx.radius_km
    place = ctx.place
    if place.national or place.region is None or cand.supplier.region is None:
        return True
    return place.covers_region(cand.supplier.region)


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
        ((b, cpv_pair_value(a, b)) for a in ctx.lot.cpv_codes for b in cand.supplier.cpv_codes),
        key=lambda pair: pair[1],
        default=None,
    )
    if best and best[1] > 0:
        code = best[0]
        source = ", inferred from its register classification" if cand.supplier.cpv_inferred else ""
        return f"delivers {(cpv.label(code) or 'work').lower()} (CPV {code}{source})"
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
