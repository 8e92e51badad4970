"""Path traversal and the data directory: export downloads refuse every traversal shape in the format and the
ids (``../``, ``%2e%2e%2f``, double encoding, absolute paths, backslashes, NUL), and no URL of the real daemon
(``news-harvester run --web-only`` on 127.0.0.1, requested with raw HTTP so nothing normalises the path first)
serves the database, sources.yaml, the package's source or templates, or a system file: anonymous or signed in
as an admin."""

from __future__ import annotations

import http.client
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from security_support import USERS, Site, build_site, sign_in

from browser_support import PASSWORD as DAEMON_PASSWORD
from browser_support import Daemon, add_users, web_daemon

SECRETS = (b"SQLite format 3", b"root:x:0:0", b"def create_app", b"{% extends", b"sources:", b"argon2id")
TRAVERSALS = [
    "../../data/news_harvester.db",
    "..%2f..%2fdata%2fnews_harvester.db",
    "%2e%2e%2f%2e%2e%2fdata%2fnews_harvester.db",
    "%252e%252e%252fdata%252fnews_harvester.db",
    "..%5c..%5cdata%5cnews_harvester.db",
    "..\\..\\data\\news_harvester.db",
    "%2fetc%2fpasswd",
    "/etc/passwd",
    "....//....//data/news_harvester.db",
    "md%00.db",
    "md/../../../data/news_harvester.db",
    "..",
    "%2e%2e",
]


def raw_get(base_url: str, path: str, cookie: str | None = None) -> tuple[int, bytes]:
    """GET ``path`` exactly as written (http.client sends it unnormalised)."""
    host, port = base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        if cookie:
            conn.putheader("Cookie", cookie)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture
def site(settings, repository) -> Site:
    return build_site(settings, repository)


def test_export_downloads_refuse_traversal(site):
    editor, _token = sign_in(site.app, USERS["editor"])
    db = site.settings.data_dir / "news_harvester.db"
    assert db.exists()
    checked = 0
    for shape in [*TRAVERSALS, str(db), str(db).replace("/", "%2f"), str(site.settings.sources)]:
        for url in (
            f"/issues/{site.issue_id}/export.{shape}",
            f"/issues/{shape}/export.md",
            f"/issues/{site.issue_id}/{shape}",
            f"/articles/{shape}/evidence",
        ):
            response = editor.get(url)
            checked += 1
            # httpx resolves dot segments itself ("/issues/1/.." is "/issues/"): then it is another page, no file
            refused = response.status_code in (404, 405, 422)
            assert refused or "export" not in response.request.url.path, (url, response.status_code)
            assert not any(secret.decode() in response.text for secret in SECRETS), url
            assert "content-disposition" not in response.headers, url
    assert checked == 4 * (len(TRAVERSALS) + 3)
    # the legitimate download still works, with a fixed file name
    ok = editor.get(f"/issues/{site.issue_id}/export.md")
    assert ok.status_code == 200 and ok.headers["content-disposition"].startswith('attachment; filename="brief-')


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, Path, str]]:
    tmp = tmp_path_factory.mktemp("traversal")
    (tmp / "sources.yaml").write_text("# 信息源\nsources: []\n", encoding="utf-8")
    add_users(tmp, [("boss", "admin")])
    with web_daemon(tmp) as running:
        request = urllib.request.Request(
            running.base_url + "/login",
            data=json.dumps({"name": "boss", "password": DAEMON_PASSWORD}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            cookie = response.headers["Set-Cookie"].split(";", 1)[0]
        yield running, tmp, cookie


def test_the_data_dir_and_database_are_never_served(daemon):
    running, tmp, cookie = daemon
    db = tmp / "data" / "news_harvester.db"
    assert db.exists() and db.read_bytes().startswith(b"SQLite format 3")
    paths = [
        "/data/news_harvester.db",
        "/data/",
        "/data",
        "/news_harvester.db",
        "/sources.yaml",
        "/data/news_harvester.db-wal",
        "/static/../data/news_harvester.db",
        "/static/../../data/news_harvester.db",
        "/static/..%2f..%2fdata%2fnews_harvester.db",
        "/static/%2e%2e/%2e%2e/data/news_harvester.db",
        "/static/%2e%2e%2f%2e%2e%2fdata%2fnews_harvester.db",
        "/static/%252e%252e%252fdata%252fnews_harvester.db",
        "/static/..\\..\\data\\news_harvester.db",
        "/static/..%5c..%5cdata%5cnews_harvester.db",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/static/" + "../" * 12 + "etc/passwd",
        "/static/" + str(db),
        "/static/" + str(db).replace("/", "%2f"),
        "/static/../app.py",
        "/static/..%2fapp.py",
        "/static/../templates/base.html",
        "/static/..%2ftemplates%2fbase.html",
        "/static/app.js%00.db",
        "/static/.",
        "/static/",
        "/static",
        "//data/news_harvester.db",
        "/./data/news_harvester.db",
        "/%2e/data/news_harvester.db",
        "/api/../data/news_harvester.db",
        "/issues/1/export.%2e%2e%2f%2e%2e%2fdata%2fnews_harvester.db",
        "/issues/1/export.md/../../../data/news_harvester.db",
        "/" + str(db),
        str(db),
        str(tmp / "sources.yaml"),
    ]
    served = []
    for path in paths:
        for who in (None, cookie):
            status, body = raw_get(running.base_url, path, who)
            if status == 200 or any(secret in body for secret in SECRETS):
                served.append(f"{path} ({'admin' if who else 'anonymous'}): {status} {body[:60]!r}")
    assert served == []
    # the static files themselves are served, and the admin's session is valid (so the refusals above are
    # not a sign-in problem)
    assert raw_get(running.base_url, "/static/app.css")[0] == 200
    assert raw_get(running.base_url, "/api/status", cookie)[0] == 200
