"""Health you can read (issue 22 part 3): the sources page's 30-day chart from the runs table, new items over 7 and
30 days, the last error in Chinese with advice, Beijing times and the "why is it quiet" line. Pure modules are
tested on values; the page on a real SQLite file filled by real harvests of a local HTTP server."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy
from pytest_httpserver import HTTPServer

import feeds
from conftest import ROOT, source
from health_support import admin_client
from news_harvester.clock import EDITOR_ZONE
from news_harvester.sources.cadence import approx_span, quiet_note
from news_harvester.sources.error_advice import ERROR_NAMES, explain
from news_harvester.sources.health import source_report
from news_harvester.sources.health_chart import DayCount, chart_svg, day_edges
from news_harvester.sources.health_page import source_details
from news_harvester.store.schema import fetch_runs
from servers import refused_url

SVG = "{http://www.w3.org/2000/svg}"
NOW = datetime(2024, 6, 20, 17, 0, tzinfo=UTC)  # 2024-06-21 01:00 in Beijing


# ---------------------------------------------------------------------- the last error, in Chinese


def test_every_error_code_the_harvest_records_has_a_chinese_cause_and_advice():
    errors = (ROOT / "src" / "news_harvester" / "errors.py").read_text(encoding="utf-8")
    documented = set(re.findall(r"\b((?:fetch|decode|parse)\.[a-z_]+)", errors))
    assert len(documented) >= 20
    assert sorted(documented - set(ERROR_NAMES)) == []
    for code in documented | {"run.interrupted", "storage.error", "internal.error"}:
        advice = explain(code)
        assert advice is not None and advice.cause and advice.advice, code
        assert re.search(r"[\u4e00-\u9fff]", advice.cause + advice.advice), code


def test_http_errors_are_told_apart_by_status():
    forbidden = explain("fetch.http_status", 403)
    assert forbidden.text.startswith("网站返回 403（禁止访问），可能需要调整请求频率")
    assert explain("fetch.http_status", 404).cause == "网站返回 404（页面不存在）"
    assert "新的列表页" in explain("fetch.http_status", 404).advice
    assert explain("fetch.http_status", 503).cause == "网站返回 503（服务器错误）"
    assert explain("fetch.http_status", 418).cause == "网站返回 418"
    assert explain("fetch.http_status").cause == "网站返回错误状态码"
    assert explain("fetch.challenge", 403).cause == "被网站防火墙拦截（验证页面），网站返回 403"
    refused = explain("fetch.refused")
    assert refused.cause == "连接被拒绝" and "浏览器" in refused.advice
    assert explain("fetch.something_new").cause == "抓取出错（fetch.something_new）"
    assert explain(None) is None and explain("") is None


# ---------------------------------------------------------------------- the chart


def test_day_edges_cut_beijing_days():
    edges = day_edges(NOW, 30)
    assert len(edges) == 31
    assert edges[-2] == datetime(2024, 6, 20, 16, 0, tzinfo=UTC), "today (6 月 21 日) began at 00:00 Beijing"
    assert edges[-1] - edges[-2] == timedelta(days=1)
    assert edges[0].astimezone(EDITOR_ZONE).date() == date(2024, 5, 23)


def test_chart_draws_new_items_failures_and_idle_days_with_a_chinese_summary():
    first = date(2024, 5, 23)
    days = [DayCount(first + timedelta(days=k)) for k in range(30)]
    days[10] = DayCount(days[10].day, new=0, failures=2, runs=4)
    days[20] = DayCount(days[20].day, new=3, failures=0, runs=5)
    days[29] = DayCount(days[29].day, new=12, failures=1, runs=12)
    svg = chart_svg(days, name="商务部网站<script>")
    assert "<script>" not in svg and "商务部网站&lt;script&gt;" in svg
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    label = root.get("aria-label")
    assert label == root.find(f"{SVG}title").text
    assert label == (
        "商务部网站<script>：近 30 天共抓取 21 次，新条目 15 条（2 天有新条目，最多一天 12 条）；失败 3 次，分布在 2 天"
    )
    bars = {g.get("data-day"): g for g in root.iter(f"{SVG}g")}
    assert len(bars) == 30
    new = [(g.get("data-day"), int(r.get("height"))) for g in bars.values() for r in g if r.get("class") == "new"]
    assert new == [("2024-06-12", 9), ("2024-06-21", 36)], "scaled to the busiest day (36 px)"
    failed = [g.get("data-day") for g in bars.values() for r in g if r.get("class") == "failed"]
    assert failed == ["2024-06-02", "2024-06-21"]
    idle = [g for g in bars.values() if any(r.get("class") == "idle" for r in g)]
    assert len(idle) == 27, "a grey tick for each day without a run"
    assert bars["2024-06-02"].find(f"{SVG}title").text == "6 月 2 日：新条目 0 条，失败 2 次（共抓取 4 次）"
    assert bars["2024-05-24"].find(f"{SVG}title").text == "5 月 24 日：没有抓取"
    quiet = ET.fromstring(chart_svg([DayCount(first + timedelta(days=k)) for k in range(30)]))
    assert quiet.get("aria-label") == "近 30 天没有抓取记录"


# ---------------------------------------------------------------------- why is it quiet


def every(hours: float, count: int, last: datetime) -> list[datetime]:
    return [last - timedelta(hours=hours * k) for k in range(count)]


def test_quiet_line_compares_the_silence_with_the_sources_own_cadence():
    last = NOW - timedelta(days=2)
    times = every(3, 60, last)
    assert quiet_note(NOW, last, times) == (
        "通常约每 3 小时有新条目，已 2 天没有新条目（抓取正常但没有新内容：网站可能暂停了更新，或列表页结构已改变）"
    )
    assert quiet_note(NOW, last, times, failing=True) == (
        "通常约每 3 小时有新条目，已 2 天没有新条目（最近的抓取失败了，先处理最近错误）"
    )
    recent = NOW - timedelta(hours=2)
    assert quiet_note(NOW, recent, every(3, 60, recent)) == "通常约每 3 小时有新条目，最近一次：2 小时前，属正常"
    daily = NOW - timedelta(hours=30)
    assert quiet_note(NOW, daily, every(24, 20, daily)) == "通常约每 1 天有新条目，最近一次：1 天 6 小时前，属正常"
    assert quiet_note(NOW, last, every(24, 2, last)).endswith("只有 2 次抓到新条目，不足 4 次，还看不出通常的更新节奏")
    assert quiet_note(NOW, None, []) == "还没有抓到过新条目"
    assert quiet_note(NOW, None, [], failing=True) == "还没有抓到过新条目：抓取一直失败，见最近错误"


@pytest.mark.parametrize(
    ("span", "said"),
    [
        (timedelta(minutes=29, seconds=40), "30 分钟"),
        (timedelta(hours=2, minutes=50), "3 小时"),
        (timedelta(hours=30, minutes=10), "1 天 6 小时"),
        (timedelta(days=6, hours=20), "7 天"),
    ],
)
def test_typical_intervals_are_said_roughly(span, said):
    assert approx_span(span) == said


# ---------------------------------------------------------------------- the page, from real runs


def add_run(repository, source_id: str, at: datetime, outcome: str = "ok", code: str | None = None, new: int = 0):
    with repository.engine.begin() as conn:
        conn.execute(
            sqlalchemy.insert(fetch_runs).values(
                source_id=source_id, started_at=at, finished_at=at + timedelta(seconds=3), outcome=outcome,
                code=code, items_seen=20 if outcome == "ok" else 0, items_new=new,
            )
        )  # fmt: skip


@pytest.fixture
def harvested(httpserver: HTTPServer, settings, repository, write_sources, run_harvest):
    """Three sources harvested for real: a feed with one new item, a list answering 403, a refused port."""
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/feed.xml").respond_with_data(feeds.rss(feeds.items(base, 1)), content_type="text/xml")
    httpserver.expect_request("/list.html").respond_with_data("forbidden", status=403)
    config = write_sources([
        source(httpserver, "/feed.xml", id="mofcom-news", name="商务部网站", respect_robots=False),
        source(httpserver, "/list.html", id="mofcom-policy", name="商务部网站", kind="html", respect_robots=False,
               selectors={"item": "ul li"}),
        {"id": "xinhua", "name": "新华网", "kind": "feed", "url": refused_url(), "schedule": "2h"},
    ])  # fmt: skip
    summaries = run_harvest(list(config.sources))
    assert [s.outcome for s in summaries] == ["ok", "error", "error"]
    assert [s.code for s in summaries] == [None, "fetch.http_status", "fetch.refused"]
    return config




def row_of(page: str, source_id: str) -> str:
    start = page.index(f'data-source="{source_id}"><td>')
    return page[start : page.index("</tbody>", start)]


def test_sources_page_shows_counts_chart_error_advice_and_beijing_times(settings, repository, harvested):
    now = datetime.now(UTC)
    page = admin_client(settings, repository, harvested).get("/admin/sources").text
    news, policy, xinhua = (row_of(page, i) for i in ("mofcom-news", "mofcom-policy", "xinhua"))

    # one new item today: 1 over 7 days and 1 over 30, never "0.0 per day"
    counts = re.search(r'<span data-window="7">(\d+)</span> / <span data-window="30">(\d+)</span>', news)
    assert counts and counts.groups() == ("1", "1")
    assert "日均" not in page and "0.0" not in page
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d 成功：列表 1 条，新 1 条", news)

    svg = re.search(r"<svg .*?</svg>", news, re.S).group(0)
    chart = ET.fromstring(svg)
    assert chart.get("aria-label").startswith("商务部网站：近 30 天共抓取 1 次，新条目 1 条")
    today = now.astimezone(EDITOR_ZONE).date().isoformat()
    assert [g.get("data-day") for g in chart.iter(f"{SVG}g") if any(r.get("class") == "new" for r in g)] == [today]
    failed_chart = ET.fromstring(re.search(r"<svg .*?</svg>", xinhua, re.S).group(0))
    assert [g.get("data-day") for g in failed_chart.iter(f"{SVG}g") if any(r.get("class") == "failed" for r in g)] == [
        today
    ]

    assert "最近错误：<strong>网站返回 403（禁止访问）</strong>，可能需要调整请求频率" in policy
    assert "最近错误：<strong>连接被拒绝</strong>" in xinhua and "fetch.refused" in xinhua
    assert "最近错误" not in news
    assert "失败：连接被拒绝" in xinhua

    # 下次抓取 in Beijing time to the minute, and the backoff said; no UTC clock anywhere
    [row] = [r for r in source_report(harvested, repository, now) if r["id"] == "xinhua"]
    assert row["backoff_until"] and row["last_error_cause"] == "连接被拒绝" and "浏览器" in row["last_error_advice"]
    due = datetime.fromisoformat(row["next_due_at"]).astimezone(EDITOR_ZONE).strftime("%Y-%m-%d %H:%M")
    assert re.search(rf'<td class="next-due">{due}<br><small>失败后退避中', xinhua), xinhua
    assert "+00:00" not in page and not re.search(r"\d\d:\d\d:\d\d", page.replace("<svg", "\n<svg"))
    assert "更新节奏：通常" not in news and "更新节奏：最近一次新条目：刚刚；近 30 天只有 1 次抓到新条目" in news
    assert "更新节奏：还没有抓到过新条目：抓取一直失败" in xinhua


def test_per_day_counts_follow_beijing_days_and_the_quiet_line_its_cadence(repository, write_sources):
    now = datetime.now(UTC)
    config = write_sources([{"id": "miit", "name": "工信部", "kind": "feed", "url": "http://127.0.0.1:9/x.xml"}])
    edges = day_edges(now)
    today_start = edges[-2]
    add_run(repository, "miit", today_start + timedelta(minutes=30), new=2)  # 00:30 Beijing: today
    add_run(repository, "miit", today_start - timedelta(minutes=30), new=5)  # 23:30 Beijing: yesterday
    add_run(repository, "miit", today_start - timedelta(days=3), "error", "fetch.timeout")
    add_run(repository, "miit", today_start - timedelta(days=8), new=7)  # within 30 days, not within 7
    add_run(repository, "miit", edges[0] - timedelta(minutes=1), new=100)  # 31 days ago: not counted
    add_run(repository, "miit", today_start + timedelta(minutes=40), "running")  # still going
    days = repository.runs_by_day(edges)["miit"]
    assert (days[-1].new, days[-1].runs, days[-1].failures) == (2, 1, 0), "a running run is no finished run"
    assert (days[-2].new, days[-4].failures, days[-9].new) == (5, 1, 7)
    assert sum(d.new for d in days) == 14

    # a source that brought news every 3 hours for ten days, then stopped two days ago, though fetched since
    last_new = now - timedelta(days=2)
    for k in range(80):
        add_run(repository, "quiet", last_new - timedelta(hours=3 * k), new=1)
    add_run(repository, "quiet", now - timedelta(hours=1))
    rows = [
        {"id": "miit", "name": "工信部", "last_new_item_at": (today_start + timedelta(minutes=30)).isoformat()},
        {"id": "quiet", "name": "新华网", "last_new_item_at": last_new.isoformat()},
    ]
    details = source_details(rows, repository, now)
    assert (details["miit"].new_recent, details["miit"].new_month) == (7, 14)
    assert details["quiet"].quiet.startswith("通常约每 3 小时有新条目，已 2 天没有新条目（抓取正常但没有新内容")
    assert details["quiet"].typical == "约每 3 小时"
    assert details["quiet"].last_run.endswith("成功：列表 20 条，新 0 条")
    assert config.get("miit") is not None
