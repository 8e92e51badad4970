"""Real-browser test of health you can read (issue 22 part 3), as the issue's new user met it: 24 sources, 22 of
them unreachable. The daemon harvests for real (a subprocess of ``news-harvester run``: 21 sources on refused
ports, one answering 403 once, two working feeds on a local server); its alarm check opens the alarms within
seconds, without waiting for three failures each. The queue's banner says it in one line with the sources named
unambiguously in folded details, and the queue stays on screen; the sources page reads Beijing time, the last
error in Chinese with advice, and a chart; 立即抓取 on the source backing off after its 403 runs at once."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import feeds
import yaml_writer
from browser_support import add_users, playwright_or_skip, running_daemon
from procs import wait_until
from servers import refused_url

expect = playwright_or_skip().expect

REFUSED = (
    [(f"mofcom-{k}", "商务部网站") for k in (1, 2, 3)]
    + [(f"xinhua-{k}", "新华网") for k in (1, 2, 3, 4)]
    + [(f"province-{k}", f"省商务厅{k}") for k in range(1, 15)]
)
FLAKY = ("cac-policy", "网信办政策")
WORKING = [("miit", "工信部网站"), ("ndrc", "发改委网站")]


@dataclass
class Site:
    base_url: str
    proc: subprocess.Popen[str]
    output: list[str]
    db: Path

    def log(self) -> str:
        return "".join(self.output)

    def open_alarms(self) -> list[tuple[str, str]]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute("SELECT source_id, kind FROM alarms WHERE resolved_at IS NULL").fetchall()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("source-health-browser")
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    base = server.url_for("").rstrip("/")
    for k, (source_id, _name) in enumerate(WORKING):
        server.expect_request(f"/{source_id}.xml").respond_with_data(
            feeds.rss(feeds.items(base, 3, prefix=f"w{k}")), content_type="text/xml"
        )
    server.expect_oneshot_request("/flaky.xml").respond_with_data("forbidden", status=403)
    flaky_feed = feeds.rss(feeds.items(base, 2, prefix="f"))
    server.expect_request("/flaky.xml").respond_with_data(flaky_feed, content_type="text/xml")

    def entry(source_id: str, name: str, url: str) -> dict[str, Any]:
        return {"id": source_id, "name": name, "kind": "feed", "url": url, "schedule": "2h", "respect_robots": False}

    sources = [entry(i, n, refused_url(f"/{i}.xml")) for i, n in REFUSED]
    sources.append(entry(*FLAKY, server.url_for("/flaky.xml")))
    sources += [entry(i, n, server.url_for(f"/{i}.xml")) for i, n in WORKING]
    yaml_writer.dump({"sources": sources}, tmp / "sources.yaml")
    add_users(tmp, [("boss", "admin")])
    env = {"NEWS_HARVESTER_START_STAGGER": "0", "NEWS_HARVESTER_ALARM_CHECK_INTERVAL": "10",
           "NEWS_HARVESTER_LOG_LEVEL": "INFO"}
    try:
        with running_daemon(tmp, **env) as daemon:
            site = Site(daemon.base_url, daemon.proc, daemon.output, tmp / "data" / "news_harvester.db")
            opened = wait_until(lambda: ("_all", "outage") in site.open_alarms(), 45, interval=0.5)
            assert opened, "no outage alarm:\n" + site.log()
            yield site
    finally:
        server.clear()
        server.stop()


def test_queue_banner_groups_22_unreachable_sources_in_one_line_and_keeps_the_queue_on_screen(site, browser_page):
    kinds = sorted(kind for _source, kind in site.open_alarms())
    assert kinds == ["never_ok"] * 22 + ["outage"], "alarms from the first failure, not after three"
    page = browser_page(site.base_url, "boss")
    outage = page.locator('#freshness li.alarm[data-kind="outage"]')
    for _ in range(30):  # the banner is cached for 10 s by the daemon
        if outage.count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    expect(outage).to_contain_text("22 个信息源无法访问，可能是网络故障")
    expect(page.locator("#freshness li.alarm")).to_have_count(1)
    expect(page.locator("#freshness .chip")).to_have_count(0)
    names = outage.locator(".alarm-sources li")
    expect(names).to_have_count(22)
    expect(names.first).to_be_hidden()  # folded until asked for
    outage.locator("summary").click()
    expect(names.first).to_be_visible()
    texts = names.all_inner_texts()
    for label in ("商务部网站（mofcom-2）：连接被拒绝", "新华网（xinhua-4）：连接被拒绝", "省商务厅7：连接被拒绝"):
        assert label in texts, texts
    assert any(t.startswith("网信办政策：网站返回 403") for t in texts), texts

    viewport = page.viewport_size
    banner = page.locator("#freshness").bounding_box()
    assert banner is not None and banner["height"] <= 0.34 * viewport["height"], banner
    first = page.locator("#queue .item").first
    expect(first).to_be_visible()
    box = first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= viewport["height"], (box, viewport)


def test_sources_page_reads_beijing_time_chinese_errors_and_run_now_runs_through_backoff(site, browser_page):
    page = browser_page(site.base_url, "boss")
    page.goto("/admin/sources")
    expect(page.locator(".alarms-panel h2")).to_have_text("当前告警（23）")
    groups = page.locator("#alarm-groups li")
    expect(groups).to_have_count(1)  # the 22 never_ok alarms are the outage's sources
    expect(groups.first).to_have_text("多数信息源无法访问 22 个信息源无法访问，可能是网络故障（共启用 24 个）")
    expect(page.locator("#alarms")).to_be_hidden()  # 23 rows folded: the sources stay near the top
    page.locator(".alarm-table summary").click()
    expect(page.locator('#alarms tr[data-kind="outage"] td').first).to_have_text("多个信息源")
    expect(page.locator('#alarms tr[data-kind="outage"]')).to_contain_text("22 个信息源无法访问")
    expect(page.locator('#alarms tr[data-source="mofcom-3"]')).to_contain_text("商务部网站（mofcom-3）")
    expect(page.locator('#alarms tr[data-source="mofcom-3"]')).to_contain_text("自添加以来从未抓取成功")

    refused = page.locator('tr[data-detail="mofcom-1"]')
    expect(refused.locator(".last-error")).to_contain_text("最近错误：连接被拒绝，对方服务器拒绝连接")
    chart = refused.locator("svg[role=img]")
    summary = re.compile(r"^商务部网站：近 30 天共抓取 1 次，新条目 0 条；失败 1 次")
    expect(chart).to_have_attribute("aria-label", summary)
    due = page.locator('tr[data-source="mofcom-1"] td.next-due')
    expect(due).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d\s*失败后退避中"))
    working = page.locator('tr[data-source="miit"]')
    expect(working.locator("td.new-items")).to_have_text("3 / 3")
    expect(working.locator("td.last-run")).to_have_text(re.compile(r"\d\d:\d\d 成功：列表 3 条，新 3 条"))
    text = page.locator("table.sources").inner_text()
    assert "+00:00" not in text and "UTC" not in text and not re.search(r"\d\d:\d\d:\d\d", text)

    flaky = page.locator(f'tr[data-source="{FLAKY[0]}"]')
    expect(flaky.locator("td.last-run")).to_contain_text("失败：网站返回 403（禁止访问）")
    expect(page.locator(f'tr[data-detail="{FLAKY[0]}"] .last-error')).to_contain_text("可能需要调整请求频率")
    expect(flaky.locator("td.next-due")).to_contain_text("失败后退避中")
    flaky.get_by_role("button", name="立即抓取").click()
    expect(page.locator(".flash")).to_contain_text(f"已开始抓取 {FLAKY[0]}")
    last_run = page.locator(f'tr[data-source="{FLAKY[0]}"] td.last-run')
    next_due = page.locator(f'tr[data-source="{FLAKY[0]}"] td.next-due')
    for _ in range(20):
        # the page reads the source's state and its latest run in two queries: a load between the run's commit
        # and the second read can show one before and one after, so wait until a load shows both after
        if "成功" in last_run.inner_text() and "退避" not in next_due.inner_text():
            break
        page.wait_for_timeout(500)
        page.goto("/admin/sources")
    expect(last_run).to_have_text(re.compile(r"\d\d:\d\d 成功：列表 2 条，新 2 条"))
    expect(next_due).not_to_contain_text("退避")
    expect(page.locator(f'tr[data-detail="{FLAKY[0]}"] .last-error')).to_have_count(0)
    assert f"source {FLAKY[0]}: manual run requested" in site.log()
    assert f"{FLAKY[0]}: run forced while backing off until" in site.log()
