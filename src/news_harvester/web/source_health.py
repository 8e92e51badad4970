"""The sources page (admins): every source's health, open alarms and their history, items per day, and the
problem of a hand-edited sources.yaml that does not load. Editing sources is news_harvester.web.admin.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from news_harvester.clock import editor_time, utc_now
from news_harvester.sources.alarms import KIND_LABELS
from news_harvester.web.auth import CurrentUser, require_admin
from news_harvester.web.context import WebContext
from news_harvester.web.review import web_context

router = APIRouter(include_in_schema=False)

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
    ctx = web_context(request)
    return ctx.templates.TemplateResponse(
        request,
        "sources.html",
        {
            "user": user,
            "nav": "sources",
            "sources": ctx.sources_health(),
            "local": editor_time,
            "alarms": ctx.repository.open_alarms(),
            "history": ctx.repository.recent_alarms(limit=50),
            "labels": KIND_LABELS,
            "error_names": ERROR_NAMES,
            "config_error": _sources_file_error(ctx),
            "flash": request.query_params.get("msg"),
            "flash_kind": request.query_params.get("kind", "info"),
            "per_day": ctx.repository.items_per_day(utc_now() - timedelta(days=30), days=30),
        },
    )
