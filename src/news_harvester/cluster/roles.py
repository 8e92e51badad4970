"""``news-harvester run --role web|scheduler|worker``: the cluster's processes, and the checks that refuse a
misconfigured one before it starts.

- ``scheduler``: APScheduler stays the clock. Every scheduler instance fires every source at its period starts
  (news_harvester.cluster.periods); the first instance to claim the (source, period) queues the one job.
  Cluster-wide housekeeping (re-scoring, health alarms) is queued the same way.
- ``worker``: runs queued jobs, ``worker_concurrency`` at a time per process; scale by processes and machines.
- ``web``: the review app; its 立即抓取 button queues a job.

Every role reaches the database with backoff (saying so in the log) instead of dying when it is not up yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from news_harvester.config import Settings, SourcesConfig, load_sources
from news_harvester.errors import ConfigError, StorageError

if TYPE_CHECKING:
    from procrastinate import App

    from news_harvester.cluster.worker import ClusterHarvester, ClusterRepository, ClusterWorker
    from news_harvester.harvest.fetch import Fetcher
    from news_harvester.stories.classifier import ClassifierSource

log = logging.getLogger(__name__)
ROLES = ("all", "web", "scheduler", "worker")
CLUSTER_ROLES = ("web", "scheduler", "worker")
SHUTDOWN_BUDGET = 8.0
PRUNE_INTERVAL = 86400.0
T = TypeVar("T")


def check_role(settings: Settings, *, no_web: bool = False, web_only: bool = False, bind: str | None = None) -> None:
    """Refuse role combinations that cannot work, with what to do instead (ConfigError: exit 2)."""
    role = settings.role
    if role == "all":
        return
    if no_web or web_only:
        flag = "--no-web" if no_web else "--web-only"
        raise ConfigError(
            f"{flag} belongs to --role all (one machine); with --role {role} the role decides what runs\n"
            "  hint: a cluster runs `run --role web`, `run --role scheduler` and `run --role worker` processes"
        )
    if role in ("scheduler", "worker") and bind is not None:
        raise ConfigError(
            f"--bind applies to --role all and --role web; a {role} serves no web endpoint\n"
            f"  hint: drop --bind, or run --role web for the review app"
        )
    if role == "web" and not settings.web:
        raise ConfigError(
            "--role web serves the review app, but the setting web is false (NEWS_HARVESTER_WEB)\n"
            "  hint: set web = true, or run another role"
        )
    url = settings.resolved_database_url
    if not url.startswith(("postgresql", "postgres:")):
        raise ConfigError(
            f"--role {role} is a cluster role and needs PostgreSQL (the shared database that also holds the "
            f"job queue), but database_url is {url.split('://')[0]}\n"
            "  hint: set NEWS_HARVESTER_DATABASE_URL=postgresql://USER@HOST/DB on every instance, "
            "or run --role all (one machine, SQLite)"
        )
    try:
        import procrastinate  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"--role {role} needs the task queue procrastinate, which is not installed\n"
            "  hint: pip install 'news_harvester[postgres]'"
        ) from None


async def run_role(settings: Settings) -> None:
    runner = {"web": run_web, "scheduler": run_scheduler, "worker": run_worker}[settings.role]
    await runner(settings)


# --------------------------------------------------------------------------- shared plumbing


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    return stop


async def with_backoff(settings: Settings, what: str, attempt: Callable[[], T], stop: asyncio.Event) -> T | None:
    """``attempt()`` until it stops raising StorageError (database unreachable), waiting 1, 2, 4 … s up to
    ``database_retry_max`` and logging each failure. None when stopped meanwhile."""
    delay = 1.0
    while True:
        try:
            return await asyncio.to_thread(attempt)
        except StorageError as exc:
            if not _unreachable(exc):
                raise
            first_line = str(exc.message).splitlines()[0][:300]
            log.warning(
                "%s cannot reach the database (%s); retrying in %.0f s",
                what,
                first_line,
                delay,
                extra={"stage": "startup", "code": exc.code},
            )
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        if stop.is_set():
            return None
        delay = min(delay * 2, settings.database_retry_max)


def _unreachable(exc: BaseException) -> bool:
    """The database could not be reached (worth waiting for), as opposed to an error that waiting won't fix."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OperationalError | InterfaceError):
            return True
        seen = seen.__cause__
    return False


def _migrate(settings: Settings) -> Callable[[], bool]:
    from news_harvester.cluster.schema import apply_cluster_schema
    from news_harvester.store.engine import make_engine, upgrade

    def attempt() -> bool:
        engine = make_engine(settings.resolved_database_url)
        try:
            upgrade(engine, also=apply_cluster_schema)
        finally:
            engine.dispose()
        return True

    return attempt


