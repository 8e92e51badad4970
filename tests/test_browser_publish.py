"""Real-browser tests (Chromium, the daemon as a subprocess) of issue 21's newsroom rules: publishing needs a
confirmation step that works with JavaScript turned off, an empty issue is refused with a Chinese message, a
confirmation given for an issue that changed meanwhile publishes nothing, and the next draft carries the next
number; user names ignore case at sign-in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from browser_support import (
    NOTICE_BODY,
    Daemon,
    add_users,
    ingest,
    playwright_or_skip,
    sign_in,
    stories_by_url,
    web_daemon,
)

expect = playwright_or_skip().expect
URL = "https://mofcom.example.cn/publish/1"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, int]]:
    tmp = tmp_path_factory.mktemp("publish")
    (tmp / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    record = {"title": "商务部等9部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》", "url": URL,
              "body": NOTICE_BODY, "source": "商务部网站", "weight": 10,
              "published_at": (datetime.now(UTC) - timedelta(days=1)).isoformat()}
    assert ingest(tmp, [record])["new"] == 1
    add_users(tmp, [("Editor", "editor")])
    story_ids, _ = stories_by_url(tmp)
    with web_daemon(tmp) as daemon:
        yield daemon, story_ids[URL]


def issue_status(page: Any, issue_id: int) -> str:
    response = page.request.get(f"/api/issues/{issue_id}")
    assert response.ok, response.text()
    status: str = response.json()["status"]
    return status


def test_sign_in_ignores_the_case_of_the_name(site, browser_page):
    daemon, _story = site
    page = browser_page(daemon.base_url, "editor")  # signed in: on the queue page
    expect(page.locator("header .who .user")).to_have_text("Editor（编辑）")

    shouted = browser_page(daemon.base_url, " EDITOR ")
    expect(shouted.locator("header .who .user")).to_have_text("Editor（编辑）")

    wrong = browser_page(daemon.base_url)
    sign_in(wrong, "eDiToR", password="not the password")
    expect(wrong.locator(".flash.error")).to_have_text("用户名或密码错误")
    expect(wrong).to_have_url(re.compile(r"/login"))


def test_publishing_is_confirmed_refused_when_empty_and_works_without_javascript(site, browser_page):
    daemon, story = site
    page = browser_page(daemon.base_url, "EDITOR", java_script_enabled=False)

    # an empty draft: refused at once, in Chinese, and still a draft
    page.goto("/issues")
    page.get_by_role("button", name=re.compile("^新建草稿")).click()
    expect(page.locator(".flash")).to_contain_text("已新建一期草稿")
    issue_id = int(re.search(r"/issues/(\d+)", page.url).group(1))
    label = page.locator(".issue-head h1").inner_text().split("·")[-1].strip()
    page.get_by_role("button", name=re.compile("^出版本期")).click()
    expect(page.locator(".flash.error")).to_have_text("本期还没有任何条目，不能出版：请先采用素材或添加文字")
    expect(page.locator("#publish-confirm")).to_have_count(0)
    assert issue_status(page, issue_id) == "draft"

    # a story in it, then the first click only asks
    page.goto(f"/stories/{story}")
    page.get_by_role("button", name="采用 (a)").click()
    expect(page.locator(".flash")).to_contain_text("已放入本期草稿")
    page.get_by_role("link", name="本期编排").click()
    expect(page).to_have_url(re.compile(rf"/issues/{issue_id}$"))
    page.get_by_role("button", name=re.compile("^出版本期")).click()
    confirm = page.locator("#publish-confirm")
    expect(confirm).to_be_visible()
    expect(confirm.locator("h2")).to_have_text(f"确认出版：{label}")
    expect(confirm.locator('li[data-section="行业资讯"]')).to_have_text("【行业资讯】1/10 条（未达到目标数）")
    expect(confirm).to_contain_text("1 条素材将标记为已刊发")
    assert issue_status(page, issue_id) == "draft", "asking is not publishing"

    # the server asks too: a post without the confirmation publishes nothing
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    bare = page.request.post(f"/issues/{issue_id}/publish", form={"csrf_token": token})
    assert bare.ok and "确认出版" in bare.text()
    assert issue_status(page, issue_id) == "draft"

    # someone changes the issue while the confirmation is open: that confirmation publishes nothing
    other = page.context.new_page()
    other.goto(f"/issues/{issue_id}")
    title = other.locator('.issue-section[data-section="行业资讯"] input[name="title"]').first
    title.fill("商务部等九部门联合印发海外仓建设意见")
    other.locator('.issue-section[data-section="行业资讯"] .item-edit').first.get_by_role("button", name="保存").click()
    expect(other.locator(".flash")).to_have_text("已保存")
    other.close()
    page.get_by_role("button", name="确认出版").click()
    expect(page.locator(".flash.error")).to_contain_text("确认之后本期又有改动")
    expect(page.locator("#publish-confirm")).to_be_visible()
    assert issue_status(page, issue_id) == "draft"

    # confirmed for what is there now: published, the next draft follows
    page.get_by_role("button", name="确认出版").click()
    expect(page.locator(".flash")).to_contain_text(f"{label} 已出版")
    next_id = int(re.search(r"/issues/(\d+)", page.url).group(1))
    assert next_id != issue_id and issue_status(page, issue_id) == "published"
    number = int(re.search(r"第 (\d+) 期", label).group(1))
    expect(page.locator(".issue-head h1")).to_contain_text(f"第 {number + 1} 期")
    assert page.request.get(f"/api/stories/{story}").json()["candidate"]["state"] == "used"
