"""Every SQL statement of news_harvester, grouped by what the caller needs (the Repository mixes the groups in).

SQLite runs in WAL mode with a busy timeout and foreign keys on. Here: articles with their stories and candidates
(``_save_articles``, called inside a run's transaction by ``runs_store.RunQueries``), imports, article reads.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from news_harvester.errors import StorageError
from news_harvester.models import Article, pickled_as_tuple
from news_harvester.store.alarms_store import AlarmQueries
from news_harvester.store.figures_store import FigureQueries
from news_harvester.store.issues_store import IssueQueries
from news_harvester.store.queue import QueueQueries
from news_harvester.store.queue_changes import prune_changes
from news_harvester.store.review import ReviewQueries
from news_harvester.store.runs_store import Fingerprints, RunQueries
from news_harvester.store.runs_store import RunResult as RunResult  # re-exported: callers build runs here
from news_harvester.store.runs_store import RunWrite as RunWrite
from news_harvester.store.runs_store import SourceStateRow as SourceStateRow
from news_harvester.store.schema import articles, candidates, fetch_runs, stories
from news_harvester.store.story_index import StoryIndexStore
from news_harvester.store.story_ports import StoryDecider
from news_harvester.store.story_store import NewArticle, StoryQueries
from news_harvester.store.story_views import StoryViewQueries
from news_harvester.store.users import UserQueries
from news_harvester.story_records import Fingerprint, article_doc


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class StoredArticle:
    id: int
    url: str
    source_id: str
    title: str
    published_at: datetime | None
    fetched_at: datetime
    author: str | None
    attribution: str | None
    summary: str | None
    body_text: str
    content_hash: str
    language: str | None
    date_origin: str | None
    candidate_state: str | None
    editor_title: str | None
    editor_summary: str | None


class Repository(
    RunQueries,
    StoryQueries,
    StoryViewQueries,
    QueueQueries,
    ReviewQueries,
    UserQueries,
    IssueQueries,
    AlarmQueries,
    FigureQueries,
):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.key_claim_seconds = 0.0
        """Seconds this process spent claiming story keys, waits included (PostgreSQL; see store.story_index)."""

    # ------------------------------------------------------------------ source state and runs

    def store_articles(
        self, items: Sequence[Article], stories: StoryDecider, now: datetime
    ) -> list[tuple[str, int, int | None, str | None]]:
        """Store articles that did not come from a fetch run (imports), with their stories and candidates, in
        one transaction. Returns ``(url, article_id, story_id, story_layer)`` of the articles that were new."""
        urls = list(dict.fromkeys(a.url for a in items))
        with self.engine.begin() as conn:
            before = set(conn.execute(select(articles.c.url).where(articles.c.url.in_(urls))).scalars())
            self._save_articles(conn, items, now, stories)
            rows = conn.execute(
                select(articles.c.url, articles.c.id, articles.c.story_id, articles.c.story_layer).where(
                    articles.c.url.in_([u for u in urls if u not in before])
                )
            ).all()
        order = {u: i for i, u in enumerate(urls)}
        return sorted(((r.url, int(r.id), r.story_id, r.story_layer) for r in rows), key=lambda r: order.get(r[0], 0))

    def before_story_assignment(self, conn: Connection, now: datetime) -> None:
        """Hook: articles are about to be assigned to stories in ``conn``'s transaction (after the key locks).
        Does nothing here; the cluster worker counts its stores."""

    def _save_articles(
        self,
        conn: Connection,
        items: Sequence[Article],
        now: datetime,
        story_batch: StoryDecider | None = None,
        known: Fingerprints | None = None,
    ) -> list[str]:
        """Store ``items``; the URLs of those that were new, in order. ``known``: fingerprints computed where the
        articles were read (taken when their parameters' version is the batch's)."""
        if not items:
            return []
        fingerprints: dict[str, Fingerprint] = {}
        if story_batch is not None:
            # fingerprints first, then the claims on their keys before any lookup (see store.story_index); the
            # hourly prune goes first, as it clears the claims that have done their job
            given = known.by_url if known is not None and known.version == story_batch.version else {}
            fingerprints = {a.url: given.get(a.url) or story_batch.fingerprint(article_doc(a)) for a in items}
            if story_batch.prune_before is not None:
                StoryIndexStore.prune(conn, story_batch.prune_before)
                prune_changes(conn)  # the queue index's change log (store.queue_changes)
            started = time.perf_counter()
            StoryIndexStore.lock_keys(
                conn,
                (k for fp in fingerprints.values() for k in fp.band_keys),
                (k for fp in fingerprints.values() for k in fp.title_keys),
            )
            self.key_claim_seconds += time.perf_counter() - started
            self.before_story_assignment(conn, now)
        existing = {
            row.url: row
            for row in conn.execute(
                select(articles.c.id, articles.c.url, articles.c.content_hash).where(
                    articles.c.url.in_([a.url for a in items])
                )
            )
        }
        fresh: dict[str, Article] = {}
        for article in items:  # the first of two articles with one URL (two runs of one batch) is the one stored
            if article.url not in existing:
                fresh.setdefault(article.url, article)
        new_ids: list[int] = []
        new_urls: list[str] = []
        if fresh:
            # One INSERT … ON CONFLICT (url) DO NOTHING RETURNING id, url for the whole batch (SQLAlchemy's
            # insertmanyvalues): conflicting rows, e.g. a URL another source stored a moment ago, are
            # simply absent from RETURNING instead of aborting this source's transaction.
            rows = [self._article_row(a) for a in fresh.values()]
            inserted = {row.url: int(row.id) for row in conn.execute(self._insert_articles(), rows)}
            # in the run's order, so a reprint later in the same run joins the story of the earlier article
            new = [(inserted[url], article) for url, article in fresh.items() if url in inserted]
            new_ids = [article_id for article_id, _ in new]
            new_urls = [article.url for _, article in new]
            if story_batch is not None:
                docs = [NewArticle(article_doc(a, i), a.fetched_at, fingerprints.get(a.url)) for i, a in new]
                # one candidate per story: only the article that starts a story brings one
                founders = self._assign_stories(conn, docs, story_batch, now)
                self._link_candidates(conn, founders, now, fresh=True)
        changed = self._update_changed(conn, items, existing, now)
        if changed and story_batch is not None:
            self._restory_changed(conn, changed, story_batch, now)
        if new_ids and story_batch is None:
            conn.execute(insert(candidates), [{"article_id": i, "state": "new", "created_at": now} for i in new_ids])
        return new_urls

    @staticmethod
    def _update_changed(
        conn: Connection, items: Sequence[Article], existing: Mapping[str, Any], now: datetime
    ) -> list[tuple[int, Article]]:
        """Harvested columns of already stored articles whose content changed; returns those articles."""
        changed: list[tuple[int, Article]] = []
        for article in items:
            old = existing.get(article.url)
            if old is not None and old.content_hash != article.content_hash:
                conn.execute(
                    update(articles)
                    .where(articles.c.id == old.id)
                    .values(_harvested_columns(article) | {"updated_at": now})
                )
                changed.append((int(old.id), article))
        return changed

    def _insert_articles(self) -> Any:
        module: Any = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return (
            module.insert(articles)
            .on_conflict_do_nothing(index_elements=["url"])
            .returning(articles.c.id, articles.c.url)
        )

    # ------------------------------------------------------------------ stories (see story_store.py)

    def story_of(self, url: str) -> tuple[int | None, str | None, float | None]:
        """``(story_id, story_layer, story_similarity)`` of the article at ``url``."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(articles.c.story_id, articles.c.story_layer, articles.c.story_similarity).where(
                    articles.c.url == url
                )
            ).first()
        if row is None:
            raise StorageError(f"no article {url}", code="storage.not_found")
        return row.story_id, row.story_layer, row.story_similarity

    def story_canonical(self, story_id: int) -> int | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(stories.c.canonical_article_id).where(stories.c.id == story_id)).scalar()
        return int(value) if value is not None else None

    @staticmethod
    def _article_row(article: Article) -> dict[str, Any]:
        return _harvested_columns(article) | {
            "url": article.url,
            "source_id": article.source_id,
            "guid": article.guid,
            "fetched_at": article.fetched_at,
        }

    # ------------------------------------------------------------------ reading articles

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(urls))
        found: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                found.update(conn.execute(select(articles.c.url).where(articles.c.url.in_(chunk))).scalars())
        return found

    def list_articles(self, *, source_id: str | None = None, limit: int = 100) -> list[StoredArticle]:
        query = (
            select(
                articles.c.id,
                articles.c.url,
                articles.c.source_id,
                articles.c.title,
                articles.c.published_at,
                articles.c.fetched_at,
                articles.c.author,
                articles.c.attribution,
                articles.c.summary,
                articles.c.body_text,
                articles.c.content_hash,
                articles.c.language,
                articles.c.date_origin,
                candidates.c.state.label("candidate_state"),
                candidates.c.editor_title,
                candidates.c.editor_summary,
            )
            .select_from(articles.outerjoin(candidates, _candidate_of_article()))
            .order_by(func.coalesce(articles.c.published_at, articles.c.fetched_at).desc(), articles.c.id.desc())
            .limit(limit)
        )
        if source_id:
            query = query.where(articles.c.source_id == source_id)
        with self.engine.connect() as conn:
            return [StoredArticle(**row) for row in conn.execute(query).mappings()]

    def raw_page(self, url: str) -> bytes | None:
        with self.engine.connect() as conn:
            blob = conn.execute(select(articles.c.raw_page).where(articles.c.url == url)).scalar()
        return zlib.decompress(blob) if blob else None

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                "articles": conn.execute(select(func.count()).select_from(articles)).scalar_one(),
                "candidates": conn.execute(select(func.count()).select_from(candidates)).scalar_one(),
                "runs": conn.execute(select(func.count()).select_from(fetch_runs)).scalar_one(),
                "stories": conn.execute(select(func.count()).select_from(stories)).scalar_one(),
            }

    def set_editor_fields(
        self,
        url: str,
        *,
        title: str | None = None,
        summary: str | None = None,
        state: str | None = None,
        by: str = "editor",
        now: datetime,
    ) -> None:
        """Minimal editor write used until the review app exists; bumps the row version."""
        with self.engine.connect() as conn:
            found = conn.execute(select(articles.c.id, articles.c.story_id).where(articles.c.url == url)).first()
        if found is None:
            raise StorageError(f"no article {url}", code="storage.not_found")
        target = (
            candidates.c.story_id == found.story_id
            if found.story_id is not None
            else candidates.c.article_id == found.id
        )
        values: dict[str, Any] = {"updated_by": by, "version": candidates.c.version + 1}
        if title is not None:
            values["editor_title"] = title
        if summary is not None:
            values["editor_summary"] = summary
        if state is not None:
            values |= {"state": state, "state_changed_at": now}
        with self.engine.begin() as conn:
            done = conn.execute(update(candidates).where(target).values(**values))
        if not done.rowcount:
            raise StorageError(f"no candidate for {url}", code="storage.not_found")

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
        except SQLAlchemyError:
            return False
        return True


def _candidate_of_article() -> Any:
    """Join condition: an article's candidate is its story's (one per story), or its own before it had one."""
    return or_(
        and_(articles.c.story_id.is_not(None), candidates.c.story_id == articles.c.story_id),
        and_(articles.c.story_id.is_(None), candidates.c.article_id == articles.c.id),
    )


def _harvested_columns(article: Article) -> dict[str, Any]:
    return {
        "title": article.title,
        "published_at": article.published_at,
        "date_origin": article.date_origin,
        "author": article.author,
        "attribution": article.attribution,
        "summary": article.summary,
        "body_text": article.body_text,
        "raw_page": zlib.compress(article.raw_page, 6) if article.raw_page else None,
        "content_hash": article.content_hash,
        "language": article.language,
        "source_name": article.source_name,
        "source_weight": article.source_weight,
        "attachments": (
            json.dumps([{"url": u, "text": t, "kind": k} for u, t, k in article.attachments], ensure_ascii=False)
            if article.attachments
            else None
        ),
    }
