"""HTTP for brokers: `POST /partners` and `POST /consortia` (plain JSON, or an OCDS release whose
lots are the requirements)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify, request

from services.matcher.brokers import (
    ConsortiumRequest,
    PartnerRequest,
    RequirementIn,
    build_consortia,
    find_partners,
    near_misses,
    proposal_json,
)
from services.matcher.consortia import SearchSettings
from services.matcher.current import matcher
from services.matcher.features import LotContext
from services.matcher.matching import Matcher
from services.matcher.ocds import is_ocds, parse_ocds, unusable
from services.matcher.places import LotError
from services.matcher.recall_cache import RecallCache
from services.matcher.scoring import Match
from shared.errors import FieldError, InvalidInput
from shared.limits import MAX_REQUIREMENTS
from shared.models import Lot
from shared.search.port import SearchIndex
from shared.web import json_body, json_object, search_index, settings

bp = Blueprint("brokers", __name__)


def _match_partners(lot: Lot, limit: int) -> list[Match]:
    return _match_in(search_index(), _prepare(lot, _partner_field), limit)


def _partner_field(field: str) -> str:
    """Where a fault in the lot that stands for a partner search lies in the request: its
    priorities are the impact sought, its place is the organisation's."""
    head, _, rest = field.partition(".")
    return f"seeks.impact_areas.{rest}" if head == "social_value_priorities" else f"organisation.{field}"


def _match_in(index: SearchIndex, ctx: LotContext, limit: int) -> list[Match]:
    return matcher().ranked(ctx, limit, index)


def _prepare(lot: Lot, field_path: Callable[[str], str] = lambda field: f"lot.{field}") -> LotContext:
    try:
        return matcher().prepare(lot)
    except LotError as exc:
        raise InvalidInput(
            "the lot cannot be matched as given", [FieldError(field_path(exc.field), exc.message)], status=422
        ) from exc


@bp.post("/partners")
def partners() -> Any:
    req = json_body(PartnerRequest)
    found = find_partners(req, _match_partners)
    return jsonify(
        {
            "sectors_searched": ["third"] if "third" in req.seeks.sectors else [],
            "results": [
                {
                    "listing_id": p.match.supplier.id,
                    "name": p.match.supplier.name,
                    "score": p.score,
                    "fit": p.match.fit,
                    "distance_km": None if p.match.distance_km is None else round(p.match.distance_km, 2),
                    "features": {
                        **{
                            n: {"value": f.value, "weight": f.weight, "contribution": f.contribution}
                            for n, f in p.match.features.items()
                        },
                        "complementarity": {"value": p.complementarity},
                    },
                    "adds": p.adds,
                    "reason": p.match.reason,
                }
                for p in found
            ],
        }
    )


@bp.post("/consortia")
def consortia() -> Any:
    body = json_object()
    req = _ocds_request(body) if is_ocds(body) else json_body(ConsortiumRequest)
    if not req.requirements and not req.lot.cpv_codes:
        raise InvalidInput(
            "name the requirements, or give the lot several CPV codes",
            [FieldError("requirements", "no requirements")],
            status=422,
        )
    if not req.requirements and len(req.lot.cpv_codes) > MAX_REQUIREMENTS:  # each code is then a requirement
        raise InvalidInput(
            f"at most {MAX_REQUIREMENTS} requirements",
            [FieldError("lot.cpv_codes", f"{len(req.lot.cpv_codes)} codes, each a requirement; name the requirements")],
            status=422,
        )
    # Every requirement is delivered at the lot's place: resolve it once, and let the requirements
    # share the area's recall (`RecallCache`); each requirement is then matched as `/match` would.
    ctx = _prepare(req.lot)
    shared = RecallCache(search_index())
    # A member covers a requirement when it is at least a possible fit for it, as /match says.
    cut_off = matcher().model.fit.possible
    # Requirements inherit only codes the buyer gave; one without its own is read from its label.
    placed = ctx.lot.model_copy(update={"cpv_codes": req.lot.cpv_codes})
    answer = build_consortia(
        req.model_copy(update={"lot": placed}),
        lambda part, limit: _match_in(shared.as_index(), Matcher.part_of(ctx, part), limit),
        shared.location,
        ctx.place.point,
        SearchSettings(min_match=cut_off),
    )
    return jsonify(
        {
            "requirements": [{"id": r.id, "label": r.label} for r, _ in answer.requirements],
            "min_match": cut_off,
            "uncoverable": answer.uncoverable,
            "near_misses": near_misses(answer, cut_off),
            "method": answer.method,
            "proposals": [proposal_json(answer, p) for p in answer.proposals],
        }
    )


def _ocds_request(body: dict[str, Any]) -> ConsortiumRequest:
    """Each OCDS lot is one requirement; the first lot's place and the lots' total value stand for all."""
    parsed = parse_ocds(body, settings().max_lots)
    lots = [(entry.key, entry.lot) for entry in parsed if entry.lot is not None]
    if not lots:
        raise unusable(parsed)
    if len(lots) > MAX_REQUIREMENTS:  # each lot is a requirement
        where = "releases" if "releases" in body else "tender.lots"
        raise InvalidInput(f"at most {MAX_REQUIREMENTS} requirements",
                           [FieldError(where, f"{len(lots)} lots, each a requirement")], status=422)
    first = lots[0][1]
    total = sum(lot.value_pence or 0 for _, lot in lots) or None
    requirements = [
        RequirementIn(
            id=key[:100], label=lot.title[:300], description=lot.description[:5000], cpv_codes=lot.cpv_codes
        )
        for key, lot in lots
    ]
    k = request.args.get("max_members", "3")
    if not k.isdigit() or not 1 <= int(k) <= 6:
        raise InvalidInput("max_members must be 1 to 6", [FieldError("max_members", "out of range")])
    return ConsortiumRequest(
        lot=first.model_copy(update={"value_pence": total}), requirements=requirements, max_members=int(k)
    )
