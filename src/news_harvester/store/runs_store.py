"""SQL of harvest runs and per-source state (mixed into Repository as ``RunQueries``): a run's start, its end with
its articles (one transaction per run, or per batch of runs: ``write_runs``), the source's fetch state.

A run's articles, stories, candidates, ETag and record land in one transaction, so a crash or kill at any point
leaves either the whole result or none of it, and the stored ETag never claims articles that were not stored.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, bindparam, case, func, insert, select, update

from news_harvester.models import Article, FetchState, Outcome, RunSummary, pickled_as_tuple
from news_harvester.store.engine import owner_gone, run_owner
from news_harvester.store.schema import fetch_runs, source_state
from news_harvester.store.transactions import execute_grouped

if TYPE_CHECKING:
    from news_harvester.store.story_ports import StoryDecider
    from news_harvester.story_records import Fingerprint

RECENT_RUNS = 10
_FINISHED = (Outcome.OK, Outcome.ERROR, Outcome.NOT_MODIFIED)
# Built once: every run reads its source's state before its request, and building the statement cost twice
# what running it against SQLite's primary key does.
_SOURCE_STATE = select(source_state).where(source_state.c.source_id == bindparam("source_id"))


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class SourceStateRow:
    source_id: str
    etag: str | None = None
    last_modified: str | None = None
    listing_digest: str | None = None
    last_run_at: datetime | None = None
    last_success_at: datetime | None = None
    last_new_item_at: datetime | None = None
    consecutive_failures: int = 0
    last_error_code: str | None = None
    last_error_message: str | None = None
    last_http_status: int | None = None
    next_due_at: datetime | None = None
    moved_to: str | None = None
    updated_at: datetime | None = None

    @property
    def fetch_state(self) -> FetchState:
        return FetchState(etag=self.etag, last_modified=self.last_modified, listing_digest=self.listing_digest)


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class DayRuns:
    """One source's runs of one day: new items, failed runs, finished runs."""

    new: int = 0
    failures: int = 0
    runs: int = 0


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class RunRecord:
    """One stored run as the sources page shows it."""

    started_at: datetime
    finished_at: datetime | None
    outcome: str
    code: str | None = None
    message: str | None = None
    http_status: int | None = None
    items_seen: int = 0
    items_new: int = 0


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Fingerprints:
    """Dedupe fingerprints of a run's articles, computed where they were read (the harvest's process, so the
    writer does not spend its CPU on them): ``url`` → fingerprint, and the version of the dedupe parameters they
    come from (the store computes them again when its own differ)."""

    version: int
    by_url: Mapping[str, Fingerprint]

    @staticmethod
    def merged(parts: Iterable[Fingerprints | None]) -> Fingerprints | None:
        """Those of several runs as one, when they share a version (else None: the store computes them)."""
        given = [p for p in parts if p is not None]
        if not given or len({p.version for p in given}) > 1:
            return None
        return Fingerprints(given[0].version, {url: fp for p in given for url, fp in p.by_url.items()})


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class RunResult:
    """What the pipeline hands the store at the end of one source run."""

    summary: RunSummary
    finished_at: datetime
    articles: Sequence[Article] = ()
    fetch_state: FetchState | None = None
    next_due_at: datetime | None = None
    moved_to: str | None = None
    charset_declared: str | None = None
    charset_used: str | None = None
    fingerprints: Fingerprints | None = None


@pickled_as_tuple
@dataclass(slots=True)
class RunWrite:
    """One run's part of a batched write (:meth:`Repository.write_runs`): that it started (``run_id`` None: not
    stored yet), that it finished (``result``), or both."""

    source_id: str
    started_at: datetime
    run_id: int | None = None
    result: RunResult | None = None
    owner: str | None = None
    """The process the run belongs to (default: the writing one); a writer process records its parent, so that a
    killed harvest's runs are marked interrupted once the harvest is gone."""


_PINNED = threading.local()
"""The connection :meth:`RunQueries.snapshot` pins for the current thread (one per thread: web handlers run in a
thread pool)."""


