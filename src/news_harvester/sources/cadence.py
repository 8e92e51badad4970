"""Why a source is quiet: its time since the last new item against its own cadence, in one Chinese line.

Values in, words out (no database, no clock). The cadence is the one the ``stale`` alarm learns
(news_harvester.sources.alarms.learned_interval: the median interval between the runs that brought new items over
the 30 days up to the last new item), so the line and the alarm never disagree about what is usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from news_harvester.sources.alarms import CADENCE_MIN_RUNS, CADENCE_WINDOW, format_span, learned_interval

QUIET_FACTOR = 2
"""Silent for more than this many typical intervals: the line says the source is quieter than usual."""


def approx_span(span: timedelta) -> str:
    """A typical interval as a person says it: ``20 分钟``, ``3 小时`` (to the nearest hour), ``2 天`` (to the
    nearest day from two days on; ``1 天 6 小时`` below)."""
    minutes = span.total_seconds() / 60
    if minutes < 60:
        return f"{max(round(minutes), 1)} 分钟"
    hours = minutes / 60
    if hours < 24:
        return f"{round(hours)} 小时"
    if hours < 48:
        return format_span(timedelta(hours=round(hours)))
    return f"{round(hours / 24)} 天"


def ago(span: timedelta) -> str:
    """``刚刚`` or ``3 小时前``."""
    return "刚刚" if span < timedelta(minutes=1) else f"{format_span(span)}前"


def typical_interval(new_item_times: Sequence[datetime], last_new_item_at: datetime | None) -> timedelta | None:
    """The source's usual interval between new items (None: too few new-item runs to tell)."""
    if last_new_item_at is None:
        return None
    return learned_interval(new_item_times, last_new_item_at)


def quiet_note(
    now: datetime,
    last_new_item_at: datetime | None,
    new_item_times: Sequence[datetime],
    *,
    failing: bool = False,
) -> str:
    """``通常约每 3 小时有新条目，已 2 天没有新条目（…）`` and its kin.

    ``new_item_times``: start times of the source's runs that brought new items (any order, at least the 30 days
    up to ``last_new_item_at``); ``failing``: its latest run failed, which is then the likely reason."""
    if last_new_item_at is None:
        return "还没有抓到过新条目" + ("：抓取一直失败，见最近错误" if failing else "")
    silent = now - last_new_item_at
    interval = typical_interval(new_item_times, last_new_item_at)
    if interval is None:
        recent = sum(1 for t in new_item_times if last_new_item_at - CADENCE_WINDOW <= t <= last_new_item_at)
        return (
            f"最近一次新条目：{ago(silent)}；近 {CADENCE_WINDOW.days} 天只有 {recent} 次抓到新条目，"
            f"不足 {CADENCE_MIN_RUNS} 次，还看不出通常的更新节奏"
        )
    typical = f"通常约每 {approx_span(interval)}有新条目"
    if silent <= QUIET_FACTOR * interval:
        return f"{typical}，最近一次：{ago(silent)}，属正常"
    why = (
        "最近的抓取失败了，先处理最近错误"
        if failing
        else "抓取正常但没有新内容：网站可能暂停了更新，或列表页结构已改变"
    )
    return f"{typical}，已 {format_span(silent)}没有新条目（{why}）"
