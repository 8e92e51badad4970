"""Sessions through the real HTTP endpoints: fixation (no cookie chosen before sign-in is ever a session; sign-in
always issues a new id and ends the one the browser had), logout invalidating the server-side session (the old
cookie, replayed, opens nothing), the cookie's flags, and login throttling (5 failures per name, 20 per client
address, within 15 minutes: 429 with Retry-After, even for the right password)."""

from __future__ import annotations

import hashlib

import pytest
from security_support import OTHER_EDITOR, PASSWORD, USERS, Site, build_site, client, sign_in
from sqlalchemy import select

from news_harvester.store.schema import web_sessions

COOKIE = "nh_session"


@pytest.fixture
def site(settings, repository) -> Site:
    return build_site(settings, repository)


def stored_hashes(site: Site) -> set[str]:
    with site.repository.engine.connect() as conn:
        return {r[0] for r in conn.execute(select(web_sessions.c.id))}


def session_cookie(response) -> str:
    header = response.headers.get("set-cookie", "")
    assert header.startswith(f"{COOKIE}="), header
    return header.split(";", 1)[0].split("=", 1)[1]


def test_a_cookie_chosen_before_sign_in_is_never_the_session(site):
    planted = "attacker-chosen-session-id-0123456789abcdef"
    browser = client(site.app)
    browser.cookies.set(COOKIE, planted)
    assert browser.get("/api/status").status_code == 401  # unknown ids open nothing
    response = browser.post("/login", data={"name": USERS["editor"], "password": PASSWORD})
    assert response.status_code == 303
    issued = session_cookie(response)
    assert issued != planted and len(issued) >= 40
    assert hashlib.sha256(planted.encode()).hexdigest() not in stored_hashes(site)
    # the attacker, holding the planted value, is still nobody
    attacker = client(site.app)
    attacker.cookies.set(COOKIE, planted)
    assert attacker.get("/api/status").status_code == 401
    assert attacker.get("/", follow_redirects=False).headers["location"].startswith("/login")
    # the browser is signed in with the issued id
    browser.cookies.set(COOKIE, issued)
    assert browser.get("/api/status").status_code == 200


def test_sign_in_replaces_the_session_the_browser_had(site):
    browser, _token = sign_in(site.app, USERS["editor"])
    first = browser.cookies[COOKIE]
    response = browser.post("/login", json={"name": OTHER_EDITOR, "password": PASSWORD})
    assert response.status_code == 200
    second = session_cookie(response)
    assert second != first
    assert hashlib.sha256(first.encode()).hexdigest() not in stored_hashes(site)
    replay = client(site.app)
    replay.cookies.set(COOKIE, first)
    assert replay.get("/api/status").status_code == 401


def test_logout_ends_the_session_on_the_server(site):
    browser, token = sign_in(site.app, USERS["editor"])
    cookie = browser.cookies[COOKIE]
    assert hashlib.sha256(cookie.encode()).hexdigest() in stored_hashes(site)
    response = browser.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert f'{COOKIE}=""' in response.headers["set-cookie"] and "Max-Age=0" in response.headers["set-cookie"]
    assert hashlib.sha256(cookie.encode()).hexdigest() not in stored_hashes(site)
    replay = client(site.app)  # a copy of the cookie taken before the logout
    replay.cookies.set(COOKIE, cookie)
    assert replay.get("/api/queue").status_code == 401
    assert replay.get("/").headers["location"].startswith("/login")
    action = replay.post(
        f"/api/stories/{site.story_ids[0]}/actions", json={"action": "shortlist"}, headers={"X-CSRF-Token": token}
    )
    assert action.status_code == 401
    # the JSON flavour of logout too
    api, api_token = sign_in(site.app, USERS["admin"])
    api_cookie = api.cookies[COOKIE]
    assert api.post("/logout", headers={"X-CSRF-Token": api_token, "Accept": "application/json"}).json() == {"ok": True}
    replay.cookies.set(COOKIE, api_cookie)
    assert replay.get("/api/status").status_code == 401


def test_the_session_cookie_is_hardened(site):
    for https in (False, True):
        response = client(site.app, https=https).post("/login", json={"name": USERS["editor"], "password": PASSWORD})
        flags = [part.strip().lower() for part in response.headers["set-cookie"].split(";")]
        assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
        assert ("secure" in flags) == https
        assert not any(f.startswith(("max-age", "expires", "domain")) for f in flags)  # a browser-session cookie


def test_a_session_id_from_another_form_opens_nothing(site):
    """Oversized, empty and hash-shaped cookies (the database holds SHA-256 hashes) are nobody."""
    browser, _token = sign_in(site.app, USERS["editor"])
    stored = next(iter(stored_hashes(site)))
    for value in ("", "x" * 5000, stored, browser.cookies[COOKIE] + "x"):
        replay = client(site.app)
        replay.cookies.set(COOKIE, value)
        assert replay.get("/api/status").status_code == 401, value[:20]


def test_five_failures_lock_the_name_even_for_the_right_password(site):
    browser = client(site.app)
    for _ in range(5):
        wrong = browser.post("/login", data={"name": USERS["editor"], "password": "wrong password 1"})
        assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    locked = browser.post("/login", data={"name": USERS["editor"], "password": PASSWORD})
    assert locked.status_code == 429 and "尝试次数过多" in locked.text
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    assert "set-cookie" not in locked.headers
    api = browser.post("/login", json={"name": USERS["editor"], "password": PASSWORD})
    assert api.status_code == 429 and api.json()["code"] == "auth.throttled"
    # another account from the same address is not locked by it
    assert browser.post("/login", json={"name": USERS["admin"], "password": PASSWORD}).status_code == 200
    # the name is compared after normalisation: spaces around it do not reset the count
    assert browser.post("/login", json={"name": f"  {USERS['editor']} ", "password": PASSWORD}).status_code == 429


def test_twenty_failures_lock_the_address(site):
    browser = client(site.app)
    for k in range(20):
        wrong = browser.post("/login", json={"name": f"nobody{k}", "password": "wrong password 1"})
        assert wrong.status_code == 401
    locked = browser.post("/login", json={"name": USERS["admin"], "password": PASSWORD})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
