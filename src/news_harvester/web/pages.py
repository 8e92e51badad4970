"""The review queue: HTML pages (``router``) and the JSON API (``api``) over the same store calls.

Every action exists in both: the page posts a form (or the JavaScript calls the API with the CSRF header),
the API answers JSON. Errors are Chinese messages on the page and the right HTTP status from the API:
400/422 bad input, 404 unknown story, 409 stale version ("changed by X, reload").
"""

from __future__ import annotations

import re
import time as time_module
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from news_harvester.errors import StorageError
from news_harvester.parse.sanitize import sanitize_html, text_to_html
from news_harvester.sources.alarms import KIND_LABELS
from news_harvester.store.review import (
    ACTIONS,
    DEFAULT_SECTION,
    OPEN_STATES,
    STATES,
    ConflictError,
    InvalidAction,
    QueueFilter,
)
from news_harvester.web.auth import CurrentUser, check_csrf, require_admin, require_editor
from news_harvester.web.context import RowId, WebContext

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["review"])

EDITOR_ZONE = ZoneInfo("Asia/Shanghai")
PER_PAGE = 50
MIN_YEAR = 1900
MAX_YEAR = 2999
MAX_TITLE = 300
MAX_SUMMARY = 2000
MAX_REASON = 500
STATE_NAMES = {
    "new": "待审",
    "shortlisted": "备选",
    "snoozed": "暂缓",
    "accepted": "已采用",
    "rejected": "已退回",
    "used": "已刊发",
}
ACTION_NAMES = {
    "shortlist": "加入备选",
    "accept": "采用",
    "reject": "退回",
    "snooze": "暂缓",
    "restore": "恢复",
    "edit": "编辑文字",
    "topics": "修改主题",
    "issue_add": "放入期刊",
    "issue_remove": "移出期刊",
    "issue_edit": "修改期刊条目",
    "issue_move": "调整期刊顺序",
}
ERROR_NAMES = {
    "fetch.timeout": "连接超时",
    "fetch.network": "网络错误",
    "fetch.dns": "域名无法解析",
    "fetch.refused": "连接被拒绝",
    "fetch.tls": "证书或加密连接错误",
    "fetch.truncated": "响应不完整",
    "fetch.http_status": "网站返回错误状态码",
    "fetch.too_large": "页面过大",
    "fetch.redirect_loop": "重定向过多",
    "fetch.rate_limited": "访问过于频繁被限流",
    "fetch.robots_denied": "robots.txt 不允许抓取",
    "fetch.bad_encoding": "内容压缩或编码错误",
    "fetch.invalid_url": "网址无效",
    "fetch.challenge": "被网站防火墙拦截（验证页面）",
    "decode.charset": "无法识别页面编码",
    "decode.binary": "返回的是文件而不是网页",
    "parse.malformed": "内容格式错误",
    "parse.not_a_feed": "不是 RSS/Atom 订阅源",
    "parse.no_items": "列表页没有找到任何条目（网站可能改版）",
    "parse.unsupported": "不支持的内容格式",
    "parse.no_datasource": "页面中找不到数据源编号",
    "run.interrupted": "抓取被中断",
}
PART_NAMES = {
    "topic": "主题相关度",
    "source": "来源权威性",
    "outlets": "转载媒体数",
    "recency": "时效",
    "editor_fit": "编辑偏好",
    "off_topic": "无匹配主题",
    "used": "已刊发",
    "rejected": "已退回",
}

Editor = Annotated[CurrentUser, Depends(require_editor)]


def _ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


def _now() -> datetime:
    return datetime.now(UTC)


def _topic_names(ctx: WebContext) -> dict[str, str]:
    taxonomy = ctx.stories.enricher.taxonomy
    return {t.id: t.name for t in taxonomy.topics} if taxonomy else {}


