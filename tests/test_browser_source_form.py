"""Real-browser test of the source form's Chinese messages (issue 21): an admin submits a source with a bad
kind, then an empty form, and each time gets the form back with what they typed kept (text and checkbox) and a
Chinese message right under the textarea, naming the field and its line. The daemon runs as a subprocess
(`run --web-only`); Debian's chromium drives the page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from browser_support import Daemon, add_users, playwright_or_skip, web_daemon

expect = playwright_or_skip().expect
HEADER = "# 信息源（浏览器测试）\n# 这一行注释必须原样保留。\n\nsources: []\n"
BAD_KIND = "\n# 新来源（开头的空行也要原样保留）\nid: local-policy\nname: 本地来源\nkind: rss\nurl: https://www.example.gov.cn/list/\n"
"""Starts with an empty line: HTML drops one newline after <textarea>, the page must not lose the admin's."""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, Path]]:
    tmp = tmp_path_factory.mktemp("source-form-browser")
    (tmp / "sources.yaml").write_text(HEADER, encoding="utf-8")
    add_users(tmp, [("boss", "admin")])
    with web_daemon(tmp) as daemon:
        yield daemon, tmp / "sources.yaml"


def just_below(page: Any, upper: str, lower: str) -> bool:
    """Whether ``lower`` starts within 3 em under ``upper``'s bottom edge and overlaps it horizontally."""
    a = page.locator(upper).bounding_box()
    b = page.locator(lower).bounding_box()
    return (
        a is not None and b is not None and 0 <= b["y"] - (a["y"] + a["height"]) <= 48 and b["x"] < a["x"] + a["width"]
    )


def test_bad_kind_and_empty_form_get_chinese_messages_beside_the_field_with_input_kept(
    site, browser_page, httpserver: HTTPServer
):
    daemon, sources = site
    page = browser_page(daemon.base_url, "boss")
    page.get_by_role("link", name="信息源").click()
    page.get_by_role("link", name="新增信息源").click()
    page.get_by_role("link", name="以 YAML 编写（高级）").first.click()  # the experts' way in
    yaml_box = page.get_by_label("信息源配置（YAML）")
    yaml_box.fill(BAD_KIND)
    page.locator("#confirm-empty").check()
    page.get_by_role("button", name="测试并保存").click()

    errors = page.locator("#source-yaml-errors li")
    expect(errors).to_have_count(1)
    expect(errors.first).to_have_attribute("data-field", "kind")
    expect(errors.first).to_have_text("第 5 行 类型（kind）：“rss” 不是可用的类型，请填写 feed、html 或 json 之一")
    expect(page.locator("#form-error")).to_contain_text("信息源配置有 1 处问题，未保存")
    expect(yaml_box).to_have_value(BAD_KIND)
    expect(yaml_box).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#confirm-empty")).to_be_checked()
    assert "source-yaml-errors" in (yaml_box.get_attribute("aria-describedby") or "")
    assert just_below(page, "#source-yaml", "#source-yaml-errors")
    assert "Input should" not in page.content()
    assert sources.read_text(encoding="utf-8") == HEADER

    yaml_box.fill("")
    page.get_by_role("button", name="测试（不保存）").click()
    expect(page.locator("#source-yaml-errors li")).to_have_count(1)
    expect(page.locator("#source-yaml-errors")).to_contain_text("请填写信息源配置")
    expect(page.locator("#form-error")).to_contain_text("未测试")
    expect(page.get_by_label("信息源配置（YAML）")).to_have_value("")
    expect(page.locator("#confirm-empty")).to_be_checked()
    assert just_below(page, "#source-yaml", "#source-yaml-errors")
    assert page.locator("h1").inner_text() == "新增信息源"  # still the form, not an error page
    assert sources.read_text(encoding="utf-8") == HEADER

    rows = "".join(f'<li><a href="/n/{n}.html">商务部发布第{n}号政策解读</a></li>' for n in range(3))
    httpserver.expect_request("/list.html").respond_with_data(
        f'<html><body><ul class="news">{rows}</ul></body></html>', content_type="text/html"
    )
    local = httpserver.url_for("/list.html")
    fixed = BAD_KIND.replace("kind: rss", "kind: html").replace("https://www.example.gov.cn/list/", local)
    fixed += "respect_robots: false\nselectors:\n  item: ul.news li\n"
    page.get_by_label("信息源配置（YAML）").fill(fixed)
    page.locator("#confirm-empty").uncheck()
    page.get_by_role("button", name="测试（不保存）").click()
    expect(page.locator("#preview h2")).to_have_text("测试结果：抓到 3 条")
    expect(page.locator("#source-yaml-errors")).to_have_count(0)
    expect(page.locator("#confirm-empty")).not_to_be_checked()
