"""The chart stands on its own: round axis steps, money in people's words, every month labelled."""

from __future__ import annotations

from datetime import date

from services.matcher.spend.chart import chart_svg, months, nice_step, short_pounds
from services.matcher.spend.store import TargetBody

BODY = TargetBody(name="FY", start=date(2025, 4, 1), end=date(2026, 3, 31), amount_pence=200_000_000)


def test_axis_steps_are_round_and_money_reads_as_money() -> None:
    assert nice_step(200_000_000) == 50_000_000 and nice_step(500_000) == 200_000 and nice_step(1) == 1
    assert [short_pounds(p) for p in (0, 25_000_000, 150_000_000, -500_000, 9_900)] == [
        "£0", "£250k", "£1.5m", "-£5k", "£99"]


def test_every_month_of_the_period_is_a_tick() -> None:
    ticks = months(BODY.start, BODY.end)
    assert len(ticks) == 12 and ticks[0] == date(2025, 4, 1) and ticks[-1] == date(2026, 3, 1)


def test_the_svg_has_a_title_both_axes_and_a_legend_even_below_nothing() -> None:
    series = [(date(2025, 4, 1), 0), (date(2025, 4, 2), -300_000), (date(2025, 4, 3), 50_000_000)]
    svg = chart_svg(BODY, series, 200_000_000)
    assert "Spend with social enterprises for FY</text>" in svg and "Cumulative spend (£)" in svg
    assert "Date paid" in svg and ">Apr 25<" in svg and ">Mar 26<" in svg
    assert ">£2m<" in svg and ">-£1m<" in svg and ">Target<" in svg  # a gridline below the dip
