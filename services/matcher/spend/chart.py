"""The chart of cumulative spend with social enterprises against the target line, as an SVG that
stands on its own when downloaded: a visible title, both axes labelled with their values, and a
legend, as well as the `<title>`/`<desc>` a screen reader announces."""

from __future__ import annotations

from datetime import date
from xml.sax.saxutils import escape

from services.matcher.spend.store import TargetBody

WIDTH, HEIGHT = 720, 400
LEFT, RIGHT, TOP, BOTTOM = 96, 24, 72, 64
SPEND, TARGET, INK, GRID = "#1d70b8", "#505a5f", "#0b0c0c", "#b1b4b6"
FONT = 'font-family="Arial, sans-serif"'


def short_pounds(pence: int) -> str:
    """Axis money: £0, £250k, £1.5m, -£5k."""
    sign, pounds = ("-" if pence < 0 else ""), abs(pence) / 100
    if pounds >= 1_000_000:
        return f"{sign}£{pounds / 1_000_000:,.4g}m"
    if pounds >= 1_000:
        return f"{sign}£{pounds / 1_000:,.4g}k"
    return f"{sign}£{pounds:,.0f}"


def nice_step(top: int) -> int:
    """A round step (1, 2 or 5 times a power of ten, in pence) giving four or five gridlines."""
    raw = max(top, 1) / 4
    power = 10 ** (len(str(int(raw))) - 1)
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def months(start: date, end: date) -> list[date]:
    """The first day of each month in the period, with the start itself."""
    ticks, day = [start], date(start.year + start.month // 12, start.month % 12 + 1, 1)
    while day <= end:
        ticks.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return ticks


def chart_svg(body: TargetBody, series: list[tuple[date, int]], target_pence: int | None) -> str:
    days = (body.end - body.start).days or 1
    lowest = min([0] + [total for _, total in series])  # credit notes can take the total below nothing
    highest = max([target_pence or 0] + [total for _, total in series] + [1])
    step = nice_step(highest - lowest)
    bottom_value, top_value = lowest // step * step, -(-highest // step) * step
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: date) -> float:
        return LEFT + plot_w * (day - body.start).days / days

    def y(pence: int) -> float:
        return TOP + plot_h * (top_value - pence) / ((top_value - bottom_value) or 1)

    latest = series[-1][1] if series else 0
    title = f"Spend with social enterprises for {body.name}"
    subtitle = f"£{latest / 100:,.2f} to {series[-1][0] if series else body.start}" + (
        f", against a target of £{target_pence / 100:,.2f} by {body.end}" if target_pence else "")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}"'
        f' role="img" aria-labelledby="chart-title chart-desc" {FONT}>',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">Cumulative spend with social enterprises from {body.start} to {body.end}: '
        f'{escape(subtitle)}. The dashed line is the target, reached evenly over the period.</desc>',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="24" font-size="18" font-weight="bold" fill="{INK}">{escape(title)}</text>',
        f'<text x="{LEFT}" y="44" font-size="13" fill="{INK}">{escape(subtitle)}</text>',
    ]
    value = bottom_value
    while value <= top_value:
        parts.append(f'<line x1="{LEFT}" y1="{y(value):.1f}" x2="{WIDTH - RIGHT}" y2="{y(value):.1f}"'
                     f' stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 8}" y="{y(value) + 4:.1f}" font-size="12" text-anchor="end"'
                     f' fill="{INK}">{short_pounds(value)}</text>')
        value += step
    for tick in months(body.start, body.end):
        parts.append(f'<line x1="{x(tick):.1f}" y1="{TOP + plot_h}" x2="{x(tick):.1f}" y2="{TOP + plot_h + 5}"'
                     f' stroke="{INK}"/>')
        parts.append(f'<text x="{x(tick):.1f}" y="{TOP + plot_h + 18}" font-size="11" text-anchor="middle"'
                     f' fill="{INK}">{tick.strftime("%b %y")}</text>')
    parts += [
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" stroke="{INK}"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="{INK}"/>',
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 14}" font-size="13" text-anchor="middle"'
        f' fill="{INK}">Date paid</text>',
        f'<text x="18" y="{TOP + plot_h / 2:.1f}" font-size="13" text-anchor="middle" fill="{INK}"'
        f' transform="rotate(-90 18 {TOP + plot_h / 2:.1f})">Cumulative spend (£)</text>',
    ]
    if target_pence:
        parts.append(f'<line x1="{x(body.start):.1f}" y1="{y(0):.1f}" x2="{x(body.end):.1f}"'
                     f' y2="{y(target_pence):.1f}" stroke="{TARGET}" stroke-width="2" stroke-dasharray="6 4"/>')
    points = " ".join(f"{x(d):.1f},{y(t):.1f}" for d, t in series)
    parts.append(f'<polyline fill="none" stroke="{SPEND}" stroke-width="3" points="{points}"/>')
    parts.append(_legend(bool(target_pence)))
    parts.append("</svg>")
    return "".join(parts)


def _legend(with_target: bool) -> str:
    left, top = WIDTH - RIGHT - 320, 56
    out = [f'<line x1="{left}" y1="{top}" x2="{left + 28}" y2="{top}" stroke="{SPEND}" stroke-width="3"/>',
           f'<text x="{left + 34}" y="{top + 4}" font-size="12" fill="{INK}">Spend with social enterprises</text>']
    if with_target:
        out += [f'<line x1="{left + 236}" y1="{top}" x2="{left + 264}" y2="{top}" stroke="{TARGET}"'
                ' stroke-width="2" stroke-dasharray="6 4"/>',
                f'<text x="{left + 270}" y="{top + 4}" font-size="12" fill="{INK}">Target</text>']
    return "".join(out)
