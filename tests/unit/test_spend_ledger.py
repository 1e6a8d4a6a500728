"""The spend ledger's arithmetic: property tests (hypothesis) and worked examples."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.matcher.spend.ledger import UNSPECIFIED, LedgerEntry, Target, progress
from services.matcher.spend.recommend import Package, _cost, recommend

YEAR = Target(start=date(2025, 4, 1), end=date(2026, 3, 31), amount_pence=500_000_000)

entries = st.lists(
    st.builds(
        LedgerEntry,
        reference=st.sampled_from([f"INV-{i}" for i in range(30)]),
        supplier_id=st.sampled_from(["coop:a", "coop:b", "ptc:c", "x:d"]),
        amount_pence=st.integers(min_value=1, max_value=10_000_000),
        paid_on=st.dates(min_value=date(2025, 3, 1), max_value=date(2026, 4, 30)),
        social_enterprise=st.booleans(),
        category=st.sampled_from([None, "cleaning", "catering"]),
        region=st.sampled_from([None, "North West", "London"]),
        impact_areas=st.lists(st.sampled_from(["employment", "environment", "training"]), max_size=3).map(tuple),
    ),
    max_size=40,
)


@given(entries, st.dates(min_value=date(2025, 4, 1), max_value=date(2026, 3, 31)))
def test_every_breakdown_adds_up_to_the_total(ledger: list[LedgerEntry], as_of: date) -> None:
    result = progress(ledger, YEAR, as_of)
    for breakdown in (result.by_supplier, result.by_category, result.by_region, result.by_impact_area):
        assert sum(breakdown.values()) == result.social_pence
    assert result.social_pence <= result.addressable_pence


def test_two_suppliers_invoices_with_one_number_both_count() -> None:
    # Supplier invoice numbers collide: the store keys records by supplier too, so the ledger sums all.
    ledger = [entry("INV-1001", 500_000, date(2025, 5, 1), supplier="coop:a"),
              entry("INV-1001", 1_000_000, date(2025, 5, 2), social=False, supplier="Travis Perkins")]
    result = progress(ledger, YEAR, date(2025, 6, 30))
    assert result.social_pence == 500_000 and result.addressable_pence == 1_500_000


def test_a_credit_note_nets_off_against_its_suppliers_spend() -> None:
    ledger = [entry("INV-1", 1_000_000, date(2025, 5, 1)), entry("CN-1", -450_000, date(2025, 6, 1)),
              entry("INV-2", 200_000, date(2025, 5, 1), supplier="coop:b")]
    result = progress(ledger, YEAR, date(2025, 6, 30))
    assert result.social_pence == 750_000 and result.by_supplier == {"coop:a": 550_000, "coop:b": 200_000}
    assert sum(result.by_impact_area.values()) == 750_000


@given(entries, st.randoms())
def test_reordering_distinct_records_changes_nothing(ledger: list[LedgerEntry], rng) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(ledger)
    rng.shuffle(shuffled)
    assert progress(shuffled, YEAR, date(2025, 12, 31)) == progress(ledger, YEAR, date(2025, 12, 31))


def entry(ref: str, pence: int, on: date, social: bool = True, **kw) -> LedgerEntry:  # type: ignore[no-untyped-def]
    return LedgerEntry(ref, kw.pop("supplier", "coop:a"), pence, on, social, **kw)


def test_run_rate_forecast_and_gap() -> None:
    # A quarter into the year (91 of 365 days), £1m with social enterprises out of £4m addressable.
    ledger = [entry("A", 100_000_000, date(2025, 5, 1)), entry("B", 300_000_000, date(2025, 6, 1), social=False)]
    result = progress(ledger, YEAR, date(2025, 6, 30))
    assert result.social_pence == 100_000_000 and result.addressable_pence == 400_000_000
    assert result.percentage == 25.0
    assert result.forecast_social_pence == 100_000_000 * 365 // 91
    assert result.gap_pence == 500_000_000 - result.forecast_social_pence


def test_percentage_targets_follow_addressable_spend() -> None:
    target = Target(start=date(2025, 4, 1), end=date(2026, 3, 31), percentage=5.0)
    ledger = [entry("A", 1_000, date(2025, 4, 1)), entry("B", 99_000, date(2025, 4, 1), social=False)]
    result = progress(ledger, target, date(2026, 3, 31))
    assert result.target_pence == 5_000 and result.gap_pence == 4_000


def test_impact_areas_split_in_whole_pence() -> None:
    result = progress([entry("A", 100, date(2025, 4, 2), impact_areas=("employment", "training", "environment"))],
                      YEAR, date(2025, 5, 1))
    assert result.by_impact_area == {"employment": 34, "environment": 33, "training": 33}
    assert progress([entry("B", 7, date(2025, 4, 2))], YEAR, date(2025, 5, 1)).by_region == {UNSPECIFIED: 7}


def test_spend_outside_the_period_does_not_count() -> None:
    ledger = [entry("A", 10, YEAR.start - timedelta(days=1)), entry("B", 20, YEAR.end + timedelta(days=1))]
    assert progress(ledger, YEAR, YEAR.end).addressable_pence == 0


def brute_force_cost(packages: list[Package], gap: int) -> float:
    best = float("inf")
    for r in range(len(packages) + 1):
        for combo in itertools.combinations(packages, r):
            if sum(p.value_pence for p in combo) >= gap:
                best = min(best, sum(_cost(p) for p in combo))
    return best


packages = st.lists(
    st.builds(Package, id=st.uuids().map(str), value_pence=st.integers(1, 500).map(lambda v: v * 100),
              match_score=st.floats(0, 1), supplier_id=st.just("coop:a")),
    max_size=8,
)


@settings(max_examples=150)
@given(packages, st.integers(1, 2000).map(lambda v: v * 100))
def test_recommendation_is_the_cheapest_cover(pipeline: list[Package], gap: int) -> None:
    result = recommend(pipeline, gap)
    total = sum(p.value_pence for p in pipeline)
    if total < gap:
        assert result.covered_pence == total and not result.closes_gap
        return
    assert result.closes_gap and result.covered_pence == gap
    chosen = [pl.package for pl in result.placements]
    assert sum(_cost(p) for p in chosen) == pytest.approx(brute_force_cost(pipeline, gap))


def test_known_best_answer() -> None:
    # Gap £100k. A £100k package with a weak match (0.3) versus two £60k packages with strong
    # matches (0.9, 0.8): the pair places less value poorly, so it is the answer.
    pipeline = [Package("weak", 10_000_000, 0.3, "coop:w"), Package("s1", 6_000_000, 0.9, "coop:a"),
                Package("s2", 6_000_000, 0.8, "coop:b"), Package("none", 9_000_000, 0.95, None)]
    result = recommend(pipeline, 10_000_000)
    assert [(p.package.id, p.closes_pence) for p in result.placements] == [("s1", 6_000_000), ("s2", 4_000_000)]
