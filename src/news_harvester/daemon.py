"""The daemon: starts what news_harvester.wiring builds (store, fetcher, harvester, scheduler) and the web app,
and owns their lifecycle (start-up, reload on SIGHUP, graceful stop on SIGTERM/SIGINT within 10 s)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import uvicorn
from sqlalchemy import Connection

from news_harvester.clock import utc_now
from news_harvester.config import Settings, SourcesConfig, is_packaged_default, load_sources
from news_harvester.errors import ConfigError
from news_harvester.harvest.fetch import Fetcher
from news_harvester.harvest.schedule import SourceScheduler
from news_harvester.ops.metrics import HarvestCollector, metrics_router, overdue_seconds
from news_harvester.sources.health import source_report
from news_harvester.sources.notify import check_and_notify, notifiers_from_settings
from news_harvester.stories.classifier import ClassifierSource
from news_harvester.web.app import create_app
from news_harvester.wiring import add_story_jobs, build_harvester, fetch_policy, open_repository

if TYPE_CHECKING:
    from multiprocessing.connection import Connection as ParentPipe

    from news_harvester.harvest.pipeline import Harvester
    from news_harvester.store.repository import Repository

log = logging.getLogger(__name__)
SHUTDOWN_BUDGET = 8.0
MAX_AUTO_WEB_PROCESSES = 4


class _QuietServer(uvicorn.Server):
    """uvicorn server that leaves signal handling to the daemon."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebThread:
    """The review app on a thread of its own with its own event loop, so that a harvest (parsing, storing, story
    assignment: CPU work on the harvest loop) never holds an editor's page behind it. Database calls are safe from
    both loops (the engine's pool hands each thread its own connection); what the app asks of the scheduler goes
    back to the harvest loop (see ``on_harvest_loop``)."""

    def __init__(self, server: uvicorn.Server, listener: socket.socket, on_exit: Callable[[], object]) -> None:
        self.server = server
        self.listener = listener
        self.error: BaseException | None = None
        self._on_exit = on_exit
        self._thread = threading.Thread(target=self._serve, name="web", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _serve(self) -> None:
        try:
            asyncio.run(self.server.serve(sockets=[self.listener]))
        except BaseException as exc:  # reported to the daemon, which stops and re-raises it
            self.error = exc
        finally:
            with contextlib.suppress(RuntimeError):  # the daemon's loop is already closed: it is stopping anyway
                self._on_exit()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    async def stop(self, timeout: float) -> None:
        """Ask uvicorn to finish its requests and return; wait at most ``timeout`` seconds (off the loop)."""
        self.server.should_exit = True
        await asyncio.to_thread(self._thread.join, timeout)


def on_harvest_loop(
    loop: asyncio.AbstractEventLoop, call: Callable[[str], Awaitable[object]]
) -> Callable[[str], Awaitable[object]]:
    """``call`` run on ``loop`` (the scheduler's) when awaited from another thread's loop (the web app's)."""

    async def run(source_id: str) -> object:
        async def start() -> object:
            return await call(source_id)

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(start(), loop))

    return run


def listen(bind: str, *, reuse_port: bool = False, join: bool = False) -> socket.socket:
    """Bind the web endpoint's socket before anything starts, so a taken port is one clear error.

    ``reuse_port``: each web process binds a socket of its own to the one address and the kernel spreads new
    connections over them by address hash (a socket shared by all would go to whichever process woke first:
    asyncio accepts every waiting connection at once, so a burst of editors landed on one process). The port is
    first probed without it (``_probe_port``), so that a port another program (or another daemon) holds is still
    an error; ``join``: an extra web process joining its parent's group (the parent probed)."""
    host, _, port = bind.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if reuse_port and not join:
        port = _probe_port(bind, host, port)
    sock = _bound_socket(bind, host, port, reuse_port=reuse_port)
    sock.set_inheritable(True)
    return sock


def _probe_port(bind: str, host: str, port: str) -> str:
    """Bind ``host:port`` alone (no SO_REUSEPORT) and let it go: a port held elsewhere is a ConfigError. The
    port to use, for every process of the group: port 0 becomes the one the system chose."""
    probe = _bound_socket(bind, host, port, reuse_port=False)
    try:
        return str(probe.getsockname()[1])
    finally:
        probe.close()


