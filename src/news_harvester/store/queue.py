"""SQL of the review queue: one filtered page of stories, best score first (mixed into Repository).

The records of a page (:class:`QueueFilter` in, :class:`QueuePage` of :class:`QueueItem` out) and the query
plan that keeps a page cheap at 50,000 stories (see :meth:`QueueQueries.queue`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Integer, func, or_, select

from news_harvester.store.schema import OPEN_STATES, STATES, articles, candidates, stories, story_topics

if TYPE_CHECKING:
    from news_harvester.store.queue_index import QueueIndex

SNIPPET_CHARS = 140
MIN_INDEXED_QUERY = 3
"""The trigram index answers queries of at least 3 characters; shorter ones scan titles."""

_ByStory = dict[int, list[str]]
DENSE_WALK_PAGES = 20
"""Up to this page the queue checks state and topic per visited story; deeper pages use IN lists."""


@dataclass(frozen=True, slots=True)
class QueueFilter:
    states: tuple[str, ...] = OPEN_STATES
    topic: str | None = None
    source: str | None = None
    text: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None


@dataclass(frozen=True, slots=True)
class QueueItem:
    id: int
    title: str
    harvested_title: str
    source: str
    source_id: str
    other_outlets: tuple[str, ...]
    published_at: datetime | None
    topics: tuple[str, ...]
    score: float | None
    score_parts: dict[str, float]
    snippet: str
    state: str
    version: int
    follow_up_of: int | None
    updated_by: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "harvested_title": self.harvested_title,
            "source": self.source,
            "source_id": self.source_id,
            "other_outlets": list(self.other_outlets),
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "topics": list(self.topics),
            "score": self.score,
            "score_parts": self.score_parts,
            "snippet": self.snippet,
            "state": self.state,
            "version": self.version,
            "follow_up_of": self.follow_up_of,
            "updated_by": self.updated_by,
        }


@dataclass(frozen=True, slots=True)
class QueuePage:
    items: list[QueueItem]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


class QueueQueries:
    engine: Engine
    queue_index: QueueIndex | None = None
    """The queue's columns in memory (the review app turns it on: ``enable_queue_index``); None: SQL only."""

    def enable_queue_index(self) -> QueueIndex:
        """Answer queue pages from an in-memory index kept current by the change log (see store.queue_index)."""
        if self.queue_index is None:
            from news_harvester.store.queue_index import QueueIndex  # numpy: only the review app needs it

            self.queue_index = QueueIndex(self.engine.dialect.name)
        return self.queue_index

    def warm_queue_index(self) -> None:
        """Load the queue index now, if there is one (on a thread of its own at a web process's start)."""
        if self.queue_index is not None:
            with self.engine.connect() as conn:
                self.queue_index.refresh(conn)

    def _indexed_items(self, conn: Connection, index: QueueIndex, page_ids: list[int]) -> list[QueueItem]:
        """The page's rows: those the index holds unchanged, the rest read (and then kept)."""
        generation = index.generation
        cached = index.cached_rows(page_ids)
        missing = [i for i in page_ids if i not in cached]
        if missing:
            rows, topics, outlets = self._page_rows(conn, missing)
            read = {int(r.id): _queue_item(r, topics[int(r.id)], outlets[int(r.id)]) for r in rows}
            index.remember_rows(read, generation)
            cached |= read
        return [cached[i] for i in page_ids if i in cached]

    def _member_lists(
        self, conn: Connection, text: str | None, source: str | None
    ) -> list[tuple[tuple[str, str], Callable[[], Iterable[int]]]]:
        """The filters that depend on the stories' member articles, as (cache key, story ids to ask SQL for)."""
        lists: list[tuple[tuple[str, str], Callable[[], Iterable[int]]]] = []
        if text:
            lists.append((("text", text), lambda: conn.execute(self._text_hits(text)).scalars()))
        if source:
            member = articles.alias("member")
            by_source = select(member.c.story_id).where(
                member.c.story_id.is_not(None), or_(member.c.source_id == source, member.c.source_name == source)
            )
            lists.append((("source", source), lambda: conn.execute(by_source).scalars()))
        return lists

    def _indexed_page(
        self, conn: Connection, index: QueueIndex, filters: QueueFilter, page: int, per_page: int, now: datetime
    ) -> tuple[list[int], int] | None:
        """The page's ids and the total from the index; None when it cannot answer (then SQL does)."""
        text = filters.text.strip() if filters.text and filters.text.strip() else None
        try:
            return index.page(
                conn,
                states=filters.states,
                topic=filters.topic,
                member_lists=self._member_lists(conn, text, filters.source),
                date_from=filters.date_from,
                date_to=filters.date_to,
                offset=(max(page, 1) - 1) * per_page,
                limit=per_page,
                now=now,
            )
        except index.Unavailable:
            return None

    def queue(self, filters: QueueFilter, *, page: int = 1, per_page: int = 50, now: datetime) -> QueuePage:
        """One page of the queue, best score first. Snoozed stories come back once their date has passed.

        Two steps, so the page stays cheap at 50,000 stories: the ids of the page are found by walking the score
        index with every filter as an uncorrelated ``IN`` / ``EXISTS`` condition (no sort of all open stories,
        no title or body read), then only those rows are loaded with their canonical article."""
        index = self.queue_index
        with self.engine.connect() as conn:
            found = self._indexed_page(conn, index, filters, page, per_page, now) if index is not None else None
            if index is not None and found is not None:
                return QueuePage(self._indexed_items(conn, index, found[0]), found[1], max(page, 1), per_page)
            if found is None:
                ids_query, count, counted_in_page = self._page_plan(filters, page, per_page, now)
                page_rows = conn.execute(ids_query).all()
                page_ids = [int(r.id) for r in page_rows]
                total = (
                    int(page_rows[0].total) if counted_in_page and page_rows else int(conn.execute(count).scalar_one())
                )
            else:
                page_ids, total = found
            rows, topics, outlets = self._page_rows(conn, page_ids)
        items = [_queue_item(r, topics[int(r.id)], outlets[int(r.id)]) for r in rows]
        return QueuePage(items, total, max(page, 1), per_page)

    def _page_plan(self, filters: QueueFilter, page: int, per_page: int, now: datetime) -> tuple[Any, Any, bool]:
        """The page's id query, the count query, and whether the count is a column of the id query."""
        sqlite = self.engine.dialect.name == "sqlite"
        states = [s for s in filters.states if s in STATES]
        state_cond = _state_condition(states, now)
        narrowing = self._narrowing(filters)
        topic_ids = (
            select(story_topics.c.story_id).where(
                story_topics.c.topic_id == filters.topic, story_topics.c.rejected.is_(False)
            )
            if filters.topic
            else None
        )

        def state_exists() -> Any:
            where = [candidates.c.story_id == stories.c.id] + ([state_cond] if state_cond is not None else [])
            return select(candidates.c.id).where(*where).exists()

        def topic_exists() -> Any:
            return (
                select(story_topics.c.story_id)
                .where(
                    story_topics.c.story_id == stories.c.id,
                    story_topics.c.topic_id == filters.topic,
                    story_topics.c.rejected.is_(False),
                )
                .exists()
            )

        def state_ids() -> Any:
            return select(candidates.c.story_id).where(*([state_cond] if state_cond is not None else []))

        # The page walks ix_stories_score and stops after one page. With only state and topic filters (dense:
        # most stories pass) each visited story is checked by a point lookup (EXISTS on a unique or primary
        # key). A narrowing filter (text, date, source, or states without "new": few of the best-scored stories
        # pass) is a list built once per request and shared by the page and its count (a MATERIALIZED common
        # table expression; a correlated full-text condition took 44 s at 50,000 stories). A deep page (past
        # ~1,000 stories) visits so many stories that lists are cheaper than lookups for every condition.
        # On SQLite, "+0" keeps the planner from driving the page from a list (and then sorting every match)
        # instead of walking the score index.
        deep = page > DENSE_WALK_PAGES
        if states and "new" not in states and not narrowing:
            narrowing.append(state_ids())
            state_listed = True
        else:
            state_listed = False
        shared = [ids.cte(f"narrow_{k}").prefix_with("MATERIALIZED") for k, ids in enumerate(narrowing)]
        lists = [select(cte.c.story_id) for cte in shared]
        story_key: Any = stories.c.id + 0 if sqlite else stories.c.id
        conditions: list[Any] = [story_key.in_(ids) for ids in lists]
        if topic_ids is not None:
            conditions.append(story_key.in_(topic_ids) if lists or deep else topic_exists())
        if not state_listed:
            conditions.append(story_key.in_(state_ids()) if deep else state_exists())
        score_order = stories.c.score.desc()
        if not sqlite:  # SQLite sorts NULLs last in DESC already (and then uses the index)
            score_order = score_order.nulls_last()
        only_state = not narrowing or state_listed
        count = _count_query(filters.topic, state_cond, lists, topic_ids, only_state, state_listed, state_exists)
        # with shared lists the count is a column of the page query (one statement builds each list once);
        # an empty page then needs the count on its own
        total_column = [count.scalar_subquery().label("total")] if shared and not only_state else []
        ids_query = (
            select(stories.c.id, *total_column)
            .where(*conditions)
            .order_by(score_order, stories.c.id.desc())
            .limit(per_page)
            .offset((max(page, 1) - 1) * per_page)
        )
        return ids_query, count, bool(total_column)

    def _narrowing(self, filters: QueueFilter) -> list[Any]:
        """Story-id lists of the narrowing filters, most selective first (the count is driven by the first)."""
        narrowing: list[Any] = []
        if filters.text and filters.text.strip():
            narrowing.append(self._text_hits(filters.text.strip()))
        if filters.date_from or filters.date_to:
            dated = articles.alias("dated")
            when = func.coalesce(dated.c.published_at, dated.c.fetched_at)  # indexed (migration 0008)
            canonical = select(stories.c.canonical_article_id).where(stories.c.id == dated.c.story_id)
            window = select(dated.c.story_id).where(dated.c.id == canonical.scalar_subquery())
            if filters.date_from:
                window = window.where(when >= filters.date_from)
            if filters.date_to:
                window = window.where(when < filters.date_to)
            narrowing.append(window)
        if filters.source:
            member = articles.alias("member")
            narrowing.append(
                select(member.c.story_id).where(
                    or_(member.c.source_id == filters.source, member.c.source_name == filters.source)
                )
            )
        return narrowing

    @staticmethod
    def _page_rows(
        conn: Connection, page_ids: list[int]
    ) -> tuple[list[Any], dict[int, list[str]], dict[int, list[str]]]:
        """The page's stories with their canonical article and candidate, then their topics and outlets."""
        canon = articles.alias("canon")
        base = stories.outerjoin(canon, canon.c.id == stories.c.canonical_article_id).join(
            candidates, candidates.c.story_id == stories.c.id
        )
        loaded = (
            {
                int(r.id): r
                for r in conn.execute(
                    select(
                        stories.c.id,
                        stories.c.score,
                        stories.c.score_parts,
                        stories.c.follow_up_of,
                        canon.c.title,
                        canon.c.source_id,
                        canon.c.source_name,
                        canon.c.published_at,
                        canon.c.fetched_at,
                        func.substr(canon.c.body_text, 1, SNIPPET_CHARS).label("snippet"),
                        candidates.c.state,
                        candidates.c.version,
                        candidates.c.editor_title,
                        candidates.c.editor_summary,
                        candidates.c.updated_by,
                    )
                    .select_from(base)
                    .where(stories.c.id.in_(page_ids))
                )
            }
            if page_ids
            else {}
        )
        rows = [loaded[i] for i in page_ids if i in loaded]
        ids = [int(r.id) for r in rows]
        topics: dict[int, list[str]] = defaultdict(list)
        outlets: dict[int, list[str]] = defaultdict(list)
        if ids:
            for t in conn.execute(
                select(story_topics.c.story_id, story_topics.c.topic_id, story_topics.c.origin, story_topics.c.rejected)
                .where(story_topics.c.story_id.in_(ids))
                .order_by(story_topics.c.confidence.desc())
            ):
                if not t.rejected:
                    topics[int(t.story_id)].append(t.topic_id)
            for m in conn.execute(
                select(articles.c.story_id, articles.c.source_id, articles.c.source_name)
                .where(articles.c.story_id.in_(ids))
                .distinct()
            ):
                outlets[int(m.story_id)].append(m.source_name or m.source_id)
        return rows, topics, outlets

    def _text_hits(self, text: str) -> Any:
        """Ids of the stories with ``text`` in any member's title or body (trigram index), titles only for short
        queries (on SQLite through the small index of titles, migration 0008)."""
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        member = articles.alias("hit")
        if len(text) < MIN_INDEXED_QUERY:
            return select(member.c.story_id).where(member.c.title.like(pattern, escape="\\"))
        if self.engine.dialect.name == "sqlite":
            from sqlalchemy import text as sql_text

            phrase = '"' + text.replace('"', '""') + '"'
            # INDEXED BY: story_id from the small (id, story_id) index of migration 0008, not from the row (on
            # SQLite, reading that column walks past the stored page and body: 10 ms per 5,000 hits)
            return (
                sql_text(
                    "SELECT story_id FROM articles INDEXED BY search_articles_story "
                    "WHERE id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH :phrase)"
                )
                .bindparams(phrase=phrase)
                .columns(story_id=Integer)
            )
        return select(member.c.story_id).where(
            or_(member.c.title.ilike(pattern, escape="\\"), member.c.body_text.ilike(pattern, escape="\\"))
        )


