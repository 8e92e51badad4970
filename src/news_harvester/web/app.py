"""The daemon's web app: health endpoints, the editors' review queue (HTML) and its JSON API.

Server-rendered pages (Jinja2, Simplified Chinese) with a little plain JavaScript for in-place actions and
keyboard shortcuts; no front-end build step. Every state-changing request needs a logged-in user with the
right role and the session's CSRF token (news_harvester.web.auth). Harvested text reaches a page only
through news_harvester.parse.sanitize.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder as jsonable
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from news_harvester import __version__
from news_harvester.clock import editor_time
from news_harvester.config import Settings, SourcesConfig
from news_harvester.web import admin, assembly, auth, figures, pages, review_api, source_form, source_health
from news_harvester.web.context import HERE, WebContext

if TYPE_CHECKING:
    from news_harvester.store.repository import Repository
    from news_harvester.stories.assign import StoryService

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
    "frame-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
HTTP_MESSAGES = {404: "页面不存在", 405: "不支持该请求方法"}
HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 422: "request.invalid", 400: "request.invalid"}
MSG_SERVER_ERROR = "服务器内部错误，请稍后重试；如果问题持续，请联系管理员"
log = logging.getLogger(__name__)


FIELD_NAMES = {
    "title": "标题",
    "summary": "摘要",
    "reason": "理由",
    "action": "操作",
    "version": "版本",
    "section": "栏目",
    "until": "日期",
    "q": "搜索词",
    "ids": "选择",
    "story_id": "素材编号",
}


def _problem(error: Any) -> str:
    field = str(error.get("loc", ["", ""])[-1])
    name = FIELD_NAMES.get(field, field)
    kind = str(error.get("type", ""))
    if kind == "missing":
        return f"缺少{name}"
    if "too_long" in kind:
        return f"{name}过长"
    if "too_short" in kind:
        return f"{name}过短"
    return f"{name}格式不对"


def http_url(value: object) -> str:
    """A harvested URL for an ``href``: itself when it is absolute http(s), else "" (no link). Attachment links
    are found in harvested pages; "JavaScript:…/x.pdf" or "java\tscript:…" must not become a live link."""
    url = re.sub(r"[\t\n\r]", "", str(value or "")).strip("".join(map(chr, range(0x21))))
    return str(value) if re.match(r"https?://", url, re.I) and url == str(value).strip() else ""


def _server_error(request: Request) -> Response:
    """The answer to an unexpected error: no exception text (it may name tables, paths or SQL)."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": MSG_SERVER_ERROR, "code": "internal.error"}, status_code=500)
    page = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>服务器内部错误</title>'
        '<link rel="stylesheet" href="/static/app.css"></head><body><main class="error-page"><h1>服务器内部错误</h1>'
        f'<p>{MSG_SERVER_ERROR}</p><p><a href="/">返回首页</a></p></main></body></html>'
    )
    return HTMLResponse(page, status_code=500)