def _bound_socket(bind: str, host: str, port: str, *, reuse_port: bool) -> socket.socket:
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only for sockets that say
        # so; without it every small response waited ~40 ms for the client's delayed ACK
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    except OSError as exc:
        raise _cannot_listen(bind, exc) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, int(port)))
    except (OSError, ValueError) as exc:
        sock.close()
        raise _cannot_listen(bind, exc) from None
    return sock


def _cannot_listen(bind: str, exc: Exception) -> ConfigError:
    return ConfigError(
        f"cannot listen on {bind!r}: {exc}\n  hint: choose another host:port with --bind or NEWS_HARVESTER_BIND, "
        "or run --no-web"
    )


def web_process_count(settings: Settings, *, harvest: bool, queue: Callable[[str], Awaitable[object]] | None) -> int:
    """How many processes serve the review app. One Python process renders pages on one core (the interpreter
    lock): a web-only instance takes one per core so ten editors are not queued behind each other. A harvesting
    daemon keeps one (the run-now button and /metrics' scheduler figures live in its process), and so does a
    cluster's web instance (it scales by adding instances)."""
    if settings.web_processes is not None:
        if settings.web_processes > 1 and (harvest or queue is not None):
            raise ConfigError(
                "web_processes > 1 needs `run --web-only`\n  hint: run the harvest in a process of its own "
                "(`run --no-web`) beside `run --web-only`, or add cluster web instances"
            )
        return settings.web_processes
    if harvest or queue is not None:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_AUTO_WEB_PROCESSES))


class WebProcesses:
    """Extra processes serving the review app on the parent's listening socket (the kernel hands each new
    connection to one of them). Each is a ``run --web-only`` of its own: its own queue index, its own pool of
    database connections. They stop when the parent closes their pipe, or dies (the pipe closes with it)."""

    def __init__(self, settings: Settings, count: int) -> None:
        from news_harvester.ops.logs import configure_logging

        context = multiprocessing.get_context("spawn")  # never fork a process with threads and open connections
        self._pipes: list[Any] = []
        self._processes: list[multiprocessing.process.BaseProcess] = []
        for n in range(count):
            parent, child = context.Pipe()
            process = context.Process(
                target=serve_web_process,
                args=(settings, child, configure_logging),
                name=f"news-harvester-web-{n + 2}",
                daemon=True,
            )
            process.start()
            child.close()
            self._pipes.append(parent)
            self._processes.append(process)
        log.info("%d more web processes started", count, extra={"stage": "startup"})

    def stop(self, timeout: float = 5.0) -> None:
        for pipe in self._pipes:
            pipe.close()
        for process in self._processes:
            process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join(1)


def serve_web_process(settings: Settings, parent: ParentPipe, configure_logging: Callable[[str, str], None]) -> None:
    """An extra web process (spawned by WebProcesses): a web-only daemon on a socket of its own, bound to the
    parent's address with SO_REUSEPORT, that stops when ``parent`` (its pipe to the parent) closes."""
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(run_daemon(settings, harvest=False, web=True, parent=parent))


def _stop_with_parent(stop: asyncio.Event, parent: ParentPipe) -> None:
    """Set ``stop`` when the parent closes this extra web process's pipe or dies."""
    loop = asyncio.get_running_loop()

    def wait() -> None:
        with contextlib.suppress(EOFError, OSError):
            while True:
                parent.recv()
        with contextlib.suppress(RuntimeError):  # the loop is already closed: stopping anyway
            loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait, name="parent-watch", daemon=True).start()


def _log_configuration(settings: Settings) -> None:
    """Say which sources.yaml and topics.yaml this process uses (an installed copy may run on the packaged ones)."""
    packaged = [p for p in (settings.sources, settings.topics) if is_packaged_default(p)]
    log.info(
        "configuration: sources %s, topics %s, data %s",
        settings.sources,
        settings.topics,
        settings.data_dir,
        extra={"stage": "startup"},
    )
    if packaged:
        log.warning(
            "running on the packaged default %s (read-only); `news-harvester init` writes editable copies",
            " and ".join(p.name for p in packaged),
            extra={"stage": "startup"},
        )


