"""The brokers' pages: "Find partners" and "Build a consortium", over the matcher's `/partners` and
`/consortia`, called server-side.

Both forms are GET searches, so an answer can be shared by copying its address; only an OCDS file
is POSTed, because a file cannot travel in a URL. The matcher validates every request. This module
checks first only what a person should be told in plain words (a question left unanswered, a
number that is not one) and maps the matcher's field paths back to the form's fields, so each
error shows beside its field and links from the summary.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from flask import Blueprint, render_template, request
from werkzeug.datastructures import MultiDict

from services.directory.html_errors import register_html_errors
from services.directory.labels import SIZE_BANDS, value_label
from services.directory.matcher_client import MatcherError, matcher_client
from services.directory.search_view import with_places
from shared import cpv
from shared.models import IMPACT_AREAS
from shared.web import search_index, settings

bp = Blueprint("brokers", __name__, template_folder="templates")
register_html_errors(bp)  # the same HTML error pages as the other pages

Args = MultiDict[str, str]
SECTORS = {
    "third": "Social enterprise, charity or community organisation",
    "public": "Public sector",
    "private": "Private business",
}
FEATURE_LABELS = {
    "capability_text": "What they do, in words like yours",
    "cpv_overlap": "Type of work (CPV codes)",
    "distance": "Distance",
    "service_area": "Works in the area",
    "social_value": "Social impact sought",
    "size_fit": "Size for the work",
    "complementarity": "Adds what you lack",
}
PART_LABELS = {
    "quality": "How well members match their requirements",
    "cohesion": "How close members are to each other",
    "proximity": "How close members are to the delivery place",
    "capacity": "Whether together they can carry the lot’s value",
}
MAX_REQUIREMENTS = 10
MAX_RADIUS_KM = 1500
_CPV_CODE = re.compile(r"^\d{8}(?:-\d)?$")
_REQUIREMENT = re.compile(r"^requirements\.(\d+)\b")

# Matcher field path (a prefix) -> the form field it came from; the first match wins.
PARTNER_FIELDS = {
    "organisation.name": "name",
    "organisation.sector": "sector",
    "organisation.description": "description",
    "organisation.cpv_codes": "cpv_codes",
    "organisation.impact_areas": "impact_area",
    "organisation.size_band": "size_band",
    "organisation": "postcode",  # the place: postcode, or the "needs a place" check
    "seeks.capabilities": "capabilities",
    "seeks.cpv_codes": "seek_cpv",
    "seeks.impact_areas": "seek_impact",
    "seeks.sectors": "sectors",
    "seeks.radius_km": "radius_km",
}
CONSORTIUM_FIELDS = {
    "lot.title": "title",
    "lot.cpv_codes": "cpv_codes",
    "lot.radius_km": "radius_km",
    "lot.value_pence": "value",
    "lot.social_value_priorities": "priority",
    "lot": "postcode",
    "requirements": "requirements",
    "max_members": "max_members",
    "proposals": "proposals",
}
OCDS_FIELDS = {"max_members": "ocds_max_members", "": "ocds"}  # every fault in the file is the file's


@bp.get("/partners")
def partners_page() -> Any:
    args = request.args
    if not args:
        return _page("partners.html", args)
    try:
        answer = matcher_client().partners(partner_request(args))
    except MatcherError as exc:
        return _page("partners.html", args, errors=form_errors(exc, PARTNER_FIELDS))
    with_places(search_index(), answer.get("results", []))
    return _page("partners.html", args, answer)


@bp.route("/consortia", methods=["GET", "POST"])
def consortia_page() -> Any:
    uploading = request.method == "POST"
    form: Args = request.form if uploading else request.args
    if not uploading and not form:
        return _page("consortia.html", form)
    try:
        if uploading:
            answer = matcher_client().consortia(*ocds_request(form))
        else:
            answer = matcher_client().consortia(consortium_request(form))
    except MatcherError as exc:
        return _page("consortia.html", form, errors=form_errors(exc, OCDS_FIELDS if uploading else CONSORTIUM_FIELDS))
    return _page("consortia.html", form, answer)


def _page(
    template: str, args: Args, answer: dict[str, Any] | None = None, errors: list[dict[str, str]] | None = None
) -> Any:
    """The page, with a 400 when the form needs correcting."""
    context = {
        "args": args,
        "answer": answer,
        "errors": errors or [],
        "sectors": SECTORS,
        "size_bands": SIZE_BANDS,
        "impact_options": [(area, value_label("impact_area", area)) for area in IMPACT_AREAS],
        "feature_labels": FEATURE_LABELS,
        "part_labels": PART_LABELS,
        "labels": {r["id"]: r["label"] for r in (answer or {}).get("requirements", [])},
    }
    return render_template(template, **context), 400 if errors else 200


def partner_request(args: Args) -> dict[str, Any]:
    """The `/partners` body for the form, or MatcherError naming every unanswered field."""
    problems: list[dict[str, str]] = []
    _require(args, "sector", "Select your organisation’s sector", problems, allowed=SECTORS)
    _require(args, "postcode", "Enter your postcode or district, like LS1 4AP or LS1", problems)
    _require(args, "capabilities", "Enter what you want a partner to bring", problems)
    if not args.getlist("sectors"):
        problems.append({"field": "sectors", "message": "Select at least one kind of partner"})
    radius = _decimal(args, "radius_km", 50, 0.1, MAX_RADIUS_KM, problems)
    if problems:
        raise MatcherError("There is a problem", problems)
    organisation: dict[str, Any] = {
        "name": args.get("name", "").strip() or "My organisation",
        "sector": args["sector"],
        "description": args.get("description", ""),
        "cpv_codes": codes(args.get("cpv_codes", "")),
        "impact_areas": args.getlist("impact_area"),
        "postcode": args["postcode"],
    }
    if args.get("size_band"):
        organisation["size_band"] = args["size_band"]
    seeks = {
        "capabilities": args["capabilities"],
        "cpv_codes": codes(args.get("seek_cpv", "")),
        "impact_areas": args.getlist("seek_impact"),
        "sectors": args.getlist("sectors"),
        "radius_km": radius,
    }
    return {"organisation": organisation, "seeks": seeks}


def consortium_request(args: Args) -> dict[str, Any]:
    """The `/consortia` body for the form, or MatcherError naming every field to correct."""
    problems: list[dict[str, str]] = []
    _require(args, "postcode", "Enter the delivery postcode or district, like LS1 4AP or LS1", problems)
    requirements = requirement_lines(args.get("requirements", ""))
    if len(requirements) > MAX_REQUIREMENTS:
        problems.append({"field": "requirements", "message": f"Enter at most {MAX_REQUIREMENTS} requirements"})
    if not requirements and not args.get("cpv_codes", "").strip():
        problems.append({"field": "requirements", "message": "Enter the lot’s requirements, one per line"})
    radius = _decimal(args, "radius_km", 50, 0.1, MAX_RADIUS_KM, problems)
    pounds = _decimal(args, "value", None, 0, 10**12, problems)
    max_members = _whole(args, "max_members", 3, 1, 6, problems)
    proposals = _whole(args, "proposals", 5, 1, 20, problems)
    if problems:
        raise MatcherError("There is a problem", problems)
    lot: dict[str, Any] = {
        "title": args.get("title", "").strip() or "Lot",
        "cpv_codes": codes(args.get("cpv_codes", "")),
        "postcode": args["postcode"],
        "radius_km": radius,
        "social_value_priorities": args.getlist("priority"),
    }
    if pounds is not None:
        lot["value_pence"] = round(pounds * 100)
    return {"lot": lot, "requirements": requirements, "max_members": max_members, "proposals": proposals}


def requirement_lines(text: str) -> list[dict[str, Any]]:
    """One requirement per non-empty line; CPV codes at the end of a line are that requirement's
    ("Office cleaning 90910000"). A line of codes alone is named by the first code's label."""
    out = []
    for number, line in enumerate(filter(str.strip, text.splitlines()), start=1):
        words = line.replace(",", " ").split()
        found: list[str] = []
        while words and _CPV_CODE.match(words[-1]):
            found.insert(0, words.pop())
        label = " ".join(words) or cpv.label(found[0][:8]) or found[0]
        out.append({"id": f"r{number}", "label": label, "cpv_codes": found})
    return out


