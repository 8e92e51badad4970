"""End to end: local HTTP server → fetch → parse → clean → real SQLite file → candidates."""

from __future__ import annotations

from datetime import UTC, datetime

from pytest_httpserver import HTTPServer

import feeds
from conftest import source
from news_harvester.models import Outcome


def test_feed_items_land_as_articles_with_candidates(httpserver: HTTPServer, write_sources, run_harvest, repository):
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/feed.xml").respond_with_data(
        feeds.rss(feeds.items(base, 5)), content_type="application/rss+xml; charset=utf-8"
    )
    config = write_sources([source(httpserver, "/feed.xml", id="mofcom", name="商务部网站")])

    [summary] = run_harvest(list(config.sources))

    assert summary.outcome == Outcome.OK
    assert (summary.items_seen, summary.items_new) == (5, 5)
    stored = repository.list_articles(source_id="mofcom")
    assert len(stored) == 5
    first = next(a for a in stored if a.url.endswith("/a/20240610/0.html"))
    assert first.title == "商务部发布数字贸易政策第0号通知"
    assert first.attribution == "商务部网站"
    assert first.published_at == datetime(2024, 6, 10, 16, 30, tzinfo=UTC)
    assert first.body_text.startswith("6月11日，商务部等九部门联合印发第0号文件")
    assert {a.candidate_state for a in stored} == {"new"}


def test_second_pass_adds_nothing_and_duplicates_nothing(
    httpserver: HTTPServer, write_sources, run_harvest, repository
):
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_oneshot_request("/feed.xml").respond_with_data(
        feeds.rss(feeds.items(base, 3)), content_type="application/rss+xml"
    )
    # the same items in a feed that changed otherwise (its title): read again, every item known
    httpserver.expect_request("/feed.xml").respond_with_data(
        feeds.rss(feeds.items(base, 3), title="测试频道（更新）"), content_type="application/rss+xml"
    )
    config = write_sources([source(httpserver, "/feed.xml")])
    run_harvest(list(config.sources))
    [again] = run_harvest(list(config.sources))
    assert again.outcome == Outcome.OK
    assert (again.items_seen, again.items_new) == (3, 0)
    assert repository.counts()["articles"] == 3
    # one candidate per story (these generated items share one template, so they may form fewer stories)
    assert repository.counts()["candidates"] == repository.counts()["stories"] >= 1
