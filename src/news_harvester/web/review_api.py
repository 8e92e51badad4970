"""The review queue's JSON API (``api``, under ``/api``): the queue, a story, its actions, text edits, topic
corrections, bulk actions, the audit log, freshness, sources and the OpenAPI schema.

The same store calls as the pages (news_harvester.web.pages); errors are ``{"error", "code"}`` with the right
HTTP status: 400/422 bad input, 404 unknown story, 409 stale version ("changed by X, reload").
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from news_harvester.clock import EDITOR_ZONE, utc_now
from news_harvester.editorial.review_rules import ACTIONS, DEFAULT_SECTION
from news_harvester.editorial.story_actions import edit_text
from news_harvester.errors import InvalidAction, StorageError
from news_harvester.store.review import ConflictError
from news_harvester.web.auth import check_csrf
from news_harvester.web.context import RowId, WebContext
from news_harvester.web.review import (
    MAX_REASON,
    MAX_SUMMARY,
    MAX_TITLE,
    PER_PAGE,
    Editor,
    act,
    bulk_actions,
    draft_note,
    freshness,
    queue_filter,
    topic_names,
    web_context,
)

api = APIRouter(prefix="/api", tags=["review"])


def _error_status(exc: StorageError) -> int:
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, InvalidAction):
        return 422
    if exc.code == "storage.not_found":
        return 404
    return 400


class ActionIn(BaseModel):
    action: str = Field(description="shortlist, accept, reject, snooze or restore")
    version: int | None = Field(None, description="The candidate version the editor saw (optimistic concurrency).")
    reason: str | None = Field(None, max_length=MAX_REASON, description="Required to reject.")
    section: str | None = Field(None, max_length=32, description=f"Section when accepting (default {DEFAULT_SECTION}).")
    until: date | None = Field(None, description="Snooze until this day (Asia/Shanghai).")


class EditIn(BaseModel):
    version: int | None = None
    title: str | None = Field(None, max_length=MAX_TITLE)
    summary: str | None = Field(None, max_length=MAX_SUMMARY)


class TopicsIn(BaseModel):
    version: int | None = None
    add: list[str] = Field(default_factory=list, max_length=20)
    remove: list[str] = Field(default_factory=list, max_length=20)


class BulkIn(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=500)
    action: str
    reason: str | None = Field(None, max_length=MAX_REASON)


def _fail(exc: StorageError) -> JSONResponse:
    return JSONResponse({"error": str(exc), "code": exc.code}, status_code=_error_status(exc))


def _story_json(ctx: WebContext, story_id: int) -> dict[str, Any]:
    views = ctx.repository.list_stories(story_ids=[story_id], limit=1)
    if not views:
        raise StorageError(f"素材 #{story_id} 不存在", code="storage.not_found")
    detail = ctx.repository.story_detail(story_id)
    return views[0].to_json() | {
        "candidate": detail.candidate.to_json(),
        "classification": views[0].classification,
        "audit": [a.to_json() for a in detail.audit],
    }


@api.get("/queue")
def api_queue(
    request: Request,
    user: Editor,
    state: Annotated[list[str] | None, Query()] = None,
    topic: str | None = None,
    source: str | None = None,
    q: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = PER_PAGE,
) -> dict[str, Any]:
    """The queue, best score first, with the same filters as the page."""
    ctx = web_context(request)
    result = ctx.repository.queue(
        queue_filter(state, topic, source, q, date_from, date_to), page=page, per_page=per_page, now=utc_now()
    )
    return {
        "items": [i.to_json() for i in result.items],
        "total": result.total,
        "page": result.page,
        "pages": result.pages,
        "per_page": result.per_page,
    }


@api.get("/stories/{story_id}")
def api_story(request: Request, story_id: RowId, user: Editor) -> Response:
    """A story with members, topics, score parts, candidate state and audit log."""
    try:
        return JSONResponse(_story_json(web_context(request), story_id))
    except StorageError as exc:
        return _fail(exc)


@api.post("/stories/{story_id}/actions", dependencies=[Depends(check_csrf)])
def api_action(request: Request, story_id: RowId, body: ActionIn, user: Editor) -> Response:
    """Shortlist, accept, reject (with reason), snooze (until a day) or restore; 409 when the version is stale."""
    ctx = web_context(request)
    if body.action not in ACTIONS:
        return JSONResponse({"error": f"未知操作：{body.action}", "code": "review.invalid"}, status_code=422)
    until = datetime.combine(body.until, time.min, tzinfo=EDITOR_ZONE) if body.until else None
    try:
        outcome = act(
            ctx,
            story_id,
            body.action,
            user,
            expected_version=body.version,
            reason=body.reason,
            section=body.section,
            until=until,
        )
    except StorageError as exc:
        return _fail(exc)
    return JSONResponse(outcome.state.to_json() | {"note": draft_note(outcome.draft).lstrip("，")})


@api.patch("/stories/{story_id}", dependencies=[Depends(check_csrf)])
def api_edit(request: Request, story_id: RowId, body: EditIn, user: Editor) -> Response:
    """Editor title and summary (stored apart from the harvested text, with history)."""
    try:
        after = edit_text(
            web_context(request).repository,
            story_id,
            title=body.title,
            summary=body.summary,
            user=user.name,
            expected_version=body.version,
            now=utc_now(),
        )
    except StorageError as exc:
        return _fail(exc)
    return JSONResponse(after.to_json())


@api.post("/stories/{story_id}/topics", dependencies=[Depends(check_csrf)])
def api_topics(request: Request, story_id: RowId, body: TopicsIn, user: Editor) -> Response:
    """Correct a story's topics (labels for the learned model)."""
    ctx = web_context(request)
    known = topic_names(ctx)
    unknown = [t for t in [*body.add, *body.remove] if t not in known]
    if unknown:
        return JSONResponse({"error": f"未知主题：{', '.join(unknown)}", "code": "review.invalid"}, status_code=422)
    try:
        after = ctx.repository.correct_topics(
            story_id,
            add=body.add,
            remove=body.remove,
            user=user.name,
            expected_version=body.version,
            service=ctx.stories,
            now=utc_now(),
        )
    except StorageError as exc:
        return _fail(exc)
    return JSONResponse(after.to_json())


