"""SQL of the review queue: filtered, paged queue; story detail; editor actions with optimistic concurrency
and an audit entry per change (mixed into Repository).

Every action names the candidate ``version`` the editor saw; the UPDATE matches on it, so when two editors
act on the same story the second gets :class:`ConflictError` ("changed by X") instead of silently
overwriting. Each change writes one ``audit_log`` row (who, when, action, before/after) in the same transaction.
"""

from __future__ import annotations

import json
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Integer, func, insert, or_, select, update

from news_harvester.errors import StorageError
from news_harvester.store.schema import (
    articles,
    audit_log,
    candidates,
    fetch_runs,
    stories,
    story_edits,
    story_topics,
)

if TYPE_CHECKING:
    from news_harvester.stories.assign import StoryService

OPEN_STATES = ("new", "shortlisted")
STATES = ("new", "shortlisted", "snoozed", "accepted", "rejected", "used")
ACTIONS = ("shortlist", "accept", "reject", "snooze", "restore")
DEFAULT_SECTION = "行业资讯"
SNIPPET_CHARS = 140
MIN_INDEXED_QUERY = 3
"""The trigram index answers queries of at least 3 characters; shorter ones scan titles."""


class ConflictError(StorageError):
    """The story changed since the editor loaded it."""

    code = "storage.conflict"


class InvalidAction(StorageError):
    code = "review.invalid"


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


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    user_name: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "user": self.user_name,
            "action": self.action,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True, slots=True)
class CandidateState:
    story_id: int
    state: str
    version: int
    editor_title: str | None
    editor_summary: str | None
    section: str | None
    reject_reason: str | None
    snoozed_until: datetime | None
    updated_by: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "version": self.version,
            "editor_title": self.editor_title,
            "editor_summary": self.editor_summary,
            "section": self.section,
            "reject_reason": self.reject_reason,
            "snoozed_until": self.snoozed_until.isoformat() if self.snoozed_until else None,
            "updated_by": self.updated_by,
        }


@dataclass(frozen=True, slots=True)
class MemberText:
    article_id: int
    url: str
    source: str
    title: str
    published_at: datetime | None
    attribution: str | None
    author: str | None
    body_text: str
    layer: str | None
    similarity: float | None
    has_evidence: bool
    attachments: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class EditEntry:
    at: datetime
    user_name: str
    title: str | None
    summary: str | None


@dataclass
class StoryDetail:
    candidate: CandidateState
    members: list[MemberText] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    edits: list[EditEntry] = field(default_factory=list)


def _candidate_state(row: Any) -> CandidateState:
    return CandidateState(
        story_id=int(row.story_id),
        state=row.state,
        version=int(row.version),
        editor_title=row.editor_title,
        editor_summary=row.editor_summary,
        section=row.section,
        reject_reason=row.reject_reason,
        snoozed_until=row.snoozed_until,
        updated_by=row.updated_by,
    )


