"""SQL injection (and other hostile input) through every filter and search field: the queue page and
``/api/queue`` (q, topic, source, state, date_from, date_to, page, per_page), the sign-in name, path
parameters of stories, issues and sources, and JSON bodies. On a real SQLite file, then on PostgreSQL when
NEWS_HARVESTER_TEST_PG is set (``any_settings``). Every answer is 200 or 422 (or 303 for a form, 401 for a
sign-in) with the normal or an empty result, never a 500, and the database is intact afterwards."""

from __future__ import annotations

from typing import Any

import pytest
from security_support import PASSWORD, USERS, Site, build_site, client, sign_in
from sqlalchemy import delete, func, inspect, select

from news_harvester.store.schema import articles, audit_log, candidates, login_attempts, users

INJECTIONS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    '" OR ""="',
    "'; DROP TABLE articles; --",
    "1; DELETE FROM candidates",
    "' UNION SELECT name, password_hash FROM users --",
    "' || (SELECT password_hash FROM users LIMIT 1) || '",
    "1)) OR 1=1--",
    "admin'--",
    "%' OR 1=1 --",
    "\\' OR 1=1 #",
    "商务部' OR '1'='1",
    "%",
    "_",
    "\\",
    "*",
    "%%",
    "__",
    "'",
    '"',
    '"商务部"',
    "商务部 OR 人工智能",
    "NEAR(商务部 人工智能)",
    "title:商务部",
    "a AND b OR NOT c",
    "^商务部*",
    "\x00",
    "商务部\x00' OR 1=1",
    "\x1b[31m",
    "%00",
    "$1",
    "?",
    ":name",
    "🙂' OR 1=1--",
    "\u202e' OR 1=1",
    "x" * 200,
]
TEXT_FIELDS = ("q", "topic", "source")


@pytest.fixture
def site(any_settings, any_repository) -> Site:
    return build_site(any_settings, any_repository)


def ids(response: Any) -> list[int]:
    return [item["id"] for item in response.json()["items"]]


def intact(site: Site) -> dict[str, Any]:
    with site.repository.engine.connect() as conn:
        return {
            "tables": sorted(inspect(conn).get_table_names()),
            "articles": conn.execute(select(func.count()).select_from(articles)).scalar_one(),
            "candidates": conn.execute(select(func.count()).select_from(candidates)).scalar_one(),
            "users": sorted(conn.execute(select(users.c.name, users.c.password_hash)).all()),
            "audit": conn.execute(select(func.count()).select_from(audit_log)).scalar_one(),
        }


def test_queue_filters_and_search(site):
    editor, _token = sign_in(site.app, USERS["editor"])
    before = intact(site)
    everything = "&".join(f"state={s}" for s in ("new", "shortlisted", "snoozed", "accepted", "rejected", "used"))
    normal = ids(editor.get("/api/queue?" + everything))
    assert len(normal) == 3
    default = ids(editor.get("/api/queue"))
    problems = []
    checked = 0
    for value in INJECTIONS:
        for field in (*TEXT_FIELDS, "state"):
            api = editor.get("/api/queue", params={field: value})
            page = editor.get("/", params={field: value})
            checked += 2
            if api.status_code not in (200, 422) or page.status_code not in (200, 422):
                problems.append(f"{field}={value!r}: API {api.status_code}, page {page.status_code}")
                continue
            if page.status_code == 200 and "候选" not in page.text:
                problems.append(f"{field}={value!r}: the page is not the queue")
            if api.status_code == 422:
                assert api.json()["code"] == "request.invalid" or "error" in api.json(), api.text
                continue
            found = ids(api)
            if field == "state" and found != default:  # unknown states are ignored
                problems.append(f"state={value!r}: {found} instead of {default}")
            if field in TEXT_FIELDS and found:  # no story mentions these strings, no topic/source is called so
                problems.append(f"{field}={value!r} found {found}")
            if "argon2" in api.text or "argon2" in page.text:
                problems.append(f"{field}={value!r} leaked a password hash")
        for field in ("date_from", "date_to"):
            api = editor.get("/api/queue", params={field: value})
            page = editor.get("/", params={field: value})
            checked += 2
            if api.status_code != 422 or page.status_code != 200 or "日期格式" not in page.text:
                problems.append(f"{field}={value!r}: API {api.status_code}, page {page.status_code}")
        for field in ("page", "per_page"):
            api = editor.get("/api/queue", params={field: value})
            checked += 1
            if api.status_code != 422:
                problems.append(f"{field}={value!r}: API {api.status_code}")
    assert problems == []
    assert checked == len(INJECTIONS) * 14
    assert intact(site) == before
    assert ids(editor.get("/api/queue?" + everything)) == normal


EXTREMES = [
    ("date_from", "0001-01-01"),
    ("date_to", "0001-01-01"),
    ("date_from", "9999-12-31"),
    ("date_to", "9999-12-31"),
    ("date_to", "2024-02-30"),
    ("page", "100000"),
    ("page", "99999999999999999999999"),
    ("per_page", "200"),
    ("per_page", "-1"),
    ("q", "x" * 201),
    ("q", "  "),
]


