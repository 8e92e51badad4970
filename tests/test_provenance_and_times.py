"""Issue 21: who reported a story first (首发) is decided by publication time, not by harvest order, and every
time a person reads (CLI tables, source pages, the story page) is Beijing time to the minute, the zone named
in CLI headers; JSON keeps ISO 8601 with the offset. Real SQLite, the real CLI, the real app over ASGI."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from news_harvester.config import load_sources
from news_harvester.stories.assign import StoryService
from news_harvester.stories.first_report import Report, first_report
from news_harvester.web.app import create_app
from passwords import password_hash
from procs import run_cli
from provenance_support import ORIGINAL_AT, ORIGINAL_URL, REPRINT_AT, REPRINT_URL, reprint_then_original


def weights(table: dict[str, float]):
    return lambda source_id: table.get(source_id, 1.0)


def test_first_report_is_the_earliest_stated_time_then_the_weightier_source():
    morning = datetime(2024, 6, 11, 1, 0, tzinfo=UTC)
    evening = datetime(2024, 6, 11, 11, 40, tzinfo=UTC)
    # harvested first (lower id) but published later: the later id is the first report
    assert first_report([Report(1, "xinhua", evening), Report(2, "mofcom", morning)], weights({})) == 2
    # the same stated time: the more authoritative source
    assert first_report([Report(1, "xinhua", morning), Report(2, "mofcom", morning)], weights({"mofcom": 10})) == 2
    assert first_report([Report(1, "xinhua", morning), Report(2, "mofcom", morning)], weights({"xinhua": 10})) == 1
    # a time the page states beats an earlier fetch time standing in for a missing one
    assert first_report([Report(1, "a", None, morning - timedelta(days=1)), Report(2, "b", evening)], weights({})) == 2
    assert first_report([], weights({})) is None


@pytest.fixture
def reprinted_story(tmp_path, settings):
    """The reprint is ingested (harvested) first, the official original published ten hours earlier second."""
    (tmp_path / "sources.yaml").write_text(
        "sources:\n"
        "  - {id: mofcom-policy, name: 商务部网站, kind: feed, url: 'http://127.0.0.1:9/x.xml', weight: 10}\n",
        encoding="utf-8",
    )
    for n, record in enumerate(reprint_then_original()):  # two ingests: the reprint founds the story
        path = tmp_path / f"in{n}.jsonl"
        path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
        done = run_cli(tmp_path, "ingest", str(path), "--json")
        assert done.returncode == 0, done.stderr
    listed = json.loads(run_cli(tmp_path, "stories", "list", "--json").stdout)
    assert len(listed) == 1, "the reprint and the original are one story"
    return tmp_path, listed[0]


def test_cli_names_the_first_report_by_publication_time(reprinted_story):
    home, story = reprinted_story
    members = {m["url"]: m for m in story["members"]}
    layers = {m["url"]: m["layer"] for m in story["members"]}
    assert layers[REPRINT_URL] == "new", "the reprint founded the story (harvest order)"
    shown = json.loads(run_cli(home, "stories", "show", str(story["id"]), "--json").stdout)
    assert shown["first_report_id"] == members[ORIGINAL_URL]["id"]
    text = run_cli(home, "stories", "show", str(story["id"])).stdout
    first_line = next(line for line in text.splitlines() if "[first report" in line)
    assert ORIGINAL_URL in first_line
    assert ORIGINAL_AT.strftime("%Y-%m-%d 09:00") in first_line, "Beijing time to the minute"
    assert any(REPRINT_URL in line and "[reprint" in line for line in text.splitlines())


def test_cli_tables_show_beijing_time_with_the_zone_named_and_json_keeps_the_offset(reprinted_story):
    home, _story = reprinted_story
    for args in (("articles", "list"), ("stories", "list")):
        out = run_cli(home, *args).stdout
        header = out.splitlines()[0]
        assert "published (UTC+8)" in header, (args, header)
        assert ORIGINAL_AT.strftime("%Y-%m-%d 09:00") in out or REPRINT_AT.strftime("%Y-%m-%d 19:40") in out, out
        assert "01:00" not in out, "no UTC clock time (09:00 Beijing is 01:00 UTC)"
    listed = json.loads(run_cli(home, "articles", "list", "--json").stdout)
    stamps = {datetime.fromisoformat(a["published_at"]) for a in listed}
    assert stamps == {ORIGINAL_AT, REPRINT_AT}
    assert all(re.search(r"[+-]\d\d:\d\d$", a["published_at"]) for a in listed), "JSON keeps the offset"
    sources = run_cli(home, "sources", "list").stdout.splitlines()[0]
    assert "last success (UTC+8)" in sources and "next due (UTC+8)" in sources


def test_story_page_labels_the_original_first_and_the_source_page_reads_beijing_time(
    reprinted_story, settings, repository
):
    home, story = reprinted_story
    now = datetime.now(UTC)
    repository.add_user("boss", password_hash("admin-password"), "admin", now)
    last_success = datetime(2026, 12, 4, 13, 7, 10, 264692, tzinfo=UTC)
    app = create_app(
        database_ok=lambda: True,
        scheduler_ok=lambda: True,
        sources_health=lambda: [
            {"id": "mofcom-policy", "name": "商务部网站", "kind": "feed", "url": "http://127.0.0.1:9/x.xml",
             "enabled": True, "schedule": "1h", "health": "healthy", "consecutive_failures": 0,
             "last_success_at": last_success.isoformat(),
             "next_due_at": (last_success + timedelta(hours=1)).isoformat(),
             "last_error_code": None}
        ],
        repository=repository,
        stories=StoryService(window=timedelta(days=90)),
        settings=settings,
        sources=lambda: load_sources(home / "sources.yaml"),
    )  # fmt: skip
    client = TestClient(app, follow_redirects=False)
    assert client.post("/login", json={"name": "boss", "password": "admin-password"}).status_code == 200
    page = client.get(f"/stories/{story['id']}").text
    labels = re.findall(r'<span class="source">([^<]+)</span>.*?data-role="provenance">([^<]+)<', page, re.S)
    assert dict(labels) == {"商务部网站": "首发", "新华网": "转载"}, labels
    assert "同一链接" not in page and ("文本相似" in page or "全文相同" in page or "标题相近" in page)
    sources_page = client.get("/admin/sources").text
    assert "2026-12-04 21:07" in sources_page and "2026-12-04 22:07" in sources_page
    assert "13:07:10" not in sources_page and "+00:00" not in sources_page
