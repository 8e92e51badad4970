"""Prometheus metrics, read from the database at scrape time (``GET /metrics``).

Everything comes from the database rather than from in-process counters, so the numbers are the same whichever
process serves them (``run``, or ``run --web-only`` beside ``run --no-web``) and survive restarts.

Scrapes must stay cheap on a large database (every 15 s, 50,000 stories, a year of runs):

* Run counters and the fetch-duration histogram are counted **incrementally**. ``fetch_runs`` only grows and a
  run's row changes only while it is ``running``, so rows up to a watermark are aggregated once and cached;
  each scrape aggregates only the rows past it (a primary-key range). The watermark never passes a running
  row, nor rows started in the last :data:`SETTLE_SECONDS` (on PostgreSQL a lower id may commit after a higher
  one); rows beyond it are counted afresh on every scrape. The first scrape of a process reads the whole table
  once (about a second for 400,000 runs).
* Counts of articles, stories and candidates are single ``GROUP BY`` aggregates over indexed columns;
  per-source state comes from ``source_state`` (one row per source).

The histogram and the counters are all-time totals, so they only grow, as Prometheus expects of counters
and histograms; durations of a recent window are ``increase(...[24h])`` / ``rate(...)`` in PromQL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection, case, func, select
from sqlalchemy.exc import SQLAlchemyError

from news_harvester.models import Outcome
from news_harvester.store.review import STATES
from news_harvester.store.schema import articles, candidates, fetch_runs, source_state, stories

if TYPE_CHECKING:
    from news_harvester.store.repository import Repository

log = logging.getLogger(__name__)

PREFIX = "news_harvester"
DURATION_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
"""Upper bounds (seconds) of the fetch-duration histogram; a run covers a list page and its new articles."""
SETTLE_SECONDS = 300.0
"""Runs started this recently are never cached (see the module docstring)."""

_Key = tuple[str, str, str]
"""(source id, outcome, error code or "")."""
# per key: runs, runs with a duration, sum of durations (ms), then one cumulative count per bucket
_RUNS, _TIMED, _SUM_MS, _FIRST_BUCKET = 0, 1, 2, 3


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
        self._lock = threading.Lock()
        self._watermark = 0
        self._settled: dict[_Key, list[float]] = {}

    # ------------------------------------------------------------------ Collector

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(f"{PREFIX}_database_up", "1 when the metrics could be read from the database.")
        try:
            with self.repository.engine.connect() as conn:
                families = list(self._from_database(conn))
        except SQLAlchemyError as exc:
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

    def _from_database(self, conn: Connection) -> Iterator[Metric]:
        yield from self._run_families(self._run_totals(conn))

        articles_total = CounterMetricFamily(f"{PREFIX}_articles", "Articles stored, by source.", labels=["source"])
        for source_id, count in conn.execute(
            select(articles.c.source_id, func.count()).group_by(articles.c.source_id).order_by(articles.c.source_id)
        ):
            articles_total.add_metric([source_id], float(count))
        yield articles_total

        stories_total = CounterMetricFamily(f"{PREFIX}_stories", "Stories (clusters of articles about one event).")
        stories_total.add_metric([], float(conn.execute(select(func.count()).select_from(stories)).scalar_one()))
        yield stories_total

        queue = GaugeMetricFamily(
            f"{PREFIX}_queue_stories", "Stories in the review queue, by candidate state.", labels=["state"]
        )
        by_state = dict.fromkeys(STATES, 0)
        for state, count in conn.execute(
            select(candidates.c.state, func.count())
            .where(candidates.c.story_id.is_not(None))
            .group_by(candidates.c.state)
        ):
            by_state[state] = count
        for state, count in by_state.items():
            queue.add_metric([state], float(count))
        yield queue

        yield from self._source_families(conn)

    # ------------------------------------------------------------------ per-source state

    def _source_families(self, conn: Connection) -> Iterator[Metric]:
        rows = {
            row.source_id: row
            for row in conn.execute(
                select(
                    source_state.c.source_id,
                    source_state.c.consecutive_failures,
                    source_state.c.last_run_at,
                    source_state.c.last_success_at,
                )
            )
        }
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

    # ------------------------------------------------------------------ runs (incremental)

    def _run_totals(self, conn: Connection) -> dict[_Key, list[float]]:
        """All finished runs, aggregated by (source, outcome, code): the cache plus the unsettled tail."""
        with self._lock:
            top = conn.execute(select(func.max(fetch_runs.c.id))).scalar()
            if top is None or top < self._watermark:
                # an empty or replaced database: start over
                self._watermark, self._settled = 0, {}
            settled = self._settled_until(conn, self._watermark)
            if settled > self._watermark:
                _merge(self._settled, self._aggregate(conn, self._watermark, settled))
                self._watermark = settled
            totals = {key: list(values) for key, values in self._settled.items()}
            watermark = self._watermark
        _merge(totals, self._aggregate(conn, watermark, None))
        return totals

    @staticmethod
    def _settled_until(conn: Connection, after: int) -> int:
        """Highest id up to which every run is finished and old enough never to change or appear again."""
        first_running = conn.execute(
            select(func.min(fetch_runs.c.id)).where(fetch_runs.c.id > after, fetch_runs.c.outcome == Outcome.RUNNING)
        ).scalar()
        cutoff = datetime.now(UTC) - timedelta(seconds=SETTLE_SECONDS)
        query = select(func.max(fetch_runs.c.id)).where(fetch_runs.c.id > after, fetch_runs.c.started_at < cutoff)
        if first_running is not None:
            query = query.where(fetch_runs.c.id < first_running)
        found = conn.execute(query).scalar()
        return after if found is None else int(found)

    @staticmethod
    def _aggregate(conn: Connection, after: int, upto: int | None) -> dict[_Key, list[float]]:
        duration = fetch_runs.c.duration_ms
        query = select(
            fetch_runs.c.source_id,
            fetch_runs.c.outcome,
            fetch_runs.c.code,
            func.count(),
            func.count(duration),
            func.coalesce(func.sum(duration), 0),
            *(func.sum(case((duration <= round(bound * 1000), 1), else_=0)) for bound in DURATION_BUCKETS),
        ).where(fetch_runs.c.id > after, fetch_runs.c.outcome != Outcome.RUNNING)
        if upto is not None:
            query = query.where(fetch_runs.c.id <= upto)
        query = query.group_by(fetch_runs.c.source_id, fetch_runs.c.outcome, fetch_runs.c.code)
        return {(row[0], row[1], row[2] or ""): [float(v or 0) for v in row[3:]] for row in conn.execute(query)}

    @staticmethod
    def _run_families(totals: dict[_Key, list[float]]) -> Iterator[Metric]:
        runs = CounterMetricFamily(
            f"{PREFIX}_runs", "Finished source runs, by source and outcome.", labels=["source", "outcome"]
        )
        errors = CounterMetricFamily(
            f"{PREFIX}_fetch_errors", "Failed source runs, by source and error code.", labels=["source", "code"]
        )
        by_outcome: dict[tuple[str, str], float] = {}
        per_source: dict[str, list[float]] = {}
        for (source_id, outcome, code), values in sorted(totals.items()):
            by_outcome[source_id, outcome] = by_outcome.get((source_id, outcome), 0.0) + values[_RUNS]
            if outcome == Outcome.ERROR:
                errors.add_metric([source_id, code or "unknown"], values[_RUNS])
            _merge_values(per_source.setdefault(source_id, [0.0] * len(values)), values)
        for (source_id, outcome), count in by_outcome.items():
            runs.add_metric([source_id, outcome], count)
        histogram = HistogramMetricFamily(
            f"{PREFIX}_fetch_duration_seconds",
            "Duration of finished source runs (list page and new articles), by source.",
            labels=["source"],
        )
        for source_id, values in per_source.items():
            buckets = [(_le(bound), values[_FIRST_BUCKET + i]) for i, bound in enumerate(DURATION_BUCKETS)]
            buckets.append(("+Inf", values[_TIMED]))
            histogram.add_metric([source_id], buckets, values[_SUM_MS] / 1000)
        yield runs
        yield errors
        yield histogram


def _merge(into: dict[_Key, list[float]], more: dict[_Key, list[float]]) -> None:
    for key, values in more.items():
        _merge_values(into.setdefault(key, [0.0] * len(values)), values)


def _merge_values(into: list[float], more: Sequence[float]) -> None:
    for i, value in enumerate(more):
        into[i] += value


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
