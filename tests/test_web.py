"""Review app routes and JSON API against a real SQLite file (PostgreSQL too where marked): queue, filters,
story page, actions with optimistic concurrency, audit log, roles, CSRF, bad input and untrusted text."""

from __future__ import annotations

import json
import re
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from news_harvester.harvest.ingest import read_records
from news_harvester.store.schema import articles
from news_harvester.stories.assign import StoryService
from news_harvester.stories.classifier import ClassifierSource
from news_harvester.web.app import create_app
from passwords import CHEAP_HASHER, password_hash

NOW = datetime.now(UTC)
PASSWORD = "correct horse battery"
BODY_POLICY = (
    "6月11日，商务部等九部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》。《意见》明确，五大方面15项工作内容。"
    "一是积极培育跨境电商经营主体，大力支持跨境电商赋能产业发展，提升服务跨境电商企业能力。二是加大金融支持力度，"
    "畅通跨境电商企业融资渠道，优化跨境资金结算服务，推动跨境电商供应链降本增效。三是加强相关基础设施和物流体系建设，"
    "推动跨境电商海外仓高质量发展，增强跨境电商物流保障能力。四是优化监管与服务，提升跨境数据管理和服务水平。"
)
BODY_AI = (
    "6月13日，T-EDGE未来科技大会发布《中国人工智能城市竞争力排行研究报告》。报告通过聚类分析将中国的样本城市划分为5个梯队，"
    "北京市作为第一梯队城市，具备高城市效益产出性、渗透性、发展潜能和基础设施。深圳市及上海市属于第二梯队，"
    "上海市对人工智能产业的政策支持力度较大，在产业链的基础、技术层具有较强覆盖力。"
)
BODY_XSS = (
    "这是一段包含恶意代码的正文：<script>alert('xss')</script> 以及 onerror=alert(2) 还有更多的文字内容，"
    "用来检查页面是否把采集到的文字当作纯文本显示，而不是当作网页代码执行。数据安全与个人信息保护相关内容。" * 2
)


def _record(url, title, body, source, days_ago=1.0, **extra):
    return {
        "title": title,
        "url": url,
        "body": body,
        "source": source,
        "published_at": (NOW - timedelta(days=days_ago)).isoformat(),
    } | extra


@pytest.fixture
def web(any_settings, any_repository):
    """The app over a real SQLite file, then (NEWS_HARVESTER_TEST_PG) over PostgreSQL: search differs."""
    settings, repository = any_settings, any_repository
    service = StoryService.load(
        repository, window_days=90, now=NOW, weights={}, enricher=ClassifierSource(settings.topics, repository).load()
    )
    records = [
        _record(
            "https://www.mofcom.gov.cn/a.html",
            "商务部等9部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》",
            BODY_POLICY,
            "商务部网站",
            weight=10,
        ),
        _record(
            "https://xinhua.example.cn/b.html",
            "九部门：推进海外仓建设",
            "来源：商务部网站\n" + BODY_POLICY,
            "新华网",
            weight=7,
        ),
        _record(
            "https://tmt.example.com/c.html",
            "《中国人工智能城市竞争力排行研究报告》重磅发布",
            BODY_AI,
            "钛媒体",
            weight=4,
        ),
        _record("https://evil.example.com/x.html", "数据安全<b>标题</b>", BODY_XSS, "某网站", weight=2),
    ]
    parsed = list(
        read_records([json.dumps(r, ensure_ascii=False) for r in records], fetched_at=NOW, sources_by_name={})
    )
    batch = service.begin()
    stored = repository.store_articles(parsed, batch, NOW)
    service.commit(batch, NOW)
    ids = {url: story for url, _aid, story, _layer in stored}
    hasher = CHEAP_HASHER
    repository.add_user("editor1", hasher.hash(PASSWORD), "editor", NOW)
    repository.add_user("editor2", hasher.hash(PASSWORD), "editor", NOW)
    repository.add_user("boss", hasher.hash(PASSWORD), "admin", NOW)
    app = create_app(
        database_ok=lambda: True,
        scheduler_ok=lambda: True,
        sources_health=lambda: [
            {"id": "mofcom", "name": "商务部网站", "health": "failing", "last_error_code": "fetch.timeout"}
        ],
        repository=repository,
        stories=service,
    )
    return {"app": app, "ids": ids, "repository": repository, "service": service}