def _local(when: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return when.astimezone(EDITOR_ZONE).strftime(fmt) if when else "—"


def _day_start(value: str | None, *, end: bool = False) -> datetime | None:
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


def _filters(
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
        date_from=_day_start(date_from),
        date_to=_day_start(date_to, end=True),
    )


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _score_reason(parts: dict[str, float]) -> str:
    return "；".join(f"{PART_NAMES.get(k, k)} {v:+.1f}" for k, v in parts.items() if v)


_BANNERS: dict[int, tuple[float, dict[str, Any], list[dict[str, Any]]]] = {}


def _banner(ctx: WebContext) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(freshness, sources health)`` for the queue page, recomputed at most every ``ctx.banner_ttl`` seconds:
    it reads every source's state, the alarms and the last run, the same for every editor and every page."""
    now = time_module.monotonic()
    cached = _BANNERS.get(id(ctx))
    if cached is not None and now - cached[0] < ctx.banner_ttl:
        return cached[1], cached[2]
    health = ctx.sources_health()
    fresh = _freshness(ctx, health)
    if ctx.banner_ttl > 0:
        _BANNERS[id(ctx)] = (now, fresh, health)
    return fresh, health


def _freshness(ctx: WebContext, health: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    last = ctx.repository.last_harvest_at()
    failing = [s for s in (health if health is not None else ctx.sources_health()) if s.get("health") == "failing"]
    return {
        "last_harvest_at": last.isoformat() if last else None,
        "last_harvest_local": _local(last),
        "stale": last is None or _now() - last > timedelta(hours=6),
        "failing_sources": [
            {"id": s.get("id"), "name": s.get("name"), "error": s.get("last_error_code")} for s in failing
        ],
        "alarms": [
            {
                "source_id": a.source_id,
                "source": a.source_name,
                "kind": a.kind,
                "label": KIND_LABELS.get(a.kind, a.kind),
                "message": a.message,
                "since": a.first_seen_at.isoformat(),
            }
            for a in ctx.repository.open_alarms()
        ],
    }


def _error_status(exc: StorageError) -> int:
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, InvalidAction):
        return 422
    if exc.code == "storage.not_found":
        return 404
    return 400


# --------------------------------------------------------------------------- HTML pages


@router.get("/", response_class=HTMLResponse)
def queue_page(
    request: Request,
    user: Editor,
    state: Annotated[list[str] | None, Query()] = None,
    topic: str | None = None,
    source: str | None = None,
    q: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    ctx = _ctx(request)
    try:
        filters = _filters(state, topic, source, q, date_from, date_to)
    except HTTPException as exc:
        filters, page = QueueFilter(), 1
        request.state.flash = exc.detail
    result = ctx.repository.queue(filters, page=page, per_page=PER_PAGE, now=_now())
    freshness, health = _banner(ctx)
    params = {
        "state": list(filters.states) if state else [],
        "topic": topic or "",
        "source": source or "",
        "q": q or "",
        "date_from": date_from or "",
        "date_to": date_to or "",
    }

    def page_url(n: int) -> str:
        return "/?" + urlencode({**{k: v for k, v in params.items() if v}, "page": n}, doseq=True)

    return ctx.templates.TemplateResponse(
        request,
        "queue.html",
        {
            "user": user,
            "nav": "queue",
            "page": result,
            "items": result.items,
            "params": params,
            "page_url": page_url,
            "topics": _topic_names(ctx),
            "sources": sorted({s.get("id"): s.get("name") for s in health}.items(), key=lambda kv: str(kv[1])),
            "state_names": STATE_NAMES,
            "score_reason": _score_reason,
            "local": _local,
            "freshness": freshness,
            "flash": getattr(request.state, "flash", None) or request.query_params.get("msg"),
            "flash_kind": "error" if getattr(request.state, "flash", None) else "info",
        },
    )


@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story_page(request: Request, story_id: RowId, user: Editor) -> Response:
    ctx = _ctx(request)
    views = ctx.repository.list_stories(story_ids=[story_id], limit=1)
    if not views:
        return ctx.templates.TemplateResponse(
            request, "error.html", {"user": user, "message": f"素材 #{story_id} 不存在"}, status_code=404
        )
    try:
        detail = ctx.repository.story_detail(story_id)
    except StorageError:
        return ctx.templates.TemplateResponse(
            request, "error.html", {"user": user, "message": f"素材 #{story_id} 不在候选队列中"}, status_code=404
        )
    view = views[0]
    topic_names = _topic_names(ctx)
    return ctx.templates.TemplateResponse(
        request,
        "story.html",
        {
            "user": user,
            "nav": "queue",
            "story": view,
            "detail": detail,
            "candidate": detail.candidate,
            "bodies": {m.article_id: text_to_html(m.body_text) for m in detail.members},
            "topics": topic_names,
            "state_names": STATE_NAMES,
            "action_names": ACTION_NAMES,
            "part_names": PART_NAMES,
            "local": _local,
            "default_section": DEFAULT_SECTION,
            "flash": request.query_params.get("msg"),
            "flash_kind": request.query_params.get("kind", "info"),
        },
    )


def sync_issue(ctx: WebContext, story_id: int, action: str, user: CurrentUser, section: str | None = None) -> str:
    """Accepting puts the story into the current draft issue (summary drafted); rejecting or restoring takes it
    out again. Returns a note for the editor ("" when nothing to say)."""
    from news_harvester.editorial import issues

    now = _now()
    if action == "accept":
        try:
            issues.add_story(
                ctx.repository,
                ctx.settings,
                ctx.sources(),
                story_id,
                user=user.name,
                now=now,
                section=section or DEFAULT_SECTION,
            )
        except StorageError as exc:
            # a conflict is fine only when the story is in the draft already (a double click, another editor)
            draft = ctx.repository.current_draft_id() if exc.code == "storage.conflict" else None
            if draft is None or ctx.repository.item_for_story(draft, story_id) is None:
                return f"（未能放入本期草稿：{exc}）"
        return "，已放入本期草稿"
    if action in ("reject", "restore"):
        draft = ctx.repository.current_draft_id()
        item = ctx.repository.item_for_story(draft, story_id) if draft else None
        if item is not None:
            ctx.repository.remove_item(item.id, user=user.name, now=now)
            return "，已从本期草稿移出"
    return ""


def _back(story_id: int, message: str, kind: str = "info", status: int = 303) -> RedirectResponse:
    return RedirectResponse(f"/stories/{story_id}?" + urlencode({"msg": message, "kind": kind}), status_code=status)


@router.post("/stories/{story_id}/action", dependencies=[Depends(check_csrf)])
def story_action_form(
    request: Request,
    story_id: RowId,
    user: Editor,
    action: Annotated[str, Form()],
    version: Annotated[int | None, Form()] = None,
    reason: Annotated[str | None, Form(max_length=MAX_REASON)] = None,
    section: Annotated[str | None, Form(max_length=32)] = None,
    until: Annotated[str | None, Form()] = None,
) -> Response:
    ctx = _ctx(request)
    try:
        until_at = _day_start(until) if until else None
        ctx.repository.apply_action(
            story_id,
            action,
            user=user.name,
            expected_version=version,
            service=ctx.stories,
            now=_now(),
            reason=reason,
            section=section,
            until=until_at,
        )
    except HTTPException as exc:
        return _back(story_id, str(exc.detail), "error")
    except StorageError as exc:
        return _back(story_id, str(exc), "error")
    note = sync_issue(ctx, story_id, action, user, section)
    return _back(story_id, f"已{ACTION_NAMES.get(action, action)}{note}")


@router.post("/stories/{story_id}/edit", dependencies=[Depends(check_csrf)])
def story_edit_form(
    request: Request,
    story_id: RowId,
    user: Editor,
    version: Annotated[int | None, Form()] = None,
    title: Annotated[str | None, Form(max_length=MAX_TITLE)] = None,
    summary: Annotated[str | None, Form(max_length=MAX_SUMMARY)] = None,
) -> Response:
    ctx = _ctx(request)
    try:
        ctx.repository.edit_text(
            story_id, title=title, summary=summary, user=user.name, expected_version=version, now=_now()
        )
    except StorageError as exc:
        return _back(story_id, str(exc), "error")
    return _back(story_id, "已保存")


@router.post("/stories/{story_id}/topics", dependencies=[Depends(check_csrf)])
def story_topics_form(
    request: Request,
    story_id: RowId,
    user: Editor,
    topic: Annotated[list[str] | None, Form()] = None,
    version: Annotated[int | None, Form()] = None,
) -> Response:
    ctx = _ctx(request)
    known = _topic_names(ctx)
    chosen = {t for t in (topic or []) if t in known}
    views = ctx.repository.list_stories(story_ids=[story_id], limit=1, with_members=False)
    if not views:
        return _back(story_id, "素材不存在", "error", 303)
    current = {t.id for t in views[0].topics}
    try:
        ctx.repository.correct_topics(
            story_id,
            add=sorted(chosen - current),
            remove=sorted(current - chosen),
            user=user.name,
            expected_version=version,
            service=ctx.stories,
            now=_now(),
        )
    except StorageError as exc:
        return _back(story_id, str(exc), "error")
    return _back(story_id, "主题已更新")


@router.post("/bulk", dependencies=[Depends(check_csrf)])
def bulk_form(
    request: Request,
    user: Editor,
    action: Annotated[str, Form()],
    story: Annotated[list[int] | None, Form()] = None,
    reason: Annotated[str | None, Form(max_length=MAX_REASON)] = None,
    back: Annotated[str, Form()] = "/",
) -> Response:
    results = _bulk(_ctx(request), user, action, story or [], reason)
    done = sum(1 for r in results if r["ok"])
    failed = [r for r in results if not r["ok"]]
    message = f"已处理 {done} 条" + (f"，{len(failed)} 条失败：{failed[0]['error']}" if failed else "")
    target = back if back.startswith("/") and not back.startswith("//") else "/"
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}{urlencode({'msg': message})}", status_code=303)


@router.get("/articles/{article_id}/evidence", response_class=HTMLResponse)
def evidence_page(request: Request, article_id: RowId, user: Editor) -> Response:
    """The page as harvested, through the sanitizer (scripts, styles, frames and handlers removed)."""
    ctx = _ctx(request)
    found = ctx.repository.article_evidence(article_id)
    if found is None:
        return ctx.templates.TemplateResponse(
            request, "error.html", {"user": user, "message": "没有这篇文章的存档快照"}, status_code=404
        )
    url, story_id, raw = found
    html = sanitize_html(decode_evidence(raw), base_url=url)
    return ctx.templates.TemplateResponse(
        request, "evidence.html", {"user": user, "html": html, "url": url, "story_id": story_id}
    )


def decode_evidence(raw: bytes) -> str:
    """Bytes of a stored page as text: UTF-8 when valid, else GB18030 (a superset of GBK/GB2312)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")


def _sources_file_error(ctx: WebContext) -> str | None:
    """The current sources.yaml's problem (file:line, field, hint) when a hand edit broke it; the daemon keeps
    running on the last valid version meanwhile."""
    from news_harvester.config import load_sources
    from news_harvester.errors import ConfigError

    try:
        load_sources(ctx.settings.sources)
    except ConfigError as exc:
        return str(exc)
    return None


@router.get("/admin/sources", response_class=HTMLResponse)
def admin_sources(request: Request, user: Annotated[CurrentUser, Depends(require_admin)]) -> Response:
    ctx = _ctx(request)
    return ctx.templates.TemplateResponse(
        request,
        "sources.html",
        {
            "user": user,
            "nav": "sources",
            "sources": ctx.sources_health(),
            "local": _local,
            "alarms": ctx.repository.open_alarms(),
            "history": ctx.repository.recent_alarms(limit=50),
            "labels": KIND_LABELS,
            "error_names": ERROR_NAMES,
            "config_error": _sources_file_error(ctx),
            "flash": request.query_params.get("msg"),
            "flash_kind": request.query_params.get("kind", "info"),
            "per_day": ctx.repository.items_per_day(_now() - timedelta(days=30), days=30),
        },
    )


# --------------------------------------------------------------------------- JSON API


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
    ctx = _ctx(request)
    result = ctx.repository.queue(
        _filters(state, topic, source, q, date_from, date_to), page=page, per_page=per_page, now=_now()
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
        return JSONResponse(_story_json(_ctx(request), story_id))
    except StorageError as exc:
        return _fail(exc)


@api.post("/stories/{story_id}/actions", dependencies=[Depends(check_csrf)])
def api_action(request: Request, story_id: RowId, body: ActionIn, user: Editor) -> Response:
    """Shortlist, accept, reject (with reason), snooze (until a day) or restore; 409 when the version is stale."""
    ctx = _ctx(request)
    if body.action not in ACTIONS:
        return JSONResponse({"error": f"未知操作：{body.action}", "code": "review.invalid"}, status_code=422)
    until = datetime.combine(body.until, time.min, tzinfo=EDITOR_ZONE) if body.until else None
    try:
        after = ctx.repository.apply_action(
            story_id,
            body.action,
            user=user.name,
            expected_version=body.version,
            service=ctx.stories,
            now=_now(),
            reason=body.reason,
            section=body.section,
            until=until,
        )
    except StorageError as exc:
        return _fail(exc)
    note = sync_issue(ctx, story_id, body.action, user, body.section)
    return JSONResponse(after.to_json() | {"note": note.lstrip("，")})


@api.patch("/stories/{story_id}", dependencies=[Depends(check_csrf)])
def api_edit(request: Request, story_id: RowId, body: EditIn, user: Editor) -> Response:
    """Editor title and summary (stored apart from the harvested text, with history)."""
    try:
        after = _ctx(request).repository.edit_text(
            story_id,
            title=body.title,
            summary=body.summary,
            user=user.name,
            expected_version=body.version,
            now=_now(),
        )
    except StorageError as exc:
        return _fail(exc)
    return JSONResponse(after.to_json())


@api.post("/stories/{story_id}/topics", dependencies=[Depends(check_csrf)])
def api_topics(request: Request, story_id: RowId, body: TopicsIn, user: Editor) -> Response:
    """Correct a story's topics (labels for the learned model)."""
    ctx = _ctx(request)
    known = _topic_names(ctx)
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
            now=_now(),
        )
    except StorageError as exc:
        return _fail(exc)
    return JSONResponse(after.to_json())


