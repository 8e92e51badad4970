"""Scheduler job management on a real APScheduler, and backoff enforced through the pipeline."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from pytest_httpserver import HTTPServer

from conftest import source
from news_harvester.config import load_sources
from news_harvester.harvest.fetch import Fetcher
from news_harvester.harvest.pipeline import Harvester
from news_harvester.harvest.schedule import SourceScheduler, next_fire_time
from news_harvester.models import Outcome
from news_harvester.wiring import fetch_policy
from yaml_writer import dump


def _entry(source_id: str, **extra):
    return {"id": source_id, "name": "测试", "kind": "feed", "url": f"http://127.0.0.1:9/{source_id}.xml", **extra}


def test_reload_adds_removes_disables_and_keeps_last_valid(tmp_path):
    path = tmp_path / "sources.yaml"
    dump({"sources": [_entry("a"), _entry("b"), _entry("c", schedule="0 8 * * 1-5")]}, path)

    async def scenario():
        async def harvest(spec):
            return None

        scheduler = SourceScheduler(harvest, load_sources(path), start_stagger=0)
        scheduler.start()
        try:
            assert scheduler.job_ids() == {"a", "b", "c"}
            dump({"sources": [_entry("a", schedule="2h"), _entry("b", enabled=False), _entry("d")]}, path)
            assert scheduler.reload()
            assert scheduler.job_ids() == {"a", "d"}
            path.write_text("sources: [ {id: broken", encoding="utf-8")
            assert not scheduler.reload()
            assert scheduler.job_ids() == {"a", "d"}
            assert scheduler.config.get("a").schedule == "2h"
            assert scheduler.running
        finally:
            await scheduler.shutdown()
        assert not scheduler.running

    asyncio.run(scenario())


def test_next_fire_time_interval_and_cron(tmp_path):
    path = tmp_path / "sources.yaml"
    dump({"sources": [_entry("a", schedule="30m"), _entry("c", schedule="0 8 * * *")]}, path)
    config = load_sources(path)
    now = datetime(2024, 6, 11, 1, 0, tzinfo=UTC)
    assert next_fire_time(config.get("a"), now - timedelta(minutes=10), now) == now + timedelta(minutes=20)
    assert next_fire_time(config.get("a"), None, now) == now
    cron_next = next_fire_time(config.get("c"), None, now)
    assert cron_next.astimezone(UTC) == datetime(2024, 6, 12, 0, 0, tzinfo=UTC), "08:00 Beijing = 00:00 UTC"


def test_failing_source_backs_off_and_is_retried_when_due(httpserver: HTTPServer, write_sources, repository,
                                                         settings):
    httpserver.expect_request("/down.xml").respond_with_data("", status=503)
    config = write_sources([source(httpserver, "/down.xml", id="down", schedule="30m")])
    spec = config.get("down")
    clock = {"now": datetime(2024, 6, 11, tzinfo=UTC)}

    async def run(**kw):
        fetcher = Fetcher(fetch_policy(settings.model_copy(update={"retries": 0})))
        try:
            return await Harvester(fetcher, repository, clock=lambda: clock["now"]).harvest(spec, **kw)
        finally:
            await fetcher.aclose()

    first = asyncio.run(run())
    assert first.outcome == Outcome.ERROR and first.code == "fetch.http_status" and first.http_status == 503
    state = repository.source_state("down")
    assert state.consecutive_failures == 1
    assert timedelta(minutes=27) <= state.next_due_at - clock["now"] <= timedelta(minutes=33)

    clock["now"] += timedelta(minutes=5)
    skipped = asyncio.run(run())
    assert skipped.skipped, "a backing-off source is not fetched before it is due"
    assert repository.source_state("down").consecutive_failures == 1

    clock["now"] += timedelta(hours=1)
    again = asyncio.run(run())
    assert not again.skipped and again.outcome == Outcome.ERROR
    state = repository.source_state("down")
    assert state.consecutive_failures == 2
    assert timedelta(minutes=54) <= state.next_due_at - clock["now"] <= timedelta(minutes=66)


def test_crontab_weekdays_keep_their_crontab_meaning():
    from zoneinfo import ZoneInfo

    from news_harvester.harvest.schedule import cron_trigger

    zone = ZoneInfo("Asia/Shanghai")
    friday_evening = datetime(2024, 6, 14, 20, 0, tzinfo=zone)
    fire = cron_trigger("0 8 * * 1-5", zone).get_next_fire_time(None, friday_evening)
    assert fire == datetime(2024, 6, 17, 8, 0, tzinfo=zone), "Mon–Fri in crontab: next is Monday 08:00"
    sunday = cron_trigger("30 9 * * 0", zone).get_next_fire_time(None, friday_evening)
    assert sunday.weekday() == 6


def test_housekeeping_jobs_are_awaited_even_when_given_as_a_lambda(tmp_path, caplog):
    """The daemon registers its alarm check as ``lambda: check_and_notify(...)``: the coroutine must run."""
    path = tmp_path / "sources.yaml"
    dump({"sources": [_entry("a")]}, path)
    ran: list[str] = []

    async def check(name: str) -> None:
        await asyncio.sleep(0)
        ran.append(name)

    async def scenario():
        async def harvest(spec):
            return None

        scheduler = SourceScheduler(harvest, load_sources(path), start_stagger=0)
        scheduler.start()
        try:
            scheduler.add_periodic("__lambda__", lambda: check("lambda"), 0.05)
            scheduler.add_periodic("__plain__", lambda: check("plain"), 0.05)
            for _ in range(100):
                await asyncio.sleep(0.02)
                if {"lambda", "plain"} <= set(ran):
                    break
        finally:
            await scheduler.shutdown()

    asyncio.run(scenario())
    assert {"lambda", "plain"} <= set(ran)
    assert "was never awaited" not in caplog.text


def test_stopping_during_a_harvest_ends_the_job_quietly(tmp_path, caplog):
    """A stop gives running harvests a moment, then cancels them (each records itself as interrupted); no ERROR
    traceback from the jobs."""
    import logging

    path = tmp_path / "sources.yaml"
    dump({"sources": [_entry("slow"), _entry("quick")]}, path)
    started: asyncio.Event | None = None
    cancelled: list[str] = []
    finished: list[str] = []
    begun: list[str] = []

    async def scenario():
        nonlocal started
        started = asyncio.Event()

        async def harvest(spec):
            begun.append(spec.id)
            if len(begun) == 2:
                started.set()
            try:
                await asyncio.sleep(60 if spec.id == "slow" else 0.5)
                finished.append(spec.id)  # within the stop's grace period: not cut short
            except asyncio.CancelledError:
                cancelled.append(spec.id)
                raise

        scheduler = SourceScheduler(harvest, load_sources(path), start_stagger=0)
        scheduler.start()
        await asyncio.wait_for(started.wait(), 10)
        await scheduler.shutdown(timeout=2.5)
        await asyncio.sleep(0.1)

    with caplog.at_level(logging.INFO):
        asyncio.run(scenario())
    assert cancelled == ["slow"] and finished == ["quick"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
