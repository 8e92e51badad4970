"""Real-browser test of adding a source without YAML (issue 22): an admin pastes a list page's URL, 识别 fills the
form and shows the items and one article, the live preview follows a selector edit, 测试并保存 writes
sources.yaml (its comments kept), and 立即抓取 brings the first harvest into the queue. The daemon harvests and
serves (`run`), as a subprocess; the site is a local server; Debian's chromium drives the page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from browser_support import Daemon, add_users, filler, playwright_or_skip, running_daemon
from news_harvester.clock import EDITOR_ZONE
from news_harvester.config import load_sources
from procs import wait_until

expect = playwright_or_skip().expect
HEADER = "# 信息源（浏览器测试）\n# 这一行注释必须原样保留。\n\nsources: []\n"
HTML = "text/html; charset=utf-8"
TITLES = [f"商务部等部门发布第{n}批数字贸易创新发展政策措施" for n in range(1, 9)]


def _day(n: int) -> str:
    """n days before today in Beijing: the queue shows recent news first."""
    return (datetime.now(EDITOR_ZONE) - timedelta(days=n)).strftime("%Y-%m-%d")


def _site(server: HTTPServer) -> None:
    rows = "".join(
        f"<li><a href='/zwgk/art/2024/art_{n:04d}.html' title='{t}'>{t}</a><span>{_day(n)}</span></li>"
        for n, t in enumerate(TITLES))
    side = "<div class='side'><a href='/zwgk/art/2024/art_9999.html'>热点：一条侧栏里的专题报道标题</a></div>"
    server.expect_request("/zwgk/index.html").respond_with_data(
        "<html lang='zh-CN'><head><title>政务公开_示例部网站</title></head><body><div class='nav'><a href='/'>首页</a>"
        f"</div><div class='main'><ul class='txtList'>{rows}</ul></div>{side}</body></html>", content_type=HTML)
    for n, title in enumerate(TITLES):
        server.expect_request(f"/zwgk/art/2024/art_{n:04d}.html").respond_with_data(
            f"<html><head><meta name='PubDate' content='{_day(n)} 10:00'><meta name='ContentSource' "
            f"content='示例部'></head><body><h1>{title}</h1><div class='art-con'><p>{title}。"
            + filler(n) + "</p></div></body></html>",  # eight different stories, not one reprinted
            content_type=HTML)


@pytest.fixture(scope="module")
def harvesting_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, Path]]:
    tmp = tmp_path_factory.mktemp("source-discover-browser")
    (tmp / "sources.yaml").write_text(HEADER, encoding="utf-8")
    add_users(tmp, [("boss", "admin")])
    with running_daemon(tmp, NEWS_HARVESTER_RELOAD_INTERVAL="0.5") as daemon:  # harvests and serves
        yield daemon, tmp / "sources.yaml"


def test_paste_a_url_discover_preview_save_and_harvest(harvesting_site, browser_page, httpserver: HTTPServer):
    daemon, sources = harvesting_site
    _site(httpserver)
    page = browser_page(daemon.base_url, "boss")
    page.goto("/admin/sources")
    page.get_by_role("link", name="新增信息源").click()
    page.get_by_label("第一步").fill(httpserver.url_for("/zwgk/index.html"))
    page.get_by_role("button", name="识别").click()

    panel = page.locator("#discovered")
    expect(panel).to_contain_text("识别结果：HTML 列表页")
    expect(page.locator("#discovered-count")).to_have_text(str(len(TITLES)))
    expect(panel).to_contain_text(TITLES[0])
    expect(panel).not_to_contain_text("热点：")  # the sidebar's link is not a row of the list
    expect(page.locator("#discovered-article-title")).to_have_text(TITLES[0])
    expect(panel).to_contain_text("来源：示例部")
    expect(page.locator("#f-name")).to_have_value("示例部网站")
    expect(page.locator("#f-kind")).to_have_value("html")
    expect(page.locator("#f-sel-item")).to_have_value("ul.txtList > li")

    # The live preview follows the selectors as they are edited: a narrower row selector, fewer items.
    expect(page.locator("#live-count")).to_have_text(f"（{len(TITLES)} 条）")
    page.locator("#f-sel-item").fill("ul.txtList > li:nth-child(-n+3)")
    expect(page.locator("#live-count")).to_have_text("（3 条）")
    expect(page.locator("#live-items li")).to_have_count(3)
    page.locator("#f-sel-item").fill("ul.txtList > li")
    expect(page.locator("#live-count")).to_have_text(f"（{len(TITLES)} 条）")

    page.locator("#f-id").fill("example-zwgk")
    page.get_by_role("button", name="测试并保存").click()
    expect(page.locator(".flash")).to_contain_text("已保存信息源 example-zwgk")
    text = sources.read_text(encoding="utf-8")
    assert text.startswith(HEADER.split("\n\n")[0])  # the header comment kept
    spec = load_sources(sources).get("example-zwgk")
    assert spec is not None and spec.selectors is not None and spec.selectors.item == ["ul.txtList > li"]

    # The daemon loads the new source; 立即抓取 harvests it; the queue shows its items.
    row = page.locator('tr[data-source="example-zwgk"]')
    assert wait_until(lambda: (page.reload(), row.count() > 0)[1], 20), daemon.log()
    row.get_by_role("button", name="立即抓取").click()
    expect(page.locator(".flash")).to_contain_text("example-zwgk")
    assert wait_until(lambda: (page.goto("/"), TITLES[0] in page.content())[1], 30), daemon.log()
    expect(page.locator("body")).to_contain_text(TITLES[-1])