def ocds_request(form: Args) -> tuple[dict[str, Any], int]:
    """The uploaded OCDS release (each of its lots is one requirement) and the most members wanted."""
    problems: list[dict[str, str]] = []
    max_members = _whole(form, "ocds_max_members", 3, 1, 6, problems)
    upload = request.files.get("ocds")
    body: Any = None
    if not upload or not upload.filename:
        problems.append({"field": "ocds", "message": "Select an OCDS file to upload"})
    else:
        try:
            body = orjson.loads(upload.read(settings().max_upload_bytes + 1))
        except (UnicodeDecodeError, json.JSONDecodeError):
            problems.append({"field": "ocds", "message": "The file must be an OCDS release in JSON"})
        else:
            if not isinstance(body, dict):
                problems.append({"field": "ocds", "message": "The file must be an OCDS release in JSON"})
    if problems:
        raise MatcherError("There is a problem", problems)
    return body, max_members


def codes(text: str) -> list[str]:
    return [c for c in text.replace(",", " ").split() if c]


def form_errors(exc: MatcherError, fields: dict[str, str]) -> list[dict[str, str]]:
    """The matcher's errors against the form's fields (its detail alone when it names none)."""
    if not exc.errors:
        return [{"field": "", "message": exc.detail}]
    return [_form_error(e.get("field", ""), e.get("message", ""), fields) for e in exc.errors]


def _form_error(path: str, message: str, fields: dict[str, str]) -> dict[str, str]:
    field = next(
        (name for prefix, name in fields.items() if path == prefix or path.startswith(f"{prefix}.") or not prefix), path
    )
    if (found := _REQUIREMENT.match(path)) is not None:
        message = f"Requirement {int(found.group(1)) + 1}: {message}"
    return {"field": field, "message": message}


def _require(
    args: Args, name: str, message: str, problems: list[dict[str, str]], allowed: dict[str, str] | None = None
) -> None:
    value = args.get(name, "").strip()
    if not value or (allowed is not None and value not in allowed):
        problems.append({"field": name, "message": message})


def _decimal(
    args: Args, name: str, default: float | None, low: float, high: float, problems: list[dict[str, str]]
) -> float | None:
    raw = args.get(name, "").strip().replace(",", "").lstrip("£")
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        problems.append({"field": name, "message": f"Enter a number from {low:g} to {high:,.0f}"})
        return default
    return value


def _whole(args: Args, name: str, default: int, low: int, high: int, problems: list[dict[str, str]]) -> int:
    raw = args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        problems.append({"field": name, "message": f"Enter a whole number from {low} to {high}"})
        return default
    return int(raw)
