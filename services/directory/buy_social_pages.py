"""The Buy Social page: a member's progress against their targets (the share of each target
achieved first), spend links awaiting confirmation and the decisions made (with undo), the chart
of cumulative spend against the target line (with its figures as a table), breakdowns, the
pipeline with the recommended placements, and CSV/XLSX/SVG downloads.

The page is a view over the matcher's Buy Social API, called server-side with the member's key.
The key is typed into a POST form and travels only in request bodies and the `X-API-Key`
header: never in a URL (so never in history, server logs or a Referer), never in a cookie, and
nothing is kept between requests. The page that shows the results carries it in the hidden
fields of its download and decision forms (so a member need not type it for each), and is sent
with `Cache-Control: no-store` so the browser keeps no copy of it. The forms need no CSRF token:
each carries the key itself, which a forging site cannot know.
"""

from __future__ import annotations

import base64
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
from flask import Blueprint, Response, render_template, request
from werkzeug.datastructures import MultiDict

from services.directory.html_errors import register_html_errors
from services.directory.matcher_client import MatcherError, matcher_client
from shared.accounts import is_key_shaped
from shared.models import has_dot_segment
from shared.web import search_index

log = logging.getLogger(__name__)
bp = Blueprint("buy_social", __name__, template_folder="templates")
register_html_errors(bp)
ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
EXPORTS = {"csv": "report.csv", "xlsx": "report.xlsx", "svg": "chart.svg"}
FIELD_LABELS = {"organisation_id": "Organisation ID", "api_key": "API key"}
REFUSED = "The organisation ID and API key do not match. Check both, or ask your administrator for a new key."


class Refused(Exception):
    """The matcher did not accept the organisation and key (or answered with a problem to show)."""

    def __init__(self, errors: list[dict[str, str]], status: int = 403) -> None:
        super().__init__(errors[0]["message"])
        self.errors, self.status = errors, status


@dataclass(frozen=True)
class Member:
    organisation_id: str
    api_key: str


@bp.app_template_filter("pence_to_pounds")
def pence_to_pounds(pence: int | None) -> str:
    """`£1,234.50`, and `-£200.00` for a credit."""
    if pence is None:
        return "–"
    return f"{'-' if pence < 0 else ''}£{abs(pence) / 100:,.2f}"


@bp.get("/buy-social")
def buy_social_page() -> Any:
    return _page(form=MultiDict())


@bp.post("/buy-social")
def buy_social_progress() -> Any:
    try:
        member = _member(request.form)
        return _page(form=request.form, member=member, dashboard=_dashboard(member))
    except Refused as exc:
        return _page(form=request.form, errors=exc.errors, status=exc.status)


@bp.post("/buy-social/links")
def buy_social_decide() -> Any:
    """Confirm or reject a suggested link, then show the page again with the outcome."""
    try:
        member = _member(request.form)
        errors, notice = _decide(member, request.form)
        return _page(
            form=request.form,
            member=member,
            dashboard=_dashboard(member),
            errors=errors,
            notice=notice,
            status=400 if errors else 200,
        )
    except Refused as exc:
        return _page(form=request.form, errors=exc.errors, status=exc.status)


@bp.post("/buy-social/links/undo")
def buy_social_undo() -> Any:
    """Undo a confirmation or rejection, then show the page again with the outcome."""
    try:
        member = _member(request.form)
        errors, notice = _undo(member, request.form)
        return _page(form=request.form, member=member, dashboard=_dashboard(member), errors=errors, notice=notice,
                     status=400 if errors else 200)
    except Refused as exc:
        return _page(form=request.form, errors=exc.errors, status=exc.status)


def _decide(member: Member, form: Any) -> tuple[list[dict[str, str]], str | None]:
    """The matcher's refusal to show, or the notice of what was decided."""
    body = {"supplier_id": form.get("supplier_id", ""), "decision": form.get("decision", "")}
    if form.get("supplier_key"):
        body["supplier_key"] = form["supplier_key"]
    try:
        decided = _call("POST", member, f"/spend/links/{quote(form.get('reference', ''), safe='')}", json=body).json()
    except Refused as exc:
        return exc.errors, None
    verb = "Confirmed" if decided["status"] == "confirmed" else "Rejected"
    return [], f"{verb} the supplier of {decided['reference']}."


def _undo(member: Member, form: Any) -> tuple[list[dict[str, str]], str | None]:
    params = {"supplier_key": form["supplier_key"]} if form.get("supplier_key") else {}
    try:
        undone = _call("DELETE", member, f"/spend/links/{quote(form.get('reference', ''), safe='')}",
                       params=params).json()
    except Refused as exc:
        return exc.errors, None
    return [], f"Undone: the supplier of {undone['reference']} is waiting for your decision again."


