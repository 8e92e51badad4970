"""Source administration pages (admins only): add, edit, enable, disable, delete, test before save, run now.

sources.yaml stays the truth: every change goes through news_harvester.sources.admin (round-trip YAML with
comments kept, validated by the same models as at start-up, atomic write with a backup); the running daemon
picks the file up like a hand edit. The form edits one entry as YAML, the format admins already know from
the file, so every field (selectors, JSON field mappings, pagination …) is editable without a form per kind.

Every problem with what an admin submitted comes back as the form page again, with what they typed kept and a
Chinese message beside the field it concerns (``sources.messages_zh``, ``sources.entry_yaml``): the English
messages of the loader and the CLI are for files and scripts, not for this page.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from news_harvester.config import SourceSpec
from news_harvester.errors import HarvesterError
from news_harvester.source_spec import SOURCE_ID_RE
from news_harvester.sources.entry_form import yaml_text
from news_harvester.sources.entry_yaml import read_entry
from news_harvester.sources.messages_zh import FieldMessage, edit_error_messages, validate_entry, validation_messages
from news_harvester.web.auth import CurrentUser, check_csrf, require_admin
from news_harvester.web.context import WebContext

router = APIRouter(include_in_schema=False)
Admin = Annotated[CurrentUser, Depends(require_admin)]
_RUNS: set[asyncio.Future[object]] = set()
"""Run-now tasks in flight (a reference keeps them from being garbage-collected mid-run)."""
MAX_YAML = 20_000
MAX_ECHO = 10 * MAX_YAML
"""Over-long text is shown again up to this many characters (the admin cuts it down from there)."""
ACTIONS = ("test", "save")
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


def back(message: str, kind: str = "info") -> RedirectResponse:
    return RedirectResponse("/admin/sources?" + urlencode({"msg": message, "kind": kind}), status_code=303)


def zh_error(exc: HarvesterError) -> str:
    """A refusal of ``sources.admin`` as one Chinese sentence (for the list page's flash)."""
    return "；".join(str(m) for m in edit_error_messages(str(exc)))


def failure_text(exc: HarvesterError) -> str:
    """Why a test fetch failed, in Chinese with what to do, and the code and English detail for the record."""
    from news_harvester.sources.error_advice import explain

    advice = explain(exc.code, getattr(exc, "http_status", None))
    if advice is None:
        return f"测试失败（{exc.code}）：{exc}"
    return f"测试失败：{advice.cause}（{exc.code}）。{advice.advice}。详细信息：{exc}"


def not_saved_text(result: dict[str, Any]) -> str:
    """The refusal to save a source whose test found nothing, saying the real cause when the fetch failed."""
    if result.get("error"):
        return f"{result['error']}——未保存。如确认无误，请勾选“仍然保存”后再保存。"
    return "测试没有抓到任何条目，未保存。请检查网址和选择器；如确认无误，请勾选“仍然保存”后再保存。"


@dataclasses.dataclass
class Problems:
    """What is wrong with a submission, by where the form shows it: ``fields`` under the textarea (each with
    its field and line when known), ``general`` at the top, ``action`` beside the buttons."""

    fields: list[FieldMessage] = dataclasses.field(default_factory=list)
    general: list[str] = dataclasses.field(default_factory=list)
    action: str = ""

    def __bool__(self) -> bool:
        return bool(self.fields or self.general or self.action)

    def add_edit_error(self, exc: HarvesterError, lines: dict[str, int]) -> None:
        for message in edit_error_messages(str(exc)):
            if message.field:
                self.fields.append(dataclasses.replace(message, line=message.line or lines.get(message.field)))
            else:
                self.general.append(message.text)

    def summary(self, action: str) -> str:
        if self.general and not self.fields:
            return "；".join(self.general)
        what = "未保存" if action == "save" else "未测试，也未保存"
        head = f"信息源配置有 {len(self.fields)} 处问题，{what}。请按文本框下方的提示修改后再提交。"
        if not self.fields:
            head = f"提交的内容有问题，{what}。"
        return "".join([head, *self.general])


def _form(
    request: Request,
    user: CurrentUser,
    *,
    original_id: str,
    text: str,
    error: str = "",
    preview: dict[str, Any] | None = None,
    status: int = 200,
    problems: Problems | None = None,
    confirm_empty: bool = False,
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
            "problems": problems or Problems(),
            "confirm_empty": confirm_empty,
        },
        status_code=status,
    )


