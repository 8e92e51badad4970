"""SQL of the review: story detail and editor actions with optimistic concurrency
and an audit entry per change (mixed into Repository). What an action sets is decided before the store is
called (news_harvester.editorial.review_rules); the store writes it.

Every action names the candidate ``version`` the editor saw; the UPDATE matches on it, so when two editors
act on the same story the second gets :class:`ConflictError` ("changed by X") instead of silently
overwriting. Each change writes one ``audit_log`` row (who, when, action, before/after) in the same transaction.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from news_harvester.errors import InvalidAction, StorageError
from news_harvester.store.schema import (
    articles,
    audit_log,
    candidates,
    fetch_runs,
    story_edits,
    story_topics,
)

if TYPE_CHECKING:
    from news_harvester.store.story_ports import StoryRules


class ConflictError(StorageError):
    """The story changed since the editor loaded it."""

    code = "storage.conflict"


@dataclass(frozen=True, slots=True)
class CandidateChange:
    """What an editor's action sets on a candidate, as decided by news_harvester.editorial.review_rules.
    ``allowed_if_used``: whether it may change a story already used in a published issue."""

    action: str
    values: Mapping[str, Any]
    allowed_if_used: bool = False


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
    source_id: str = ""
    stated_time: bool = True
    """Whether ``published_at`` is the time the page states (False: the harvest's fetch time stands in)."""


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
                        r.source_id,
                        r.published_at is not None,
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

    def apply_change(
        self,
        story_id: int,
        change: CandidateChange,
        *,
        user: str,
        expected_version: int | None,
        service: StoryRules,
        now: datetime,
    ) -> CandidateState:
        """Write an editor's action (decided by news_harvester.editorial.review_rules), versioned and audited, and
        re-score the story, in one transaction."""
        with self.engine.begin() as conn:
            current = conn.execute(select(candidates.c.state).where(candidates.c.story_id == story_id)).scalar()
            if current == "used" and not change.allowed_if_used:
                raise InvalidAction("这条素材已用于已出版的期刊")
            after = self._change(
                conn, story_id, expected_version, dict(change.values), user=user, action=change.action, now=now
            )
            self._refresh_stories(conn, [story_id], service.begin(), now)  # type: ignore[attr-defined]
        return after

    def edit_text(
        self,
        story_id: int,
        values: Mapping[str, str | None],
        *,
        user: str,
        expected_version: int | None,
        now: datetime,
    ) -> CandidateState:
        """Editor title/summary (``editorial.review_rules.text_edit``: kept apart from the harvested text, with
        history)."""
        with self.engine.begin() as conn:
            after = self._change(conn, story_id, expected_version, dict(values), user=user, action="edit", now=now)
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
        service: StoryRules,
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
