"""Prometheus metrics, read from the database at scrape time (``GET /metrics``).

Everything comes from the database rather than from in-process counters, so the numbers are the same whichever
process serves them (``run``, or ``run --web-only`` beside ``run --no-web``) and survive restarts.

The queries, and the incremental counting that keeps a scrape cheap on a large database, are in
news_harvester.store.stats; this module turns what they return into Prometheus families.

The histogram and the counters are all-time totals, so they only grow, as Prometheus expects of counters
and histograms; durations of a recent window are ``increase(...[24h])`` / ``rate(...)`` in PromQL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from news_harvester.errors import StorageError
from news_harvester.models import Outcome
from news_harvester.store.stats import (
    DURATION_BUCKETS,
    FIRST_BUCKET,
    RUNS,
    SUM_MS,
    TIMED,
    HarvestStats,
    RunKey,
    StatsReader,
    merge_values,
)

if TYPE_CHECKING:
    from news_harvester.store.repository import Repository

log = logging.getLogger(__name__)

PREFIX = "news_harvester"


class HarvestCollector(Collector):
    """Collects the harvester's metrics from the database on every scrape.

    ``scheduler_lag`` returns how late the scheduler is in seconds, or None where there is no scheduler (the
    metric is then left out); ``sources`` returns the configured source ids (their failure gauges are
    reported, 0 for a source that has not run yet).
    """

    def __init__(
        self,
        repository: Repository,
        scheduler_lag: Callable[[], float | None],
        sources: Callable[[], list[str]],
    ) -> None:
        self.repository = repository
        self.scheduler_lag = scheduler_lag
        self.sources = sources
        self._stats = StatsReader(repository.engine)

    @property
    def _watermark(self) -> int:
        """Runs up to this id are cached (tests read it)."""
        return self._stats.watermark

    # ------------------------------------------------------------------ Collector

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(f"{PREFIX}_database_up", "1 when the metrics could be read from the database.")
        try:
            families = list(self._from_stats(self._stats.read()))
        except StorageError as exc:
            log.warning("metrics: database unavailable: %s", exc, extra={"stage": "metrics"})
            families = []
        up.add_metric([], 1.0 if families else 0.0)
        yield up
        yield from families
        try:
            lag = self.scheduler_lag()
        except Exception:  # a scrape must not fail because of the probe
            log.exception("metrics: scheduler lag probe failed", extra={"stage": "metrics"})
            lag = None
        if lag is not None:
            gauge = GaugeMetricFamily(
                f"{PREFIX}_scheduler_lag_seconds", "How late the most overdue scheduled source is (0 = on time)."
            )
            gauge.add_metric([], float(lag))
            yield gauge

    def _from_stats(self, stats: HarvestStats) -> Iterator[Metric]:
        yield from self._run_families(stats.run_totals)

        articles_total = CounterMetricFamily(f"{PREFIX}_articles", "Articles stored, by source.", labels=["source"])
        for source_id, count in stats.articles_by_source:
            articles_total.add_metric([source_id], float(count))
        yield articles_total

        stories_total = CounterMetricFamily(f"{PREFIX}_stories", "Stories (clusters of articles about one event).")
        stories_total.add_metric([], float(stats.stories))
        yield stories_total

        queue = GaugeMetricFamily(
            f"{PREFIX}_queue_stories", "Stories in the review queue, by candidate state.", labels=["state"]
        )
        for state, count in stats.queue_by_state.items():
            queue.add_metric([state], float(count))
        yield queue

        yield from self._source_families(stats)

    # ------------------------------------------------------------------ per-source state

    def _source_families(self, stats: HarvestStats) -> Iterator[Metric]:
        rows = stats.source_state
        failures = GaugeMetricFamily(
            f"{PREFIX}_source_consecutive_failures",
            "Failed runs in a row of each configured source (0 after a success).",
            labels=["source"],
        )
        success = GaugeMetricFamily(
            f"{PREFIX}_source_last_success_timestamp_seconds",
            "Unix time of each configured source's last successful run.",
            labels=["source"],
        )
        for source_id in sorted(set(self.sources())):
            row = rows.get(source_id)
            failures.add_metric([source_id], float(row.consecutive_failures if row else 0))
            if row is not None and row.last_success_at is not None:
                success.add_metric([source_id], _seconds(row.last_success_at))
        yield failures
        yield success
        last_runs = [row.last_run_at for row in rows.values() if row.last_run_at is not None]
        if last_runs:
            last = GaugeMetricFamily(
                f"{PREFIX}_last_harvest_timestamp_seconds", "Unix time the last source run finished (any outcome)."
            )
            last.add_metric([], _seconds(max(last_runs)))
            yield last

    @staticmethod
    def _run_families(totals: dict[RunKey, list[float]]) -> Iterator[Metric]:
        runs = CounterMetricFamily(
            f"{PREFIX}_runs", "Finished source runs, by source and outcome.", labels=["source", "outcome"]
        )
        errors = CounterMetricFamily(
            f"{PREFIX}_fetch_errors", "Failed source runs, by source and error code.", labels=["source", "code"]
        )
        by_outcome: dict[tuple[str, str], float] = {}
        per_source: dict[str, list[float]] = {}
        for (source_id, outcome, code), values in sorted(totals.items()):
            by_outcome[source_id, outcome] = by_outcome.get((source_id, outcome), 0.0) + values[RUNS]
            if outcome == Outcome.ERROR:
                errors.add_metric([source_id, code or "unknown"], values[RUNS])
            merge_values(per_source.setdefault(source_id, [0.0] * len(values)), values)
        for (source_id, outcome), count in by_outcome.items():
            runs.add_metric([source_id, outcome], count)
        histogram = HistogramMetricFamily(
            f"{PREFIX}_fetch_duration_seconds",
            "Duration of finished source runs (list page and new articles), by source.",
            labels=["source"],
        )
        for source_id, values in per_source.items():
            buckets = [(_le(bound), values[FIRST_BUCKET + i]) for i, bound in enumerate(DURATION_BUCKETS)]
            buckets.append(("+Inf", values[TIMED]))
            histogram.add_metric([source_id], buckets, values[SUM_MS] / 1000)
        yield runs
        yield errors
        yield histogram


def _le(bound: float) -> str:
    return str(float(bound))


def _seconds(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def overdue_seconds(next_runs: Iterable[datetime | None], now: datetime | None = None) -> float:
    """Scheduler lag: how far the most overdue job is past its due time, 0 when every job is on time.

    APScheduler moves a job's next run time forward when the job starts (or is skipped because its previous run
    is still going), so a next run time in the past means the scheduler has not got round to it yet.
    """
    moment = now or datetime.now(UTC)
    due = [when for when in next_runs if when is not None]
    return max(0.0, (moment - min(due)).total_seconds()) if due else 0.0


def metrics_registry(collector: Collector) -> CollectorRegistry:
    """A private registry with ``collector`` (not the process-global one, so several apps can coexist)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def metrics_response(registry: CollectorRegistry) -> Response:
    """The registry in the Prometheus text format."""
    return Response(content=generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def metrics_router(collector: Collector) -> APIRouter:
    """``GET /metrics`` (no sign-in: scrapers). Include it with ``app.include_router(metrics_router(...))``."""
    registry = metrics_registry(collector)
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus scrape endpoint (a plain def: FastAPI runs it in its thread pool, off the event loop)."""
        return metrics_response(registry)

    return router


def harvest_metrics_router(
    repository: Repository,
    *,
    scheduler_lag: Callable[[], float | None] = lambda: None,
    sources: Callable[[], list[str]] = lambda: [],
) -> APIRouter:
    """Shorthand: ``metrics_router(HarvestCollector(repository, scheduler_lag, sources))``."""
    return metrics_router(HarvestCollector(repository, scheduler_lag, sources))


__all__ = [
    "HarvestCollector",
    "harvest_metrics_router",
    "metrics_registry",
    "metrics_response",
    "metrics_router",
    "overdue_seconds",
]
