"""Store behaviour on SQLite and (when NEWS_HARVESTER_TEST_PG is set) PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer

import feeds
from conftest import source
from news_harvester.config import load_sources
from news_harvester.harvest.fetch import Fetcher
from news_harvester.harvest.pipeline import Harvester
from news_harvester.models import Outcome
from news_harvester.store.engine import SCHEMA_HEAD, make_engine, schema_revision, upgrade
from news_harvester.wiring import fetch_policy


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


def test_start_up_marks_only_the_runs_of_processes_that_are_gone(any_repository):
    """A `harvest --once` beside a running daemon (or a daemon restarted beside one) must not mark the other
    process's live runs interrupted; runs of dead processes, of an earlier process with our pid (a container's
    pid 1 after a restart) and runs from before owners were recorded are."""
    import os
    import socket
    import subprocess
    import sys

    from sqlalchemy import insert, select

    from news_harvester.store.engine import run_owner
    from news_harvester.store.schema import fetch_runs

    repository = any_repository
    host = socket.gethostname()[:100]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        owners = {
            "ours": run_owner(),
            "live process": f"{host}:{alive.pid}:abc",
            "other machine": f"worker-7.example:{dead.pid}:abc",
            "dead process": f"{host}:{dead.pid}:abc",
            "earlier process with our pid": f"{host}:{os.getpid()}:earlier",
            "before 0009": None,
            "unreadable": "garbage",
        }
        now = datetime.now(UTC)
        ids = {}
        with repository.engine.begin() as conn:
            for name, owner in owners.items():
                ids[name] = conn.execute(
                    insert(fetch_runs)
                    .values(source_id="s", started_at=now, outcome=Outcome.RUNNING, owner=owner)
                    .returning(fetch_runs.c.id)
                ).scalar_one()
        begun = repository.begin_run("s", now)

        assert repository.mark_interrupted_runs(now) == 4

        with repository.engine.connect() as conn:
            outcome = dict(conn.execute(select(fetch_runs.c.id, fetch_runs.c.outcome)).all())
        assert {name: outcome[i] for name, i in ids.items()} == {
            "ours": Outcome.RUNNING,
            "live process": Outcome.RUNNING,
            "other machine": Outcome.RUNNING,
            "dead process": Outcome.INTERRUPTED,
            "earlier process with our pid": Outcome.INTERRUPTED,
            "before 0009": Outcome.INTERRUPTED,
            "unreadable": Outcome.INTERRUPTED,
        }
        assert outcome[begun] == Outcome.RUNNING  # begin_run records this process as the owner
        assert repository.recent_outcomes(["s"])["s"].count("interrupted") == 4
    finally:
        alive.kill()
        alive.wait()


def test_schema_head_names_the_newest_migration():
    """``upgrade`` skips Alembic when the database is at SCHEMA_HEAD: a new migration must move it."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "news_harvester:migrations")
    assert ScriptDirectory.from_config(config).get_heads() == [SCHEMA_HEAD]


def test_a_database_behind_the_head_is_migrated_not_skipped(any_settings):
    """The fast path reads the revision only to skip work: an older schema still goes through Alembic."""
    from alembic import command
    from alembic.config import Config

    engine = make_engine(any_settings.resolved_database_url)
    try:
        config = Config()
        config.set_main_option("script_location", "news_harvester:migrations")
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0008")
        assert schema_revision(engine) == "0008"
        upgrade(engine)
        assert schema_revision(engine) == SCHEMA_HEAD
        upgrade(engine)  # at head: nothing to do, nothing fails
        assert schema_revision(engine) == SCHEMA_HEAD
    finally:
        engine.dispose()


def test_an_interrupted_run_is_neither_a_success_nor_a_failure(httpserver: HTTPServer, any_settings, any_repository,
                                                               write_sources):
    """Stopped mid-fetch (Ctrl-C, a deploy): the run is recorded ``interrupted`` and the source keeps its last
    run/success times, validators and failure count, so the scheduler runs it again soon after a restart instead
    of a whole interval after the interruption."""
    import time as _time

    from werkzeug import Response

    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_oneshot_request("/feed.xml").respond_with_response(
        Response(feeds.rss(feeds.items(base, 2)), content_type="text/xml", headers={"ETag": '"v1"'}))

    def slow(_request):
        _time.sleep(1.5)
        return Response(feeds.rss(feeds.items(base, 3)), content_type="text/xml")

    httpserver.expect_oneshot_request("/feed.xml").respond_with_handler(slow)
    write_sources([source(httpserver, "/feed.xml", id="s", schedule="2h")])
    [spec] = list(load_sources(any_settings.sources).sources)
    [first] = _harvest(any_settings, any_repository, [spec])
    assert first.outcome == Outcome.OK
    before = any_repository.source_state("s")

    async def interrupted():
        fetcher = Fetcher(fetch_policy(any_settings))
        harvester = Harvester(fetcher, any_repository)
        try:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(harvester.harvest(spec, force=True), 0.4)
        finally:
            await harvester.aclose()  # as every shell does before its loop ends: the interruption is recorded
            await fetcher.aclose()

    asyncio.run(interrupted())
    after = any_repository.source_state("s")
    assert any_repository.recent_outcomes(["s"])["s"][0] == "interrupted"
    assert after.last_success_at == before.last_success_at and after.last_run_at == before.last_run_at
    assert (after.etag, after.consecutive_failures, after.next_due_at) == ('"v1"', 0, None)
    assert len(any_repository.list_articles()) == 2