async def run_daemon(
    settings: Settings,
    *,
    harvest: bool = True,
    web: bool = True,
    queue: Callable[[str], Awaitable[object]] | None = None,
    also_migrate: Callable[[Connection], None] | None = None,
    parent: ParentPipe | None = None,
) -> None:
    """The single-machine daemon (``run``, ``--no-web``, ``--web-only``), and the cluster's web role: with
    ``queue`` (and ``harvest=False``) the web app's run-now button queues a job for the workers, and runs left
    'running' are not marked interrupted at start (they belong to live workers; see news_harvester.cluster).
    ``parent``: this is an extra web process (``serve_web_process``), stopped when that pipe closes."""
    web_child = parent is not None
    sources = load_sources(settings.sources)
    _log_configuration(settings)
    notifiers = notifiers_from_settings(settings)  # a half-configured notifier is a ConfigError at start
    processes = web_process_count(settings, harvest=harvest, queue=queue) if web and not web_child else 1
    listener = listen(settings.bind, reuse_port=web_child or processes > 1, join=web_child) if web else None
    repository = open_repository(settings, also=also_migrate)
    if not web_child:  # an extra web process: its parent did this
        _check_repository(repository, web=web, mark_interrupted=queue is None)
    fetcher = Fetcher(fetch_policy(settings))
    classifier = ClassifierSource(settings.topics, repository)
    # --web-only: no one-time backfill of the stored story index (a harvesting process does it)
    harvester = build_harvester(
        settings, sources, fetcher, repository, classifier, load_index=harvest, writer_process=harvest
    )
    last_runs = {sid: st.last_run_at for sid, st in repository.all_source_states().items()}
    scheduler = SourceScheduler(
        harvester.harvest,
        sources,
        reload_interval=settings.reload_interval,
        last_runs=last_runs,
        start_stagger=settings.start_stagger,
    )
    stop = _install_signal_handlers(scheduler)
    if harvest:
        scheduler.start()
        add_story_jobs(scheduler, harvester, classifier, settings)
        scheduler.add_periodic(
            "__alarms__",
            lambda: check_and_notify(repository, scheduler.config, notifiers, utc_now()),
            settings.alarm_check_interval,
        )
    web_thread: WebThread | None = None
    if listener is not None:
        web_thread = _serve_web(
            listener, settings, sources, repository, harvester, scheduler, harvest=harvest, queue=queue, stop=stop
        )
        web_thread.start()
    extra = None
    if listener is not None and processes > 1:
        bound = listener.getsockname()
        extra = WebProcesses(settings.model_copy(update={"bind": f"[{bound[0]}]:{bound[1]}"}), processes - 1)
    if parent is not None:
        _stop_with_parent(stop, parent)
    log.info(
        "news-harvester %s started: %d sources enabled, database %s, web %s",
        "daemon" if queue is None else "web instance (cluster)",
        len(sources.enabled),
        _redact(settings.resolved_database_url),
        f"http://{settings.bind}" + (f" ({processes} processes)" if processes > 1 else "") if web else "off",
        extra={"stage": "startup"},
    )
    try:
        await _run_until_stopped(stop, scheduler, harvester, web_thread, fetcher, repository)
    finally:
        if extra is not None:
            await asyncio.to_thread(extra.stop)


def _check_repository(repository: Repository, *, web: bool, mark_interrupted: bool) -> None:
    """Warn when nobody can sign in yet; mark the runs the previous stop interrupted (not in a cluster's web
    instance, where runs left 'running' belong to live workers)."""
    if web and not repository.list_users():
        log.warning(
            "no users yet: nobody can sign in to the review app; create the first one with "
            "`news-harvester users add NAME --role admin`",
            extra={"stage": "startup"},
        )
    if mark_interrupted:
        interrupted = repository.mark_interrupted_runs(utc_now())
        if interrupted:
            log.warning("%d runs were interrupted by the previous stop", interrupted, extra={"stage": "startup"})


