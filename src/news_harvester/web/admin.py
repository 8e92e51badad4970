"""Source administration pages (admins only): add, edit, enable, disable, delete, test before save, run now.

sources.yaml stays the truth: every change goes through news_harvester.sources.admin (round-trip YAML with
comments kept, validated by the same models as at start-up, atomic write with a backup); the running daemon
picks the file up like a hand edit. The form edits one entry as YAML, the format admins already know from
the file, so every field (selectors, JSON field mappings, pagination …) is editable without a form per kind.
"""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from news_harvester.config import SourceSpec
from news_harvester.errors import HarvesterError
from news_harvester.web.auth import CurrentUser, check_csrf, require_admin
from news_harvester.web.context import WebContext

router = APIRouter(include_in_schema=False)
Admin = Annotated[CurrentUser, Depends(require_admin)]
_RUNS: set[asyncio.Future[object]] = set()
"""Run-now tasks in flight (a reference keeps them from being garbage-collected mid-run)."""
MAX_YAML = 20_000
PREVIEW_TIMEOUT = 90.0
NEW_TEMPLATE = """id: new-source
name: 来源名称
kind: html            # feed, html or json
url: https://www.example.gov.cn/list/
schedule: 1h
weight: 5
# selectors:          # html lists: item / link / title / date, each a CSS selector (lists are fallbacks)
#   item: ul.list li
"""


def _ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


def _path(ctx: WebContext) -> Path:
    return ctx.settings.sources


def _dump(entry: dict[str, Any]) -> str:
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    out = io.StringIO()
    yaml.dump(entry, out)
    return out.getvalue()


def _parse(text: str) -> dict[str, Any]:
    if len(text) > MAX_YAML:
        raise ValueError(f"内容过长（最多 {MAX_YAML} 字符）")
    try:
        data = YAML(typ="safe").load(text)
    except YAMLError as exc:
        raise ValueError(f"YAML 格式错误：{exc}") from None
    if not isinstance(data, dict):
        raise ValueError("应为一个信息源的键值对（id、name、kind、url …）")
    return data


def _back(message: str, kind: str = "info") -> RedirectResponse:
    return RedirectResponse("/admin/sources?" + urlencode({"msg": message, "kind": kind}), status_code=303)


def _form(
    request: Request,
    user: CurrentUser,
    *,
    original_id: str,
    text: str,
    error: str = "",
    preview: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    return _ctx(request).templates.TemplateResponse(
        request,
        "source_form.html",
        {
            "user": user,
            "nav": "sources",
            "original_id": original_id,
            "text": text,
            "error": error,
            "preview": preview,
        },
        status_code=status,
    )


@router.get("/admin/sources/new", response_class=HTMLResponse)
def source_new(request: Request, user: Admin) -> Response:
    return _form(request, user, original_id="", text=NEW_TEMPLATE)


@router.get("/admin/sources/{source_id}/edit", response_class=HTMLResponse)
def source_edit(request: Request, source_id: str, user: Admin) -> Response:
    from news_harvester.sources.admin import source_entry

    try:
        entry = source_entry(_path(_ctx(request)), source_id)
    except HarvesterError as exc:
        return _back(str(exc), "error")
    return _form(request, user, original_id=source_id, text=_dump(entry))


async def preview(ctx: WebContext, spec: SourceSpec) -> dict[str, Any]:
    """Fetch the source now as a harvest would and show what it would take; stores nothing."""
    from news_harvester.harvest.fetch import Fetcher
    from news_harvester.harvest.read import Reader, preview_source
    from news_harvester.wiring import fetch_policy

    fetcher = Fetcher(fetch_policy(ctx.settings))
    try:
        found = await asyncio.wait_for(preview_source(Reader(fetcher), spec, datetime.now(UTC)), PREVIEW_TIMEOUT)
    except HarvesterError as exc:
        return {"ok": False, "error": f"{exc.code}: {exc}", "items": [], "article": None, "warnings": []}
    except TimeoutError:
        return {"ok": False, "error": "测试超时", "items": [], "article": None, "warnings": []}
    finally:
        await fetcher.aclose()
    article = found.article
    return {
        "ok": bool(found.items),
        "error": "",
        "items": [{"title": i.title, "url": i.url, "published": i.published} for i in found.items[:20]],
        "count": len(found.items),
        "article": (
            {"title": article.title, "published_at": article.published_at, "body": article.body_text[:600]}
            if article is not None
            else None
        ),
        "warnings": list(found.warnings),
    }


@router.post("/admin/sources/save", dependencies=[Depends(check_csrf)])
async def source_save(
    request: Request,
    user: Admin,
    text: Annotated[str, Form(max_length=MAX_YAML)],
    action: Annotated[str, Form()] = "test",
    original_id: Annotated[str, Form(max_length=64)] = "",
    confirm_empty: Annotated[str, Form()] = "",
) -> Response:
    """``action=test``: validate and fetch now, save nothing. ``action=save``: validate, test, and write the
    entry to sources.yaml — a source whose test yields no items is saved only with ``confirm_empty``."""
    from news_harvester.sources import admin as source_admin

    ctx = _ctx(request)
    path = _path(ctx)
    try:
        entry = _parse(text)
        if original_id:
            old = source_admin.source_entry(path, original_id)
            changes: dict[str, Any] = {k: v for k, v in entry.items() if old.get(k) != v}
            changes |= {k: None for k in old if k not in entry}
            spec = source_admin.check_update(path, original_id, changes)  # with the file's defaults applied
        else:
            spec = source_admin.check_source(path, entry)
    except (ValueError, HarvesterError) as exc:
        return _form(request, user, original_id=original_id, text=text, error=str(exc), status=422)
    result = await preview(ctx, spec)
    if action != "save":
        return _form(request, user, original_id=original_id, text=text, preview=result)
    if not result["ok"] and not confirm_empty:
        message = "测试没有抓到任何条目，未保存。请检查网址和选择器；如确认无误，请勾选“仍然保存”后再保存。"
        return _form(request, user, original_id=original_id, text=text, error=message, preview=result, status=422)
    try:
        if original_id:
            source_admin.update_source(path, original_id, changes)
        else:
            source_admin.add_source(path, entry)
    except HarvesterError as exc:
        return _form(request, user, original_id=original_id, text=text, error=str(exc), preview=result, status=422)
    return _back(f"已保存信息源 {spec.id}（{spec.name}），正在运行的守护进程会自动载入")


@router.post("/admin/sources/{source_id}/{operation}", dependencies=[Depends(check_csrf)])
async def source_operation(request: Request, source_id: str, operation: str, user: Admin) -> Response:
    from news_harvester.sources import admin as source_admin

    ctx = _ctx(request)
    path = _path(ctx)
    try:
        if operation == "enable":
            source_admin.set_enabled(path, source_id, True)
            return _back(f"已启用 {source_id}")
        if operation == "disable":
            source_admin.set_enabled(path, source_id, False)
            return _back(f"已停用 {source_id}")
        if operation == "delete":
            source_admin.remove_source(path, source_id)
            return _back(f"已删除 {source_id}（旧文件已备份）")
        if operation == "run":
            if ctx.run_now is None:
                return _back("本进程不负责抓取（--web-only），请在抓取进程所在机器上运行 harvest --once", "error")
            task = asyncio.ensure_future(ctx.run_now(source_id))  # the run records itself; the page shows it later
            _RUNS.add(task)
            task.add_done_callback(_RUNS.discard)
            return _back(f"已开始抓取 {source_id}，稍后刷新查看结果")
    except HarvesterError as exc:
        return _back(str(exc), "error")
    return _back(f"未知操作：{operation}", "error")
