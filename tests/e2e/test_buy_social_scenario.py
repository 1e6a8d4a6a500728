"""A main contractor's year, end to end over HTTP on real processes (ingest and matcher under
gunicorn, the consumer): 60 spend records April to November as a CSV, a £2m target, three
pipeline packages. Nothing is lost (two suppliers' INV-1001 both count), the reply's counts match
what the consumer stored, a credit note nets off, a broken file gets every error in one reply,
and the workbook read back with openpyxl holds numbers and dates, not text."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest
import requests
from openpyxl import load_workbook

from shared.accounts import Role, SqliteAccountStore
from shared.search.factory import open_search_index
from tests.e2e.processes import Stack, embedded_env_with_directory

pytestmark = pytest.mark.slow

HEADER = ["reference", "date", "amount", "supplier_id", "supplier_name", "supplier_company_number", "spend_type"]
SOCIAL = {"t:clean-leeds", "t:garden-leeds", "t:builders-leeds"}
TARGET = {"name": "Buy Social 2025/26", "start": "2025-04-01", "end": "2026-03-31", "amount_pence": 200_000_000}
BUILDERS = {"id": "t:builders-leeds", "name": "Leeds Community Builders CIC", "legal_form": "cic",
            "company_number": "09876543", "source": "test", "postcode": "LS1 1UN",
            "description": "Building repairs and refurbishment by apprentices.", "services": ["building repairs"],
            "updated_at": "2025-03-01T00:00:00Z"}


@dataclass(frozen=True)
class Row:
    reference: str
    paid_on: date
    pence: int
    supplier: str  # the listing it counts for, or the ordinary supplier's name
    cells: list[str]


def year_of_spend() -> list[Row]:
    """60 payments, 1 April to 26 November 2025, in the forms a finance export takes: pounds with
    and without £ and commas, ISO and UK dates, suppliers by directory id, by company number and
    by name; two suppliers' invoices numbered INV-1001, and a credit note."""
    rows = []
    for i in range(60):
        day = date(2025, 4 + i // 8, 1 + (i % 8) * 3)
        pence = 100_045 + 13_700 * i
        reference = f"INV-{1000 + i}"
        kind = i % 5
        if i == 0:
            reference, pence = "INV-1001", 500_000  # £5,000 with a social enterprise ...
        if i == 3:
            reference, pence = "INV-1001", 1_000_000  # ... and £10,000 with Travis Perkins, the same number
        if i == 59:
            reference, pence = "CN-2001", -450_000
        supplier_id, name, number, spend_type = "", "", "", ("direct", "indirect")[i % 2]
        if kind == 0:
            supplier_id = supplier = "t:clean-leeds"
        elif kind == 1:
            name, number, supplier = "Leeds Community Builders", "9876543", "t:builders-leeds"
        elif kind == 2 or i == 59:
            supplier_id = supplier = "t:garden-leeds"
        elif kind == 3:
            name = supplier = "Travis Perkins"
        else:
            name = supplier = "Big Facilities Ltd"
        if i == 1:
            reference = "INV-1001-B"  # the builders' own number, so only two suppliers share INV-1001
        amount = _pounds(pence, i)
        when = day.isoformat() if i % 3 else day.strftime("%d/%m/%Y")
        rows.append(Row(reference, day, pence, supplier,
                        [reference, when, amount, supplier_id, name, number, spend_type]))
    return rows


def _pounds(pence: int, i: int) -> str:
    pounds = f"{abs(pence) / 100:,.2f}"
    if pence < 0:
        return f"({pounds})"
    return f"£{pounds}" if i % 2 else pounds.replace(",", "")


def as_csv(cells: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(cells)
    return out.getvalue()


@dataclass
class Scenario:
    ingest: str
    matcher: str
    org: str
    key: str

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.matcher}/organisations/{self.org}{path}",
                                headers={"X-API-Key": self.key}, timeout=30, **kwargs)

    def send_csv(self, text: str) -> requests.Response:
        return requests.post(f"{self.ingest}/spend", data=text.encode("utf-8"), timeout=30,
                             headers={"X-API-Key": self.key, "Content-Type": "text/csv"})


