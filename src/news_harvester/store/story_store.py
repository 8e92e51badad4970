"""SQL of stories: assignment, canonical member, topics, score, cross-issue memory and listing.

Mixed into :class:`~news_harvester.store.repository.Repository` (``StoryQueries``). The decisions are pure
and live elsewhere (dedupe, stories, topics, ranking); this module only reads the facts they need and writes
their results, inside the caller's transaction where one is given.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update

from news_harvester.errors import StorageError
from news_harvester.store.schema import articles, candidates, issues, stories, story_topics, topic_models
from news_harvester.stories.assign import (
    StoryBatch,
    StoryEnricher,
    StoryMember,
    UsedStory,
    book_titles,
    canonical_member,
)
from news_harvester.stories.dedupe import DedupeDoc, DedupeParams, StoryIndex
from news_harvester.stories.ranking import StoryFacts

if TYPE_CHECKING:
    from news_harvester.stories.assign import StoryService

CHUNK = 500
EDITOR_CONFIDENCE = 1.0
"""Confidence of a topic an editor added: editors outrank the classifier."""
OPEN_STATES = ("new", "shortlisted", "snoozed")
"""Candidate states of stories still waiting for an editor's decision."""


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


def _doc(article_id: int, title: str, body: str, url: str, published: datetime | None) -> DedupeDoc:
    return DedupeDoc(id=article_id, url=url, title=title, body=body, published_at=published)


DOC_COLUMNS = (
    articles.c.id,
    articles.c.url,
    articles.c.title,
    articles.c.body_text,
    articles.c.published_at,
    articles.c.fetched_at,
)
"""The columns of a stored article that ``stored_doc`` turns into its dedupe document."""


def stored_doc(row: Any) -> DedupeDoc:
    """The dedupe document of a stored article selected with ``DOC_COLUMNS`` (undated: its fetch time)."""
    return _doc(int(row.id), row.title, row.body_text, row.url, row.published_at or row.fetched_at)


