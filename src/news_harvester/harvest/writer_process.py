"""The harvest writer's storage step in a process of its own, so it has a core of its own.

Storing a batch is mostly Python (dedupe fingerprints, story assignment, classification: ~3 ms of CPU per new
article), and in the daemon's process it would share one interpreter lock with fetching, parsing and the editors'
web app: a harvest made every page wait. Here the batch goes down a pipe to a child process that holds its own
repository, classifier and story settings and answers with each run's id and new-article count.

The child stops when the pipe closes: a parent killed with SIGKILL takes it along (a transaction it is writing
commits or rolls back whole, as any). It re-reads topics.yaml / the learned model and the used stories at most
every ``refresh_seconds``, as the daemon's own jobs do for its process.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from news_harvester.config import Settings
from news_harvester.errors import StorageError
from news_harvester.store.repository import RunWrite

log = logging.getLogger(__name__)

START_TIMEOUT = 120.0
"""Seconds the child may take to start (imports, opening the database, loading the classifier)."""


class WriterProcess:
    """The parent's handle: ``store`` blocks (call it from a thread) until the child has written the batch."""

    def __init__(self, settings: Settings, configure_logging: Callable[[str, str], None] | None = None) -> None:
        """``configure_logging(level, format)`` (a module-level function: the child is spawned) sets the child's
        logging up as the shell set up its own."""
        self.settings = settings
        self.configure_logging = configure_logging
        self._conn: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._lock = threading.Lock()
        self._weights_sent: dict[str, float] | None = None

    def store(
        self, writes: list[RunWrite], weights: dict[str, float], made: list[Any] | None = None
    ) -> list[tuple[int, int]]:
        """``(run_id, new articles)`` per write; StorageError with the child's reason when the batch failed."""
        with self._lock:
            conn = self._started()
            changed = weights if weights != self._weights_sent else None  # the child keeps the last ones it got
            try:
                conn.send(("write", writes, changed, made or []))
                self._weights_sent = dict(weights)
                kind, payload = conn.recv()
            except (EOFError, OSError) as exc:
                self._conn = self._weights_sent = None
                raise StorageError(f"the writer process stopped: {exc or type(exc).__name__}") from exc
        if kind == "error":
            raise StorageError(str(payload))
        return list(payload)

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(OSError):
                    self._conn.send(("stop", None, None, None))
                self._conn.close()
                self._conn = None
            if self._process is not None:
                self._process.join(timeout)
                if self._process.is_alive():
                    self._process.kill()
                self._process = None

    def _started(self) -> Connection:
        if self._conn is not None and self._process is not None and self._process.is_alive():
            return self._conn
        context = multiprocessing.get_context("spawn")  # never fork a process with threads and open connections
        parent, child = context.Pipe()
        process = context.Process(
            target=serve, args=(child, self.settings, self.configure_logging), name="news-harvester-writer", daemon=True
        )
        process.start()
        child.close()
        if not parent.poll(START_TIMEOUT):
            process.kill()
            raise StorageError(f"the writer process did not start within {START_TIMEOUT:.0f} s")
        kind, payload = parent.recv()
        if kind != "ready":
            process.join(5)
            raise StorageError(f"the writer process could not start: {payload}")
        self._conn, self._process, self._weights_sent = parent, process, None
        log.info("writer process %d started", process.pid, extra={"stage": "store"})
        return parent


def serve(
    conn: Connection,
    settings: Settings,
    configure_logging: Callable[[str, str], None] | None = None,
    refresh_seconds: float | None = None,
) -> None:
    """The child: open the store and the classifier, then write batches until the pipe closes or says stop."""
    from news_harvester.clock import utc_now
    from news_harvester.store.engine import make_engine
    from news_harvester.store.repository import Repository
    from news_harvester.stories.assign import StoryService
    from news_harvester.stories.classifier import ClassifierSource

    if configure_logging is not None:
        configure_logging(settings.log_level, settings.log_format)
    try:
        repository = Repository(make_engine(settings.resolved_database_url))
        classifier = ClassifierSource(settings.topics, repository)
        service = StoryService(window=timedelta(days=settings.story_window_days), enricher=classifier.load())
        service.refresh_used(repository, utc_now())
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    every = settings.reload_interval if refresh_seconds is None else refresh_seconds
    refreshed = time.monotonic()
    while True:
        try:
            kind, writes, weights, made = conn.recv()
        except (EOFError, OSError):
            break  # the parent is gone
        if kind == "stop":
            break
        if time.monotonic() - refreshed >= every:
            _refresh(service, classifier, repository, utc_now())
            refreshed = time.monotonic()
        if weights is not None:  # None: the same as last time
            service.weights.update(weights)
        try:
            reply: tuple[str, Any] = ("ok", _write(service, repository, writes, made))
        except Exception as exc:  # the parent retries run by run and records the failure
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except OSError:
            break
    repository.engine.dispose()


def _write(service: Any, repository: Any, writes: list[RunWrite], made: list[Any]) -> list[tuple[int, int]]:
    finished: list[datetime] = [w.result.finished_at for w in writes if w.result is not None]
    now = max(finished) if finished else None
    batch = service.begin(now)
    for part in made:  # the harvest's classifications of these runs' articles (stories.assign.Preclassified)
        batch.preclassify(part)
    stored: list[tuple[int, int]] = repository.write_runs(writes, stories=batch)
    if now is not None:
        service.commit(batch, now)
    return stored


def _refresh(service: Any, classifier: Any, repository: Any, now: datetime) -> None:
    """topics.yaml or the learned model changed, an issue was published: as the daemon's jobs do."""
    try:
        enricher = classifier.check()
        if enricher is not None:
            service.enricher = enricher
        service.refresh_used(repository, now)
    except Exception:
        log.exception(
            "writer process: refreshing the classifier failed; keeping the last one", extra={"stage": "store"}
        )
