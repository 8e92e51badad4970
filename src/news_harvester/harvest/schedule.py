"""APScheduler jobs, one per enabled source; with harvest.triggers, the only importer of apscheduler.

Jobs use ``max_instances=1`` and ``coalesce=True`` (a source never runs twice at once, and a
backlog of missed runs collapses into one), jitter spreads sources sharing a schedule, and a
failing source's backoff is enforced by the pipeline's due check, so the job itself is never
removed; a manual run (``run_now``, the web app's 立即抓取) is forced past that check and runs at
once. ``sources.yaml`` is re-read when its modification time changes (or on SIGHUP via ``reload``); an
invalid edit is logged and the last valid configuration stays in force.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from news_harvester.config import SourcesConfig, SourceSpec, load_sources
from news_harvester.errors import ConfigError
from news_harvester.harvest.triggers import cron_trigger, make_trigger, next_fire_time

__all__ = ["HarvestCall", "SourceScheduler", "cron_trigger", "make_trigger", "next_fire_time"]

log = logging.getLogger(__name__)

RELOAD_JOB_ID = "__reload_sources__"


class HarvestCall(Protocol):
    """What the scheduler runs per source: ``Harvester.harvest`` (a cluster's scheduler: queueing a job).
    ``force``: a manual run, not held back by the source's backoff."""

    def __call__(self, spec: SourceSpec, *, force: bool = ...) -> Awaitable[object]: ...


class SourceScheduler:
    def __init__(
        self,
        harvest: HarvestCall,
        sources: SourcesConfig,
        *,
        reload_interval: float = 5.0,
        last_runs: dict[str, datetime | None] | None = None,
        start_stagger: float = 30.0,
        trigger: Callable[[SourceSpec], BaseTrigger] = make_trigger,
        staggered_start: bool = True,
    ) -> None:
        """``trigger`` makes each source's trigger; ``staggered_start=False`` lets the trigger alone decide the
        first run (cluster schedulers: epoch-aligned periods, identical in every instance)."""
        self._harvest = harvest
        self._trigger = trigger
        self._staggered_start = staggered_start
        self.config = sources
        self._mtime = _mtime(sources.path)
        self._reload_interval = reload_interval
        self._start_stagger = start_stagger
        self._last_runs = last_runs or {}
        self._running: set[asyncio.Task[object]] = set()
        self._stopping = False
        self._locks: dict[str, asyncio.Lock] = {}
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 600},
        )

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        self._scheduler.start()
        self._apply(self.config, first=True)
        self._scheduler.add_job(
            self._check_file, IntervalTrigger(seconds=self._reload_interval), id=RELOAD_JOB_ID, replace_existing=True
        )

    def add_periodic(
        self, job_id: str, func: Callable[[], Awaitable[object]], seconds: float, *, aligned: bool = False
    ) -> None:
        """A housekeeping job (re-scoring, topics.yaml reload) beside the source jobs; ids start with ``__``.
        ``aligned``: fire at multiples of ``seconds`` since the Unix epoch (the same instants in every process)."""
        if not job_id.startswith("__"):
            raise ValueError("housekeeping job ids start with '__' so they never collide with a source id")
        start = datetime(1970, 1, 1, tzinfo=UTC) if aligned else None

        async def job() -> None:
            # APScheduler awaits only functions that are coroutine functions: a lambda returning a coroutine ran
            # in a worker thread and its coroutine was never awaited (the alarm checks never ran)
            await func()

        self._scheduler.add_job(
            job, IntervalTrigger(seconds=seconds, start_date=start, timezone=UTC), id=job_id, replace_existing=True
        )

    def job_ids(self) -> set[str]:
        """Ids of the scheduled sources."""
        return {job.id for job in self._scheduler.get_jobs() if not job.id.startswith("__")}

    def next_run(self, source_id: str) -> datetime | None:
        job = self._scheduler.get_job(source_id)
        return job.next_run_time if job else None

    def _apply(self, config: SourcesConfig, *, first: bool = False) -> None:
        """Make the job set match ``config``: add new sources, drop removed or disabled ones,
        reschedule those whose definition changed."""
        old = {s.id: s for s in self.config.enabled}
        self.config = config
        wanted = {s.id: s for s in config.enabled}
        for source_id in self.job_ids() - set(wanted):
            self._scheduler.remove_job(source_id)
            log.info("source %s unscheduled", source_id, extra={"source_id": source_id, "stage": "schedule"})
        now = datetime.now(UTC)
        for source_id, spec in wanted.items():
            if not first and source_id in self.job_ids() and old.get(source_id) == spec:
                continue
            start_at = {"next_run_time": self._first_run(spec, now)} if self._staggered_start else {}
            self._scheduler.add_job(
                self._run,
                self._trigger(spec),
                args=[source_id],
                id=source_id,
                name=spec.name,
                replace_existing=True,
                **start_at,
            )
            log.info(
                "source %s scheduled (%s)",
                source_id,
                spec.schedule,
                extra={"source_id": source_id, "stage": "schedule"},
            )

    def _first_run(self, spec: SourceSpec, now: datetime) -> datetime | None:
        """Staggered start so a restart does not hit every site at once, and does not re-run a
        source that ran moments ago; cron sources wait for their trigger."""
        if spec.interval_seconds is None:
            return None
        stagger = timedelta(seconds=random.uniform(0, self._start_stagger))
        due = next_fire_time(spec, self._last_runs.get(spec.id), now) or now
        return max(due, now) + stagger

    async def _run(self, source_id: str) -> None:
        spec = self.config.get(source_id)
        if spec is None or not spec.enabled:
            return
        await self._run_once(spec, manual=False)

    async def run_now(self, spec: SourceSpec) -> object:
        """A manual run (立即抓取): harvest ``spec`` at once, whatever its backoff after failures (the harvest is
        forced, so it runs and is recorded like any run), unless it is already running (logged, then None)."""
        log.info("source %s: manual run requested", spec.id, extra={"source_id": spec.id, "stage": "schedule"})
        return await self._run_once(spec, manual=True)

    async def _run_once(self, spec: SourceSpec, *, manual: bool) -> object:
        """Harvest ``spec`` unless it is already running. A scheduled run leaves the backoff check to the
        harvest (a failing source waits); a manual one is forced past it."""
        lock = self._locks.setdefault(spec.id, asyncio.Lock())
        if lock.locked():
            log.info("source %s already running; skipped", spec.id, extra={"source_id": spec.id})
            return None
        async with lock:
            harvest = self._harvest(spec, force=True) if manual else self._harvest(spec)
            task: asyncio.Task[object] = asyncio.ensure_future(harvest)
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            try:
                # shielded: APScheduler cancels its running jobs when it stops, and that must not cut the harvest
                # short; ``shutdown`` gives it a moment first, then cancels it (it records itself as interrupted)
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                if self._stopping:
                    return None  # a stop, not a failure: no ERROR traceback from APScheduler at every deploy
                raise

    async def _check_file(self) -> None:
        mtime = _mtime(self.config.path)
        if mtime != self._mtime:
            self._mtime = mtime
            self.reload()

    def reload(self) -> bool:
        """Re-read sources.yaml; on error keep the running configuration and say why."""
        try:
            config = load_sources(self.config.path)
        except ConfigError as exc:
            log.error(
                "sources.yaml edit rejected, keeping the last valid configuration:\n%s",
                exc,
                extra={"stage": "config", "code": exc.code},
            )
            return False
        self._apply(config)
        log.info(
            "sources reloaded: %d enabled of %d", len(config.enabled), len(config.sources), extra={"stage": "config"}
        )
        return True

    async def shutdown(self, timeout: float = 8.0) -> None:
        """Stop firing jobs, give running harvests a moment, then cancel them; each cancelled
        run records itself as interrupted and its partial result is rolled back."""
        self._stopping = True
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler applies the shutdown on the next loop turn
        if not self._running:
            return
        _done, pending = await asyncio.wait(set(self._running), timeout=min(2.0, timeout))
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=max(timeout - 2.0, 0.5))


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime_ns / 1e9
    except OSError:
        return None