class RunQueries:
    engine: Engine

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Health reads inside this block see one committed state of the database. The sources page reads the
        states, the runs per day and each source's latest run in separate queries; a run committed between two of
        them showed as finished while its source was still in backoff. On SQLite the block is one read
        transaction (WAL keeps its snapshot), on PostgreSQL one REPEATABLE READ transaction."""
        if getattr(_PINNED, "conn", None) is not None:
            yield  # already inside one
            return
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
                conn.begin()
            else:
                conn.exec_driver_sql("BEGIN")  # pysqlite opens no transaction for reads by itself
            _PINNED.conn = conn
            try:
                yield
            finally:
                _PINNED.conn = None
                conn.rollback()

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """The snapshot's connection when inside :meth:`snapshot`, else a connection of its own."""
        pinned: Connection | None = getattr(_PINNED, "conn", None)
        if pinned is not None and pinned.engine is self.engine:
            yield pinned
            return
        with self.engine.connect() as conn:
            yield conn

    def _save_articles(
        self,
        conn: Connection,
        items: Sequence[Article],
        now: datetime,
        story_batch: StoryDecider | None = None,
        known: Fingerprints | None = None,
    ) -> list[str]:
        raise NotImplementedError  # the Repository's: articles with their stories and candidates

    def source_state(self, source_id: str) -> SourceStateRow:
        with self._reading() as conn:
            row = conn.execute(_SOURCE_STATE, {"source_id": source_id}).mappings().first()
        return SourceStateRow(**row) if row else SourceStateRow(source_id=source_id)

    def all_source_states(self) -> dict[str, SourceStateRow]:
        with self._reading() as conn:
            rows = conn.execute(select(source_state)).mappings().all()
        return {row["source_id"]: SourceStateRow(**row) for row in rows}

    def recent_outcomes(self, source_ids: Iterable[str], limit: int = RECENT_RUNS) -> dict[str, list[str]]:
        """Newest-first outcomes of each source's last ``limit`` runs."""
        ranked = (
            select(
                fetch_runs.c.source_id,
                fetch_runs.c.outcome,
                func.row_number()
                .over(partition_by=fetch_runs.c.source_id, order_by=fetch_runs.c.id.desc())
                .label("rank"),
            )
            .where(fetch_runs.c.source_id.in_(list(source_ids)))
            .subquery()
        )
        result: dict[str, list[str]] = {}
        with self._reading() as conn:
            rows = conn.execute(
                select(ranked.c.source_id, ranked.c.outcome)
                .where(ranked.c.rank <= limit)
                .order_by(ranked.c.source_id, ranked.c.rank)
            ).all()
        for source_id, outcome in rows:
            result.setdefault(source_id, []).append(outcome)
        return result

    def runs_by_day(self, edges: Sequence[datetime]) -> dict[str, list[DayRuns]]:
        """Each source's runs per day: ``edges`` are ascending instants (the days' starts, then the last day's end);
        one :class:`DayRuns` per day between two edges, by start time. For the sources page's 30-day chart."""
        days = len(edges) - 1
        if days < 1:
            return {}
        day = case(*((fetch_runs.c.started_at < edge, k) for k, edge in enumerate(edges[1:])), else_=days)
        failed = case((fetch_runs.c.outcome == Outcome.ERROR, 1), else_=0)
        finished = case((fetch_runs.c.outcome.in_(_FINISHED), 1), else_=0)
        runs = (
            select(
                fetch_runs.c.source_id,
                day.label("day"),
                fetch_runs.c.items_new,
                failed.label("failed"),
                finished.label("finished"),
            )
            .where(fetch_runs.c.started_at >= edges[0], fetch_runs.c.started_at < edges[-1])
            .subquery()
        )  # grouped outside: PostgreSQL does not see a CASE with bound parameters as the grouped expression
        query = select(
            runs.c.source_id, runs.c.day, func.sum(runs.c.items_new), func.sum(runs.c.failed), func.sum(runs.c.finished)
        ).group_by(runs.c.source_id, runs.c.day)
        result: dict[str, list[DayRuns]] = {}
        with self._reading() as conn:
            for source_id, index, new, failures, count in conn.execute(query):
                if 0 <= int(index) < days:
                    row = result.setdefault(source_id, [DayRuns() for _ in range(days)])
                    row[int(index)] = DayRuns(int(new or 0), int(failures or 0), int(count or 0))
        return result

    def new_item_run_times(self, since: datetime) -> dict[str, list[datetime]]:
        """Start times of every source's successful runs since ``since`` that brought new items, oldest first."""
        query = (
            select(fetch_runs.c.source_id, fetch_runs.c.started_at)
            .where(fetch_runs.c.outcome == Outcome.OK, fetch_runs.c.items_new > 0, fetch_runs.c.started_at >= since)
            .order_by(fetch_runs.c.started_at)
        )
        result: dict[str, list[datetime]] = {}
        with self._reading() as conn:
            for source_id, started_at in conn.execute(query):
                result.setdefault(source_id, []).append(started_at)
        return result

    def latest_runs(self, source_ids: Iterable[str]) -> dict[str, RunRecord]:
        """Each source's latest run (a run still going included), for "what did 立即抓取 do"."""
        ranked = (
            select(
                fetch_runs,
                func.row_number()
                .over(partition_by=fetch_runs.c.source_id, order_by=fetch_runs.c.id.desc())
                .label("rank"),
            )
            .where(fetch_runs.c.source_id.in_(list(source_ids)))
            .subquery()
        )
        with self._reading() as conn:
            rows = conn.execute(select(ranked).where(ranked.c.rank == 1)).mappings().all()
        return {
            row["source_id"]: RunRecord(
                started_at=row["started_at"],
                finished_at=row["finished_at"],
                outcome=row["outcome"],
                code=row["code"],
                message=row["message"],
                http_status=row["http_status"],
                items_seen=int(row["items_seen"] or 0),
                items_new=int(row["items_new"] or 0),
            )
            for row in rows
        }

    def begin_run(self, source_id: str, started_at: datetime) -> int:
        """Record that a run started, so a crash leaves a visible 'interrupted' trace."""
        with self.engine.begin() as conn:
            run_id = conn.execute(
                insert(fetch_runs)
                .values(source_id=source_id, started_at=started_at, outcome=Outcome.RUNNING, owner=run_owner())
                .returning(fetch_runs.c.id)
            ).scalar_one()
        return int(run_id)

    def mark_interrupted_runs(self, now: datetime) -> int:
        """Runs left 'running' by a process that died; called at start-up. Runs of a live process (a daemon
        beside a ``harvest --once``, or the other way round) and of other machines (a cluster's workers: their
        stalled-job retry settles those) are left alone."""
        with self.engine.begin() as conn:
            running = conn.execute(
                select(fetch_runs.c.id, fetch_runs.c.owner).where(fetch_runs.c.outcome == Outcome.RUNNING)
            ).all()
            gone = [int(r.id) for r in running if owner_gone(r.owner)]
            if not gone:
                return 0
            return self._interrupt(conn, fetch_runs.c.id.in_(gone), now, "the process stopped before this run finished")

    def interrupt_source_runs(self, source_id: str, now: datetime, message: str) -> int:
        """Runs of ``source_id`` still 'running', marked interrupted: for a caller that holds the source's lock
        and so knows no live process runs it (a cluster worker taking over a dead worker's job)."""
        with self.engine.begin() as conn:
            return self._interrupt(conn, fetch_runs.c.source_id == source_id, now, message)

    @staticmethod
    def _interrupt(conn: Connection, which: Any, now: datetime, message: str) -> int:
        """The one way a run that never finished is recorded: outcome interrupted, code run.interrupted."""
        result = conn.execute(
            update(fetch_runs)
            .where(which, fetch_runs.c.outcome == Outcome.RUNNING)
            .values(outcome=Outcome.INTERRUPTED, finished_at=now, code="run.interrupted", message=message)
        )
        return result.rowcount or 0

    def write_runs(self, writes: Sequence[RunWrite], *, stories: StoryDecider | None = None) -> list[tuple[int, int]]:
        """Runs that started and runs that finished, in one transaction (one commit for a whole batch of sources):
        ``(run_id, new articles)`` per write, in order. A finished run's articles, stories, candidates, fetch
        state and outcome are stored exactly as :meth:`finish_run` stores them; the articles of all finished runs
        are assigned to stories together, in the writes' order (a reprint joins an original stored in the same
        batch). All or nothing: on an error nothing of the batch is stored."""
        run_ids = [w.run_id for w in writes]
        counts = [0] * len(writes)
        with self.engine.begin() as conn:
            finished = {i: w.result for i, w in enumerate(writes) if w.result is not None}
            items = [a for r in finished.values() for a in r.articles]
            now = max((r.finished_at for r in finished.values()), default=None)
            known = Fingerprints.merged(r.fingerprints for r in finished.values())
            new_urls = set(self._save_articles(conn, items, now, stories, known)) if items and now else set()
            for i, result in finished.items():
                mine = {a.url for a in result.articles} & new_urls
                new_urls -= mine  # a URL two runs of the batch listed is new for the first only
                counts[i] = len(mine)
            unstored = [i for i, w in enumerate(writes) if w.run_id is None]
            if unstored:  # a run that started and finished within the batch is inserted finished: one row, once
                inserted = (
                    conn.execute(
                        insert(fetch_runs).returning(fetch_runs.c.id, sort_by_parameter_order=True),
                        [_new_run_row(writes[i], counts[i]) for i in unstored],
                    )
                    .scalars()
                    .all()
                )
                for i, run_id in zip(unstored, inserted, strict=True):
                    run_ids[i] = int(run_id)
            begun_before = [i for i in finished if writes[i].run_id is not None]
            runs = [_run_values(run_ids[i] or 0, finished[i], counts[i]) for i in begun_before]
            execute_grouped(conn, fetch_runs, fetch_runs.c.id, "run_id", runs)
            self._record_states(conn, [(result, counts[i]) for i, result in finished.items()])
        for write, run_id in zip(writes, run_ids, strict=True):  # only once committed: a rollback keeps none
            write.run_id = run_id
        return [(int(run_id or 0), count) for run_id, count in zip(run_ids, counts, strict=True)]

    def finish_run(self, run_id: int, result: RunResult, *, stories: StoryDecider | None = None) -> int:
        """Store the run's articles, their stories, candidates, fetch state and outcome in one transaction.

        Returns how many articles were new. An article already stored (same canonical URL) keeps
        its row and its story; if its harvested content changed, only harvested columns are updated.
        Editor columns live in ``candidates`` and are never written here. With ``stories``, each new
        article gets a story (see news_harvester.stories.assign); the caller commits the batch to its index
        only after this returns.
        """
        with self.engine.begin() as conn:
            new_count = len(
                self._save_articles(conn, result.articles, result.finished_at, stories, result.fingerprints)
            )
            self._record_finishes(conn, [(run_id, result, new_count)])
        return new_count

    @staticmethod
    def _record_finishes(conn: Connection, finished: Sequence[tuple[int, RunResult, int]]) -> None:
        """Outcomes of finished runs ``(run id, result, new articles)`` and their sources' state."""
        runs = [_run_values(run_id, result, new) for run_id, result, new in finished]
        execute_grouped(conn, fetch_runs, fetch_runs.c.id, "run_id", runs)
        RunQueries._record_states(conn, [(result, new) for _, result, new in finished])

    @staticmethod
    def _record_states(conn: Connection, finished: Sequence[tuple[RunResult, int]]) -> None:
        """The sources' state after their finished runs ``(result, new articles)``, in statements for the whole
        batch (one executemany per shape), not several per run: a pass where nothing changed is mostly these."""
        if not finished:
            return
        ids = sorted({result.summary.source_id for result, _ in finished})
        stored = {
            row["source_id"]: dict(row)
            for row in conn.execute(select(source_state).where(source_state.c.source_id.in_(ids))).mappings()
        }
        current = {sid: dict(row) for sid, row in stored.items()}
        changed: dict[str, dict[str, Any]] = {}
        for result, new in finished:  # in order: two runs of a source in one batch count as two
            source_id = result.summary.source_id
            values = _state_values(current.get(source_id), result, new)
            if values is None:
                continue
            current[source_id] = {**current.get(source_id, {"source_id": source_id}), **values}
            changed[source_id] = {**changed.get(source_id, {}), **values}
        inserts = [{"source_id": sid, **values} for sid, values in changed.items() if sid not in stored]
        for keys in {tuple(sorted(row)) for row in inserts}:
            conn.execute(insert(source_state), [row for row in inserts if tuple(sorted(row)) == keys])
        updates = [{"state_id": sid, **values} for sid, values in changed.items() if sid in stored]
        execute_grouped(conn, source_state, source_state.c.source_id, "state_id", updates)