@bp.post("/buy-social/export")
def buy_social_export() -> Any:
    """The target's report as a file: the directory asks the matcher with the key and passes it on."""
    try:
        member = _member(request.form)
        target_id, kind = request.form.get("target_id", ""), request.form.get("format", "")
        if not ID_PATTERN.match(target_id) or has_dot_segment(target_id) or kind not in EXPORTS:
            raise Refused([{"field": "", "message": "Choose a target and a format (CSV, XLSX or SVG) to download."}],
                          400)
        response = _call("GET", member, f"/targets/{target_id}/{EXPORTS[kind]}")
    except Refused as exc:
        return _page(form=request.form, errors=exc.errors, status=exc.status)
    # content_type, not mimetype: the matcher's header already names its charset, once.
    return _no_store(
        Response(
            response.content,
            content_type=response.headers.get("content-type"),
            headers={"Content-Disposition": f'attachment; filename="{target_id}-{EXPORTS[kind]}"'},
        )
    )


def _member(form: Any) -> Member:
    organisation_id, api_key = form.get("organisation_id", "").strip(), form.get("api_key", "").strip()
    errors = []
    if not organisation_id:
        errors.append({"field": "organisation_id", "message": "Enter your organisation ID"})
    elif not ID_PATTERN.match(organisation_id) or has_dot_segment(organisation_id):
        errors.append(
            {
                "field": "organisation_id",
                "message": "Enter the organisation ID as you were given it, for example org_1a2b3c4d5e6f",
            }
        )
    if not api_key:
        errors.append({"field": "api_key", "message": "Enter your API key"})
    elif not is_key_shaped(api_key):  # it could not be a key, and could not travel in a header
        errors.append({"field": "api_key", "message": "Enter the API key as you were given it, starting smk_"})
    if errors:
        raise Refused(errors, 400)
    return Member(organisation_id, api_key)


def _call(method: str, member: Member, path: str, **kwargs: Any) -> requests.Response:
    """One matcher call. A refused key, another organisation's id and a missing item look alike
    (401, 404): the page says only that the two do not match, as the API does."""
    try:
        response = matcher_client().organisation(method, member.organisation_id, path, member.api_key, **kwargs)
    except MatcherError as exc:
        raise Refused([{"field": "", "message": f"{exc.detail[:1].upper()}{exc.detail[1:]}."}], 503) from exc
    if response.status_code in (401, 403, 404):
        raise Refused([{"field": "api_key", "message": REFUSED}])
    if response.status_code >= 500:
        log.warning("matcher answered %d for %s", response.status_code, path)
        raise Refused([{"field": "", "message": "The Buy Social service could not answer. Try again later."}], 503)
    if response.status_code >= 400:
        problem = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        detail = str(problem.get("detail") or "the request was refused")
        raise Refused([{"field": "", "message": f"{detail[:1].upper()}{detail[1:]}."}], 400)
    return response


def _dashboard(member: Member) -> dict[str, Any]:
    organisation = _call("GET", member, "").json()
    targets = [_target(member, t["id"]) for t in _call("GET", member, "/targets").json()]
    links = {status: _call("GET", member, "/spend/links", params={"status": status}).json()
             for status in ("unconfirmed", "rejected", "confirmed")}
    pipeline = {p["id"]: p for p in _call("GET", member, "/pipeline").json()}
    index = search_index()
    for link in links["rejected"] + links["confirmed"]:
        chosen = link["decision"]["supplier_id"]
        link["decided_name"] = (index.get(chosen) or {}).get("name", chosen)
    return {"organisation": organisation, "targets": targets, "pending": links["unconfirmed"],
            "decided": links["rejected"] + links["confirmed"], "pipeline": pipeline}


def _target(member: Member, target_id: str) -> dict[str, Any]:
    """A target's report, its chart as an image (with a text alternative built from the same
    numbers) and the names of the suppliers its breakdown lists."""
    report = _call("GET", member, f"/targets/{quote(target_id, safe='')}/report").json()
    svg = _call("GET", member, f"/targets/{quote(target_id, safe='')}/chart.svg").content
    # An <img> of a data: URI: the SVG's own ids cannot clash with the page's, and nothing in it runs.
    report["chart_uri"] = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    report["recommendations"] = _call("GET", member, f"/targets/{quote(target_id, safe='')}/recommendations").json()
    return report


def _page(
    form: Any,
    member: Member | None = None,
    dashboard: dict[str, Any] | None = None,
    errors: list[dict[str, str]] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Any:
    html = render_template(
        "buy_social.html",
        form=form,
        member=member,
        dashboard=dashboard,
        errors=errors or [],
        notice=notice,
        field_labels=FIELD_LABELS,
    )
    return _no_store(Response(html, status=status, mimetype="text/html"))


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
