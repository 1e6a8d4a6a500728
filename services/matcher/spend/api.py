"""Buy Social HTTP API: organisations and keys (administrators), spend and its supplier links,
targets, pipeline, reports.

Every route under /organisations/<id> answers only that organisation's keys and administrators;
any other key gets the same 404 as an organisation that does not exist.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel

from services.matcher.current import matcher
from services.matcher.places import LotError
from services.matcher.spend import chart as charts
from services.matcher.spend import links, report_files, reports
from services.matcher.spend.recommend import SupplierFit
from services.matcher.spend.service import (
    BestSupplier,
    Ledger,
    build_ledger,
    cumulative,
    recommendations,
    target_progress,
)
from services.matcher.spend.store import OrganisationPlans, PackageBody, TargetBody, open_organisation_plans
from shared.accounts import NameTaken, Role, UnknownOrganisation
from shared.errors import FieldError, InvalidInput, NotFound
from shared.limits import MAX_DATE, MIN_DATE
from shared.models import has_dot_segment
from shared.spend_store import SpendStore, open_spend_store
from shared.web import (
    accounts,
    app_resource,
    json_body,
    require_admin,
    require_organisation,
    search_index,
    settings,
)

bp = Blueprint("spend", __name__)
ID_PATTERN = r"^[A-Za-z0-9_.-]{1,100}$"


def plans() -> OrganisationPlans:
    return app_resource("organisation_plans",  # type: ignore[no-any-return]
                        lambda: open_organisation_plans(settings().targets_location()))


def spend_store() -> SpendStore:
    return app_resource("spend_store", lambda: open_spend_store(settings().spend_location()))  # type: ignore[no-any-return]


def _item_id(value: str, name: str) -> str:
    if not re.match(ID_PATTERN, value) or has_dot_segment(value):
        raise InvalidInput(f"{name} must be 1-100 letters, digits, '.', '_' or '-', and not '.' or '..'",
                           [FieldError(name, "bad id")])
    return value


def _as_of() -> date:
    raw = request.args.get("as_of")
    if raw is None:
        return date.today()
    try:
        as_of = date.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput("as_of must be a date (YYYY-MM-DD)", [FieldError("as_of", "not a date")]) from exc
    if not MIN_DATE <= as_of <= MAX_DATE:
        raise InvalidInput("as_of is out of range", [FieldError("as_of", f"must be {MIN_DATE} to {MAX_DATE}")])
    return as_of


# --- administrators -------------------------------------------------------------------------

class OrganisationBody(BaseModel):
    name: str


class KeyBody(BaseModel):
    label: str = ""
    role: Role = Role.member


@bp.post("/organisations")
def create_organisation() -> Any:
    require_admin()
    body = json_body(OrganisationBody)
    if not body.name.strip() or len(body.name) > 200:
        raise InvalidInput("name must be 1-200 characters", [FieldError("name", "bad length")], status=422)
    try:
        org = accounts().create_organisation(body.name)
    except NameTaken as exc:
        raise InvalidInput("an organisation with that name exists", [FieldError("name", "taken")],
                           status=409) from exc
    return jsonify({"id": org.id, "name": org.name}), 201


@bp.get("/organisations")
def list_organisations() -> Any:
    require_admin()
    return jsonify([{"id": o.id, "name": o.name} for o in accounts().organisations()])


@bp.post("/organisations/<organisation_id>/keys")
def create_key(organisation_id: str) -> Any:
    require_admin()
    body = json_body(KeyBody)
    try:
        info, secret = accounts().create_key(Role.member, organisation_id, body.label[:200])
    except UnknownOrganisation as exc:
        raise NotFound("no such organisation") from exc
    return jsonify({"id": info.id, "organisation_id": organisation_id, "role": info.role.value, "key": secret}), 201


@bp.delete("/keys/<key_id>")
def revoke_key(key_id: str) -> Any:
    require_admin()
    if not accounts().revoke_key(key_id):
        raise NotFound("no active key with that id")
    return "", 204


# --- an organisation's own data -------------------------------------------------------------

@bp.get("/organisations/<organisation_id>")
def get_organisation(organisation_id: str) -> Any:
    """The organisation a member's key belongs to: its name, for pages and reports to show."""
    require_organisation(organisation_id)
    org = accounts().organisation(organisation_id)
    if org is None:
        raise NotFound("no such organisation")
    return jsonify({"id": org.id, "name": org.name})