def eventually(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout_s: float = 30) -> Any:
    deadline = time.monotonic() + timeout_s
    value = fetch()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.3)
        value = fetch()
    return value


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    tmp = tmp_path_factory.mktemp("buy-social-scenario")
    env = embedded_env_with_directory(tmp, "bsy")
    accounts = SqliteAccountStore(f"{tmp}/accounts.db")
    org = accounts.create_organisation("Builder plc")
    key, admin = accounts.create_key(Role.member, org.id)[1], accounts.create_key(Role.admin)[1]
    accounts.close()
    stack = Stack(env=env, log_dir=tmp)
    try:
        ingest, matcher = stack.start_service("ingest"), stack.start_service("matcher")
        stack.start_consumer()
        listed = requests.post(f"{ingest}/listings", json=BUILDERS, headers={"X-API-Key": admin}, timeout=30)
        assert listed.status_code == 202
        index = open_search_index(env["SEARCH_URL"], prefix=env["INDEX_PREFIX"])
        assert eventually(lambda: index.get(BUILDERS["id"]), lambda doc: doc is not None) is not None
        index.close()
        yield Scenario(ingest, matcher, org.id, key)
    finally:
        stack.stop_all()


def test_a_contractors_year_of_spend_is_never_silently_lost(scenario: Scenario) -> None:
    rows = year_of_spend()
    cells = [r.cells for r in rows]

    # A broken copy of the file first: every problem in one reply, by the file's line and column.
    broken = [list(c) for c in cells]
    broken[3][2] = "12,34.5x"  # line 5
    broken[7][1] = "31/02/2025"  # line 9
    broken[18][3:6] = ["", "", ""]  # line 20: no supplier at all
    broken[28] = list(broken[8])  # line 30: line 10 again
    refused = scenario.send_csv(as_csv(broken))
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == [
        "line 5: amount", "line 9: date", "line 20: supplier_name", "line 30: reference"]
    assert "line 10" in refused.json()["errors"][3]["message"]

    reply = scenario.send_csv(as_csv(cells))
    assert reply.status_code == 202
    body = reply.json()
    assert (body["stored"], body["updated"], body["unchanged"]) == (60, 0, 0)
    stored = eventually(lambda: scenario.call("GET", "/spend").json(), lambda records: len(records) >= 60)
    assert len(stored) == 60  # the broken upload published nothing; nothing of this one was lost
    assert sorted(r["amount_pence"] for r in stored if r["reference"] == "INV-1001") == [500_000, 1_000_000]
    assert sum(r["amount_pence"] for r in stored) == sum(r.pence for r in rows)

    # The same file again, one invoice corrected and one added: the counts say so, field by field.
    cells[11][2] = "9999.99"
    extra = ["INV-2002", "2025-11-28", "2500.00", "t:clean-leeds", "", "", "direct"]
    again = scenario.send_csv(as_csv([*cells, extra])).json()
    assert (again["stored"], again["updated"], again["unchanged"]) == (1, 1, 59)
    [changed] = [c for c in again["changes"] if c["change"] == "updated"]
    assert changed["where"] == "line 13" and changed["fields"]["amount_pence"]["to"] == 999_999
    stored = eventually(lambda: scenario.call("GET", "/spend").json(),
                        lambda records: len(records) == 61 and any(r["amount_pence"] == 999_999 for r in records))
    assert len(stored) == 61 and any(r["amount_pence"] == 999_999 for r in stored)

    rows[11] = Row(rows[11].reference, rows[11].paid_on, 999_999, rows[11].supplier, cells[11])
    rows.append(Row("INV-2002", date(2025, 11, 28), 250_000, "t:clean-leeds", extra))
    check_report(scenario, rows)


def check_report(scenario: Scenario, rows: list[Row]) -> None:
    social = sum(r.pence for r in rows if r.supplier in SOCIAL)
    assert scenario.call("PUT", "/targets/fy25", json=TARGET).status_code == 200
    report = scenario.call("GET", "/targets/fy25/report", params={"as_of": "2025-11-30"}).json()
    progress = report["progress"]
    assert progress["social_pence"] == social and progress["addressable_pence"] == sum(r.pence for r in rows)
    assert progress["credit_pence"] == -450_000  # netted: Green Spaces Training's total is less by it
    garden = sum(r.pence for r in rows if r.supplier == "t:garden-leeds")
    assert progress["by_supplier"]["t:garden-leeds"] == garden
    assert progress["achieved_percentage"] == round(100 * social / 200_000_000, 2)
    assert report["supplier_names"]["t:builders-leeds"] == "Leeds Community Builders CIC"
    check_workbook(scenario, rows, social)
    check_recommendations(scenario)


