"""立即抓取 runs at once, whatever the backoff (issue 22 part 3): a source backing off after a failure was skipped
silently by the pipeline's due check when an admin asked for a run. Real scheduler, real harvester, real HTTP
from a local server, real SQLite file."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta

import sqlalchemy
from pytest_httpserver import HTTPServer

import feeds
from conftest import source
from news_harvester.harvest.fetch import Fetcher
from news_harvester.harvest.pipeline import Harvester
from news_harvester.harvest.schedule import SourceScheduler
from news_harvester.sources.health import source_report
from news_harvester.sources.health_page import source_details
from news_harvester.store.schema import fetch_runs
from news_harvester.wiring import fetch_policy
from servers import requests_to


def runs_of(repository, source_id: str) -> list[tuple[str, str | None]]:
    with repository.engine.connect() as conn:
        rows = conn.execute(
            sqlalchemy.select(fetch_runs.c.outcome, fetch_runs.c.code)
            .where(fetch_runs.c.source_id == source_id)
            .order_by(fetch_runs.c.id)
        ).all()
    return [(r.outcome, r.code) for r in rows]


def test_run_now_runs_a_source_in_backoff_at_once_and_records_it(
    httpserver: HTTPServer, settings, repository, write_sources, caplog
):
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_oneshot_request("/feed.xml").respond_with_data("forbidden", status=403)
    httpserver.expect_request("/feed.xml").respond_with_data(feeds.rss(feeds.items(base, 2)), content_type="text/xml")
    config = write_sources([source(httpserver, "/feed.xml", id="mofcom", name="商务部网站", respect_robots=False)])
    [spec] = config.sources

    async def scenario():
        fetcher = Fetcher(fetch_policy(settings))
        harvester = Harvester(fetcher, repository)
        scheduler = SourceScheduler(harvester.harvest, config, start_stagger=0)
        try:
            failed = await scheduler.run_now(spec)
            state = repository.source_state("mofcom")
            assert failed.code == "fetch.http_status" and failed.http_status == 403
            assert state.next_due_at is not None and state.next_due_at > datetime.now(UTC) + timedelta(minutes=20)

            # the schedule still waits for the backoff: no request, no run, but a log line saying why
            held = await harvester.harvest(spec)
            assert held.skipped and re.fullmatch(r"backing off until \d{4}-\d\d-\d\d \d\d:\d\d UTC\+8", held.message)
            assert runs_of(repository, "mofcom") == [("error", "fetch.http_status")]

            # an admin's 立即抓取: runs now, is recorded, and says so in the log
            done = await scheduler.run_now(spec)
            assert not done.skipped and done.outcome == "ok" and done.items_new == 2
        finally:
            await harvester.aclose()
            await fetcher.aclose()

    with caplog.at_level(logging.INFO):
        asyncio.run(scenario())
    assert runs_of(repository, "mofcom") == [("error", "fetch.http_status"), ("ok", None)]
    assert requests_to(httpserver, "/feed.xml") == 2
    log = caplog.text
    assert "mofcom: backing off after 1 failures until" in log and "run skipped" in log
    assert log.count("source mofcom: manual run requested") == 2
    assert re.search(r"mofcom: run forced while backing off until \d{4}-\d\d-\d\d \d\d:\d\d UTC\+8", log)

    now = datetime.now(UTC)
    [row] = source_report(config, repository, now)
    assert row["backoff_until"] is None and row["last_error_code"] is None and row["health"] == "healthy"
    detail = source_details([row], repository, now)["mofcom"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d 成功：列表 2 条，新 2 条", detail.last_run), detail.last_run
    assert detail.new_recent == 2 and detail.error is None