@bp.get("/organisations/<organisation_id>/spend")
def list_spend(organisation_id: str) -> Any:
    require_organisation(organisation_id)
    entries = spend_store().entries(organisation_id)
    return jsonify([{**e.record.model_dump(mode="json"), "supplier_key": e.record.supplier_key,
                     "linked_supplier_id": e.linked_supplier_id, "link_status": e.link_status} for e in entries])


@bp.get("/organisations/<organisation_id>/spend/links")
def list_links(organisation_id: str) -> Any:
    require_organisation(organisation_id)
    status = links.parse_status(request.args.get("status"))
    return jsonify(links.list_links(spend_store(), organisation_id, status))


@bp.post("/organisations/<organisation_id>/spend/links/<path:reference>")
def decide_link(organisation_id: str, reference: str) -> Any:
    caller = require_organisation(organisation_id)
    body = json_body(links.LinkDecisionBody)
    return jsonify(links.apply_decision(spend_store(), search_index(), organisation_id, reference, body,
                                        caller.key_id))


@bp.delete("/organisations/<organisation_id>/spend/links/<path:reference>")
def undo_link_decision(organisation_id: str, reference: str) -> Any:
    """Undo a confirmation or rejection (`?supplier_key=` when several suppliers share the reference)."""
    require_organisation(organisation_id)
    return jsonify(links.undo_decision(spend_store(), organisation_id, reference,
                                       request.args.get("supplier_key")))


@bp.put("/organisations/<organisation_id>/targets/<target_id>")
def put_target(organisation_id: str, target_id: str) -> Any:
    require_organisation(organisation_id)
    body = json_body(TargetBody)
    plans().put("targets", organisation_id, _item_id(target_id, "target_id"), body)
    return jsonify({"id": target_id, **body.model_dump(mode="json")})


@bp.get("/organisations/<organisation_id>/targets/<target_id>")
def get_target(organisation_id: str, target_id: str) -> Any:
    require_organisation(organisation_id)
    body = plans().get_target(organisation_id, target_id)
    if body is None:
        raise NotFound("no such target")
    return jsonify({"id": target_id, **body.model_dump(mode="json")})


@bp.get("/organisations/<organisation_id>/targets")
def list_targets(organisation_id: str) -> Any:
    require_organisation(organisation_id)
    return jsonify([{"id": i, **t.model_dump(mode="json")} for i, t in plans().targets(organisation_id).items()])


@bp.delete("/organisations/<organisation_id>/targets/<target_id>")
def delete_target(organisation_id: str, target_id: str) -> Any:
    require_organisation(organisation_id)
    if not plans().delete("targets", organisation_id, target_id):
        raise NotFound("no such target")
    return "", 204


@bp.put("/organisations/<organisation_id>/pipeline/<package_id>")
def put_package(organisation_id: str, package_id: str) -> Any:
    require_organisation(organisation_id)
    body = json_body(PackageBody)
    plans().put("pipeline", organisation_id, _item_id(package_id, "package_id"), body)
    return jsonify({"id": package_id, **body.model_dump(mode="json")})


@bp.get("/organisations/<organisation_id>/pipeline/<package_id>")
def get_package(organisation_id: str, package_id: str) -> Any:
    require_organisation(organisation_id)
    package = plans().packages(organisation_id).get(package_id)
    if package is None:
        raise NotFound("no such package")
    return jsonify({"id": package_id, **package.model_dump(mode="json")})


@bp.get("/organisations/<organisation_id>/pipeline")
def list_pipeline(organisation_id: str) -> Any:
    require_organisation(organisation_id)
    return jsonify([{"id": i, **p.model_dump(mode="json")} for i, p in plans().packages(organisation_id).items()])


@bp.delete("/organisations/<organisation_id>/pipeline/<package_id>")
def delete_package(organisation_id: str, package_id: str) -> Any:
    require_organisation(organisation_id)
    if not plans().delete("pipeline", organisation_id, package_id):
        raise NotFound("no such package")
    return "", 204


