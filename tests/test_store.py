"""Store behaviour on SQLite and (when NEWS_HARVESTER_TEST_PG is set) PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer

import feeds
from conftest import source
from news_harvester.config import load_sources
from news_harvester.daemon import fetch_policy
from news_harvester.fetch import Fetcher
from news_harvester.models import Outcome
from news_harvester.pipeline import Harvester
from news_harvester.store.repository import make_engine, upgrade


def _harvest(settings, repository, specs):
    async def go():
        fetcher = Fetcher(fetch_policy(settings))
        try:
            return [await Harvester(fetcher, repository).harvest(s, force=True) for s in specs]
        finally:
            await fetcher.aclose()

    return asyncio.run(go())


def test_editor_fields_survive_reharvest_of_changed_article(httpserver: HTTPServer, any_settings, any_repository,
                                                            write_sources):
    base = httpserver.url_for("").rstrip("/")
    original = feeds.items(base, 2)
    httpserver.expect_oneshot_request("/feed.xml").respond_with_data(feeds.rss(original), content_type="text/xml")
    changed = [dict(i, title=i["title"] + "（更新）", description="<p>内容已更新。</p>") for i in original]
    httpserver.expect_oneshot_request("/feed.xml").respond_with_data(feeds.rss(changed), content_type="text/xml")
    write_sources([source(httpserver, "/feed.xml", id="mofcom")])
    specs = list(load_sources(any_settings.sources).sources)

    _harvest(any_settings, any_repository, specs)
    url = any_repository.list_articles()[0].url
    any_repository.set_editor_fields(url, title="编辑改过的标题", summary="编辑写的摘要", state="shortlisted",
                                     now=datetime.now(UTC))
    [summary] = _harvest(any_settings, any_repository, specs)

    assert summary.outcome == Outcome.OK and summary.items_new == 0
    rows = {a.url: a for a in any_repository.list_articles()}
    assert len(rows) == 2, "re-harvest must not duplicate rows"
    edited = rows[url]
    assert edited.editor_title == "编辑改过的标题"
    assert edited.editor_summary == "编辑写的摘要"
    assert edited.candidate_state == "shortlisted"
    assert any_repository.counts()["candidates"] == any_repository.counts()["stories"]


def test_timestamps_round_trip_timezone_aware(any_settings, any_repository):
    from news_harvester.models import Article, RunSummary
    from news_harvester.store.repository import RunResult

    beijing = timedelta(hours=8)
    published = datetime(2024, 6, 11, 10, 30, tzinfo=UTC) + beijing - beijing
    article = Article(url="http://127.0.0.1/x/1.html", source_id="s", title="t", published_at=published,
                      fetched_at=datetime.now(UTC), author=None, attribution="商务部网站", summary=None,
                      body_text="正文", content_hash="h", language="zh", raw_page=b"<html>evidence</html>")
    run_id = any_repository.begin_run("s", datetime.now(UTC))
    new = any_repository.finish_run(run_id, RunResult(summary=RunSummary("s", Outcome.OK, items_seen=1),
                                                      finished_at=datetime.now(UTC), articles=[article]))
    assert new == 1
    [stored] = any_repository.list_articles()
    assert stored.published_at == published
    assert stored.published_at.tzinfo is not None
    assert any_repository.raw_page(article.url) == b"<html>evidence</html>"


def test_naive_datetime_is_refused(any_repository):
    with pytest.raises(Exception, match="naive datetime"):
        any_repository.begin_run("s", datetime(2024, 6, 11, 10, 30))


def test_migrations_are_idempotent(any_settings):
    engine = make_engine(any_settings.resolved_database_url)
    upgrade(engine)
    upgrade(engine)
    engine.dispose()


def test_interrupted_runs_are_marked_at_startup(any_repository):
    any_repository.begin_run("s", datetime.now(UTC))
    assert any_repository.mark_interrupted_runs(datetime.now(UTC)) == 1
    assert any_repository.recent_outcomes(["s"]) == {"s": ["interrupted"]}
