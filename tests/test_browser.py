"""The review app end to end in a real browser (Chromium driven by Playwright), against the real daemon.

One daemon for the module: ``news-harvester run --web-only`` on a free port with no sources (nothing leaves
127.0.0.1), users made with ``news-harvester users add`` and stories loaded with ``news-harvester ingest``.
Each test uses its own stories, so the order of the tests does not matter. Skips when /usr/bin/chromium or
the playwright package is missing; the XSS test also needs ../shared/fixtures (feedparser's sanitizer cases).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from browser_support import (
    ITEMS,
    SANITIZE_DIR,
    XSS_WATCH,
    Daemon,
    Payload,
    add_users,
    evidence_page,
    hostile_items,
    ingest,
    load_payloads,
    playwright_or_skip,
    sign_in,
    store_evidence,
    stories_by_url,
    web_daemon,
)
from conftest import SHARED_FIXTURES, shared_fixture

expect = playwright_or_skip().expect

ALL_STATES = ("new", "shortlisted", "snoozed", "accepted", "rejected", "used")
STALE_MESSAGE = re.compile(r"这条素材已被 editor1 修改（版本 \d+），请刷新后重试")


@dataclass
class Site:
    daemon: Daemon
    story: dict[str, int]
    """Story id by item key (``policy``, ``ai``, ``xss-<payload>``, …)."""
    article: dict[str, int]
    """Article id by item key."""
    payloads: list[Payload] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return self.daemon.base_url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("browser")
    (tmp / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    fixtures_present = (SHARED_FIXTURES / SANITIZE_DIR).is_dir()
    payloads = load_payloads(SHARED_FIXTURES) if fixtures_present else []
    items = ITEMS + hostile_items(payloads)
    report = ingest(tmp, [item.record(datetime.now(UTC)) for item in items])
    assert report["errors"] == [] and report["new"] == len(items), report
    assert report["stories_joined"] == 1, report  # the Xinhua reprint joined the MOFCOM notice's story
    add_users(tmp, [("editor1", "editor"), ("editor2", "editor"), ("boss", "admin")])
    story_by_url, article_by_url = stories_by_url(tmp)
    story = {item.key: story_by_url[item.url] for item in items}
    article = {item.key: article_by_url[item.url] for item in items}
    assert story["reprint"] == story["policy"]
    assert len({story[i.key] for i in items}) == len(items) - 1  # every other item is a story of its own
    if payloads:
        pages = {item.url: evidence_page([p], item.title) for item, p in zip(items[len(ITEMS) :], payloads)}
        pages[ITEMS[0].url] = evidence_page(payloads, ITEMS[0].title)  # one page carrying every payload
        store_evidence(tmp / "data" / "news_harvester.db", pages)
    with web_daemon(tmp) as daemon:
        yield Site(daemon, story, article, payloads)


@pytest.fixture
def new_page(browser_page: Callable[..., Any], site: Site) -> Callable[..., Any]:
    """``new_page(user=None, **context_options)``: a page in a fresh browser context (own cookies), signed in
    as ``user`` through the form when given."""

    def make(user: str | None = None, **options: Any) -> Any:
        page = browser_page(site.base_url, user, **options)
        if user:
            expect(page.locator("header .user")).to_contain_text(user)
        return page

    return make


def row(page: Any, story_id: int) -> Any:
    return page.locator(f'#queue .item[data-id="{story_id}"]')


def audit_rows(page: Any) -> list[dict[str, Any]]:
    """The story page's audit table (#audit), newest first; before/after decoded from the JSON each cell carries
    (``data-json``) beside the words it shows."""
    out = []
    for tr in page.locator("#audit tr").all()[1:]:
        tds = tr.locator("td").all()
        cells = [c.inner_text().strip() for c in tds]
        if len(cells) == 5:
            before, after = (tds[k].get_attribute("data-json") for k in (3, 4))
            out.append(
                {
                    "user": cells[1],
                    "action": cells[2],
                    "before": json.loads(before) if before else None,
                    "after": json.loads(after) if after else None,
                    "shown": (cells[3], cells[4]),
                }
            )
    return out


# --------------------------------------------------------------------------- sign-in


def test_login_form_rejects_a_wrong_password_then_signs_in(new_page, site):
    page = new_page()
    response = page.goto("/")
    expect(page).to_have_url(site.base_url + "/login")  # anonymous: the queue sends to the login page
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()

    sign_in(page, "editor1", "wrong password 123")
    expect(page.locator(".flash.error")).to_have_text("用户名或密码错误")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_label("用户名", exact=True)).to_have_value("editor1")  # the name is kept, not the password
    expect(page.get_by_label("密码", exact=True)).to_have_value("")

    sign_in(page, "editor1")
    expect(page).to_have_url(site.base_url + "/")
    expect(page.locator("header .user")).to_have_text("editor1（编辑）")
    expect(page.locator("#queue .item").first).to_be_visible()


# --------------------------------------------------------------------------- queue


def test_queue_is_ordered_by_score_and_filters_change_the_list(new_page, site):
    page = new_page("editor1")
    page.goto("/?" + "&".join(f"state={s}" for s in ALL_STATES))  # other tests change states
    items = page.locator("#queue .item")
    expect(items).to_have_count(len(set(site.story.values())))  # the reprint is part of the notice's story
    scores = [float(s) for s in page.locator("#queue .item .score").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    first = items.first
    expect(first).to_have_attribute("data-id", str(site.story["policy"]))  # official source, two outlets
    expect(first.locator(".outlets")).to_have_text("另有 1 家媒体")
    expect(first.locator(".chip")).to_contain_text(["跨境电商"])
    ai_score = float(row(page, site.story["ai"]).locator(".score").inner_text())
    off_score = float(row(page, site.story["offtopic"]).locator(".score").inner_text())
    assert off_score < ai_score  # no topic: −30
    expect(page.locator(".score").first).to_have_attribute("title", re.compile("来源权威性"))

    # text search (≥ 3 characters: the trigram index over title and body), submitted with Enter
    page.locator("#q").fill("海外仓")
    page.locator("#q").press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q=%E6%B5%B7%E5%A4%96%E4%BB%93"))
    expect(items).to_have_count(1)
    expect(items.first).to_have_attribute("data-id", str(site.story["policy"]))
    expect(page.locator(".bulkbar")).to_contain_text("共 1 条")

    # a body-only phrase finds the story too
    page.locator("#q").fill("聚类分析")
    page.get_by_role("button", name="筛选").click()
    expect(items).to_have_count(1)
    expect(items.first).to_have_attribute("data-id", str(site.story["ai"]))

    # two characters: titles only
    page.locator("#q").fill("马拉")
    page.locator("#q").press("Enter")
    expect(items).to_have_count(1)
    expect(items.first.locator("a.title")).to_have_text(ITEMS[3].title)

    # topic filter, from a clean form
    page.get_by_role("link", name="清除").click()
    expect(page).to_have_url(site.base_url + "/")
    page.get_by_label("主题").select_option(label="人工智能")
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"[?&]topic=ai(&|$)"))
    expect(row(page, site.story["ai"])).to_be_visible()
    count = items.count()
    assert 1 <= count < len(set(site.story.values()))
    for k in range(count):
        expect(items.nth(k).locator(".chip")).to_contain_text(["人工智能"])
    expect(row(page, site.story["offtopic"])).to_have_count(0)

    # a date range in the future: nothing
    page.get_by_role("link", name="清除").click()
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    page.locator('input[name="date_from"]').fill(tomorrow)
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("#queue .empty")).to_have_text("没有符合条件的素材。")
    expect(items).to_have_count(0)


def test_keyboard_shortcuts_focus_search_and_move_the_selection(new_page, site):
    page = new_page("editor1")
    rows = page.locator("#queue .item")
    expect(rows.first).to_be_visible()
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()
    expect(page.locator("#q")).to_have_value("")  # the "/" itself is not typed into the box
    page.keyboard.type("jk")  # inside the search box letters are text, not shortcuts
    expect(page.locator("#q")).to_have_value("jk")
    expect(page.locator("#queue .item.selected")).to_have_count(0)
    page.locator("#q").fill("")
    page.locator("#q").blur()

    selected = re.compile(r"(^|\s)selected(\s|$)")
    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_class(selected)
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(selected)
    expect(rows.nth(0)).not_to_have_class(selected)
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(rows.nth(1)).to_have_class(selected)
    page.keyboard.press("k")
    page.keyboard.press("k")  # stops at the first row
    expect(rows.nth(0)).to_have_class(selected)
    expect(page.locator("#queue .item.selected")).to_have_count(1)

    # Enter opens the selected story; on the story page "r" with no reason only focuses the reason box
    first_href = rows.nth(0).locator("a.title").get_attribute("href")
    page.keyboard.press("Enter")
    expect(page).to_have_url(site.base_url + first_href)
    state = page.locator("#story .meta [data-role=state]").inner_text()
    page.keyboard.press("r")
    expect(page.locator("#reject-reason")).to_be_focused()
    expect(page.locator("#story .meta [data-role=state]")).to_have_text(state)


# --------------------------------------------------------------------------- story page


def test_accept_edit_reject_and_the_audit_log(new_page, site):
    page = new_page("editor1")
    sid = site.story["datasec"]
    row(page, sid).locator("a.title").click()
    expect(page).to_have_url(f"{site.base_url}/stories/{sid}")
    expect(page.get_by_role("heading", level=1)).to_have_text(ITEMS[4].title)
    expect(page.locator("#audit")).to_contain_text("暂无操作。")

    page.get_by_role("button", name="采用 (a)").click()
    expect(page.locator(".flash")).to_have_text(re.compile(r"^已采用"))
    expect(page.locator("#story .meta [data-role=state]")).to_have_text("已采用")
    expect(page.locator("#story .meta .chip")).to_have_text("行业资讯")

    summary = "网信办发布《个人信息出境认证办法》，明确认证方式下个人信息出境的条件和程序，2026年1月1日起施行。"
    page.locator("#summary").fill(summary)
    page.locator("#edit-form").get_by_role("button", name="保存").click()
    expect(page.locator(".flash")).to_have_text("已保存")
    expect(page.locator("#summary")).to_have_value(summary)
    expect(page.locator("#story .meta .version")).to_contain_text("最后修改：editor1")

    entries = audit_rows(page)  # newest first; accepting may also log the story's placement in an issue
    actions = [(e["user"], e["action"]) for e in entries]
    assert actions[0] == ("editor1", "编辑文字") and actions[-1] == ("editor1", "采用"), actions
    assert {user for user, _ in actions} == {"editor1"}
    edit, accept = entries[0], entries[-1]
    assert edit["before"]["editor_summary"] is None
    assert edit["after"]["editor_summary"] == summary
    assert accept["before"].items() >= {"state": "new", "section": None}.items()
    assert accept["after"].items() >= {"state": "accepted", "section": "行业资讯"}.items()

    # the queue shows the editor's summary in place of the harvested snippet (filter: accepted stories)
    page.goto("/?state=accepted")
    expect(row(page, sid).locator(".snippet")).to_have_text(summary)

    # reject another story, with a reason
    page.goto("/")
    other = site.story["5g"]
    row(page, other).locator("a.title").click()
    expect(page).to_have_url(f"{site.base_url}/stories/{other}")
    page.locator("#reject-reason").fill("数据已在上期统计月报中刊发")
    page.get_by_role("button", name="退回 (r)").click()
    expect(page.locator(".flash")).to_have_text("已退回")
    expect(page.locator("#story .meta [data-role=state]")).to_have_text("已退回", timeout=1000)
    expect(page.locator("#story .meta .reason")).to_have_text("退回理由：数据已在上期统计月报中刊发")
    entries = audit_rows(page)
    assert [(e["user"], e["action"]) for e in entries] == [("editor1", "退回")]
    assert entries[0]["before"] == {"state": "new", "reject_reason": None}
    assert entries[0]["after"] == {"state": "rejected", "reject_reason": "数据已在上期统计月报中刊发"}

    page.goto("/")
    expect(row(page, other)).to_have_count(0)  # rejected: out of the queue
    expect(row(page, sid)).to_have_count(0)  # accepted: out of the open queue too


def test_in_place_shortlist_from_the_queue_without_reload(new_page, site):
    page = new_page("editor2")
    sid = site.story["fintech"]
    item = row(page, sid)
    expect(item).to_have_attribute("data-version", "1")
    page.evaluate("window.__notReloaded = true")
    item.get_by_role("button", name="备选", exact=True).click()
    expect(item.locator("[data-role=msg]")).to_have_text("已加入备选")
    expect(item.locator("[data-role=state]")).to_have_text("备选")
    expect(item).to_have_class(re.compile(r"\bstate-shortlisted\b"))
    expect(item).to_have_attribute("data-version", "2")
    assert page.evaluate("window.__notReloaded") is True  # the page was not reloaded

    page.reload()
    expect(row(page, sid).locator("[data-role=state]")).to_have_text("备选")  # stored
    row(page, sid).locator("a.title").click()
    entries = audit_rows(page)
    assert [(e["user"], e["action"]) for e in entries] == [("editor2", "加入备选")]
    assert entries[0]["after"] == {"state": "shortlisted"}


def test_second_editor_gets_the_stale_version_message(new_page, site):
    sid = site.story["outsourcing"]
    first, second = new_page("editor1"), new_page("editor2")
    for page in (first, second):
        page.goto(f"/stories/{sid}")
        expect(page.locator("#story")).to_have_attribute("data-version", "1")

    first.locator("#summary").fill("前三季度服务外包执行额同比增长9.2%，数字贸易成为重要引擎。")
    first.locator("#edit-form").get_by_role("button", name="保存").click()
    expect(first.locator(".flash")).to_have_text("已保存")

    second.locator("#summary").fill("服务外包稳中有进。")
    second.locator("#edit-form").get_by_role("button", name="保存").click()
    expect(second.locator(".flash.error")).to_have_text(STALE_MESSAGE)
    # nothing was overwritten: the second editor now sees the first one's text and version
    expect(second.locator("#summary")).to_have_value("前三季度服务外包执行额同比增长9.2%，数字贸易成为重要引擎。")
    expect(second.locator("#story")).to_have_attribute("data-version", "2")

    # the same for an action taken on a page loaded before the change
    first.goto(f"/stories/{sid}")
    second.goto(f"/stories/{sid}")
    first.get_by_role("button", name="加入备选 (s)").click()
    expect(first.locator(".flash")).to_have_text("已加入备选")
    second.get_by_role("button", name="采用 (a)").click()
    expect(second.locator(".flash.error")).to_have_text(STALE_MESSAGE)
    expect(second.locator("#story .meta [data-role=state]")).to_have_text("备选")


# --------------------------------------------------------------------------- roles and sessions


def test_sources_page_is_for_admins_only(new_page, site):
    editor = new_page("editor1")
    expect(editor.locator("header nav")).not_to_contain_text("信息源")
    response = editor.goto("/admin/sources")
    assert response.status == 403
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(editor.get_by_role("heading", level=1)).to_have_text("没有权限")
    expect(editor.locator("main")).to_contain_text("您的账号没有权限访问此页面。")

    admin = new_page("boss")
    expect(admin.locator("header .user")).to_have_text("boss（管理员）")
    admin.locator("header nav").get_by_role("link", name="信息源").click()
    expect(admin).to_have_url(site.base_url + "/admin/sources")
    expect(admin.get_by_role("heading", level=1)).to_have_text("信息源状态")


def test_logout_returns_to_login_and_pages_need_a_session(new_page, site):
    page = new_page("editor2")
    sid = site.story["chips"]
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(site.base_url + "/login")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "nh_session"]

    for path in ("/", "/admin/sources", f"/articles/{site.article['policy']}/evidence"):
        page.goto(path)
        expect(page).to_have_url(re.compile(r"/login(\?next=.*)?$"))
    page.goto(f"/stories/{sid}")
    expect(page).to_have_url(f"{site.base_url}/login?next=/stories/{sid}")
    api = page.request.get("/api/queue")
    assert api.status == 401

    sign_in(page, "editor2")  # back to the page that asked for it
    expect(page).to_have_url(f"{site.base_url}/stories/{sid}")


# --------------------------------------------------------------------------- hostile harvested markup


DOM_PROBLEMS = """
() => {
  const problems = [];
  const banned = new Set(["script", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math",
                          "style", "base", "template", "noscript", "video", "audio", "img", "input", "textarea"]);
  const allowedForms = "header, #story, form.filters, #bulk";
  for (const el of document.querySelectorAll("*")) {
    const tag = el.tagName.toLowerCase();
    const ours = el.closest(allowedForms) && !el.closest(".member .body, .evidence, .snippet");
    if (tag === "script" && el.getAttribute("src") === "/static/app.js" && !el.textContent.trim()) continue;
    if (banned.has(tag) && !(ours && (tag === "input" || tag === "textarea"))) problems.push("<" + tag + ">");
    if (tag === "meta" && el.hasAttribute("http-equiv")) problems.push("<meta http-equiv>");
    if (tag === "link" && el.getAttribute("href") !== "/static/app.css") problems.push("<link " + el.outerHTML + ">");
    if (tag === "form" && !ours) problems.push("<form> " + el.outerHTML.slice(0, 80));
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\\s\\u0000-\\u001f]/g, "").toLowerCase();
      if (name.startsWith("on")) problems.push(tag + "[" + name + "]");
      if (name === "style" || name === "srcdoc") problems.push(tag + "[" + name + "]");
      if (/^(javascript|vbscript|data):/.test(value)) problems.push(tag + "[" + name + "=" + value.slice(0, 40) + "]");
    }
  }
  for (const a of document.querySelectorAll(".member .body a, .evidence a")) {
    const href = a.getAttribute("href");
    if (href !== null && !/^(https?:\\/\\/|mailto:)/.test(href)) problems.push("a[href=" + href + "]");
    if ((a.getAttribute("rel") || "").indexOf("noopener") < 0) problems.push("a without rel=noopener");
  }
  return problems;
}
"""


@dataclass
class Watch:
    """What a page did that hostile markup could have caused."""

    base_url: str
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    navigations: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("dialog", self._dialog)
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        page.on("framenavigated", self._navigated)
        page.context.route("**/*", self._route)
        page.add_init_script(XSS_WATCH)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _navigated(self, frame: Any) -> None:
        if not frame.url.startswith(self.base_url) and frame.url != "about:blank":
            self.navigations.append(frame.url)

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(self.base_url + "/"):
            route.continue_()
        else:
            self.foreign_requests.append(url)
            route.abort()


def _visit_hostile_pages(page: Any, site: Site, watch: Watch, *, csp: bool) -> int:
    paths = ["/", "/?" + "&".join(f"state={s}" for s in ALL_STATES)]
    paths += [f"/stories/{site.story['xss-' + p.name]}" for p in site.payloads]
    paths += [f"/articles/{site.article['xss-' + p.name]}/evidence" for p in site.payloads]
    paths += [f"/stories/{site.story['policy']}", f"/articles/{site.article['policy']}/evidence"]
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, path
        assert page.url == site.base_url + path, f"{path} navigated to {page.url}"
        if csp:
            policy = response.headers.get("content-security-policy", "")
            assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy, (path, policy)
            assert "object-src 'none'" in policy and "frame-src 'none'" in policy, (path, policy)
        page.mouse.move(200, 300)  # hover-triggered handlers, had any survived
        assert page.evaluate("window.__xss") == [], (path, page.evaluate("window.__xss"))
        assert page.evaluate("window.__csp") == [], (path, page.evaluate("window.__csp"))
        assert page.evaluate(DOM_PROBLEMS) == [], path
    return len(paths)


def _watched_page(new_page: Callable[..., Any], site: Site, *, csp: bool) -> tuple[Any, Watch]:
    page = new_page(bypass_csp=not csp)
    watch = Watch(site.base_url)
    watch.attach(page)
    return page, watch


PROBE = (
    "<!doctype html><meta charset=utf-8><p>probe</p><script>alert('probe-script')</script>"
    "<img src=/missing.png onerror=\"alert('probe-img')\"><a href=\"javascript:alert('probe-link')\">x</a>"
)


def test_the_xss_watch_catches_a_payload_that_gets_through(new_page, site):
    """Control for the test below: the same watch on a page that does carry live markup sees it, with the CSP
    (a blocked inline script, reported) and without (the alert recorded)."""
    policy = new_page().goto("/login").headers["content-security-policy"]
    for csp in (True, False):
        page, watch = _watched_page(new_page, site, csp=csp)
        page.route(
            "**/probe",
            lambda route: route.fulfill(
                status=200, content_type="text/html", headers={"content-security-policy": policy}, body=PROBE
            ),
        )
        page.goto("/probe")
        page.wait_for_load_state("load")
        assert page.evaluate(DOM_PROBLEMS) != []
        if csp:
            expect(page.locator("p")).to_have_text("probe")
            page.wait_for_function("window.__csp.length >= 2")
            assert page.evaluate("window.__xss") == []
            assert any("inline" in e for e in watch.console_errors), watch.console_errors
        else:
            page.wait_for_function("window.__xss.length >= 2")
            assert "alert:probe-script" in page.evaluate("window.__xss")


def test_harvested_payloads_never_execute(new_page, site):
    shared_fixture(SANITIZE_DIR)
    assert len(site.payloads) >= 12
    pages = 0
    # first as shipped (CSP on), then with the CSP bypassed: the sanitizer and escaping alone must hold
    for csp in (True, False):
        page, watch = _watched_page(new_page, site, csp=csp)
        sign_in(page, "editor1")
        expect(page).to_have_url(site.base_url + "/")
        pages += _visit_hostile_pages(page, site, watch, csp=csp)
        assert watch.dialogs == []
        assert watch.page_errors == []
        assert watch.navigations == []
        assert watch.foreign_requests == []
        inline = [e for e in watch.console_errors if re.search(r"inline|script|Content Security Policy", e, re.I)]
        assert inline == []
        assert watch.console_errors == []
    assert pages >= 4 * len(site.payloads)

    # what was markup in the feed is shown as the text it is
    page = new_page("editor1")
    p = next(p for p in site.payloads if p.name == "entry_content_script")
    page.goto(f"/stories/{site.story['xss-' + p.name]}")
    expect(page.get_by_role("heading", level=1)).to_contain_text('<script type="text/javascript">alert(')
    expect(page.locator(".member .body").first).to_contain_text("原文摘录：safe<script")
    page.goto(f"/articles/{site.article['policy']}/evidence")
    expect(page.locator(".evidence")).to_contain_text("正文第一段：存档快照中的正文内容。")
    expect(page.locator(".evidence")).to_contain_text("Did The Javascript Execute?")


# --------------------------------------------------------------------------- regressions of bugs these tests found


def test_saving_only_the_summary_leaves_the_title_alone(new_page, site):
    page = new_page("editor1")
    sid = site.story["chips"]
    page.goto(f"/stories/{sid}")
    page.locator("#summary").fill("大基金三期首批投资聚焦装备与材料。")
    page.locator("#edit-form").get_by_role("button", name="保存").click()
    expect(page.locator(".flash")).to_have_text("已保存")
    assert audit_rows(page)[0]["after"] == {"editor_summary": "大基金三期首批投资聚焦装备与材料。"}
    expect(page.locator("#story .harvested")).to_have_count(0)


def test_audit_log_shows_chinese_values_readably(new_page, site):
    page = new_page("editor1")
    sid = site.story["rcep"]
    page.goto(f"/stories/{sid}")
    page.get_by_role("button", name="采用 (a)").click()
    expect(page.locator(".flash")).to_have_text(re.compile(r"^已采用"))
    accept = next(e for e in audit_rows(page) if e["action"] == "采用")
    assert accept["after"].items() >= {"state": "accepted", "section": "行业资讯"}.items()  # the JSON is right
    expect(page.locator("#audit")).to_contain_text("行业资讯", timeout=1000)  # but is it readable?
    before, after = accept["shown"]
    assert "状态：已采用" in after and "栏目：行业资讯" in after and "{" not in after + before, accept["shown"]


def test_enter_in_the_bulk_reject_reason_rejects(new_page, site):
    page = new_page("editor1")
    sid = site.story["digitaleconomy"]
    row(page, sid).get_by_role("checkbox").check()
    page.get_by_placeholder("退回理由", exact=True).fill("地方政策，不属于本刊范围")
    page.get_by_placeholder("退回理由", exact=True).press("Enter")
    expect(page.locator(".flash")).to_have_text("已处理 1 条")
    page.goto(f"/stories/{sid}")
    expect(page.locator("#story .meta [data-role=state]")).to_have_text("已退回", timeout=1000)