def login(app, name="editor1"):
    client = TestClient(app, follow_redirects=False)
    response = client.post("/login", json={"name": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


def story_id(web, url):
    return web["ids"][url]


POLICY_URL = "https://www.mofcom.gov.cn/a.html"
AI_URL = "https://tmt.example.com/c.html"
XSS_URL = "https://evil.example.com/x.html"


def test_anonymous_sees_only_the_login_page(web):
    client = TestClient(web["app"], follow_redirects=False)
    for path in ("/", f"/stories/{story_id(web, POLICY_URL)}", "/admin/sources", "/articles/1/evidence"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    for path in ("/api/queue", f"/api/stories/{story_id(web, POLICY_URL)}", "/api/status", "/api/sources"):
        assert client.get(path).status_code == 401
    assert client.post(f"/api/stories/{story_id(web, POLICY_URL)}/actions", json={"action": "accept"}).status_code in (
        401,
        403,
    )
    assert client.get("/healthz").status_code == 200
    login_page = client.get("/login")
    assert login_page.status_code == 200 and "登录" in login_page.text


def test_queue_lists_stories_by_score_with_reasons_and_freshness(web):
    client = login(web["app"])
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert "商务部等9部门联合印发" in html and "人工智能城市竞争力" in html
    assert html.index("商务部等9部门联合印发") < html.index("人工智能城市竞争力")  # official, 2 outlets, first
    assert "另有 1 家媒体" in html  # the Xinhua reprint is an outlet of the MOFCOM story
    assert "跨境电商" in html  # topic chip by Chinese name
    assert "来源权威性" in html  # score reasons on hover
    assert "持续失败" in html and "商务部网站" in html  # freshness: failing sources
    assert page.headers["content-security-policy"].startswith("default-src 'self'")

    data = client.get("/api/queue").json()
    assert data["total"] == 3 and data["items"][0]["id"] == story_id(web, POLICY_URL)
    assert all(
        {"id", "title", "source", "topics", "score", "score_parts", "version", "state"} <= set(i) for i in data["items"]
    )


def test_queue_filters_and_search(web):
    client = login(web["app"])
    ai = client.get("/api/queue", params={"topic": "ai"}).json()
    assert [i["id"] for i in ai["items"]] == [story_id(web, AI_URL)]
    assert client.get("/api/queue", params={"q": "海外仓建设"}).json()["total"] == 1  # body text, trigram index
    assert client.get("/api/queue", params={"q": "聚类分析"}).json()["items"][0]["id"] == story_id(web, AI_URL)
    assert client.get("/api/queue", params={"q": "商务"}).json()["total"] == 1  # 2 characters: titles
    assert client.get("/api/queue", params={"q": "完全不存在的词语"}).json()["total"] == 0
    assert client.get("/api/queue", params={"source": "新华网"}).json()["total"] == 1
    future = (NOW + timedelta(days=3)).date().isoformat()
    assert client.get("/api/queue", params={"date_from": future}).json()["total"] == 0
    assert client.get("/api/queue", params={"date_from": "2024-13-45"}).status_code == 422
    page = client.get("/", params={"q": "海外仓建设", "topic": "cross-border-ecommerce"})
    assert page.status_code == 200 and "商务部等9部门联合印发" in page.text and "人工智能城市" not in page.text
    paged = client.get("/api/queue", params={"per_page": 1, "page": 2}).json()
    assert paged["pages"] == 3 and len(paged["items"]) == 1


def test_story_page_actions_audit_and_stale_edits(web):
    sid = story_id(web, POLICY_URL)
    first, second = login(web["app"], "editor1"), login(web["app"], "editor2")
    page = first.get(f"/stories/{sid}")
    assert page.status_code == 200
    assert "https://xinhua.example.cn/b.html" in page.text and "查看原文" in page.text
    # The topic explanation names each topic (in Chinese), the rules' and the cold-start model's share, and how
    # likely the story belongs in the brief.
    assert re.search(r"<td>跨境电商</td>\s*<td>[01]\.\d\d</td>\s*<td>[01]\.\d\d</td>\s*<td>[01]\.\d\d</td>", page.text)
    assert "<th>通用模型</th>" in page.text and re.search(r"属于本简报的概率：\d+%", page.text)
    version = first.get(f"/api/stories/{sid}").json()["candidate"]["version"]

    accepted = first.post(f"/api/stories/{sid}/actions", json={"action": "accept", "version": version})
    assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
    assert accepted.json()["section"] == "行业资讯"
    stale = second.post(f"/api/stories/{sid}/actions", json={"action": "reject", "version": version, "reason": "旧闻"})
    assert stale.status_code == 409 and "editor1" in stale.json()["error"]

    new_version = accepted.json()["version"]
    edit = second.patch(f"/api/stories/{sid}", json={"version": new_version, "summary": "6 月 11 日，商务部等九部门……"})
    assert edit.status_code == 200 and edit.json()["editor_summary"].startswith("6 月 11 日")
    lost = first.patch(f"/api/stories/{sid}", json={"version": new_version, "summary": "覆盖"})
    assert lost.status_code == 409

    audit = [a for a in first.get(f"/api/stories/{sid}/audit").json() if not a["action"].startswith("issue_")]
    assert any(a["action"] == "issue_add" for a in first.get(f"/api/stories/{sid}/audit").json())  # into the draft
    assert [(a["user"], a["action"]) for a in audit] == [("editor2", "edit"), ("editor1", "accept")]
    assert audit[1]["before"] == {"state": "new", "section": None}
    assert audit[1]["after"] == {"state": "accepted", "section": "行业资讯"}
    page = first.get(f"/stories/{sid}")
    assert "操作记录" in page.text and "editor2" in page.text and "编辑文字" in page.text

    rejected = first.post(f"/api/stories/{sid}/actions", json={"action": "reject", "version": edit.json()["version"]})
    assert rejected.status_code == 422 and "理由" in rejected.json()["error"]
    rejected = first.post(
        f"/api/stories/{sid}/actions",
        json={"action": "reject", "version": edit.json()["version"], "reason": "与上期重复"},
    )
    assert rejected.status_code == 200 and rejected.json()["reject_reason"] == "与上期重复"
    assert sid not in [i["id"] for i in first.get("/api/queue").json()["items"]]  # rejected: gone from the queue
    restored = first.post(
        f"/api/stories/{sid}/actions", json={"action": "restore", "version": rejected.json()["version"]}
    )
    assert restored.json()["state"] == "new"
    assert sid in [i["id"] for i in first.get("/api/queue").json()["items"]]


def test_form_actions_snooze_topics_and_bulk(web):
    client = login(web["app"])
    sid, ai = story_id(web, POLICY_URL), story_id(web, AI_URL)
    csrf = client.headers["X-CSRF-Token"]
    version = client.get(f"/api/stories/{sid}").json()["candidate"]["version"]
    tomorrow = (NOW + timedelta(days=2)).date().isoformat()
    response = client.post(
        f"/stories/{sid}/action", data={"csrf_token": csrf, "action": "snooze", "version": version, "until": tomorrow}
    )
    assert response.status_code == 303 and "msg=" in response.headers["location"]
    assert sid not in [i["id"] for i in client.get("/api/queue").json()["items"]]
    assert client.get("/api/queue", params={"state": "snoozed"}).json()["items"][0]["id"] == sid
    past = client.post(f"/stories/{ai}/action", data={"csrf_token": csrf, "action": "snooze", "until": "2020-01-01"})
    assert "kind=error" in past.headers["location"]

    version = client.get(f"/api/stories/{ai}").json()["candidate"]["version"]
    response = client.post(
        f"/stories/{ai}/topics", data={"csrf_token": csrf, "version": version, "topic": ["ai", "statistics"]}
    )
    assert response.status_code == 303
    story = client.get(f"/api/stories/{ai}").json()
    assert set(story["topics"]) == {"ai", "statistics"}
    assert story["audit"][0]["action"] == "topics"
    bad = client.post(f"/api/stories/{ai}/topics", json={"add": ["no-such-topic"]})
    assert bad.status_code == 422

    bulk = client.post("/api/bulk", json={"ids": [ai, 999999], "action": "shortlist"})
    assert bulk.status_code == 200 and bulk.json()["ok"] == 1
    assert [r["ok"] for r in bulk.json()["results"]] == [True, False]
    form = client.post("/bulk", data={"csrf_token": csrf, "action": "restore", "story": [ai]})
    assert form.status_code == 303 and "%E5%B7%B2%E5%A4%84%E7%90%86" in form.headers["location"]  # 已处理


def test_csrf_roles_and_bad_input(web):
    client = login(web["app"])
    sid = story_id(web, POLICY_URL)
    token = client.headers.pop("X-CSRF-Token")
    assert client.post(f"/api/stories/{sid}/actions", json={"action": "shortlist"}).status_code == 403
    assert client.post(f"/stories/{sid}/action", data={"action": "shortlist"}).status_code == 403
    client.headers["X-CSRF-Token"] = token
    assert client.get("/admin/sources").status_code == 403
    assert login(web["app"], "boss").get("/admin/sources").status_code == 200

    assert client.get("/api/stories/999999").status_code == 404
    missing = client.get("/stories/999999")
    assert missing.status_code == 404 and "不存在" in missing.text
    assert client.post("/api/stories/999999/actions", json={"action": "accept"}).status_code == 404
    assert client.post(f"/api/stories/{sid}/actions", json={"action": "explode"}).status_code == 422
    too_long = client.patch(f"/api/stories/{sid}", json={"summary": "长" * 5000})
    assert too_long.status_code == 422 and "摘要过长" in too_long.json()["error"]
    form = client.post(f"/stories/{sid}/edit", data={"csrf_token": token, "summary": "长" * 5000})
    assert form.status_code == 422 and "摘要过长" in form.text
    missing_action = client.post(f"/stories/{sid}/action", data={"csrf_token": token})
    assert missing_action.status_code == 422 and "缺少操作" in missing_action.text
    assert client.get(f"/api/stories/{sid}").json()["candidate"]["editor_summary"] is None  # nothing half-saved


def test_harvested_text_is_shown_as_text_never_as_markup(web):
    client = login(web["app"])
    sid = story_id(web, XSS_URL)
    page = client.get(f"/stories/{sid}").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert('xss')&lt;/script&gt;" in page  # shown as the text it is
    queue = client.get("/").text
    assert "<script>alert" not in queue

    repository = web["repository"]
    evil = (
        b"<html><body><p>\xe6\xad\xa3\xe6\x96\x87</p><script>alert(1)</script><a href='javascript:alert(3)'>x</a>"
        b"<iframe src='https://evil.example'></iframe><img src=x onerror=alert(4)></body></html>"
    )
    with repository.engine.begin() as conn:
        conn.execute(update(articles).where(articles.c.url == XSS_URL).values(raw_page=zlib.compress(evil)))
        article_id = conn.execute(articles.select().where(articles.c.url == XSS_URL)).first().id
    evidence = client.get(f"/articles/{article_id}/evidence")
    assert evidence.status_code == 200 and "正文" in evidence.text
    for bad in ("<script>alert", "javascript:", "<iframe", "onerror"):
        assert bad not in evidence.text


def test_attachments_are_stored_with_the_article_and_listed_safely(
    httpserver, write_sources, run_harvest, settings, repository
):
    import feeds
    from conftest import source

    base = httpserver.url_for("").rstrip("/")
    body = "".join(f"<p>{BODY_POLICY}</p>" for _ in range(2))
    page = (
        f"<html><head><title>关于印发通知</title></head><body><h1>关于印发通知</h1><div class='content'>{body}"
        "<p>附件：<a href='/files/notice.pdf'>通知全文.pdf</a> <a href='/files/table.xlsx'>统计表.xlsx</a></p>"
        "</div></body></html>"
    )
    httpserver.expect_request("/art/1.html").respond_with_data(page, content_type="text/html; charset=utf-8")
    items = [
        {
            "title": "关于印发通知",
            "link": f"{base}/art/1.html",
            "date": "Tue, 11 Jun 2024 10:00:00 +0800",
            "description": "<p>摘要</p>",
        }
    ]
    httpserver.expect_request("/feed.xml").respond_with_data(feeds.rss(items), content_type="text/xml")
    config = write_sources([source(httpserver, "/feed.xml", id="mofcom", full_text=True)])
    [summary] = run_harvest(list(config.sources))
    assert summary.items_new == 1, summary
    [view] = repository.list_stories()
    detail = repository.story_detail(view.id)
    kinds = {a["kind"]: a["url"] for a in detail.members[0].attachments}
    assert kinds == {"pdf": f"{base}/files/notice.pdf", "xlsx": f"{base}/files/table.xlsx"}

    with repository.engine.begin() as conn:  # a hostile page cannot smuggle a javascript: link through it
        conn.execute(
            update(articles).values(
                attachments=json.dumps(
                    [
                        {"url": "javascript:alert(1)", "text": "x", "kind": "pdf"},
                        {"url": f"{base}/files/notice.pdf", "text": "通知全文.pdf", "kind": "pdf"},
                    ]
                )
            )
        )
    service = StoryService.load(
        repository, window_days=90, now=NOW, weights={}, enricher=ClassifierSource(settings.topics, repository).load()
    )
    repository.add_user("editor1", password_hash(PASSWORD), "editor", NOW)
    app = create_app(
        database_ok=lambda: True,
        scheduler_ok=lambda: True,
        sources_health=lambda: [],
        repository=repository,
        stories=service,
    )
    html = login(app).get(f"/stories/{view.id}").text
    assert "通知全文.pdf" in html and f"{base}/files/notice.pdf" in html and "javascript:" not in html


def test_openapi_schema_documents_every_action_for_signed_in_users(web):
    assert TestClient(web["app"]).get("/api/openapi.json").status_code == 401
    assert TestClient(web["app"]).get("/docs").status_code == 404
    schema = login(web["app"]).get("/api/openapi.json").json()
    paths = schema["paths"]
    for path, method in [
        ("/api/queue", "get"),
        ("/api/stories/{story_id}/actions", "post"),
        ("/api/stories/{story_id}", "patch"),
        ("/api/stories/{story_id}/topics", "post"),
        ("/api/bulk", "post"),
        ("/api/stories/{story_id}/audit", "get"),
    ]:
        assert method in paths[path], path


def test_open_alarms_show_on_the_queue_banner_and_the_admin_page(web):
    from news_harvester.sources.alarms import Alarm

    repository = web["repository"]
    alarm = Alarm("mofcom", "fetch_errors", "商务部网站：连续 3 次抓取失败（fetch.timeout）", {"count": 3})
    opened, _resolved = repository.sync_alarms("mofcom", [alarm], NOW)
    assert len(opened) == 1
    editor = login(web["app"])
    assert "连续 3 次抓取失败" in editor.get("/").text
    assert editor.get("/api/status").json()["alarms"][0]["kind"] == "fetch_errors"
    admin_page = login(web["app"], "boss").get("/admin/sources").text
    assert "当前告警（1）" in admin_page and "连续 3 次抓取失败" in admin_page
    repository.sync_alarms("mofcom", [], NOW + timedelta(hours=1))  # resolved: gone from the banner
    assert "连续 3 次抓取失败" not in editor.get("/").text
