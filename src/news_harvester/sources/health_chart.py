"""A source's last 30 days as a small inline SVG: new items per day as bars, failed runs as marks under them.

Values in, markup out (no database, no clock): :func:`day_edges` gives the instants that cut the editors' days
(Beijing time) for the store's per-day counts, :func:`chart_svg` draws them. The SVG is server-rendered and
needs no script or style sheet (the Content-Security-Policy allows neither inline): colours are presentation
attributes. It is an image to assistive technology (``role="img"``) whose ``aria-label`` and ``<title>`` say
in Chinese what the bars show; every day carries its own ``<title>`` (a tooltip on hover). Text is escaped
here, so the caller may mark the result safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from zoneinfo import ZoneInfo

from news_harvester.clock import EDITOR_ZONE

DAYS = 30
BAR = 8  # pixels per day, the bar itself 2 narrower
BARS_HEIGHT = 36  # the tallest day's new items
FAIL_HEIGHT = 8  # the failure strip under the baseline
LABEL_HEIGHT = 11
NEW_COLOUR = "#2e7d32"
FAIL_COLOUR = "#b4282e"
IDLE_COLOUR = "#dde2e6"


@dataclass(frozen=True, slots=True)
class DayCount:
    """One day of a source: new items, failed runs and finished runs started that day."""

    day: date
    new: int = 0
    failures: int = 0
    runs: int = 0


def day_edges(now: datetime, days: int = DAYS, zone: ZoneInfo = EDITOR_ZONE) -> list[datetime]:
    """The UTC instants at which the last ``days`` days in ``zone`` start (today last), then tomorrow's start."""
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    return [datetime.combine(first + timedelta(days=k), time(0), zone).astimezone(UTC) for k in range(days + 1)]


def summary(days: Sequence[DayCount]) -> str:
    """What the chart shows, in one Chinese sentence (its ``aria-label`` and ``<title>``)."""
    span = f"近 {len(days)} 天" if days else "近 30 天"
    runs = sum(d.runs for d in days)
    if runs == 0:
        return f"{span}没有抓取记录"
    new = sum(d.new for d in days)
    failures = sum(d.failures for d in days)
    busiest = max(d.new for d in days)
    text = f"{span}共抓取 {runs} 次，新条目 {new} 条"
    if new:
        text += f"（{sum(1 for d in days if d.new)} 天有新条目，最多一天 {busiest} 条）"
    if failures:
        text += f"；失败 {failures} 次，分布在 {sum(1 for d in days if d.failures)} 天"
    else:
        text += "；没有失败"
    return text


def day_title(day: DayCount) -> str:
    """One day's tooltip: ``6 月 3 日：新条目 5 条，失败 1 次（共抓取 12 次）``."""
    when = f"{day.day.month} 月 {day.day.day} 日"
    if day.runs == 0:
        return f"{when}：没有抓取"
    failed = f"，失败 {day.failures} 次" if day.failures else ""
    return f"{when}：新条目 {day.new} 条{failed}（共抓取 {day.runs} 次）"


def chart_svg(days: Sequence[DayCount], *, name: str = "") -> str:
    """An inline ``<svg>`` of ``days`` (oldest first): a green bar per day scaled to the busiest day's new items
    (a day with new items is never shorter than 2 px), a red mark under the baseline per day with failures
    (taller with more of that day's runs failing), a grey tick for a day without any run."""
    label = (f"{name}：" if name else "") + summary(days)
    width = max(len(days), 1) * BAR
    height = BARS_HEIGHT + 2 + FAIL_HEIGHT + LABEL_HEIGHT
    busiest = max((d.new for d in days), default=0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="health-chart" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(label)}">',
        f"<title>{escape(label)}</title>",
        f'<line x1="0" y1="{BARS_HEIGHT + 0.5}" x2="{width}" y2="{BARS_HEIGHT + 0.5}" stroke="{IDLE_COLOUR}"/>',
    ]
    for k, day in enumerate(days):
        x = k * BAR
        cells = [f'<rect x="{x}" y="0" width="{BAR}" height="{BARS_HEIGHT + 2 + FAIL_HEIGHT}" fill="transparent"/>']
        if day.new and busiest:
            bar = max(2, round(day.new / busiest * BARS_HEIGHT))
            cells.append(
                f'<rect class="new" x="{x + 1}" y="{BARS_HEIGHT - bar}" width="{BAR - 2}" height="{bar}" '
                f'fill="{NEW_COLOUR}"/>'
            )
        if day.failures:
            mark = max(3, round(day.failures / max(day.runs, day.failures) * FAIL_HEIGHT))
            cells.append(
                f'<rect class="failed" x="{x + 1}" y="{BARS_HEIGHT + 2}" width="{BAR - 2}" height="{mark}" '
                f'fill="{FAIL_COLOUR}"/>'
            )
        elif day.runs == 0:
            cells.append(
                f'<rect class="idle" x="{x + 3}" y="{BARS_HEIGHT + 2}" width="2" height="2" fill="{IDLE_COLOUR}"/>'
            )
        parts.append(f'<g data-day="{day.day.isoformat()}"><title>{escape(day_title(day))}</title>{"".join(cells)}</g>')
    if days:
        baseline = height - 2
        first, last = days[0].day, days[-1].day
        parts.append(
            f'<text x="0" y="{baseline}" font-size="9" fill="#66707a">{first.month}/{first.day}</text>'
            f'<text x="{width}" y="{baseline}" font-size="9" fill="#66707a" text-anchor="end">'
            f"{last.month}/{last.day}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
