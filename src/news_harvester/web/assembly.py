"""Issue assembly screen (editors): sections with their items, ordering, moves, removal, summary editing and
regeneration, free-text sections, house-style warnings, topic balance, export and publishing.

Pages post forms and redirect back with a Chinese message; the JSON API under /api/issues offers the same.

Publishing takes two steps that need no script: the button on the issue page posts without ``confirm`` and is
answered with the issue page in its confirmation state (what will be locked, which sections are short of their
target, how many stories become used), whose own form posts ``confirm=yes`` with the version the editor saw. Only
that second post publishes, and only if the issue did not change in between; an issue without items is refused
at either step.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from news_harvester.editorial import figures_report, issues
from news_harvester.editorial.figures import FiguresError
from news_harvester.editorial.story_actions import apply_action
from news_harvester.errors import HarvesterError, StorageError
from news_harvester.parse.sanitize import sanitize_html, text_to_html
from news_harvester.web.auth import CurrentUser, check_csrf, require_editor
from news_harvester.web.context import RowId, WebContext

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/issues", tags=["issues"])
Editor = Annotated[CurrentUser, Depends(require_editor)]
NEWS_SECTION = "行业资讯"
MAX_TEXT = 4000
MAX_HTML = 50_000
FREE_TEXT_TAGS = {"p", "br", "ul", "ol", "li", "table", "thead", "tbody", "tr", "td", "th", "strong", "em", "b", "i"}


def _ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


def _now() -> datetime:
    return datetime.now(UTC)


def _back(issue_id: int, message: str, kind: str = "info") -> RedirectResponse:
    return RedirectResponse(f"/issues/{issue_id}?" + urlencode({"msg": message, "kind": kind}), status_code=303)


def clean_free_text(html: str) -> str:
    """Rich text of 数据月报/协会动态: the sanitizer, then only paragraphs, lists and simple tables survive."""
    from lxml import html as lxml_html  # type: ignore[import-untyped]

    if "<" not in html:  # plain text typed into the box: one paragraph per line
        return text_to_html(html[:MAX_HTML])
    cleaned = sanitize_html(html[:MAX_HTML])
    if not cleaned.strip():
        return ""
    fragment = lxml_html.fragment_fromstring(cleaned, create_parent="div")
    for element in list(fragment.iter()):
        if element is fragment or not isinstance(element.tag, str):
            continue
        if element.tag not in FREE_TEXT_TAGS:
            element.drop_tag()
        else:
            element.attrib.clear()
    inner = (fragment.text or "") + "".join(lxml_html.tostring(c, encoding="unicode") for c in fragment)
    return inner if inner.lstrip().startswith("<") else f"<p>{inner}</p>"


def _topic_balance(ctx: WebContext, issue: Any) -> list[tuple[str, int]]:
    story_ids = [i.story_id for i in issue.section_items(NEWS_SECTION) if i.story_id is not None]
    counts: Counter[str] = Counter()
    if story_ids:
        for view in ctx.repository.list_stories(story_ids=story_ids, limit=len(story_ids), with_members=False):
            counts.update(t.id for t in view.topics)
    taxonomy = ctx.stories.enricher.taxonomy
    names = [(t.id, t.name) for t in taxonomy.topics] if taxonomy else []
    return [(name, counts.get(tid, 0)) for tid, name in names]


@router.get("/issues", response_class=HTMLResponse)
def issues_page(request: Request, user: Editor) -> Response:
    ctx = _ctx(request)
    rows = ctx.repository.list_issues()
    proposed = issues.propose_numbers(ctx.repository, issues.editor_today(_now()))
    return ctx.templates.TemplateResponse(
        request,
        "issues.html",
        {
            "user": user,
            "nav": "issues",
            "issues": rows,
            "proposed": proposed,
            "current": ctx.repository.current_draft_id(),
            "flash": request.query_params.get("msg"),
        },
    )


@router.post("/issues", dependencies=[Depends(check_csrf)])
def issue_create(
    request: Request,
    user: Editor,
    year: Annotated[str, Form()] = "",
    number: Annotated[str, Form()] = "",
    total_number: Annotated[str, Form()] = "",
    issue_date: Annotated[str, Form()] = "",
) -> Response:
    """A new draft, numbered as the editor typed (a brief that started before the product continues its 年第 N 期
    and 总第 N 期) or, for fields left empty, after the last issue."""
    ctx = _ctx(request)
    try:
        numbers = _typed_numbers(year, number, total_number, issue_date)
        issue_id = issues.new_issue(ctx.repository, ctx.settings, user=user.name, now=_now(), **numbers)
    except (ValueError, StorageError) as exc:  # a typed value, or numbers the store refuses
        return RedirectResponse("/issues?" + urlencode({"msg": str(exc)}), status_code=303)
    current = ctx.repository.current_draft_id()
    if current is not None and current != issue_id:  # the filled draft stays the one 本期编排 and accepts use
        label = ctx.repository.get_issue(current).label
        return _back(issue_id, f"已新建一期草稿；“本期编排”和采用的素材仍然对应已有内容的草稿 {label}")
    return _back(issue_id, "已新建一期草稿")


_NUMBER_FIELDS = (("year", "年份", 2000, 2100), ("number", "期号", 1, 999), ("total_number", "总期号", 1, 100_000))


def _typed_numbers(year: str, number: str, total_number: str, issue_date: str) -> dict[str, Any]:
    """The new-draft form's fields as ``new_issue`` arguments (empty: proposed); ValueError says what is wrong."""
    typed: dict[str, Any] = {}
    for (name, label, low, high), text in zip(_NUMBER_FIELDS, (year, number, total_number), strict=True):
        text = text.strip()
        if not text:
            continue
        if not text.isdigit() or not low <= int(text) <= high:
            raise ValueError(f"{label}应为 {low} 到 {high} 之间的整数，而不是“{text[:20]}”")
        typed[name] = int(text)
    if issue_date.strip():
        try:
            typed["issue_date"] = datetime.strptime(issue_date.strip(), "%Y-%m-%d").date()
        except ValueError:
            raise ValueError(f"出版日期应为 年-月-日（如 2024-06-28），而不是“{issue_date.strip()[:20]}”") from None
    return typed


