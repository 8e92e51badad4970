"""Sign-in for the review app: sessions, CSRF, the role checks routes depend on, and the login routes.

Why it looks the way it does:

* Passwords, user-name rules and the login throttle live in news_harvester.web.accounts (the CLI shares them);
  refusals and their redirect targets in news_harvester.web.denials. Both are re-exported here.
* A session is a random cookie token (``nh_session``, HttpOnly, SameSite=Lax, Secure over HTTPS). The database
  keeps only its SHA-256, so a copied database hands out no live sessions. Each session has its own CSRF
  token; every state-changing route depends on :func:`check_csrf`, which wants it back in the
  ``X-CSRF-Token`` header or the ``csrf_token`` form field. SameSite alone is not enough: it does not cover
  same-site attackers or older browsers.
* Expiry slides by ``WebContext.session_hours`` of inactivity; the row is rewritten at most once a minute so a
  busy editor does not cost a write per request. Disabled users are filtered in the session query itself,
  so disabling someone locks them out on their next request.
* User names ignore case (news_harvester.store.users.name_key): ``EDITOR`` signs in as ``Editor``, the name the
  session carries; two legacy names differing only by case each need their exact spelling.
* Login guesses are throttled per account name (in any case) and per client address from ``login_attempts``; a
  throttled attempt is refused before the password is looked at. Unknown names and wrong passwords get one message,
  and unknown names are verified against a dummy hash so the answer takes as long.
* Denials are exceptions (:class:`AuthError`) turned into responses by handlers that :func:`install`
  registers: JSON for ``/api/``, a redirect to the login page or a Chinese error page otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartException

from news_harvester.errors import StorageError
from news_harvester.web.accounts import (
    ADDRESS_FAILURES,
    MAX_NAME_LENGTH,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    NAME_FAILURES,
    ROLES,
    THROTTLE_WINDOW,
    hash_password,
    name_problem,
    normalize_name,
    password_problem,
    renewed_hash,
    throttle_wait,
    verify_password,
)
from news_harvester.web.denials import (
    MSG_CSRF,
    MSG_FORBIDDEN,
    MSG_REQUIRED,
    AuthError,
    CsrfRejected,
    Forbidden,
    LoginRequired,
    is_api,
    login_url,
    return_path,
    safe_next,
)

if TYPE_CHECKING:
    from news_harvester.store.repository import Repository
    from news_harvester.web.context import WebContext

# the accounts and refusals are part of this module's interface: views, tests and the CLI import them from here
__all__ = [
    "ADDRESS_FAILURES",
    "COOKIE_NAME",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "MAX_NAME_LENGTH",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "MSG_CSRF",
    "MSG_FORBIDDEN",
    "MSG_REQUIRED",
    "NAME_FAILURES",
    "ROLES",
    "THROTTLE_WINDOW",
    "AuthError",
    "CsrfRejected",
    "CurrentUser",
    "Forbidden",
    "LoginRequired",
    "check_csrf",
    "cross_site",
    "hash_password",
    "install",
    "login_url",
    "name_problem",
    "normalize_name",
    "optional_user",
    "password_problem",
    "require_admin",
    "require_editor",
    "router",
    "safe_next",
]

log = logging.getLogger(__name__)

COOKIE_NAME = "nh_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
ATTEMPT_RETENTION = timedelta(days=1)
TOUCH_INTERVAL = timedelta(minutes=1)
HOUSEKEEPING_SECONDS = 600.0
"""How often (at most) a request also deletes expired sessions and day-old login attempts."""

MSG_BAD_LOGIN = "用户名或密码错误"
MSG_DISABLED = "该账号已停用，请联系管理员"
MSG_MISSING = "请输入用户名和密码"
MSG_THROTTLED = "尝试次数过多，请 {minutes} 分钟后再试"

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_USER_ATTR = "nh_auth_user"
"""``request.state`` attribute caching the session lookup, so several dependencies cost one query."""
_HOUSEKEEPING_ATTR = "nh_auth_housekeeping"
"""``app.state`` attribute: monotonic time of the last purge of expired rows."""
_UNSET = object()


@dataclass(frozen=True, slots=True)
class CurrentUser:
    """The signed-in user of a request, as routes and templates see it."""

    id: int
    name: str
    role: str
    csrf_token: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


# --------------------------------------------------------------------------- denials


_ERROR_PAGE = """{% extends "base.html" %}
{% block title %}{{ title }}{% endblock %}
{% block content %}
<section class="error-page">
  <h1>{{ title }}</h1>
  <p>{{ message }}</p>
  <p><a href="/">返回首页</a> · <a href="/login">以其他账号登录</a></p>
