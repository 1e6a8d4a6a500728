"""One lot, start to finish: check and locate it, recall candidates, re-rank, and say how well
anything fits. No web imports. `Matcher` is the entry point every answer goes through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from services.matcher.candidates import fetch_candidates, same_class_beyond
from services.matcher.features import LotContext
from services.matcher.model import ScoringModel
from services.matcher.places import LotError, resolve_place
from services.matcher.scoring import Match, rank
from services.matcher.supplier import Supplier
from services.matcher.text import LotWords, WordStatistics, query_vector
from services.matcher.work import is_remote
from shared import cpv
from shared.models import IMPACT_AREAS, Lot
from shared.search.port import SearchIndex


def prepare(lot: Lot, default_radius_km: float, place_source: str | None = None) -> LotContext:
    """Validate what the Lot model cannot (place, priorities) and resolve the lot for scoring.

    Raises LotError naming the field, so OCDS callers can map it back to a JSON path.
    """
    lot = lot.model_copy(update={"social_value_priorities": _priorities(lot.social_value_priorities)})
    lot, place = resolve_place(lot, place_source)
    # Only a radius the buyer sent overrides the service's default; the model's own default does not.
    lot, cpv_source = with_codes(lot)
    buyers_radius = "radius_km" in lot.model_fields_set and place_source is None
    radius = lot.radius_km if "radius_km" in lot.model_fields_set else default_radius_km
    lot = lot.model_copy(update={"radius_km": radius})
    recall = None if buyers_radius else min(radius * WIDER_RECALL_FACTOR, WIDER_RECALL_MAX_KM)
    return LotContext(
        lot=lot, place=place, radius_km=radius, remote=is_remote(lot), recall_radius_km=recall, cpv_source=cpv_source
    )


WIDER_RECALL_FACTOR = 3.0
"""A radius the buyer did not set (the service's default, or an OCDS lot's approximate place)
bounds what is near, not what is shown: recall looks this many times as far, at most
`WIDER_RECALL_MAX_KM`, and the distance feature ranks the far ones down."""
WIDER_RECALL_MAX_KM = 250.0


def with_codes(lot: Lot) -> tuple[Lot, str]:
    """The lot with CPV codes read from its title when it gives none, and where they came from."""
    if lot.cpv_codes:
        return lot, "given"
    named = cpv.codes_named_by(lot.title)
    return (lot.model_copy(update={"cpv_codes": named}), "read from the title") if named else (lot, "none")


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
    return ctx, fetch_candidates(index, stats, ctx, pool, limit)


def match(
    index: SearchIndex, stats: WordStatistics, ctx: LotContext, model: ScoringModel, pool: int, limit: int
) -> list[Match]:
    """Recall candidates from the index, then re-rank them."""
    ctx, candidates = recall(index, stats, ctx, pool, limit)
    return rank(ctx, candidates, model, limit)


BEYOND_FACTOR = 4.0
"""When nothing strong is within the radius, the nearest strong suppliers up to this many times
the radius (at most `BEYOND_MAX_KM`) are offered instead, with their distance."""
BEYOND_MAX_KM = 400.0
BEYOND_COUNT = 3


@dataclass(frozen=True)
class LotAnswer:
    """What a buyer is told about one lot: the ranked suppliers with their fit, how many are
    strong, in words what that means, and when none is strong the nearest strong ones beyond."""

    ctx: LotContext
    results: list[Match]
    strong_matches: int
    beyond: list[Match]
    summary: str


class Matcher:
    """The one way into matching, shared by `/match`, partners, consortia and Buy Social: it owns
    the index, the process's word statistics, the model and the matcher's settings."""

    def __init__(
        self, index: SearchIndex, stats: WordStatistics, model: ScoringModel, pool: int, default_radius_km: float
    ) -> None:
        self.index, self.stats, self.model = index, stats, model
        self.pool, self.default_radius_km = pool, default_radius_km

    def prepare(self, lot: Lot, place_source: str | None = None) -> LotContext:
        """The lot checked and placed; raises LotError naming the field."""
        return prepare(lot, self.default_radius_km, place_source)

    @staticmethod
    def part_of(ctx: LotContext, part: Lot) -> LotContext:
        """A requirement of the lot, delivered at the lot's place, read as `prepare` reads a lot:
        codes from its title when it gives none, remote or not by its own work."""
        part, cpv_source = with_codes(part)
        return replace(ctx, lot=part, remote=is_remote(part), cpv_source=cpv_source)

    def ranked(self, ctx: LotContext, limit: int, index: SearchIndex | None = None) -> list[Match]:
        """The best `limit` suppliers for the lot, each with its fit (no padding is removed here)."""
        return match(index or self.index, self.stats, ctx, self.model, self.pool, limit)

    def answer(self, ctx: LotContext, limit: int, index: SearchIndex | None = None) -> LotAnswer:
        """Ranked suppliers, and an honest word when none of them clearly fits. `index` may be a
        request's `RecallCache` view, when several lots share a place."""
        ctx, candidates = recall(index or self.index, self.stats, ctx, self.pool, limit)
        # A supplier whose words and codes show nothing of the work is no answer at all, however
        # near: fewer results, or none, rather than a nursery for a reactor decommissioning.
        results = [m for m in rank(ctx, candidates, self.model, limit) if m.shows_work]
        strong = sum(m.fit == "strong" for m in results)
        beyond = [] if strong else self._beyond(ctx)
        return LotAnswer(ctx, results, strong, beyond, summary(ctx, strong, beyond, len(results)))

    def _beyond(self, ctx: LotContext) -> list[Match]:
        """The nearest strong fits beyond the area searched (`candidates.same_class_beyond`)."""
        if ctx.remote:
            return []
        wider_km = min(ctx.search_radius_km * BEYOND_FACTOR, BEYOND_MAX_KM)
        within = same_class_beyond(self.index, self.stats, ctx, wider_km, BEYOND_COUNT * 5)
        wider = replace(ctx, radius_km=wider_km, recall_radius_km=None)
        found = rank(wider, within, self.model, len(within))
        far = [m for m in found if m.fit == "strong"]
        return sorted(far, key=lambda m: (m.distance_km or 0, m.supplier.id))[:BEYOND_COUNT]


def summary(ctx: LotContext, strong: int, beyond: Sequence[Match], shown: int) -> str:
    """The answer in one sentence a buyer can act on; `shown` is how many results it heads."""
    where = "anywhere in the UK" if ctx.remote or ctx.place.national else (
        f"within {ctx.radius_km:.0f} km" if ctx.place.point is not None else f"in {ctx.place.region}"
    )
    if strong:
        who = f"{strong} organisations in the directory clearly do" if strong > 1 else None
        who = who or "1 organisation in the directory clearly does"
        return f"{who} this {where}."
    line = f"No organisation in the directory clearly does this {where}"
    if beyond:
        nearest = "; ".join(f"{m.supplier.name}, {m.distance_km:.0f} km away" for m in beyond)
        return f"{line}; the nearest that do are {nearest}."
    if not shown:
        return f"{line}, and none there shows any sign of this work in its description or codes."
    return f"{line}; the suppliers below are the closest fits, to check before approaching them."
