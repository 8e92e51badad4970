"""Adding and editing a source without writing YAML (admins only): paste a URL and let discovery fill the form,
edit fields, watch the list selectors' items live, test, save.

* ``GET /admin/sources/new``: a URL box (识别) above the form; ``…/{id}/edit`` the same form filled from the file.
  ``?yaml=1`` on either gives the expert's YAML form (news_harvester.web.admin).
* ``POST /admin/sources/discover``: ``sources.discover`` on the URL; the form comes back filled with the entry it
  suggests, beside the items, one article read end to end, a confidence and the reasons. Nothing is stored.
* ``POST /admin/sources/form``: the fields as an entry (``sources.entry_form``), checked exactly as the YAML form
  and the file are (``admin.check_entry``), tested, and saved through ``sources.admin`` (comments kept).
* ``POST /admin/sources/list-preview``: the items an HTML list's selectors yield on the fetched page (JSON, for
  the live preview while selectors are edited); the page is fetched once per :data:`PAGE_TTL` seconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.datastructures import FormData

from news_harvester.clock import editor_time
from news_harvester.errors import HarvesterError, ParseError, SourceError
from news_harvester.sources.entry_form import (
    EXTRA_FIELD,
    SCHEDULE_PRESETS,
    SELECTOR_KEYS,
    FormValues,
    entry_from_form,
    form_field_of,
    form_values,
)
from news_harvester.sources.messages_zh import FieldMessage
from news_harvester.web import admin
from news_harvester.web.auth import CurrentUser, check_csrf, require_admin
from news_harvester.web.context import WebContext
from news_harvester.web.review import topic_names

router = APIRouter(include_in_schema=False)
Admin = Annotated[CurrentUser, Depends(require_admin)]
DISCOVER_TIMEOUT = 90.0
PAGE_TTL = 120.0
MAX_CACHED_PAGES = 16
MAX_PREVIEW_ITEMS = 30
MAX_URL = 2000
_PAGES: OrderedDict[str, tuple[float, str, str]] = OrderedDict()
"""List pages fetched for the live preview: url -> (fetched at, text, final url)."""

DISCOVER_ERRORS = {
    "discover.invalid_url": "请填写完整的网址，以 http:// 或 https:// 开头。",
    "discover.login": "该网址需要登录才能查看，程序无法读取。请换用无需登录的公开列表页。",
    "discover.no_items": (
        "页面上没有找到订阅源、JSON 列表或文章列表。请确认这是栏目列表页（而不是首页、单篇文章或图片页），"
        "或点击“手动填写”自行设置选择器。"
    ),
}


def _ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


@dataclasses.dataclass
class Discovered:
    """The discovery panel: what was found and why, for the page (times in Beijing time)."""

    kind: str
    confidence: int
    reasons: list[str]
    tried: list[str]
    items: list[dict[str, str]]
    count: int
    article: dict[str, str] | None
    warnings: list[str]


def _page(
    request: Request,
    user: CurrentUser,
    *,
    values: FormValues,
    original_id: str = "",
    discover_url: str = "",
    discover_error: str = "",
    discovered: Discovered | None = None,
    errors: dict[str, list[str]] | None = None,
    general: list[str] | None = None,
    preview: dict[str, Any] | None = None,
    confirm_empty: bool = False,
    status: int = 200,
) -> Response:
    ctx = _ctx(request)
    return ctx.templates.TemplateResponse(
        request,
        "source_fields.html",
        {
            "user": user,
            "nav": "sources",
            "v": values,
            "original_id": original_id,
            "discover_url": discover_url,
            "discover_error": discover_error,
            "discovered": discovered,
            "errors": errors or {},
            "general": general or [],
            "preview": preview,
            "confirm_empty": confirm_empty,
            "schedules": SCHEDULE_PRESETS,
            "selector_keys": SELECTOR_KEYS,
            "topic_choices": list(topic_names(ctx).values()),
            "extra_field": EXTRA_FIELD,
            "advanced_open": any(text.strip() for text in values.selectors.values())
            or bool(values.extra.strip())
            or any(name.startswith("selectors_") or name == EXTRA_FIELD for name in errors or {}),
        },
        status_code=status,
    )


@router.get("/admin/sources/new", response_class=HTMLResponse)
def source_new(request: Request, user: Admin, yaml: str = "") -> Response:
    if yaml:
        return admin.yaml_page(request, user)
    return _page(request, user, values=FormValues())


@router.get("/admin/sources/{source_id}/edit", response_class=HTMLResponse)
def source_edit(request: Request, source_id: str, user: Admin, yaml: str = "") -> Response:
    from news_harvester.sources.admin import source_entry

    if yaml:
        return admin.yaml_page(request, user, source_id)
    try:
        entry = source_entry(_ctx(request).settings.sources, source_id)
    except HarvesterError as exc:
        return admin.back(admin.zh_error(exc), "error")
    return _page(request, user, values=form_values(entry), original_id=source_id)


@router.post("/admin/sources/discover", dependencies=[Depends(check_csrf)])
async def source_discover(request: Request, user: Admin) -> Response:
    """Discovery on the URL typed; the form comes back filled in. Stores nothing."""
    form = await request.form()
    url = str(form.get("url") or "").strip()[:MAX_URL]
    ctx = _ctx(request)
    try:
        found = await asyncio.wait_for(_discover(ctx, url), DISCOVER_TIMEOUT)
    except HarvesterError as exc:
        return _page(
            request,
            user,
            values=FormValues(url=url),
            discover_url=url,
            discover_error=discovery_failure(exc),
            status=422,
        )
    except TimeoutError:
        message = f"识别超时（{DISCOVER_TIMEOUT:.0f} 秒）：网站响应太慢。可稍后重试，或点击“手动填写”。"
        return _page(request, user, values=FormValues(url=url), discover_url=url, discover_error=message, status=422)
    preview = found.preview
    article = preview.article
    panel = Discovered(
        kind=found.kind,
        confidence=round(found.confidence * 100),
        reasons=[r.zh for r in found.reasons],
        tried=[r.zh for r in found.tried],
        items=[_item(i.title, i.url, i.published) for i in preview.items[:MAX_PREVIEW_ITEMS]],
        count=len(preview.items),
        article=(
            {
                "title": article.title,
                "published": editor_time(article.published_at, empty="日期未知"),
                "attribution": article.attribution or str(found.entry.get("name", "")),
                "body": article.body_text[:400],
            }
            if article is not None
            else None
        ),
        warnings=list(preview.warnings),
    )
    return _page(request, user, values=form_values(found.entry), discover_url=url, discovered=panel)


async def _discover(ctx: WebContext, url: str) -> Any:
    from news_harvester.harvest.fetch import Fetcher
    from news_harvester.sources.discover import discover
    from news_harvester.wiring import fetch_policy

    config = ctx.sources()
    taken = {s.id for s in config.sources} if config is not None else set()
    fetcher = Fetcher(fetch_policy(ctx.settings))
    try:
        return await discover(url, fetcher, now=datetime.now(UTC), taken_ids=taken)
    finally:
        await fetcher.aclose()


def discovery_failure(exc: HarvesterError) -> str:
    """Why a URL cannot be followed, in Chinese, with what to do; the code for the record."""
    from news_harvester.sources.error_advice import explain

    if exc.code in DISCOVER_ERRORS:
        return f"{DISCOVER_ERRORS[exc.code]}（{exc.code}）"
    advice = explain(exc.code, getattr(exc, "http_status", None))
    if advice is None:
        return f"无法识别该网址（{exc.code}）：{exc}"
    return f"无法读取该网址：{advice.cause}（{exc.code}）。{advice.advice}。"


@router.post("/admin/sources/form", dependencies=[Depends(check_csrf)])
async def source_form_save(request: Request, user: Admin) -> Response:
    """``action=test``: check and fetch now, save nothing; ``action=save``: check, test and write the entry
    (a test without items saves only with ``confirm_empty``). Problems come back beside their fields (422)."""
    from news_harvester.sources import admin as source_admin

    form = await request.form()
    fields = _form_dict(form)
    action = str(form.get("action") or "")
    original_id = str(form.get("original_id") or "")
    confirmed = bool(form.get("confirm_empty"))
    read = entry_from_form(fields)
    values = form_values(read.entry)
    values.extra = str(fields.get(EXTRA_FIELD) or "")  # as typed, even when it could not be read
    for key in SELECTOR_KEYS:
        values.selectors[key] = str(fields.get(f"selectors_{key}") or "")
    values.schedule_preset = str(fields.get("schedule_preset") or values.schedule_preset)
    values.schedule_custom = str(fields.get("schedule_custom") or "")
    path = _ctx(request).settings.sources

    def page(general: list[str], problems: list[FieldMessage], preview: dict[str, Any] | None = None) -> Response:
        errors: dict[str, list[str]] = {}
        for message in problems:
            errors.setdefault(form_field_of(message.field), []).append(str(message))
        status = 422 if general or errors else 200
        return _page(
            request,
            user,
            values=values,
            original_id=original_id,
            errors=errors,
            general=general,
            preview=preview,
            confirm_empty=confirmed,
            status=status,
        )

    problems = admin.Problems(fields=list(read.problems))
    if action not in admin.ACTIONS:
        problems.action = "请点击“测试（不保存）”或“测试并保存”按钮提交。"
    spec, changes = admin.check_entry(path, read.entry, {}, original_id, problems)  # every problem at once
    if problems or spec is None:
        head = problems.summary(action if action in admin.ACTIONS else "test").replace(
            "请按文本框下方的提示", "请按各项旁的提示"
        )
        general = [head] + ([problems.action] if problems.action else [])
        return page(general, problems.fields)
    result = await admin.preview(_ctx(request), spec)
    if action != "save":
        return page([], [], result)
    if not result["ok"] and not confirmed:
        return page([admin.not_saved_text(result)], [], result)
    try:
        if original_id:
            source_admin.update_source(path, original_id, changes)
        else:
            source_admin.add_source(path, read.entry)
    except HarvesterError as exc:
        problems.add_edit_error(exc, {})
        return page([problems.summary(action)], problems.fields, result)
    return admin.back(f"已保存信息源 {spec.id}（{spec.name}），正在运行的守护进程会自动载入")


def _form_dict(form: FormData) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    out["topics"] = [t for t in form.getlist("topics") if isinstance(t, str)]
    return out


@router.post("/admin/sources/list-preview", dependencies=[Depends(check_csrf)])
async def list_preview(request: Request, user: Admin) -> Response:
    """Items the given selectors yield on the list page, for the form's live preview (JSON)."""
    from news_harvester.parse.listing import parse_listing
    from news_harvester.source_spec import SelectorSpec

    if not request.headers.get("content-type", "").lower().startswith("application/json"):
        return JSONResponse({"ok": False, "error": "请求格式错误：应为 JSON"}, status_code=400)
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return JSONResponse({"ok": False, "error": "请求格式错误"}, status_code=400)
    url = str(body.get("url") or "").strip()[:MAX_URL]
    raw: dict[str, Any] = body["selectors"] if isinstance(body.get("selectors"), dict) else {}
    selectors = {k: [s.strip() for s in str(raw.get(k) or "").splitlines() if s.strip()] for k in SELECTOR_KEYS}
    try:
        spec_selectors = SelectorSpec(**selectors)
        text, final_url = await _list_page(_ctx(request), url, body)
        items = parse_listing(text, final_url, _zone(body), spec_selectors.model_dump())
    except ParseError as exc:
        return JSONResponse({"ok": False, "error": f"这些选择器在页面上没有找到条目（{exc.code}）", "items": []})
    except HarvesterError as exc:
        return JSONResponse({"ok": False, "error": discovery_failure(exc), "items": []})
    except Exception as exc:  # soupsieve's SelectorSyntaxError and pydantic errors: say which, keep the form
        return JSONResponse({"ok": False, "error": f"选择器写法有误：{exc}", "items": []})
    return JSONResponse(
        {
            "ok": True,
            "count": len(items),
            "items": [_item(i.title, i.url, i.published) for i in items[:MAX_PREVIEW_ITEMS]],
        }
    )