def _new_run_row(write: RunWrite, new_count: int) -> dict[str, Any]:
    """A run's first ``fetch_runs`` row: finished already when its result came with its start, else running (every
    row of one INSERT has the same columns)."""
    row = {"source_id": write.source_id, "started_at": write.started_at, "owner": write.owner or run_owner()}
    if write.result is not None:
        return row | {k: v for k, v in _run_values(0, write.result, new_count).items() if k != "run_id"}
    return row | {k: None for k in _RUN_COLUMNS} | {"outcome": Outcome.RUNNING, "items_seen": 0, "items_new": 0}


_RUN_COLUMNS = ("finished_at", "outcome", "code", "message", "http_status", "items_seen", "items_new",
                "duration_ms", "charset_declared", "charset_used", "warnings")  # fmt: skip


def _run_values(run_id: int, result: RunResult, new_count: int) -> dict[str, Any]:
    """The finished run's columns of ``fetch_runs`` (keyed ``run_id`` for the grouped UPDATE)."""
    summary = result.summary
    return {
        "run_id": run_id,
        "finished_at": result.finished_at,
        "outcome": summary.outcome,
        "code": summary.code,
        "message": summary.message,
        "http_status": summary.http_status,
        "items_seen": summary.items_seen,
        "items_new": new_count,
        "duration_ms": summary.duration_ms,
        "charset_declared": result.charset_declared,
        "charset_used": result.charset_used,
        "warnings": json.dumps(list(summary.warnings), ensure_ascii=False) if summary.warnings else None,
    }


