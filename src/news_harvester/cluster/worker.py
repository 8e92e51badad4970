"""The worker side of the cluster: what runs a harvest job, and what keeps workers consistent with each other.

- One source is never harvested by two workers at once: procrastinate's job ``lock`` per source, plus a
  PostgreSQL session advisory lock per source held on its own connection for the whole job. The advisory lock
  dies with its connection, so a killed worker (or a lost machine, through TCP keepalives) frees it, while a
  worker that merely stalled (its job retried elsewhere after missed heartbeats) still holds it: the retried job
  then waits (``SourceBusy`` → retried in 5 s) instead of running beside it.
- A killed worker's job is retried by any live worker once its heartbeat is ``stalled_timeout`` old
  (:meth:`ClusterWorker.retry_stalled`, run by every worker every ``heartbeat_interval``). Its run, left
  ``running`` in ``fetch_runs``, is marked interrupted by the retried job under the source lock — instead of
  ``mark_interrupted_runs`` at start-up, which in a cluster would also hit the live runs of other workers.
- Cross-worker stories: the story index is in the database (news_harvester.store.story_index), so every worker
  sees every committed article. A run's transaction first takes PostgreSQL advisory locks on the LSH band and
  title keys of its new articles, in ascending order: two reprints harvested at the same moment by two workers
  share keys, so the second waits for the first to commit and then joins its story; runs without shared keys
  never wait for each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, delete, event, func, select, update

from news_harvester.clock import utc_now
from news_harvester.cluster.queue import HARVEST_TASK, HOUSEKEEPING_TASK, QUEUE, instance_name
from news_harvester.cluster.schema import SOURCE_LOCK_CLASS, harvest_periods, source_lock_key
from news_harvester.config import Settings, SourcesConfig, load_sources
from news_harvester.errors import ConfigError
from news_harvester.harvest.pipeline import Harvester
from news_harvester.sources.notify import Notifier, check_and_notify
from news_harvester.store.engine import normalize_database_url
from news_harvester.store.repository import Repository
from news_harvester.stories.classifier import ClassifierSource

if TYPE_CHECKING:
    from procrastinate import App, JobContext

log = logging.getLogger(__name__)

BUSY_RETRY_SECONDS = 5
KEEP_JOBS_HOURS = 7 * 24
"""Finished jobs are deleted from the queue after a week (``__prune__``, daily)."""
KEEP_PERIODS_DAYS = 90
"""``harvest_periods`` rows are kept this long (the record of what ran when)."""
USED_REFRESH = timedelta(seconds=60)


class SourceBusy(Exception):
    """The source's advisory lock is held: an earlier job of it is still running somewhere."""


# --------------------------------------------------------------------------- stories across workers


class ClusterRepository(Repository):
    """Repository of a worker: the story index is in the database, so workers need no cluster-wide story lock;
    a run's transaction locks only the band and title keys of its own articles (news_harvester.store.story_index).
    Counts the runs that stored new articles (logged at stop)."""

    def __init__(self, engine: Engine, window: timedelta) -> None:
        super().__init__(engine)
        self.window = window
        self.stores = 0

    def before_story_assignment(self, conn: Connection, now: datetime) -> None:
        self.stores += 1


class ClusterHarvester(Harvester):
    """The pipeline's Harvester as a worker runs it (one per worker process)."""


# --------------------------------------------------------------------------- per-source locks


class SourceLocks:
    """Session advisory locks, one connection each (no pool: closing the connection is the last resort)."""

    def __init__(self, database_url: str, size: int) -> None:
        self.engine = create_engine(normalize_database_url(database_url), pool_size=size, pool_pre_ping=True)
        event.listen(self.engine, "connect", _keepalives)

    @contextlib.contextmanager
    def hold(self, source_id: str) -> Iterator[bool]:
        key = (SOURCE_LOCK_CLASS, source_lock_key(source_id))
        conn = self.engine.connect()
        got = False
        try:
            got = bool(conn.execute(select(func.pg_try_advisory_lock(*key))).scalar())
            conn.commit()
            yield got
        finally:
            try:
                if got:
                    conn.execute(select(func.pg_advisory_unlock(*key)))
                    conn.commit()
            except Exception:  # the connection is broken (and with it the lock): never reuse it
                conn.invalidate()
                raise
            finally:
                conn.close()

    def dispose(self) -> None:
        self.engine.dispose()


