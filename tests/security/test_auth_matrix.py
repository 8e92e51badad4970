"""The authorisation matrix: every route and API endpoint of the app (read from its route table, so a new
route without a rule here fails) × anonymous / editor / admin, against a real SQLite file.

The rules (the least role that may use an endpoint):

* anonymous — ``/login`` (form and post), ``/logout`` (ending no session is harmless; with a session it is
  CSRF-checked), ``/static/*`` (the login page's CSS and script), ``/healthz`` and ``/readyz`` (liveness and
  readiness for orchestrators: a status word and two booleans), and ``/metrics``: Prometheus scrapers do not
  sign in, as README "Operations → Metrics" documents (keep it on a private network or restrict it at the
  proxy). It exposes counts per source id, never users, sessions, paths or the database URL (checked below).
* admin — source administration (``/admin/...``).
* editor — everything else: the queue, stories, evidence, issues and their exports, the 数据月报 figures
  (upload, preview, drafting into an issue), the JSON API including
  ``/api/openapi.json``.

Denials: anonymous gets 401 JSON (``auth.required``) from ``/api/`` and a 303 to ``/login?next=…`` from pages;
a role below the rule gets 403 (JSON ``auth.forbidden`` from the API). An allowed role gets neither 401 nor
403, no redirect to the login page and no 5xx. State-changing requests carry the session's CSRF token here
(CSRF itself is tests/security/test_csrf.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from security_support import ROLES, USERS, Endpoint, Site, build_site, client, endpoints, sign_in

ANONYMOUS, EDITOR, ADMIN = "anonymous", "editor", "admin"
RULES: dict[str, str] = {
    "GET /healthz": ANONYMOUS,
    "GET /readyz": ANONYMOUS,
    "GET /metrics": ANONYMOUS,
    "GET /static": ANONYMOUS,
    "GET /login": ANONYMOUS,
    "POST /login": ANONYMOUS,
    "POST /logout": ANONYMOUS,
    # queue and stories
    "GET /": EDITOR,
    "GET /stories/{story_id}": EDITOR,
    "POST /stories/{story_id}/action": EDITOR,
    "POST /stories/{story_id}/edit": EDITOR,
    "POST /stories/{story_id}/topics": EDITOR,
    "POST /bulk": EDITOR,
    "GET /articles/{article_id}/evidence": EDITOR,
    # issues
    "GET /issues": EDITOR,
    "POST /issues": EDITOR,
    "GET /issues/current": EDITOR,
    "GET /issues/{issue_id}": EDITOR,
    "POST /issues/{issue_id}/items/{item_id}/move": EDITOR,
    "POST /issues/{issue_id}/items/{item_id}/remove": EDITOR,
    "POST /issues/{issue_id}/items/{item_id}/edit": EDITOR,
    "POST /issues/{issue_id}/items/{item_id}/regenerate": EDITOR,
    "POST /issues/{issue_id}/text": EDITOR,
    "POST /issues/{issue_id}/items/{item_id}/html": EDITOR,
    "POST /issues/{issue_id}/publish": EDITOR,
    "POST /issues/{issue_id}/reopen": EDITOR,
    "GET /issues/{issue_id}/export.{fmt}": EDITOR,
    "POST /issues/{issue_id}/figures-report": EDITOR,
    # monthly figures of the 数据月报
    "GET /figures": EDITOR,
    "POST /figures": EDITOR,
    "POST /figures/confirm": EDITOR,
    # JSON API
    "GET /api/queue": EDITOR,
    "GET /api/stories/{story_id}": EDITOR,
    "POST /api/stories/{story_id}/actions": EDITOR,
    "PATCH /api/stories/{story_id}": EDITOR,
    "POST /api/stories/{story_id}/topics": EDITOR,
    "POST /api/bulk": EDITOR,
    "GET /api/stories/{story_id}/audit": EDITOR,
    "GET /api/status": EDITOR,
    "GET /api/openapi.json": EDITOR,
    "GET /api/sources": EDITOR,
    "GET /api/issues": EDITOR,
    "GET /api/issues/{issue_id}": EDITOR,
    # source administration
    "GET /admin/sources": ADMIN,
    "GET /admin/sources/new": ADMIN,
    "GET /admin/sources/{source_id}/edit": ADMIN,
    "POST /admin/sources/save": ADMIN,
    "POST /admin/sources/discover": ADMIN,
    "POST /admin/sources/form": ADMIN,
    "POST /admin/sources/list-preview": ADMIN,
    "POST /admin/sources/{source_id}/{operation}": ADMIN,
}
RANK = {ANONYMOUS: 0, EDITOR: 1, ADMIN: 2}


def unruled(app: FastAPI, rules: dict[str, str] = RULES) -> list[str]:
    """Endpoints of ``app`` that have no rule (each one fails the matrix)."""
    return [str(e) for e in endpoints(app) if str(e) not in rules]


def stale_rules(app: FastAPI, rules: dict[str, str] = RULES) -> list[str]:
    present = {str(e) for e in endpoints(app)}
    return [key for key in rules if key not in present]


@pytest.fixture
def site(settings, repository) -> Site:
    return build_site(settings, repository)


def request_for(endpoint: Endpoint, site: Site, token: str | None) -> dict[str, Any]:
    """Keyword arguments for ``TestClient.request``: a plausible body (validation errors are fine: only the
    access decision is under test) that does not need the network (the admin save test is a YAML error)."""
    kwargs: dict[str, Any] = {}
    if not endpoint.changes_state:
        return kwargs
    if endpoint.path == "/login":
        return {"data": {}}  # no credentials: 400, nothing signed in
    if endpoint.is_api:
        kwargs["json"] = {"action": "shortlist", "ids": [site.story_ids[2]], "add": [], "remove": [], "title": "标题"}
        if token:
            kwargs["headers"] = {"X-CSRF-Token": token}
    else:
        form = {
            "action": "shortlist",
            "story": str(site.story_ids[2]),
            "title": "新标题",
            "text": "6月11日，测试文字。（来源：商务部网站）",
            "html": "<p>一段文字</p>",
            "section": "协会动态",
            "direction": "down",
            "reason": "安全测试",
            "back": "/",
            "text_yaml": "",
        }
        if endpoint.path == "/admin/sources/save":
            form["text"] = "id: [unclosed"  # a YAML error: answered without fetching anything
        if token:
            form["csrf_token"] = token
        kwargs["data"] = form
    return kwargs


def verdict(endpoint: Endpoint, role: str, response: Any) -> str | None:
    """Why ``response`` breaks the rule for ``role``, or None."""
    rule = RULES[str(endpoint)]
    status = response.status_code
    location = response.headers.get("location", "")
    to_login = status in (302, 303, 307) and location.startswith("/login")
    if status >= 500:
        return f"server error {status}"
    if str(endpoint) == "POST /logout":  # signing out ends on the login page, for everyone
        return None if status == 303 and location == "/login" else f"logout answered {status} {location}"
    if RANK[role] >= RANK[rule]:
        if status in (401, 403) or to_login:
            return f"allowed role refused: {status} {location}"
        return None
    if role == ANONYMOUS:
        if endpoint.is_api:
            if status != 401 or response.json().get("code") != "auth.required":
                return f"anonymous API call not 401 auth.required: {status} {response.text[:120]}"
            return None
        if not to_login or status != 303:
            return f"anonymous page not redirected to /login: {status} {location}"
        return None
    if status != 403:
        return f"{role} not refused with 403: {status}"
    if endpoint.is_api and response.json().get("code") != "auth.forbidden":
        return f"{role} refused without auth.forbidden: {response.text[:120]}"
    if not endpoint.is_api and "没有权限" not in response.text:
        return f"{role} refused without the Chinese message: {response.text[:120]}"
    return None


def clients(site: Site) -> dict[str, tuple[TestClient, str | None]]:
    out: dict[str, tuple[TestClient, str | None]] = {ANONYMOUS: (client(site.app), None)}
    for role in (EDITOR, ADMIN):
        out[role] = sign_in(site.app, USERS[role])
    return out


def test_every_endpoint_has_a_rule(site):
    missing = unruled(site.app)
    assert missing == [], f"routes without an access rule in tests/security/test_auth_matrix.py RULES: {missing}"
    assert stale_rules(site.app) == [], "rules for routes the app no longer has"
    assert len(endpoints(site.app)) == len(RULES) == 51


def test_the_generator_catches_a_route_without_a_rule(site):
    """Self-check: a route added to the app (in any router) shows up as unruled."""

    @site.app.get("/reports/secret")
    def secret() -> dict[str, str]:
        return {"secret": "x"}

    @site.app.delete("/api/stories/{story_id}")
    def delete(story_id: int) -> dict[str, int]:
        return {"deleted": story_id}

    assert unruled(site.app) == ["GET /reports/secret", "DELETE /api/stories/{story_id}"]
    assert unruled(site.app, {k: v for k, v in RULES.items() if k != "GET /api/status"}) == [
        "GET /api/status",
        "GET /reports/secret",
        "DELETE /api/stories/{story_id}",
    ]
    # and the matrix would catch such a route open to anyone
    anonymous = client(site.app)
    assert verdict(Endpoint("GET", "/api/status"), ANONYMOUS, anonymous.get("/reports/secret")) is not None


def test_auth_matrix(site):
    """Every endpoint × every role (logout last: it ends the sessions)."""
    table = sorted(endpoints(site.app), key=lambda e: str(e) == "POST /logout")
    signed = clients(site)
    params = site.path_params()
    problems: list[str] = []
    checked = 0
    for endpoint in table:
        for role in ROLES:
            http, token = signed[role]
            response = http.request(endpoint.method, endpoint.url(params), **request_for(endpoint, site, token))
            problem = verdict(endpoint, role, response)
            checked += 1
            if problem:
                problems.append(f"{endpoint} as {role}: {problem}")
    assert problems == []
    assert checked == 3 * len(RULES)


def test_denied_requests_reach_no_handler(site):
    """Refused state-changing requests change nothing: anonymous everywhere, the editor on admin routes."""
    from security_support import fingerprint

    before = fingerprint(site)
    signed = clients(site)
    params = site.path_params()
    for endpoint in endpoints(site.app):
        if not endpoint.changes_state or str(endpoint) in ("POST /login", "POST /logout"):
            continue
        for role in (ANONYMOUS, EDITOR):
            if RANK[role] >= RANK[RULES[str(endpoint)]]:
                continue
            http, token = signed[role]
            response = http.request(endpoint.method, endpoint.url(params), **request_for(endpoint, site, token))
            assert response.status_code in (303, 401, 403), (str(endpoint), role, response.status_code)
    after = fingerprint(site)
    assert {k: v for k, v in after.items() if k != "web_sessions"} == {
        k: v for k, v in before.items() if k != "web_sessions"
    }


def test_metrics_are_public_but_reveal_no_secrets(site):
    """The documented exception: /metrics answers scrapers without a session, and carries nothing a session,
    a user or the deployment's paths could be read from."""
    signed, _token = sign_in(site.app, USERS["admin"])
    anonymous = client(site.app)
    body = anonymous.get("/metrics")
    assert body.status_code == 200 and "news_harvester_stories_total" in body.text
    text = body.text
    for secret in (USERS["admin"], USERS["editor"], "argon2", str(site.settings.data_dir), "sqlite", "nh_session"):
        assert secret not in text, secret
    for name in signed.cookies:
        assert signed.cookies[name] not in text
    ready = anonymous.get("/readyz").json()
    assert set(ready) == {"ready", "checks"} and set(ready["checks"]) == {"database", "scheduler"}
