"""The 数据月报 pages (editors): upload a table of monthly figures, see what is stored, preview the drafted report,
and put the report into an issue's 【数据月报】 from the assembly screen.

An upload with any bad row stores nothing and lists every bad row (row number as the spreadsheet shows it,
reason in Chinese); a good one replaces the stored figures of each (period, region) it carries (audited).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from news_harvester.editorial import figures_found, figures_report
from news_harvester.editorial.issues import editor_today
from news_harvester.errors import HarvesterError
from news_harvester.web.auth import CurrentUser, check_csrf, require_editor
from news_harvester.web.context import RowId, WebContext

router = APIRouter(include_in_schema=False)
Editor = Annotated[CurrentUser, Depends(require_editor)]
MAX_UPLOAD = 5_000_000
"""Bytes an upload may have: a year of figures for many regions is a few hundred kilobytes."""


def _ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


def _now() -> datetime:
    return datetime.now(UTC)


def _page(request: Request, user: CurrentUser, status: int = 200, **extra: Any) -> Response:
    ctx = _ctx(request)
    period, region = request.query_params.get("period", ""), request.query_params.get("region", "")
    preview, preview_error = None, None
    if period and region:
        try:
            preview = figures_report.draft(ctx.repository, period, region, this_year=editor_today(_now()).year)
        except HarvesterError:
            preview_error = f"没有 {period} {region}的数据"
    context = {
        "user": user,
        "nav": "figures",
        "sets": ctx.repository.figure_sets(),
        "preview": preview,
        "preview_error": preview_error,
        "flash": request.query_params.get("msg"),
        "flash_kind": request.query_params.get("kind", "info"),
        "problems": [],
        "statements": figures_found.statements(ctx.repository, _now()),
    } | extra
    return ctx.templates.TemplateResponse(request, "figures.html", context, status_code=status)


@router.get("/figures", response_class=HTMLResponse)
def figures_page(request: Request, user: Editor) -> Response:
    return _page(request, user)


@router.post("/figures", dependencies=[Depends(check_csrf)])
def figures_upload(request: Request, user: Editor, file: Annotated[UploadFile | None, File()] = None) -> Response:
    """Import the uploaded CSV/XLSX; with a bad row, the page again with every bad row listed (422)."""
    if file is None or not file.filename:
        return _page(request, user, 422, flash="请选择要上传的 CSV 或 Excel（.xlsx）文件", flash_kind="error")
    data = file.file.read(MAX_UPLOAD + 1)  # a plain route: FastAPI runs it (and the import's SQL) off the loop
    if len(data) > MAX_UPLOAD:
        return _page(request, user, 422, flash=f"文件过大（上限 {MAX_UPLOAD // 1_000_000} MB）", flash_kind="error")
    result = figures_report.import_figures(
        _ctx(request).repository, data, file_name=file.filename, user=user.name, now=_now()
    )
    if not result.stored:
        message = f"“{file.filename}”有 {len(result.table.problems)} 处问题，未导入任何数据（请修改后重新上传）"
        return _page(request, user, 422, flash=message, flash_kind="error", problems=result.table.problems)
    done = "；".join(
        f"{r.period} {r.region}：{'已替换原有 ' + str(r.before) + ' 条，' if r.before else ''}导入 {r.after} 条"
        for r in result.replaced
    )
    return RedirectResponse("/figures?" + urlencode({"msg": f"已导入 {file.filename}（{done}）"}), status_code=303)


@router.post("/figures/confirm", dependencies=[Depends(check_csrf)])
async def figures_confirm(request: Request, user: Editor) -> Response:
    """Store the figures an editor ticked among those harvested articles state (each read again from the
    article); they replace the same figures of their set and leave the rest alone (audited)."""
    form = await request.form()
    picks = [p for p in form.getlist("pick") if isinstance(p, str)]
    ctx = _ctx(request)
    found, urls = figures_found.picked_figures(ctx.repository, picks)
    if not found:
        return RedirectResponse(
            "/figures?" + urlencode({"msg": "没有选中可确认的数据", "kind": "error"}), status_code=303
        )
    count = ctx.repository.merge_figures(found, user=user.name, now=_now(), evidence=" ".join(urls))
    sets = "、".join(dict.fromkeys(f"{f.period} {f.region}" for f in found))
    return RedirectResponse("/figures?" + urlencode({"msg": f"已确认 {count} 条数据（{sets}）"}), status_code=303)


@router.post("/issues/{issue_id}/figures-report", dependencies=[Depends(check_csrf)])
def figures_into_issue(
    request: Request,
    issue_id: RowId,
    user: Editor,
    figures: Annotated[str, Form(max_length=120)] = "",
    chart: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    """The button of the assembly screen: the report drafted from the chosen (period, region) — the newest stored
    when none is chosen — added to the issue's 【数据月报】, with the chart of top markets when ``chart`` is ticked."""
    ctx = _ctx(request)
    period, _sep, region = figures.partition("|")
    if not region:
        sets = ctx.repository.figure_sets()
        if not sets:
            return _back(issue_id, "还没有导入数据，请先在“数据月报”页面上传", "error")
        period, region = sets[0].period, sets[0].region
    try:
        _item, report = figures_report.draft_into_issue(
            ctx.repository, issue_id, period, region, user=user.name, now=_now(), chart=bool(chart)
        )
    except HarvesterError as exc:
        return _back(issue_id, f"未能生成数据月报：{exc.message}", "error")
    note = f"；{len(report.warnings)} 处提示，见条目下方" if report.warnings else ""
    return _back(issue_id, f"已根据 {period} {region}的数据生成数据月报{note}")


def _back(issue_id: int, message: str, kind: str = "info") -> RedirectResponse:
    return RedirectResponse(f"/issues/{issue_id}?" + urlencode({"msg": message, "kind": kind}), status_code=303)