class SecurityHeaders:
    """Defence in depth: even if harvested markup slipped past the sanitizer, no inline script, no foreign
    script, frame or form target would run. Every answer gets the headers, an unexpected error too (as a Chinese
    page or JSON without details, logged with its traceback); everything but static files is ``no-store``: queue
    pages and API answers must not stay in a browser's or a proxy's cache.

    Plain ASGI rather than ``@app.middleware("http")``: that wrapper re-streams every response through a task
    and a memory channel, about a millisecond per page on this app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not path.startswith("/static/"):
                    headers.setdefault("Cache-Control", "no-store")
                if scope.get("scheme") == "https":
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error answering %s %s", scope.get("method"), path, extra={"stage": "web"})
            if started:
                raise  # the status line is out: nothing better to send
            await _server_error(Request(scope))(scope, receive, send_with_headers)


def create_app(
    *,
    database_ok: Callable[[], bool],
    scheduler_ok: Callable[[], bool],
    sources_health: Callable[[], list[dict[str, Any]]],
    repository: Repository | None = None,
    stories: StoryService | None = None,
    session_hours: float = 12.0,
    settings: Settings | None = None,
    sources: Callable[[], SourcesConfig | None] | None = None,
    run_now: Callable[[str], Awaitable[object]] | None = None,
    banner_ttl: float = 0.0,
) -> FastAPI:
    """The app; without a repository only the health endpoints exist (used by minimal deployments/tests)."""
    # the schema is served to signed-in users only (review_api.api_schema); Swagger UI would need a CDN the CSP forbids
    app = FastAPI(title="news_harvester", version=__version__, openapi_url=None, docs_url=None, redoc_url=None)
    _add_health(app, database_ok, scheduler_ok)
    if repository is None or stories is None:

        @app.get("/api/sources")
        def sources_json() -> list[dict[str, Any]]:
            """Every configured source with its health, as ``sources list --json`` prints it."""
            return sources_health()

        return app

    _add_error_handling(app)
    repository.enable_queue_index()  # queue pages from memory, kept current by the change log (store.queue_index)
    app.state.ctx = WebContext(
        repository,
        stories,
        sources_health,
        session_hours,
        settings=settings or Settings.model_validate({}),
        sources=sources or (lambda: None),
        run_now=run_now,
        banner_ttl=banner_ttl,
        templates=_templates(),
    )
    _mount_views(app)
    return app


def _add_health(app: FastAPI, database_ok: Callable[[], bool], scheduler_ok: Callable[[], bool]) -> None:
    """``/healthz`` and ``/readyz``, served by every app (a minimal one too)."""

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        """Readiness: the database answers and the scheduler is running."""
        checks = {"database": database_ok(), "scheduler": scheduler_ok()}
        status = 200 if all(checks.values()) else 503
        return JSONResponse({"ready": status == 200, "checks": checks}, status_code=status)


def _add_error_handling(app: FastAPI) -> None:
    """The security headers on every answer, and every error (unexpected, invalid input, HTTP) in the app's own
    shapes: JSON under ``/api/``, a Chinese page otherwise."""

    app.add_middleware(SecurityHeaders)

    @app.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, exc: RequestValidationError) -> Response:
        """Missing or oversized fields: a Chinese message on the page, 422 with details from the API."""
        problems = "；".join(_problem(e) for e in exc.errors())
        if request.url.path.startswith("/api/"):
            return JSONResponse(
                {
                    "error": f"提交的内容不符合要求：{problems}",
                    "code": "request.invalid",
                    "detail": jsonable(exc.errors()),
                },
                status_code=422,
            )
        ctx: WebContext = request.app.state.ctx
        user = getattr(request.state, "user", None)
        return ctx.templates.TemplateResponse(
            request, "error.html", {"user": user, "message": f"提交的内容不符合要求：{problems}"}, status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """Unknown paths, wrong methods and refused input in the app's own shapes: ``{"error", "code"}`` from
        the API (as README documents), a Chinese error page otherwise, never Starlette's English JSON."""
        message = HTTP_MESSAGES.get(exc.status_code, "请求无法处理")
        if isinstance(exc.detail, str) and exc.status_code not in HTTP_MESSAGES:
            message = exc.detail
        headers = dict(exc.headers or {})
        if request.url.path.startswith("/api/"):
            code = HTTP_CODES.get(exc.status_code, f"http.{exc.status_code}")
            return JSONResponse({"error": message, "code": code}, status_code=exc.status_code, headers=headers)
        ctx: WebContext = request.app.state.ctx
        user = getattr(request.state, "user", None)
        return ctx.templates.TemplateResponse(
            request, "error.html", {"user": user, "message": message}, status_code=exc.status_code, headers=headers
        )


def _templates() -> Jinja2Templates:
    """The pages' templates, with the filters they use."""
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    # audit values as editors read them (行业资讯, not \u884c…); the result is still autoescaped
    templates.env.filters["json_zh"] = lambda value: json.dumps(value, ensure_ascii=False)
    templates.env.filters["http_url"] = http_url
    # every time a person reads is Beijing time to the minute (news_harvester.clock), on every page
    templates.env.globals["local"] = editor_time
    # the templates ship inside the package and never change under a running process: no stat() per render
    templates.env.auto_reload = False
    return templates


def _mount_views(app: FastAPI) -> None:
    """Static files, the sign-in handlers and every view's routes (in this order: the first matching route wins)."""
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    auth.install(app)
    app.include_router(auth.router)
    app.include_router(pages.router)
    app.include_router(source_health.router)
    app.include_router(review_api.api)
    app.include_router(assembly.router)
    app.include_router(assembly.api)
    app.include_router(figures.router)
    app.include_router(source_form.router)
    app.include_router(admin.router)
