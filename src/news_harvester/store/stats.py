"""Harvest statistics read at scrape time for the metrics endpoint (news_harvester.ops.metrics formats them).

Scrapes must stay cheap on a large database (every 15 s, 50,000 stories, a year of runs):

* Run counters and the fetch-duration histogram are counted **incrementally**. ``fetch_runs`` only grows and a
  run's row changes only while it is ``running``, so rows up to a watermark are aggregated once and cached;
  each read aggregates only the rows past it (a primary-key range). The watermark never passes a running
  row, nor rows started in the last :data:`SETTLE_SECONDS` (on PostgreSQL a lower id may commit after a higher
  one); rows beyond it are counted afresh on every read. The first read of a process scans the whole table
  once (about a second for 400,000 runs).
* Counts of articles, stories and candidates are single ``GROUP BY`` aggregates over indexed columns;
  per-source state comes from ``source_state`` (one row per source).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, case, func, select
from sqlalchemy.exc import SQLAlchemyError

from news_harvester.errors import StorageError
from news_harvester.models import Outcome
from news_harvester.store.schema import STATES, articles, candidates, fetch_runs, source_state, stories

DURATION_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
"""Upper bounds (seconds) of the fetch-duration histogram; a run covers a list page and its new articles."""
SETTLE_SECONDS = 300.0
"""Runs started this recently are never cached (see the module docstring)."""

RunKey = tuple[str, str, str]
"""(source id, outcome, error code or "")."""
# per key: runs, runs with a duration, sum of durations (ms), then one cumulative count per bucket
RUNS, TIMED, SUM_MS, FIRST_BUCKET = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class SourceStateRow:
    consecutive_failures: int
    last_run_at: datetime | None
    last_success_at: datetime | None


@dataclass(frozen=True, slots=True)
class HarvestStats:
    """One consistent-enough read of what the metrics report (each part is one query)."""

    run_totals: dict[RunKey, list[float]]
    articles_by_source: list[tuple[str, int]]
    stories: int
    queue_by_state: dict[str, int]
    source_state: dict[str, SourceStateRow]


class StatsReader:
    """Reads :class:`HarvestStats`, keeping the settled run totals of this process between reads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self.watermark = 0
        """Runs up to this id are aggregated in the cache."""
        self._settled: dict[RunKey, list[float]] = {}

    def read(self) -> HarvestStats:
        """Raises StorageError when the database cannot be read."""
        try:
            with self.engine.connect() as conn:
                return HarvestStats(
                    run_totals=self._run_totals(conn),
                    articles_by_source=[
                        (str(source_id), int(count))
                        for source_id, count in conn.execute(
                            select(articles.c.source_id, func.count())
                            .group_by(articles.c.source_id)
                            .order_by(articles.c.source_id)
                        )
                    ],
                    stories=int(conn.execute(select(func.count()).select_from(stories)).scalar_one()),
                    queue_by_state=self._queue(conn),
                    source_state={
                        row.source_id: SourceStateRow(
                            int(row.consecutive_failures or 0), row.last_run_at, row.last_success_at
                        )
                        for row in conn.execute(
                            select(
                                source_state.c.source_id,
                                source_state.c.consecutive_failures,
                                source_state.c.last_run_at,
                                source_state.c.last_success_at,
                            )
                        )
                    },
                )
        except SQLAlchemyError as exc:
            raise StorageError(f"statistics could not be read: {exc}") from exc

    @staticmethod
    def _queue(conn: Connection) -> dict[str, int]:
        by_state = dict.fromkeys(STATES, 0)
        for state, count in conn.execute(
            select(candidates.c.state, func.count())
            .where(candidates.c.story_id.is_not(None))
            .group_by(candidates.c.state)
        ):
            by_state[state] = int(count)
        return by_state

    def _run_totals(self, conn: Connection) -> dict[RunKey, list[float]]:
        """All finished runs, aggregated by (source, outcome, code): the cache plus the unsettled tail."""
        with self._lock:
            top = conn.execute(select(func.max(fetch_runs.c.id))).scalar()
            if top is None or top < self.watermark:
                # an empty or replaced database: start over
                self.watermark, self._settled = 0, {}
            settled = self._settled_until(conn, self.watermark)
            if settled > self.watermark:
                merge_totals(self._settled, self._aggregate(conn, self.watermark, settled))
                self.watermark = settled
            totals = {key: list(values) for key, values in self._settled.items()}
            watermark = self.watermark
        merge_totals(totals, self._aggregate(conn, watermark, None))
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
    def _aggregate(conn: Connection, after: int, upto: int | None) -> dict[RunKey, list[float]]:
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


def merge_totals(into: dict[RunKey, list[float]], more: dict[RunKey, list[float]]) -> None:
    for key, values in more.items():
        merge_values(into.setdefault(key, [0.0] * len(values)), values)


def merge_values(into: list[float], more: Sequence[float]) -> None:
    for i, value in enumerate(more):
        into[i] += value
