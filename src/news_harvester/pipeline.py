"""Harvest one source end to end, and never let an error escape.

Stages, in order (one call each in ``Harvester._collect``):
  1. fetch the source URL with a conditional GET       (fetch.Fetcher.get)
  2. parse it into items by the source's kind           (parse.feeds / parse.listing)
  3. drop items whose canonical URL is already stored   (store.Repository.known_urls)
  4. fetch and extract article pages where needed       (parse.article.extract_page)
  5. clean each item into an Article                    (clean.build_article)
  6. store articles, candidates, fetch state and the run in one transaction (Repository.finish_run)
A failing article page costs that item (or just its full text), never the source; a failing
source costs that source's run, never the pass.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from news_harvester.clean import build_article, canonical_url
from news_harvester.config import SourceSpec
from news_harvester.errors import HarvesterError, ParseError, SourceError
from news_harvester.fetch import Fetcher
from news_harvester.models import (
    Article,
    FetchResult,
    FetchState,
    NotModified,
    Outcome,
    RawItem,
    RunSummary,
    backoff_delay,
    is_due,
)
from news_harvester.parse.article import extract_page
from news_harvester.parse.feeds import parse_feed
from news_harvester.parse.jsonlist import parse_json_list
from news_harvester.parse.listing import parse_listing
from news_harvester.store.repository import Repository, RunResult

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class _Collected:
    """What stages 1–5 produced for one source."""

    items_seen: int
    articles: list[Article]
    fetched: FetchResult | None
    warnings: list[str]


class Harvester:
    """Runs sources; one instance per process, shared by the scheduler and the CLI."""

    def __init__(self, fetcher: Fetcher, repository: Repository, clock: Callable[[], datetime] = utc_now) -> None:
        self.fetcher = fetcher
        self.repository = repository
        self.clock = clock

    async def harvest(self, spec: SourceSpec, *, force: bool = False) -> RunSummary:
        """One run of one source; returns its summary whatever happens (bar cancellation)."""
        now = self.clock()
        state = self.repository.source_state(spec.id)
        if not force and not is_due(state.next_due_at, now):
            return RunSummary(
                source_id=spec.id,
                outcome=Outcome.NOT_MODIFIED,
                skipped=True,
                message=f"backing off until {state.next_due_at:%Y-%m-%d %H:%M} UTC",
            )
        run_id = self.repository.begin_run(spec.id, now)
        started = time.monotonic()
        try:
            collected = await self._collect(spec, state.fetch_state)
        except asyncio.CancelledError:
            self._finish(
                run_id,
                spec,
                RunSummary(spec.id, Outcome.INTERRUPTED, code="run.interrupted", message="stopped by shutdown"),
                started,
                state.consecutive_failures,
            )
            raise
        except HarvesterError as exc:
            summary = RunSummary(
                spec.id,
                Outcome.ERROR,
                code=exc.code,
                message=exc.message,
                http_status=getattr(exc, "http_status", None),
            )
            return self._finish(
                run_id,
                spec,
                summary,
                started,
                state.consecutive_failures,
                retry_after=getattr(exc, "retry_after", None),
            )
        except Exception as exc:  # the unit-of-work boundary: record, log, continue with other sources
            log.exception("unexpected error harvesting %s", spec.id, extra={"source_id": spec.id, "stage": "pipeline"})
            summary = RunSummary(spec.id, Outcome.ERROR, code="internal.error", message=f"{type(exc).__name__}: {exc}")
            return self._finish(run_id, spec, summary, started, state.consecutive_failures)
        if collected is None:
            return self._finish(
                run_id, spec, RunSummary(spec.id, Outcome.NOT_MODIFIED), started, 0, fetch_state=state.fetch_state
            )
        fetched = collected.fetched
        summary = RunSummary(
            spec.id,
            Outcome.OK,
            items_seen=collected.items_seen,
            http_status=fetched.status if fetched else None,
            warnings=tuple(collected.warnings),
        )
        return self._finish(
            run_id,
            spec,
            summary,
            started,
            0,
            articles=collected.articles,
            fetch_state=FetchState(fetched.etag, fetched.last_modified) if fetched else None,
            fetched=fetched,
        )

    async def _collect(self, spec: SourceSpec, state: FetchState) -> _Collected | None:
        response = await self.fetcher.get(
            spec.url, state=state, headers=spec.headers, encoding=spec.encoding, respect_robots=spec.respect_robots
        )
        if isinstance(response, NotModified):
            return None
        warnings: list[str] = []
        items = self._parse(spec, response, warnings)
        seen = len(items)
        items = _unique(items)[: spec.max_items]
        known = self.repository.known_urls(canonical_url(i.url) for i in items)
        fresh = [i for i in items if canonical_url(i.url) not in known]
        articles = await asyncio.gather(*(self._article(spec, item, warnings) for item in fresh))
        if response.permanent_redirect:
            warnings.append(f"source URL moved permanently to {response.permanent_redirect}; update sources.yaml")
        return _Collected(seen, [a for a in articles if a is not None], response, warnings)

    def _parse(self, spec: SourceSpec, response: FetchResult, warnings: list[str]) -> list[RawItem]:
        if spec.kind == "feed":
            parsed = parse_feed(response.text, response.final_url, spec.zone)
            warnings.extend(parsed.warnings)
            return list(parsed.items)
        if spec.kind == "html":
            selectors = spec.selectors.model_dump() if spec.selectors else None
            return parse_listing(response.text, response.final_url, spec.zone, selectors)
        if spec.kind == "json" and spec.fields:
            return parse_json_list(response.text, response.final_url, spec.zone, spec.fields)
        raise ParseError(f"source kind {spec.kind!r} cannot be parsed", code="parse.unsupported")

    async def _article(self, spec: SourceSpec, item: RawItem, warnings: list[str]) -> Article | None:
        """Build one article, fetching its page when the source needs full text.

        An HTML list only gives headlines, so a page that cannot be fetched drops the item (it is
        retried next run, since its URL was not stored); a feed item keeps its feed text.
        """
        fetched_at = self.clock()
        needs_page = spec.full_text or spec.kind == "html"  # a list page carries headlines only
        if not needs_page:
            evidence = (item.content_html or item.summary_html or "").encode("utf-8") or None
            return build_article(
                item,
                source_id=spec.id,
                source_name=spec.name,
                language=spec.language,
                fetched_at=fetched_at,
                raw_page=evidence,
            )
        try:
            page = await self.fetcher.get(
                item.url, headers=spec.headers, encoding=spec.encoding, respect_robots=spec.respect_robots
            )
            if isinstance(page, NotModified):
                raise SourceError("unexpected 304 for an unconditional request", code="fetch.http_status")
            extracted = extract_page(page.text, page.final_url, spec.zone)
        except SourceError as exc:
            warnings.append(f"{exc.code} for article {item.url}: {exc.message}")
            log.warning(
                "article page failed: %s",
                exc.message,
                extra={"source_id": spec.id, "url": item.url, "stage": "article", "code": exc.code},
            )
            if spec.kind == "html":
                return None
            return build_article(
                item, source_id=spec.id, source_name=spec.name, language=spec.language, fetched_at=fetched_at
            )
        return build_article(
            item,
            source_id=spec.id,
            source_name=spec.name,
            language=spec.language,
            fetched_at=fetched_at,
            body_text=extracted.body_text or None,
            attribution=extracted.attribution,
            published_at=extracted.published_at,
            date_origin=extracted.date_origin,
            raw_page=page.content,
        )

    def _finish(
        self,
        run_id: int,
        spec: SourceSpec,
        summary: RunSummary,
        started: float,
        failures_before: int,
        *,
        retry_after: float | None = None,
        articles: list[Article] | None = None,
        fetch_state: FetchState | None = None,
        fetched: FetchResult | None = None,
    ) -> RunSummary:
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
        )
        new = self.repository.finish_run(run_id, result)
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
                "duration_ms": duration,
            },
        )
        return RunSummary(
            summary.source_id,
            summary.outcome,
            summary.items_seen,
            new,
            duration,
            summary.code,
            summary.message,
            summary.http_status,
            summary.warnings,
        )


def _unique(items: list[RawItem]) -> list[RawItem]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = canonical_url(item.url)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