</section>
{% endblock %}"""


async def _handle_auth_error(request: Request, exc: Exception) -> Response:
    """JSON under ``/api/``; otherwise a redirect to the login page (no session) or an error page."""
    assert isinstance(exc, AuthError)
    response: Response
    if is_api(request):
        response = JSONResponse({"error": exc.message, "code": exc.code}, status_code=exc.status_code)
    elif isinstance(exc, LoginRequired):
        response = RedirectResponse(login_url(return_path(request)), status_code=303)
    else:
        title = "请求无效" if isinstance(exc, CsrfRejected) else "没有权限"
        message = exc.message if isinstance(exc, CsrfRejected) else "您的账号没有权限访问此页面。"
        html = (
            _ctx(request)
            .templates.env.from_string(_ERROR_PAGE)
            .render(user=getattr(request.state, "user", None), title=title, message=message)
        )
        response = HTMLResponse(html, status_code=exc.status_code)
    if isinstance(exc, LoginRequired) and COOKIE_NAME in request.cookies:
        _clear_cookie(response, request)
    return response


def install(app: FastAPI) -> None:
    """Register the handlers that turn :class:`AuthError` into responses (call before serving requests)."""
    app.add_exception_handler(AuthError, _handle_auth_error)
    setattr(app.state, _HOUSEKEEPING_ATTR, None)


# --------------------------------------------------------------------------- sessions


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


def _now() -> datetime:
    return datetime.now(UTC)


_BOOKKEEPING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="web-bookkeeping")
"""Writes a reading request causes but need not wait for (sliding a session's expiry, deleting expired sessions):
on SQLite a write waits for the one write lock, which a harvest's batch may hold for a moment, and an editor's
page must not wait with it."""


def _in_background(write: Callable[[], object], what: str) -> None:
    def run() -> None:
        try:
            write()
        except (StorageError, SQLAlchemyError) as exc:  # only postponed: the next request tries again
            log.warning("%s failed: %s", what, exc, extra={"stage": "auth"})

    _BOOKKEEPING.submit(run)


def _housekeeping(request: Request, repository: Repository, now: datetime) -> None:
    """Delete expired sessions and day-old login attempts, at most every ``HOUSEKEEPING_SECONDS`` per app, in the
    background.

    Piggybacks on requests so the web app needs no timer of its own; a failure only postpones it.
    """
    state = request.app.state
    last = getattr(state, _HOUSEKEEPING_ATTR, None)
    clock = time.monotonic()
    if last is not None and clock - last < HOUSEKEEPING_SECONDS:
        return
    setattr(state, _HOUSEKEEPING_ATTR, clock)
    _in_background(lambda: _purge(repository, now), "auth housekeeping")


def _purge(repository: Repository, now: datetime) -> None:
    sessions = repository.purge_sessions(now)
    attempts = repository.purge_login_attempts(now - ATTEMPT_RETENTION)
    if sessions or attempts:
        log.info("deleted %d expired sessions and %d old login attempts", sessions, attempts, extra={"stage": "auth"})


def _load_user(request: Request) -> CurrentUser | None:
    """The session's user (sliding its expiry), or None; blocking, so async callers use a thread."""
    token = request.cookies.get(COOKIE_NAME)
    if not token or len(token) > 256:
        return None
    ctx = _ctx(request)
    repository = ctx.repository
    now = _now()
    _housekeeping(request, repository, now)
    token_hash = _token_hash(token)
    record = repository.session_user(token_hash, now)
    if record is None or record.role not in ROLES:
        return None
    if now - record.last_seen_at >= TOUCH_INTERVAL:
        expires = now + timedelta(hours=ctx.session_hours)
        _in_background(lambda: repository.touch_session(token_hash, now, expires), "sliding a session's expiry")
    return CurrentUser(id=record.user_id, name=record.name, role=record.role, csrf_token=record.csrf_token)


def optional_user(request: Request) -> CurrentUser | None:
    """The signed-in user or None, for pages that render differently when signed in (blocking: call it from
    sync routes, which FastAPI runs in a thread)."""
    cached: Any = getattr(request.state, _USER_ATTR, _UNSET)
    if cached is not _UNSET:
        user: CurrentUser | None = cached
        return user
    user = _load_user(request)
    setattr(request.state, _USER_ATTR, user)
    return user


async def require_editor(request: Request) -> CurrentUser:
    """Dependency: any signed-in, enabled user (admins too); sets ``request.state.user``."""
    user = await run_in_threadpool(optional_user, request)
    if user is None:
        raise LoginRequired
    request.state.user = user
    return user


async def require_admin(request: Request) -> CurrentUser:
    """Dependency: a signed-in admin; sets ``request.state.user``."""
    user = await require_editor(request)
    if not user.is_admin:
        raise Forbidden
    return user


def cross_site(request: Request) -> bool:
    """Whether the browser says the request comes from another site: ``Sec-Fetch-Site: cross-site``, or an
    ``Origin`` (sent with every browser POST) other than this host, or ``null`` (sandboxed frames, data: URLs,
    cross-origin redirects). Scripts that send neither are judged by the token alone.

    When the browser sends ``Sec-Fetch-Site`` (every current one does) it is the authority, so a reverse proxy
    that rewrites the ``Host`` header does not break same-origin posts; only where it is missing is ``Origin``
    compared with ``Host``."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site.strip().lower() == "cross-site"
    origin = request.headers.get("origin")
    if origin is None:
        return False
    parts = urlsplit(origin.strip())
    host = request.headers.get("host", "")
    return origin.strip() == "null" or parts.scheme not in ("http", "https") or parts.netloc.lower() != host.lower()


async def check_csrf(request: Request) -> None:
    """Dependency of every state-changing route: the session's CSRF token must come back, in the
    ``X-CSRF-Token`` header (scripts) or the ``csrf_token`` form field (forms), and the request must not come
    from another site (:func:`cross_site`; defence in depth should a token leak). Needs a session."""
    user = await require_editor(request)
    if cross_site(request):
        raise CsrfRejected
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "").lower()
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            try:
                value = (await request.form()).get(CSRF_FIELD)
            except MultiPartException:
                value = None
            sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), user.csrf_token.encode()):
        raise CsrfRejected


def _set_cookie(response: Response, request: Request, token: str) -> None:
    """A browser-session cookie: no Max-Age, the server-side expiry is what slides."""
    response.set_cookie(
        COOKIE_NAME, token, httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/"
    )


def _clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https")


# --------------------------------------------------------------------------- login


@dataclass(frozen=True, slots=True)
class _Outcome:
    user: CurrentUser | None = None
    token: str | None = None
    status: int = 200
    code: str | None = None
    error: str | None = None
    retry_after: int | None = None


def _client_address(request: Request) -> str:
    """The peer address (uvicorn puts the forwarded one here when it trusts the proxy)."""
    return request.client.host if request.client else "unknown"


def _attempt_login(request: Request, name: str, password: str) -> _Outcome:
    """Check one login and open a session; blocking (argon2 and SQL), run in a thread."""
    ctx = _ctx(request)
    repository = ctx.repository
    now = _now()
    _housekeeping(request, repository, now)
    address = _client_address(request)
    if not name or not password:
        return _Outcome(status=400, code="auth.missing", error=MSG_MISSING)
    # No account has a name that breaks the rules (users add checks them), so such a name is only looked up
    # as a harmless key: NUL and other control characters would make PostgreSQL refuse the query.
    valid_name = name_problem(name) is None
    name = name if valid_name else _CONTROL_RE.sub("\ufffd", name)[:MAX_NAME_LENGTH]
    wait = throttle_wait(repository, name, address, now)
    if wait is not None:
        seconds = max(1, math.ceil(wait.total_seconds()))
        log.warning("login throttled for %r from %s", name, address, extra={"stage": "auth"})
        return _Outcome(
            status=429,
            code="auth.throttled",
            error=MSG_THROTTLED.format(minutes=math.ceil(seconds / 60)),
            retry_after=seconds,
        )
    user = repository.get_user_by_name(name) if valid_name else None
    if user is None or not verify_password(user.password_hash, password):
        if user is None:
            verify_password(None, password)
        repository.record_login_attempt(name, address, False, now)
        log.info("failed login for %r from %s", name, address, extra={"stage": "auth"})
        return _Outcome(status=401, code="auth.invalid", error=MSG_BAD_LOGIN)
    if user.disabled or user.role not in ROLES:
        # only someone who knows the password learns the account is disabled
        repository.record_login_attempt(name, address, False, now)
        return _Outcome(status=403, code="auth.disabled", error=MSG_DISABLED)
    repository.record_login_attempt(name, address, True, now)
    renewed = renewed_hash(user.password_hash, password)
    if renewed is not None:
        repository.set_password_hash(user.id, renewed)
        log.info("rehashed the password of %r with current parameters", name, extra={"stage": "auth"})
    previous = request.cookies.get(COOKIE_NAME)
    if previous:
        repository.delete_session(_token_hash(previous))
    token = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    repository.create_session(_token_hash(token), user.id, csrf_token, now, now + timedelta(hours=ctx.session_hours))
    log.info("%r signed in from %s", user.name, address, extra={"stage": "auth"})
    return _Outcome(user=CurrentUser(id=user.id, name=user.name, role=user.role, csrf_token=csrf_token), token=token)


def _login_page(
    request: Request, *, name: str = "", next_path: str = "/", error: str | None = None, status: int = 200
) -> Response:
    headers = {"Cache-Control": "no-store"}
    context = {
        "user": None,
        "current": getattr(request.state, _USER_ATTR, None),
        "name": name,
        "next": next_path,
        "flash": error,
        "flash_kind": "error" if error else None,
    }
    return _ctx(request).templates.TemplateResponse(request, "login.html", context, status_code=status, headers=headers)


router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next_path: Annotated[str | None, Query(alias="next")] = None) -> Response:
    """The sign-in form; when already signed in it says so (and still allows switching accounts)."""
    optional_user(request)
    return _login_page(request, next_path=safe_next(next_path))


@router.post("/login")
async def login(request: Request) -> Response:
    """Form post (``name``, ``password``, ``next``) → redirect; JSON ``{"name", "password"}`` → JSON
    ``{"name", "role", "csrf_token"}``. Either way the session cookie is set."""
    if cross_site(request):
        # login CSRF: another site must not sign the browser in to an account of its choosing
        raise CsrfRejected
    is_json = request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json"
    next_path = "/"
    if is_json:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse({"error": "请求格式错误", "code": "auth.bad_request"}, status_code=400)
        raw_name, password = body.get("name"), body.get("password")
    else:
        try:
            form = await request.form()
        except MultiPartException:
            return _login_page(request, error="请求格式错误", status=400)
        raw_name, password = form.get("name"), form.get("password")
        next_path = safe_next(str(form.get("next") or ""))
    name = normalize_name(raw_name) if isinstance(raw_name, str) else ""
    password = password if isinstance(password, str) else ""
    outcome = await run_in_threadpool(_attempt_login, request, name, password)
    headers = {"Retry-After": str(outcome.retry_after)} if outcome.retry_after else None
    response: Response
    if outcome.user is None or outcome.token is None:
        error = outcome.error or MSG_BAD_LOGIN
        if is_json:
            return JSONResponse({"error": error, "code": outcome.code}, status_code=outcome.status, headers=headers)
        response = _login_page(request, name=name, next_path=next_path, error=error, status=outcome.status)
        if headers:
            response.headers.update(headers)
        return response
    user = outcome.user
    if is_json:
        response = JSONResponse({"name": user.name, "role": user.role, "csrf_token": user.csrf_token})
    else:
        response = RedirectResponse(next_path, status_code=303)
    _set_cookie(response, request, outcome.token)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session (CSRF-checked while there is one) and clear the cookie; JSON callers get JSON."""
    user = await run_in_threadpool(optional_user, request)
    token = request.cookies.get(COOKIE_NAME)
    if user is not None and token:
        await check_csrf(request)
        await run_in_threadpool(_ctx(request).repository.delete_session, _token_hash(token))
    wants_json = "application/json" in request.headers.get("accept", "") or request.headers.get(
        "content-type", ""
    ).startswith("application/json")
    response: Response = JSONResponse({"ok": True}) if wants_json else RedirectResponse("/login", status_code=303)
    _clear_cookie(response, request)
    return response