def _state_values(previous: dict[str, Any] | None, result: RunResult, new: int) -> dict[str, Any] | None:
    """What a finished run changes in its source's ``source_state`` row (``previous``: the row as it stands, None
    when the source has none), or None when it changes nothing."""
    summary = result.summary
    now = result.finished_at
    if summary.outcome == Outcome.INTERRUPTED:
        # Stopped before it finished: neither a success nor a failure. The source keeps its last run and
        # success times (the scheduler counts its next run from the last one, so after a restart it runs again
        # soon instead of a whole interval later), its validators and its failure count.
        return None if previous is None else {"updated_at": now, "next_due_at": None}
    failed = summary.outcome == Outcome.ERROR
    values: dict[str, Any] = {
        "last_run_at": now,
        "updated_at": now,
        "next_due_at": result.next_due_at,
        "last_http_status": summary.http_status,
        "consecutive_failures": ((previous["consecutive_failures"] if previous else 0) + 1) if failed else 0,
    }
    if failed:
        values |= {"last_error_code": summary.code, "last_error_message": summary.message}
    else:
        values |= {"last_success_at": now, "last_error_code": None, "last_error_message": None}
        if result.fetch_state is not None:
            state = result.fetch_state
            values |= {"etag": state.etag, "last_modified": state.last_modified, "listing_digest": state.listing_digest}
    if new:
        values["last_new_item_at"] = now
    if result.moved_to is not None:
        values["moved_to"] = result.moved_to
    return values
