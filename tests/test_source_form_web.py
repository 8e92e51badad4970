"""The source form (issue 22 part 2) against a real sources.yaml, a real SQLite file and a local HTTP server:
discover from a URL, fields instead of YAML, problems beside their fields in Chinese, the live preview of
selectors, the real cause of a failed test, and the YAML form still there for experts."""

from __future__ import annotations

import re
import shutil
import socket
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer

from conftest import ROOT
from news_harvester.config import load_sources
from news_harvester.sources.entry_form import entry_from_form, form_values
from news_harvester.stories.assign import StoryService
from news_harvester.web.app import create_app
from passwords import password_hash

HTML = "text/html; charset=utf-8"
TITLES = [f"商务部发布第{n}号数字贸易政策解读" for n in range(6)]


def _list(rows: int = 6) -> str:
    items = "".join(
        f"<li><a href='/news/2024061{n}/{n}.html' title='{TITLES[n]}'>{TITLES[n]}</a><span>2024-06-1{n}</span></li>"
        for n in range(rows)
    )
    return (f"<html lang='zh-CN'><head><title>政策解读_示例部网站</title></head><body>"
            f"<div class='nav'><a href='/about.html'>关于我们</a></div><ul class='news'>{items}</ul></body></html>")


@pytest.fixture
def admin(settings, repository, httpserver: HTTPServer):
    shutil.copy(ROOT / "config" / "sources.yaml", settings.sources)
    httpserver.expect_request("/list.html").respond_with_data(_list(), content_type=HTML)
    for n in range(6):
        article = (f"<html><head><meta name='PubDate' content='2024-06-1{n} 09:30'></head><body>"
                   f"<h1>{TITLES[n]}</h1><div class='content'><p>" + "商务部有关负责人表示，数字贸易稳步发展。" * 12
                   + "</p></div></body></html>")
        httpserver.expect_request(f"/news/2024061{n}/{n}.html").respond_with_data(article, content_type=HTML)
    now = datetime.now(UTC)
    repository.add_user("boss", password_hash("admin-password"), "admin", now)
    app = create_app(database_ok=lambda: True, scheduler_ok=lambda: True, sources_health=lambda: [],
                     repository=repository, stories=StoryService(window=timedelta(days=90)), settings=settings)
    client = TestClient(app, follow_redirects=False)
    token = client.post("/login", json={"name": "boss", "password": "admin-password"}).json()["csrf_token"]
    return {"client": client, "token": token, "server": httpserver, "path": settings.sources}


def _fields(server: HTTPServer, **more: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "name": "示例部网站", "url": server.url_for("/list.html"), "kind": "html", "id": "example-policy",
        "schedule_preset": "2h", "weight": "8", "topics": ["跨境电商"], "enabled": "1", "attribution": "page",
        "language": "zh", "selectors_item": "ul.news > li", "selectors_date": "span", "extra": "",
    }
    fields.update(more)
    return fields


def test_the_new_source_page_offers_discovery_and_a_form_the_yaml_stays_for_experts(admin):
    page = admin["client"].get("/admin/sources/new")
    assert page.status_code == 200
    assert 'action="/admin/sources/discover"' in page.text and 'id="source-fields"' in page.text
    assert "每 30 分钟" in page.text and "每天 9:00" in page.text
    expert = admin["client"].get("/admin/sources/new?yaml=1")
    assert 'id="source-yaml"' in expert.text