def _keepalives(dbapi_connection: Any, _record: Any) -> None:
    """Server-side TCP keepalives: a peer machine that vanished without closing its socket (power loss,
    network partition) is noticed within ~25 s, and its session's advisory locks are released."""
    cursor = dbapi_connection.cursor()
    for name, value in (("tcp_keepalives_idle", 10), ("tcp_keepalives_interval", 5), ("tcp_keepalives_count", 3)):
        cursor.execute(f"SET {name} = {value}")
    cursor.close()
    dbapi_connection.commit()


# --------------------------------------------------------------------------- sources.yaml, as this worker sees it


@dataclass
class CurrentSources:
    """sources.yaml re-read when it changed; an invalid edit keeps the last valid configuration."""

    config: SourcesConfig
    mtime: int | None = field(default=None)

    def current(self) -> SourcesConfig:
        try:
            mtime = self.config.path.stat().st_mtime_ns
        except OSError:
            return self.config
        if mtime != self.mtime:
            self.mtime = mtime
            try:
                self.config = load_sources(self.config.path)
            except ConfigError as exc:
                log.error("sources.yaml edit rejected, keeping the last valid configuration:\n%s", exc)
        return self.config


# --------------------------------------------------------------------------- jobs


class ClusterWorker:
    """The jobs of one worker process and its periodic duties."""

    def __init__(
        self,
        settings: Settings,
        harvester: Harvester,
        repository: ClusterRepository,
        classifier: ClassifierSource,
        sources: SourcesConfig,
        notifiers: Sequence[Notifier],
        app: App,
    ) -> None:
        self.settings = settings
        self.harvester = harvester
        self.repository = repository
        self.classifier = classifier
        self.sources = CurrentSources(sources)
        self.notifiers = notifiers
        self.app = app
        self.name = instance_name()
        self.locks = SourceLocks(settings.resolved_database_url, settings.worker_concurrency)
        self.worker_id: int | None = None
        self._used_at = utc_now()

    def register(self) -> None:
        from procrastinate import RetryStrategy

        busy = RetryStrategy(max_attempts=120, wait=BUSY_RETRY_SECONDS, retry_exceptions={SourceBusy})
        self.app.task(name=HARVEST_TASK, queue=QUEUE, pass_context=True, retry=busy)(self.harvest_job)
        self.app.task(name=HOUSEKEEPING_TASK, queue=QUEUE, pass_context=True)(self.housekeeping_job)

    async def harvest_job(self, context: JobContext, source_id: str, period: str | None) -> str:
        job_id = context.job.id
        when = datetime.fromisoformat(period) if period else None
        spec = self.sources.current().get(source_id)
        extra = {"source_id": source_id, "stage": "queue"}
        if spec is None or not spec.enabled:
            why = "removed from" if spec is None else "disabled in"
            log.warning(
                "job %s for source %s dropped: the source was %s sources.yaml after the job was queued",
                job_id,
                source_id,
                why,
                extra=extra,
            )
            self._period(source_id, when, status="dropped", worker=self.name, finished_at=utc_now(), note=why)
            return "dropped"
        with self.locks.hold(source_id) as held:
            if not held:
                log.warning(
                    "job %s: source %s is still being harvested by another worker; retrying in %d s",
                    job_id,
                    source_id,
                    BUSY_RETRY_SECONDS,
                    extra=extra,
                )
                raise SourceBusy(source_id)
            now = utc_now()
            stale = self._interrupt_stale_runs(source_id, now)
            if stale:
                log.warning(
                    "%d run(s) of %s left running by a dead worker marked interrupted", stale, source_id, extra=extra
                )
            self._period(
                source_id,
                when,
                status="running",
                worker=self.name,
                started_at=now,
                job_id=job_id,
                attempts=harvest_periods.c.attempts + 1,
            )
            try:
                # a job without a period is on demand (the web app's 立即抓取): it runs whatever the backoff
                summary = await self.harvester.harvest(spec, force=when is None)
            except asyncio.CancelledError:
                self._period(source_id, when, status="interrupted", finished_at=utc_now(), note="worker stopped")
                raise
            self._period(
                source_id,
                when,
                status="skipped" if summary.skipped else "done",
                outcome=str(summary.outcome),
                finished_at=utc_now(),
            )
            return str(summary.outcome)

    async def housekeeping_job(self, context: JobContext, name: str, period: str) -> str:
        when = datetime.fromisoformat(period)
        self._period(name, when, status="running", worker=self.name, started_at=utc_now(), job_id=context.job.id)
        if name == "__rescore__":
            now = utc_now()
            service = self.harvester.stories
            await asyncio.to_thread(service.refresh_used, self.repository, now)
            count = await asyncio.to_thread(self.repository.refresh_window, service, now - service.window, now)
            log.info("re-scored %d stories of the window", count, extra={"stage": "rank"})
        elif name == "__alarms__":
            await check_and_notify(self.repository, self.sources.current(), self.notifiers, utc_now())
        elif name == "__prune__":
            await self.app.job_manager.delete_old_jobs(
                nb_hours=KEEP_JOBS_HOURS, include_failed=True, include_cancelled=True, include_aborted=True
            )
            with self.repository.engine.begin() as conn:
                pruned = conn.execute(
                    delete(harvest_periods).where(
                        harvest_periods.c.period_start < utc_now() - timedelta(days=KEEP_PERIODS_DAYS)
                    )
                ).rowcount
            log.info(
                "pruned finished jobs older than %d h and %d period records older than %d days",
                KEEP_JOBS_HOURS,
                pruned or 0,
                KEEP_PERIODS_DAYS,
                extra={"stage": "queue"},
            )
        else:
            log.warning("unknown housekeeping job %r dropped", name, extra={"stage": "queue"})
        self._period(name, when, status="done", finished_at=utc_now())
        return "done"

    def _period(self, key: str, period: datetime | None, **values: Any) -> None:
        if period is None:  # an on-demand job (web app): no period row
            return
        with self.repository.engine.begin() as conn:
            conn.execute(
                update(harvest_periods)
                .where(harvest_periods.c.source_id == key, harvest_periods.c.period_start == period)
                .values(**values)
            )

    def _interrupt_stale_runs(self, source_id: str, now: datetime) -> int:
        """Runs of ``source_id`` still 'running': with the source lock held, their worker is dead."""
        return self.repository.interrupt_source_runs(
            source_id, now, "the worker running it stopped (killed or lost) before this run finished"
        )

    # ------------------------------------------------------------------ periodic duties

    async def retry_stalled(self) -> int:
        """Put the jobs of workers without a heartbeat for ``stalled_timeout`` back in the queue."""
        from procrastinate import exceptions

        manager = self.app.job_manager
        retried = 0
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=self.settings.stalled_timeout):
            if job.id is None or (job.worker_id is not None and job.worker_id == self.worker_id):
                continue
            for _attempt in range(3):
                try:
                    await manager.retry_job(job)
                except exceptions.UniqueViolation:
                    # a later job of the same source waits in the queue (queueing lock): the retried job takes
                    # its place and covers its period
                    await self._cancel_waiting(job.queueing_lock, job.id)
                    continue
                except exceptions.ConnectorException:  # another worker retried it first
                    break
                retried += 1
                log.warning(
                    "job %d (%s %s) was running on a worker without heartbeat for %g s: retried",
                    job.id,
                    job.task_name,
                    job.task_kwargs.get("source_id") or job.task_kwargs.get("name"),
                    self.settings.stalled_timeout,
                    extra={"source_id": job.task_kwargs.get("source_id"), "stage": "queue"},
                )
                break
        return retried

    async def _cancel_waiting(self, queueing_lock: str | None, covered_by: int) -> None:
        if queueing_lock is None:
            return
        manager = self.app.job_manager
        for waiting in await manager.list_jobs_async(queueing_lock=queueing_lock, status="todo"):
            if waiting.id is not None and await manager.cancel_job_by_id_async(waiting.id):
                with self.repository.engine.begin() as conn:
                    conn.execute(
                        update(harvest_periods)
                        .where(harvest_periods.c.job_id == waiting.id)
                        .values(status="coalesced", note=f"covered by retried job {covered_by}")
                    )

    async def duties(self, stop: asyncio.Event) -> None:
        """Stalled-job retry every ``heartbeat_interval``; topics.yaml/model reload every ``reload_interval``;
        the used stories (issues published from a web instance) every minute."""
        tick = min(self.settings.heartbeat_interval, self.settings.reload_interval)
        last_reload = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=tick)
            if stop.is_set():
                return
            try:
                await self.retry_stalled()
                if loop.time() - last_reload >= self.settings.reload_interval:
                    last_reload = loop.time()
                    self.sources.current()
                    enricher = await asyncio.to_thread(self.classifier.check)
                    if enricher is not None:
                        self.harvester.stories.enricher = enricher
                        log.info("stories are classified with the new taxonomy/model from now on")
                now = utc_now()
                if now - self._used_at >= USED_REFRESH:
                    self._used_at = now
                    await asyncio.to_thread(self.harvester.stories.refresh_used, self.repository, now)
            except Exception as exc:  # the database may be away for a while: say so, keep trying
                log.warning("worker duties failed (%s: %s); trying again in %g s", type(exc).__name__, exc, tick)
