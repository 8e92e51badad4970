"""Security headers on every class of answer: pages, JSON, static files, downloads, health and metrics,
redirects, 401/403/404/405/422/429 and a server error (a real one: the database loses a table).

Every answer: a Content-Security-Policy without inline or foreign script and with ``frame-ancestors 'none'``,
``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``, ``X-Frame-Options: DENY``,
``Cross-Origin-Opener-Policy: same-origin``, a Permissions-Policy. Every answer but static files:
``Cache-Control: no-store`` (queue pages and API answers must not stay in shared or browser caches).
Strict-Transport-Security only over HTTPS.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from security_support import PASSWORD, USERS, Site, build_site, client, sign_in

CSP_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "object-src": "'none'",
    "frame-src": "'none'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
}


@pytest.fixture
def site(settings, repository) -> Site:
    return build_site(settings, repository)


def problems(label: str, response: Any, *, static: bool = False, https: bool = False) -> list[str]:
    headers = response.headers
    found = []
    policy = headers.get("content-security-policy", "")
    directives = {d.split()[0]: " ".join(d.split()[1:]) for d in policy.split(";") if d.strip()}
    for name, value in CSP_DIRECTIVES.items():
        if directives.get(name) != value:
            found.append(f"{label}: CSP {name} is {directives.get(name)!r}")
    if "unsafe" in policy:
        found.append(f"{label}: CSP allows unsafe-*: {policy}")
    expected = {
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",
        "x-frame-options": "DENY",
        "cross-origin-opener-policy": "same-origin",
    }
    for name, value in expected.items():
        if headers.get(name) != value:
            found.append(f"{label}: {name} is {headers.get(name)!r}")
    if "camera=()" not in headers.get("permissions-policy", ""):
        found.append(f"{label}: permissions-policy is {headers.get('permissions-policy')!r}")
    if not static and "no-store" not in headers.get("cache-control", ""):
        found.append(f"{label}: cache-control is {headers.get('cache-control')!r}")
    hsts = headers.get("strict-transport-security")
    if https and (hsts is None or "max-age=" not in hsts):
        found.append(f"{label}: no Strict-Transport-Security over HTTPS")
    if not https and hsts is not None:
        found.append(f"{label}: Strict-Transport-Security over plain HTTP")
    return found


def test_every_class_of_answer_carries_the_headers(site):
    anonymous = client(site.app)
    editor, token = sign_in(site.app, USERS["editor"])
    answers: list[tuple[str, Any, int, bool]] = [
        ("login page", anonymous.get("/login"), 200, False),
        ("static css", anonymous.get("/static/app.css"), 200, True),
        ("static js", anonymous.get("/static/app.js"), 200, True),
        ("static 404", anonymous.get("/static/nothing.js"), 404, True),
        ("healthz", anonymous.get("/healthz"), 200, False),
        ("readyz", anonymous.get("/readyz"), 200, False),
        ("metrics", anonymous.get("/metrics"), 200, False),
        ("anonymous page redirect", anonymous.get("/"), 303, False),
        ("anonymous API 401", anonymous.get("/api/queue"), 401, False),
        ("failed sign-in", anonymous.post("/login", data={"name": "x", "password": "wrong password"}), 401, False),
        ("unknown path", anonymous.get("/no/such/page"), 404, False),
        ("unknown API path", editor.get("/api/no/such"), 404, False),
        ("queue", editor.get("/"), 200, False),
        ("story", editor.get(f"/stories/{site.story_ids[0]}"), 200, False),
        ("missing story", editor.get("/stories/999999"), 404, False),
        ("evidence", editor.get(f"/articles/{site.article_id}/evidence"), 404, False),
        ("issue", editor.get(f"/issues/{site.issue_id}"), 200, False),
        ("export md", editor.get(f"/issues/{site.issue_id}/export.md"), 200, False),
        ("export html", editor.get(f"/issues/{site.issue_id}/export.html"), 200, False),
        ("API JSON", editor.get("/api/queue"), 200, False),
        ("API 404", editor.get("/api/stories/999999"), 404, False),
        ("validation page", editor.get("/stories/abc"), 422, False),
        ("validation API", editor.get("/api/queue?page=0"), 422, False),
        ("method not allowed", editor.delete("/api/queue", headers={"X-CSRF-Token": token}), 405, False),
        ("editor on admin page", editor.get("/admin/sources"), 403, False),
        ("CSRF refusal", editor.post("/api/bulk", json={"ids": [1], "action": "shortlist"}), 403, False),
        ("form action redirect", editor.post("/bulk", data={"action": "x", "csrf_token": token}), 303, False),
    ]
    for _ in range(5):
        anonymous.post("/login", data={"name": "boss", "password": "wrong password"})
    answers.append(("throttled", anonymous.post("/login", data={"name": "boss", "password": PASSWORD}), 429, False))
    found = []
    for label, response, status, static in answers:
        if response.status_code != status:
            found.append(f"{label}: status {response.status_code}, expected {status}")
        found += problems(label, response, static=static)
    assert found == []


def test_downloads_are_attachments_with_their_type(site):
    editor, _token = sign_in(site.app, USERS["editor"])
    for fmt, media in (("md", "text/markdown"), ("html", "text/html"), ("docx", "application/vnd.openxml")):
        response = editor.get(f"/issues/{site.issue_id}/export.{fmt}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media)
        assert response.headers["content-disposition"].startswith("attachment; filename=")
        assert response.headers["x-content-type-options"] == "nosniff"


def test_https_adds_strict_transport_security(site):
    secure, _token = sign_in(site.app, USERS["editor"], https=True)
    for path in ("/", "/api/queue", "/login", "/no/such/page"):
        assert problems(path, secure.get(path), https=True) == []


def test_a_server_error_carries_the_headers_and_no_details(site):
    """A real fault: the candidates table is gone, so the queue cannot be read."""
    editor, _token = sign_in(site.app, USERS["editor"])
    with site.repository.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE candidates"))
    page = editor.get("/")
    api = editor.get("/api/queue")
    for label, response in (("page", page), ("api", api)):
        assert response.status_code == 500, (label, response.status_code)
        assert problems(label, response) == []
        assert "candidates" not in response.text and "Traceback" not in response.text and "sqlite" not in response.text
    assert "服务器内部错误" in page.text and page.headers["content-type"].startswith("text/html")
    assert api.json()["code"] == "internal.error"
