"""One lot, start to finish: check and locate it, recall candidates, re-rank. No web imports."""

from __future__ import annotations

from dataclasses import replace

from services.matcher.candidates import fetch_candidates
from services.matcher.features import LotContext
from services.matcher.model import ScoringModel
from services.matcher.places import LotError, resolve_place
from services.matcher.scoring import Match, rank
from services.matcher.supplier import Supplier
from services.matcher.text import LotWords, WordStatistics, query_vector
from shared.models import IMPACT_AREAS, Lot
from shared.search.port import SearchIndex


def prepare(lot: Lot, default_radius_km: float) -> LotContext:
    """Validate what the Lot model cannot (place, priorities) and resolve the lot for scoring.

    Raises LotError naming the field, so OCDS callers can map it back to a JSON path.
    """
    lot = lot.model_copy(update={"social_value_priorities": _priorities(lot.social_value_priorities)})
    lot, place = resolve_place(lot)
    # Only a radius the buyer sent overrides the service's default; the model's own default does not.
    radius = lot.radius_km if "radius_km" in lot.model_fields_set else default_radius_km
    return LotContext(lot=lot.model_copy(update={"radius_km": radius}), place=place, radius_km=radius)


def _priorities(raw: list[str]) -> list[str]:
    """Priorities in the listings' vocabulary ("Health and wellbeing" -> health_and_wellbeing)."""
    out = []
    for i, value in enumerate(raw):
        key = "_".join(value.lower().replace("-", " ").split())
        if key not in IMPACT_AREAS:
            known = ", ".join(IMPACT_AREAS)
            raise LotError(f"social_value_priorities.{i}", f"unknown priority; use one of {known}")
        out.append(key)
    return list(dict.fromkeys(out))


def recall(
    index: SearchIndex, stats: WordStatistics, ctx: LotContext, pool: int, limit: int
) -> tuple[LotContext, list[tuple[Supplier, float | None]]]:
    """The lot with its word vector, and the candidates to re-rank; `stats` is the process's cache."""
    lot_words = LotWords.of(ctx.lot)
    ctx = replace(ctx, vector=query_vector(index, stats, lot_words))
    return ctx, fetch_candidates(index, stats, ctx.lot, lot_words, ctx.place, ctx.radius_km, pool, limit)


def match(
    index: SearchIndex, stats: WordStatistics, ctx: LotContext, model: ScoringModel, pool: int, limit: int
) -> list[Match]:
    """Recall candidates from the index, then re-rank them."""
    ctx, candidates = recall(index, stats, ctx, pool, limit)
    return rank(ctx, candidates, model, limit)