def yaml_page(request: Request, user: CurrentUser, source_id: str = "") -> Response:
    """The expert's way in: one entry as YAML (``/admin/sources/new?yaml=1``, ``…/edit?yaml=1``)."""
    from news_harvester.sources.admin import source_entry

    if not source_id:
        return _form(request, user, original_id="", text=NEW_TEMPLATE)
    try:
        entry = source_entry(_path(_ctx(request)), source_id)
    except HarvesterError as exc:
        return back(zh_error(exc), "error")
    return _form(request, user, original_id=source_id, text=yaml_text(entry))


async def preview(ctx: WebContext, spec: SourceSpec) -> dict[str, Any]:
    """Fetch the source now as a harvest would and show what it would take; stores nothing."""
    from news_harvester.harvest.fetch import Fetcher
    from news_harvester.harvest.read import Reader, preview_source
    from news_harvester.wiring import fetch_policy

    fetcher = Fetcher(fetch_policy(ctx.settings))
    try:
        found = await asyncio.wait_for(preview_source(Reader(fetcher), spec, datetime.now(UTC)), PREVIEW_TIMEOUT)
    except HarvesterError as exc:
        return {"ok": False, "error": failure_text(exc), "items": [], "article": None, "warnings": []}
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
    text: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "",
    original_id: Annotated[str, Form()] = "",
    confirm_empty: Annotated[str, Form()] = "",
) -> Response:
    """``action=test``: validate and fetch now, save nothing. ``action=save``: validate, test, and write the
    entry to sources.yaml — a source whose test yields no items is saved only with ``confirm_empty``.

    The fields take no length limits or required flags of FastAPI's: its refusal would replace the page with
    an error and lose what the admin typed; every problem is reported on the form instead (422)."""
    from news_harvester.sources import admin as source_admin

    ctx = _ctx(request)
    path = _path(ctx)
    confirmed = bool(confirm_empty)
    shown = text[:MAX_ECHO]

    def page(error: str = "", preview: dict[str, Any] | None = None, problems: Problems | None = None) -> Response:
        status = 422 if error or problems else 200
        return _form(
            request,
            user,
            original_id=original_id,
            text=shown,
            error=error,
            preview=preview,
            status=status,
            problems=problems,
            confirm_empty=confirmed,
        )

    problems, spec, entry, changes = _check(path, text, action, original_id)
    if problems or spec is None:
        return page(problems.summary(action), problems=problems)
    result = await preview(ctx, spec)
    if action != "save":
        return page(preview=result)
    if not result["ok"] and not confirmed:
        return page(not_saved_text(result), preview=result)
    try:
        if original_id:
            source_admin.update_source(path, original_id, changes)
        else:
            source_admin.add_source(path, entry)
    except HarvesterError as exc:
        problems.add_edit_error(exc, read_entry(text).lines)
        return page(problems.summary(action), preview=result, problems=problems)
    return back(f"已保存信息源 {spec.id}（{spec.name}），正在运行的守护进程会自动载入")