@router.get("/issues/current")
def issue_current(request: Request, user: Editor) -> Response:
    ctx = _ctx(request)
    draft = ctx.repository.current_draft_id()
    return RedirectResponse(f"/issues/{draft}" if draft else "/issues", status_code=303)


@router.get("/issues/{issue_id}", response_class=HTMLResponse)
def issue_page(request: Request, issue_id: RowId, user: Editor) -> Response:
    ctx = _ctx(request)
    try:
        issue = ctx.repository.get_issue(issue_id)
    except StorageError as exc:
        return ctx.templates.TemplateResponse(request, "error.html", {"user": user, "message": str(exc)}, 404)
    style = {i.id: issues.check_item(ctx.settings, i.title, i.text, i.attribution) for i in issue.items if i.story_id}
    style |= figures_report.check_issue(ctx.repository, issue)  # 数据月报 numbers against the imported figures
    confirming = request.query_params.get("publish") == "confirm" and issue.status == "draft" and bool(issue.items)
    return ctx.templates.TemplateResponse(
        request,
        "issue.html",
        {
            "user": user,
            "nav": "issues",
            "issue": issue,
            "style": style,
            "balance": _topic_balance(ctx, issue),
            "news_section": NEWS_SECTION,
            "flash": request.query_params.get("msg"),
            "flash_kind": request.query_params.get("kind", "info"),
            "confirm_publish": confirming,
            "short_sections": [s for s in issue.sections if len(issue.section_items(s.name)) < s.target],
            "story_count": sum(1 for i in issue.items if i.story_id is not None),
            "warning_count": sum(1 for problems in style.values() if problems),
            "figure_sets": ctx.repository.figure_sets(),
            "data_section": figures_report.DATA_SECTION,
        },
    )


def _item_action(request: Request, issue_id: int, user: CurrentUser, run: Any, done: str) -> Response:
    try:
        run(_ctx(request))
    except HarvesterError as exc:
        return _back(issue_id, str(exc), "error")
    return _back(issue_id, done)


