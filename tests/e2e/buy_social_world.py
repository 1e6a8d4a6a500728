"""One organisation's Buy Social data for the page tests, and a stack (matcher + directory under
gunicorn) serving it: a past year's target with spend with a listed social enterprise (and a
credit note), spend with an ordinary supplier, a link by name that awaits confirmation and one
that was rejected; and a target running now, with direct and indirect spend and a two-year
package in the pipeline that the matcher can place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from services.matcher.spend.store import PackageBody, SqliteOrganisationPlans, TargetBody
from shared.accounts import Role, SqliteAccountStore
from shared.models import Lot, SpendRecord
from shared.spend_store import Candidate, Linked, SqliteSpendStore, SupplierLink
from tests.e2e.processes import Stack, embedded_env_with_directory

OTHER_SECRET = "OTHER-ORG-SECRET"


@dataclass(frozen=True)
class Members:
    org: str
    key: str
    other_org: str
    other_key: str


def _spend(org: str, reference: str, pence: int, day: date, linked: Linked = None, **supplier: Any) -> Any:
    return SpendRecord(organisation=org, reference=reference, amount_pence=pence, date=day, **supplier), linked


def seed(accounts_path: Path, spend_path: Path) -> Members:
    """Write the stores the matcher reads; the target runs 2025-04-01 to 2026-03-31."""
    accounts = SqliteAccountStore(str(accounts_path))
    org, other = accounts.create_organisation("Builder plc"), accounts.create_organisation(OTHER_SECRET)
    key, other_key = accounts.create_key(Role.member, org.id)[1], accounts.create_key(Role.member, other.id)[1]
    accounts.close()
    plans = SqliteOrganisationPlans(accounts_path)
    for org_id, name in ((org.id, "Buy Social 2025/26"), (other.id, OTHER_SECRET)):
        target = TargetBody(name=name, start=date(2025, 4, 1), end=date(2026, 3, 31), amount_pence=500_000)
        plans.put("targets", org_id, "fy25", target)
    now = date.today()
    plans.put("targets", org.id, "now", TargetBody(name="Buy Social this year", start=now - timedelta(days=240),
                                                  end=now + timedelta(days=125), amount_pence=2_000_000))
    cleaning = Lot(title="Office cleaning", description="Daily cleaning of site offices", cpv_codes=["90910000"],
                   postcode="LS1 1UN", radius_km=30)
    plans.put("pipeline", org.id, "site-cleaning", PackageBody(
        lot=cleaning, value_pence=7_310_000, expected_on=now + timedelta(days=30), ends_on=now + timedelta(days=760)))
    plans.close()
    suggested = SupplierLink("t:clean-leeds", "unconfirmed", (Candidate("t:clean-leeds", "Sparkle Cleaning CIC", 78),))
    store = SqliteSpendStore(spend_path)
    store.upsert(
        [
            _spend(org.id, "INV-1", 120_000, date(2025, 5, 1), supplier_id="t:garden-leeds", category="grounds"),
            _spend(org.id, "INV-2", 300_000, date(2025, 6, 1), supplier_name="Big Facilities Ltd"),
            _spend(org.id, "INV-3", 40_000, date(2025, 6, 2), suggested, supplier_name="Sparkle Cleaning Services"),
            _spend(org.id, "CN-1", -20_000, date(2025, 7, 1), supplier_id="t:garden-leeds"),
            _spend(org.id, "INV-5", 25_000, date(2025, 7, 2), suggested, supplier_name="Sparkel Clean"),
            _spend(org.id, "INV-6", 50_000, date.today() - timedelta(days=200), supplier_id="t:garden-leeds",
                   spend_type="direct"),
            _spend(org.id, "INV-7", 30_000, date.today() - timedelta(days=100), supplier_id="t:garden-leeds",
                   spend_type="indirect"),
            _spend(other.id, OTHER_SECRET, 999, date(2025, 5, 1), supplier_name=OTHER_SECRET),
        ]
    )
    [rejected] = store.with_reference(org.id, "INV-5")
    store.decide(rejected.record.key, "t:clean-leeds", "reject", "seed")
    store.close()
    return Members(org.id, key, other.id, other_key)


@contextmanager
def buy_social_stack(tmp: Path) -> Iterator[tuple[str, Members]]:
    """The directory's URL, and the members whose data the stack serves; stopped on exit."""
    env = embedded_env_with_directory(tmp, "bs")
    members = seed(tmp / "accounts.db", tmp / "spend.db")
    stack = Stack(env=env, log_dir=tmp)
    try:
        stack.env["DIRECTORY_MATCHER_URL"] = stack.start_service("matcher")
        yield stack.start_service("directory"), members
    finally:
        stack.stop_all()
