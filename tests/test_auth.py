"""Sign-in for the review app (news_harvester.web.auth, store.users) and the ``users`` CLI.

Most tests run against a small app of their own: auth's router and handlers plus a few protected routes, so
they do not depend on the review pages. One test checks the real ``create_app`` wiring.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi import Depends, FastAPI, Form
from fastapi.testclient import TestClient

from news_harvester.cli import users as cli_users
from news_harvester.errors import StorageError
from news_harvester.store.schema import login_attempts, users, web_sessions
from news_harvester.store.users import UserRecord
from news_harvester.stories.assign import StoryService
from news_harvester.web import accounts, auth
from news_harvester.web.app import create_app
from news_harvester.web.context import WebContext
from procs import run_cli

PASSWORD = "正确的密码 horse 1"
BAD_LOGIN = "用户名或密码错误"


def _stories() -> StoryService:
    return StoryService(window=timedelta(days=90))


def make_app(repository, session_hours: float = 12.0) -> FastAPI:
    """auth as create_app installs it, plus protected routes of every kind."""
    app = FastAPI()
    app.state.ctx = WebContext(repository, _stories(), lambda: [], session_hours)
    auth.install(app)
    app.include_router(auth.router)

    @app.get("/")
    def home(user: auth.CurrentUser = Depends(auth.require_editor)) -> dict[str, str]:
        return {"page": "home", "user": user.name}

    @app.get("/api/x")
    def api_x(user: auth.CurrentUser = Depends(auth.require_editor)) -> dict[str, str]:
        return {"user": user.name, "role": user.role}

    @app.get("/admin")
    def admin(user: auth.CurrentUser = Depends(auth.require_admin)) -> dict[str, str]:
        return {"page": "admin", "user": user.name}

    @app.get("/api/admin")
    def api_admin(user: auth.CurrentUser = Depends(auth.require_admin)) -> dict[str, str]:
        return {"admin": user.name}

    @app.post("/api/change", dependencies=[Depends(auth.check_csrf)])
    def api_change(user: auth.CurrentUser = Depends(auth.require_editor)) -> dict[str, str]:
        return {"changed_by": user.name}

    @app.post("/change", dependencies=[Depends(auth.check_csrf)])
    def form_change(value: str = Form(...), user: auth.CurrentUser = Depends(auth.require_editor)) -> dict[str, str]:
        return {"value": value, "changed_by": user.name}

    @app.get("/whoami")
    def whoami(user: auth.CurrentUser | None = Depends(auth.optional_user)) -> dict[str, str | None]:
        return {"user": user.name if user else None}

    return app


def add_user(repository, name: str = "editor1", role: str = "editor", password: str = PASSWORD) -> int:
    return repository.add_user(name, auth.hash_password(password), role, datetime.now(UTC))


def client_for(repository, *, https: bool = True, **app_options) -> TestClient:
    return TestClient(
        make_app(repository, **app_options),
        base_url="https://testserver" if https else "http://testserver",
        follow_redirects=False,
    )


def login(client: TestClient, name: str = "editor1", password: str = PASSWORD) -> str:
    """JSON login; returns the CSRF token."""
    response = client.post("/login", json={"name": name, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["csrf_token"]


def session_hash(client: TestClient) -> str:
    return hashlib.sha256(client.cookies[auth.COOKIE_NAME].encode()).hexdigest()


def session_row(repository, token_hash: str):
    with repository.engine.connect() as conn:
        return conn.execute(sa.select(web_sessions).where(web_sessions.c.id == token_hash)).mappings().first()


def set_session(repository, token_hash: str, **values) -> None:
    with repository.engine.begin() as conn:
        conn.execute(sa.update(web_sessions).where(web_sessions.c.id == token_hash).values(**values))


def failures(repository) -> int:
    with repository.engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(login_attempts).where(login_attempts.c.success == sa.false())
        ).scalar_one()


# --------------------------------------------------------------------------- login and logout


def test_login_page_is_chinese_and_keeps_a_safe_next(repository):
    client = client_for(repository)
    page = client.get("/login", params={"next": "/stories/3?tab=1"})
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert page.headers["cache-control"] == "no-store"
    for text in ("用户名", "密码", "登录", 'name="name"', 'name="password"', 'type="password"'):
        assert text in page.text
    assert 'name="next" value="/stories/3?tab=1"' in page.text
    assert 'name="next" value="/"' in client.get("/login", params={"next": "//evil.com"}).text
    assert "退出" not in page.text, "no user on the login page"


def test_form_login_sets_hardened_cookie_and_redirects_to_next(repository):
    user_id = add_user(repository)
    client = client_for(repository)
    response = client.post("/login", data={"name": "editor1", "password": PASSWORD, "next": "/admin?x=1"})

    assert response.status_code == 303
    assert response.headers["location"] == "/admin?x=1"
    [cookie] = response.headers.get_list("set-cookie")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert cookie.startswith(f"{auth.COOKIE_NAME}=")
    assert {"httponly", "secure", "path", "samesite"} <= attributes
    assert "samesite=lax" in cookie.lower() and "path=/" in cookie.lower()
    assert "max-age" not in attributes, "a browser-session cookie; the server-side expiry slides"

    token = client.cookies[auth.COOKIE_NAME]
    assert len(token) >= 40
    row = session_row(repository, hashlib.sha256(token.encode()).hexdigest())
    assert row is not None and row["user_id"] == user_id, "the database keeps only the token's SHA-256"
    assert session_row(repository, token) is None
    assert row["expires_at"] - row["created_at"] == timedelta(hours=12)
    assert repository.get_user(user_id).last_login_at is not None

    assert client.get("/").json() == {"page": "home", "user": "editor1"}
    assert client.get("/whoami").json() == {"user": "editor1"}


def test_cookie_is_not_secure_over_plain_http(repository):
    add_user(repository)
    client = client_for(repository, https=False)
    response = client.post("/login", data={"name": "editor1", "password": PASSWORD})
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie


def test_json_login_returns_role_and_csrf_token(repository):
    add_user(repository, "管理员甲", role="admin")
    client = client_for(repository)
    response = client.post("/login", json={"name": " 管理员甲 ", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "管理员甲" and body["role"] == "admin" and len(body["csrf_token"]) >= 40
    assert session_row(repository, session_hash(client))["csrf_token"] == body["csrf_token"]
    assert client.get("/api/admin").json() == {"admin": "管理员甲"}


def test_wrong_password_and_unknown_user_get_the_same_answer(repository):
    add_user(repository)
    client = client_for(repository)

    wrong = client.post("/login", data={"name": "editor1", "password": "not the password"})
    unknown = client.post("/login", data={"name": "nobody", "password": "not the password"})
    for response, name in ((wrong, "editor1"), (unknown, "nobody")):
        assert response.status_code == 401
        assert BAD_LOGIN in response.text
        assert f'value="{name}"' in response.text, "the entered name is kept"
        assert auth.COOKIE_NAME not in response.cookies

    wrong_json = client.post("/login", json={"name": "editor1", "password": "not the password"})
    unknown_json = client.post("/login", json={"name": "nobody", "password": "not the password"})
    assert wrong_json.status_code == unknown_json.status_code == 401
    assert wrong_json.json() == unknown_json.json() == {"error": BAD_LOGIN, "code": "auth.invalid"}
    assert failures(repository) == 4

    missing = client.post("/login", json={"name": "editor1", "password": ""})
    assert missing.status_code == 400 and missing.json()["code"] == "auth.missing"
    assert client.post("/login", content=b"[1, 2", headers={"content-type": "application/json"}).status_code == 400
    assert client.get("/api/x").status_code == 401


def test_entered_name_is_escaped_on_the_login_page(repository):
    client = client_for(repository)
    response = client.post("/login", data={"name": '"><script>alert(1)</script>', "password": "whatever1"})
    assert response.status_code == 401
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text


def test_logout_ends_the_session_and_clears_the_cookie(repository):
    add_user(repository)
    client = client_for(repository)
    csrf = login(client)
    token = client.cookies[auth.COOKIE_NAME]
    token_hash = session_hash(client)

    assert client.post("/logout").status_code == 403, "logout is CSRF-checked while signed in"
    assert session_row(repository, token_hash) is not None

    response = client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert "max-age=0" in response.headers["set-cookie"].lower()
    assert session_row(repository, token_hash) is None
    assert auth.COOKIE_NAME not in client.cookies

    client.cookies.set(auth.COOKIE_NAME, token)
    assert client.get("/api/x").status_code == 401, "the old token is dead"
    again = client.post("/logout", headers={"accept": "application/json"})
    assert again.status_code == 200 and again.json() == {"ok": True}, "logging out twice is harmless"


def test_login_replaces_an_existing_session(repository):
    add_user(repository)
    client = client_for(repository)
    login(client)
    first = session_hash(client)
    login(client)
    assert session_hash(client) != first
    assert session_row(repository, first) is None, "a new login does not leave the old session alive"


def test_login_page_when_signed_in_offers_to_continue(repository):
    add_user(repository)
    client = client_for(repository)
    login(client)
    page = client.get("/login", params={"next": "/stories/9"})
    assert page.status_code == 200
    assert "您已以" in page.text and "editor1" in page.text and 'href="/stories/9"' in page.text


def test_cross_site_login_post_is_refused(repository):
    add_user(repository)
    client = client_for(repository)
    response = client.post(
        "/login", data={"name": "editor1", "password": PASSWORD}, headers={"sec-fetch-site": "cross-site"}
    )
    assert response.status_code == 403
    assert auth.COOKIE_NAME not in client.cookies
    ok = client.post(
        "/login", data={"name": "editor1", "password": PASSWORD}, headers={"sec-fetch-site": "same-origin"}
    )
    assert ok.status_code == 303


# --------------------------------------------------------------------------- denials


def test_no_session_is_401_json_for_the_api_and_a_redirect_for_pages(repository):
    client = client_for(repository)

    api = client.get("/api/x")
    assert api.status_code == 401
    assert api.json() == {"error": "未登录或会话已过期", "code": "auth.required"}

    page = client.get("/")
    assert page.status_code == 303 and page.headers["location"] == "/login"

    deep = client.get("/admin", params={"tab": "1", "q": "数字 贸易"})
    assert deep.status_code == 303
    location = urlsplit(deep.headers["location"])
    assert location.path == "/login" and not location.netloc
    assert parse_qs(location.query)["next"] == ["/admin?tab=1&q=%E6%95%B0%E5%AD%97+%E8%B4%B8%E6%98%93"]

    client.cookies.set(auth.COOKIE_NAME, "forged-token")
    assert client.get("/api/x").status_code == 401
    forged = client.get("/")
    assert forged.status_code == 303
    assert f"{auth.COOKIE_NAME}=" in forged.headers["set-cookie"], "a dead cookie is cleared"


def test_form_post_without_session_returns_to_the_page_it_came_from(repository):
    client = client_for(repository)
    response = client.post("/change", data={"value": "x"}, headers={"referer": "https://testserver/stories/5"})
    assert response.status_code == 303
    assert parse_qs(urlsplit(response.headers["location"]).query)["next"] == ["/stories/5"]
    foreign = client.post("/change", data={"value": "x"}, headers={"referer": "https://evil.com/stories/5"})
    assert foreign.headers["location"] == "/login"


def test_wrong_role_is_403(repository):
    add_user(repository)
    add_user(repository, "boss", role="admin")
    client = client_for(repository)
    login(client)

    api = client.get("/api/admin")
    assert api.status_code == 403
    assert api.json() == {"error": "没有权限", "code": "auth.forbidden"}
    page = client.get("/admin")
    assert page.status_code == 403
    assert "text/html" in page.headers["content-type"] and "没有权限" in page.text
    assert "editor1" in page.text, "the error page keeps the signed-in layout"

    login(client, "boss")
    assert client.get("/admin").json() == {"page": "admin", "user": "boss"}
    assert client.get("/api/x").json() == {"user": "boss", "role": "admin"}, "admins are editors too"


def test_csrf_token_is_required_by_header_or_form_field(repository):
    add_user(repository)
    client = client_for(repository)
    csrf = login(client)

    missing = client.post("/api/change", json={})
    assert missing.status_code == 403
    assert missing.json() == {"error": auth.MSG_CSRF, "code": "auth.csrf"}
    assert client.post("/api/change", headers={"X-CSRF-Token": csrf[:-1] + "x"}).status_code == 403
    assert client.post("/api/change", headers={"X-CSRF-Token": "令牌".encode()}).status_code == 403, (
        "non-ASCII is refused"
    )
    assert client.post("/api/change", headers={"X-CSRF-Token": csrf}).json() == {"changed_by": "editor1"}

    form_missing = client.post("/change", data={"value": "新标题"})
    assert form_missing.status_code == 403
    assert "text/html" in form_missing.headers["content-type"] and "刷新页面" in form_missing.text
    assert client.post("/change", data={"value": "新标题", "csrf_token": "wrong"}).status_code == 403
    ok = client.post("/change", data={"value": "新标题", "csrf_token": csrf})
    assert ok.status_code == 200 and ok.json() == {"value": "新标题", "changed_by": "editor1"}
    multipart = client.post("/change", files={"value": (None, "多部分"), "csrf_token": (None, csrf)})
    assert multipart.json() == {"value": "多部分", "changed_by": "editor1"}

    other = client_for(repository)
    add_user(repository, "editor2")
    login(other, "editor2")
    assert other.post("/api/change", headers={"X-CSRF-Token": csrf}).status_code == 403, "tokens are per session"

    anonymous = client_for(repository)
    assert anonymous.post("/api/change", headers={"X-CSRF-Token": csrf}).status_code == 401


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "//evil.com/path",
        "https://evil.com",
        "http://evil.com/",
        "/\\evil.com",
        "\\\\evil.com",
        "/\t/evil.com",
        "javascript:alert(1)",
        "evil.com",
        "",
        "/login",
    ],
)
def test_next_never_leaves_the_site(repository, target):
    add_user(repository)
    client = client_for(repository)
    response = client.post("/login", data={"name": "editor1", "password": PASSWORD, "next": target})
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert auth.safe_next(target) == "/"
    assert auth.login_url(target) == "/login"


def test_safe_next_keeps_local_paths():
    assert auth.safe_next("/stories/5?tab=1#x") == "/stories/5?tab=1#x"
    assert auth.safe_next("/?state=new&state=shortlisted") == "/?state=new&state=shortlisted"
    assert auth.login_url("/a b?c=d&e") == "/login?next=/a%20b%3Fc%3Dd%26e"


# --------------------------------------------------------------------------- throttling


def test_five_failures_lock_the_account_name(repository):
    add_user(repository)
    client = client_for(repository)
    for _ in range(auth.NAME_FAILURES):
        assert client.post("/login", json={"name": "editor1", "password": "wrong password"}).status_code == 401

    refused = client.post("/login", json={"name": "editor1", "password": PASSWORD})
    assert refused.status_code == 429
    assert refused.json() == {"error": "尝试次数过多，请 15 分钟后再试", "code": "auth.throttled"}
    assert 14 * 60 < int(refused.headers["retry-after"]) <= 15 * 60
    form = client.post("/login", data={"name": "editor1", "password": PASSWORD})
    assert form.status_code == 429 and "尝试次数过多，请 15 分钟后再试" in form.text
    assert auth.COOKIE_NAME not in client.cookies
    assert failures(repository) == auth.NAME_FAILURES, "refused attempts are not checked, nor counted"

    assert client.post("/login", json={"name": "editor2", "password": "wrong password"}).status_code == 401, (
        "other names are not affected"
    )

    with repository.engine.begin() as conn:  # the failures age out of the window
        conn.execute(sa.update(login_attempts).values(at=datetime.now(UTC) - timedelta(minutes=16)))
    login(client)


def test_retry_time_counts_down_with_the_oldest_failures(repository):
    add_user(repository)
    now = datetime.now(UTC)
    for minutes in (12, 11, 3, 2, 1):
        repository.record_login_attempt("editor1", "testclient", False, now - timedelta(minutes=minutes))
    refused = client_for(repository).post("/login", json={"name": "editor1", "password": PASSWORD})
    assert refused.status_code == 429
    assert refused.json()["error"] == "尝试次数过多，请 3 分钟后再试"


def test_success_resets_the_count_for_the_name(repository):
    add_user(repository)
    client = client_for(repository)
    for _ in range(auth.NAME_FAILURES - 1):
        client.post("/login", json={"name": "editor1", "password": "wrong password"})
    login(client)
    client.post("/login", json={"name": "editor1", "password": "wrong password"})
    login(client)


def test_twenty_failures_lock_the_client_address(repository):
    add_user(repository)
    client = client_for(repository)
    for n in range(auth.ADDRESS_FAILURES):
        name = f"guess{n // 4}"  # below the per-name limit
        assert client.post("/login", json={"name": name, "password": "wrong password"}).status_code == 401

    refused = client.post("/login", json={"name": "editor1", "password": PASSWORD})
    assert refused.status_code == 429 and refused.json()["code"] == "auth.throttled"

    # a success from the address does not unlock it (one valid account must not buy more guesses);
    # other addresses are not affected
    repository.record_login_attempt("editor1", "testclient", True, datetime.now(UTC))
    assert client.post("/login", json={"name": "editor1", "password": PASSWORD}).status_code == 429
    assert len(repository.recent_failures(address="192.0.2.7", since=datetime.now(UTC) - timedelta(hours=1))) == 0


def test_old_login_attempts_are_purged(repository):
    client = client_for(repository)
    old = datetime.now(UTC) - timedelta(days=2)
    repository.record_login_attempt("someone", "198.51.100.1", False, old)
    client.get("/api/x")  # no cookie: nothing to look up, nothing purged
    client.post("/login", json={"name": "x", "password": "wrong password"})
    _bookkeeping_done()  # the purge runs in the background: the request does not wait for it
    with repository.engine.connect() as conn:
        names = conn.execute(sa.select(login_attempts.c.name)).scalars().all()
    assert names == ["x"]


# --------------------------------------------------------------------------- session lifetime


def test_expired_session_is_refused_and_purged(repository):
    add_user(repository)
    client = client_for(repository)
    login(client)
    # the sign-in was the app's first request, so it queued the purge in the background: let it finish first, or it
    # may run after the next line and purge the session this test is about to expire (seen once in CI)
    _bookkeeping_done()
    token_hash = session_hash(client)
    set_session(repository, token_hash, expires_at=datetime.now(UTC) - timedelta(seconds=1))

    assert client.get("/api/x").status_code == 401
    assert client.get("/").status_code == 303
    assert session_row(repository, token_hash) is not None, "purged at most every few minutes"

    client.app.state.nh_auth_housekeeping = None  # the next request is due for housekeeping
    client.cookies.set(auth.COOKIE_NAME, "anything")
    client.get("/api/x")
    _bookkeeping_done()  # done in the background: the request does not wait for the write lock
    assert session_row(repository, token_hash) is None


def _bookkeeping_done() -> None:
    """Wait for the background writes the requests so far queued (one worker, first in first out)."""
    auth._BOOKKEEPING.submit(lambda: None).result(timeout=10)


def test_expiry_slides_but_is_written_at_most_once_a_minute(repository):
    add_user(repository)
    client = client_for(repository, session_hours=2)
    login(client)
    token_hash = session_hash(client)
    row = session_row(repository, token_hash)
    assert row["expires_at"] - row["last_seen_at"] == timedelta(hours=2)

    assert client.get("/api/x").status_code == 200
    assert session_row(repository, token_hash) == row, "no write within a minute of the last one"

    now = datetime.now(UTC)
    set_session(repository, token_hash, last_seen_at=now - timedelta(minutes=5), expires_at=now + timedelta(minutes=1))
    assert client.get("/api/x").status_code == 200
    _bookkeeping_done()
    slid = session_row(repository, token_hash)
    assert slid["last_seen_at"] >= now
    assert timedelta(hours=2) - timedelta(seconds=5) < slid["expires_at"] - now <= timedelta(hours=2, seconds=5)


def test_disabled_user_is_locked_out_at_once(repository):
    add_user(repository)
    client = client_for(repository)
    login(client)
    token_hash = session_hash(client)

    with repository.engine.begin() as conn:  # even with the session row still there
        conn.execute(sa.update(users).where(users.c.name == "editor1").values(disabled=True))
    assert client.get("/api/x").status_code == 401
    assert session_row(repository, token_hash) is not None

    refused = client.post("/login", json={"name": "editor1", "password": PASSWORD})
    assert refused.status_code == 403 and refused.json()["error"] == "该账号已停用，请联系管理员"
    assert client.post("/login", json={"name": "editor1", "password": "wrong password"}).json()["error"] == BAD_LOGIN

    assert repository.set_user_disabled("editor1", False)
    login(client)
    token_hash = session_hash(client)
    assert repository.set_user_disabled("editor1", True)
    assert session_row(repository, token_hash) is None, "disabling ends the sessions"
    assert client.get("/api/x").status_code == 401


def test_password_hashed_with_old_parameters_is_rehashed_at_login(repository):
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    user_id = repository.add_user("old", weak.hash(PASSWORD), "editor", datetime.now(UTC))
    assert accounts.HASHER.check_needs_rehash(repository.get_user(user_id).password_hash)

    client = client_for(repository)
    login(client, "old")
    renewed = repository.get_user(user_id).password_hash
    assert not accounts.HASHER.check_needs_rehash(renewed)
    assert accounts.HASHER.verify(renewed, PASSWORD)
    assert client.get("/api/x").status_code == 200, "a rehash keeps the new session"
    login(client, "old")
    assert repository.get_user(user_id).password_hash == renewed, "current parameters are not rehashed again"


def test_password_and_name_rules():
    with pytest.raises(ValueError, match=r"至少需要 8 个字符.*at least 8 characters"):
        auth.hash_password("1234567")
    assert accounts.HASHER.verify(auth.hash_password("12345678"), "12345678")
    assert auth.password_problem("x" * 1025) is not None
    assert auth.name_problem("") is not None
    assert auth.name_problem("a b") is not None
    assert auth.name_problem("x" * 65) is not None
    assert auth.name_problem("张编辑") is None
    assert auth.normalize_name(" Cafe\u0301 ") == "Café"
    record = UserRecord(1, "a", "editor", False, datetime.now(UTC), None, "$argon2id$secret")
    assert "$argon2id$secret" not in repr(record), "hashes stay out of logs"


# --------------------------------------------------------------------------- the real app, both databases


def test_create_app_wires_auth(repository):
    add_user(repository)
    app = create_app(
        database_ok=lambda: True,
        scheduler_ok=lambda: True,
        sources_health=lambda: [],
        repository=repository,
        stories=_stories(),
    )
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    assert client.get("/login").status_code == 200
    assert client.get("/").status_code == 303
    assert client.get("/healthz").status_code == 200, "health stays public"
    response = client.post("/login", data={"name": "editor1", "password": PASSWORD, "next": "/"})
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert client.get("/login").status_code == 200
    assert "您已以" in client.get("/login").text


def test_login_flow_on_each_database(any_repository):
    add_user(any_repository)
    client = client_for(any_repository)
    csrf = login(client)
    assert client.post("/api/change", headers={"X-CSRF-Token": csrf}).json() == {"changed_by": "editor1"}
    assert client.post("/api/change", headers={"X-CSRF-Token": "nope"}).status_code == 403
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert client.get("/api/x").status_code == 401
    too_long = client.post("/login", json={"name": "名" * 100, "password": "wrong password"})
    assert too_long.status_code == 401, "names wider than the column are just wrong, on PostgreSQL too"
    for _ in range(auth.NAME_FAILURES):
        client.post("/login", json={"name": "editor1", "password": "wrong password"})
    assert client.post("/login", json={"name": "editor1", "password": PASSWORD}).status_code == 429


def test_user_queries_on_each_database(any_repository):
    repo = any_repository
    now = datetime.now(UTC)
    first = repo.add_user("李编辑", "hash-1", "editor", now)
    second = repo.add_user("admin", "hash-2", "admin", now)
    with pytest.raises(StorageError) as conflict:
        repo.add_user("李编辑", "hash-3", "admin", now)
    assert conflict.value.code == "storage.conflict"

    assert [u.name for u in repo.list_users()] == sorted(["李编辑", "admin"])
    assert repo.get_user_by_name("李编辑").id == first
    assert repo.get_user(second).role == "admin"
    assert repo.get_user_by_name("nobody") is None and repo.get_user(999_999) is None
    assert repo.set_user_disabled("nobody", True) is False

    repo.create_session("a" * 64, first, "csrf-a", now, now + timedelta(hours=1))
    repo.create_session("b" * 64, first, "csrf-b", now, now - timedelta(seconds=1))
    live = repo.session_user("a" * 64, now)
    assert live is not None and (live.user_id, live.name, live.role, live.csrf_token) == (
        first,
        "李编辑",
        "editor",
        "csrf-a",
    )
    assert live.expires_at == now + timedelta(hours=1)
    assert repo.session_user("b" * 64, now) is None, "expired"
    assert repo.get_user(first).last_login_at is not None
    repo.touch_session("a" * 64, now + timedelta(minutes=30), now + timedelta(hours=2))
    assert repo.session_user("a" * 64, now + timedelta(hours=1, minutes=30)) is not None
    assert repo.purge_sessions(now) == 1
    repo.set_password_hash(first, "hash-new")
    assert repo.get_user(first).password_hash == "hash-new" and repo.session_user("a" * 64, now) is not None
    repo.set_password_hash(first, "hash-newer", end_sessions=True)
    assert repo.session_user("a" * 64, now) is None
    repo.create_session("c" * 64, first, "csrf-c", now, now + timedelta(hours=1))
    repo.delete_session("c" * 64)
    assert repo.session_user("c" * 64, now) is None

    since = now - timedelta(minutes=15)
    repo.record_login_attempt("李编辑", "203.0.113.9", False, now - timedelta(minutes=20))
    repo.record_login_attempt("李编辑", "203.0.113.9", False, now - timedelta(minutes=10))
    repo.record_login_attempt("李编辑", "203.0.113.9", True, now - timedelta(minutes=5))
    repo.record_login_attempt("李编辑", "203.0.113.9", False, now - timedelta(minutes=1))
    assert len(repo.recent_failures(name="李编辑", since=since)) == 1, "only failures after the last success"
    assert len(repo.recent_failures(address="203.0.113.9", since=since)) == 2
    assert repo.recent_failures(name="nobody", since=since) == []
    with pytest.raises(ValueError, match="exactly one"):
        repo.recent_failures(since=since)
    assert repo.purge_login_attempts(since) == 1


# --------------------------------------------------------------------------- the users CLI


def users_cli(tmp_path, *args: str, stdin: str | None = "") -> subprocess.CompletedProcess[str]:
    """``news-harvester users …`` as a script runs it: password on stdin (never a terminal here)."""
    return run_cli(tmp_path, "users", *args, input=stdin)


def test_users_cli(tmp_path, settings):
    added = users_cli(tmp_path, "add", "张编辑", stdin="s3cret password\n")
    assert added.returncode == 0, added.stderr
    assert "张编辑" in added.stdout
    admin = users_cli(tmp_path, "add", "boss", "--role", "admin", stdin="another secret\r\n")
    assert admin.returncode == 0, admin.stderr

    duplicate = users_cli(tmp_path, "add", "张编辑", stdin="whatever123\n")
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr and "storage.conflict" in duplicate.stderr
    short = users_cli(tmp_path, "add", "newbie", stdin="short\n")
    assert short.returncode == 2 and "至少需要 8 个字符" in short.stderr and "at least 8" in short.stderr
    empty = users_cli(tmp_path, "add", "newbie", stdin="")
    assert empty.returncode == 2 and "no password on stdin" in empty.stderr
    bad_name = users_cli(tmp_path, "add", "bad name", stdin="long enough 1\n")
    assert bad_name.returncode == 2 and "空白" in bad_name.stderr
    assert users_cli(tmp_path, "add", "x", "--role", "root", stdin="long enough 1\n").returncode == 2
    assert cli_users.ROLES == auth.ROLES

    listed = users_cli(tmp_path, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["role"], r["disabled"]) for r in rows] == [
        ("boss", "admin", False),
        ("张编辑", "editor", False),
    ]
    assert rows[0]["created_at"].endswith("+00:00") and rows[0]["last_login_at"] is None
    assert set(rows[0]) == {"name", "role", "disabled", "created_at", "last_login_at"}
    table = users_cli(tmp_path, "list")
    header = table.stdout.splitlines()[0].split()
    assert header == ["name", "role", "status", "created", "(UTC+8)", "last", "login", "(UTC+8)"]
    created = datetime.fromisoformat(rows[0]["created_at"]).astimezone(timezone(timedelta(hours=8)))
    assert created.strftime("%Y-%m-%d %H:%M") in table.stdout, "Beijing time to the minute"

    from news_harvester.wiring import open_repository

    repository = open_repository(settings)
    try:
        boss = repository.get_user_by_name("boss")
        assert accounts.HASHER.verify(boss.password_hash, "another secret"), "only the line break is dropped"
        client = client_for(repository)
        login(client, "张编辑", "s3cret password")

        assert users_cli(tmp_path, "disable", "张编辑").returncode == 0
        assert client.get("/api/x").status_code == 401
        assert client.post("/login", json={"name": "张编辑", "password": "s3cret password"}).status_code == 403
        assert users_cli(tmp_path, "enable", "张编辑").returncode == 0
        login(client, "张编辑", "s3cret password")
        after = json.loads(users_cli(tmp_path, "list", "--json").stdout)[1]
        assert after["disabled"] is False and after["last_login_at"] is not None

        changed = users_cli(tmp_path, "passwd", "张编辑", stdin="brand new password\n")
        assert changed.returncode == 0, changed.stderr
        assert client.get("/api/x").status_code == 401, "a new password signs the user out"
        assert client.post("/login", json={"name": "张编辑", "password": "s3cret password"}).status_code == 401
        login(client, "张编辑", "brand new password")
    finally:
        repository.engine.dispose()

    unknown = users_cli(tmp_path, "disable", "nobody")
    assert unknown.returncode == 1 and "unknown user" in unknown.stderr
    assert users_cli(tmp_path, "passwd", "nobody", stdin="long enough 1\n").returncode == 1


def test_the_product_hashes_with_rfc_9106_low_memory_parameters():
    """conftest swaps in a cheap hasher for speed; what the product ships is checked here."""
    from argon2 import PasswordHasher, extract_parameters, profiles

    assert accounts.PARAMETERS == profiles.RFC_9106_LOW_MEMORY
    made = extract_parameters(PasswordHasher.from_parameters(accounts.PARAMETERS).hash(PASSWORD))
    assert (made.memory_cost, made.time_cost, made.parallelism) == (65536, 3, 4)
