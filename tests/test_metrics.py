"""GET /metrics: Prometheus metrics read from the real database (SQLite, and PostgreSQL when configured), scraped
through a real FastAPI app and parsed with prometheus_client's own parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine

from news_harvester.models import Article, Outcome, RunSummary
from news_harvester.ops.metrics import DURATION_BUCKETS, HarvestCollector, metrics_router, overdue_seconds
from news_harvester.store.repository import Repository, RunResult
from news_harvester.store.schema import fetch_runs
from news_harvester.stories.assign import StoryService
from news_harvester.web.app import create_app

NOW = datetime.now(UTC)
HOURS_AGO = NOW - timedelta(hours=2)
"""Runs started this long ago are cached by the collector; runs started now are counted afresh each scrape."""

TITLES = ["数字贸易发展报告发布", "跨境电商新政出台", "五G基站突破三百万", "数据出境办法征求意见"]
BODIES = [
    "商务部今日发布《数字贸易发展报告》，报告显示全国数字贸易进出口规模持续扩大，可数字化交付的服务贸易增长明显。",
    "国务院常务会议研究部署加快发展跨境电子商务的政策措施，提出完善海外仓布局并优化通关监管流程。",
    "工业和信息化部表示，五G基站总数已超过三百万个，千兆光网覆盖能力进一步提升，算力基础设施加快建设。",
    "国家数据局就数据出境安全评估办法公开征求意见，明确个人信息保护认证与标准合同的适用范围和程序。",
]


def scrape(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def client_for(collector: HarvestCollector) -> TestClient:
    app = FastAPI()
    app.include_router(metrics_router(collector))
    return TestClient(app)


def article(n: int, source_id: str) -> Article:
    return Article(
        url=f"https://example.gov.cn/news/{source_id}/{n}.html",
        source_id=source_id,
        title=TITLES[n],
        published_at=NOW - timedelta(days=1),
        fetched_at=NOW,
        author=None,
        attribution="商务部网站",
        summary=None,
        body_text=BODIES[n],
        content_hash=f"hash-{n}",
        language="zh",
    )


def run(
    repository: Repository,
    source_id: str,
    outcome: Outcome,
    duration_ms: int,
    *,
    code: str | None = None,
    started: datetime = HOURS_AGO,
    articles: list[Article] | None = None,
    stories: StoryService | None = None,
) -> datetime:
    """One run begun and finished through the repository, as the pipeline does it; returns when it finished."""
    run_id = repository.begin_run(source_id, started)
    finished = started + timedelta(milliseconds=duration_ms)
    batch = stories.begin() if stories is not None else None
    summary = RunSummary(source_id, outcome, items_seen=len(articles or []), duration_ms=duration_ms, code=code)
    repository.finish_run(run_id, RunResult(summary, finished, articles or []), stories=batch)
    if stories is not None and batch is not None:
        stories.commit(batch, finished)
    return finished


def test_scrape_reports_runs_errors_durations_articles_and_queue(any_repository):
    repository = any_repository
    stories = StoryService(window=timedelta(days=90))
    # mofcom: two runs cached (started two hours ago), three counted afresh (started now)
    run(repository, "mofcom", Outcome.OK, 100, articles=[article(0, "mofcom"), article(1, "mofcom")], stories=stories)
    run(repository, "mofcom", Outcome.NOT_MODIFIED, 200)
    run(repository, "mofcom", Outcome.OK, 700, started=NOW, articles=[article(2, "mofcom")], stories=stories)
    run(repository, "mofcom", Outcome.ERROR, 3_000, code="fetch.http_status", started=NOW)
    last = run(repository, "mofcom", Outcome.ERROR, 45_000, code="fetch.timeout", started=NOW)
    # xinhua: two failures, an interrupted run (no duration), one imported article
    run(repository, "xinhua", Outcome.ERROR, 1_500, code="fetch.http_status")
    run(repository, "xinhua", Outcome.ERROR, 1_500, code="fetch.http_status")
    left = repository.begin_run("xinhua", HOURS_AGO)
    with repository.engine.begin() as conn:  # no owner: left by a process that is gone (see test_store)
        conn.execute(fetch_runs.update().where(fetch_runs.c.id == left).values(owner=None))
    repository.mark_interrupted_runs(NOW)
    batch = stories.begin()
    repository.store_articles([article(3, "xinhua")], batch, NOW)
    stories.commit(batch, NOW)
    repository.begin_run("mofcom", NOW)  # still running: not a finished run, counted nowhere
    repository.set_editor_fields(article(0, "mofcom").url, state="accepted", now=NOW)
    repository.set_editor_fields(article(1, "mofcom").url, state="rejected", now=NOW)

    lag: dict[str, float | None] = {"value": 12.5}
    collector = HarvestCollector(repository, lambda: lag["value"], lambda: ["mofcom", "xinhua", "edps"])
    client = client_for(collector)
    for _ in range(2):  # the second scrape reads the cache: the same numbers, nothing counted twice
        samples = scrape(client)

        runs = "news_harvester_runs_total"
        assert value(samples, runs, source="mofcom", outcome="ok") == 2
        assert value(samples, runs, source="mofcom", outcome="not_modified") == 1
        assert value(samples, runs, source="mofcom", outcome="error") == 2
        assert value(samples, runs, source="xinhua", outcome="error") == 2
        assert value(samples, runs, source="xinhua", outcome="interrupted") == 1
        assert value(samples, runs, source="mofcom", outcome="running") is None

        errors = {
            (dict(labels)["source"], dict(labels)["code"]): v
            for (name, labels), v in samples.items()
            if name == "news_harvester_fetch_errors_total"
        }
        assert errors == {
            ("mofcom", "fetch.http_status"): 1,
            ("mofcom", "fetch.timeout"): 1,
            ("xinhua", "fetch.http_status"): 2,
        }

        hist = "news_harvester_fetch_duration_seconds"
        bounds = [str(float(b)) for b in DURATION_BUCKETS] + ["+Inf"]
        mofcom = [value(samples, f"{hist}_bucket", source="mofcom", le=le) for le in bounds]
        # 0.1 s, 0.2 s ≤ 0.25; 0.7 s ≤ 1; 3 s ≤ 5; 45 s ≤ 60
        assert mofcom == [2, 2, 3, 3, 4, 4, 4, 5, 5, 5, 5]
        assert value(samples, f"{hist}_count", source="mofcom") == 5
        assert value(samples, f"{hist}_sum", source="mofcom") == pytest.approx(49.0)
        xinhua = [value(samples, f"{hist}_bucket", source="xinhua", le=le) for le in bounds]
        assert xinhua == [0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2]  # the interrupted run has no duration
        assert value(samples, f"{hist}_sum", source="xinhua") == pytest.approx(3.0)

        assert value(samples, "news_harvester_articles_total", source="mofcom") == 3
        assert value(samples, "news_harvester_articles_total", source="xinhua") == 1
        assert value(samples, "news_harvester_stories_total") == 4
        queue = {
            dict(labels)["state"]: v for (name, labels), v in samples.items() if name == "news_harvester_queue_stories"
        }
        assert queue == {"new": 2, "shortlisted": 0, "snoozed": 0, "accepted": 1, "rejected": 1, "used": 0}

        failures = "news_harvester_source_consecutive_failures"
        assert value(samples, failures, source="mofcom") == 2
        assert value(samples, failures, source="xinhua") == 2
        assert value(samples, failures, source="edps") == 0  # configured, never run
        assert value(samples, "news_harvester_last_harvest_timestamp_seconds") == pytest.approx(last.timestamp())
        assert value(samples, "news_harvester_source_last_success_timestamp_seconds", source="mofcom") is not None
        assert value(samples, "news_harvester_source_last_success_timestamp_seconds", source="xinhua") is None
        assert value(samples, "news_harvester_scheduler_lag_seconds") == 12.5
        assert value(samples, "news_harvester_database_up") == 1

    lag["value"] = None
    assert ("news_harvester_scheduler_lag_seconds", frozenset()) not in scrape(client)


def test_counts_stay_exact_as_runs_finish_between_scrapes(any_repository):
    """The cache never passes a running run: when it finishes later (here as an error), it is counted once."""
    repository = any_repository
    collector = HarvestCollector(repository, lambda: None, lambda: ["s"])
    client = client_for(collector)
    slow = repository.begin_run("s", HOURS_AGO - timedelta(minutes=1))
    run(repository, "s", Outcome.OK, 300)
    samples = scrape(client)
    assert value(samples, "news_harvester_runs_total", source="s", outcome="ok") == 1
    assert value(samples, "news_harvester_fetch_errors_total", source="s", code="fetch.dns") is None
    assert collector._watermark < slow

    summary = RunSummary("s", Outcome.ERROR, duration_ms=90_000, code="fetch.dns")
    repository.finish_run(slow, RunResult(summary, HOURS_AGO))
    samples = scrape(client)
    assert collector._watermark == slow + 1  # both old runs are now cached
    run(repository, "s", Outcome.ERROR, 500, code="fetch.dns", started=datetime.now(UTC))  # recent: not cached
    for _ in range(2):
        samples = scrape(client)
        assert value(samples, "news_harvester_runs_total", source="s", outcome="ok") == 1
        assert value(samples, "news_harvester_runs_total", source="s", outcome="error") == 2
        assert value(samples, "news_harvester_fetch_errors_total", source="s", code="fetch.dns") == 2
        assert value(samples, "news_harvester_fetch_duration_seconds_count", source="s") == 3
        assert value(samples, "news_harvester_fetch_duration_seconds_bucket", source="s", le="60.0") == 2
        assert value(samples, "news_harvester_fetch_duration_seconds_bucket", source="s", le="120.0") == 3
    assert collector._watermark == slow + 1


def test_empty_database_and_unreachable_database(repository, tmp_path):
    samples = scrape(client_for(HarvestCollector(repository, lambda: 0.0, lambda: ["a"])))
    assert value(samples, "news_harvester_stories_total") == 0
    assert value(samples, "news_harvester_source_consecutive_failures", source="a") == 0
    assert value(samples, "news_harvester_queue_stories", state="new") == 0
    assert value(samples, "news_harvester_last_harvest_timestamp_seconds") is None
    assert value(samples, "news_harvester_database_up") == 1

    broken = Repository(create_engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}"))
    samples = scrape(client_for(HarvestCollector(broken, lambda: 3.0, lambda: ["a"])))
    assert value(samples, "news_harvester_database_up") == 0
    assert value(samples, "news_harvester_scheduler_lag_seconds") == 3.0
    assert value(samples, "news_harvester_stories_total") is None


def test_metrics_need_no_sign_in_in_the_review_app(repository):
    """Mounted on the real app (with its sign-in and security headers), /metrics answers scrapers without a
    session, and two apps in one process each have their own registry."""
    stories = StoryService(window=timedelta(days=90))
    for _ in range(2):
        app = create_app(
            database_ok=lambda: True,
            scheduler_ok=lambda: True,
            sources_health=lambda: [],
            repository=repository,
            stories=stories,
        )
        app.include_router(metrics_router(HarvestCollector(repository, lambda: None, lambda: [])))
        with TestClient(app, follow_redirects=False) as client:
            assert value(scrape(client), "news_harvester_database_up") == 1
            assert client.get("/api/queue").status_code == 401  # the rest of the app still wants a session


def test_overdue_seconds():
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert overdue_seconds([], now) == 0.0
    assert overdue_seconds([None, now + timedelta(minutes=5)], now) == 0.0
    assert overdue_seconds([now - timedelta(seconds=90), now - timedelta(seconds=30), None], now) == 90.0
