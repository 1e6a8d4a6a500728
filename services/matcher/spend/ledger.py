"""Progress against a Buy Social target, with breakdowns whose parts always add up to the total.

Amounts are integer pence throughout, negative for credit notes, which net off in every sum: a
report that says £5,000,000.01 must add up to exactly that. Spend with suppliers that are not
social enterprises is kept as addressable spend, so a percentage target ("5% of addressable
spend") can be computed. Spend whose link to a listing by name awaits a person's confirmation is
addressable spend only, and is reported as such.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

UNSPECIFIED = "unspecified"


@dataclass(frozen=True)
class LedgerEntry:
    """One payment as the ledger sees it: the supplier already linked and classified."""

    reference: str
    supplier_id: str
    amount_pence: int
    paid_on: date
    social_enterprise: bool
    category: str | None = None
    region: str | None = None
    impact_areas: tuple[str, ...] = ()
    awaiting_confirmation: bool = False  # a suggested link by name: counted once a person confirms it
    spend_type: str | None = None  # "direct" or "indirect" when the record says which


@dataclass(frozen=True)
class Target:
    """A pledge for a period: an amount, a share of addressable spend, or both (both must be met)."""

    start: date
    end: date  # inclusive
    amount_pence: int | None = None
    percentage: float | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a target's period ends before it starts")
        if self.amount_pence is None and self.percentage is None:
            raise ValueError("a target needs an amount, a percentage, or both")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class Progress:
    as_of: date
    social_pence: int
    addressable_pence: int
    percentage: float | None
    forecast_social_pence: int
    forecast_addressable_pence: int
    target_pence: int | None
    gap_pence: int
    awaiting_confirmation_pence: int
    by_supplier: dict[str, int]
    by_category: dict[str, int]
    by_region: dict[str, int]
    by_impact_area: dict[str, int]
    by_spend_type: dict[str, int]  # direct, indirect, unspecified: social-enterprise spend
    addressable_by_spend_type: dict[str, int]
    credit_pence: int  # credit notes with social enterprises, already netted off in social_pence

    @property
    def achieved_percentage(self) -> float | None:
        """How much of the target the spend so far reaches (may pass 100)."""
        return round(100 * self.social_pence / self.target_pence, 2) if self.target_pence else None


def progress(entries: Iterable[LedgerEntry], target: Target, as_of: date) -> Progress:
    """Spend to date, the run-rate forecast to the period's end, and the gap to the target.

    The forecast assumes spend continues at the rate seen so far in the period (days elapsed,
    inclusive). The money gap is what the forecast leaves short of the target: for a percentage
    target, that share of the forecast addressable spend; with both kinds, the larger.
    """
    as_of = min(max(as_of, target.start), target.end)
    in_period = [e for e in entries if target.start <= e.paid_on <= as_of]
    social = [e for e in in_period if e.social_enterprise]
    social_pence = sum(e.amount_pence for e in social)
    addressable_pence = sum(e.amount_pence for e in in_period)
    elapsed = (as_of - target.start).days + 1
    forecast_social = _run_rate(social_pence, elapsed, target.days)
    forecast_addressable = _run_rate(addressable_pence, elapsed, target.days)
    target_pence = _target_pence(target, forecast_addressable)
    return Progress(
        as_of=as_of,
        social_pence=social_pence,
        addressable_pence=addressable_pence,
        percentage=round(100 * social_pence / addressable_pence, 4) if addressable_pence else None,
        forecast_social_pence=forecast_social,
        forecast_addressable_pence=forecast_addressable,
        target_pence=target_pence,
        gap_pence=max(0, (target_pence or 0) - forecast_social),
        awaiting_confirmation_pence=sum(e.amount_pence for e in in_period if e.awaiting_confirmation),
        by_supplier=_sum_by(social, lambda e: [e.supplier_id]),
        by_category=_sum_by(social, lambda e: [e.category or UNSPECIFIED]),
        by_region=_sum_by(social, lambda e: [e.region or UNSPECIFIED]),
        by_impact_area=_sum_by(social, lambda e: list(e.impact_areas) or [UNSPECIFIED]),
        by_spend_type=_sum_by(social, lambda e: [e.spend_type or UNSPECIFIED]),
        addressable_by_spend_type=_sum_by(in_period, lambda e: [e.spend_type or UNSPECIFIED]),
        credit_pence=sum(e.amount_pence for e in social if e.amount_pence < 0),
    )


def _run_rate(pence: int, elapsed_days: int, period_days: int) -> int:
    return pence * period_days // elapsed_days


def _target_pence(target: Target, forecast_addressable: int) -> int | None:
    wanted = [target.amount_pence] if target.amount_pence is not None else []
    if target.percentage is not None:
        wanted.append(round(forecast_addressable * target.percentage / 100))
    return max(wanted) if wanted else None


def _sum_by(entries: Sequence[LedgerEntry], keys_of) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Totals per key. An entry with several keys (impact areas) is split between them in whole
    pence, the remainder going to the first keys, so the parts still add up to the total."""
    totals: dict[str, int] = defaultdict(int)
    for entry in entries:
        keys = sorted(set(keys_of(entry)))
        share, remainder = divmod(entry.amount_pence, len(keys))
        for i, key in enumerate(keys):
            totals[key] += share + (1 if i < remainder else 0)
    return dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))
