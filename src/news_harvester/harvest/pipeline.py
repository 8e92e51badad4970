"""Harvest one source end to end, and never let an error escape.

Stages, in order (one call each in ``Harvester._collect``, then the store step):
  1. fetch the source URL with a conditional GET       (Reader.read_listing → fetch.Fetcher.get)
     - a JavaScript / meta-refresh redirect page is followed once, a WAF challenge is fetch.challenge
     - two-step JSON sources: read the data-source id from the page, then fetch the JSON
  2. parse it into items by the source's kind           (parse.feeds / parse.listing / parse.jsonlist)
     - static pagination: later list pages in order; a missing one ends pagination with a warning
  3. drop items whose canonical URL is already stored   (store.Repository.known_urls)
  4. fetch and extract article pages where needed       (Reader.read_article → parse.article.extract_page)
     - redirect pages followed once, challenges detected, same-site iframed tables appended
  5. clean each item into an Article                    (clean.build_article)
  6. store articles, their stories, candidates, fetch state and the run (harvest.writer: the runs that finished
     meanwhile are stored together, in one transaction on the writer's thread, Repository.write_runs with a
     stories.StoryBatch; the story index is in the database, indexed in that same transaction)
A failing article page costs that item (or just its full text) with a warning on the run, never
the source; a failing source costs that source's run, never the pass. Stages 1, 2 and 4 live in
``reader`` (which stores nothing); this module adds the due check, storage and run records.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from news_harvester.clock import EDITOR_ZONE_LABEL, editor_time, utc_now
from news_harvester.config import SourceSpec
from news_harvester.errors import HarvesterError, StorageError
from news_harvester.harvest.fetch import Fetcher
from news_harvester.harvest.read import Reader, read_item, unique_items
from news_harvester.harvest.writer import RunTicket, RunWriter
from news_harvester.harvest.writer_process import WriterProcess
from news_harvester.models import (
    Article,
    FetchResult,
    FetchState,
    Outcome,
    RunSummary,
    backoff_delay,
    is_due,
)
from news_harvester.parse.clean import canonical_url
from news_harvester.store.repository import Repository, RunResult
from news_harvester.store.runs_store import Fingerprints, SourceStateRow
from news_harvester.stories.assign import Preclassified, StoryEnricher, StoryService
from news_harvester.story_records import article_doc

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Collected:
    """What stages 1–5 produced for one source."""

    items_seen: int
    articles: list[Article]
    fetched: FetchResult | None
    fetch_state: FetchState | None
    warnings: list[str]


class Harvester:
    """Runs sources; one instance per process, shared by the scheduler and the CLI."""

    def __init__(
        self,
        fetcher: Fetcher,
        repository: Repository,
        clock: Callable[[], datetime] = utc_now,
        *,
        source_weights: Mapping[str, float] | None = None,
        story_window_days: int = 90,
        enricher: StoryEnricher | None = None,
        load_index: bool = True,
        writer_process: WriterProcess | None = None,
    ) -> None:
        """``source_weights`` (source id → ``SourceSpec.weight``) pick each story's canonical article; a
        source harvested later updates its entry. ``enricher`` classifies and scores stories (none: stories
        are clustered but not classified). ``load_index``: index the window's articles the stored story index
        lacks (a one-time backfill after an upgrade; a web-only process skips it). ``writer_process``: runs are
        stored by that process (see news_harvester.harvest.writer_process), else on a thread of this one."""
        self.fetcher = fetcher
        self.reader = Reader(fetcher)
        self.repository = repository
        self.clock = clock
        self.writer_process = writer_process
        self._run_writer: RunWriter | None = None
        self._writer_loop: asyncio.AbstractEventLoop | None = None
        if load_index:
            self.stories = StoryService.load(
                repository, window_days=story_window_days, now=clock(), weights=source_weights, enricher=enricher
            )
        else:  # a web-only process never assigns stories: it skips the one-time index backfill
            self.stories = StoryService(
                window=timedelta(days=story_window_days), weights=source_weights, enricher=enricher
            )

    async def harvest(self, spec: SourceSpec, *, force: bool = False) -> RunSummary:
        """One run of one source; returns its summary whatever happens (bar cancellation). A source backing off
        after failures is skipped (a ``skipped`` summary, logged) unless ``force``: a manual run (立即抓取,
        ``harvest --once``) runs at once and is recorded like any other."""
        now = self.clock()
        self.stories.weights[spec.id] = spec.weight  # sources.yaml may have been reloaded
        state = self.repository.source_state(spec.id)
        skipped = _backing_off(spec, state, now, force=force)
        if skipped is not None:
            return skipped
        ticket = self._writer().begin(spec.id, now)
        started = time.monotonic()
        try:
            collected = await self._collect(spec, state.fetch_state)
        except asyncio.CancelledError:
            # handed to the writer without waiting for it here (a stop drains the writer)
            self._result(
                ticket,
                spec,
                RunSummary(spec.id, Outcome.INTERRUPTED, code="run.interrupted", message="stopped by shutdown"),
                started,
                state.consecutive_failures,
            )
            log.info("%s: interrupted", spec.id, extra={"source_id": spec.id, "stage": "harvest"})
            raise
        except HarvesterError as exc:
            summary = RunSummary(
                spec.id,
                Outcome.ERROR,
                code=exc.code,
                message=exc.message,
                http_status=getattr(exc, "http_status", None),
            )
            return await self._finish(
                spec,
                self._result(
                    ticket,
                    spec,
                    summary,
                    started,
                    state.consecutive_failures,
                    retry_after=getattr(exc, "retry_after", None),
                ),
            )
        except Exception as exc:  # the unit-of-work boundary: record, log, continue with other sources
            log.exception("unexpected error harvesting %s", spec.id, extra={"source_id": spec.id, "stage": "pipeline"})
            summary = RunSummary(spec.id, Outcome.ERROR, code="internal.error", message=f"{type(exc).__name__}: {exc}")
            return await self._finish(spec, self._result(ticket, spec, summary, started, state.consecutive_failures))
        if collected is None:
            not_modified = RunSummary(spec.id, Outcome.NOT_MODIFIED)
            return await self._finish(
                spec, self._result(ticket, spec, not_modified, started, 0, fetch_state=state.fetch_state)
            )
        fetched = collected.fetched
        summary = RunSummary(
            spec.id,
            Outcome.OK,
            items_seen=collected.items_seen,
            http_status=fetched.status if fetched else None,
            warnings=tuple(collected.warnings),
        )
        return await self._finish(
            spec,
            self._result(
                ticket,
                spec,
                summary,
                started,
                0,
                articles=collected.articles,
                fetch_state=collected.fetch_state,
                fetched=fetched,
            ),
        )

    async def _collect(self, spec: SourceSpec, state: FetchState) -> _Collected | None:
        listing = await self.reader.read_listing(spec, state)
        if listing is None:
            return None
        warnings = list(listing.warnings)
        seen = len(listing.items)
        items = unique_items(listing.items)[: spec.max_items]
        known = self.repository.known_urls(canonical_url(i.url) for i in items)
        fresh = [i for i in items if canonical_url(i.url) not in known]
        outcomes = await asyncio.gather(*(read_item(self.reader, spec, item, warnings, self.clock()) for item in fresh))
        articles = [o.article for o in outcomes if o.article is not None]
        fetch_state = listing.fetch_state
        if len(articles) < len(outcomes):  # an item to retry next run: the same listing must be read again
            fetch_state = replace(fetch_state, listing_digest=None)
        return _Collected(seen, articles, listing.fetched, fetch_state, warnings)

    def _writer(self) -> RunWriter:
        """This event loop's writer (tests and the CLI may run one Harvester on several loops in turn)."""
        loop = asyncio.get_running_loop()
        if self._run_writer is None or self._writer_loop is not loop:
            writer = RunWriter(self.repository, self.stories, process=self.writer_process)
            self._run_writer, self._writer_loop = writer, loop
        return self._run_writer

    async def aclose(self) -> None:
        """Wait for every run handed to the writer to be stored (call before the loop ends)."""
        if self._run_writer is not None and self._writer_loop is asyncio.get_running_loop():
            await self._run_writer.drain()
        if self.writer_process is not None:
            await asyncio.to_thread(self.writer_process.close)

    async def _finish(self, spec: SourceSpec, handed: tuple[RunSummary, asyncio.Future[int]]) -> RunSummary:
        """Wait until the run ``_result`` handed to the writer is stored, then log it."""
        summary, stored = handed
        try:
            new = await stored
        except Exception as exc:  # the writer recorded the run as failed; this source's run fails, not the pass
            log.exception("storing the run of %s failed", spec.id, extra={"source_id": spec.id, "stage": "store"})
            summary = replace(
                summary, outcome=Outcome.ERROR, code=StorageError.code, message=f"storing the run failed: {exc}"
            )
            new = 0
        level = logging.WARNING if summary.outcome == Outcome.ERROR else logging.INFO
        log.log(
            level,
            "%s: %s%s, %d seen, %d new",
            spec.id,
            summary.outcome,
            f" {summary.code}: {summary.message}" if summary.code else "",
            summary.items_seen,
            new,
            extra={
                "source_id": spec.id,
                "url": spec.url,
                "stage": "harvest",
                "code": summary.code,
                "duration_ms": summary.duration_ms,
            },
        )
        return replace(summary, items_new=new)

    def _result(
        self,
        ticket: RunTicket,
        spec: SourceSpec,
        summary: RunSummary,
        started: float,
        failures_before: int,
        *,
        retry_after: float | None = None,
        articles: list[Article] | None = None,
        fetch_state: FetchState | None = None,
        fetched: FetchResult | None = None,
    ) -> tuple[RunSummary, asyncio.Future[int]]:
        """The run's summary and record, handed to the writer; the future is its number of new articles."""
        finished = self.clock()
        duration = int((time.monotonic() - started) * 1000)
        next_due = None
        if summary.outcome == Outcome.ERROR:
            base = timedelta(seconds=spec.interval_seconds or 3600)
            next_due = finished + backoff_delay(failures_before + 1, base, retry_after=retry_after)
        summary = RunSummary(
            summary.source_id,
            summary.outcome,
            summary.items_seen,
            0,
            duration,
            summary.code,
            summary.message,
            summary.http_status,
            summary.warnings,
        )
        result = RunResult(
            summary=summary,
            finished_at=finished,
            articles=articles or (),
            fetch_state=fetch_state,
            next_due_at=next_due,
            moved_to=fetched.permanent_redirect if fetched else None,
            charset_declared=fetched.charset_declared if fetched else None,
            charset_used=fetched.charset_used if fetched else None,
            fingerprints=self._fingerprints(articles) if articles else None,
        )
        made = Preclassified.of(self.stories.enricher, ((a.title, a.body_text) for a in articles)) if articles else None
        return summary, self._writer().finish(ticket, result, made)

    def _fingerprints(self, articles: list[Article]) -> Fingerprints:
        """The articles' dedupe fingerprints, made here and not by the writer: the writer (one process for the
        whole harvest) is the busier of the two, and a fingerprint depends on the article alone."""
        service = self.stories
        return Fingerprints(service.version, {a.url: service.fingerprint(article_doc(a)) for a in articles})


def _backing_off(spec: SourceSpec, state: SourceStateRow, now: datetime, *, force: bool) -> RunSummary | None:
    """The ``skipped`` summary of a source still backing off after failures, or None when it may run (it is due,
    or ``force``: a manual run goes ahead, logged)."""
    if is_due(state.next_due_at, now):
        return None
    until = f"{editor_time(state.next_due_at)} {EDITOR_ZONE_LABEL}"
    extra = {"source_id": spec.id, "stage": "schedule"}
    if force:
        log.info("%s: run forced while backing off until %s", spec.id, until, extra=extra)
        return None
    log.info("%s: backing off after %d failures until %s; run skipped", spec.id, state.consecutive_failures, until,
             extra=extra)  # fmt: skip
    message = f"backing off until {until}"
    return RunSummary(source_id=spec.id, outcome=Outcome.NOT_MODIFIED, skipped=True, message=message)
