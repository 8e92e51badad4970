"""Links the review pages take from harvested pages (the original's URL, attachment links) never carry a
script URL: an HTML source on a local server whose article links "attachments" such as
``JavaScript:alert(1)//x.pdf`` is harvested through the real pipeline into a real SQLite file, and the story
page lists them as text, not as links; the real attachment stays a link."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from lxml import html as lxml_html
from pytest_httpserver import HTTPServer
from security_support import PASSWORD

from conftest import source
from news_harvester.config import load_sources
from news_harvester.stories.assign import StoryService
from news_harvester.web.app import create_app, http_url
from passwords import password_hash

HOSTILE = [
    "JavaScript:alert(1)//a.pdf",
    " javascript:alert(2)//b.doc",
    "java\tscript:alert(3)//c.pdf",
    "JAVASCRIPT:alert(4)//d.xls",
    "vbscript:msgbox(5)//e.pdf",
    "data:text/html,<script>alert(6)</script>//f.pdf",
]
ARTICLE = (
    "<html><head><title>关于印发数字贸易政策的通知</title></head><body><h1>关于印发数字贸易政策的通知</h1>"
    "<div class='content'><p>" + "商务部有关负责人表示，数字贸易稳步发展，跨境电商规模持续扩大。" * 12 + "</p>"
    "<p>附件：</p>{links}</div></body></html>"
)


LIST = (
    '<html><body><ul class="news"><li><a href="/art/1.html">关于印发数字贸易政策的通知</a>'
    "<span>2026-11-20</span></li></ul></body></html>"
)


def test_script_urls_among_attachments_are_not_links(
    settings, repository, run_harvest, write_sources, httpserver: HTTPServer
):
    links = "".join(f'<p><a href="{h}">附件{k}</a></p>' for k, h in enumerate(HOSTILE))
    links += '<p><a href="/files/ok.pdf">正式附件</a></p>'
    httpserver.expect_request("/list.html").respond_with_data(LIST, content_type="text/html; charset=utf-8")
    httpserver.expect_request("/art/1.html").respond_with_data(
        ARTICLE.format(links=links), content_type="text/html; charset=utf-8"
    )
    config = write_sources(
        [source(httpserver, "/list.html", kind="html", respect_robots=False, selectors={"item": "ul.news li"})]
    )
    summaries = run_harvest(config.enabled)
    assert summaries[0].items_new == 1, summaries
    repository.add_user("editor1", password_hash(PASSWORD), "editor", datetime.now(UTC))
    stories = repository.list_stories(limit=10)
    assert len(stories) == 1
    story_id = stories[0].id
    detail = repository.story_detail(story_id)
    stored = [a for m in detail.members for a in m.attachments]
    app = create_app(
        database_ok=lambda: True,
        scheduler_ok=lambda: True,
        sources_health=lambda: [],
        repository=repository,
        stories=StoryService(window=timedelta(days=90)),
        settings=settings,
        sources=lambda: load_sources(settings.sources),
    )
    client = TestClient(app, follow_redirects=False)
    assert client.post("/login", json={"name": "editor1", "password": PASSWORD}).status_code == 200
    page = client.get(f"/stories/{story_id}")
    assert page.status_code == 200
    tree = lxml_html.fromstring(page.text)
    hrefs = [a.get("href") for a in tree.iter("a")]
    for href in hrefs:
        squeezed = re.sub(r"[\x00-\x20]", "", href or "").lower()
        assert not squeezed.startswith(("javascript:", "vbscript:", "data:")), href
    assert any(h and h.endswith("/files/ok.pdf") for h in hrefs)
    # whatever the extractor keeps as an attachment, a non-http one is listed as text without a link (the
    # template's guard, news_harvester.web.app.http_url, is tested on its own below)
    for attachment in stored:
        assert http_url(attachment["url"]) or attachment["text"] in page.text


def test_http_url_keeps_only_absolute_http_links():
    assert http_url("https://www.mofcom.gov.cn/a.pdf") == "https://www.mofcom.gov.cn/a.pdf"
    assert http_url("HTTP://example.cn/x") == "HTTP://example.cn/x"
    for value in [*HOSTILE, "", None, "/relative.pdf", "//evil.example/x.pdf", "http:evil.example", "ftp://x/y.pdf"]:
        assert http_url(value) == "", value
