"""Re-ranking candidates for a lot: named features, hard filters and a versioned weighted model.

Each feature is a pure function of (lot context, candidate) returning a value in 0..1; its
docstring is the explanation `/algorithms` publishes, so it is written for buyers. The score is
the weighted sum of feature values, so every result can say how much each feature contributed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import linear_kernel

from services.matcher.places import Place
from shared import cpv
from shared.models import Listing, Lot


@dataclass(frozen=True)
class LotContext:
    """What the features need about a lot, resolved once per request."""

    lot: Lot
    place: Place
    radius_km: float

    @property
    def priorities(self) -> frozenset[str]:
        return frozenset(self.lot.social_value_priorities)


@dataclass(frozen=True)
class Candidate:
    """A listing from the index, with what was computed over the whole pool."""

    listing: Listing
    distance_km: float | None
    text_similarity: float


Feature = Callable[[LotContext, Candidate], float]


def capability_text(ctx: LotContext, cand: Candidate) -> float:
    """How closely the supplier's name, description and services match the lot's title and
    description (TF-IDF cosine similarity over the candidates considered, 0 to 1)."""
    return cand.text_similarity


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
        (_cpv_pair_value(a, b) for a in ctx.lot.cpv_codes for b in cand.listing.cpv_codes),
        default=0.0,
    )


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
    return 0.5 if ctx.place.region is not None and ctx.place.region == cand.listing.region else 0.0


def service_area(ctx: LotContext, cand: Candidate) -> float:
    """Whether the supplier says it delivers here: 1 if its service area is national, names the
    lot's region or its radius reaches the place; 0 if it declares an area that does not; 0.5 if
    it declares none."""
    area = cand.listing.service_area
    if area.national:
        return 1.0
    declared = bool(area.regions) or area.radius_km is not None
    if not declared:
        return 0.5
    if ctx.place.region is not None and ctx.place.region in area.regions:
        return 1.0
    if area.radius_km is not None and cand.distance_km is not None and cand.distance_km <= area.radius_km:
        return 1.0
    return 0.0


def social_value(ctx: LotContext, cand: Candidate) -> float:
    """The share of the buyer's social-value priorities that the supplier's impact areas cover
    (0 to 1); 0 for everyone when the lot names no priorities, so it then changes no ranking."""
    if not ctx.priorities:
        return 0.0
    return len(ctx.priorities & set(cand.listing.impact_areas)) / len(ctx.priorities)


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


def passes_hard_filters(lot: Lot, listing: Listing) -> bool:
    """Required certifications (all of them, case-insensitive) and legal forms (any of them) are
    conditions of the tender, not preferences: a supplier without them is not shown at all."""
    held = {c.casefold() for c in listing.certifications}
    if any(c.casefold() not in held for c in lot.required_certifications):
        return False
    return not lot.required_legal_forms or listing.legal_form in lot.required_legal_forms


def lot_text(lot: Lot) -> str:
    """The lot's words for text similarity: title, description and its CPV labels."""
    labels = [cpv.label(code) or "" for code in lot.cpv_codes]
    return " ".join([lot.title, lot.description, *labels])


def listing_text(listing: Listing) -> str:
    return " ".join([listing.name, listing.description, *listing.services, *listing.categories])


def text_similarities(query: str, documents: Sequence[str]) -> list[float]:
    """Cosine similarity of `query` to each document, TF-IDF fitted on the documents and query.

    Fitting on the candidate pool makes words common among nearby suppliers ("services", "ltd")
    count for little, which a fixed vocabulary would not.
    """
    if not documents:
        return []
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform([query, *documents])
    except ValueError:  # nothing but stop words anywhere: no evidence either way
        return [0.0] * len(documents)
    return [float(v) for v in linear_kernel(matrix[0:1], matrix[1:]).ravel()]


@dataclass(frozen=True)
class FeatureScore:
    value: float
    weight: float
    contribution: float


@dataclass(frozen=True)
class Match:
    listing: Listing
    score: float
    distance_km: float | None
    features: dict[str, FeatureScore]
    reason: str


def score(ctx: LotContext, cand: Candidate, model: ScoringModel) -> Match:
    """Evaluate every feature and combine them with the model's weights."""
    features = {}
    for name, feature in FEATURES.items():
        value = round(feature(ctx, cand), 4)
        weight = model.weights[name]
        features[name] = FeatureScore(value, weight, round(value * weight, 4))
    total = round(sum(f.contribution for f in features.values()), 4)
    return Match(cand.listing, total, cand.distance_km, features, reason(ctx, cand))


def rank(
    ctx: LotContext,
    pool: Sequence[tuple[Listing, float | None]],
    model: ScoringModel,
    limit: int,
) -> list[Match]:
    """Hard-filter the pool, score what is left and return the best `limit`, ties by listing id."""
    kept = [(listing, d) for listing, d in pool if passes_hard_filters(ctx.lot, listing)]
    sims = text_similarities(lot_text(ctx.lot), [listing_text(listing) for listing, _ in kept])
    matches = [
        score(ctx, Candidate(listing, d, sim), model) for (listing, d), sim in zip(kept, sims, strict=True)
    ]
    matches.sort(key=lambda m: (-m.score, m.listing.id))
    return matches[:limit]


def reason(ctx: LotContext, cand: Candidate) -> str:
    """One readable line: where the supplier is, what it does that fits, what impact it brings."""
    parts = [_where(ctx, cand), _what(ctx, cand), _impact(ctx, cand)]
    return "; ".join(p for p in parts if p)


def _where(ctx: LotContext, cand: Candidate) -> str:
    if cand.distance_km is not None:
        return f"{cand.distance_km:.1f} km away"
    return f"based in {cand.listing.region}" if cand.listing.region else "location not given"


def _what(ctx: LotContext, cand: Candidate) -> str:
    best = max(
        ((b, _cpv_pair_value(a, b)) for a in ctx.lot.cpv_codes for b in cand.listing.cpv_codes),
        key=lambda pair: pair[1],
        default=None,
    )
    if best and best[1] > 0:
        code = best[0]
        return f"delivers {(cpv.label(code) or 'work').lower()} (CPV {code})"
    if cand.listing.services:
        return f"offers {', '.join(cand.listing.services[:2])}"
    return ""


def _impact(ctx: LotContext, cand: Candidate) -> str:
    areas = cand.listing.impact_areas
    if not areas:
        return ""
    line = "impact: " + ", ".join(a.replace("_", " ") for a in areas[:3])
    matched = [p for p in ctx.lot.social_value_priorities if p in areas]
    if matched:
        line += ", matching your " + ", ".join(f"'{p.replace('_', ' ')}'" for p in matched) + " priority"
        line += "s" if len(matched) > 1 else ""
    return line
