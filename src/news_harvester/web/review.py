"""What the review queue's pages (news_harvester.web.pages) and its JSON API (news_harvester.web.review_api)
share: the editors' time zone and input limits, queue filters from query parameters, the freshness banner's data,
and the actions whose side effects both apply (accepting puts a story into the draft issue, bulk actions).

Not a view: it mounts no routes. Errors in the input are HTTPException 422 with a Chinese message.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from news_harvester.clock import EDITOR_ZONE, editor_time, utc_now
from news_harvester.editorial.story_actions import ActionOutcome, DraftChange, DraftOutcome, act_on_story
from news_harvester.errors import StorageError
from news_harvester.sources.alarms import KIND_LABELS
from news_harvester.sources.banner import banner_groups, label_of, source_labels
from news_harvester.store.queue import QueueFilter
from news_harvester.store.schema import OPEN_STATES, STATES
from news_harvester.web.auth import CurrentUser, require_editor
from news_harvester.web.context import WebContext

PER_PAGE = 50
MIN_YEAR = 1900
MAX_YEAR = 2999
MAX_TITLE = 300
MAX_SUMMARY = 2000
MAX_REASON = 500
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Editor = Annotated[CurrentUser, Depends(require_editor)]


def web_context(request: Request) -> WebContext:
    """What the routes need, from ``app.state.ctx``."""
    ctx: WebContext = request.app.state.ctx
    return ctx


def topic_names(ctx: WebContext) -> dict[str, str]:
    taxonomy = ctx.stories.enricher.taxonomy
    return {t.id: t.name for t in taxonomy.topics} if taxonomy else {}


def day_start(value: str | None, *, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, detail=f"日期格式应为 YYYY-MM-DD：{value}") from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:  # the database drivers overflow near year 1 and 9999
        raise HTTPException(422, detail=f"日期超出范围（{MIN_YEAR}–{MAX_YEAR} 年）：{value}")
    start = datetime.combine(day, time.min, tzinfo=EDITOR_ZONE)
    return start + timedelta(days=1) if end else start


def queue_filter(
    state: list[str] | None,
    topic: str | None,
    source: str | None,
    q: str | None,
    date_from: str | None,
    date_to: str | None,
) -> QueueFilter:
    states = tuple(s for s in (state or []) if s in STATES) or OPEN_STATES
    if q is not None and len(q) > 200:
        raise HTTPException(422, detail="搜索词过长（最多 200 字）")
    for name, value in (("搜索词", q), ("主题", topic), ("来源", source)):
        # NUL ends a string early in SQLite's FTS5 query parser (an error) and in LIKE (matches everything),
        # and PostgreSQL refuses it outright: control characters are never part of a real search
        if value and (len(value) > 200 or _CONTROL_CHARS.search(value)):
            raise HTTPException(422, detail=f"{name}包含无效字符或过长")
    return QueueFilter(
        states=states,
        topic=topic or None,
        source=source or None,
        text=(q or "").strip() or None,
        date_from=day_start(date_from),
        date_to=day_start(date_to, end=True),
    )


def freshness(ctx: WebContext, health: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """When the last harvest ran (stale after 6 hours), the failing sources and the open alarms: the queue page's
    banner and ``/api/status``. ``groups`` is what the banner shows: the same problems grouped, one line each
    (news_harvester.sources.banner), sources named unambiguously (``label``: ``name（id）`` where names repeat)."""
    last = ctx.repository.last_harvest_at()
    rows = health if health is not None else ctx.sources_health()
    labels = source_labels(rows)
    failing = [s for s in rows if s.get("health") == "failing"]
    alarms = ctx.repository.open_alarms()
    return {
        "last_harvest_at": last.isoformat() if last else None,
        "last_harvest_local": editor_time(last),
        "stale": last is None or utc_now() - last > timedelta(hours=6),
        "failing_sources": [
            {
                "id": s.get("id"),
                "name": s.get("name"),
                "label": labels.get(str(s.get("id")), s.get("name")),
                "error": s.get("last_error_code"),
            }
            for s in failing
        ],
        "alarms": [
            {
                "source_id": a.source_id,
                "source": a.source_name,
                "source_label": label_of(labels, a.source_id, a.source_name),
                "kind": a.kind,
                "label": KIND_LABELS.get(a.kind, a.kind),
                "message": a.message,
                "since": a.first_seen_at.isoformat(),
            }
            for a in alarms
        ],
        "groups": banner_groups(alarms, rows, labels),
    }


def draft_note(draft: DraftOutcome) -> str:
    """What an action did to the draft issue, as the note after "已接受" etc. ("" when nothing to say)."""
    if draft.change is DraftChange.FILED:
        return "，已放入本期草稿"
    if draft.change is DraftChange.WITHDRAWN:
        return "，已从本期草稿移出"
    if draft.change is DraftChange.NOT_FILED:
        return f"（未能放入本期草稿：{draft.problem}）"
    return ""


def act(
    ctx: WebContext,
    story_id: int,
    action: str,
    user: CurrentUser,
    *,
    expected_version: int | None = None,
    reason: str | None = None,
    section: str | None = None,
    until: datetime | None = None,
) -> ActionOutcome:
    """The editor's action and its consequence for the draft issue (editorial.story_actions)."""
    return act_on_story(
        ctx.repository,
        ctx.settings,
        ctx.sources(),
        ctx.stories,
        story_id,
        action,
        user=user.name,
        now=utc_now(),
        expected_version=expected_version,
        reason=reason,
        section=section,
        until=until,
    )


def bulk_actions(
    ctx: WebContext, user: CurrentUser, action: str, ids: list[int], reason: str | None
) -> list[dict[str, Any]]:
    """One action on up to 500 stories, each kept in step with the draft issue; one result per story."""
    results: list[dict[str, Any]] = []
    for story_id in ids[:500]:
        try:
            act(ctx, story_id, action, user, reason=reason)
            results.append({"id": story_id, "ok": True})
        except StorageError as exc:
            results.append({"id": story_id, "ok": False, "error": str(exc), "code": exc.code})
    return results
