"""The daemon's web app: health endpoints, the editors' review queue (HTML) and its JSON API.

Server-rendered pages (Jinja2, Simplified Chinese) with a little plain JavaScript for in-place actions and
keyboard shortcuts; no front-end build step. Every state-changing request needs a logged-in user with the
right role and the session's CSRF token (news_harvester.web.auth). Harvested text reaches a page only
through news_harvester.sanitize.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder as jsonable
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from news_harvester import __version__
from news_harvester.config import Settings, SourcesConfig

if TYPE_CHECKING:
    from news_harvester.store.repository import Repository
    from news_harvester.stories import StoryService

HERE = Path(__file__).resolve().parent
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
    "frame-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@dataclass
class WebContext:
    """What the routes need, kept on ``app.state.ctx``."""

    repository: Repository
    stories: StoryService
    sources_health: Callable[[], list[dict[str, Any]]]
    session_hours: float = 12.0
    settings: Settings = field(default_factory=lambda: Settings.model_validate({}))
    sources: Callable[[], SourcesConfig | None] = lambda: None
    run_now: Callable[[str], Awaitable[object]] | None = None
    banner_ttl: float = 0.0
    """Seconds the queue's freshness banner may be reused (0: computed for every page, as tests expect)."""
    templates: Jinja2Templates = field(default_factory=lambda: Jinja2Templates(directory=str(HERE / "templates")))


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
    # the schema is served to signed-in users only (pages.api_schema); Swagger UI would need a CDN the CSP forbids
    app = FastAPI(title="news_harvester", version=__version__, openapi_url=None, docs_url=None, redoc_url=None)

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

    if repository is None or stories is None:

        @app.get("/api/sources")
        def sources_json() -> list[dict[str, Any]]:
            """Every configured source with its health, as ``sources list --json`` prints it."""
            return sources_health()

        return app

    from news_harvester.web import auth, pages

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """Defence in depth: even if harvested markup slipped past the sanitizer, no inline script, no
        foreign script, frame or form target would run."""
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

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

    ctx_templates = Jinja2Templates(directory=str(HERE / "templates"))
    # audit values as editors read them (行业资讯, not \u884c…); the result is still autoescaped
    ctx_templates.env.filters["json_zh"] = lambda value: json.dumps(value, ensure_ascii=False)
    ctx = WebContext(
        repository,
        stories,
        sources_health,
        session_hours,
        settings=settings or Settings.model_validate({}),
        sources=sources or (lambda: None),
        run_now=run_now,
        banner_ttl=banner_ttl,
        templates=ctx_templates,
    )
    app.state.ctx = ctx
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    auth.install(app)
    app.include_router(auth.router)
    from news_harvester.web import admin, assembly

    app.include_router(pages.router)
    app.include_router(pages.api)
    app.include_router(assembly.router)
    app.include_router(assembly.api)
    app.include_router(admin.router)
    return app
