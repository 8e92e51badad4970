"""SQL that reads stories for people and for training: ``stories list``/``show``, the editors' labels of the
learned model, and the stories to re-classify (mixed into Repository; the writing side is story_store.py)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from news_harvester.models import effective_topics
from news_harvester.store.schema import articles, candidates, stories, story_topics
from news_harvester.story_records import expand_classification

CHUNK = 500
"""Stories read per IN-list (one statement per chunk, bounded parameters)."""


@dataclass(frozen=True, slots=True)
class MemberView:
    article_id: int
    url: str
    source_id: str
    source: str
    title: str
    published_at: datetime | None
    layer: str | None
    similarity: float | None


@dataclass(frozen=True, slots=True)
class TopicView:
    id: str
    confidence: float
    origin: str


@dataclass(frozen=True, slots=True)
class StoryView:
    """One story as the queue and ``stories list`` show it."""

    id: int
    title: str
    canonical_url: str | None
    canonical_source: str | None
    attribution: str | None
    published_at: datetime | None
    score: float | None
    score_parts: dict[str, Any]
    topics: tuple[TopicView, ...]
    classification: dict[str, Any] | None
    state: str | None
    outlets: int
    follow_up_of: int | None
    used_issue_id: int | None
    members: tuple[MemberView, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "canonical_url": self.canonical_url,
            "attribution": self.attribution,
            "source": self.canonical_source,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "topics": [t.id for t in self.topics],
            "topic_confidence": {t.id: round(t.confidence, 3) for t in self.topics},
            "score": self.score,
            "score_parts": self.score_parts.get("parts", {}),
            "state": self.state,
            "outlets": self.outlets,
            "follow_up_of": self.follow_up_of,
            "used_issue_id": self.used_issue_id,
            "members": [
                {
                    "id": m.article_id,
                    "url": m.url,
                    "source": m.source,
                    "source_id": m.source_id,
                    "title": m.title,
                    "published_at": m.published_at.isoformat() if m.published_at else None,
                    "layer": m.layer,
                    "similarity": m.similarity,
                }
                for m in self.members
            ],
        }


@dataclass(frozen=True, slots=True)
class LabelRow:
    """An editor's judgement of a story, for training the learned model."""

    story_id: int
    title: str
    body: str
    topics: frozenset[str]
    topics_confirmed: bool
    accepted: bool | None


