"""HTTP for the matcher: `POST /match`, `GET /algorithms`, `GET /openapi.json`.

Only request parsing and response shaping live here; the work is in `matching` and `scoring`.
"""

from __future__ import annotations

import inspect
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from services.matcher import candidates
from services.matcher.current import matcher
from services.matcher.features import FEATURES, LotContext, passes_hard_filters
from services.matcher.model import FitThresholds, ScoringModel
from services.matcher.ocds import OcdsLot, is_ocds, parse_ocds
from services.matcher.places import LotError
from services.matcher.recall_cache import RecallCache
from services.matcher.scoring import Match
from services.matcher.work import is_remote
from shared.errors import FieldError, InvalidInput
from shared.limits import MAX_RESULTS
from shared.models import Lot
from shared.search.port import SearchIndex
from shared.web import json_object, search_index, settings, validated_body

bp = Blueprint("matcher", __name__)

MAX_LIMIT = 100


@bp.post("/match")
def match_route() -> Any:
    limit = _limit()
    body = json_object()
    if is_ocds(body):
        lots = parse_ocds(body, settings().max_lots)
        if len(lots) * limit > MAX_RESULTS:  # each result is scored and explained
            raise InvalidInput(f"{len(lots)} lots with limit {limit} is more than {MAX_RESULTS} results",
                               [FieldError("limit", f"at most {MAX_RESULTS // len(lots)} for {len(lots)} lots")])
        return jsonify({"lots": _match_ocds(lots, limit)})
    lot = validated_body(Lot)
    try:
        ctx = matcher().prepare(lot)
    except LotError as exc:
        raise _unmatchable([FieldError(exc.field, exc.message)]) from exc
    return jsonify(_lot_result(ctx, limit))


def _match_ocds(lots: list[OcdsLot], limit: int) -> list[dict[str, Any]]:
    """Every lot that can be matched is; each one that cannot carries its own errors. The
    request fails (422) only when no lot at all can be matched."""
    contexts: list[tuple[OcdsLot, LotContext | list[FieldError]]] = []
    for entry in lots:
        if entry.lot is None:
            contexts.append((entry, list(entry.errors)))
            continue
        try:
            contexts.append((entry, matcher().prepare(entry.lot, entry.place_source)))
        except LotError as exc:
            contexts.append((entry, [FieldError(entry.source(exc.field), exc.message)]))
    if not any(isinstance(found, LotContext) for _, found in contexts):
        raise _unmatchable([e for _, found in contexts if isinstance(found, list) for e in found])
    out = []
    # A package's lots are mostly delivered at one place: they share the area's recall.
    shared = RecallCache(search_index()).as_index()
    for entry, found in contexts:
        head = {"path": entry.path, "key": entry.key}
        if isinstance(found, LotContext):
            out.append({**head, **_lot_result(found, limit, shared)})
        else:
            out.append({**head, "errors": [{"field": e.field, "message": e.message} for e in found]})
    return out


def _unmatchable(errors: list[FieldError]) -> InvalidInput:
    return InvalidInput(detail="the lot cannot be matched as given", errors=errors, status=422)


def _lot_result(ctx: LotContext, limit: int, index: SearchIndex | None = None) -> dict[str, Any]:
    answer = matcher().answer(ctx, limit, index)
    return {
        "lot": ctx.lot.model_dump(mode="json"),
        "place_source": ctx.place.source,
        "cpv_source": ctx.cpv_source,
        "remote_work": ctx.remote,
        "strong_matches": answer.strong_matches,
        "summary": answer.summary,
        "results": [match_json(m) for m in answer.results],
        "nearest_strong_beyond_radius": [match_json(m) for m in answer.beyond],
    }


def match_json(m: Match) -> dict[str, Any]:
    """One ranked supplier as every matching answer shows it."""
    return {
        "listing_id": m.supplier.id,
        "name": m.supplier.name,
        "score": m.score,
        "fit": m.fit,
        "distance_km": None if m.distance_km is None else round(m.distance_km, 2),
        "within_radius": m.near,
        "features": {
            name: {"value": f.value, "weight": f.weight, "contribution": f.contribution}
            for name, f in m.features.items()
        },
        "reason": m.reason,
        "verified": list(m.supplier.verified),
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
            "recall": _doc(candidates),
            "fit": {
                "strong_text": model.fit.strong_text,
                "strong_codes": model.fit.strong_codes,
                "possible": model.fit.possible,
                "possible_text": model.fit.possible_text,
                "possible_codes": model.fit.possible_codes,
                "description": _doc(FitThresholds),
                "remote_work": _doc(is_remote),
            },
        }
    )


def _doc(func: Any) -> str:
    return " ".join((inspect.getdoc(func) or "").split())


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(current_app.extensions["matcher_openapi"])
