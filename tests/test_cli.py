"""The ``news-harvester`` command as users and scripts call it."""

from __future__ import annotations

import json

from pytest_httpserver import HTTPServer

import feeds
from procs import run_cli
from yaml_writer import dump


def _sources(tmp_path, server: HTTPServer, *names: str) -> None:
    dump({"sources": [{"id": n, "name": "商务部网站", "kind": "feed", "url": server.url_for(f"/{n}.xml"),
                       "schedule": "30m"} for n in names]}, tmp_path / "sources.yaml")


def test_harvest_once_prints_table_and_articles_list_json_shape(tmp_path, httpserver: HTTPServer):
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/good.xml").respond_with_data(feeds.rss(feeds.items(base, 4)),
                                                             content_type="application/rss+xml")
    httpserver.expect_request("/bad.xml").respond_with_data("<html><body>登录</body></html>", content_type="text/html")
    _sources(tmp_path, httpserver, "good", "bad")

    result = run_cli(tmp_path, "harvest", "--once")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["source", "status", "seen", "new", "time", "error"]
    good = next(line for line in lines if line.startswith("good"))
    assert good.split()[:4] == ["good", "ok", "4", "4"]
    bad = next(line for line in lines if line.startswith("bad"))
    assert "error" in bad and "parse.not_a_feed" in bad

    listed = run_cli(tmp_path, "articles", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert len(rows) == 4
    assert {"url", "title", "source", "published_at", "attribution"} <= set(rows[0])
    assert rows[0]["source"] == "good" and rows[0]["attribution"] == "商务部网站"
    assert rows[0]["published_at"].endswith("+00:00")

    only = run_cli(tmp_path, "articles", "list", "--json", "--source", "bad")
    assert json.loads(only.stdout) == []

    health = run_cli(tmp_path, "sources", "list", "--json")
    by_id = {row["id"]: row for row in json.loads(health.stdout)}
    assert by_id["good"]["health"] == "healthy"
    assert by_id["bad"]["health"] == "degraded"
    assert by_id["bad"]["last_error_code"] == "parse.not_a_feed"
    table = run_cli(tmp_path, "sources", "list")
    assert "parse.not_a_feed" in table.stdout and "degraded" in table.stdout


def test_harvest_json_and_single_source(tmp_path, httpserver: HTTPServer):
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/a.xml").respond_with_data(feeds.rss(feeds.items(base, 2)), content_type="text/xml")
    _sources(tmp_path, httpserver, "a", "b")
    result = run_cli(tmp_path, "harvest", "--once", "--source", "a", "--json")
    assert result.returncode == 0, result.stderr
    [row] = json.loads(result.stdout)
    assert (row["source"], row["status"], row["items_new"]) == ("a", "ok", 2)


def test_every_source_failing_exits_non_zero(tmp_path, httpserver: HTTPServer):
    httpserver.expect_request("/x.xml").respond_with_data("", status=404)
    _sources(tmp_path, httpserver, "x")
    result = run_cli(tmp_path, "harvest", "--once", NEWS_HARVESTER_RETRIES="0")
    assert result.returncode == 1
    assert "fetch.http_status" in result.stdout


def test_unknown_source_id_is_one_clear_line(tmp_path, httpserver: HTTPServer):
    _sources(tmp_path, httpserver, "a")
    result = run_cli(tmp_path, "harvest", "--once", "--source", "nope")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: unknown source id 'nope' (see `news-harvester sources list`)"


def test_sources_check_reports_file_line_source_field_and_hint(tmp_path):
    (tmp_path / "sources.yaml").write_text(
        "sources:\n"
        "  - id: mofcom\n    name: 商务部网站\n    kind: html\n    url: https://www.mofcom.gov.cn/\n"
        "  - id: xinhua\n    name: 新华网\n    kind: feed\n    url: https://www.news.cn/\n    schedul: 2h\n",
        encoding="utf-8",
    )
    result = run_cli(tmp_path, "sources", "check")
    assert result.returncode == 2
    assert f"{tmp_path / 'sources.yaml'}:6" in result.stderr
    assert "source 'xinhua'" in result.stderr
    assert "field schedul: unknown field (did you mean 'schedule'?)" in result.stderr


def test_sources_check_ok_and_missing_file(tmp_path):
    missing = run_cli(tmp_path, "sources", "check")
    assert missing.returncode == 2
    assert "sources file not found" in missing.stderr and "NEWS_HARVESTER_SOURCES" in missing.stderr
    dump({"sources": [{"id": "a", "name": "A", "kind": "feed", "url": "https://example.org/feed"}]},
         tmp_path / "sources.yaml")
    ok = run_cli(tmp_path, "sources", "check")
    assert ok.returncode == 0
    assert "1 sources valid (1 enabled)" in ok.stdout


def test_db_upgrade_and_bad_setting(tmp_path):
    ok = run_cli(tmp_path, "db", "upgrade")
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "data" / "news_harvester.db").exists()
    bad = run_cli(tmp_path, "db", "upgrade", NEWS_HARVESTER_CONCURRENCY="lots")
    assert bad.returncode == 2
    assert "concurrency = 'lots'" in bad.stderr and "NEWS_HARVESTER_CONCURRENCY" in bad.stderr


def test_cli_flag_beats_environment(tmp_path):
    other = tmp_path / "elsewhere"
    result = run_cli(tmp_path, "--data-dir", str(other), "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert (other / "news_harvester.db").exists()
    assert not (tmp_path / "data" / "news_harvester.db").exists()


def test_json_logs_have_fixed_keys(tmp_path, httpserver: HTTPServer):
    httpserver.expect_request("/gone.xml").respond_with_data("", status=404)
    _sources(tmp_path, httpserver, "gone")
    result = run_cli(tmp_path, "--log-format", "json", "--log-level", "INFO", "harvest", "--once",
                     NEWS_HARVESTER_RETRIES="0")
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    harvest = [r for r in records if r["stage"] == "harvest"]
    assert harvest, result.stderr
    for key in ("time", "level", "logger", "message", "source_id", "url", "stage", "code", "duration_ms"):
        assert key in harvest[0]
    assert harvest[0]["source_id"] == "gone" and harvest[0]["code"] == "fetch.http_status"
    assert isinstance(harvest[0]["duration_ms"], int)
