"""Wiring: how the parts are put together for this process, in one place every shell imports.

The daemon, the CLI, the web admin and the cluster roles all need the same fetch policy, the same migrated
repository, the same classifier and story service as a harvest would build them; building them here keeps
the shells thin and stops them importing each other (the web app once imported the daemon for the fetch
policy). Nothing here runs a loop or serves anything: that is the daemon's job. Each builder imports what it
builds when called, so a CLI command that only opens the repository does not load the harvest and the models.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol, TypeVar

from news_harvester.config import Settings, SourcesConfig, SourceSpec
from news_harvester.models import RunSummary

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from news_harvester.harvest.fetch import Fetcher, FetchPolicy
    from news_harvester.harvest.pipeline import Harvester
    from news_harvester.harvest.schedule import SourceScheduler
    from news_harvester.store.repository import Repository
    from news_harvester.stories.assign import StoryService
    from news_harvester.stories.classifier import ClassifierSource

log = logging.getLogger(__name__)


class _Queries(Protocol):
    engine: Engine


Q = TypeVar("Q", bound=_Queries)


def fetch_policy(settings: Settings) -> FetchPolicy:
    from news_harvester.harvest.fetch import FetchPolicy

    return FetchPolicy(
        user_agent=settings.user_agent,
        concurrency=settings.concurrency,
        per_host_concurrency=settings.per_host_concurrency,
        per_host_delay=settings.per_host_delay,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        total_timeout=settings.total_timeout,
        max_body_bytes=settings.max_body_bytes,
        max_redirects=settings.max_redirects,
        retries=settings.retries,
        retry_base_delay=settings.retry_base_delay,
        respect_robots=settings.respect_robots,
        max_retry_after=settings.max_retry_after,
    )


def open_repository(
    settings: Settings, *, migrate: bool = True, also: Callable[[Connection], None] | None = None
) -> Repository:
    """The process's repository, migrated to head (``also``: more schema under the same migration lock)."""
    from news_harvester.store.engine import make_engine, upgrade
    from news_harvester.store.repository import Repository

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    if migrate:
        upgrade(engine, also=also)
    return Repository(engine)


def open_queries(settings: Settings, queries: type[Q]) -> Q:
    """One part of the store (``RunQueries``, ``UserQueries`` …) over the migrated database, without the whole
    Repository: commands that read source health or manage users need no story machinery (numpy, the index),
    so they answer in about half a second instead of one."""
    from news_harvester.store.engine import make_engine, upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    part = queries()
    part.engine = engine
    return part


def build_harvester(
    settings: Settings,
    sources: SourcesConfig,
    fetcher: Fetcher,
    repository: Repository,
    classifier: ClassifierSource | None = None,
    *,
    load_index: bool = True,
    writer_process: bool = False,
) -> Harvester:
    """The process's Harvester (``load_index``: the stored story index is checked for unindexed articles first;
    ``writer_process``: a harvesting shell stores runs in a process of their own unless the settings say not to).
    Raises ConfigError when topics.yaml is invalid (there is no last valid taxonomy at start-up)."""
    from news_harvester.harvest.pipeline import Harvester
    from news_harvester.harvest.writer_process import WriterProcess
    from news_harvester.ops.logs import configure_logging
    from news_harvester.stories.classifier import ClassifierSource

    classifier = classifier or ClassifierSource(settings.topics, repository)
    in_process = WriterProcess(settings, configure_logging) if writer_process and settings.writer_process else None
    return Harvester(
        fetcher,
        repository,
        source_weights={s.id: s.weight for s in sources.sources},
        story_window_days=settings.story_window_days,
        enricher=classifier.load(),
        load_index=load_index,
        writer_process=in_process,
    )


def story_service(
    settings: Settings, sources: SourcesConfig, repository: Repository, *, load_index: bool
) -> StoryService:
    """The story service of a command that changes stories (ingest, topics apply/train, issue add/publish):
    the configured source weights and the current classifier, so canonical members and scores come out as
    the harvester would compute them. ``load_index`` only where articles are assigned to stories (ingest)."""
    from news_harvester.clock import utc_now
    from news_harvester.stories.assign import StoryService
    from news_harvester.stories.classifier import ClassifierSource

    enricher = ClassifierSource(settings.topics, repository).load()
    weights = {s.id: s.weight for s in sources.sources}
    if load_index:
        return StoryService.load(
            repository, window_days=settings.story_window_days, now=utc_now(), weights=weights, enricher=enricher
        )
    return StoryService(window=timedelta(days=settings.story_window_days), weights=weights, enricher=enricher)


def add_story_jobs(
    scheduler: SourceScheduler, harvester: Harvester, classifier: ClassifierSource, settings: Settings
) -> None:
    """Housekeeping beside the source jobs: follow topics.yaml and the learned model, and re-score the
    window's stories (recency ages; a changed taxonomy re-classifies them)."""
    from news_harvester.clock import utc_now

    async def check_classifier() -> None:
        enricher = await asyncio.to_thread(classifier.check)
        if enricher is not None:
            harvester.stories.enricher = enricher
            log.info("stories are classified with the new taxonomy/model from now on", extra={"stage": "config"})

    async def rescore() -> None:
        now = utc_now()
        service = harvester.stories
        await asyncio.to_thread(service.refresh_used, harvester.repository, now)
        count = await asyncio.to_thread(harvester.repository.refresh_window, service, now - service.window, now)
        log.info("re-scored %d stories of the window", count, extra={"stage": "rank"})

    scheduler.add_periodic("__topics__", check_classifier, settings.reload_interval)
    scheduler.add_periodic("__rescore__", rescore, settings.rescore_interval)


async def harvest_once(
    settings: Settings,
    sources: SourcesConfig,
    only: list[str] | None = None,
    progress: Callable[[int, int, RunSummary], None] | None = None,
) -> list[RunSummary]:
    """One pass over the enabled sources (or ``only`` those ids, enabled or not), concurrently."""
    from news_harvester.clock import utc_now
    from news_harvester.harvest.fetch import Fetcher

    repository = open_repository(settings)
    specs: list[SourceSpec] = [s for s in sources.sources if s.id in only] if only else list(sources.enabled)
    fetcher = Fetcher(fetch_policy(settings))
    harvester = build_harvester(settings, sources, fetcher, repository, writer_process=True)
    repository.mark_interrupted_runs(utc_now())
    done = 0
    results: dict[str, RunSummary] = {}
    # Sources beyond the request cap would only wait inside the fetcher while already marked
    # "running"; admitting them as slots free up keeps run records honest and memory flat.
    admitted = asyncio.Semaphore(settings.concurrency)

    async def one(spec: SourceSpec) -> None:
        nonlocal done
        async with admitted:
            summary = await harvester.harvest(spec, force=True)
        results[spec.id] = summary
        done += 1
        if progress:
            progress(done, len(specs), summary)

    try:
        await asyncio.gather(*(one(s) for s in specs))
    finally:
        await harvester.aclose()  # a run interrupted by Ctrl-C is recorded before the loop ends
        await fetcher.aclose()
        repository.engine.dispose()
    return [results[s.id] for s in specs if s.id in results]
