"""Refreshing stories (mixed into the Repository through ``StoryQueries``): read a story's members and stored state,
let the decider it is handed (``store.story_ports.StoryDecider``: news_harvester.stories.refresh through the run's
batch) decide its canonical member, classification, topics and score, write what changed. Runs inside the storing
transaction for new and changed articles, and over the window when re-scoring.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, delete, func, insert, select

from news_harvester.models import TopicRow
from news_harvester.store.schema import (
    articles,
    candidates,
    stories,
    story_topics,
)
from news_harvester.store.transactions import execute_grouped
from news_harvester.story_records import MemberFacts, StoredStory, StoryRefresh

if TYPE_CHECKING:
    from news_harvester.store.story_ports import StoryDecider, StoryRules

CHUNK = 500
"""Stories (or articles) per statement batch when refreshing or indexing many."""


class StoryRefreshQueries:
    engine: Engine

    def _refresh_stories(
        self,
        conn: Connection,
        story_ids: Iterable[int],
        batch: StoryDecider,
        now: datetime,
        *,
        reclassify: bool = False,
    ) -> None:
        """Recompute canonical member, topics (when the canonical or the classifier changed) and score."""
        ids = sorted(set(story_ids))
        for start in range(0, len(ids), CHUNK):
            self._refresh_chunk(conn, ids[start : start + CHUNK], batch, now, reclassify)

    def _refresh_chunk(
        self, conn: Connection, ids: list[int], decider: StoryDecider, now: datetime, reclassify: bool
    ) -> None:
        """Read a chunk of stories as records, let the decider decide, write what it decided."""
        members = self._member_facts(conn, ids)
        stored = self._stored_stories(conn, ids)
        canonical = decider.canonical(members)
        to_classify = decider.to_classify(stored, canonical, reclassify)
        texts: dict[int, tuple[str, str]] = {}
        if to_classify:
            story_of = {canonical[s]: s for s in to_classify}
            for r in conn.execute(
                select(articles.c.id, articles.c.title, articles.c.body_text).where(articles.c.id.in_(sorted(story_of)))
            ):
                texts[story_of[int(r.id)]] = (r.title, r.body_text)
        self._write_refreshes(conn, decider.refresh(stored, members, canonical, texts, now), now)

    @staticmethod
    def _member_facts(conn: Connection, ids: list[int]) -> dict[int, list[MemberFacts]]:
        members: dict[int, list[MemberFacts]] = defaultdict(list)
        for row in conn.execute(
            select(
                articles.c.story_id,
                articles.c.id,
                articles.c.source_id,
                articles.c.source_name,
                articles.c.source_weight,
                articles.c.published_at,
                articles.c.fetched_at,
            ).where(articles.c.story_id.in_(ids))
        ):
            members[int(row.story_id)].append(
                MemberFacts(
                    int(row.id), row.source_id, row.source_name, row.source_weight, row.published_at, row.fetched_at
                )
            )
        return members

    @staticmethod
    def _stored_stories(conn: Connection, ids: list[int]) -> dict[int, StoredStory]:
        states = {
            int(r.story_id): r.state
            for r in conn.execute(
                select(candidates.c.story_id, candidates.c.state).where(candidates.c.story_id.in_(ids))
            )
        }
        topic_rows: dict[int, list[TopicRow]] = defaultdict(list)
        for r in conn.execute(select(story_topics).where(story_topics.c.story_id.in_(ids))):
            topic_rows[int(r.story_id)].append(TopicRow(r.topic_id, float(r.confidence), r.origin, bool(r.rejected)))
        return {
            int(r.id): StoredStory(
                story_id=int(r.id),
                canonical_article_id=r.canonical_article_id,
                taxonomy_digest=r.taxonomy_digest,
                classification=json.loads(r.classification) if r.classification else None,
                used=r.used_issue_id is not None,
                state=states.get(int(r.id)),
                topics=tuple(topic_rows[int(r.id)]),
            )
            for r in conn.execute(
                select(
                    stories.c.id,
                    stories.c.canonical_article_id,
                    stories.c.taxonomy_digest,
                    stories.c.classification,
                    stories.c.used_issue_id,
                ).where(stories.c.id.in_(ids))
            )
        }

    @staticmethod
    def _write_refreshes(conn: Connection, refreshes: list[StoryRefresh], now: datetime) -> None:
        classified = sorted(r.story_id for r in refreshes if r.classification is not None)
        if classified:  # one DELETE and one executemany for the chunk, not two statements per story
            conn.execute(
                delete(story_topics).where(story_topics.c.story_id.in_(classified), story_topics.c.origin == "auto")
            )
        fresh_rows = [
            {"story_id": r.story_id, "topic_id": t.topic_id, "confidence": t.confidence, "origin": "auto"}
            for r in refreshes
            if r.classification is not None
            for t in r.auto_topics
        ]
        if fresh_rows:
            conn.execute(insert(story_topics), fresh_rows)
        updates: list[dict[str, Any]] = []
        for r in refreshes:
            values: dict[str, Any] = {
                "canonical_article_id": r.canonical_article_id,
                "score": r.score,
                "score_parts": json.dumps(r.score_parts, ensure_ascii=False),
                "scored_at": now,
                "outlets": r.outlets,
                "updated_at": now,
            }
            if r.classification is not None:
                values |= {
                    "classification": r.classification,  # JSON text, made where the story was classified
                    "taxonomy_digest": r.taxonomy_digest,
                    "classified_at": now,
                }
            updates.append(values | {"sid": r.story_id})
        execute_grouped(conn, stories, stories.c.id, "sid", updates)

    def refresh_window(self, service: StoryRules, since: datetime, now: datetime, *, reclassify: bool = False) -> int:
        """Re-score (and, when the classifier changed or ``reclassify``, re-classify) every story with a member
        published since ``since``, a chunk per transaction; returns how many stories."""
        with self.engine.connect() as conn:
            ids = sorted(
                int(i)
                for i in conn.execute(
                    select(articles.c.story_id)
                    .where(articles.c.story_id.is_not(None))
                    .where(func.coalesce(articles.c.published_at, articles.c.fetched_at) >= since)
                    .distinct()
                ).scalars()
            )
        batch = service.begin()
        for start in range(0, len(ids), CHUNK):
            with self.engine.begin() as conn:
                self._refresh_chunk(conn, ids[start : start + CHUNK], batch, now, reclassify)
        return len(ids)

    # ------------------------------------------------------------------ cross-issue memory
