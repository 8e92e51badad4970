"""The daemon as a real subprocess: schedule, live reload, health endpoints, graceful stop."""

from __future__ import annotations

import json
import signal
import socket
import time
import urllib.request

import httpx
from pytest_httpserver import HTTPServer

import feeds
from procs import db_rows, drain, popen_cli, run_cli, wait_until
from yaml_writer import dump


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return 0, {}


def _feed_source(server: HTTPServer, name: str) -> dict:
    return {"id": name, "name": "商务部网站", "kind": "feed", "url": server.url_for(f"/{name}.xml"), "schedule": "1h"}


def test_daemon_harvests_reloads_and_stops_gracefully(tmp_path, httpserver: HTTPServer):
    base = httpserver.url_for("").rstrip("/")
    for name in ("one", "two"):
        httpserver.expect_request(f"/{name}.xml").respond_with_data(
            feeds.rss(feeds.items(base, 3, prefix=name)), content_type="application/rss+xml")
    sources = tmp_path / "sources.yaml"
    dump({"sources": [_feed_source(httpserver, "one")]}, sources)
    db = tmp_path / "data" / "news_harvester.db"
    port = _free_port()
    added = run_cli(tmp_path, "users", "add", "ops", "--role", "admin", input="ops-password-1\n", timeout=60)
    assert added.returncode == 0, added.stderr
    proc = popen_cli(tmp_path, "run", "--bind", f"127.0.0.1:{port}", NEWS_HARVESTER_START_STAGGER="0",
                     NEWS_HARVESTER_RELOAD_INTERVAL="0.3", NEWS_HARVESTER_LOG_LEVEL="INFO")
    output = drain(proc)
    try:
        assert wait_until(lambda: _get(f"http://127.0.0.1:{port}/healthz")[0] == 200, 20), "".join(output)
        status, ready = _get(f"http://127.0.0.1:{port}/readyz")
        assert status == 200 and ready["checks"] == {"database": True, "scheduler": True}
        assert wait_until(lambda: db.exists() and _articles(db) == 3, 20), "".join(output)

        # A bad edit is rejected and logged; the running configuration stays.
        sources.write_text("sources:\n  - id: one\n    kind: nonsense\n", encoding="utf-8")
        assert wait_until(lambda: any("edit rejected" in line for line in output), 10), "".join(output)
        log_text = "".join(output)
        assert "field kind = 'nonsense'" in log_text and "hint: use one of: feed, html, json" in log_text

        # A valid edit adding a source is picked up without restart.
        dump({"sources": [_feed_source(httpserver, "one"), _feed_source(httpserver, "two")]}, sources)
        assert wait_until(lambda: _articles(db) == 6, 20), "".join(output)
        assert _get(f"http://127.0.0.1:{port}/api/sources")[0] == 401  # source health is for signed-in users
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            signed_in = client.post("/login", json={"name": "ops", "password": "ops-password-1"})
            assert signed_in.status_code == 200
            listed = client.get("/api/sources").json()
            assert [s["id"] for s in listed] == ["one", "two"]
            assert {s["health"] for s in listed} == {"healthy"}
            # The web app runs on its own thread and loop; its run-now button starts a run on the scheduler's.
            runs_of_one = db_rows(db, "SELECT count(*) FROM fetch_runs WHERE source_id='one'")[0][0]
            run = client.post("/admin/sources/one/run", data={"csrf_token": signed_in.json()["csrf_token"]})
            assert run.status_code == 303 and "kind=error" not in run.headers["location"]
            assert wait_until(
                lambda: db_rows(db, "SELECT count(*) FROM fetch_runs WHERE source_id='one' AND outcome!='running'")
                [0][0] == runs_of_one + 1, 10), "".join(output)

        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0, "".join(output)
        assert time.monotonic() - started < 10
    finally:
        if proc.poll() is None:
            proc.kill()
    assert db_rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert db_rows(db, "SELECT count(*) FROM fetch_runs WHERE outcome='running'") == [(0,)]
    assert any("stopped cleanly" in line for line in output)


def test_sigterm_during_slow_harvest_stops_within_10s(tmp_path):
    from procs import slow_feed_server

    db = tmp_path / "data" / "news_harvester.db"
    with slow_feed_server(20, 5, delay=3.0) as server:
        dump({"sources": [{"id": f"s{k}", "name": "测试", "kind": "feed", "url": server.url_for(f"/f{k}.xml"),
                           "schedule": "1h"} for k in range(20)]}, tmp_path / "sources.yaml")
        proc = popen_cli(tmp_path, "run", "--no-web", NEWS_HARVESTER_START_STAGGER="0")
        output = drain(proc)
        try:
            assert wait_until(lambda: db.exists() and _running(db) > 0, 20), "".join(output)
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0, "".join(output)
            assert time.monotonic() - started < 10
        finally:
            if proc.poll() is None:
                proc.kill()
    assert db_rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert db_rows(db, "SELECT count(*) FROM fetch_runs WHERE outcome='running'") == [(0,)]
    assert db_rows(db, "SELECT count(*) FROM fetch_runs WHERE outcome='interrupted'")[0][0] > 0


def _articles(db) -> int:
    try:
        return int(db_rows(db, "SELECT count(*) FROM articles")[0][0])
    except Exception:
        return -1


def _running(db) -> int:
    try:
        return int(db_rows(db, "SELECT count(*) FROM fetch_runs WHERE outcome='running'")[0][0])
    except Exception:
        return 0


def test_sighup_reloads_sources_at_once(tmp_path, httpserver: HTTPServer):
    base = httpserver.url_for("").rstrip("/")
    for name in ("one", "two"):
        httpserver.expect_request(f"/{name}.xml").respond_with_data(
            feeds.rss(feeds.items(base, 2, prefix=name)), content_type="application/rss+xml")
    sources = tmp_path / "sources.yaml"
    dump({"sources": [_feed_source(httpserver, "one")]}, sources)
    db = tmp_path / "data" / "news_harvester.db"
    proc = popen_cli(tmp_path, "run", "--no-web", NEWS_HARVESTER_START_STAGGER="0",
                     NEWS_HARVESTER_RELOAD_INTERVAL="3600", NEWS_HARVESTER_LOG_LEVEL="INFO")
    output = drain(proc)
    try:
        assert wait_until(lambda: db.exists() and _articles(db) == 2, 20), "".join(output)
        dump({"sources": [_feed_source(httpserver, "one"), _feed_source(httpserver, "two")]}, sources)
        time.sleep(0.5)
        assert _articles(db) == 2, "without SIGHUP the hour-long reload interval has not come yet"
        proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: _articles(db) == 4, 20), "".join(output)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0, "".join(output)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_taken_port_is_one_clear_error(tmp_path):
    from procs import run_cli

    dump({"sources": []}, tmp_path / "sources.yaml")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(tmp_path, "run", "--bind", f"127.0.0.1:{port}", timeout=30)
    assert result.returncode == 2
    assert f"error: cannot listen on '127.0.0.1:{port}'" in result.stderr
    assert "Traceback" not in result.stderr