async def _open_app(settings: Settings, pool_size: int, stop: asyncio.Event, what: str) -> App | None:
    from news_harvester.cluster.queue import make_app

    delay = 1.0
    while not stop.is_set():
        app = make_app(settings, pool_size=pool_size)
        try:
            await asyncio.wait_for(app.open_async(), timeout=15)
            return app
        except Exception as exc:
            with contextlib.suppress(Exception):
                await app.close_async()
            log.warning("%s cannot reach the job queue (%s); retrying in %.0f s", what, exc, delay)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        delay = min(delay * 2, settings.database_retry_max)
    return None


# --------------------------------------------------------------------------- web


async def run_web(settings: Settings) -> None:
    from news_harvester.clock import utc_now
    from news_harvester.cluster.queue import Enqueuer
    from news_harvester.cluster.schema import apply_cluster_schema
    from news_harvester.daemon import run_daemon

    load_sources(settings.sources)  # an invalid file stops the instance before anything waits
    stop = _stop_event()
    if await with_backoff(settings, "web instance", _migrate(settings), stop) is None:
        return
    app = await _open_app(settings, 2, stop, "web instance")
    if app is None:
        return
    enqueuer = Enqueuer(app)

    async def queue(source_id: str) -> object:
        return await enqueuer.harvest(source_id, None, utc_now())

    asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)  # run_daemon installs its own
    asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)
    try:
        await run_daemon(settings, harvest=False, web=True, queue=queue, also_migrate=apply_cluster_schema)
    finally:
        await app.close_async()


# --------------------------------------------------------------------------- scheduler


async def run_scheduler(settings: Settings) -> None:
    from news_harvester.clock import utc_now
    from news_harvester.cluster.periods import aligned_period, cluster_trigger, period_of
    from news_harvester.cluster.queue import Enqueuer
    from news_harvester.config import SourceSpec
    from news_harvester.harvest.schedule import SourceScheduler

    sources = load_sources(settings.sources)
    stop = _stop_event()
    if await with_backoff(settings, "scheduler", _migrate(settings), stop) is None:
        return
    app = await _open_app(settings, 2, stop, "scheduler")
    if app is None:
        return
    enqueuer = Enqueuer(app)

    async def guarded(what: str, job: Awaitable[object]) -> None:
        try:
            await job
        except Exception as exc:
            log.warning(
                "cannot queue %s (%s: %s); the next tick tries again",
                what,
                type(exc).__name__,
                str(exc).splitlines()[0][:300] if str(exc) else "",
                extra={"stage": "schedule"},
            )

    async def tick(spec: SourceSpec, *, force: bool = False) -> None:
        now = utc_now()  # forced (a manual run): on demand, no period to claim
        await guarded(spec.id, enqueuer.harvest(spec.id, None if force else period_of(spec, now), now))

    def housekeeping(name: str, seconds: float) -> Callable[[], Awaitable[None]]:
        async def queue_it() -> None:
            now = utc_now()
            await guarded(name, enqueuer.housekeeping(name, aligned_period(seconds, now), now))

        return queue_it

    scheduler = SourceScheduler(
        tick, sources, reload_interval=settings.reload_interval, trigger=cluster_trigger, staggered_start=False
    )
    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, scheduler.reload)
    scheduler.start()
    scheduler.add_periodic(
        "__rescore__", housekeeping("__rescore__", settings.rescore_interval), settings.rescore_interval, aligned=True
    )
    scheduler.add_periodic(
        "__alarms__",
        housekeeping("__alarms__", settings.alarm_check_interval),
        settings.alarm_check_interval,
        aligned=True,
    )
    scheduler.add_periodic("__prune__", housekeeping("__prune__", PRUNE_INTERVAL), PRUNE_INTERVAL, aligned=True)
    log.info("news-harvester scheduler started: %d sources enabled, jobs queued in PostgreSQL", len(sources.enabled))
    await stop.wait()
    log.info("stopping", extra={"stage": "shutdown"})
    await scheduler.shutdown(timeout=2)
    await app.close_async()
    log.info("stopped cleanly", extra={"stage": "shutdown"})


# --------------------------------------------------------------------------- worker


