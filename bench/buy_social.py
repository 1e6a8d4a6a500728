"""A main contractor's Buy Social report at 60 spend records: how long each part takes to render.

    python -m bench.buy_social [--runs 30]

The directory is the shipped sample (`data/sample/listings.jsonl`, 13,158 real organisations) in a
fresh embedded index; the organisation has a £2m target for a year that began eight months ago,
60 spend records over those eight months (with six real social enterprises by directory id,
ordinary suppliers by name, and a credit note) and three pipeline packages still to come, one
over two years, so the recommendations really match them against the directory. Each of
the matcher's report routes is timed through Flask's test client, one request at a time after
one untimed warm-up; then the whole `/buy-social` page, which the directory renders from nine
calls to the matcher, here served on a local port by a thread of this process.

Target (issue 12): the 60-record report renders in <= 300 ms.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from bench.timing import latency_summary
from services.directory.app import create_app as directory_app
from services.matcher.app import create_app as matcher_app
from services.matcher.spend.store import PackageBody, SqliteOrganisationPlans, TargetBody
from shared.accounts import Role, SqliteAccountStore
from shared.models import Listing, Lot, SpendRecord
from shared.search.factory import open_search_index
from shared.spend_store import SqliteSpendStore

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "listings.jsonl"
SOCIAL = ("coop:R002196", "coop:R002424", "coop:R002847", "coop:R000783", "coop:R000001", "coop:R000003")
ORDINARY = ("Travis Perkins", "Big Facilities Ltd", "Wickes Building Supplies", "Speedy Hire")
ROUTES = ("report", "report.csv", "report.xlsx", "chart.svg", "recommendations")
START = date.today() - timedelta(days=243)


def build(tmp: Path) -> dict[str, Any]:
    urls = {"search_url": f"sqlite:///{tmp}/search.db", "accounts_url": f"sqlite:///{tmp}/accounts.db",
            "spend_url": f"sqlite:///{tmp}/spend.db", "events_url": f"sqlite:///{tmp}/events.db"}
    index = open_search_index(urls["search_url"])
    index.ensure_index()
    with SAMPLE.open(encoding="utf-8") as lines:
        index.bulk_upsert([Listing.model_validate_json(line).index_document() for line in lines])
    index.close()
    accounts = SqliteAccountStore(f"{tmp}/accounts.db")
    org = accounts.create_organisation("Builder plc").id
    key = accounts.create_key(Role.member, org)[1]
    accounts.close()
    store = SqliteSpendStore(tmp / "spend.db")
    store.upsert([(record, None) for record in spend(org)])
    store.close()
    plans = SqliteOrganisationPlans(tmp / "accounts.db")
    plans.put("targets", org, "fy", TargetBody(name="Buy Social this year", start=START,
                                               end=START + timedelta(days=364), amount_pence=200_000_000))
    for package_id, (title, cpv, postcode, value, in_days, days) in {
        "site-cleaning": ("Office cleaning", "90910000", "LS1 1UN", 30_000_000, 1, 730),
        "landscaping": ("Grounds maintenance", "77314000", "LS9 8AA", 15_000_000, 45, 1),
        "printing": ("Printing of site signage", "79800000", "M1 1AA", 8_000_000, 60, 1),
    }.items():
        starts = date.today() + timedelta(days=in_days)
        lot = Lot(title=title, description=title, cpv_codes=[cpv], postcode=postcode, radius_km=40)
        plans.put("pipeline", org, package_id, PackageBody(lot=lot, value_pence=value, expected_on=starts,
                                                           ends_on=starts + timedelta(days=days - 1)))
    plans.close()
    return {"urls": urls, "org": org, "key": key}


def spend(org: str) -> list[SpendRecord]:
    """60 records over the year's first eight months; most suppliers are listed social enterprises."""
    out = []
    for i in range(60):
        supplier: dict[str, Any] = ({"supplier_id": SOCIAL[i % len(SOCIAL)]} if i % 3 == 0 or i % 5 == 0
                                    else {"supplier_name": ORDINARY[i % len(ORDINARY)]})
        out.append(SpendRecord(organisation=org, reference=f"INV-{1000 + i}", date=START + timedelta(days=4 * i),
                               amount_pence=-450_000 if i == 59 else 100_045 + 13_700 * i,
                               spend_type=("direct", "indirect")[i % 2], **supplier))
    return out


def timed(call: Any, runs: int) -> tuple[list[float], list[float]]:
    call()  # warm-up: the words' statistics and the first connections, as in a running service
    wall, cpu = [], []
    for _ in range(runs):
        started, used = time.perf_counter(), time.process_time()
        call()
        cpu.append((time.process_time() - used) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    return wall, cpu


def ok(response: Any) -> Any:
    if response.status_code != 200:
        raise SystemExit(f"answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
    return response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-buy-social-") as tmp:
        world = build(Path(tmp))
        matcher = matcher_app(world["urls"])
        client, headers = matcher.test_client(), {"X-API-Key": world["key"]}
        base = f"/organisations/{world['org']}/targets/fy/"
        report = ok(client.get(base + "report", headers=headers)).json["progress"]
        placed = ok(client.get(base + "recommendations", headers=headers)).json["placements"]
        social, addressable = report["social_pence"] / 100, report["addressable_pence"] / 100
        print(f"60 spend records, a £2m target, 3 pipeline packages; {args.runs} runs each. The report:"
              f" £{social:,.2f} with social enterprises of £{addressable:,.2f},"
              f" {report['achieved_percentage']}% of the target; placements: "
              + ", ".join(f"{p['package_id']} with {p['supplier_name']}" for p in placed))
        for route in ROUTES:
            wall, cpu = timed(lambda r=route: ok(client.get(base + r, headers=headers)), args.runs)
            print(latency_summary(route, wall, cpu))
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request would drown the figures
        server = make_server("127.0.0.1", 0, matcher, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            directory = directory_app({"search_url": world["urls"]["search_url"],
                                       "matcher_url": f"http://127.0.0.1:{server.server_port}"}).test_client()
            form = {"organisation_id": world["org"], "api_key": world["key"]}
            wall, cpu = timed(lambda: ok(directory.post("/buy-social", data=form)), args.runs)
            print(latency_summary("/buy-social page (all of it)", wall, cpu))
            print(f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        finally:
            server.shutdown()


if __name__ == "__main__":
    main()
