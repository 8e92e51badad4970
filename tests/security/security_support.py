"""Shared set-up of the security suite (tests/security/): the review app wired the way the daemon wires it
(``create_app`` plus the ``/metrics`` router) over a real database, users of each role, a few stories, a draft
issue with items, and signed-in TestClients; the route table read from the app itself.

No pytest fixtures live here (tests/security has no conftest.py of its own: a second module named ``conftest``
would shadow tests/conftest.py for ``from conftest import ...``); test modules build a :class:`Site` from the
``settings`` / ``repository`` (or ``any_*``) fixtures of tests/conftest.py.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from news_harvester.config import Settings, load_sources
from news_harvester.editorial import issues
from news_harvester.harvest.ingest import read_records
from news_harvester.ops.metrics import HarvestCollector, metrics_router
from news_harvester.store.repository import Repository
from news_harvester.stories.assign import StoryService
from news_harvester.stories.classifier import ClassifierSource
from news_harvester.web.app import create_app
from passwords import CHEAP_HASHER

PASSWORD = "安全测试 correct horse 1"
USERS = {"editor": "editor1", "admin": "boss"}
OTHER_EDITOR = "editor2"
ROLES = ("anonymous", "editor", "admin")
SOURCES_YAML = """# 安全测试用信息源
sources:
  - id: mofcom
    name: 商务部网站
    kind: feed
    url: http://127.0.0.1:9/feed.xml
    schedule: 1h
    weight: 10
"""
BODY = (
    "6月11日，商务部等九部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》。《意见》明确，五大方面15项工作内容。"
    "一是积极培育跨境电商经营主体，大力支持跨境电商赋能产业发展，提升服务跨境电商企业能力。二是加大金融支持力度，"
    "畅通跨境电商企业融资渠道，优化跨境资金结算服务，推动跨境电商供应链降本增效。三是加强相关基础设施和物流体系建设。"
)
AI_BODY = (
    "6月13日，T-EDGE未来科技大会发布《中国人工智能城市竞争力排行研究报告》。报告通过聚类分析将中国的样本城市划分为5个梯队，"
    "北京市作为第一梯队城市，具备高城市效益产出性、渗透性、发展潜能和基础设施。深圳市及上海市属于第二梯队，"
    "上海市对人工智能产业的政策支持力度较大，在产业链的基础、技术层具有较强覆盖力。"
)
DATA_BODY = (
    "国家互联网信息办公室近日发布《个人信息出境认证办法》，自2026年1月1日起施行。办法明确，个人信息处理者通过认证方式"
    "向境外提供个人信息的，应当事前开展个人信息保护影响评估，并与境外接收方订立具有法律约束力的协议，明确数据安全保护义务。"
)


@dataclass
class Site:
    """The app and the ids its routes are requested with."""

    app: FastAPI
    repository: Repository
    settings: Settings
    story_ids: list[int]
    article_id: int
    issue_id: int
    item_id: int
    source_id: str = "mofcom"

    def path_params(self) -> dict[str, str]:
        """A value for every path parameter of the app's routes (an unknown one fails the generator)."""
        return {
            "story_id": str(self.story_ids[1]),
            "article_id": str(self.article_id),
            "issue_id": str(self.issue_id),
            "item_id": str(self.item_id),
            "fmt": "md",
            "source_id": self.source_id,
            "operation": "enable",
        }