def test_discovery_fills_the_form_and_stores_nothing(admin):
    client, token, path, server = admin["client"], admin["token"], admin["path"], admin["server"]
    before = path.read_text(encoding="utf-8")
    page = client.post("/admin/sources/discover", data={"csrf_token": token, "url": server.url_for("/list.html")})
    assert page.status_code == 200, page.text
    assert "识别结果：HTML 列表页" in page.text
    assert 'value="示例部网站"' in page.text  # the site's name from the title
    assert "ul.news &gt; li" in page.text  # the row selector, in the advanced section
    for title in TITLES:
        assert title in page.text
    assert re.search(r"第一篇文章（完整读取）：<span[^>]*>商务部发布第0号", page.text)
    assert "2024-06-10 09:30" in page.text  # the article's own time (meta PubDate), Beijing time
    assert path.read_text(encoding="utf-8") == before


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("www.example.gov.cn/list/", "以 http:// 或 https:// 开头"),
        ("{server}/nothing.html", "网站返回"),
        ("http://127.0.0.1:{port}/", "连接被拒绝"),
        ("{server}/report.html", "返回的是文件而不是网页"),
        ("{server}/members/", "需要登录"),
        ("{server}/about.html", "没有找到订阅源、JSON 列表或文章列表"),
    ],
)
def test_discovery_failures_say_the_cause_in_chinese_and_store_nothing(admin, url, expected):
    server, path = admin["server"], admin["path"]
    before = path.read_text(encoding="utf-8")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server.expect_request("/nothing.html").respond_with_data("gone", status=404)
    server.expect_request("/report.html").respond_with_data(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", content_type=HTML)
    server.expect_request("/members/").respond_with_data(
        "<html><body><form><input name='u'><input type='password' name='p'></form></body></html>", content_type=HTML)
    server.expect_request("/about.html").respond_with_data("<html><body><p>本会简介。</p></body></html>",
                                                           content_type=HTML)
    url = url.format(server=server.url_for("").rstrip("/"), port=port)
    page = admin["client"].post("/admin/sources/discover", data={"csrf_token": admin["token"], "url": url})
    assert page.status_code == 422
    assert expected in page.text
    assert 'id="discover-error"' in page.text
    assert path.read_text(encoding="utf-8") == before


def test_the_form_saves_an_entry_that_loads_with_comments_kept(admin):
    client, token, path, server = admin["client"], admin["token"], admin["path"], admin["server"]
    header = path.read_text(encoding="utf-8").splitlines()[0]
    saved = client.post("/admin/sources/form", data={"csrf_token": token, "action": "save", **_fields(server)})
    assert saved.status_code == 303, saved.text
    assert path.read_text(encoding="utf-8").splitlines()[0] == header
    spec = load_sources(path).get("example-policy")
    assert spec is not None and spec.schedule == "2h" and spec.weight == 8 and spec.topics == ["跨境电商"]
    assert spec.selectors is not None and spec.selectors.item == ["ul.news > li"]

    edit = client.get("/admin/sources/example-policy/edit")
    assert edit.status_code == 200 and 'value="示例部网站"' in edit.text and "readonly" in edit.text
    changed = client.post("/admin/sources/form", data={
        "csrf_token": token, "action": "save", "original_id": "example-policy",
        **_fields(server, schedule_preset="custom", schedule_custom="0 8,14 * * *", enabled="")})
    assert changed.status_code == 303, changed.text
    spec = load_sources(path).get("example-policy")
    assert spec is not None and spec.schedule == "0 8,14 * * *" and spec.enabled is False


def test_problems_come_back_beside_their_fields_in_chinese_and_nothing_is_written(admin):
    client, token, path, server = admin["client"], admin["token"], admin["path"], admin["server"]
    before = path.read_text(encoding="utf-8")
    page = client.post("/admin/sources/form", data={
        "csrf_token": token, "action": "save",
        **_fields(server, schedule_preset="custom", schedule_custom="every day", weight="heavy", id="Bad Id",
                  extra="pagination: [1, 2")})
    assert page.status_code == 422
    for field in ("schedule", "weight", "id", "extra"):
        assert f'id="err-{field}"' in page.text, field
    assert "不是数字" in page.text
    assert path.read_text(encoding="utf-8") == before
    assert 'value="every day"' in page.text  # what was typed is kept


def test_a_duplicate_id_is_said_beside_the_id(admin):
    client, token, server = admin["client"], admin["token"], admin["server"]
    page = client.post("/admin/sources/form",
                       data={"csrf_token": token, "action": "test", **_fields(server, id="mofcom-policy")})
    assert page.status_code == 422 and 'id="err-id"' in page.text


def test_a_refused_connection_is_the_reason_a_save_is_refused(admin):
    client, token, server = admin["client"], admin["token"], admin["server"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    page = client.post("/admin/sources/form", data={
        "csrf_token": token, "action": "save", **_fields(server, url=f"http://127.0.0.1:{port}/list.html")})
    assert page.status_code == 422
    assert "连接被拒绝" in page.text and "fetch.refused" in page.text
    assert "测试没有抓到任何条目" not in page.text


def test_the_live_preview_lists_what_the_selectors_find(admin):
    client, token, server = admin["client"], admin["token"], admin["server"]
    headers = {"X-CSRF-Token": token}
    selectors = {"item": "ul.news > li", "date": "span"}
    good = client.post("/admin/sources/list-preview", headers=headers,
                       json={"url": server.url_for("/list.html"), "selectors": selectors})
    assert good.json()["ok"] and good.json()["count"] == 6
    assert good.json()["items"][0] == {"title": TITLES[0], "url": server.url_for("/news/20240610/0.html"),
                                       "published": "2024-06-10 00:00"}
    none = client.post("/admin/sources/list-preview", headers=headers,
                       json={"url": server.url_for("/list.html"), "selectors": {"item": "div.missing li"}})
    assert not none.json()["ok"] and "没有找到条目" in none.json()["error"]
    broken = client.post("/admin/sources/list-preview", headers=headers,
                         json={"url": server.url_for("/list.html"), "selectors": {"item": "ul[[li"}})
    assert not broken.json()["ok"] and "选择器写法有误" in broken.json()["error"]
    assert client.post("/admin/sources/list-preview", json={"url": "x"}).status_code == 403  # no CSRF token


def test_form_values_and_the_entry_round_trip_keeping_every_field():
    entry = {"id": "x", "name": "某网站", "kind": "json", "url": "https://example.org/list.json",
             "schedule": "0 9 * * *",
             "weight": 7.5, "topics": ["人工智能"], "enabled": False, "attribution": "source",
             "fields": {"items": "data", "title": "title", "url": "link"}, "headers": {"Referer": "https://example.org/"},
             "selectors": {"body": ["#content", ".article"]}, "max_items": 20}
    values = form_values(entry)
    assert values.schedule_preset == "0 9 * * *" and values.selectors == {"body": "#content\n.article"}
    form = {"id": values.id, "name": values.name, "kind": values.kind, "url": values.url,
            "schedule_preset": values.schedule_preset, "weight": values.weight, "topics": values.topics,
            "attribution": values.attribution, "language": values.language, "extra": values.extra,
            **{f"selectors_{k}": v for k, v in values.selectors.items()}}
    assert entry_from_form(form).entry == entry
