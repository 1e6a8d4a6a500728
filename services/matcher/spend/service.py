"""Joining the stores: spend records + the directory -> ledger entries -> progress and recommendations.

A payment counts as social-enterprise spend when its supplier is linked to a listing that is in
the directory; any other payment is addressable spend only. Payments whose supplier could not be
linked are reported as such, for a person to link: they are never guessed. A link by name that
ingest only suggested counts once a member of the organisation confirms it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from services.matcher.spend.ledger import LedgerEntry, Progress, Target, progress
from services.matcher.spend.recommend import Package, Recommendation, SupplierFit, recommend
from services.matcher.spend.store import PackageBody, TargetBody
from shared.search.port import SearchIndex
from shared.spend_store import SpendStore, StoredSpend


@dataclass(frozen=True)
class BestSupplier:
    """The matcher's best social enterprise for one package's lot."""

    supplier_id: str
    score: float  # 0..1
    shown: SupplierFit


# The best supplier for a package's lot, or None when nobody fits.
BestMatch = Callable[[PackageBody], BestSupplier | None]


@dataclass(frozen=True)
class LedgerLine:
    """One record in a target's ledger: its arithmetic, the record as sent, and the directory's
    listing for its supplier (None: not a listed social enterprise), for reports to show."""

    entry: LedgerEntry
    stored: StoredSpend
    listing: dict[str, Any] | None


@dataclass(frozen=True)
class Ledger:
    lines: list[LedgerLine]
    unlinked_references: list[str]
    unconfirmed_references: list[str] = field(default_factory=list)

    @property
    def entries(self) -> list[LedgerEntry]:
        return [line.entry for line in self.lines]


def as_target(body: TargetBody) -> Target:
    return Target(start=body.start, end=body.end, amount_pence=body.amount_pence, percentage=body.percentage)


def build_ledger(spend: SpendStore, index: SearchIndex, organisation_id: str, body: TargetBody) -> Ledger:
    listings: dict[str, dict[str, Any] | None] = {}
    lines, unlinked, unconfirmed = [], [], []
    for stored in spend.entries(organisation_id, body.start, body.end):
        if stored.link_status == "unconfirmed":
            unconfirmed.append(stored.record.reference)
        elif stored.linked_supplier_id is None:
            unlinked.append(stored.record.reference)
        listing = _listing(index, listings, stored.linked_supplier_id)
        entry = _entry(stored, listing)
        if _in_split(entry, body):
            lines.append(LedgerLine(entry, stored, listing))
    return Ledger(lines, unlinked, unconfirmed)


def _listing(index: SearchIndex, cache: dict[str, dict[str, Any] | None], listing_id: str | None) -> Any:
    if listing_id is None:
        return None
    if listing_id not in cache:
        cache[listing_id] = index.get(listing_id)
    return cache[listing_id]


def _entry(stored: StoredSpend, listing: dict[str, Any] | None) -> LedgerEntry:
    record = stored.record
    categories = (listing or {}).get("categories") or []
    return LedgerEntry(
        reference=record.reference,
        supplier_id=stored.linked_supplier_id or record.supplier_name or record.supplier_id or "unknown",
        amount_pence=record.amount_pence,
        paid_on=record.date,
        social_enterprise=listing is not None,
        category=record.category or (categories[0] if categories else None),
        region=(listing or {}).get("region"),
        impact_areas=tuple((listing or {}).get("impact_areas") or ()),
        awaiting_confirmation=stored.link_status == "unconfirmed",
        spend_type=record.spend_type,
    )


def _in_split(entry: LedgerEntry, body: TargetBody) -> bool:
    """A category or region target counts only its own spend; a region is known only for listed
    suppliers, so a region target's addressable spend is its social-enterprise spend's region."""
    if body.category and entry.category != body.category:
        return False
    return not (body.region and entry.region != body.region)


def target_progress(ledger: Ledger, body: TargetBody, as_of: date) -> Progress:
    return progress(ledger.entries, as_target(body), as_of)


def cumulative(ledger: Ledger, body: TargetBody, as_of: date) -> list[tuple[date, int]]:
    """Social-enterprise spend to date, day by day through the period up to `as_of`."""
    by_day: dict[date, int] = {}
    for entry in ledger.entries:
        if entry.social_enterprise:
            by_day[entry.paid_on] = by_day.get(entry.paid_on, 0) + entry.amount_pence
    series, total, day = [], 0, body.start
    while day <= min(as_of, body.end):
        total += by_day.get(day, 0)
        series.append((day, total))
        day += timedelta(days=1)
    return series


def recommendations(
    packages: dict[str, PackageBody], gap_pence: int, as_of: date, body: TargetBody, best_match: BestMatch
) -> Recommendation:
    """Packages expected between `as_of` and the period's end, placed to close the forecast gap;
    each counts only for the share of its value paid within the period."""
    candidates = []
    for package_id, package in packages.items():
        if as_of <= package.expected_on <= body.end:
            best = best_match(package)
            candidates.append(Package(
                package_id, package.value_within(body.start, body.end), best.score if best else 0.0,
                best.supplier_id if best else None, package.value_pence, best.shown if best else None,
            ))
    return recommend(candidates, gap_pence)