async def run_worker(settings: Settings) -> None:
    from news_harvester.cluster.worker import ClusterWorker
    from news_harvester.harvest.fetch import Fetcher
    from news_harvester.sources.notify import notifiers_from_settings
    from news_harvester.wiring import fetch_policy

    sources = load_sources(settings.sources)
    notifiers = notifiers_from_settings(settings)
    stop = _stop_event()
    if await with_backoff(settings, "worker", _migrate(settings), stop) is None:
        return
    fetcher = Fetcher(fetch_policy(settings))
    built = await with_backoff(settings, "worker", _wrap_storage(_build_worker(settings, sources, fetcher)), stop)
    if built is None:
        await fetcher.aclose()
        return
    repository, classifier, harvester = built
    app = await _open_app(settings, settings.worker_concurrency + 4, stop, "worker")
    if app is None:
        await fetcher.aclose()
        return
    worker = ClusterWorker(settings, harvester, repository, classifier, sources, notifiers, app)
    worker.register()
    duties = asyncio.create_task(worker.duties(stop))
    log.info(
        "news-harvester worker %s started: %d jobs at a time, %d sources enabled",
        worker.name,
        settings.worker_concurrency,
        len(sources.enabled),
        extra={"stage": "startup"},
    )
    await _run_jobs(settings, app, worker, stop)
    await _stop_worker(worker, repository, harvester, app, duties, fetcher)


def _build_worker(
    settings: Settings, sources: SourcesConfig, fetcher: Fetcher
) -> Callable[[], tuple[ClusterRepository, ClassifierSource, ClusterHarvester]]:
    """What a worker runs jobs with (repository, classifier, harvester), built by a call that with_backoff
    repeats until the database answers."""
    from news_harvester.cluster.worker import ClusterHarvester, ClusterRepository
    from news_harvester.store.engine import make_engine
    from news_harvester.stories.classifier import ClassifierSource

    def build() -> tuple[ClusterRepository, ClassifierSource, ClusterHarvester]:
        from datetime import timedelta

        engine = make_engine(settings.resolved_database_url)
        repository = ClusterRepository(engine, timedelta(days=settings.story_window_days))
        classifier = ClassifierSource(settings.topics, repository)
        harvester = ClusterHarvester(
            fetcher,
            repository,
            source_weights={s.id: s.weight for s in sources.sources},
            story_window_days=settings.story_window_days,
            enricher=classifier.load(),
        )
        return repository, classifier, harvester

    return build


async def _run_jobs(settings: Settings, app: App, worker: ClusterWorker, stop: asyncio.Event) -> None:
    """Run procrastinate's worker on the queue until ``stop``; when it loses the job queue, restart it with
    backoff. A stop lets the running jobs finish within the shutdown budget."""
    from procrastinate.worker import Worker

    from news_harvester.cluster.queue import QUEUE, instance_name

    delay = 1.0
    while not stop.is_set():
        runner = Worker(
            app,
            queues=[QUEUE],
            name=instance_name(),
            concurrency=settings.worker_concurrency,
            install_signal_handlers=False,
            update_heartbeat_interval=settings.heartbeat_interval,
            stalled_worker_timeout=settings.stalled_timeout,
            shutdown_graceful_timeout=SHUTDOWN_BUDGET - 2,
            fetch_job_polling_interval=min(5.0, settings.heartbeat_interval),
        )
        task = asyncio.create_task(runner.run())  # type: ignore[no-untyped-call]
        stopping = asyncio.create_task(stop.wait())
        # the worker id is known once it registered; retry_stalled skips its own jobs
        while not task.done() and runner.worker_id is None:
            await asyncio.sleep(0.05)
        worker.worker_id = runner.worker_id
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            runner.stop()  # type: ignore[no-untyped-call]
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=SHUTDOWN_BUDGET)
            break
        stopping.cancel()
        exc = task.exception() if not task.cancelled() else None
        log.warning(
            "worker lost the job queue (%s: %s); restarting it in %.0f s",
            type(exc).__name__ if exc else "stopped",
            str(exc).splitlines()[0][:300] if exc and str(exc) else "",
            delay,
            extra={"stage": "queue"},
        )
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        delay = min(delay * 2, settings.database_retry_max)


async def _stop_worker(
    worker: ClusterWorker,
    repository: ClusterRepository,
    harvester: ClusterHarvester,
    app: App,
    duties: asyncio.Task[None],
    fetcher: Fetcher,
) -> None:
    """Log the story figures, then stop the duties and close the queue, the fetcher and the locks."""
    log.info(
        "stopping; %d runs stored new articles, %.1f s in story key claims (waits included)",
        repository.stores,
        repository.key_claim_seconds,
        extra={"stage": "shutdown"},
    )
    duties.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await duties
    await app.close_async()
    await harvester.aclose()
    await fetcher.aclose()
    worker.locks.dispose()
    repository.engine.dispose()
    log.info("stopped cleanly", extra={"stage": "shutdown"})


def _wrap_storage(fn: Callable[[], T]) -> Callable[[], T]:
    """SQLAlchemy errors of ``fn`` as StorageError, so with_backoff retries them."""
    from sqlalchemy.exc import SQLAlchemyError

    def attempt() -> T:
        try:
            return fn()
        except SQLAlchemyError as exc:
            raise StorageError(f"{type(exc).__name__}: {exc}", code="storage.unavailable") from exc

    return attempt
