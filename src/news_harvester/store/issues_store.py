"""SQL of issues of the brief and their items (mixed into Repository).

A draft issue can be changed; a published one is locked until it is reopened explicitly (audited). Items are
ordered per section by ``position``; moves renumber the section so positions stay 1..n. Publishing refuses an
issue without items (unless told otherwise) and moves drafts left behind with lower numbers past it, so issue
numbers never go backwards (:meth:`IssueQueries.publish_issue`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, delete, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from news_harvester.errors import StorageError
from news_harvester.store.issue_rows import (
    IssueRow,
    ItemRow,
    Numbers,
    Published,
    Renumbered,
    SectionSpec,
    following,
    issue_row,
    item_row,
)
from news_harvester.store.schema import audit_log, issue_items, issues
from news_harvester.store.transactions import serialized

CURRENT_DRAFT = (
    select(issues.c.id)
    .where(issues.c.status == "draft")
    .order_by(
        case((issues.c.published_at.is_(None), 0), else_=1),
        case((exists().where(issue_items.c.issue_id == issues.c.id), 0), else_=1),
        func.coalesce(issues.c.updated_at, issues.c.created_at).desc(),
        issues.c.id.desc(),
    )
    .limit(1)
)
"""The draft accepted stories land in and 本期编排 shows; not the highest-numbered (``issue new`` beside a filled
draft moved both to the new empty one). First a draft never published (a reopened issue must not collect next
month's stories), then one with items, then the most recently edited (changes stamp ``updated_at``)."""

DRAFT_LOCK = 0x6E68_6472_6674
"""PostgreSQL advisory lock key held while the current draft is looked up and opened ('nhdrft')."""


class IssueLocked(StorageError):
    code = "issue.locked"


class EmptyIssue(StorageError):
    code = "issue.empty"  # publishing an issue without a single item: almost always a click on the wrong draft


class IssueChanged(StorageError):
    code = "issue.changed"  # changed between the editor's confirmation and the publication


class IssueQueries:
    engine: Engine

    # ------------------------------------------------------------------ issues

    def new_issue(
        self,
        *,
        year: int,
        number: int,
        total_number: int | None,
        issue_date: date,
        title: str,
        publisher: str,
        sections: tuple[SectionSpec, ...],
        user: str,
        now: datetime,
        unless_draft: bool = False,
    ) -> int:
        """The new issue's id. With ``unless_draft``, an existing draft's id instead: the check and the insert
        hold the database's write lock (SQLite) or an advisory lock (PostgreSQL), so editors accepting the
        first stories of a month at the same moment open one draft, not one each."""
        with serialized(self.engine, DRAFT_LOCK) if unless_draft else self.engine.begin() as conn:
            if unless_draft:
                draft = conn.execute(CURRENT_DRAFT).scalar()
                if draft is not None:
                    return int(draft)
            taken = conn.execute(select(issues.c.id).where(issues.c.year == year, issues.c.number == number)).first()
            if taken is not None:
                raise StorageError(f"{year} 年第 {number} 期已存在（#{taken.id}）", code="storage.conflict")
            issue_id = int(
                self._insert_once(
                    conn,
                    f"{year} 年第 {number} 期已存在",
                    insert(issues)
                    .values(
                        year=year,
                        number=number,
                        total_number=total_number,
                        issue_date=issue_date,
                        status="draft",
                        title=title,
                        publisher=publisher,
                        sections=json.dumps(
                            [{"name": s.name, "target": s.target} for s in sections], ensure_ascii=False
                        ),
                        created_at=now,
                        updated_at=now,
                        updated_by=user,
                    )
                    .returning(issues.c.id),
                )
            )
            self._audit_issue(conn, issue_id, "issue_new", user, now, after={"year": year, "number": number})
        return issue_id

    @staticmethod
    def _insert_once(conn: Connection, taken: str, statement: Any) -> int:
        """The new row's id; a concurrent request that inserted the same unique key first (both passed the
        check before either wrote) is the same conflict as the check's, not a database error."""
        try:
            return int(conn.execute(statement).scalar_one())
        except IntegrityError as exc:  # the transaction is rolled back as the error leaves it
            raise StorageError(taken, code="storage.conflict") from exc

    def last_issue_numbers(self) -> Numbers | None:
        """The highest numbers ever used, published or draft: the highest (year, number) and the highest
        running total (they may belong to different issues when numbers were given by hand)."""
        with self.engine.connect() as conn:
            return self._highest(conn)

    @staticmethod
    def _highest(conn: Connection) -> Numbers | None:
        row = conn.execute(
            select(issues.c.year, issues.c.number).order_by(issues.c.year.desc(), issues.c.number.desc()).limit(1)
        ).first()
        if row is None:
            return None
        top_total = conn.execute(select(func.max(issues.c.total_number))).scalar()
        return Numbers(int(row.year), int(row.number), int(top_total) if top_total is not None else None)

    def list_issues(self) -> list[IssueRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(issues).order_by(issues.c.year.desc(), issues.c.number.desc())).all()
            counts: dict[int, int] = dict(
                conn.execute(select(issue_items.c.issue_id, func.count()).group_by(issue_items.c.issue_id)).all()
            )
        out = []
        for r in rows:
            issue = issue_row(r)
            issue.items = []
            out.append(issue)
            setattr(issue, "item_count", int(counts.get(r.id, 0)))  # noqa: B010 - listing convenience
        return out

    def get_issue(self, issue_id: int) -> IssueRow:
        with self.engine.connect() as conn:
            return self._load_issue(conn, issue_id)

    def current_draft_id(self) -> int | None:
        with self.engine.connect() as conn:
            value = conn.execute(CURRENT_DRAFT).scalar()
        return int(value) if value is not None else None

    def _load_issue(self, conn: Connection, issue_id: int) -> IssueRow:
        row = conn.execute(select(issues).where(issues.c.id == issue_id)).first()
        if row is None:
            raise StorageError(f"第 {issue_id} 号期刊不存在", code="storage.not_found")
        issue = issue_row(row)
        order = {s.name: n for n, s in enumerate(issue.sections)}
        items = [
            item_row(r)
            for r in conn.execute(
                select(issue_items).where(issue_items.c.issue_id == issue_id).order_by(issue_items.c.position)
            )
        ]
        issue.items = sorted(items, key=lambda i: (order.get(i.section, len(order)), i.position, i.id))
        return issue

    @contextmanager
    def _changing_items(self) -> Iterator[Connection]:
        """The transaction of a change to an issue's items. On SQLite it takes the write lock first (BEGIN
        IMMEDIATE): the driver would otherwise run the reads that decide positions (the section's last position,
        its order) before the transaction starts, and an add racing a removal took a stale position, leaving a
        gap. On PostgreSQL the issue's row, locked by ``_draft_only``, serialises them."""
        if self.engine.dialect.name == "sqlite":
            with serialized(self.engine, DRAFT_LOCK) as conn:
                yield conn
        else:
            with self.engine.begin() as conn:
                yield conn

    @staticmethod
    def _draft_only(conn: Connection, issue_id: int) -> None:
        """Refuse changes to a published issue. Every change to an issue's items starts here, and the issue's row
        stays locked until the transaction ends (PostgreSQL; on SQLite ``_changing_items`` holds the write lock):
        two editors' changes renumbering the same section in different orders deadlocked, two adds could take the
        same position."""
        status = conn.execute(select(issues.c.status).where(issues.c.id == issue_id).with_for_update()).scalar()
        if status is None:
            raise StorageError(f"第 {issue_id} 号期刊不存在", code="storage.not_found")
        if status != "draft":
            raise IssueLocked("这一期已出版，不能修改；如需修改请先重新打开（会记录在操作日志中）")

    @staticmethod
    def _audit_issue(
        conn: Connection,
        issue_id: int,
        action: str,
        user: str,
        now: datetime,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        story_id: int | None = None,
    ) -> None:
        conn.execute(
            insert(audit_log).values(
                at=now,
                user_name=user,
                story_id=story_id,
                action=action,
                before=json.dumps({"issue": issue_id} | (before or {}), ensure_ascii=False),
                after=json.dumps({"issue": issue_id} | (after or {}), ensure_ascii=False),
            )
        )

    def _touch(self, conn: Connection, issue_id: int, user: str, now: datetime) -> None:
        conn.execute(
            update(issues)
            .where(issues.c.id == issue_id)
            .values(version=issues.c.version + 1, updated_at=now, updated_by=user)
        )

    # ------------------------------------------------------------------ items

    def add_item(
        self,
        issue_id: int,
        *,
        section: str,
        title: str,
        user: str,
        now: datetime,
        story_id: int | None = None,
        text: str | None = None,
        attribution: str | None = None,
        html: str | None = None,
        draft: str | None = None,
        warnings: list[dict[str, str]] | None = None,
    ) -> int:
        with self._changing_items() as conn:
            self._draft_only(conn, issue_id)
            if story_id is not None:
                existing = conn.execute(
                    select(issue_items.c.id).where(
                        issue_items.c.issue_id == issue_id, issue_items.c.story_id == story_id
                    )
                ).first()
                if existing is not None:
                    raise StorageError("这条素材已在本期中", code="storage.conflict")
            position = (
                conn.execute(
                    select(func.max(issue_items.c.position)).where(
                        issue_items.c.issue_id == issue_id, issue_items.c.section == section
                    )
                ).scalar()
                or 0
            ) + 1
            item_id = int(
                self._insert_once(
                    conn,
                    "这条素材已在本期中",
                    insert(issue_items)
                    .values(
                        issue_id=issue_id,
                        story_id=story_id,
                        section=section,
                        position=position,
                        title=title,
                        text=text,
                        attribution=attribution,
                        html=html,
                        draft=draft,
                        warnings=json.dumps(warnings or [], ensure_ascii=False),
                        created_at=now,
                        updated_at=now,
                        updated_by=user,
                    )
                    .returning(issue_items.c.id),
                )
            )
            self._touch(conn, issue_id, user, now)
            self._audit_issue(
                conn, issue_id, "issue_add", user, now, after={"item": item_id, "section": section}, story_id=story_id
            )
        return item_id

    def get_item(self, item_id: int) -> ItemRow:
        with self.engine.connect() as conn:
            row = conn.execute(select(issue_items).where(issue_items.c.id == item_id)).first()
        if row is None:
            raise StorageError(f"条目 #{item_id} 不存在", code="storage.not_found")
        return item_row(row)

    def update_item(self, item_id: int, *, user: str, now: datetime, **values: Any) -> ItemRow:
        """Change title/text/attribution/html/draft/warnings/chart of an item of a draft issue."""
        allowed = {"title", "text", "attribution", "html", "draft", "warnings", "chart"}
        changes = {k: v for k, v in values.items() if k in allowed and v is not None}
        if "warnings" in changes:
            changes["warnings"] = json.dumps(changes["warnings"], ensure_ascii=False)
        item = self.get_item(item_id)
        with self.engine.begin() as conn:
            self._draft_only(conn, item.issue_id)
            conn.execute(
                update(issue_items)
                .where(issue_items.c.id == item_id)
                .values(changes | {"updated_at": now, "updated_by": user})
            )
            self._touch(conn, item.issue_id, user, now)
            self._audit_issue(
                conn,
                item.issue_id,
                "issue_edit",
                user,
                now,
                before={k: getattr(item, k) for k in changes if k != "warnings"},
                after={k: v for k, v in changes.items() if k != "warnings"},
                story_id=item.story_id,
            )
        return self.get_item(item_id)

    def move_item(
        self, item_id: int, *, user: str, now: datetime, offset: int = 0, section: str | None = None
    ) -> ItemRow:
        """Move up (offset -1) or down (+1) within its section, or to the end of another section."""
        item = self.get_item(item_id)
        with self._changing_items() as conn:
            self._draft_only(conn, item.issue_id)
            target = section or item.section
            siblings = [
                int(r.id)
                for r in conn.execute(
                    select(issue_items.c.id)
                    .where(issue_items.c.issue_id == item.issue_id, issue_items.c.section == target)
                    .order_by(issue_items.c.position, issue_items.c.id)
                )
            ]
            if target != item.section:
                siblings.append(item_id)
                self._renumber(conn, item.issue_id, item.section, exclude=item_id)
            else:
                index = siblings.index(item_id)
                new_index = max(0, min(len(siblings) - 1, index + offset))
                siblings.insert(new_index, siblings.pop(index))
            for position, sid in enumerate(siblings, start=1):
                conn.execute(
                    update(issue_items).where(issue_items.c.id == sid).values(position=position, section=target)
                )
            self._touch(conn, item.issue_id, user, now)
            self._audit_issue(
                conn,
                item.issue_id,
                "issue_move",
                user,
                now,
                before={"section": item.section, "position": item.position},
                after={"section": target, "position": siblings.index(item_id) + 1},
                story_id=item.story_id,
            )
        return self.get_item(item_id)

    @staticmethod
    def _renumber(conn: Connection, issue_id: int, section: str, exclude: int | None = None) -> None:
        ids = [
            int(r.id)
            for r in conn.execute(
                select(issue_items.c.id)
                .where(issue_items.c.issue_id == issue_id, issue_items.c.section == section)
                .order_by(issue_items.c.position, issue_items.c.id)
            )
            if int(r.id) != exclude
        ]
        for position, sid in enumerate(ids, start=1):
            conn.execute(update(issue_items).where(issue_items.c.id == sid).values(position=position))

    def remove_item(self, item_id: int, *, user: str, now: datetime) -> ItemRow:
        item = self.get_item(item_id)
        with self._changing_items() as conn:
            self._draft_only(conn, item.issue_id)
            conn.execute(delete(issue_items).where(issue_items.c.id == item_id))
            self._renumber(conn, item.issue_id, item.section)
            self._touch(conn, item.issue_id, user, now)
            self._audit_issue(
                conn, item.issue_id, "issue_remove", user, now, before={"item": item_id}, story_id=item.story_id
            )
        return item

    def item_for_story(self, issue_id: int, story_id: int) -> ItemRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(issue_items).where(issue_items.c.issue_id == issue_id, issue_items.c.story_id == story_id)
            ).first()
        return item_row(row) if row is not None else None

    # ------------------------------------------------------------------ publishing

    def set_issue_status(self, issue_id: int, status: str, *, user: str, now: datetime, reason: str = "") -> None:
        """draft → published (locks it) or published → draft (reopen, audited with the reason)."""
        with self.engine.begin() as conn:
            current = conn.execute(select(issues.c.status).where(issues.c.id == issue_id).with_for_update()).scalar()
            if current is None:
                raise StorageError(f"第 {issue_id} 号期刊不存在", code="storage.not_found")
            if current == status:
                raise StorageError(
                    "这一期已经出版过了" if status == "published" else "这一期本来就是草稿", code="issue.state"
                )
            values: dict[str, Any] = {"status": status}
            if status == "published":
                values["published_at"] = now
            conn.execute(update(issues).where(issues.c.id == issue_id).values(values))
            self._touch(conn, issue_id, user, now)
            self._audit_issue(
                conn,
                issue_id,
                "issue_publish" if status == "published" else "issue_reopen",
                user,
                now,
                before={"status": current},
                after={"status": status, "reason": reason} if reason else {"status": status},
            )

    def publish_issue(
        self,
        issue_id: int,
        *,
        user: str,
        now: datetime,
        today: date,
        allow_empty: bool = False,
        expected_version: int | None = None,
    ) -> Published:
        """draft → published, refused for an issue without items (:class:`EmptyIssue`) unless ``allow_empty``,
        and for one changed since the editor confirmed version ``expected_version`` (:class:`IssueChanged`).
        Never-published drafts numbered below it are then numbered after the highest number used (audited as
        ``issue_renumber``): a draft's number is a proposal until published, and leaving it would make the brief
        go 第 2 期, then 第 1 期. One transaction under the draft lock: nobody opens or numbers a draft meanwhile,
        and the story ids returned are exactly the items published."""
        with serialized(self.engine, DRAFT_LOCK) as conn:
            row = conn.execute(select(issues).where(issues.c.id == issue_id).with_for_update()).first()
            if row is None:
                raise StorageError(f"第 {issue_id} 号期刊不存在", code="storage.not_found")
            if row.status != "draft":
                raise StorageError("这一期已经出版过了", code="issue.state")
            if expected_version is not None and int(row.version or 1) != expected_version:
                raise IssueChanged("确认之后本期又有改动（可能是其他编辑），请核对后再次确认出版")
            items = conn.execute(select(issue_items.c.story_id).where(issue_items.c.issue_id == issue_id)).all()
            if not items and not allow_empty:
                raise EmptyIssue("本期还没有任何条目，不能出版：请先采用素材或添加文字")
            conn.execute(update(issues).where(issues.c.id == issue_id).values(status="published", published_at=now))
            self._touch(conn, issue_id, user, now)
            after: dict[str, Any] = {"status": "published"} | ({} if items else {"empty": True})
            self._audit_issue(conn, issue_id, "issue_publish", user, now, before={"status": "draft"}, after=after)
            renumbered = self._renumber_stale_drafts(conn, Numbers(int(row.year), int(row.number), None), today)
            for moved in renumbered:
                self._touch(conn, moved.issue_id, user, now)
                audit = ({"label": moved.before.label}, {"label": moved.after.label, "published": issue_id})
                self._audit_issue(conn, moved.issue_id, "issue_renumber", user, now, before=audit[0], after=audit[1])
        story_ids = tuple(int(i.story_id) for i in items if i.story_id is not None)
        return Published(story_ids=story_ids, renumbered=renumbered)

    def _renumber_stale_drafts(self, conn: Connection, published: Numbers, today: date) -> tuple[Renumbered, ...]:
        """Give every never-published draft numbered below ``published`` the numbers after the highest used,
        oldest first (each new number is above every existing one, so the unique index never objects)."""
        stale = conn.execute(
            select(issues.c.id, issues.c.year, issues.c.number, issues.c.total_number)
            .where(
                issues.c.status == "draft",
                issues.c.published_at.is_(None),
                or_(
                    issues.c.year < published.year,
                    and_(issues.c.year == published.year, issues.c.number < published.number),
                ),
            )
            .order_by(issues.c.year, issues.c.number)
        ).all()
        moved = []
        for draft in stale:
            after = following(self._highest(conn), today)
            values = {"year": after.year, "number": after.number, "total_number": after.total_number}
            conn.execute(update(issues).where(issues.c.id == draft.id).values(values))
            before = Numbers(int(draft.year), int(draft.number), draft.total_number)
            moved.append(Renumbered(int(draft.id), before, after))
        return tuple(moved)
