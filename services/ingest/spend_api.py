"""`POST /spend`: an organisation's invoices or purchase orders, as JSON or as a CSV upload.

Only a member key may send spend, and always for its own organisation: the organisation comes
from the key, never from the body. The whole request is validated first and is all-or-nothing
(422 naming `[row].field`), then published to the `spend` topic keyed `organisation:reference`.

The CSV format (header row, UTF-8): `reference,date,amount,supplier_id,supplier_name,
supplier_company_number,supplier_charity_number,supplier_postcode,category,cpv_code` where `date` is YYYY-MM-DD
and `amount` is pounds with up to two decimals (`1234.50`); use `amount_pence` instead for whole
pence. Unknown columns are refused, so a typo never drops a field silently.
"""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, jsonify, request
from pydantic import ValidationError

from services.ingest.publishing import publish_listings
from shared.accounts import Role
from shared.errors import FieldError, Forbidden, InvalidInput, field_errors
from shared.events.envelope import with_provenance
from shared.limits import MAX_AMOUNT_PENCE
from shared.models import SpendRecord
from shared.web import event_log, principal, request_json, settings

bp = Blueprint("spend_intake", __name__)
CSV_COLUMNS = {"reference", "date", "amount", "amount_pence", "supplier_id", "supplier_name",
               "supplier_company_number", "supplier_charity_number", "supplier_postcode", "category", "cpv_code"}


@bp.post("/spend")
def post_spend() -> Any:
    caller = principal()
    if caller.role is not Role.member or caller.organisation_id is None:
        raise Forbidden("spend is sent with an organisation member's key")
    rows = _csv_rows() if request.mimetype == "text/csv" else _json_rows()
    if len(rows) > settings().max_batch_items:
        raise InvalidInput(f"at most {settings().max_batch_items} records per request",
                           [FieldError("body", "too many records")], status=413)
    records, errors = [], []
    for i, row in enumerate(rows):
        try:
            records.append(SpendRecord.model_validate({**row, "organisation": caller.organisation_id}))
        except ValidationError as exc:
            errors += field_errors(exc, f"[{i}]")
    if errors:
        raise InvalidInput("some spend records are invalid; nothing was published", errors, status=422)
    request_id = (request.headers.get("X-Request-ID") or uuid.uuid4().hex)[:100]
    payloads = [with_provenance(r.model_dump(mode="json", exclude_none=True), {"request_id": request_id, "item": i})
                for i, r in enumerate(records)]
    publish_listings(event_log(), settings().topic(settings().spend_topic), payloads)
    return jsonify({"accepted": len(records), "references": [r.reference for r in records],
                    "request_id": request_id}), 202


def _json_rows() -> list[dict[str, Any]]:
    body = request_json()
    rows = [body] if isinstance(body, dict) else body
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise InvalidInput("send a spend record object, a non-empty array of them, or text/csv",
                           [FieldError("body", "expected an object or a non-empty array of objects")])
    for row in rows:
        if "organisation" in row:
            raise InvalidInput("the organisation comes from your key", [FieldError("organisation", "not allowed")],
                               status=422)
    return rows


def _csv_rows() -> list[dict[str, Any]]:
    try:
        text = request.get_data().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the CSV is not UTF-8", [FieldError("body", str(exc))]) from exc
    reader = csv.DictReader(io.StringIO(text))
    unknown = set(reader.fieldnames or ()) - CSV_COLUMNS
    if not reader.fieldnames or unknown:
        raise InvalidInput("the CSV header names unknown columns",
                           [FieldError("header", f"unknown: {sorted(unknown)}")])
    return [_csv_row(i, row) for i, row in enumerate(reader)]


def _csv_row(i: int, row: dict[str, str | None]) -> dict[str, Any]:
    out: dict[str, Any] = {k: v.strip() for k, v in row.items() if k and v and v.strip()}
    if "amount" in out:
        try:
            pence = Decimal(out.pop("amount").replace(",", "").lstrip("£")) * 100
        except InvalidOperation as exc:
            raise InvalidInput("amount must be pounds, e.g. 1234.50", [FieldError(f"[{i}].amount", "not a number")],
                               status=422) from exc
        if not pence.is_finite() or abs(pence) > MAX_AMOUNT_PENCE:  # a magnitude bound: credit notes are negative
            raise InvalidInput("amount is out of range", [FieldError(f"[{i}].amount",
                               f"must be at most {MAX_AMOUNT_PENCE // 100} pounds")], status=422)
        if pence != pence.to_integral_value():
            raise InvalidInput("amount has fractions of a penny", [FieldError(f"[{i}].amount", "too precise")],
                               status=422)
        out["amount_pence"] = int(pence)
    return out