def check_workbook(scenario: Scenario, rows: list[Row], social: int) -> None:
    xlsx = scenario.call("GET", "/targets/fy25/report.xlsx", params={"as_of": "2025-11-30"})
    book = load_workbook(io.BytesIO(xlsx.content))
    summary = {label: value for label, value in book["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["Organisation"] == "Builder plc"
    assert summary["Target (£)"] == 2_000_000 and isinstance(summary["Target (£)"], int | float)
    assert summary["Spent with social enterprises (£)"] == social / 100
    assert isinstance(summary["Period starts"], datetime) and summary["Period starts"].date() == date(2025, 4, 1)
    assert summary["Target achieved"] == pytest.approx(social / 200_000_000)
    assert book["Summary"]["B8"].number_format == '"£"#,##0.00;[Red]-"£"#,##0.00'
    sheet = book["Ledger"]
    header = [c.value for c in sheet[1]]
    ledger = [dict(zip(header, values, strict=True)) for values in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(ledger) == len(rows)
    assert all(isinstance(r["Date paid"], datetime) and isinstance(r["Amount (£)"], int | float) for r in ledger)
    assert sum(round(r["Amount (£)"] * 100) for r in ledger) == sum(r.pence for r in rows)
    [credit] = [r for r in ledger if r["Reference"] == "CN-2001"]
    assert credit["Type"] == "Credit note" and credit["Amount (£)"] == -4500.0
    assert credit["Supplier in the directory"] == "Green Spaces Training" and credit["Legal form"] == "Charity or CIO"
    builders = next(r for r in ledger if r["Directory ID"] == "t:builders-leeds")
    assert builders["Registry numbers"] == "Companies House 09876543"
    assert builders["Legal form"] == "Community interest company (CIC)" and builders["Social enterprise"] == "Yes"
    assert builders["How the supplier was linked"] == "By registry number"
    assert builders["Verification"].startswith("Listed in test, record of 2025-03-01")
    travis = [r for r in ledger if r["Supplier (as paid)"] == "Travis Perkins"]
    assert travis and all(r["Social enterprise"] == "No" for r in travis)
    text = scenario.call("GET", "/targets/fy25/report.csv").text
    assert len(list(csv.DictReader(io.StringIO(text)))) == len(rows) and "(£)" in text.splitlines()[0]


def check_recommendations(scenario: Scenario) -> None:
    packages = {
        "cleaning": ({"title": "Office cleaning", "description": "Daily office cleaning", "cpv_codes": ["90910000"],
                      "postcode": "LS1 1UN", "radius_km": 30}, 30_000_000, "2025-12-01", "2027-11-30"),
        "grounds": ({"title": "Grounds maintenance", "description": "Grounds maintenance and landscaping",
                     "cpv_codes": ["77314000"], "postcode": "LS1 1UN", "radius_km": 30}, 15_000_000, "2026-01-15",
                    None),
        "bikes": ({"title": "Bicycle repair", "description": "Repairing staff pool bicycles",
                   "cpv_codes": ["50000000"], "postcode": "M1 1AA", "radius_km": 30}, 8_000_000, "2026-02-01", None),
    }
    for package_id, (lot, value, starts, ends) in packages.items():
        body = {"lot": lot, "value_pence": value, "expected_on": starts, **({"ends_on": ends} if ends else {})}
        assert scenario.call("PUT", f"/pipeline/{package_id}", json=body).status_code == 200
    result = scenario.call("GET", "/targets/fy25/recommendations", params={"as_of": "2025-11-30"}).json()
    placed = {p["package_id"]: p for p in result["placements"]}
    assert set(placed) == set(packages)  # the gap is larger than all three together
    # The two-year package counts for the 121 of its 730 days that fall before 31 March 2026.
    assert placed["cleaning"]["value_in_period_pence"] == 30_000_000 * 121 // 730
    assert placed["cleaning"]["supplier_name"] == "Sparkle Cleaning CIC" and placed["cleaning"]["reason"]
    assert all(p["fit"] in ("strong", "possible", "weak") for p in placed.values())
    assert placed["bikes"]["supplier_name"] == "Bicycle Doctor" and placed["bikes"]["distance_km"] < 5
    assert result["covered_pence"] == sum(p["value_in_period_pence"] for p in placed.values())
