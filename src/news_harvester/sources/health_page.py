"""What the sources page tells an admin about each source beyond its health row: the 30-day chart of new items
and failures, new items over the last 7 and 30 days, why it is quiet (against its own cadence), what its last
run did and its last error in Chinese with advice. Three queries for all sources (runs per day, new-item runs,
latest runs); the words and the chart are the pure modules' (cadence, health_chart, error_advice).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from news_harvester.clock import EDITOR_ZONE, editor_time
from news_harvester.sources.alarms import CADENCE_WINDOW
from news_harvester.sources.cadence import approx_span, quiet_note, typical_interval
from news_harvester.sources.error_advice import ErrorAdvice, explain
from news_harvester.sources.health_chart import DAYS, DayCount, chart_svg, day_edges, summary
from news_harvester.store.repository import Repository
from news_harvester.store.runs_store import DayRuns, RunRecord

RECENT_DAYS = 7


@dataclass(frozen=True, slots=True)
class SourceDetail:
    """One source's lines on the sources page (all text Chinese, times Beijing to the minute)."""

    chart: str
    """Inline SVG (escaped inside; safe to mark as markup)."""
    chart_summary: str
    new_recent: int
    """New items over the last RECENT_DAYS days (today included)."""
    new_month: int
    """New items over the last DAYS days."""
    typical: str | None
    """``约每 3 小时`` (None: too few new-item runs to tell)."""
    quiet: str
    last_run: str
    """``2026-12-04 21:07 成功：列表 20 条，新 3 条`` / ``… 失败：连接被拒绝`` / ``正在抓取（… 开始）``."""
    error: ErrorAdvice | None
    """The last error's cause and advice, while the source is failing (None when its last run succeeded)."""


def source_details(rows: Sequence[Mapping[str, Any]], repository: Repository, now: datetime) -> dict[str, SourceDetail]:
    """``{source id: SourceDetail}`` for the health ``rows`` (news_harvester.sources.health.source_report)."""
    ids = [str(r.get("id")) for r in rows]
    edges = day_edges(now, DAYS)
    per_day = repository.runs_by_day(edges)
    new_runs = repository.new_item_run_times(now - CADENCE_WINDOW - timedelta(days=DAYS))
    latest = repository.latest_runs(ids)
    details: dict[str, SourceDetail] = {}
    for row in rows:
        source_id = str(row.get("id"))
        counts = per_day.get(source_id) or [DayRuns() for _ in range(DAYS)]
        days = [
            DayCount(edges[k].astimezone(EDITOR_ZONE).date(), c.new, c.failures, c.runs) for k, c in enumerate(counts)
        ]
        last_new = _when(row.get("last_new_item_at"))
        times = new_runs.get(source_id, [])
        run = latest.get(source_id)
        failing = bool(row.get("last_error_code")) or (run is not None and run.outcome == "error")
        interval = typical_interval(times, last_new)
        details[source_id] = SourceDetail(
            chart=chart_svg(days, name=str(row.get("name") or source_id)),
            chart_summary=summary(days),
            new_recent=sum(d.new for d in days[-RECENT_DAYS:]),
            new_month=sum(d.new for d in days),
            typical=f"约每 {approx_span(interval)}" if interval is not None else None,
            quiet=quiet_note(now, last_new, times, failing=failing),
            last_run=last_run_text(run),
            error=explain(row.get("last_error_code"), row.get("last_http_status")),
        )
    return details


def last_run_text(run: RunRecord | None) -> str:
    """What the source's latest run did, e.g. after 立即抓取."""
    if run is None:
        return "还没有抓取过"
    when = editor_time(run.started_at)
    if run.outcome == "running":
        return f"正在抓取（{when} 开始）"
    if run.outcome == "ok":
        return f"{when} 成功：列表 {run.items_seen} 条，新 {run.items_new} 条"
    if run.outcome == "not_modified":
        return f"{when} 成功：网站内容没有变化"
    if run.outcome == "interrupted":
        return f"{when} 被中断（程序停止），会自动重试"
    advice = explain(run.code, run.http_status)
    return f"{when} 失败：{advice.cause if advice else '未知错误'}"


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None