class StoryViewQueries:
    engine: Engine

    def topic_labels(self) -> list[LabelRow]:
        """Stories an editor judged: accepted/rejected/used candidates and stories with topic corrections."""
        with self.engine.connect() as conn:
            judged = {
                int(r.story_id): r.state
                for r in conn.execute(
                    select(candidates.c.story_id, candidates.c.state).where(
                        candidates.c.story_id.is_not(None), candidates.c.state.in_(["accepted", "rejected", "used"])
                    )
                )
            }
            topic_rows: dict[int, list[Any]] = defaultdict(list)
            for r in conn.execute(select(story_topics)):
                topic_rows[int(r.story_id)].append(r)
            corrected = {sid for sid, rows in topic_rows.items() if any(r.origin == "editor" for r in rows)}
            ids = sorted(set(judged) | corrected)
            out: list[LabelRow] = []
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                for r in conn.execute(
                    select(stories.c.id, articles.c.title, articles.c.body_text)
                    .select_from(stories.join(articles, articles.c.id == stories.c.canonical_article_id))
                    .where(stories.c.id.in_(chunk))
                ):
                    sid = int(r.id)
                    state = judged.get(sid)
                    out.append(
                        LabelRow(
                            story_id=sid,
                            title=r.title,
                            body=r.body_text,
                            topics=frozenset(t.topic_id for t in effective_topics(topic_rows[sid])),
                            # accepted stories confirm their topics; a correction confirms them too
                            topics_confirmed=sid in corrected or state in ("accepted", "used"),
                            accepted={"accepted": True, "used": True, "rejected": False}.get(state or ""),
                        )
                    )
        return out

    def list_stories(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        topic: str | None = None,
        states: Sequence[str] | None = None,
        story_ids: Sequence[int] | None = None,
        with_members: bool = True,
    ) -> list[StoryView]:
        """Stories by score (best first), each with its canonical article, topics and members."""
        canon = articles.alias("canon")
        query = (
            select(
                stories.c.id,
                stories.c.score,
                stories.c.score_parts,
                stories.c.classification,
                stories.c.outlets,
                stories.c.follow_up_of,
                stories.c.used_issue_id,
                canon.c.title,
                canon.c.url,
                canon.c.source_id,
                canon.c.source_name,
                canon.c.attribution,
                canon.c.published_at,
                canon.c.fetched_at,
                candidates.c.state,
            )
            .select_from(
                stories.outerjoin(canon, canon.c.id == stories.c.canonical_article_id).outerjoin(
                    candidates, candidates.c.story_id == stories.c.id
                )
            )
            .order_by(stories.c.score.desc().nulls_last(), stories.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        if states:
            query = query.where(candidates.c.state.in_(list(states)))
        if story_ids is not None:
            query = query.where(stories.c.id.in_(list(story_ids)))
        if topic:
            query = query.where(
                stories.c.id.in_(
                    select(story_topics.c.story_id).where(
                        story_topics.c.topic_id == topic, story_topics.c.rejected.is_(False)
                    )
                )
            )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            ids = [int(r.id) for r in rows]
            topic_rows: dict[int, list[Any]] = defaultdict(list)
            member_rows: dict[int, list[MemberView]] = defaultdict(list)
            if ids:
                for r in conn.execute(select(story_topics).where(story_topics.c.story_id.in_(ids))):
                    topic_rows[int(r.story_id)].append(r)
                if with_members:
                    member_rows = _member_views(conn, ids)
        return [_story_view(r, topic_rows[int(r.id)], member_rows[int(r.id)]) for r in rows]

    def stories_for_reclassification(self, since: datetime | None = None) -> Iterator[tuple[int, str, str, list[str]]]:
        """``(story_id, canonical title, canonical body, current topic ids)`` of stored stories, oldest first."""
        query = (
            select(stories.c.id, articles.c.title, articles.c.body_text)
            .select_from(stories.join(articles, articles.c.id == stories.c.canonical_article_id))
            .order_by(stories.c.id)
        )
        if since is not None:
            query = query.where(func.coalesce(articles.c.published_at, articles.c.fetched_at) >= since)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            for start in range(0, len(rows), CHUNK):
                chunk = rows[start : start + CHUNK]
                topic_rows: dict[int, list[Any]] = defaultdict(list)
                for r in conn.execute(
                    select(story_topics).where(story_topics.c.story_id.in_([int(c.id) for c in chunk]))
                ):
                    topic_rows[int(r.story_id)].append(r)
                for r in chunk:
                    yield (
                        int(r.id),
                        r.title,
                        r.body_text,
                        sorted(t.topic_id for t in effective_topics(topic_rows[int(r.id)])),
                    )


def _member_views(conn: Connection, ids: list[int]) -> dict[int, list[MemberView]]:
    """Members of each story, earliest report first."""
    member_rows: dict[int, list[MemberView]] = defaultdict(list)
    for r in conn.execute(
        select(
            articles.c.story_id,
            articles.c.id,
            articles.c.url,
            articles.c.source_id,
            articles.c.source_name,
            articles.c.title,
            articles.c.published_at,
            articles.c.story_layer,
            articles.c.story_similarity,
        )
        .where(articles.c.story_id.in_(ids))
        .order_by(func.coalesce(articles.c.published_at, articles.c.fetched_at), articles.c.id)
    ):
        member_rows[int(r.story_id)].append(
            MemberView(
                int(r.id),
                r.url,
                r.source_id,
                r.source_name or r.source_id,
                r.title,
                r.published_at,
                r.story_layer,
                r.story_similarity,
            )
        )
    return member_rows


def _story_view(r: Any, topic_rows: list[Any], members: list[MemberView]) -> StoryView:
    return StoryView(
        id=int(r.id),
        title=r.title or "",
        canonical_url=r.url,
        canonical_source=r.source_name or r.source_id,
        attribution=r.attribution or r.source_name,
        published_at=r.published_at or r.fetched_at,
        score=r.score,
        score_parts=json.loads(r.score_parts) if r.score_parts else {},
        topics=tuple(
            TopicView(t.topic_id, t.confidence, t.origin)
            for t in sorted(effective_topics(topic_rows), key=lambda t: -t.confidence)
        ),
        classification=expand_classification(json.loads(r.classification)) if r.classification else None,
        state=r.state,
        outlets=r.outlets or len(members),
        follow_up_of=r.follow_up_of,
        used_issue_id=r.used_issue_id,
        members=tuple(members),
    )
