"""Stories wired end to end on SQLite and (when NEWS_HARVESTER_TEST_PG is set) PostgreSQL: a local
HTTP server → Harvester → store, with the story decided in the run's transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from pytest_httpserver import HTTPServer
from sqlalchemy import insert, select

import feeds
from conftest import migrate_to, source
from news_harvester.config import load_sources
from news_harvester.harvest.fetch import Fetcher
from news_harvester.models import Outcome
from news_harvester.store.engine import make_engine, upgrade
from news_harvester.store.schema import articles, candidates
from news_harvester.stories.assign import StoryMember, canonical_member
from news_harvester.wiring import build_harvester, fetch_policy, harvest_once, open_repository

ORIGINAL_BODY = (
    "6月11日，商务部、中央网信办、工业和信息化部等九部门联合印发《关于推动数字贸易高质量发展的若干措施》。"
    "《措施》提出，到2029年，可数字化交付的服务贸易规模稳步增长，数字订购贸易占比明显提升，"
    "数字贸易制度型开放持续扩大。《措施》从六个方面提出十八条具体举措：一是促进数字产品贸易，"
    "支持游戏、影视、音乐等数字内容出海，培育一批具有国际影响力的数字文化品牌；二是发展数字服务贸易，"
    "推动云计算、大数据、人工智能等领域服务出口；三是推动跨境电商高质量发展，完善海外仓布局；"
    "四是促进数据跨境高效便利安全流动，探索建立数据出境负面清单管理制度；五是加强数字贸易国际合作，"
    "积极参与世界贸易组织电子商务谈判；六是完善数字贸易统计监测体系，夯实数字贸易发展基础。"
)
OTHER_BODY = (
    "国家统计局今日发布数据显示，5月份全国居民消费价格同比上涨0.3%，环比下降0.1%。其中，城市上涨0.3%，"
    "农村上涨0.2%；食品价格下降2.0%，非食品价格上涨0.8%；消费品价格下降0.1%，服务价格上涨0.8%。"
    "1至5月平均，全国居民消费价格比上年同期上涨0.1%。5月份，全国工业生产者出厂价格同比下降1.4%，"
    "环比下降0.2%；工业生产者购进价格同比下降1.7%，环比下降0.1%。国家统计局城市司首席统计师表示，"
    "5月份消费市场运行总体平稳，能源价格有所回落，核心物价保持温和上涨，就业形势总体稳定。"
)


def _when(hours_ago: float) -> str:
    return format_datetime(datetime.now(UTC) - timedelta(hours=hours_ago))


def _feeds(httpserver: HTTPServer) -> None:
    base = httpserver.url_for("").rstrip("/")
    official = [
        {"title": "商务部等九部门印发推动数字贸易高质量发展若干措施", "link": f"{base}/mofcom/1.html",
         "date": _when(5), "description": f"<p>{ORIGINAL_BODY}</p>"},
        {"title": "5月份全国居民消费价格同比上涨0.3%", "link": f"{base}/mofcom/2.html",
         "date": _when(4), "description": f"<p>{OTHER_BODY}</p>"},
    ]
    reprint = [
        {"title": "九部门发文：到2029年数字订购贸易占比明显提升", "link": f"{base}/portal/77.html",
         "date": _when(3), "description": f"<p>来源：商务部网站</p><p>{ORIGINAL_BODY}</p>"},
    ]
    later = [
        {"title": "数字贸易十八条举措出台", "link": f"{base}/late/9.html", "date": _when(1),
         "description": f"<p>{ORIGINAL_BODY}</p><p>来源：中国经济网　责任编辑：王敏</p>"},
    ]
    httpserver.expect_request("/official.xml").respond_with_data(feeds.rss(official), content_type="text/xml")
    httpserver.expect_request("/portal.xml").respond_with_data(feeds.rss(reprint), content_type="text/xml")
    httpserver.expect_request("/late.xml").respond_with_data(feeds.rss(later), content_type="text/xml")


def _run(settings, repository, sources, specs):
    async def go():
        fetcher = Fetcher(fetch_policy(settings))
        try:
            harvester = build_harvester(settings, sources, fetcher, repository)
            return [await harvester.harvest(s, force=True) for s in specs]
        finally:
            await fetcher.aclose()

    return asyncio.run(go())


def _by_url(repository):
    return {a.url.rsplit("/", 2)[-2] + "/" + a.url.rsplit("/", 1)[-1]: a for a in repository.list_articles()}


def test_reprint_joins_the_story_and_the_weightier_source_is_canonical(
    httpserver: HTTPServer, any_settings, any_repository, write_sources
):
    _feeds(httpserver)
    write_sources([
        source(httpserver, "/official.xml", id="mofcom", name="商务部网站", weight=10),
        source(httpserver, "/portal.xml", id="portal", name="某门户", weight=1),
        source(httpserver, "/late.xml", id="late", name="中国经济网", weight=1),
    ])
    config = load_sources(any_settings.sources)
    specs = {s.id: s for s in config.sources}
    repo = any_repository

    # the reprint is stored first; the official original arrives later and must still become canonical
    summaries = _run(any_settings, repo, config, [specs["portal"], specs["mofcom"]])
    assert [s.outcome for s in summaries] == [Outcome.OK, Outcome.OK]
    assert repo.counts()["articles"] == 3
    assert repo.counts()["stories"] == 2
    rows = _by_url(repo)
    original, other, reprint = rows["mofcom/1.html"], rows["mofcom/2.html"], rows["portal/77.html"]
    story, layer, _ = repo.story_of(original.url)
    reprint_story, reprint_layer, similarity = repo.story_of(reprint.url)
    other_story, other_layer, _ = repo.story_of(other.url)
    assert story is not None and reprint_story == story and other_story not in (None, story)
    assert layer == "minhash"  # the original, stored second, joined the reprint's story
    assert reprint_layer == "new" and other_layer == "new"
    assert similarity is None
    assert repo.story_canonical(story) == original.id
    assert repo.story_canonical(other_story) == other.id

    # re-harvest: nothing new, no second story for an article already stored
    again = _run(any_settings, repo, config, [specs["mofcom"], specs["portal"]])
    assert [s.items_new for s in again] == [0, 0]
    assert repo.counts()["stories"] == 2
    assert repo.story_of(original.url)[0] == story and repo.story_of(reprint.url)[0] == story

    # restart: a new repository and Harvester rebuild the index from the database; a later reprint of the
    # original (different headline, added 来源 line) joins the original's story
    restarted = open_repository(any_settings)
    try:
        [late] = _run(any_settings, restarted, config, [specs["late"]])
        assert late.items_new == 1
        late_article = _by_url(restarted)["late/9.html"]
        late_story, late_layer, late_similarity = restarted.story_of(late_article.url)
        assert late_story == story and late_layer == "minhash" and late_similarity is not None
        assert late_similarity >= 0.3
        assert restarted.counts()["stories"] == 2
        assert restarted.story_canonical(story) == original.id
    finally:
        restarted.engine.dispose()


def test_reprint_in_the_same_run_joins_the_earlier_article(
    httpserver: HTTPServer, any_settings, any_repository, write_sources
):
    base = httpserver.url_for("").rstrip("/")
    items = [
        {"title": "商务部等九部门印发推动数字贸易高质量发展若干措施", "link": f"{base}/x/1.html",
         "date": _when(5), "description": f"<p>{ORIGINAL_BODY}</p>"},
        {"title": "九部门发文推动数字贸易", "link": f"{base}/x/2.html",
         "date": _when(6), "description": f"<p>来源：商务部网站</p><p>{ORIGINAL_BODY}</p>"},
    ]
    httpserver.expect_request("/both.xml").respond_with_data(feeds.rss(items), content_type="text/xml")
    write_sources([source(httpserver, "/both.xml", id="both")])
    config = load_sources(any_settings.sources)
    [summary] = _run(any_settings, any_repository, config, list(config.sources))
    assert summary.items_new == 2
    assert any_repository.counts()["stories"] == 1
    rows = _by_url(any_repository)
    story = any_repository.story_of(rows["x/1.html"].url)[0]
    assert any_repository.story_of(rows["x/2.html"].url)[0] == story
    # equal weights: the earlier published article is canonical, though it was stored second
    assert any_repository.story_canonical(story) == rows["x/2.html"].id


def test_harvest_once_assigns_stories(httpserver: HTTPServer, any_settings, write_sources):
    _feeds(httpserver)
    write_sources([
        source(httpserver, "/official.xml", id="mofcom", weight=10),
        source(httpserver, "/portal.xml", id="portal"),
    ])
    config = load_sources(any_settings.sources)
    summaries = asyncio.run(harvest_once(any_settings, config))
    assert {s.outcome for s in summaries} == {Outcome.OK}
    repo = open_repository(any_settings)
    try:
        assert repo.counts()["stories"] == 2
        assert repo.counts()["articles"] == 3
    finally:
        repo.engine.dispose()


def test_canonical_member_order():
    t = datetime(2024, 6, 11, tzinfo=UTC)
    members = [
        StoryMember(3, "portal", t - timedelta(hours=5), t),
        StoryMember(2, "mofcom", t, t),
        StoryMember(1, "mofcom", t + timedelta(hours=1), t),
        StoryMember(4, "mofcom", None, t - timedelta(days=1)),
    ]
    assert canonical_member(members, {"mofcom": 10.0, "portal": 1.0}) == 4
    assert canonical_member(members[:3], {"mofcom": 10.0, "portal": 1.0}) == 2
    assert canonical_member(members[:3], {}) == 3
    assert canonical_member([StoryMember(7, "a", t, t), StoryMember(5, "b", t, t)], {}) == 5


def test_upgrade_from_0001_keeps_the_data(any_settings):
    engine = make_engine(any_settings.resolved_database_url)
    try:
        migrate_to(engine, "0001")
        now = datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(insert(articles).values(
                url="http://127.0.0.1/old/1.html", source_id="mofcom", title="旧文章", published_at=now,
                fetched_at=now, body_text=ORIGINAL_BODY, content_hash="h",
            ))
            article_id = conn.execute(select(articles.c.id)).scalar_one()
            conn.execute(insert(candidates).values(
                article_id=article_id, state="shortlisted", created_at=now, editor_title="编辑标题"
            ))
        upgrade(engine)
        with engine.connect() as conn:
            row = conn.execute(
                select(articles.c.id, articles.c.title, articles.c.story_id, articles.c.story_layer)
            ).one()
            cand = conn.execute(select(candidates.c.article_id, candidates.c.state, candidates.c.editor_title)).one()
        assert (row.id, row.title, row.story_id, row.story_layer) == (article_id, "旧文章", None, None)
        assert tuple(cand) == (article_id, "shortlisted", "编辑标题")
        upgrade(engine)  # idempotent at head
    finally:
        engine.dispose()


def test_rolled_back_run_leaves_index_and_database_unchanged(
    httpserver: HTTPServer, any_settings, any_repository, write_sources, monkeypatch
):
    _feeds(httpserver)
    write_sources([source(httpserver, "/official.xml", id="mofcom")])
    config = load_sources(any_settings.sources)

    async def go():
        fetcher = Fetcher(fetch_policy(any_settings))
        try:
            harvester = build_harvester(any_settings, config, fetcher, any_repository)

            def boom(*_args, **_kwargs):
                raise RuntimeError("disk full")

            monkeypatch.setattr(any_repository, "_record_states", boom)  # the last write of the run's transaction
            summary = await harvester.harvest(config.sources[0], force=True)
            # the source's run fails with the reason; the pass goes on
            assert (summary.outcome, summary.code) == (Outcome.ERROR, "storage.error")
            assert "disk full" in summary.message
            return any_repository.story_index_size()
        finally:
            await fetcher.aclose()

    assert asyncio.run(go()) == 0
    counts = any_repository.counts()
    assert (counts["articles"], counts["stories"]) == (0, 0)


def test_the_index_holds_what_was_stored_within_the_window(
    httpserver: HTTPServer, any_settings, any_repository, write_sources
):
    """An article stays matchable for story_window_days after it was stored (its fetch time), whatever date the
    page shows: one stored five days ago is out of a two-day window, and the next prune deletes its keys."""
    base = httpserver.url_for("").rstrip("/")
    old = [{"title": "商务部等九部门印发推动数字贸易高质量发展若干措施", "link": f"{base}/old/1.html",
            "date": _when(24 * 5), "description": f"<p>{ORIGINAL_BODY}</p>"}]
    new = [{"title": "九部门发文推动数字贸易", "link": f"{base}/new/1.html",
            "date": _when(1), "description": f"<p>来源：商务部网站</p><p>{ORIGINAL_BODY}</p>"}]
    httpserver.expect_request("/old.xml").respond_with_data(feeds.rss(old), content_type="text/xml")
    httpserver.expect_request("/new.xml").respond_with_data(feeds.rss(new), content_type="text/xml")
    write_sources([source(httpserver, "/old.xml", id="old"), source(httpserver, "/new.xml", id="new")])
    config = load_sources(any_settings.sources)
    specs = {s.id: s for s in config.sources}
    narrow = any_settings.model_copy(update={"story_window_days": 2})

    async def go():
        fetcher = Fetcher(fetch_policy(narrow))
        try:
            harvester = build_harvester(narrow, config, fetcher, any_repository)
            harvester.clock = lambda: datetime.now(UTC) - timedelta(days=5)  # stored five days ago
            await harvester.harvest(specs["old"], force=True)
            assert any_repository.story_index_size() == 1
            harvester.clock = lambda: datetime.now(UTC)
            harvester.stories._pruned_at = None  # the hourly prune is due
            await harvester.harvest(specs["new"], force=True)
        finally:
            await fetcher.aclose()

    asyncio.run(go())
    rows = _by_url(any_repository)
    assert any_repository.story_of(rows["old/1.html"].url)[0] != any_repository.story_of(rows["new/1.html"].url)[0]
    assert any_repository.counts()["stories"] == 2
    assert any_repository.story_index_size() == 1  # the old article's keys were pruned
    assert any_repository.indexed_story(rows["old/1.html"].id) is None
