"""Issue 21's page fixes seen in a real browser (Chromium, Playwright) against the real daemon: the story page
credits the first report by publication time (首发/转载) and names each topic in its explanation table; the
source page reads Beijing time to the minute; an ingested story's queue snippet carries no page furniture.

One daemon for the module (``run --web-only``); the source is a local feed harvested once with ``harvest
--once``; stories come in through ``news-harvester ingest`` (the reprint first, the original second).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from browser_support import Daemon, add_users, ingest, playwright_or_skip, web_daemon
from procs import run_cli
from provenance_support import BEIJING, DAY, ORIGINAL_AT, reprint_then_original

expect = playwright_or_skip().expect
FURNITURE_BODY = (
    "【字体：大 中 小】 打印本页 关闭窗口\n"
    "工业和信息化部近日发布数据，前三季度软件和信息技术服务业完成软件业务收入同比增长，利润总额稳步增长，"
    "信息技术服务收入占全行业收入比重继续提高，云计算、大数据服务共实现收入较快增长。\n"
    "分享到：微信 微博\n责任编辑：王敏"
)
FEED = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>本地新闻</title>
<item><title>数字贸易发展报告发布</title><link>{base}/a1.html</link><pubDate>{when}</pubDate>
<description>数字贸易发展报告今日发布，跨境电商规模持续扩大。</description></item></channel></rss>"""
SOFTWARE_LEAD = (
    f"记者{DAY.day}日从工业和信息化部获悉，前10个月，我国软件和信息技术服务业运行态势良好，软件业务收入同比增长11.2%，"
    "利润总额同比增长9.6%。其中，信息技术服务收入同比增长12.1%，占全行业收入的比重为66.5%；云计算、大数据服务共实现收入"
    "较快增长。软件产品收入同比增长9.8%，工业软件产品收入保持两位数增长。\n"
    "分地区看，东部地区软件业务收入增长较快，中西部地区增速有所回升，重点城市软件业务收入占全国比重稳定。"
)
ARTICLE = ("<html><head><meta charset='utf-8'><title>数字贸易发展报告发布</title></head><body><h1>数字贸易发展报告发布"
           "</h1><div class='content'><p>" + "数字贸易发展报告今日发布，跨境电商规模持续扩大，服务贸易稳步增长。" * 6
           + "</p></div></body></html>")  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, dict[str, Any], Path]]:
    tmp = tmp_path_factory.mktemp("editor-views")
    with HTTPServer(host="127.0.0.1", port=0) as server:
        base = server.url_for("").rstrip("/")
        when = (datetime.now(BEIJING) - timedelta(hours=3)).strftime("%a, %d %b %Y %H:%M:%S %z")
        server.expect_request("/feed.xml").respond_with_data(FEED.format(base=base, when=when),
                                                             content_type="application/rss+xml")  # fmt: skip
        server.expect_request("/a1.html").respond_with_data(ARTICLE, content_type="text/html; charset=utf-8")
        (tmp / "sources.yaml").write_text(
            "sources:\n"
            f"  - {{id: local-news, name: 本地新闻, kind: feed, url: '{base}/feed.xml', respect_robots: false}}\n"
            "  - {id: mofcom-policy, name: 商务部网站, kind: feed, url: 'http://127.0.0.1:9/x.xml', weight: 10,"
            " enabled: false}\n",
            encoding="utf-8",
        )
        harvested = run_cli(tmp, "harvest", "--once", "--json")
        assert harvested.returncode == 0, harvested.stderr
    records = [
        *reprint_then_original(),
        {"title": "前三季度软件业务收入保持增长", "url": "https://www.miit.example.cn/2024/soft.html",
         "body": FURNITURE_BODY, "published_at": ORIGINAL_AT.isoformat(), "source": "工业和信息化部"},
        {"title": "前10个月软件和信息技术服务业运行态势良好", "url": "https://www.miit.example.cn/2024/soft-10.html",
         "body": SOFTWARE_LEAD, "published_at": ORIGINAL_AT.isoformat(), "source": "工业和信息化部"},
    ]  # fmt: skip
    for record in records:  # one ingest each: the reprint is stored first and founds the story
        assert ingest(tmp, [record])["errors"] == []
    add_users(tmp, [("boss", "admin")])
    stories = json.loads(run_cli(tmp, "stories", "list", "--json").stdout)
    software = next(s for s in stories if s["canonical_url"].endswith("/soft-10.html"))
    added = run_cli(tmp, "issue", "add", str(software["id"]))  # drafted in house style into a new draft
    assert added.returncode == 0, added.stderr
    with web_daemon(tmp) as daemon:
        yield daemon, {s["canonical_url"]: s for s in stories}, tmp


