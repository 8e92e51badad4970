"""Issue 17 in a real browser (Chromium, Playwright) against the real daemon: an editor uploads the sample issue's
figures on the 数据月报 page, puts the drafted report into the issue (2024 年第 6 期) with the assembly screen's
button, then mistypes a number and sees it flagged next to the item."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from browser_support import Daemon, add_users, playwright_or_skip, web_daemon
from figures_support import PERIOD, REGION, sample_path
from procs import run_cli

expect = playwright_or_skip().expect


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, int]]:
    tmp = tmp_path_factory.mktemp("figures")
    (tmp / "sources.yaml").write_text(
        "sources:\n  - {id: x, name: X, kind: feed, url: 'http://127.0.0.1:9/x.xml', enabled: false}\n",
        encoding="utf-8",
    )
    add_users(tmp, [("editor1", "editor")])
    created = run_cli(tmp, "issue", "new", "--year", "2024", "--number", "6", "--total", "26", "--date",
                      "2024-06-28", "--json")  # fmt: skip
    assert created.returncode == 0, created.stderr
    with web_daemon(tmp) as daemon:
        yield daemon, json.loads(created.stdout)["id"]


@pytest.fixture
def page(site: tuple[Daemon, int], browser_page: Callable[..., Any]) -> Any:
    return browser_page(site[0].base_url, "editor1")


def test_upload_the_figures_and_put_the_report_into_the_issue(site, page):
    _daemon, issue_id = site
    csv_path = sample_path()
    page.get_by_role("link", name="数据月报", exact=True).click()
    expect(page).to_have_url(re.compile(r"/figures$"))
    page.locator('#figures-upload input[name="file"]').set_input_files(str(csv_path))
    page.get_by_role("button", name="上传并导入").click()
    expect(page.locator(".flash")).to_contain_text("已导入 dalian-2024-01-05.csv")
    row = page.locator(f'tr[data-period="{PERIOD}"][data-region="{REGION}"]')
    expect(row).to_contain_text("editor1")

    page.goto(f"/issues/{issue_id}")
    section = page.locator('section.issue-section[data-section="数据月报"]')
    section.locator('select[name="figures"]').select_option(f"{PERIOD}|{REGION}")
    section.get_by_role("button", name="从数据生成数据月报").click()
    expect(page.locator(".flash")).to_contain_text("已根据 2024-01..2024-05 大连市的数据生成数据月报")
    section = page.locator('section.issue-section[data-section="数据月报"]')
    item = section.locator("li.issue-item")
    expect(item).to_have_count(1)
    expect(item.locator('input[name="title"]')).to_have_value("2024 年 5 月大连市服务外包数据统计情况")
    html = item.locator('textarea[name="html"]').input_value()
    assert "根据商务部服务外包统一平台公布的最新数据显示，今年1-5月大连市" in html  # the issue is of 2024
    assert "前三的是日本、荷兰、新加坡" in html and html.count("<p>") == 4
    expect(item.locator(".style-warning")).to_have_count(0)

    item.locator('textarea[name="html"]').fill(html.replace("占比18.14%", "占比18.41%"))
    item.get_by_role("button", name="保存").click()
    section = page.locator('section.issue-section[data-section="数据月报"]')
    warning = section.locator('.style-warning[data-code="figures.mismatch"]')
    expect(warning).to_have_count(1)
    expect(warning).to_contain_text("“占比18.41%”与数据不符")
    expect(warning).to_contain_text("企业性质：内资")
