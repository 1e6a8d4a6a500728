"""The matcher's named features and hard filters.

Each feature is a pure function of (lot context, candidate) returning a value in 0..1; its
docstring is the explanation `/algorithms` publishes, so it is written for buyers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from services.matcher.places import Place
from services.matcher.supplier import Supplier
from services.matcher.text import cosine
from services.matcher.work import REMOTE_DISTANCE_SCALE_KM
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
    remote: bool = False
    """Work delivered from the supplier's own office (`work.is_remote`): searched UK-wide."""
    recall_radius_km: float | None = None
    """How far recall looks when the radius is the matcher's, not the buyer's: beyond `radius_km`
    the right work "somewhat far" still beats the wrong work next door, ranked down by distance."""

    cpv_source: str = "given"
    """Where the lot's CPV codes came from: "given", "read from the title" (`cpv.codes_named_by`)
    or "none"."""

    @property
    def search_radius_km(self) -> float:
        return self.recall_radius_km or self.radius_km

    @property
    def priorities(self) -> frozenset[str]:
        return frozenset(self.lot.social_value_priorities)


@dataclass(frozen=True)
class Candidate:
    """A supplier from the index, with its distance from the delivery point when both have one."""

    supplier: Supplier
    distance_km: float | None
    shows_work: bool = True
    """Whether its words or codes show any sign of the lot's work (`scoring.rank` sets it)."""


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
    """How close the supplier's CPV codes come to the lot's, by how specific the shared work is.
    A supplier code equal to or under the lot's code counts by the lot code's own depth: 1 for a
    category or finer (the lot asks for office cleaning, the supplier does it), 0.85 for a class,
    0.7 for a group, 0.5 for a division (both only "education"). Otherwise by the deepest level
    they share: category 0.8, class 0.6, group 0.4, division 0.2; else 0. The lot's first code
    (its main classification) counts in full, its other codes four fifths: frameworks list dozens
    of codes, and a match on the fortieth says less than one on the first."""
    codes = ctx.lot.cpv_codes
    if not codes or not cand.supplier.cpv_codes:
        return 0.0
    main = max(cpv_pair_value(codes[0], b) for b in cand.supplier.cpv_codes)
    others = max((cpv_pair_value(a, b) for a in codes[1:] for b in cand.supplier.cpv_codes), default=0.0)
    return max(main, ADDITIONAL_CODE_SHARE * others)


ADDITIONAL_CODE_SHARE = 0.8
_LOT_DEPTH_VALUE = {2: 0.5, 3: 0.7, 4: 0.85}


@lru_cache(maxsize=65536)
def cpv_pair_value(lot_code: str, supplier_code: str) -> float:
    depth = max(2, len(lot_code.rstrip("0")))  # a division keeps 2 digits
    if supplier_code.startswith(lot_code[:depth]):
        return _LOT_DEPTH_VALUE.get(depth, 1.0)
    shared = cpv.shared_level(lot_code, supplier_code)
    return _CPV_LEVEL_VALUE[shared] if shared else 0.0


def distance(ctx: LotContext, cand: Candidate) -> float:
    """Closeness to the delivery place: exp(-distance / (radius / 2)), so 1 on the doorstep and
    about 0.14 at the edge of the search radius; for remote work (consultancy, research, IT,
    design) exp(-distance / 400 km), as such work is delivered from anywhere. When either side
    has no point (a lot given only as a region, or a supplier without a location), 0.5 if the
    supplier is in the lot's region, else 0."""
    if cand.distance_km is not None:
        scale = REMOTE_DISTANCE_SCALE_KM if ctx.remote else ctx.radius_km / 2
        return math.exp(-cand.distance_km / scale)
    if ctx.place.national:
        return 0.5
    return 0.5 if ctx.place.covers_region(cand.supplier.region) else 0.0


def service_area(ctx: LotContext, cand: Candidate) -> float:
    """Whether the supplier says it delivers here: 1 if its service area is national, names the
    lot's region or its radius reaches the place; 0 if it declares an area that does not; 0.5 if
    it declares none."""
    sup = cand.supplier
    if sup.national:
        return 1.0
    if not sup.declares_service_area:
        return 0.5
    if any(ctx.place.covers_region(region) for region in sup.service_regions):
        return 1.0
    reach = sup.service_radius_km
    return 1.0 if reach is not None and cand.distance_km is not None and cand.distance_km <= reach else 0.0


def social_value(ctx: LotContext, cand: Candidate) -> float:
    """The share of the buyer's social-value priorities that the supplier's impact areas cover
    (0 to 1); 0 for everyone when the lot names no priorities, so it then changes no ranking."""
    if not ctx.priorities:
        return 0.0
    return len(ctx.priorities.intersection(cand.supplier.impact_areas)) / len(ctx.priorities)


# What an organisation of each size band usually takes on in one contract (pence): about half a
# year's turnover at ~£50k per employee for the band's upper headcount (9, 49, 249 staff); a large
# organisation is not limited. UK buyers are asked to size lots so that SMEs can bid; this says by
# how much a lot overshoots a supplier.
_BAND_CAPACITY_PENCE: dict[str, float] = {
    "micro": 25_000_000,
    "small": 125_000_000,
    "medium": 625_000_000,
    "large": math.inf,
}


def size_fit(ctx: LotContext, cand: Candidate) -> float:
    """Whether the lot's value suits the supplier's size: 1 when the lot is within what an
    organisation of its size band usually takes on in one contract (micro about £250k, small
    £1.25m, medium £6.25m, large any), falling in proportion beyond it (a £1m lot for a micro
    enterprise: 0.25); 1 when the lot's value or the supplier's size is not known."""
    value, band = ctx.lot.value_pence, cand.supplier.size_band
    if not value or band not in _BAND_CAPACITY_PENCE:
        return 1.0
    return min(1.0, _BAND_CAPACITY_PENCE[band] / value)


CAPABILITY_FEATURES = ("capability_text", "cpv_overlap")
"""What the supplier does. Every other feature (closeness, service area, social value, size) is
0 for a supplier that shows no sign of the lot's work in these: a pub next door is not a better
cleaning supplier than a cleaning co-operative down the road, whatever else it brings."""

FEATURES: dict[str, Feature] = {
    "capability_text": capability_text,
    "cpv_overlap": cpv_overlap,
    "distance": distance,
    "service_area": service_area,
    "social_value": social_value,
    "size_fit": size_fit,
}


def passes_hard_filters(lot: Lot, sup: Supplier) -> bool:
    """Required certifications (all of them, case-insensitive) and legal forms (any of them) are
    conditions of the tender, not preferences: a supplier without them is not shown at all."""
    if any(c.casefold() not in sup.certifications for c in lot.required_certifications):
        return False
    return not lot.required_legal_forms or sup.legal_form in {f.value for f in lot.required_legal_forms}
