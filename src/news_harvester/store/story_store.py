"""SQL of stories: assignment, canonical member, topics, score, cross-issue memory and listing.

Mixed into :class:`~news_harvester.store.repository.Repository` (``StoryQueries``). The decisions are pure
and live elsewhere (dedupe, stories, topics, ranking); this module only reads the facts they need and writes
their results, inside the caller's transaction where one is given.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update

from news_harvester.errors import StorageError
from news_harvester.store.schema import (
    articles,
    candidates,
    issues,
    stories,
    story_fingerprints,
    story_topics,
    topic_models,
)
from news_harvester.store.story_index import IndexEntry, StoredStoryLookup, StoryIndexStore
from news_harvester.store.story_refresh import CHUNK, StoryRefreshQueries
from news_harvester.story_records import DedupeDoc, Fingerprint, UsedStoryText

if TYPE_CHECKING:
    from news_harvester.store.story_ports import StoryDecider, StoryRules

log = logging.getLogger(__name__)

EDITOR_CONFIDENCE = 1.0
"""Confidence of a topic an editor added: editors outrank the classifier."""


_NEW_STORIES = insert(stories).returning(stories.c.id, sort_by_parameter_order=True)
"""A batch's new stories in one multi-row INSERT, their ids in the order given (built once per process)."""

_PLACE_ARTICLES = (
    update(articles)
    .where(articles.c.id == bindparam("aid"))
    .values(story_id=bindparam("sid"), story_layer=bindparam("layer"), story_similarity=bindparam("similarity"))
)


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


class NewArticle(NamedTuple):
    """An article just inserted, about to be given a story: its dedupe document (``id`` is the article's id),
    its fetch time (from when it stays in the story index) and its fingerprint when already computed."""

    doc: DedupeDoc
    fetched_at: datetime
    fingerprint: Fingerprint | None = None


def index_entry(article_id: int, fp: Fingerprint, version: int, stored_at: datetime) -> IndexEntry:
    """What the stored index keeps of an article's fingerprint (undated: dated by when it was stored)."""
    return IndexEntry(
        article_id=article_id,
        stored_at=stored_at,
        published_at=fp.published_at or stored_at,
        content_hash=fp.content_hash,
        minhash=None if fp.minhash is None else fp.minhash.astype("<u4").tobytes(),
        band_keys=fp.band_keys,
        title_keys=fp.title_keys,
        version=version,
    )