def build_site(settings: Settings, repository: Repository) -> Site:
    """Stories, users (editor1, editor2, boss), a draft issue with a story item and a free-text item, and the
    app as ``news_harvester.daemon`` builds it (its routes plus ``/metrics``)."""
    now = datetime.now(UTC)
    settings.sources.write_text(SOURCES_YAML, encoding="utf-8")
    service = StoryService.load(
        repository, window_days=90, now=now, weights={}, enricher=ClassifierSource(settings.topics, repository).load()
    )
    records = [
        ("https://www.mofcom.gov.cn/a.html", "商务部等9部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》", BODY),
        ("https://tmt.example.com/c.html", "《中国人工智能城市竞争力排行研究报告》重磅发布", AI_BODY),
        ("https://www.cac.example.cn/d.html", "国家网信办发布《个人信息出境认证办法》", DATA_BODY),
    ]
    lines = [
        json.dumps(
            {
                "title": title,
                "url": url,
                "body": body,
                "source": "商务部网站",
                "published_at": (now - timedelta(days=1 + k)).isoformat(),
            },
            ensure_ascii=False,
        )
        for k, (url, title, body) in enumerate(records)
    ]
    parsed = list(read_records(lines, fetched_at=now, sources_by_name={}))
    batch = service.begin()
    stored = repository.store_articles(parsed, batch, now)
    service.commit(batch, now)
    story_by_url = {url: story for url, _article, story, _layer in stored}
    article_by_url = {url: article for url, article, _story, _layer in stored}
    story_ids = [story_by_url[url] for url, _title, _body in records]
    hasher = CHEAP_HASHER
    for name, role in ((USERS["editor"], "editor"), (OTHER_EDITOR, "editor"), (USERS["admin"], "admin")):
        repository.add_user(name, hasher.hash(PASSWORD), role, now)
    sources = load_sources(settings.sources)
    item_id = issues.add_story(repository, settings, sources, story_ids[0], user=USERS["editor"], now=now)
    issue_id = repository.current_draft_id()
    assert issue_id is not None
    repository.add_item(
        issue_id, section="协会动态", title="协会动态一则", html="<p>协会召开年会。</p>", user="boss", now=now
    )
    app = create_app(
        database_ok=lambda: True,
        scheduler_ok=lambda: True,
        sources_health=lambda: [{"id": "mofcom", "name": "商务部网站", "health": "healthy"}],
        repository=repository,
        stories=service,
        settings=settings,
        sources=lambda: load_sources(settings.sources),
    )
    # as news_harvester.daemon does: /metrics is added next to create_app's routes
    app.include_router(metrics_router(HarvestCollector(repository, lambda: None, lambda: ["mofcom"])))
    return Site(app, repository, settings, story_ids, article_by_url[records[1][0]], issue_id, item_id)


def client(app: FastAPI, *, https: bool = False) -> TestClient:
    return TestClient(app, base_url="https://testserver" if https else "http://testserver", follow_redirects=False)


def sign_in(app: FastAPI, name: str, *, https: bool = False) -> tuple[TestClient, str]:
    """A client signed in as ``name`` through ``POST /login`` and the session's CSRF token."""
    signed = client(app, https=https)
    response = signed.post("/login", json={"name": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return signed, str(response.json()["csrf_token"])


# --------------------------------------------------------------------------- the route table


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    """The route's path template (``/stories/{story_id}``); a mount's prefix for a mount (``/static``)."""
    mount: bool = False

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, params: dict[str, str]) -> str:
        if self.mount:
            return self.path + "/app.css"
        return self.path.format(**params)

    @property
    def is_api(self) -> bool:
        return self.path == "/api" or self.path.startswith("/api/")

    @property
    def changes_state(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every (method, path) the app answers, read from its route table (included routers flattened; FastAPI
    ≥ 0.116 keeps them as lazy ``_IncludedRouter`` entries that ``fastapi.routing.iter_route_contexts`` opens)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are copied into app.routes

        def iter_route_contexts(routes: Any) -> Iterator[Any]:
            yield from routes

    found: list[Endpoint] = []
    for route in iter_route_contexts(app.routes):
        path = getattr(route, "path", None)
        assert isinstance(path, str), f"route without a path: {route!r}"
        methods = getattr(route, "methods", None)
        if methods:
            found += [Endpoint(m, path) for m in sorted(methods) if m != "HEAD"]
        else:  # a mount (static files) or a websocket route: requested with GET
            found.append(Endpoint("GET", path, mount=True))
    return found


# --------------------------------------------------------------------------- database fingerprint


def fingerprint(site: Site) -> dict[str, Any]:
    """What a state-changing request would change: audit entries, candidate states, issues and their items,
    users and sessions, sources.yaml."""
    from news_harvester.store import schema

    counts: dict[str, Any] = {}
    with site.repository.engine.connect() as conn:
        for name in ("audit_log", "candidates", "issues", "issue_items", "users", "web_sessions", "story_topics"):
            table = getattr(schema, name, None)
            if table is not None:
                counts[name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
        counts["candidate_versions"] = conn.execute(select(func.sum(schema.candidates.c.version))).scalar_one()
        counts["issue_versions"] = conn.execute(select(func.sum(schema.issues.c.version))).scalar_one()
    counts["sources.yaml"] = site.settings.sources.read_text(encoding="utf-8")
    return counts


def sqlite_tables(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
