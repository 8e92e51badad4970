"""Source administration pages against a real sources.yaml file and a local HTTP server: test before save,
refusal to save a source that yields nothing without confirmation, comments kept, enable/disable/delete."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer

from conftest import ROOT
from news_harvester.config import load_sources
from news_harvester.stories.assign import StoryService
from news_harvester.web.app import create_app
from passwords import password_hash

LIST_PAGE = (
    """<html><body><ul class="news">{}</ul><div class="nav"><a href="/about.html">关于我们</a></div></body></html>"""
)


@pytest.fixture
def admin(settings, repository, httpserver: HTTPServer):
    shutil.copy(ROOT / "config" / "sources.yaml", settings.sources)
    rows = "".join(
        f'<li><a href="/news/2024061{n}/{n}.html">商务部发布第{n}号数字贸易政策解读</a><span>2024-06-1{n}</span></li>'
        for n in range(5)
    )
    httpserver.expect_request("/list.html").respond_with_data(LIST_PAGE.format(rows), content_type="text/html")
    article = (
        "<html><body><h1>政策解读</h1><div class='content'><p>"
        + "商务部有关负责人表示，数字贸易稳步发展。" * 12
        + "</p></div></body></html>"
    )
    for n in range(5):
        httpserver.expect_request(f"/news/2024061{n}/{n}.html").respond_with_data(article, content_type="text/html")
    now = datetime.now(UTC)
    repository.add_user("boss", password_hash("admin-password"), "admin", now)
    repository.add_user("ed", password_hash("editor-password"), "editor", now)
    app = create_app(
        database_ok=lambda: True,
        scheduler_ok=lambda: True,
        sources_health=lambda: [],
        repository=repository,
        stories=StoryService(window=timedelta(days=90)),
        settings=settings,
    )
    client = TestClient(app, follow_redirects=False)
    token = client.post("/login", json={"name": "boss", "password": "admin-password"}).json()["csrf_token"]
    return {"client": client, "token": token, "app": app, "server": httpserver, "path": settings.sources}


def entry(server: HTTPServer, item_selector: str) -> str:
    return (
        f"id: local-policy\nname: 本地测试来源\nkind: html\nurl: {server.url_for('/list.html')}\n"
        f"schedule: 1h\nweight: 5\nrespect_robots: false\nselectors:\n  item: {item_selector}\n"
    )


def test_editors_cannot_administer_sources(admin):
    client = TestClient(admin["app"], follow_redirects=False)
    token = client.post("/login", json={"name": "ed", "password": "editor-password"}).json()["csrf_token"]
    assert client.get("/admin/sources/new").status_code == 403
    assert client.post("/admin/sources/save", data={"csrf_token": token, "text": "id: x"}).status_code == 403
    assert admin["client"].get("/admin/sources/new").status_code == 200


def test_bad_selector_is_refused_until_confirmed_then_fixed_and_saved_with_comments_kept(admin):
    client, token, path, server = admin["client"], admin["token"], admin["path"], admin["server"]
    before = path.read_text(encoding="utf-8")
    bad = client.post(
        "/admin/sources/save", data={"csrf_token": token, "text": entry(server, "div.nothing li"), "action": "save"}
    )
    assert bad.status_code == 422 and "没有找到任何条目" in bad.text and "未保存" in bad.text
    assert path.read_text(encoding="utf-8") == before  # nothing written

    tested = client.post(
        "/admin/sources/save", data={"csrf_token": token, "text": entry(server, "ul.news li"), "action": "test"}
    )
    assert tested.status_code == 200 and "抓到 5 条" in tested.text and "商务部发布第0号数字贸易政策解读" in tested.text
    assert path.read_text(encoding="utf-8") == before  # a test stores nothing

    saved = client.post(
        "/admin/sources/save", data={"csrf_token": token, "text": entry(server, "ul.news li"), "action": "save"}
    )
    assert saved.status_code == 303, saved.text
    after = path.read_text(encoding="utf-8")
    assert after.startswith(before.rstrip("\n")[:2000])  # header comment and earlier entries untouched
    assert [line for line in before.splitlines() if line.startswith("#")] == [
        line for line in after.splitlines() if line.startswith("#")
    ]
    spec = load_sources(path).get("local-policy")
    assert spec is not None and spec.selectors is not None

    confirmed = client.post(
        "/admin/sources/save",
        data={
            "csrf_token": token,
            "text": entry(server, "div.nothing li"),
            "action": "save",
            "original_id": "local-policy",
            "confirm_empty": "1",
        },
    )
    assert confirmed.status_code == 303
    assert "div.nothing li" in path.read_text(encoding="utf-8")


def test_invalid_entry_enable_disable_delete(admin):
    client, token, path, server = admin["client"], admin["token"], admin["path"], admin["server"]
    invalid = client.post(
        "/admin/sources/save", data={"csrf_token": token, "text": "id: x\nkind: nonsense\n", "action": "test"}
    )
    assert invalid.status_code == 422 and "kind" in invalid.text
    broken = client.post("/admin/sources/save", data={"csrf_token": token, "text": "id: [x\n", "action": "test"})
    assert broken.status_code == 422 and "YAML" in broken.text
    client.post(
        "/admin/sources/save", data={"csrf_token": token, "text": entry(server, "ul.news li"), "action": "save"}
    )
    assert client.post("/admin/sources/local-policy/disable", data={"csrf_token": token}).status_code == 303
    assert load_sources(path).get("local-policy").enabled is False
    client.post("/admin/sources/local-policy/enable", data={"csrf_token": token})
    assert load_sources(path).get("local-policy").enabled is True
    edit = client.get("/admin/sources/local-policy/edit")
    assert edit.status_code == 200 and "ul.news li" in edit.text
    run = client.post("/admin/sources/local-policy/run", data={"csrf_token": token})
    assert "web-only" in run.headers["location"] or "%E6%9C%AC%E8%BF%9B%E7%A8%8B" in run.headers["location"]
    client.post("/admin/sources/local-policy/delete", data={"csrf_token": token})
    assert load_sources(path).get("local-policy") is None
    assert (
        client.post("/admin/sources/no-such/disable", data={"csrf_token": token})
        .headers["location"]
        .endswith("kind=error")
    )


def test_a_hand_edit_that_breaks_sources_yaml_is_shown_with_line_and_field(admin):
    path = admin["path"]
    path.write_text(path.read_text(encoding="utf-8") + "  - id: broken\n    kind: nonsense\n", encoding="utf-8")
    page = admin["client"].get("/admin/sources").text
    assert 'id="config-error"' in page and "sources.yaml" in page and "kind" in page
    assert "上一次有效的配置" in page


def test_run_now_starts_a_harvest_of_that_source(settings, repository):
    import asyncio

    shutil.copy(ROOT / "config" / "sources.yaml", settings.sources)
    started: list[str] = []

    async def run_now(source_id: str) -> object:
        started.append(source_id)
        await asyncio.sleep(0)
        return None

    repository.add_user("boss", password_hash("admin-password"), "admin", datetime.now(UTC))
    app = create_app(database_ok=lambda: True, scheduler_ok=lambda: True, sources_health=lambda: [],
                     repository=repository, stories=StoryService(window=timedelta(days=90)),
                     settings=settings, run_now=run_now)
    with TestClient(app, follow_redirects=False) as client:
        token = client.post("/login", json={"name": "boss", "password": "admin-password"}).json()["csrf_token"]
        response = client.post("/admin/sources/mofcom-policy/run", data={"csrf_token": token})
        assert response.status_code == 303 and "kind=error" not in response.headers["location"]
        client.get("/healthz")  # let the event loop run the scheduled task
    assert started == ["mofcom-policy"]