def _install_signal_handlers(scheduler: SourceScheduler) -> asyncio.Event:
    """SIGTERM and SIGINT set the returned stop event; SIGHUP reloads the scheduler's configuration."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, scheduler.reload)
    return stop


def _serve_web(
    listener: socket.socket,
    settings: Settings,
    sources: SourcesConfig,
    repository: Repository,
    harvester: Harvester,
    scheduler: SourceScheduler,
    *,
    harvest: bool,
    queue: Callable[[str], Awaitable[object]] | None,
    stop: asyncio.Event,
) -> WebThread:
    """The review app with ``/metrics`` on ``listener`` (not started), wired to this process's scheduler (or, in
    a cluster's web instance, to the job queue). It ending on its own sets ``stop``."""
    current_sources = _sources_view(settings, sources, scheduler, harvest=harvest)
    harvest_loop = asyncio.get_running_loop()

    async def run_now_here(source_id: str) -> object:
        if queue is not None:
            return await queue(source_id)
        spec = scheduler.config.get(source_id)
        return await scheduler.run_now(spec) if spec is not None else None

    run_now = on_harvest_loop(harvest_loop, run_now_here)

    app = create_app(
        database_ok=repository.ping,
        scheduler_ok=lambda: scheduler.running or not harvest,
        sources_health=lambda: source_report(current_sources(), repository, utc_now()),
        repository=repository,
        stories=harvester.stories,
        session_hours=settings.session_hours,
        settings=settings,
        sources=lambda: scheduler.config,
        run_now=run_now if harvest or queue is not None else None,
        banner_ttl=10.0,
    )

    def scheduler_lag() -> float | None:
        if not harvest or not scheduler.running:
            return None  # --web-only: no scheduler in this process, the metric is left out
        return overdue_seconds(scheduler.next_run(s.id) for s in scheduler.config.enabled)

    # the queue index is read before the first editor asks (seconds at 100,000 stories)
    threading.Thread(target=_warm_queue_index, args=(repository,), name="queue-index", daemon=True).start()
    app.include_router(
        metrics_router(HarvestCollector(repository, scheduler_lag, lambda: [s.id for s in scheduler.config.enabled]))
    )
    server = _QuietServer(
        uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="off",
            proxy_headers=True,  # behind a TLS proxy: Secure cookies, client addresses for throttling
            forwarded_allow_ips=settings.forwarded_allow_ips,
        )
    )
    return WebThread(server, listener, on_exit=lambda: harvest_loop.call_soon_threadsafe(stop.set))


def _warm_queue_index(repository: Repository) -> None:
    try:
        repository.warm_queue_index()
    except Exception as exc:  # the first page loads it instead; a database problem shows there and in /readyz
        log.warning("queue index not loaded at start: %s", exc, extra={"stage": "startup"})


def _sources_view(
    settings: Settings, sources: SourcesConfig, scheduler: SourceScheduler, *, harvest: bool
) -> Callable[[], SourcesConfig]:
    """The configuration the source health page shows."""
    seen: dict[str, Any] = {"mtime": None, "config": sources}

    def current_sources() -> SourcesConfig:
        """The scheduler's configuration; in a --web-only process (no scheduler reloading it) the file is
        re-read when it changed, so admin edits show at once. An invalid file keeps the last valid one."""
        if harvest:
            return scheduler.config
        try:
            mtime = settings.sources.stat().st_mtime_ns
        except OSError:
            return seen["config"]  # type: ignore[no-any-return]
        if mtime != seen["mtime"]:
            seen["mtime"] = mtime
            with contextlib.suppress(ConfigError):
                seen["config"] = load_sources(settings.sources)
        return seen["config"]  # type: ignore[no-any-return]

    return current_sources


async def _run_until_stopped(
    stop: asyncio.Event,
    scheduler: SourceScheduler,
    harvester: Harvester,
    web_thread: WebThread | None,
    fetcher: Fetcher,
    repository: Repository,
) -> None:
    """Wait for a stop signal (or the web server's end), then stop everything within SHUTDOWN_BUDGET: the
    scheduler's running jobs first, then the web server, the fetcher and the database. A web server that
    failed on its own is re-raised."""
    await stop.wait()
    log.info("stopping", extra={"stage": "shutdown"})
    await scheduler.shutdown(timeout=SHUTDOWN_BUDGET - 1)
    await harvester.aclose()  # the runs the stop interrupted are recorded
    if web_thread is not None:
        await web_thread.stop(timeout=2)
    await fetcher.aclose()
    repository.engine.dispose()
    if web_thread is not None and web_thread.error is not None:
        raise web_thread.error
    log.info("stopped cleanly", extra={"stage": "shutdown"})


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