class StoryQueries(StoryRefreshQueries):
    engine: Engine

    # ------------------------------------------------------------------ assignment (inside a run's transaction)

    def _assign_stories(
        self,
        conn: Connection,
        new: Sequence[NewArticle],
        batch: StoryDecider,
        now: datetime,
    ) -> list[tuple[int, int]]:
        """Give each article just inserted in ``conn``'s transaction a story and index it; returns
        ``(article_id, story_id)`` of the articles that started one.

        Every touched story gets its canonical member, topics and score recomputed before returning."""
        touched: set[int] = set()
        founders: list[tuple[int, int]] = []
        placed: list[dict[str, Any]] = []
        made: list[dict[str, Any]] = []
        entries: list[IndexEntry] = []
        fresh = {a.doc.id: a.doc.url for a in new}
        stored = StoredStoryLookup(conn, batch.version, now - batch.window, fresh=fresh)
        fps = [a.fingerprint or batch.fingerprint(a.doc) for a in new]
        stored.prefetch((fp.content_hash for fp in fps), (k for fp in fps for k in fp.band_keys))
        for article, known in zip(new, fps, strict=True):
            doc = article.doc
            decision, fp = batch.decide(doc, stored, known)
            layer: str | None
            similarity: float | None
            if decision.story_id is None:
                follow = batch.follow_up(doc, fp)
                made.append({"created_at": now, "updated_at": now, "follow_up_of": follow[0] if follow else None})
                story_id = -len(made)  # provisional, until the batch's new stories are inserted together below
                layer, similarity = "new", None
                founders.append((doc.id, story_id))
            else:
                story_id, layer, similarity = decision.story_id, decision.layer, decision.similarity
            placed.append({"aid": doc.id, "sid": story_id, "layer": layer, "similarity": similarity})
            batch.record(doc, story_id, fp)
            entries.append(index_entry(doc.id, fp, batch.version, article.fetched_at))
            touched.add(story_id)
        if made:  # one statement for the batch's new stories, not one INSERT … RETURNING each
            number = {-k: int(i) for k, i in enumerate(conn.execute(_NEW_STORIES, made).scalars(), start=1)}
            founders = [(article_id, number.get(s, s)) for article_id, s in founders]
            touched = {number.get(s, s) for s in touched}
            for row in placed:
                row["sid"] = number.get(row["sid"], row["sid"])
            batch.renumber(number)
        if placed:  # one executemany: a statement per article costs more than deciding its story
            conn.execute(_PLACE_ARTICLES, placed)
            StoryIndexStore.add(conn, entries)
        if touched:
            self._refresh_stories(conn, touched, batch, now)
        return founders

    def _restory_changed(
        self, conn: Connection, changed: Sequence[tuple[int, Any]], batch: StoryDecider, now: datetime
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
            fetched = conn.execute(select(articles.c.fetched_at).where(articles.c.id == article_id)).scalar_one()
            entry = index_entry(article_id, batch.fingerprint(doc), batch.version, fetched)
            StoryIndexStore.remove(conn, [article_id])
            StoryIndexStore.add(conn, [entry])
        if story_ids:
            self._refresh_stories(conn, story_ids, batch, now, reclassify=True)

    def prepare_story_index(self, service: StoryRules, now: datetime) -> int:
        """Index the window's articles the stored index lacks, a batch per transaction with progress in the log;
        returns how many. Nothing to do on a database whose articles were all stored with the index in it; the
        first start after migration 0010 (or after the dedupe parameters changed) fills it in."""
        version = service.version
        since = now - service.window
        with self.engine.begin() as conn:
            if StoryIndexStore.stale(conn, version):
                log.warning("story index: keys of other dedupe parameters found, rebuilding the index")
                StoryIndexStore.clear(conn)
            missing = StoryIndexStore.unindexed(conn, since)
        if missing:
            log.info("story index: indexing %d stored articles of the window", len(missing))
        done = 0
        for start in range(0, len(missing), CHUNK):
            with self.engine.begin() as conn:
                rows = conn.execute(
                    select(*DOC_COLUMNS).where(
                        articles.c.id.in_(missing[start : start + CHUNK]), articles.c.fetched_at >= since
                    )
                ).all()
                docs = [stored_doc(r) for r in rows]
                fetched = {int(r.id): r.fetched_at for r in rows}
                entries = [index_entry(d.id, service.fingerprint(d), version, fetched[d.id]) for d in docs]
                StoryIndexStore.add(conn, entries)
            done += len(rows)
            if (start // CHUNK) % 10 == 9 or start + CHUNK >= len(missing):
                log.info("story index: %d of %d articles indexed", min(start + CHUNK, len(missing)), len(missing))
        return done

    def story_index_size(self) -> int:
        """How many articles the stored story index holds."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(story_fingerprints)).scalar_one())

    def indexed_story(self, article_id: int) -> int | None:
        """The story of an article as the stored index has it, or None when the article is not indexed."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(articles.c.story_id)
                .select_from(story_fingerprints.join(articles, articles.c.id == story_fingerprints.c.article_id))
                .where(story_fingerprints.c.article_id == article_id)
            ).scalar()
        return None if found is None else int(found)

    def backfill_story_chunk(self, batch: StoryDecider, now: datetime) -> int:
        """Assign stories to the oldest articles stored before stories existed, up to a chunk in one transaction;
        returns how many (0: none is left). The caller commits ``batch`` after each chunk."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(*DOC_COLUMNS).where(articles.c.story_id.is_(None)).order_by(articles.c.id).limit(CHUNK)
            ).all()
            if rows:
                new = [NewArticle(stored_doc(r), r.fetched_at) for r in rows]
                founders = self._assign_stories(conn, new, batch, now)
                self._link_candidates(conn, founders, now)
        return len(rows)

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

    def mark_used(self, issue_id: int, story_ids: Iterable[int], service: StoryRules, now: datetime) -> None:
        """Record that a published issue used these stories: their candidates become ``used`` and their score
        takes the used penalty (follow-up detection learns them from ``used_story_texts``)."""
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

    def used_story_texts(self, since: datetime) -> Iterator[UsedStoryText]:
        """The canonical articles of stories used in an issue, published since ``since``."""
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
            yield UsedStoryText(int(r.id), _doc(int(r.article_id), r.title, r.body_text, r.url, published))

    # ------------------------------------------------------------------ editor labels and models

    def set_story_topics(
        self,
        story_id: int,
        *,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        service: StoryRules,
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
        service: StoryRules,
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
        self, story_id: int, state: str, *, service: StoryRules, now: datetime, by: str = "editor"
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


__all__ = ["StoryQueries"]
