"""Refusals of the review app: the :class:`AuthError` tree and where a refused browser may be sent.

news_harvester.web.auth raises these and its handler (registered by ``auth.install``) turns them into responses:
JSON for ``/api/``, a redirect to the login page (:func:`login_url`, back to :func:`return_path` afterwards) or a
Chinese error page otherwise. Redirect targets go through :func:`safe_next`: never an open redirect.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import Request

MSG_REQUIRED = "未登录或会话已过期"
MSG_FORBIDDEN = "没有权限"
MSG_CSRF = "请求校验失败（页面可能已过期），请刷新页面后重试"


class AuthError(Exception):
    """A request refused by authentication or authorisation; ``auth.install`` turns it into a response."""

    status_code = 403
    code = "auth.forbidden"
    message = MSG_FORBIDDEN


class LoginRequired(AuthError):
    """No valid session: 401 for the API, a redirect to the login page for pages."""

    status_code = 401
    code = "auth.required"
    message = MSG_REQUIRED


class Forbidden(AuthError):
    """Signed in, but the role does not allow this."""


class CsrfRejected(AuthError):
    """A state-changing request without the session's CSRF token (or a cross-site login post)."""

    code = "auth.csrf"
    message = MSG_CSRF


# --------------------------------------------------------------------------- redirects


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on this site, else ``/``: never an open redirect.

    Refuses absolute URLs, scheme-relative ``//host``, backslashes (browsers read ``/\\host`` as ``//host``)
    and control characters (browsers drop tabs and newlines, turning ``/\\t/host`` into ``//host``).
    """
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path in ("/login", "/logout"):
        return "/"
    return value


def login_url(next_path: str) -> str:
    """The login page that returns to ``next_path`` afterwards."""
    target = safe_next(next_path)
    return "/login" if target == "/" else "/login?next=" + quote(target, safe="/")


def return_path(request: Request) -> str:
    """Where to come back to after signing in: the page itself for a GET; for a form post that found the
    session gone, the page it was posted from (a GET of the post's URL would not show anything useful)."""
    if request.method in ("GET", "HEAD"):
        query = request.url.query
        return request.url.path + (f"?{query}" if query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc == request.url.netloc:
        return safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))
    return "/"


def is_api(request: Request) -> bool:
    path = request.url.path
    return path == "/api" or path.startswith("/api/")