@pytest.fixture
def page(site: tuple[Daemon, dict[str, Any], Path], browser_page: Callable[..., Any]) -> Any:
    return browser_page(site[0].base_url, "boss")


def test_story_page_credits_the_earliest_report_and_names_its_topics(site, page):
    _daemon, stories, _tmp = site
    story = next(s for s in stories.values() if len(s["members"]) == 2)
    page.goto(f"/stories/{story['id']}")
    members = page.locator("section.members details.member")
    expect(members).to_have_count(2)
    labels = {
        m.locator(".source").inner_text().strip(): m.locator('[data-role="provenance"]').inner_text().strip()
        for m in members.all()
    }
    assert labels == {"商务部网站": "首发", "新华网": "转载"}, labels
    first = members.first  # earliest publication first, with its Beijing time
    expect(first.locator(".source")).to_have_text("商务部网站")
    expect(first.locator("time")).to_contain_text(ORIGINAL_AT.strftime("%Y-%m-%d 09:00"))
    topic_cells = [c.inner_text().strip() for c in page.locator("table.explain tr td:first-child").all()]
    assert topic_cells and all(topic_cells), f"the explanation table's 主题 column is empty: {topic_cells}"
    assert any("跨境电商" in cell for cell in topic_cells), topic_cells
    assert not any(re.fullmatch(r"[a-z0-9-]+", cell) for cell in topic_cells), "topic ids, not names"


def test_sources_page_reads_beijing_time_to_the_minute(site, page):
    _daemon, _stories, tmp = site
    listed = {r["id"]: r for r in json.loads(run_cli(tmp, "sources", "list", "--json").stdout)}
    success = datetime.fromisoformat(listed["local-news"]["last_success_at"]).astimezone(BEIJING)
    page.goto("/admin/sources")
    row = page.locator('tr[data-source="local-news"]')
    expect(row).to_contain_text(success.strftime("%Y-%m-%d %H:%M"))
    text = page.locator("table.sources").inner_text()
    assert "+00:00" not in text and not re.search(r"\d\d:\d\d:\d\d\.\d", text), text
    expect(page.locator("table.sources")).to_contain_text("北京时间")


def test_ingested_story_shows_no_page_furniture_in_the_queue(site, page):
    _daemon, stories, _tmp = site
    story = stories["https://www.miit.example.cn/2024/soft.html"]
    page.goto("/?q=软件业务收入")
    snippet = page.locator(f'#queue .item[data-id="{story["id"]}"] .snippet')
    expect(snippet).to_contain_text("工业和信息化部")
    for furniture in ("字体", "打印本页", "关闭窗口", "分享到", "责任编辑"):
        assert furniture not in snippet.inner_text()


def test_assembly_screen_shows_a_clean_draft_flags_a_reporter_phrase_and_keeps_an_emptied_title(site, page):
    page.goto("/issues/current")
    title = "前10个月软件和信息技术服务业运行态势良好"
    form = page.locator("form.item-edit").filter(has=page.locator(f'input[name="title"][value="{title}"]'))
    expect(form).to_have_count(1)
    drafted = form.locator('textarea[name="text"]').input_value()
    assert drafted.startswith(f"{DAY.month} 月 {DAY.day} 日，"), drafted[:30]
    assert "记者" not in drafted and "获悉" not in drafted, drafted[:60]
    # an editor's text that brings the reporter phrase back is flagged, in Chinese
    prefix, rest = drafted.split("，", 1)
    form.locator('textarea[name="text"]').fill(f"{prefix}，记者从工业和信息化部获悉，{rest}")
    form.get_by_role("button", name="保存").click()
    warning = page.locator('.style-warning[data-code="style.reporter_phrase"]')
    expect(warning).to_have_count(1)
    expect(warning).to_contain_text("记者")
    # an emptied title: the summary is saved, the title kept, and the editor told
    form = page.locator("form.item-edit").filter(has=page.locator(f'input[name="title"][value="{title}"]'))
    form.locator('input[name="title"]').fill("")
    form.locator('textarea[name="text"]').fill(drafted)
    form.get_by_role("button", name="保存").click()
    expect(page.locator(".flash")).to_contain_text("已保留原标题")
    form = page.locator("form.item-edit").filter(has=page.locator(f'input[name="title"][value="{title}"]'))
    expect(form).to_have_count(1)
    assert form.locator('textarea[name="text"]').input_value() == drafted
