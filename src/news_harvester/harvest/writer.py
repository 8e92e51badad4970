"""The harvest's one writer: runs that start and runs that finish are stored in batches, off the event loop.

Why: a run's storage (articles, story assignment, candidates, run record) used to be one transaction per source,
run on the event loop that fetches. Each commit costs the same whatever it holds, and while SQLite wrote, nothing
was fetched. Here every run that started or finished while the previous batch was being written goes into the
next batch: one transaction, one commit, on a worker thread, while the loop goes on fetching and parsing. A
writer also keeps SQLite's single write lock in one place: the loop itself never waits for it.

A run's ``begin`` is queued, not awaited (the 'running' record is there so that a crash leaves a trace; a run
that starts and finishes within one batch is written once). ``finish`` returns when the batch holding the run
has committed. A batch that fails is retried run by run, so one bad run costs only itself.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from news_harvester.errors import StorageError
from news_harvester.harvest.writer_process import WriterProcess
from news_harvester.models import Outcome, RunSummary
from news_harvester.store.engine import run_owner
from news_harvester.store.repository import Repository, RunResult, RunWrite
from news_harvester.stories.assign import Preclassified, StoryService

log = logging.getLogger(__name__)

MAX_BATCH_RUNS = 64
"""At most this many runs per transaction."""
BATCH_LINGER = 0.02
"""Seconds a batch that is not full waits for more runs to start or finish before it is written: each batch costs a
transaction and (with the writer process) a pipe round trip whatever it holds, and a run that starts and finishes
within the wait is written once, finished, instead of as 'running' and then again."""
MAX_BATCH_ARTICLES = 200
"""A batch stops growing at this many articles (at least one run): on SQLite the transaction holds the one write
lock while it assigns stories, and an editor's write (a decision, a session) waits for it."""


@dataclass(eq=False, slots=True)
class RunTicket:
    """A run handed to the writer: stored as started in the next batch, finished in a later (or the same) one."""

    write: RunWrite
    done: asyncio.Future[int] | None = field(default=None)
    preclassified: Preclassified | None = None
    """The run's articles classified where they were read (handed to the story batch of the writer)."""


