"""Brokers' questions, answered with the matcher's own ranking: partners, and consortia for a lot.

Each requirement of a lot is matched exactly as `/match` matches a lot, so a member's "match for
the part it covers" is the same score, features and reason a buyer would see; the consortium
search (`consortia.py`) then combines them. No web imports: the API module parses and renders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.matcher.consortia import Candidate, Proposal, Requirement, SearchSettings, propose, uncoverable
from services.matcher.scoring import Match
from shared.cpv import label as cpv_label
from shared.limits import MAX_RADIUS_KM, MAX_REQUIREMENTS
from shared.models import CpvCodes, GeoPoint, Lot, SizeBand, require_place

# Matches one lot: the ranked suppliers, best first (the matcher's recall + re-ranking).
MatchLot = Callable[[Lot, int], list[Match]]
# Where a listing is, for the distance between consortium members.
Locate = Callable[[str], tuple[float, float] | None]

Sector = Literal["public", "private", "third"]
COMPLEMENT_WEIGHT = 0.2  # of a partner's score; the rest is how well it matches what is sought


class RequirementIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str | None = Field(default=None, max_length=100)
    label: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=5000)
    cpv_codes: CpvCodes = Field(default_factory=list)


class ConsortiumRequest(BaseModel):
    """A lot and the separate capabilities it needs; without `requirements`, each CPV code is one."""

    model_config = ConfigDict(extra="forbid")

    lot: Lot
    requirements: list[RequirementIn] = Field(default_factory=list, max_length=MAX_REQUIREMENTS)
    max_members: int = Field(default=3, ge=1, le=6)
    proposals: int = Field(default=5, ge=1, le=20)


@dataclass(frozen=True)
class ConsortiumAnswer:
    requirements: list[tuple[Requirement, RequirementIn]]
    uncoverable: list[str]
    proposals: list[Proposal]
    matches: dict[tuple[str, str], Match]  # (requirement id, listing id) -> the member's match
    method: Literal["exact", "beam"]
    best: dict[str, Match] = field(default_factory=dict)
    """Each requirement's best match, weak ones included, to say how close the nearest miss came."""


def requirements_of(request: ConsortiumRequest) -> list[RequirementIn]:
    if request.requirements:
        return request.requirements
    return [RequirementIn(label=cpv_label(code) or code, cpv_codes=[code]) for code in request.lot.cpv_codes]


def build_consortia(
    request: ConsortiumRequest,
    match_lot: MatchLot,
    locate: Locate,
    place: tuple[float, float] | None,
    settings: SearchSettings | None = None,
) -> ConsortiumAnswer:
    """`place` is the resolved delivery point (the lot may give only a postcode or region)."""
    base = settings or SearchSettings()
    search = SearchSettings(**{**base.__dict__, "max_members": request.max_members, "proposals": request.proposals})
    reqs = [(Requirement(r.id or f"r{i + 1}", r.label), r) for i, r in enumerate(requirements_of(request))]
    matches: dict[tuple[str, str], Match] = {}
    best: dict[str, Match] = {}
    for requirement, spec in reqs:
        part = request.lot.model_copy(update={"title": spec.label, "description": spec.description,
                                              "cpv_codes": spec.cpv_codes or request.lot.cpv_codes})
        for found in match_lot(part, search.per_requirement * 2):
            if requirement.id not in best or found.score > best[requirement.id].score:
                best[requirement.id] = found
            if found.fit != "weak":  # a weak match covers nothing, however near
                matches[(requirement.id, found.supplier.id)] = found
    candidates = _candidates(matches, locate)
    plain = [r for r, _ in reqs]
    return ConsortiumAnswer(
        requirements=reqs,
        uncoverable=uncoverable(plain, candidates, search.min_match),
        proposals=propose(plain, candidates, place, request.lot.value_pence, search),
        matches=matches,
        method="exact" if search.max_members <= 3 else "beam",
        best=best,
    )


def _candidates(matches: dict[tuple[str, str], Match], locate: Locate) -> list[Candidate]:
    by_supplier: dict[str, dict[str, float]] = {}
    names: dict[str, Match] = {}
    for (req_id, listing_id), found in matches.items():
        by_supplier.setdefault(listing_id, {})[req_id] = found.score
        names[listing_id] = found
    return [Candidate(i, names[i].supplier.name, scores, locate(i), names[i].supplier.size_band)
            for i, scores in sorted(by_supplier.items())]


class SeekerIn(BaseModel):
    """The organisation looking for partners (any sector)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=300)
    sector: Sector
    description: str = Field(default="", max_length=5000)
    cpv_codes: CpvCodes = Field(default_factory=list)
    impact_areas: list[str] = Field(default_factory=list, max_length=20)
    postcode: str | None = Field(default=None, max_length=10)
    location: GeoPoint | None = None
    region: str | None = Field(default=None, max_length=100)
    size_band: SizeBand | None = None

    @model_validator(mode="after")
    def _placed(self) -> SeekerIn:
        require_place(self, "the organisation needs a place")
        return self


class SeeksIn(BaseModel):
    """What it seeks in a partner."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    capabilities: str = Field(min_length=1, max_length=2000)
    cpv_codes: CpvCodes = Field(default_factory=list)
    impact_areas: list[str] = Field(default_factory=list, max_length=20)
    sectors: list[Sector] = Field(default_factory=lambda: list[Sector](["third"]))
    radius_km: float = Field(default=50, gt=0, le=MAX_RADIUS_KM)


class PartnerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation: SeekerIn
    seeks: SeeksIn
    limit: int = Field(default=10, ge=1, le=50)


@dataclass(frozen=True)
class Partner:
    match: Match
    score: float
    complementarity: float
    adds: dict[str, list[str]]


def seeking_lot(request: PartnerRequest) -> Lot:
    """What the seeker wants, phrased as a lot at the seeker's own place, for the matcher."""
    org, seeks = request.organisation, request.seeks
    return Lot(title=seeks.capabilities[:1000], description=seeks.capabilities, cpv_codes=seeks.cpv_codes,
               postcode=org.postcode, location=org.location, region=org.region, radius_km=seeks.radius_km,
               social_value_priorities=seeks.impact_areas)


def find_partners(request: PartnerRequest, match_lot: MatchLot) -> list[Partner]:
    """Partners ranked by match to what is sought, lifted by what they add that the seeker lacks.

    The directory lists social enterprises, which are third-sector organisations: a search for
    public or private partners only finds none here, and the answer says so rather than guessing.
    """
    if "third" not in request.seeks.sectors:
        return []
    # No padding: a supplier whose match is weak is not a partner, so fewer than asked may come back.
    found = [m for m in match_lot(seeking_lot(request), request.limit * 3) if m.fit != "weak"]
    partners = [_partner(request.organisation, m) for m in found]
    partners.sort(key=lambda p: (-p.score, p.match.supplier.id))
    return partners[: request.limit]


def _partner(seeker: SeekerIn, found: Match) -> Partner:
    adds = complement(seeker, found.supplier.impact_areas, found.supplier.cpv_codes)
    offered = len(set(found.supplier.impact_areas)) + len(_divisions(found.supplier.cpv_codes))
    # A partner that states no impact areas or codes adds what nobody knows: neutral, not nothing.
    complementarity = (len(adds["impact_areas"]) + len(adds["capabilities"])) / offered if offered else 0.5
    score = (1 - COMPLEMENT_WEIGHT) * found.score + COMPLEMENT_WEIGHT * complementarity
    return Partner(found, round(score, 4), round(complementarity, 4), adds)


def complement(seeker: SeekerIn, impact_areas: Sequence[str], cpv_codes: Sequence[str]) -> dict[str, list[str]]:
    """What a partner brings that the seeker does not: impact areas, and CPV divisions (as labels)."""
    mine = _divisions(seeker.cpv_codes)
    new_divisions = sorted(_divisions(cpv_codes) - mine)
    return {
        "impact_areas": sorted(set(impact_areas) - set(seeker.impact_areas)),
        "capabilities": [cpv_label(d) or d for d in new_divisions],
    }


def _divisions(codes: Sequence[str]) -> set[str]:
    return {code[:2] + "000000" for code in codes}


def near_misses(answer: ConsortiumAnswer, min_match: float) -> dict[str, dict[str, Any]]:
    """For each requirement no supplier covers, the best supplier that came closest and why it
    falls short: its match is under the cut-off, or it does the work but beyond the radius."""
    out: dict[str, dict[str, Any]] = {}
    for req_id in answer.uncoverable:
        best = answer.best.get(req_id)
        if best is None:
            out[req_id] = {"why": "no supplier in the area does anything like it"}
            continue
        if best.fit != "weak" and not best.near:
            why = f"it does this work but is {best.distance_km:.0f} km away, beyond the radius"
            reason = "distance"
        elif best.fit == "weak" and best.score >= min_match:
            why = "nothing in what it says shows it does this work"
            reason = "match"
        else:
            why = f"its match {best.score:.2f} is under the {min_match:.2f} a member needs"
            reason = "match"
        out[req_id] = {
            "listing_id": best.supplier.id,
            "name": best.supplier.name,
            "score": best.score,
            "fit": best.fit,
            "distance_km": None if best.distance_km is None else round(best.distance_km, 2),
            "reason": best.reason,
            "short_because": reason,
            "why": why,
        }
    return out


def proposal_json(answer: ConsortiumAnswer, proposal: Proposal) -> dict[str, Any]:
    covers: dict[str, list[str]] = {}
    for req_id, listing_id in proposal.assignment.items():
        covers.setdefault(listing_id, []).append(req_id)
    return {
        "score": proposal.score,
        "coverage": round(proposal.coverage, 4),
        "parts": {k: round(v, 4) for k, v in proposal.parts.items()},
        "uncovered": list(proposal.uncovered),
        "members": [_member_json(answer, m.listing_id, m.name, covers.get(m.listing_id, []))
                    for m in proposal.members],
    }


def _member_json(answer: ConsortiumAnswer, listing_id: str, name: str, covers: list[str]) -> dict[str, Any]:
    found = [answer.matches[(r, listing_id)] for r in covers]
    distance = next((f.distance_km for f in found if f.distance_km is not None), None)
    return {
        "listing_id": listing_id,
        "name": name,
        "distance_km": None if distance is None else round(distance, 2),
        "covers": [{"requirement": r, "score": f.score, "fit": f.fit, "reason": f.reason}
                   for r, f in zip(covers, found, strict=True)],
    }