@api.post("/bulk", dependencies=[Depends(check_csrf)])
def api_bulk(request: Request, body: BulkIn, user: Editor) -> Response:
    """One action (not snooze) on many stories; each result says whether it applied."""
    if body.action not in ACTIONS or body.action == "snooze":
        return JSONResponse({"error": f"不支持的批量操作：{body.action}", "code": "review.invalid"}, status_code=422)
    results = bulk_actions(web_context(request), user, body.action, body.ids, body.reason)
    return JSONResponse({"results": results, "ok": sum(1 for r in results if r["ok"])})


@api.get("/stories/{story_id}/audit")
def api_audit(request: Request, story_id: RowId, user: Editor) -> list[dict[str, Any]]:
    """Who did what to the story, newest first."""
    return [a.to_json() for a in web_context(request).repository.audit_entries(story_id)]


@api.get("/status")
def api_status(request: Request, user: Editor) -> dict[str, Any]:
    """Freshness: when the last harvest ran and which sources are failing."""
    return freshness(web_context(request))


@api.get("/openapi.json", include_in_schema=False)
def api_schema(request: Request, user: Editor) -> dict[str, Any]:
    """The OpenAPI schema of this API (every action the pages offer)."""
    schema: dict[str, Any] = request.app.openapi()
    return schema


@api.get("/sources")
def api_sources(request: Request, user: Editor) -> list[dict[str, Any]]:
    """Every configured source with its health, as ``sources list --json`` prints it."""
    return web_context(request).sources_health()