def _bulk(ctx: WebContext, user: CurrentUser, action: str, ids: list[int], reason: str | None) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for story_id in ids[:500]:
        try:
            ctx.repository.apply_action(
                story_id, action, user=user.name, expected_version=None, service=ctx.stories, now=_now(), reason=reason
            )
            sync_issue(ctx, story_id, action, user)
            results.append({"id": story_id, "ok": True})
        except StorageError as exc:
            results.append({"id": story_id, "ok": False, "error": str(exc), "code": exc.code})
    return results


@api.post("/bulk", dependencies=[Depends(check_csrf)])
def api_bulk(request: Request, body: BulkIn, user: Editor) -> Response:
    """One action (not snooze) on many stories; each result says whether it applied."""
    if body.action not in ACTIONS or body.action == "snooze":
        return JSONResponse({"error": f"不支持的批量操作：{body.action}", "code": "review.invalid"}, status_code=422)
    results = _bulk(_ctx(request), user, body.action, body.ids, body.reason)
    return JSONResponse({"results": results, "ok": sum(1 for r in results if r["ok"])})


@api.get("/stories/{story_id}/audit")
def api_audit(request: Request, story_id: RowId, user: Editor) -> list[dict[str, Any]]:
    """Who did what to the story, newest first."""
    return [a.to_json() for a in _ctx(request).repository.audit_entries(story_id)]


@api.get("/status")
def api_status(request: Request, user: Editor) -> dict[str, Any]:
    """Freshness: when the last harvest ran and which sources are failing."""
    return _freshness(_ctx(request))


@api.get("/openapi.json", include_in_schema=False)
def api_schema(request: Request, user: Editor) -> dict[str, Any]:
    """The OpenAPI schema of this API (every action the pages offer)."""
    schema: dict[str, Any] = request.app.openapi()
    return schema


@api.get("/sources")
def api_sources(request: Request, user: Editor) -> list[dict[str, Any]]:
    """Every configured source with its health, as ``sources list --json`` prints it."""
    return _ctx(request).sources_health()