def _queue_item(r: Any, topics: list[str], outlets: list[str]) -> QueueItem:
    source = r.source_name or r.source_id
    return QueueItem(
        id=int(r.id),
        title=r.editor_title or r.title,
        harvested_title=r.title,
        source=source,
        source_id=r.source_id,
        other_outlets=tuple(sorted({o for o in outlets if o != source})),
        published_at=r.published_at or r.fetched_at,
        topics=tuple(dict.fromkeys(topics)),
        score=r.score,
        score_parts=(json.loads(r.score_parts).get("parts", {}) if r.score_parts else {}),
        snippet=(r.editor_summary or r.snippet or "").replace("\n", " ").strip(),
        state=r.state,
        version=int(r.version),
        follow_up_of=r.follow_up_of,
        updated_by=r.updated_by,
    )


def _state_condition(states: list[str], now: datetime) -> Any:
    """The candidate-state condition of the wanted states (None: any state)."""
    if not states:
        return None
    state_cond: Any = candidates.c.state.in_([s for s in states if s != "snoozed"])
    if "snoozed" in states:
        return or_(state_cond, candidates.c.state == "snoozed")
    if "new" in states or "shortlisted" in states:
        # a snooze that has run out puts the story back in the queue
        return or_(state_cond, (candidates.c.state == "snoozed") & (candidates.c.snoozed_until <= now))
    return state_cond


def _count_query(
    topic: str | None,
    state_cond: Any,
    lists: list[Any],
    topic_ids: Any,
    only_state: bool,
    state_listed: bool,
    state_exists: Any,
) -> Any:
    # The count is driven by the most selective list (plain stories.id IN …, looked up by primary key) and
    # checks the rest per story; with no narrowing filter it reads the state index alone.
    state_where = [state_cond] if state_cond is not None else []
    if only_state and topic_ids is None:
        count = select(func.count()).select_from(candidates).where(candidates.c.story_id.is_not(None), *state_where)
    elif only_state:  # a topic: its rows joined to their candidates, no story row read
        count = (
            select(func.count())
            .select_from(story_topics.join(candidates, candidates.c.story_id == story_topics.c.story_id))
            .where(story_topics.c.topic_id == topic, story_topics.c.rejected.is_(False), *state_where)
        )
    else:
        drivers = [*lists, topic_ids] if topic_ids is not None else lists
        count = (
            select(func.count())
            .select_from(stories)
            .where(*[stories.c.id.in_(ids) for ids in drivers], *([] if state_listed else [state_exists()]))
        )
    return count