class ReviewQueries:
    engine: Engine

    # ------------------------------------------------------------------ queue

    def queue(self, filters: QueueFilter, *, page: int = 1, per_page: int = 50, now: datetime) -> QueuePage:
        """One page of the queue, best score first. Snoozed stories come back once their date has passed.

        Two steps, so the page stays cheap at 50,000 stories: the ids of the page are found by walking the score
        index with every filter as an uncorrelated ``IN`` / ``EXISTS`` condition (no sort of all open stories,
        no title or body read), then only those rows are loaded with their canonical article."""
        canon = articles.alias("canon")
        sqlite = self.engine.dialect.name == "sqlite"
        states = [s for s in filters.states if s in STATES]
        state_cond: Any = None
        if states:
            state_cond = candidates.c.state.in_([s for s in states if s != "snoozed"])
            if "snoozed" in states:
                state_cond = or_(state_cond, candidates.c.state == "snoozed")
            elif "new" in states or "shortlisted" in states:
                # a snooze that has run out puts the story back in the queue
                state_cond = or_(state_cond, (candidates.c.state == "snoozed") & (candidates.c.snoozed_until <= now))
        # Story-id lists of the narrowing filters, most selective first (the count is driven by the first)
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
        # The count is driven by the most selective list (plain stories.id IN …, looked up by primary key) and
        # checks the rest per story; with no narrowing filter it reads the state index alone.
        state_where = [state_cond] if state_cond is not None else []
        only_state = not narrowing or state_listed
        if only_state and topic_ids is None:
            count = select(func.count()).select_from(candidates).where(candidates.c.story_id.is_not(None), *state_where)
        elif only_state:  # a topic: its rows joined to their candidates, no story row read
            count = (
                select(func.count())
                .select_from(story_topics.join(candidates, candidates.c.story_id == story_topics.c.story_id))
                .where(story_topics.c.topic_id == filters.topic, story_topics.c.rejected.is_(False), *state_where)
            )
        else:
            drivers = [*lists, topic_ids] if topic_ids is not None else lists
            count = (
                select(func.count())
                .select_from(stories)
                .where(*[stories.c.id.in_(ids) for ids in drivers], *([] if state_listed else [state_exists()]))
            )
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
        base = stories.outerjoin(canon, canon.c.id == stories.c.canonical_article_id).join(
            candidates, candidates.c.story_id == stories.c.id
        )
        with self.engine.connect() as conn:
            page_rows = conn.execute(ids_query).all()
            page_ids = [int(r.id) for r in page_rows]
            total = int(page_rows[0].total) if total_column and page_rows else int(conn.execute(count).scalar_one())
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
                    select(
                        story_topics.c.story_id, story_topics.c.topic_id, story_topics.c.origin, story_topics.c.rejected
                    )
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
        items = []
        for r in rows:
            source = r.source_name or r.source_id
            items.append(
                QueueItem(
                    id=int(r.id),
                    title=r.editor_title or r.title,
                    harvested_title=r.title,
                    source=source,
                    source_id=r.source_id,
                    other_outlets=tuple(sorted({o for o in outlets[int(r.id)] if o != source})),
                    published_at=r.published_at or r.fetched_at,
                    topics=tuple(dict.fromkeys(topics[int(r.id)])),
                    score=r.score,
                    score_parts=(json.loads(r.score_parts).get("parts", {}) if r.score_parts else {}),
                    snippet=(r.editor_summary or r.snippet or "").replace("\n", " ").strip(),
                    state=r.state,
                    version=int(r.version),
                    follow_up_of=r.follow_up_of,
                    updated_by=r.updated_by,
                )
            )
        return QueuePage(items, total, max(page, 1), per_page)

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

    # ------------------------------------------------------------------ detail

    def candidate_state(self, story_id: int) -> CandidateState:
        with self.engine.connect() as conn:
            row = conn.execute(select(candidates).where(candidates.c.story_id == story_id)).first()
        if row is None:
            raise StorageError(f"no story {story_id}", code="storage.not_found")
        return _candidate_state(row)

    def story_detail(self, story_id: int) -> StoryDetail:
        detail = StoryDetail(self.candidate_state(story_id))
        with self.engine.connect() as conn:
            for r in conn.execute(
                select(
                    articles.c.id,
                    articles.c.url,
                    articles.c.source_id,
                    articles.c.source_name,
                    articles.c.title,
                    articles.c.published_at,
                    articles.c.fetched_at,
                    articles.c.attribution,
                    articles.c.author,
                    articles.c.body_text,
                    articles.c.story_layer,
                    articles.c.story_similarity,
                    articles.c.raw_page.is_not(None).label("has_evidence"),
                    articles.c.attachments,
                )
                .where(articles.c.story_id == story_id)
                .order_by(func.coalesce(articles.c.published_at, articles.c.fetched_at), articles.c.id)
            ):
                detail.members.append(
                    MemberText(
                        int(r.id),
                        r.url,
                        r.source_name or r.source_id,
                        r.title,
                        r.published_at or r.fetched_at,
                        r.attribution,
                        r.author,
                        r.body_text,
                        r.story_layer,
                        r.story_similarity,
                        bool(r.has_evidence),
                        _attachments(r.attachments),
                    )
                )
            detail.audit = self._audit(conn, story_id)
            detail.edits = [
                EditEntry(r.at, r.user_name, r.title, r.summary)
                for r in conn.execute(
                    select(story_edits).where(story_edits.c.story_id == story_id).order_by(story_edits.c.id.desc())
                )
            ]
        return detail

    def audit_entries(self, story_id: int) -> list[AuditEntry]:
        with self.engine.connect() as conn:
            return self._audit(conn, story_id)

    @staticmethod
    def _audit(conn: Connection, story_id: int) -> list[AuditEntry]:
        return [
            AuditEntry(
                r.at,
                r.user_name,
                r.action,
                json.loads(r.before) if r.before else None,
                json.loads(r.after) if r.after else None,
            )
            for r in conn.execute(
                select(audit_log).where(audit_log.c.story_id == story_id).order_by(audit_log.c.id.desc())
            )
        ]

    def article_evidence(self, article_id: int) -> tuple[str, int | None, bytes] | None:
        """``(url, story_id, page bytes)`` of the stored evidence snapshot, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(articles.c.url, articles.c.story_id, articles.c.raw_page).where(articles.c.id == article_id)
            ).first()
        if row is None or not row.raw_page:
            return None
        return row.url, row.story_id, zlib.decompress(row.raw_page)

    def items_per_day(self, since: datetime, *, days: int) -> dict[str, float]:
        """New items per day of each source since ``since`` (its runs' ``items_new`` over ``days``)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(fetch_runs.c.source_id, func.sum(fetch_runs.c.items_new))
                .where(fetch_runs.c.started_at >= since)
                .group_by(fetch_runs.c.source_id)
            ).all()
        return {r[0]: round(float(r[1] or 0) / max(days, 1), 1) for r in rows}

    def last_harvest_at(self) -> datetime | None:
        with self.engine.connect() as conn:
            value: datetime | None = conn.execute(select(func.max(fetch_runs.c.finished_at))).scalar()
        return value

    # ------------------------------------------------------------------ actions

    def _change(
        self,
        conn: Connection,
        story_id: int,
        expected_version: int | None,
        values: dict[str, Any],
        *,
        user: str,
        action: str,
        now: datetime,
        audit: tuple[dict[str, Any], dict[str, Any]] | None = None,
    ) -> CandidateState:
        row = conn.execute(select(candidates).where(candidates.c.story_id == story_id)).first()
        if row is None:
            raise StorageError(f"no story {story_id}", code="storage.not_found")
        before = _candidate_state(row)
        if expected_version is not None and before.version != expected_version:
            raise ConflictError(
                f"这条素材已被 {before.updated_by or '其他人'} 修改（版本 {before.version}），请刷新后重试",
            )
        done = conn.execute(
            update(candidates)
            .where(candidates.c.story_id == story_id, candidates.c.version == before.version)
            .values(values | {"updated_by": user, "version": before.version + 1})
        )
        if not done.rowcount:  # another transaction won the race between our read and our write
            raise ConflictError("这条素材刚被其他人修改，请刷新后重试")
        after_row = conn.execute(select(candidates).where(candidates.c.story_id == story_id)).one()
        after = _candidate_state(after_row)
        old, new = audit or (
            _changed(before.to_json(), after.to_json(), "before"),
            _changed(before.to_json(), after.to_json(), "after"),
        )
        conn.execute(
            insert(audit_log).values(
                at=now,
                user_name=user,
                story_id=story_id,
                action=action,
                before=json.dumps(old, ensure_ascii=False),
                after=json.dumps(new, ensure_ascii=False),
            )
        )
        return after

    def apply_action(
        self,
        story_id: int,
        action: str,
        *,
        user: str,
        expected_version: int | None,
        service: StoryService,
        now: datetime,
        reason: str | None = None,
        section: str | None = None,
        until: datetime | None = None,
    ) -> CandidateState:
        """shortlist / accept (into ``section``, default 行业资讯) / reject (a reason is required) / snooze (until a
        future time) / restore (back to new)."""
        values: dict[str, Any] = {"state_changed_at": now}
        if action == "shortlist":
            values["state"] = "shortlisted"
        elif action == "accept":
            values |= {"state": "accepted", "section": (section or DEFAULT_SECTION).strip()[:32]}
        elif action == "reject":
            if not reason or not reason.strip():
                raise InvalidAction("退回需要填写理由")
            values |= {"state": "rejected", "reject_reason": reason.strip()[:500]}
        elif action == "snooze":
            if until is None or until <= now:
                raise InvalidAction("请选择一个将来的日期")
            values |= {"state": "snoozed", "snoozed_until": until}
        elif action == "restore":
            values |= {"state": "new", "reject_reason": None, "snoozed_until": None, "section": None}
        else:
            raise InvalidAction(f"未知操作：{action}")
        with self.engine.begin() as conn:
            current = conn.execute(select(candidates.c.state).where(candidates.c.story_id == story_id)).scalar()
            if current == "used" and action != "restore":
                raise InvalidAction("这条素材已用于已出版的期刊")
            after = self._change(conn, story_id, expected_version, values, user=user, action=action, now=now)
            self._refresh_stories(conn, [story_id], service.begin(), now)  # type: ignore[attr-defined]
        return after

    def edit_text(
        self,
        story_id: int,
        *,
        title: str | None,
        summary: str | None,
        user: str,
        expected_version: int | None,
        now: datetime,
    ) -> CandidateState:
        """Editor title/summary (kept apart from the harvested text, with history); empty text clears it."""
        values: dict[str, Any] = {}
        if title is not None:
            values["editor_title"] = title.strip() or None
        if summary is not None:
            values["editor_summary"] = summary.strip() or None
        if not values:
            raise InvalidAction("没有要保存的修改")
        with self.engine.begin() as conn:
            after = self._change(conn, story_id, expected_version, values, user=user, action="edit", now=now)
            conn.execute(
                insert(story_edits).values(
                    story_id=story_id, at=now, user_name=user, title=after.editor_title, summary=after.editor_summary
                )
            )
        return after

    def correct_topics(
        self,
        story_id: int,
        *,
        add: Sequence[str],
        remove: Sequence[str],
        user: str,
        expected_version: int | None,
        service: StoryService,
        now: datetime,
    ) -> CandidateState:
        """An editor's topic correction (a label for the learned model), versioned and audited like any action."""
        with self.engine.begin() as conn:
            before_topics = sorted(
                r.topic_id
                for r in conn.execute(
                    select(story_topics.c.topic_id).where(
                        story_topics.c.story_id == story_id, story_topics.c.rejected.is_(False)
                    )
                )
            )
            after = self._change(
                conn,
                story_id,
                expected_version,
                {},
                user=user,
                action="topics",
                now=now,
                audit=({"topics": before_topics}, {"add": sorted(add), "remove": sorted(remove)}),
            )
            self._set_story_topics(  # type: ignore[attr-defined]
                conn, story_id, add=add, remove=remove, service=service, now=now
            )
        return after


def _attachments(stored: str | None) -> tuple[dict[str, str], ...]:
    """Stored attachment links that are safe to show: http(s) URLs only (a harvested page chose them)."""
    if not stored:
        return ()
    try:
        items = json.loads(stored)
    except ValueError:
        return ()
    return tuple(
        {"url": str(a.get("url", "")), "text": str(a.get("text", ""))[:200], "kind": str(a.get("kind", ""))[:10]}
        for a in items
        if isinstance(a, dict) and str(a.get("url", "")).lower().startswith(("http://", "https://"))
    )


def _changed(before: dict[str, Any], after: dict[str, Any], side: str) -> dict[str, Any]:
    """Only the fields an action changed (version and updated_by are implied)."""
    keys = [k for k in before if before[k] != after[k] and k not in ("version", "updated_by")]
    source = before if side == "before" else after
    return {k: source[k] for k in keys}
