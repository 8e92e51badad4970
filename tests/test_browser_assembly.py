"""Real-browser tests of the issue assembly screen (accept → draft, reorder, move, export download) and of
source administration (a bad selector is tested, shown with 0 items and refused without confirmation; fixed,
it is saved into sources.yaml with the comments kept). The daemon runs as a subprocess (`run --web-only`)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from browser_support import NOTICE_BODY, Daemon, add_users, ingest, playwright_or_skip, stories_by_url, web_daemon

expect = playwright_or_skip().expect
HEADER = "# 信息源（测试用）\n# 这一行注释必须在网页编辑之后原样保留。\n\nsources: []\n"
AI_BODY = (
    "6月13日，T-EDGE未来科技大会发布《中国人工智能城市竞争力排行研究报告》。报告通过聚类分析将中国的样本城市划分为5个梯队，"
    "北京市作为第一梯队城市，具备高城市效益产出性、渗透性、发展潜能和基础设施。深圳市及上海市属于第二梯队，"
    "上海市对人工智能产业的政策支持力度较大，在产业链的基础、技术层具有较强覆盖力。总体来看具有一定竞争力。"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, dict[str, int], Path]]:
    tmp = tmp_path_factory.mktemp("assembly")
    (tmp / "sources.yaml").write_text(HEADER, encoding="utf-8")
    now = datetime.now(UTC)
    records = [
        {
            "title": "商务部等9部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》",
            "url": "https://mofcom.example.cn/1",
            "body": NOTICE_BODY,
            "source": "商务部网站",
            "weight": 10,
            "published_at": (now - timedelta(days=1)).isoformat(),
        },
        {
            "title": "《中国人工智能城市竞争力排行研究报告》重磅发布",
            "url": "https://tmt.example.com/2",
            "body": AI_BODY,
            "source": "钛媒体",
            "weight": 4,
            "published_at": (now - timedelta(days=2)).isoformat(),
        },
    ]
    assert ingest(tmp, records)["new"] == 2
    add_users(tmp, [("editor1", "editor"), ("boss", "admin")])
    story_ids, _ = stories_by_url(tmp)
    with web_daemon(tmp) as daemon:
        yield (
            daemon,
            {"policy": story_ids["https://mofcom.example.cn/1"], "ai": story_ids["https://tmt.example.com/2"]},
            tmp,
        )


def news_titles(page: Any) -> list[str]:
    section = page.locator('.issue-section[data-section="行业资讯"]')
    return [
        v.strip()
        for v in section.locator('.item-edit input[name="title"]').evaluate_all("els => els.map(e => e.value)")
    ]


def test_accept_reorder_move_and_download(site, browser_page):
    import docx

    daemon, story, _tmp = site
    page = browser_page(daemon.base_url, "editor1", accept_downloads=True)
    for key in ("policy", "ai"):
        page.goto(f"/stories/{story[key]}")
        page.get_by_role("button", name="采用 (a)").click()
        expect(page.locator(".flash")).to_contain_text("已放入本期草稿")
    page.get_by_role("link", name="本期编排").click()
    expect(page.locator('.balance [data-section="行业资讯"]')).to_have_text("行业资讯 2/10")
    expect(page.locator(".balance")).to_contain_text("人工智能 1")
    assert [t[:8] for t in news_titles(page)] == ["商务部等9部门联", "《中国人工智能城"]
    summary = page.locator('.issue-section[data-section="行业资讯"] textarea[name="text"]').first
    expect(summary).to_have_value(re.compile(r"^6 月 1\d 日，"))

    first = page.locator('.issue-section[data-section="行业资讯"] .issue-item').first
    first.get_by_role("button", name="↓").click()
    expect(page.locator(".flash")).to_have_text("已调整顺序")
    assert [t[:8] for t in news_titles(page)] == ["《中国人工智能城", "商务部等9部门联"]

    moving = page.locator('.issue-section[data-section="行业资讯"] .issue-item').first
    moving.locator('select[name="section"]').select_option("协会动态")
    moving.get_by_role("button", name="移到").click()
    expect(page.locator('.balance [data-section="协会动态"]')).to_have_text("协会动态 1/2")
    assert [t[:8] for t in news_titles(page)] == ["商务部等9部门联"]

    with page.expect_download() as info:
        page.get_by_role("link", name="Word (DOCX)").click()
    download = info.value
    assert re.match(r"brief-\d{4}-\d{2}\.docx$", download.suggested_filename)
    document = docx.Document(io.BytesIO(Path(download.path()).read_bytes()))
    texts = [p.text for p in document.paragraphs if p.text.strip()]
    assert any("商务部等9部门联合印发" in t for t in texts) and "（来源：商务部网站）" in texts
    with page.expect_download() as info:
        page.get_by_role("link", name="Markdown").click()
    markdown = Path(info.value.path()).read_text(encoding="utf-8")
    assert markdown.index("【行业资讯】") < markdown.index("【协会动态】")


def test_admin_adds_a_source_only_after_a_test_that_finds_items(site, browser_page, httpserver: HTTPServer):
    daemon, _story, tmp = site
    rows = "".join(f'<li><a href="/news/2024061{n}/{n}.html">商务部发布第{n}号政策解读</a></li>' for n in range(4))
    httpserver.expect_request("/list.html").respond_with_data(
        f'<html><body><ul class="news">{rows}</ul><a href="/about.html">关于我们</a></body></html>',
        content_type="text/html",
    )
    article = "<html><body><h1>政策解读</h1><div class='content'><p>" + "商务部有关负责人表示，数字贸易稳步发展。" * 10
    for n in range(4):
        httpserver.expect_request(f"/news/2024061{n}/{n}.html").respond_with_data(
            article + "</p></div></body></html>", content_type="text/html"
        )
    entry = (
        "id: local-list\nname: 本地列表\nkind: html\nurl: "
        + httpserver.url_for("/list.html")
        + "\nrespect_robots: false\nselectors:\n  item: {selector}\n"
    )
    sources = tmp / "sources.yaml"
    page = browser_page(daemon.base_url, "boss")
    page.get_by_role("link", name="信息源").click()
    page.get_by_role("link", name="新增信息源").click()
    page.get_by_role("link", name="以 YAML 编写（高级）").first.click()  # the experts' way in
    page.locator("#source-yaml").fill(entry.format(selector="div.missing li"))
    page.get_by_role("button", name="测试并保存").click()
    expect(page.locator("#form-error")).to_contain_text("没有找到任何条目")
    expect(page.locator("#preview h2")).to_have_text("测试结果：没有抓到条目")
    assert sources.read_text(encoding="utf-8") == HEADER  # refused: nothing written

    page.locator("#source-yaml").fill(entry.format(selector="ul.news li"))
    page.get_by_role("button", name="测试（不保存）").click()
    expect(page.locator("#preview h2")).to_have_text("测试结果：抓到 4 条")
    assert sources.read_text(encoding="utf-8") == HEADER
    page.get_by_role("button", name="测试并保存").click()
    expect(page.locator(".flash")).to_contain_text("已保存信息源 local-list")
    saved = sources.read_text(encoding="utf-8")
    assert saved.startswith("# 信息源（测试用）\n# 这一行注释必须在网页编辑之后原样保留。\n")
    assert "local-list" in saved and "ul.news li" in saved
    expect(page.locator('tr[data-source="local-list"]')).to_contain_text("本地列表")

    editor = browser_page(daemon.base_url, "editor1")
    response = editor.goto("/admin/sources")
    assert response is not None and response.status == 403
