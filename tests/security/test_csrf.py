"""CSRF on every state-changing endpoint, generated from the app's route table: as an admin (allowed
everywhere), each POST/PUT/PATCH/DELETE is refused without the session's token, with a wrong one, with another
user's, and with the right one sent from another site (``Origin`` or ``Sec-Fetch-Site: cross-site``, as a
browser marks a cross-site form post); nothing changes in the database or sources.yaml. The same requests with
the token from this site are accepted (the control that shows the refusals are CSRF's doing). Safe methods
change nothing. Sign-in itself refuses cross-site posts (login CSRF).
"""

from __future__ import annotations

from typing import Any

import pytest
from security_support import (
    OTHER_EDITOR,
    USERS,
    Endpoint,
    Site,
    build_site,
    client,
    endpoints,
    fingerprint,
    sign_in,
)

STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
EVIL = "https://evil.example"


@pytest.fixture
def site(settings, repository) -> Site:
    return build_site(settings, repository)


def guarded(site: Site) -> list[Endpoint]:
    """State-changing endpoints behind a session (sign-in has its own check below); logout last."""
    found = [e for e in endpoints(site.app) if e.method in STATE_CHANGING and e.path != "/login"]
    return sorted(found, key=lambda e: e.path == "/logout")


def body(endpoint: Endpoint, site: Site, *, form_token: str | None = None) -> dict[str, Any]:
    if endpoint.is_api:
        return {"json": {"action": "shortlist", "ids": [site.story_ids[2]], "add": [], "remove": [], "title": "改"}}
    form = {
        "action": "shortlist",
        "story": str(site.story_ids[2]),
        "title": "新标题",
        "text": "id: [unclosed" if endpoint.path == "/admin/sources/save" else "6月11日，测试。",
        "html": "<p>一段</p>",
        "section": "协会动态",
        "direction": "down",
        "reason": "测试",
    }
    if form_token is not None:
        form["csrf_token"] = form_token
    return {"data": form}


def refused_for_csrf(endpoint: Endpoint, response: Any) -> bool:
    if response.status_code != 403:
        return False
    if endpoint.is_api:
        return bool(response.json().get("code") == "auth.csrf")
    return "请求无效" in response.text


def attempts(token: str, other_token: str) -> list[tuple[str, dict[str, str], str | None]]:
    """(name, headers, form token) of every forged variant."""
    return [
        ("no token", {}, None),
        ("wrong token in the header", {"X-CSRF-Token": "x" + token[1:]}, None),
        ("wrong token in the form", {}, token[:-1] + ("A" if token[-1] != "A" else "B")),
        ("empty token", {"X-CSRF-Token": ""}, ""),
        ("another user's token", {"X-CSRF-Token": other_token}, other_token),
        ("right token, foreign Origin", {"X-CSRF-Token": token, "Origin": EVIL}, token),
        ("right token, Origin null", {"X-CSRF-Token": token, "Origin": "null"}, token),
        ("right token, cross-site fetch", {"X-CSRF-Token": token, "Sec-Fetch-Site": "cross-site"}, token),
        ("right token, look-alike Origin", {"X-CSRF-Token": token, "Origin": "http://testserver.evil.example"}, token),
    ]


def test_every_state_changing_endpoint_needs_the_token_from_this_site(site):
    admin, token = sign_in(site.app, USERS["admin"])
    _other, other_token = sign_in(site.app, OTHER_EDITOR)
    before = fingerprint(site)
    table = guarded(site)
    assert len(table) >= 17  # the generator found the app's routes
    problems = []
    checked = 0
    for endpoint in table:
        url = endpoint.url(site.path_params())
        for name, headers, form_token in attempts(token, other_token):
            kwargs = body(endpoint, site, form_token=None if endpoint.is_api else form_token)
            response = admin.request(endpoint.method, url, headers=headers, **kwargs)
            checked += 1
            if not refused_for_csrf(endpoint, response):
                problems.append(f"{endpoint} with {name}: {response.status_code} {response.text[:100]}")
    assert problems == []
    assert checked == len(table) * len(attempts(token, other_token))
    assert fingerprint(site) == before, "a refused request changed something"

    # the control: from this site, with the token, none of them is refused
    for endpoint in table:
        kwargs = body(endpoint, site, form_token=token)
        headers = {"X-CSRF-Token": token, "Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
        response = admin.request(endpoint.method, endpoint.url(site.path_params()), headers=headers, **kwargs)
        assert not refused_for_csrf(endpoint, response), str(endpoint)
        assert response.status_code < 500, (str(endpoint), response.status_code)
    assert fingerprint(site) != before


def test_logout_without_the_token_keeps_the_session(site):
    editor, token = sign_in(site.app, USERS["editor"])
    forged = editor.post("/logout", headers={"Origin": EVIL}, data={"csrf_token": token})
    assert forged.status_code == 403
    assert editor.get("/api/status").status_code == 200
    assert editor.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    assert editor.get("/api/status").status_code == 200


def test_safe_methods_change_nothing(site):
    admin, _token = sign_in(site.app, USERS["admin"])
    before = fingerprint(site)
    params = site.path_params()
    for endpoint in endpoints(site.app):
        if endpoint.method == "GET":
            assert admin.get(endpoint.url(params)).status_code < 500, str(endpoint)
    assert fingerprint(site) == before


@pytest.mark.parametrize(
    "headers",
    [{"Sec-Fetch-Site": "cross-site"}, {"Origin": EVIL}, {"Origin": "null"}],
    ids=["sec-fetch-site", "origin", "origin-null"],
)
def test_sign_in_from_another_site_is_refused(site, headers):
    """Login CSRF: another site must not sign the browser in to an account of the attacker's choosing."""
    anonymous = client(site.app)
    from security_support import PASSWORD

    for kwargs in ({"data": {"name": USERS["editor"], "password": PASSWORD}}, {"json": {"name": USERS["editor"]}}):
        response = anonymous.post("/login", headers=headers, **kwargs)
        assert response.status_code == 403, response.text
        assert "set-cookie" not in response.headers
    ok = anonymous.post(
        "/login", data={"name": USERS["editor"], "password": PASSWORD}, headers={"Origin": "http://testserver"}
    )
    assert ok.status_code == 303 and "nh_session" in ok.headers.get("set-cookie", "")
