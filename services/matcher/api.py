"""HTTP for the matcher: `POST /match`, `GET /algorithms`, `GET /openapi.json`.

Only request parsing and response shaping live here; the work is in `matching` and `scoring`.
"""

from __future__ import annotations

import inspect
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from services.matcher.features import FEATURES, LotContext, passes_hard_filters
from services.matcher.matching import match, prepare
from services.matcher.model import ScoringModel
from services.matcher.ocds import OcdsLot, is_ocds, parse_ocds
from services.matcher.places import LotError
from services.matcher.scoring import Match
from shared.errors import FieldError, InvalidInput
from shared.models import Lot
from shared.web import json_object, search_index, settings, validated_body

bp = Blueprint("matcher", __name__)

MAX_LIMIT = 100


@bp.post("/match")
def match_route() -> Any:
    limit = _limit()
    body = json_object()
    if is_ocds(body):
        return jsonify({"lots": _match_ocds(parse_ocds(body, settings().max_lots), limit)})
    lot = validated_body(Lot)
    try:
        ctx = prepare(lot, settings().default_radius_km)
    except LotError as exc:
        raise _unmatchable([FieldError(exc.field, exc.message)]) from exc
    return jsonify(_lot_result(ctx, limit))


def _match_ocds(lots: list[OcdsLot], limit: int) -> list[dict[str, Any]]:
    """Resolve every lot before matching any, so a bad one fails the request cheaply."""
    contexts, errors = [], []
    for entry in lots:
        try:
            contexts.append((entry.path, prepare(entry.lot, settings().default_radius_km)))
        except LotError as exc:
            errors.append(FieldError(entry.source(exc.field), exc.message))
    if errors:
        raise _unmatchable(errors)
    return [{"path": path, **_lot_result(ctx, limit)} for path, ctx in contexts]


def _unmatchable(errors: list[FieldError]) -> InvalidInput:
    return InvalidInput(detail="the lot cannot be matched as given", errors=errors, status=422)


def _lot_result(ctx: LotContext, limit: int) -> dict[str, Any]:
    stats = current_app.extensions["matcher_word_stats"]
    matches = match(search_index(), stats, ctx, _model(), settings().candidate_pool, limit)
    return {"lot": ctx.lot.model_dump(mode="json"), "results": [_match_json(m) for m in matches]}


def _match_json(m: Match) -> dict[str, Any]:
    return {
        "listing_id": m.supplier.id,
        "name": m.supplier.name,
        "score": m.score,
        "distance_km": None if m.distance_km is None else round(m.distance_km, 2),
        "features": {
            name: {"value": f.value, "weight": f.weight, "contribution": f.contribution}
            for name, f in m.features.items()
        },
        "reason": m.reason,
    }


def _limit() -> int:
    raw = request.args.get("limit", "10")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidInput(
            detail="query is invalid",
            errors=[FieldError("limit", f"must be a whole number from 1 to {MAX_LIMIT}")],
        )
    return int(raw)


def _model() -> ScoringModel:
    return current_app.extensions["matcher_model"]  # type: ignore[no-any-return]


@bp.get("/algorithms")
def algorithms() -> Any:
    """The features, their weights and the hard filters, in the words users see."""
    model = _model()
    return jsonify(
        {
            "model": {"version": model.version, "weights": dict(model.weights)},
            "features": [
                {"name": name, "weight": model.weights[name], "description": _doc(feature)}
                for name, feature in FEATURES.items()
            ],
            "hard_filters": [{"name": "required", "description": _doc(passes_hard_filters)}],
        }
    )


def _doc(func: Any) -> str:
    return " ".join((inspect.getdoc(func) or "").split())


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(current_app.extensions["matcher_openapi"])