def _check(
    path: Path, text: str, action: str, original_id: str
) -> tuple[Problems, SourceSpec | None, dict[str, Any], dict[str, Any]]:
    """Every problem of a submission at once (form fields, YAML, fields, the whole file), and, when there is
    none, the source as it would be saved with the entry and the changes to save (an edit)."""
    problems = Problems()
    if action not in ACTIONS:
        problems.action = "请点击“测试（不保存）”或“测试并保存”按钮提交。"
    if original_id and not re.match(SOURCE_ID_RE, original_id):
        problems.general.append("要编辑的信息源标识无效，请从信息源列表重新打开编辑页。")
    if len(text) > MAX_YAML:
        cut = f"，超过 {MAX_ECHO} 字符的部分没有保留" if len(text) > MAX_ECHO else ""
        problems.fields.append(
            FieldMessage(
                "", f"内容过长：共 {len(text)} 字符，最多 {MAX_YAML} 字符{cut}。请删去不需要的内容（如长注释）。"
            )
        )
        return problems, None, {}, {}
    read = read_entry(text)
    problems.fields += read.problems
    if read.entry is None or problems.general:
        return problems, None, {}, {}
    spec, changes = check_entry(path, read.entry, read.lines, original_id, problems)
    return problems, spec, read.entry, changes


def check_entry(
    path: Path, entry: dict[str, Any], lines: dict[str, int], original_id: str, problems: Problems
) -> tuple[SourceSpec | None, dict[str, Any]]:
    """Validate one entry as the file would (its defaults, duplicate ids, the whole file, the scheduler's cron
    rules), adding every problem to ``problems``; the source as it would be saved and, for an edit, the
    changes to save. Shared by the YAML form and the field form."""
    from news_harvester.sources import admin as source_admin

    try:
        defaults = source_admin.file_defaults(path)
    except HarvesterError:
        defaults = {}  # the checks below report the unreadable file
    problems.fields += validate_entry(entry, defaults, lines)
    if problems.fields:
        return None, {}
    changes: dict[str, Any] = {}
    try:
        if original_id:
            old = source_admin.source_entry(path, original_id)
            changes = {k: v for k, v in entry.items() if old.get(k) != v}
            changes |= {k: None for k in old if k not in entry}
            spec = source_admin.check_update(path, original_id, changes)  # with the file's defaults applied
        else:
            spec = source_admin.check_source(path, entry)
    except HarvesterError as exc:
        problems.add_edit_error(exc, lines)
        return None, changes
    problems.fields += _cron_problems(spec, lines)
    return (None if problems.fields else spec), changes


def _cron_problems(spec: SourceSpec, lines: dict[str, int]) -> list[FieldMessage]:
    """A cron schedule of the right shape whose values the scheduler refuses (``0 99 * * *``) would only fail
    once the daemon loads it; the form says so now, in the same words as the other schedule problems."""
    if spec.interval_seconds is not None:
        return []
    from news_harvester.harvest.triggers import cron_trigger

    try:
        cron_trigger(spec.schedule, spec.zone)
    except (ValueError, TypeError, KeyError) as exc:
        error = ValueError(f"bad cron expression: {exc}")
        return validation_messages(
            [{"loc": ("schedule",), "type": "value_error", "input": spec.schedule, "ctx": {"error": error}}], lines
        )
    return []


@router.post("/admin/sources/{source_id}/{operation}", dependencies=[Depends(check_csrf)])
async def source_operation(request: Request, source_id: str, operation: str, user: Admin) -> Response:
    from news_harvester.sources import admin as source_admin

    ctx = _ctx(request)
    path = _path(ctx)
    try:
        if operation == "enable":
            source_admin.set_enabled(path, source_id, True)
            return back(f"已启用 {source_id}")
        if operation == "disable":
            source_admin.set_enabled(path, source_id, False)
            return back(f"已停用 {source_id}")
        if operation == "delete":
            source_admin.remove_source(path, source_id)
            return back(f"已删除 {source_id}（旧文件已备份）")
        if operation == "run":
            if ctx.run_now is None:
                return back("本进程不负责抓取（--web-only），请在抓取进程所在机器上运行 harvest --once", "error")
            task = asyncio.ensure_future(ctx.run_now(source_id))  # the run records itself; the page shows it later
            _RUNS.add(task)
            task.add_done_callback(_RUNS.discard)
            return back(f"已开始抓取 {source_id}，稍后刷新查看结果")
    except HarvesterError as exc:
        return back(zh_error(exc), "error")
    return back(f"未知操作：{operation}", "error")