def test_extreme_but_well_formed_values(site):
    editor, _token = sign_in(site.app, USERS["editor"])
    for field, value in EXTREMES:
        api = editor.get("/api/queue", params={field: value})
        page = editor.get("/", params={field: value})
        assert api.status_code in (200, 422), (field, value, api.text)
        assert page.status_code in (200, 422), (field, value, page.text[:300])
        if api.status_code == 422:
            assert set(api.json()) >= {"error", "code"}, api.text  # the API's documented error shape
        elif field == "page":
            assert api.json()["items"] == []


def test_several_values_of_a_field_and_every_field_at_once(site):
    editor, _token = sign_in(site.app, USERS["editor"])
    params = [("state", v) for v in INJECTIONS[:10]] + [(f, INJECTIONS[k]) for k, f in enumerate(TEXT_FIELDS)]
    assert editor.get("/api/queue", params=params).json()["items"] == []
    assert editor.get("/", params=params).status_code == 200


def test_sign_in_name(site):
    """Each value once (argon2 makes every attempt cost a verification), alternating form and JSON and the
    right and an SQL-shaped password; the attempts table is cleared between them so none is throttled."""
    anonymous = client(site.app)
    before = intact(site)
    values = ["\x00", "boss\x00", "boss' --", "' OR role='admin", "x" * 300, *INJECTIONS[:7]]
    for k, value in enumerate(values):
        password = PASSWORD if k % 2 else "' OR '1'='1"
        if k % 2:
            response = anonymous.post("/login", data={"name": value, "password": password})
        else:
            response = anonymous.post("/login", json={"name": value, "password": password})
        assert response.status_code in (400, 401), (value, response.status_code)
        assert "set-cookie" not in response.headers
        with site.repository.engine.begin() as conn:
            conn.execute(delete(login_attempts))
    assert intact(site) == before


def test_path_parameters_and_bodies(site):
    editor, token = sign_in(site.app, USERS["editor"])
    admin, admin_token = sign_in(site.app, USERS["admin"])
    before = intact(site)
    for value in ("1 OR 1=1", "1;DROP TABLE articles", "1'", "-1", "0", "99999999999999999999", "1e3", "%27"):
        for path in (
            f"/stories/{value}",
            f"/api/stories/{value}",
            f"/api/stories/{value}/audit",
            f"/issues/{value}",
            f"/api/issues/{value}",
            f"/articles/{value}/evidence",
            f"/issues/{value}/export.md",
        ):
            response = editor.get(path)
            assert response.status_code in (404, 422) or (response.status_code == 200 and path.endswith("/audit")), (
                path,
                response.status_code,
            )
    for value in ("' OR 1=1 --", "mofcom'; --", "..", "%00", "mofcom%00", "%2e%2e"):
        response = admin.get(f"/admin/sources/{value}/edit")
        assert response.status_code in (303, 404), (value, response.status_code)
    story = site.story_ids[1]
    bad_bodies: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", f"/api/stories/{story}/actions", {"action": "accept' OR 1=1 --"}),
        ("POST", f"/api/stories/{story}/actions", {"action": "snooze", "until": "' OR 1=1"}),
        ("POST", f"/api/stories/{story}/topics", {"add": ["' OR 1=1 --"], "remove": []}),
        ("POST", "/api/bulk", {"ids": ["1 OR 1=1"], "action": "shortlist"}),
        ("POST", "/api/bulk", {"ids": [1], "action": "'; DROP TABLE candidates; --"}),
        ("PATCH", f"/api/stories/{story}", {"version": "1 OR 1=1", "title": "x"}),
    ]
    for method, path, payload in bad_bodies:
        response = editor.request(method, path, json=payload, headers={"X-CSRF-Token": token})
        assert response.status_code == 422, (path, payload, response.status_code, response.text)
    assert intact(site) == before
    # text that looks like SQL is stored and shown as the text it is
    title = "'); DROP TABLE articles; -- 标题"
    version = editor.get(f"/api/stories/{story}").json()["candidate"]["version"]
    saved = editor.patch(
        f"/api/stories/{story}", json={"title": title, "version": version}, headers={"X-CSRF-Token": token}
    )
    assert saved.status_code == 200, saved.text
    assert editor.get(f"/api/stories/{story}").json()["candidate"]["editor_title"] == title
    assert "&#39;); DROP TABLE articles; -- 标题" in editor.get(f"/stories/{story}").text
    assert intact(site)["tables"] == before["tables"]
    bulk = editor.post("/bulk", data={"action": "' OR 1=1", "story": str(story), "csrf_token": token})
    assert bulk.status_code == 303
    assert admin.post("/admin/sources/x' OR 1=1/enable", data={"csrf_token": admin_token}).status_code == 303