@router.post("/issues/{issue_id}/items/{item_id}/move", dependencies=[Depends(check_csrf)])
def item_move(
    request: Request,
    issue_id: RowId,
    item_id: RowId,
    user: Editor,
    direction: Annotated[str, Form()] = "",
    section: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    offset = {"up": -1, "down": 1}.get(direction, 0)
    return _item_action(
        request,
        issue_id,
        user,
        lambda ctx: ctx.repository.move_item(
            item_id, user=user.name, now=_now(), offset=offset, section=section or None
        ),
        "已调整顺序" if offset else "已移动到其他栏目",
    )


@router.post("/issues/{issue_id}/items/{item_id}/remove", dependencies=[Depends(check_csrf)])
def item_remove(request: Request, issue_id: RowId, item_id: RowId, user: Editor) -> Response:
    def run(ctx: WebContext) -> None:
        item = ctx.repository.remove_item(item_id, user=user.name, now=_now())
        if item.story_id is not None:  # back to the queue, shortlisted so it is easy to find
            with contextlib.suppress(StorageError):  # e.g. the story was already rejected meanwhile
                apply_action(ctx.repository, ctx.stories, item.story_id, "shortlist", user=user.name, now=_now())

    return _item_action(request, issue_id, user, run, "已移出本期，素材回到候选队列（备选）")


@router.post("/issues/{issue_id}/items/{item_id}/edit", dependencies=[Depends(check_csrf)])
def item_edit(
    request: Request,
    issue_id: RowId,
    item_id: RowId,
    user: Editor,
    title: Annotated[str, Form(max_length=300)] = "",
    text: Annotated[str, Form(max_length=MAX_TEXT)] = "",
    attribution: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """An emptied title keeps the item's title and still saves the summary: a refusal would send the editor to
    an error page and lose the summary they were writing."""
    kept = title.strip() or None
    return _item_action(
        request,
        issue_id,
        user,
        lambda ctx: ctx.repository.update_item(
            item_id, title=kept, text=text.strip(), attribution=attribution.strip(), user=user.name, now=_now()
        ),
        "已保存" if kept else "标题不能为空，已保留原标题；摘要已保存",
    )


@router.post("/issues/{issue_id}/items/{item_id}/regenerate", dependencies=[Depends(check_csrf)])
def item_regenerate(request: Request, issue_id: RowId, item_id: RowId, user: Editor) -> Response:
    return _item_action(
        request,
        issue_id,
        user,
        lambda ctx: issues.regenerate(ctx.repository, ctx.settings, ctx.sources(), item_id, user=user.name, now=_now()),
        "已按原文重新生成摘要",
    )


@router.post("/issues/{issue_id}/text", dependencies=[Depends(check_csrf)])
def free_text_add(
    request: Request,
    issue_id: RowId,
    user: Editor,
    section: Annotated[str, Form(min_length=1, max_length=32)],
    title: Annotated[str, Form(max_length=300)] = "",
    html: Annotated[str, Form(max_length=MAX_HTML)] = "",
) -> Response:
    body = clean_free_text(html)
    if not body and not title.strip():
        return _back(issue_id, "内容为空，未保存", "error")
    return _item_action(
        request,
        issue_id,
        user,
        lambda ctx: ctx.repository.add_item(
            issue_id, section=section, title=title.strip(), html=body, user=user.name, now=_now()
        ),
        "已添加",
    )


@router.post("/issues/{issue_id}/items/{item_id}/html", dependencies=[Depends(check_csrf)])
def free_text_edit(
    request: Request,
    issue_id: RowId,
    item_id: RowId,
    user: Editor,
    title: Annotated[str, Form(max_length=300)] = "",
    html: Annotated[str, Form(max_length=MAX_HTML)] = "",
    chart_box: Annotated[str, Form(max_length=1)] = "",
    chart: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    """Saves the text; on a 数据月报 item (whose form has the chart box, ``chart_box``) also the box
    "附图：主要市场执行额": ticked, the chart of the figures the text talks about is attached (the text is
    saved even when no figures fit, and the editor is told why there is no chart)."""
    body = clean_free_text(html)
    ctx = _ctx(request)
    spec, problem = "", ""
    try:
        item = ctx.repository.get_item(item_id)
        if chart_box and chart:
            try:
                spec = figures_report.chart_spec(ctx.repository, item, title.strip() or item.title, body).to_json()
            except FiguresError as exc:
                problem = exc.message
        ctx.repository.update_item(
            item_id, title=title.strip(), html=body, chart=spec if chart_box else None, user=user.name, now=_now()
        )
    except HarvesterError as exc:
        return _back(issue_id, str(exc), "error")
    if problem:
        return _back(issue_id, f"正文已保存；{problem}", "error")
    return _back(issue_id, "已保存，已附图" if spec else "已保存")


def _to_confirmation(issue_id: int, message: str | None = None) -> RedirectResponse:
    query = {"publish": "confirm"} | ({"msg": message, "kind": "error"} if message else {})
    return RedirectResponse(f"/issues/{issue_id}?" + urlencode(query) + "#publish-confirm", status_code=303)


@router.post("/issues/{issue_id}/publish", dependencies=[Depends(check_csrf)])
def issue_publish(
    request: Request,
    issue_id: RowId,
    user: Editor,
    confirm: Annotated[str, Form(max_length=8)] = "",
    version: Annotated[int | None, Form(ge=1)] = None,
) -> Response:
    """The first post (no ``confirm``) leads to the confirmation; ``confirm=yes`` with the version the editor
    confirmed publishes. Without the version nothing is published either: a confirmation always shows one."""
    ctx = _ctx(request)
    try:
        issue = ctx.repository.get_issue(issue_id)
    except StorageError as exc:
        return ctx.templates.TemplateResponse(request, "error.html", {"user": user, "message": str(exc)}, 404)
    if issue.status != "draft":
        return _back(issue_id, "这一期已经出版过了", "error")
    if not issue.items:
        return _back(issue_id, "本期还没有任何条目，不能出版：请先采用素材或添加文字", "error")
    if confirm != "yes" or version is None:
        return _to_confirmation(issue_id)
    try:
        outcome = issues.publish(
            ctx.repository, ctx.settings, ctx.stories, issue_id, user=user.name, now=_now(), expected_version=version
        )
    except StorageError as exc:
        if exc.code == "issue.changed":
            return _to_confirmation(issue_id, str(exc))
        return _back(issue_id, str(exc), "error")
    moved = "".join(f"；原 {r.before.label} 草稿已顺延为 {r.after.label}" for r in outcome.renumbered)
    return _back(outcome.next_draft, f"{issue.label} 已出版，素材已标记为已刊发{moved}；这是下一期草稿")


@router.post("/issues/{issue_id}/reopen", dependencies=[Depends(check_csrf)])
def issue_reopen(
    request: Request, issue_id: RowId, user: Editor, reason: Annotated[str, Form(max_length=500)] = ""
) -> Response:
    return _item_action(
        request,
        issue_id,
        user,
        lambda ctx: issues.reopen(ctx.repository, issue_id, reason=reason, user=user.name, now=_now()),
        "已重新打开，修改会记录在操作日志中",
    )


@router.get("/issues/{issue_id}/export.{fmt}")
def issue_export(request: Request, issue_id: RowId, fmt: str, user: Editor) -> Response:
    ctx = _ctx(request)
    try:
        issue = ctx.repository.get_issue(issue_id)
        data = issues.export(issue, fmt, ctx.settings, figures_report.item_charts(ctx.repository, issue))
    except HarvesterError as exc:  # incl. ExportError, e.g. PDF without LibreOffice: a clear message
        status = 404 if exc.code == "storage.not_found" else 422
        return ctx.templates.TemplateResponse(request, "error.html", {"user": user, "message": str(exc)}, status)
    name = issues.file_name(issue, fmt)
    return Response(
        data,
        media_type=issues.MEDIA_TYPES.get(fmt, "application/octet-stream"),
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --------------------------------------------------------------------------- JSON


@api.get("")
def api_issues(request: Request, user: Editor) -> list[dict[str, Any]]:
    """Issues, newest first."""
    return [r.to_json(with_items=False) for r in _ctx(request).repository.list_issues()]


@api.get("/{issue_id}")
def api_issue(request: Request, issue_id: RowId, user: Editor) -> Response:
    """One issue with its sections (target and count) and items."""
    try:
        return JSONResponse(_ctx(request).repository.get_issue(issue_id).to_json())
    except StorageError as exc:
        return JSONResponse({"error": str(exc), "code": exc.code}, status_code=404)