def _target(organisation_id: str, target_id: str) -> tuple[TargetBody, Ledger]:
    require_organisation(organisation_id)
    body = plans().get_target(organisation_id, target_id)
    if body is None:
        raise NotFound("no such target")
    return body, build_ledger(spend_store(), search_index(), organisation_id, body)


@bp.get("/organisations/<organisation_id>/targets/<target_id>/report")
def report(organisation_id: str, target_id: str) -> Any:
    body, ledger = _target(organisation_id, target_id)
    as_of = _as_of()
    return jsonify(reports.report_json(target_id, body, target_progress(ledger, body, as_of), ledger,
                                       cumulative(ledger, body, as_of)))


@bp.get("/organisations/<organisation_id>/targets/<target_id>/report.csv")
def report_csv(organisation_id: str, target_id: str) -> Any:
    _, ledger = _target(organisation_id, target_id)
    return Response(report_files.report_csv(ledger), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{target_id}.csv"'})


@bp.get("/organisations/<organisation_id>/targets/<target_id>/report.xlsx")
def report_xlsx(organisation_id: str, target_id: str) -> Any:
    body, ledger = _target(organisation_id, target_id)
    org = accounts().organisation(organisation_id)
    data = report_files.report_xlsx(org.name if org else organisation_id, target_id, body,
                                    target_progress(ledger, body, _as_of()), ledger)
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{target_id}.xlsx"'})


@bp.get("/organisations/<organisation_id>/targets/<target_id>/chart.svg")
def chart(organisation_id: str, target_id: str) -> Any:
    body, ledger = _target(organisation_id, target_id)
    as_of = _as_of()
    progress = target_progress(ledger, body, as_of)
    return Response(charts.chart_svg(body, cumulative(ledger, body, as_of), progress.target_pence),
                    mimetype="image/svg+xml",
                    headers={"Content-Disposition": f'inline; filename="{target_id}-chart.svg"'})


@bp.get("/organisations/<organisation_id>/targets/<target_id>/recommendations")
def recommend_route(organisation_id: str, target_id: str) -> Any:
    body, ledger = _target(organisation_id, target_id)
    as_of = _as_of()
    progress = target_progress(ledger, body, as_of)
    result = recommendations(plans().packages(organisation_id), progress.gap_pence, as_of, body, _best_match)
    return jsonify({
        "gap_pence": result.gap_pence,
        "covered_pence": result.covered_pence,
        "closes_gap": result.closes_gap,
        "placements": [_placement(p.package, p.closes_pence) for p in result.placements],
        "without_suitable_supplier": [_unplaced(p) for p in result.unsuitable],
    })


def _unplaced(package: Any) -> dict[str, Any]:
    """A package nobody in the directory fits, said so, with the closest weak fit if there was one."""
    shown = package.supplier
    return {
        "package_id": package.id,
        "message": "No suitable social enterprise in the directory for this package.",
        "closest_supplier_name": shown.name if shown else None,
        "closest_fit": shown.fit if shown else None,
        "closest_distance_km": shown.distance_km if shown else None,
    }


def _placement(package: Any, closes_pence: int) -> dict[str, Any]:
    shown = package.supplier
    return {
        "package_id": package.id,
        "supplier_id": package.supplier_id,
        "supplier_name": shown.name if shown else None,
        "distance_km": shown.distance_km if shown else None,
        "fit": shown.fit if shown else None,
        "reason": shown.reason if shown else None,
        "match_score": round(package.match_score, 4),
        "value_pence": package.total_value_pence or package.value_pence,
        "value_in_period_pence": package.value_pence,
        "closes_pence": closes_pence,
    }


def _best_match(package: PackageBody) -> BestSupplier | None:
    """The matcher's best social enterprise for a package's lot, exactly as `/match` ranks them."""
    try:
        ctx = matcher().prepare(package.lot)
    except LotError:
        return None
    found = matcher().ranked(ctx, 1)
    if not found:
        return None
    best = found[0]
    distance = None if best.distance_km is None else round(best.distance_km, 1)
    return BestSupplier(best.supplier.id, best.score, SupplierFit(best.supplier.name, distance, best.reason, best.fit))