def _zone(body: dict[str, Any]) -> Any:
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(str(body.get("timezone") or "Asia/Shanghai"))
    except (ValueError, KeyError):
        return ZoneInfo("Asia/Shanghai")


async def _list_page(ctx: WebContext, url: str, body: dict[str, Any]) -> tuple[str, str]:
    """The list page's text, fetched at most once per :data:`PAGE_TTL` seconds while selectors are edited."""
    from news_harvester.harvest.fetch import Fetcher
    from news_harvester.models import NotModified
    from news_harvester.parse.jsonlist import html_fragment
    from news_harvester.sources.discover import DiscoveryError
    from news_harvester.wiring import fetch_policy

    if not url.startswith(("http://", "https://")):
        raise DiscoveryError("not an http(s) URL", code="discover.invalid_url")
    now = time.monotonic()
    cached = _PAGES.get(url)
    if cached is None or now - cached[0] > PAGE_TTL:
        fetcher = Fetcher(fetch_policy(ctx.settings))
        try:
            result = await fetcher.get(url)
        except SourceError:
            raise
        finally:
            await fetcher.aclose()
        assert not isinstance(result, NotModified)
        cached = (now, result.text, result.final_url)
        _PAGES[url] = cached
        while len(_PAGES) > MAX_CACHED_PAGES:
            _PAGES.popitem(last=False)
    text = cached[1]
    if body.get("html_path"):
        text = html_fragment(text, str(body["html_path"]))
    return text, cached[2]


def _item(title: str, url: str, published: datetime | None) -> dict[str, str]:
    return {"title": title, "url": url, "published": editor_time(published, empty="")}