class StoryQueries:
    engine: Engine

    # ------------------------------------------------------------------ assignment (inside a run's transaction)

    def _assign_stories(
        self, conn: Connection, new: Sequence[tuple[int, DedupeDoc]], batch: StoryBatch, now: datetime
    ) -> list[tuple[int, int]]:
        """Give each new article a story; returns ``(article_id, story_id)`` of the articles that started one.

        Every touched story gets its canonical member, topics and score recomputed before returning."""
        touched: set[int] = set()
        founders: list[tuple[int, int]] = []
        placed: list[dict[str, Any]] = []
        for article_id, doc in new:
            decision, fp = batch.decide(doc)
            layer: str | None
            similarity: float | None
            if decision.story_id is None:
                follow = batch.follow_up(doc, fp)
                story_id = int(
                    conn.execute(
                        insert(stories)
                        .values(created_at=now, updated_at=now, follow_up_of=follow[0] if follow else None)
                        .returning(stories.c.id)
                    ).scalar_one()
                )
                layer, similarity = "new", None
                founders.append((article_id, story_id))
            else:
                story_id, layer, similarity = decision.story_id, decision.layer, decision.similarity
            placed.append({"aid": article_id, "sid": story_id, "layer": layer, "similarity": similarity})
            batch.record(doc, story_id, fp)
            touched.add(story_id)
        if placed:  # one executemany: a statement per article costs more than deciding its story
            conn.execute(
                update(articles)
                .where(articles.c.id == bindparam("aid"))
                .values(
                    story_id=bindparam("sid"), story_layer=bindparam("layer"), story_similarity=bindparam("similarity")
                ),
                placed,
            )
        if touched:
            self._refresh_stories(conn, touched, batch, now)
        return founders

    def _restory_changed(
        self, conn: Connection, changed: Sequence[tuple[int, Any]], batch: StoryBatch, now: datetime
    ) -> None:
        """Articles whose harvested content changed keep their story (an edit of a page is still that page's
        story); the index takes their new fingerprint and their story is re-classified and re-scored."""
        story_ids: set[int] = set()
        for article_id, article in changed:
            story_id = conn.execute(select(articles.c.story_id).where(articles.c.id == article_id)).scalar()
            if story_id is None:
                continue
            doc = _doc(
                article_id, article.title, article.body_text, article.url, article.published_at or article.fetched_at
            )
            batch.replace(doc, int(story_id))
            story_ids.add(int(story_id))
        if story_ids:
            self._refresh_stories(conn, story_ids, batch, now, reclassify=True)

    def backfill_stories(self, service: StoryService, now: datetime) -> int:
        """Assign stories to articles stored before stories existed (oldest first); returns how many."""
        done = 0
        while True:
            with self.engine.begin() as conn:
                rows = conn.execute(
                    select(*DOC_COLUMNS).where(articles.c.story_id.is_(None)).order_by(articles.c.id).limit(CHUNK)
                ).all()
                if not rows:
                    return done
                batch = service.begin()
                new = [(int(r.id), stored_doc(r)) for r in rows]
                founders = self._assign_stories(conn, new, batch, now)
                self._link_candidates(conn, founders, now)
            service.commit(batch, now)
            done += len(rows)

    @staticmethod
    def _link_candidates(
        conn: Connection, founders: Sequence[tuple[int, int]], now: datetime, *, fresh: bool = False
    ) -> None:
        """The story's candidate is the founding article's candidate row (created when missing). ``fresh``:
        the articles were inserted in this transaction, so none has a candidate yet (one executemany)."""
        if fresh:
            if founders:
                conn.execute(
                    insert(candidates),
                    [{"article_id": a, "story_id": s, "state": "new", "created_at": now} for a, s in founders],
                )
            return
        for article_id, story_id in founders:
            updated = conn.execute(
                update(candidates)
                .where(candidates.c.article_id == article_id, candidates.c.story_id.is_(None))
                .values(story_id=story_id)
            )
            if not updated.rowcount:
                conn.execute(
                    insert(candidates).values(article_id=article_id, story_id=story_id, state="new", created_at=now)
                )

    # ------------------------------------------------------------------ canonical, topics, score

    def _refresh_stories(
        self,
        conn: Connection,
        story_ids: Iterable[int],
        batch: StoryBatch,
        now: datetime,
        *,
        reclassify: bool = False,
    ) -> None:
        """Recompute canonical member, topics (when the canonical or the classifier changed) and score."""
        ids = sorted(set(story_ids))
        for start in range(0, len(ids), CHUNK):
            self._refresh_chunk(conn, ids[start : start + CHUNK], batch.weights, batch.enricher, now, reclassify)

    def _refresh_chunk(
        self,
        conn: Connection,
        ids: list[int],
        weights: Any,
        enricher: StoryEnricher,
        now: datetime,
        reclassify: bool,
    ) -> None:
        members: dict[int, list[Any]] = defaultdict(list)
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
            members[int(row.story_id)].append(row)
        current = {
            int(r.id): r
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
        states = {
            int(r.story_id): r.state
            for r in conn.execute(
                select(candidates.c.story_id, candidates.c.state).where(candidates.c.story_id.in_(ids))
            )
        }
        topic_rows: dict[int, list[Any]] = defaultdict(list)
        for r in conn.execute(select(story_topics).where(story_topics.c.story_id.in_(ids))):
            topic_rows[int(r.story_id)].append(r)

        canonical: dict[int, int] = {}
        for story_id, group in members.items():
            canonical[story_id] = canonical_member(
                (StoryMember(int(m.id), m.source_id, m.published_at, m.fetched_at, m.source_weight) for m in group),
                weights,
            )
        digest = enricher.digest
        to_classify = [
            sid
            for sid, cid in canonical.items()
            if digest is not None
            and (reclassify or current[sid].canonical_article_id != cid or current[sid].taxonomy_digest != digest)
        ]
        texts = {}
        if to_classify:
            texts = {
                int(r.id): (r.title, r.body_text)
                for r in conn.execute(
                    select(articles.c.id, articles.c.title, articles.c.body_text).where(
                        articles.c.id.in_([canonical[s] for s in to_classify])
                    )
                )
            }
        classifications: dict[int, dict[str, Any]] = {}
        fresh_rows: list[dict[str, Any]] = []
        for sid in to_classify:
            title, body = texts[canonical[sid]]
            result = enricher.classify(title, body)
            if result is None:
                continue
            fresh_explanation = result.to_json()
            if result.accept is not None:  # the editors' model's P(accept), read in the same pass
                fresh_explanation["relevance"] = round(result.accept, 4)
            classifications[sid] = fresh_explanation
            editor_ids = {r.topic_id for r in topic_rows[sid] if r.origin == "editor"}
            fresh = [
                _TopicRow(t.topic_id, t.confidence, "auto", False)
                for t in result.topics
                if t.topic_id not in editor_ids
            ]
            fresh_rows += [
                {"story_id": sid, "topic_id": t.topic_id, "confidence": t.confidence, "origin": "auto"} for t in fresh
            ]
            topic_rows[sid] = [r for r in topic_rows[sid] if r.origin == "editor"] + fresh
        if classifications:  # one DELETE and one executemany for the chunk, not two statements per story
            conn.execute(
                delete(story_topics).where(
                    story_topics.c.story_id.in_(sorted(classifications)), story_topics.c.origin == "auto"
                )
            )
        if fresh_rows:
            conn.execute(insert(story_topics), fresh_rows)

        updates: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for story_id, group in members.items():
            story_row = current[story_id]
            explanation: dict[str, Any] | None = classifications.get(story_id)
            if explanation is None and story_row.classification:
                explanation = json.loads(story_row.classification)
            effective = _effective_topics(topic_rows[story_id])
            outlets = len({m.source_name or m.source_id for m in group})
            canon = next(m for m in group if int(m.id) == canonical[story_id])
            facts = StoryFacts(
                topic_confidence=max((t.confidence for t in effective), default=0.0),
                off_topic=(digest is not None or explanation is not None) and not effective,
                source_weight=canon.source_weight
                if canon.source_weight is not None
                else weights.get(canon.source_id, 1.0),
                outlets=outlets,
                published_at=min(m.published_at or m.fetched_at for m in group),
                used=story_row.used_issue_id is not None,
                rejected=states.get(story_id) == "rejected",
                relevance=(explanation or {}).get("relevance"),
                brief_probability=(explanation or {}).get("brief_probability"),
            )
            score = enricher.score(facts, now)
            values: dict[str, Any] = {
                "canonical_article_id": canonical[story_id],
                "score": score.total,
                "score_parts": json.dumps(
                    {
                        "parts": score.parts,
                        "facts": {
                            "topic_confidence": round(facts.topic_confidence, 4),
                            "source_weight": facts.source_weight,
                            "outlets": facts.outlets,
                            "published_at": facts.published_at.isoformat(),
                            "used": facts.used,
                            "rejected": facts.rejected,
                            "relevance": facts.relevance,
                            "brief_probability": facts.brief_probability,
                        },
                    },
                    ensure_ascii=False,
                ),
                "scored_at": now,
                "outlets": outlets,
                "updated_at": now,
            }
            if story_id in classifications:
                values |= {
                    "classification": json.dumps(classifications[story_id], ensure_ascii=False),
                    "taxonomy_digest": digest,
                    "classified_at": now,
                }
            updates[tuple(sorted(values))].append(values | {"sid": story_id})
        for keys, rows in updates.items():
            conn.execute(
                update(stories).where(stories.c.id == bindparam("sid")).values({k: bindparam(k) for k in keys}), rows
            )

    def refresh_window(self, service: StoryService, since: datetime, now: datetime, *, reclassify: bool = False) -> int:
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
                self._refresh_chunk(conn, ids[start : start + CHUNK], batch.weights, batch.enricher, now, reclassify)
        return len(ids)

    # ------------------------------------------------------------------ cross-issue memory

    def create_issue(self, year: int, number: int, now: datetime, *, total_number: int | None = None) -> int:
        """An issue with no masthead or sections (tests of cross-issue memory); see IssueQueries.new_issue."""
        new_issue: Any = getattr(self, "new_issue")  # noqa: B009 - IssueQueries, mixed into the same Repository
        return int(
            new_issue(
                year=year,
                number=number,
                total_number=total_number,
                issue_date=now.date(),
                title="",
                publisher="",
                sections=(),
                user="system",
                now=now,
            )
        )

    def mark_used(self, issue_id: int, story_ids: Iterable[int], service: StoryService, now: datetime) -> None:
        """Record that a published issue used these stories: their candidates become ``used``, their score
        takes the used penalty, and the harvester's follow-up detection learns them."""
        ids = sorted(set(story_ids))
        with self.engine.begin() as conn:
            if conn.execute(select(issues.c.id).where(issues.c.id == issue_id)).first() is None:
                raise StorageError(f"no issue {issue_id}", code="storage.not_found")
            conn.execute(update(stories).where(stories.c.id.in_(ids)).values(used_issue_id=issue_id, used_at=now))
            conn.execute(
                update(candidates)
                .where(candidates.c.story_id.in_(ids))
                .values(state="used", state_changed_at=now, version=candidates.c.version + 1)
            )
            self._refresh_stories(conn, ids, service.begin(), now)
        service.refresh_used(self, now)  # type: ignore[arg-type]

    def used_stories(self, since: datetime, params: DedupeParams) -> Iterator[UsedStory]:
        """The canonical articles of stories used in an issue, published since ``since``."""
        index = StoryIndex(params)
        query = (
            select(
                stories.c.id,
                articles.c.id.label("article_id"),
                articles.c.url,
                articles.c.title,
                articles.c.body_text,
                articles.c.published_at,
                articles.c.fetched_at,
            )
            .select_from(stories.join(articles, articles.c.id == stories.c.canonical_article_id))
            .where(stories.c.used_issue_id.is_not(None))
            .where(func.coalesce(articles.c.published_at, articles.c.fetched_at) >= since)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        for r in rows:
            published = r.published_at or r.fetched_at
            fp = index.fingerprint(_doc(int(r.article_id), r.title, r.body_text, r.url, published))
            yield UsedStory(int(r.id), fp.title_bigrams, fp.minhash, book_titles(r.title, r.body_text), published)

    # ------------------------------------------------------------------ editor labels and models

    def set_story_topics(
        self,
        story_id: int,
        *,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        service: StoryService,
        now: datetime,
    ) -> None:
        """An editor's topic correction: added topics are kept at full confidence, removed ones stay removed
        across re-classification. Both are labels for the learned model."""
        with self.engine.begin() as conn:
            self._set_story_topics(conn, story_id, add=add, remove=remove, service=service, now=now)

    def _set_story_topics(
        self,
        conn: Connection,
        story_id: int,
        *,
        add: Iterable[str],
        remove: Iterable[str],
        service: StoryService,
        now: datetime,
    ) -> None:
        added, removed = set(add), set(remove)
        if conn.execute(select(stories.c.id).where(stories.c.id == story_id)).first() is None:
            raise StorageError(f"no story {story_id}", code="storage.not_found")
        conn.execute(
            delete(story_topics).where(
                story_topics.c.story_id == story_id, story_topics.c.topic_id.in_(sorted(added | removed))
            )
        )
        rows = [
            {
                "story_id": story_id,
                "topic_id": t,
                "confidence": EDITOR_CONFIDENCE,
                "origin": "editor",
                "rejected": False,
            }
            for t in sorted(added)
        ] + [
            {"story_id": story_id, "topic_id": t, "confidence": 0.0, "origin": "editor", "rejected": True}
            for t in sorted(removed - added)
        ]
        if rows:
            conn.execute(insert(story_topics), rows)
        self._refresh_stories(conn, [story_id], service.begin(), now)

    def set_story_state(
        self, story_id: int, state: str, *, service: StoryService, now: datetime, by: str = "editor"
    ) -> None:
        """Minimal state change (accept / reject / shortlist …) until the review app owns the workflow."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(candidates)
                .where(candidates.c.story_id == story_id)
                .values(state=state, state_changed_at=now, updated_by=by, version=candidates.c.version + 1)
            )
            if not done.rowcount:
                raise StorageError(f"no candidate for story {story_id}", code="storage.not_found")
            self._refresh_stories(conn, [story_id], service.begin(), now)

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
                            topics=frozenset(t.topic_id for t in _effective_topics(topic_rows[sid])),
                            # accepted stories confirm their topics; a correction confirms them too
                            topics_confirmed=sid in corrected or state in ("accepted", "used"),
                            accepted={"accepted": True, "used": True, "rejected": False}.get(state or ""),
                        )
                    )
        return out

    def save_topic_model(self, blob: bytes, *, digest: str, examples: int, info: dict[str, Any], now: datetime) -> int:
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    insert(topic_models)
                    .values(
                        trained_at=now,
                        taxonomy_digest=digest,
                        examples=examples,
                        info=json.dumps(info, ensure_ascii=False, default=str),
                        model=blob,
                    )
                    .returning(topic_models.c.id)
                ).scalar_one()
            )

    def latest_topic_model(self) -> tuple[int, bytes, dict[str, Any]] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(topic_models.c.id, topic_models.c.model, topic_models.c.info).order_by(topic_models.c.id.desc())
            ).first()
        if row is None:
            return None
        return int(row.id), bytes(row.model), json.loads(row.info or "{}")

    # ------------------------------------------------------------------ reading stories

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
        return [
            StoryView(
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
                    for t in sorted(_effective_topics(topic_rows[int(r.id)]), key=lambda t: -t.confidence)
                ),
                classification=json.loads(r.classification) if r.classification else None,
                state=r.state,
                outlets=r.outlets or len(member_rows[int(r.id)]),
                follow_up_of=r.follow_up_of,
                used_issue_id=r.used_issue_id,
                members=tuple(member_rows[int(r.id)]),
            )
            for r in rows
        ]

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
                        sorted(t.topic_id for t in _effective_topics(topic_rows[int(r.id)])),
                    )


@dataclass(frozen=True, slots=True)
class _TopicRow:
    topic_id: str
    confidence: float
    origin: str
    rejected: bool


def _effective_topics(rows: Iterable[Any]) -> list[_TopicRow]:
    """Classifier topics, minus those an editor removed, plus those an editor added."""
    rows = list(rows)
    removed = {r.topic_id for r in rows if r.origin == "editor" and r.rejected}
    out: dict[str, _TopicRow] = {}
    for r in rows:
        if r.rejected or (r.topic_id in removed and r.origin != "editor"):
            continue
        previous = out.get(r.topic_id)
        if previous is None or r.origin == "editor":
            out[r.topic_id] = _TopicRow(r.topic_id, float(r.confidence), r.origin, False)
    return list(out.values())


__all__ = ["LabelRow", "MemberView", "StoryQueries", "StoryView", "TopicView"]
