"""The review queue's HTML pages (``router``): the queue, a story with its actions, bulk actions and the harvested
page as evidence.

Every action exists in the JSON API too (news_harvester.web.review_api; the page posts a form, its JavaScript
calls the API with the CSRF header); what both share is in news_harvester.web.review. Errors come back as a
Chinese message on the page.
"""

from __future__ import annotations

import threading
import time as time_module
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from news_harvester.clock import editor_time, utc_now
from news_harvester.editorial.review_rules import DEFAULT_SECTION
from news_harvester.editorial.story_actions import edit_text
from news_harvester.errors import StorageError
from news_harvester.parse.sanitize import sanitize_html, text_to_html
from news_harvester.store.queue import QueueFilter, QueueItem
from news_harvester.stories.first_report import Report, first_report
from news_harvester.web.audit_view import audit_text
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
    day_start,
    draft_note,
    freshness,
    queue_filter,
    topic_names,
    web_context,
)

router = APIRouter(include_in_schema=False)

ISSUE_STATUS_NAMES = {"draft": "草稿", "published": "已出版"}
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


MATCH_NAMES = {"url": "同一链接", "content_hash": "全文相同", "minhash": "文本相似", "title": "标题相近"}
"""How a reprint was matched to its story (the dedupe layer); the founding article ("new") shows none."""


def source_weight(ctx: WebContext) -> Callable[[str], float]:
    """A source's weight in the current sources.yaml (1.0 for a source no longer listed)."""
    config = ctx.sources()

    def weight(source_id: str) -> float:
        spec = config.get(source_id) if config is not None else None
        return spec.weight if spec is not None else 1.0

    return weight


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
    fresh = freshness(ctx, health)
    if ctx.banner_ttl > 0:
        _BANNERS[id(ctx)] = (now, fresh, health)
    return fresh, health


ROW_CACHE_SIZE = 5_000
_ROWS: OrderedDict[int, tuple[QueueItem, Markup]] = OrderedDict()
_ROWS_TOPICS: dict[str, dict[str, str]] = {}
_ROWS_LOCK = threading.Lock()


def queue_rows(ctx: WebContext, items: list[QueueItem], topics: dict[str, str]) -> list[Markup]:
    """The queue's rows as HTML, each rendered once per stored version of its story.

    Escaping fifty rows of titles, snippets, topics and times was most of a queue page's CPU. The queue index
    hands out the same item object until a logged change touches the story (store.queue_index), so a row is
    keyed by that object: a changed story is a new object and is rendered afresh. Nothing in a row depends on
    who is looking; a changed taxonomy (topic names) clears the cache."""
    template = ctx.templates.get_template("queue_item.html")
    rows: list[Markup] = []
    with _ROWS_LOCK:
        if _ROWS_TOPICS.get("names") != topics:
            _ROWS.clear()
            _ROWS_TOPICS["names"] = dict(topics)
        cached = {id(item): _ROWS.get(id(item)) for item in items}
    for item in items:
        hit = cached[id(item)]
        if hit is not None and hit[0] is item:
            rows.append(hit[1])
            continue
        html = Markup(  # noqa: S704 (rendered by an autoescaping template)
            template.render(
                item=item, topics=topics, state_names=STATE_NAMES, score_reason=_score_reason, local=editor_time
            )
        )
        with _ROWS_LOCK:
            _ROWS[id(item)] = (item, html)  # the item is held, so its id is not reused while cached
            while len(_ROWS) > ROW_CACHE_SIZE:
                _ROWS.popitem(last=False)
        rows.append(html)
    return rows


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
    ctx = web_context(request)
    try:
        filters = queue_filter(state, topic, source, q, date_from, date_to)
    except HTTPException as exc:
        filters, page = QueueFilter(), 1
        request.state.flash = exc.detail
    result = ctx.repository.queue(filters, page=page, per_page=PER_PAGE, now=utc_now())
    fresh, health = _banner(ctx)
    names = topic_names(ctx)
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
            "rows": queue_rows(ctx, result.items, names),
            "params": params,
            "page_url": page_url,
            "topics": names,
            "sources": sorted({s.get("id"): s.get("name") for s in health}.items(), key=lambda kv: str(kv[1])),
            "state_names": STATE_NAMES,
            "score_reason": _score_reason,
            "local": editor_time,
            "freshness": fresh,
            "flash": getattr(request.state, "flash", None) or request.query_params.get("msg"),
            "flash_kind": "error" if getattr(request.state, "flash", None) else "info",
        },
    )


@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story_page(request: Request, story_id: RowId, user: Editor) -> Response:
    ctx = web_context(request)
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
    names = topic_names(ctx)
    first = first_report(
        (Report(m.article_id, m.source_id, m.published_at if m.stated_time else None, m.published_at)
         for m in detail.members),
        source_weight(ctx),
    )  # fmt: skip
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
            "first_report": first,
            "match_names": MATCH_NAMES,
            "topics": names,
            "state_names": STATE_NAMES,
            "action_names": ACTION_NAMES,
            "part_names": PART_NAMES,
            "local": editor_time,
            "audit_text": partial(audit_text, states=STATE_NAMES | ISSUE_STATUS_NAMES, topics=names, local=editor_time),
            "default_section": DEFAULT_SECTION,
            "flash": request.query_params.get("msg"),
            "flash_kind": request.query_params.get("kind", "info"),
        },
    )


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
    ctx = web_context(request)
    try:
        until_at = day_start(until) if until else None
        outcome = act(
            ctx, story_id, action, user, expected_version=version, reason=reason, section=section, until=until_at
        )
    except HTTPException as exc:
        return _back(story_id, str(exc.detail), "error")
    except StorageError as exc:
        return _back(story_id, str(exc), "error")
    return _back(story_id, f"已{ACTION_NAMES.get(action, action)}{draft_note(outcome.draft)}")


@router.post("/stories/{story_id}/edit", dependencies=[Depends(check_csrf)])
def story_edit_form(
    request: Request,
    story_id: RowId,
    user: Editor,
    version: Annotated[int | None, Form()] = None,
    title: Annotated[str | None, Form(max_length=MAX_TITLE)] = None,
    summary: Annotated[str | None, Form(max_length=MAX_SUMMARY)] = None,
) -> Response:
    ctx = web_context(request)
    try:
        edit_text(
            ctx.repository,
            story_id,
            title=title,
            summary=summary,
            user=user.name,
            expected_version=version,
            now=utc_now(),
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
    ctx = web_context(request)
    known = topic_names(ctx)
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
            now=utc_now(),
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
    results = bulk_actions(web_context(request), user, action, story or [], reason)
    done = sum(1 for r in results if r["ok"])
    failed = [r for r in results if not r["ok"]]
    message = f"已处理 {done} 条" + (f"，{len(failed)} 条失败：{failed[0]['error']}" if failed else "")
    target = back if back.startswith("/") and not back.startswith("//") else "/"
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}{urlencode({'msg': message})}", status_code=303)


@router.get("/articles/{article_id}/evidence", response_class=HTMLResponse)
def evidence_page(request: Request, article_id: RowId, user: Editor) -> Response:
    """The page as harvested, through the sanitizer (scripts, styles, frames and handlers removed)."""
    ctx = web_context(request)
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