class RunWriter:
    """Batches run writes of one event loop (see the module docstring)."""

    def __init__(
        self,
        repository: Repository,
        stories: StoryService,
        *,
        max_runs: int = MAX_BATCH_RUNS,
        max_articles: int = MAX_BATCH_ARTICLES,
        process: WriterProcess | None = None,
        linger: float = BATCH_LINGER,
    ) -> None:
        """``process``: write in that process (a core of its own) instead of on a thread of this one."""
        self.repository = repository
        self.stories = stories
        self.process = process
        self.max_runs = max_runs
        self.max_articles = max_articles
        self.linger = linger
        self._pending: list[RunTicket] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    def begin(self, source_id: str, started_at: datetime) -> RunTicket:
        ticket = RunTicket(RunWrite(source_id, started_at, owner=run_owner()))
        self._submit(ticket)
        return ticket

    def finish(
        self, ticket: RunTicket, result: RunResult, preclassified: Preclassified | None = None
    ) -> asyncio.Future[int]:
        """Queue the finished run; the future is its number of new articles once its batch committed. Cancelling
        a wait on it does not cancel the write (the batch may hold other runs)."""
        ticket.write.result = result
        ticket.preclassified = preclassified
        ticket.done = asyncio.get_running_loop().create_future()
        if ticket not in self._pending:
            self._submit(ticket)  # (a ticket whose start is being written right now is resubmitted after it)
        return asyncio.shield(ticket.done)

    async def drain(self) -> None:
        """Wait until everything submitted is written (at a stop: no run stays 'running' for nothing)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    def _submit(self, ticket: RunTicket) -> None:
        self._pending.append(ticket)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="run-writer")

    async def _run(self) -> None:
        while self._pending:
            if self.linger and not self._full():
                await asyncio.sleep(self.linger)
            batch = self._next_batch()
            # copies: the thread must not see a finish that arrives while it writes (that goes in the next batch)
            writes = [replace(t.write) for t in batch]
            made = [t.preclassified for t in batch if t.preclassified is not None and t.write.result is not None]
            outcomes = await asyncio.to_thread(self._write, writes, made)
            for ticket, write, outcome in zip(batch, writes, outcomes, strict=True):
                ticket.write.run_id = write.run_id
                if write.result is None:  # only its start was written
                    if ticket.write.result is not None and ticket not in self._pending:
                        self._pending.append(ticket)
                    continue
                if ticket.done is not None and not ticket.done.done():
                    if isinstance(outcome, BaseException):
                        ticket.done.set_exception(outcome)
                    else:
                        ticket.done.set_result(outcome)

    def _full(self) -> bool:
        """Whether the pending runs already fill a batch: then waiting for more only idles the writer (under load
        the writer is the busier side, and a 20 ms wait before each full batch was ~8 % of its time)."""
        if len(self._pending) >= self.max_runs:
            return True
        articles = 0
        for ticket in self._pending:
            articles += _articles(ticket)
            if articles >= self.max_articles:
                return True
        return False

    def _next_batch(self) -> list[RunTicket]:
        """The oldest pending runs, up to ``max_runs`` runs and ``max_articles`` articles (at least one run)."""
        size = articles = 0
        for ticket in self._pending:
            articles += _articles(ticket)
            if size and (size == self.max_runs or articles > self.max_articles):
                break
            size += 1
        batch, self._pending = self._pending[:size], self._pending[size:]
        return batch

    def _write(self, writes: list[RunWrite], made: list[Preclassified] | None = None) -> list[int | BaseException]:
        """One transaction for the batch; if it fails, one per run (on the writer's thread)."""
        made = made or []
        try:
            return [new for _run_id, new in self._store(writes, made)]
        except Exception as exc:
            if len(writes) == 1:
                return [exc]
            log.warning("a batch of %d runs failed (%s); storing them one by one", len(writes), exc,
                        extra={"stage": "store"})  # fmt: skip
        outcomes: list[int | BaseException] = []
        for write in writes:
            try:
                outcomes += [new for _run_id, new in self._store([write], made)]
            except Exception as exc:  # this run's own failure; the others are stored
                self._record_failure(write, exc)
                outcomes.append(exc)
        return outcomes

    def _record_failure(self, write: RunWrite, exc: Exception) -> None:
        """The run could not be stored: record it as failed (``storage.error``, nothing of it kept), so the source
        shows the reason and backs off like any failing source. If even that fails, the run stays 'running' and
        the next start marks it interrupted."""
        if write.result is None:
            return
        summary = write.result.summary
        failed = RunResult(
            summary=RunSummary(
                summary.source_id,
                Outcome.ERROR,
                summary.items_seen,
                code=StorageError.code,
                message=f"storing the run failed: {type(exc).__name__}: {exc}"[:500],
            ),
            finished_at=write.result.finished_at,
        )
        try:
            self._store([replace(write, result=failed)])
        except Exception:
            log.exception("could not record the failed run of %s", summary.source_id, extra={"stage": "store"})

    def _store(self, writes: list[RunWrite], made: list[Preclassified] | None = None) -> list[tuple[int, int]]:
        if self.process is not None:
            stored = self.process.store(writes, dict(self.stories.weights), made or [])
        else:
            finished = [w.result.finished_at for w in writes if w.result is not None]
            now = max(finished) if finished else None
            batch = self.stories.begin(now)
            for part in made or []:
                batch.preclassify(part)
            stored = self.repository.write_runs(writes, stories=batch)
            if now is not None:
                self.stories.commit(batch, now)  # only after the transaction committed
        for write, (run_id, _new) in zip(writes, stored, strict=True):
            write.run_id = run_id
        self.batches += 1
        return stored


def _articles(ticket: RunTicket) -> int:
    """The articles a pending run brings to a batch (none while only its start is to be written)."""
    result = ticket.write.result
    return len(result.articles) if result is not None else 0
