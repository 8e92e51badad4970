"""Alarms that raise themselves and a banner that fits (issue 22 part 3): a source failing since it was added
alarms from its first failure (``never_ok``), most sources failing at once is one ``outage`` alarm, and the queue
banner groups the problems — one line per problem with a count, sources named unambiguously, details folded."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from pytest_httpserver import HTTPServer

import feeds
from conftest import source
from health_support import admin_client
from news_harvester.models import RunFacts
from news_harvester.sources.alarms import (
    CHALLENGE,
    FETCH_ERRORS,
    NEVER_OK,
    OUTAGE,
    OUTAGE_SOURCE,
    Alarm,
    detect,
    detect_outage,
)
from news_harvester.sources.banner import banner_groups, source_labels
from news_harvester.sources.notify import sync_all
from servers import refused_url

NOW = datetime(2024, 6, 20, 12, 0, tzinfo=UTC)


def run(hours_ago: float, outcome: str = "ok", code: str | None = None, new: int = 0) -> RunFacts:
    return RunFacts(NOW - timedelta(hours=hours_ago), outcome, code, 20 if outcome == "ok" else 0, new)


def kinds(found: list[Alarm]) -> list[str]:
    return [a.kind for a in found]


# ---------------------------------------------------------------------- never succeeded


def test_a_source_that_never_succeeded_alarms_from_its_first_failure():
    [alarm] = detect("xinhua-1", "新华网", [run(1, "error", "fetch.refused")], NOW, last_new_item_at=None,
                     never_succeeded=True)  # fmt: skip
    assert alarm.kind == NEVER_OK
    assert alarm.message == "新华网：自添加以来从未抓取成功（连接被拒绝，fetch.refused）"
    assert alarm.detail["count"] == 1 and alarm.detail["codes"] == ["fetch.refused"]
    # the same single failure of a source that used to work is no alarm yet
    assert detect("xinhua-1", "新华网", [run(1, "error", "fetch.refused")], NOW, last_new_item_at=None) == []
    # a success among the runs overrides a state that says it never succeeded
    assert detect("x", "新华网", [run(1, "error", "fetch.refused"), run(2)], NOW, last_new_item_at=None,
                  never_succeeded=True) == []  # fmt: skip


def test_never_ok_replaces_fetch_errors_and_leaves_challenges_to_their_own_alarm():
    three = [run(1, "error", "fetch.dns"), run(2, "error", "fetch.refused"), run(3, "error", "fetch.refused")]
    [alarm] = detect("x", "商务部网站", three, NOW, last_new_item_at=None, never_succeeded=True)
    assert alarm.kind == NEVER_OK
    assert alarm.message == "商务部网站：自添加以来从未抓取成功（域名无法解析，fetch.dns，共失败 3 次）"
    assert kinds(detect("x", "商务部网站", three, NOW, last_new_item_at=None)) == [FETCH_ERRORS]
    forbidden = [RunFacts(NOW - timedelta(hours=1), "error", "fetch.http_status", http_status=403)]
    [alarm] = detect("x", "网信办", forbidden, NOW, last_new_item_at=None, never_succeeded=True)
    assert alarm.message == "网信办：自添加以来从未抓取成功（网站返回 403（禁止访问），fetch.http_status）"
    challenged = [run(1, "error", "fetch.challenge")]
    assert kinds(detect("x", "商务部网站", challenged, NOW, last_new_item_at=None, never_succeeded=True)) == [CHALLENGE]


# ---------------------------------------------------------------------- most sources at once


def latest(down: int, up: int, code: str = "fetch.refused", never_ran: int = 0) -> dict[str, RunFacts | None]:
    runs: dict[str, RunFacts | None] = {f"down-{k:02d}": run(1, "error", code) for k in range(down)}
    runs |= {f"up-{k:02d}": run(1) for k in range(up)}
    return runs | {f"new-{k}": None for k in range(never_ran)}


def test_most_sources_failing_at_once_is_one_outage_alarm():
    alarm = detect_outage(latest(22, 2), {"down-00": "商务部网站"})
    assert alarm is not None and alarm.kind == OUTAGE and alarm.source_id == OUTAGE_SOURCE
    assert alarm.message == "22 个信息源无法访问，可能是网络故障（共启用 24 个）"
    assert alarm.detail["sources"] == sorted(f"down-{k:02d}" for k in range(22))
    assert alarm.detail["names"]["down-00"] == "商务部网站" and alarm.detail["names"]["down-01"] == "down-01"
    assert alarm.detail["codes"]["down-05"] == "fetch.refused"

    assert detect_outage(latest(2, 0), {}) is None, "two sources are not an outage, even all of them"
    assert detect_outage(latest(3, 4), {}) is None, "3 of 7 is less than half"
    assert detect_outage(latest(4, 4), {}) is not None, "4 of 8 is half"
    assert detect_outage(latest(3, 1, never_ran=3), {}) is None, "a source that never ran counts as enabled"
    assert detect_outage(latest(5, 0, code="parse.no_items"), {}) is None, "empty lists are no unreachable sites"
    blocked = detect_outage(latest(5, 1, code="fetch.http_status"), {})
    assert blocked is not None and "出口地址被网站限制" in blocked.message


# ---------------------------------------------------------------------- real harvests, real alarms, the banner


def test_refused_sources_raise_never_ok_and_one_outage_and_the_banner_groups_them(
    httpserver: HTTPServer, settings, repository, write_sources, run_harvest
):
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/feed.xml").respond_with_data(feeds.rss(feeds.items(base, 2)), content_type="text/xml")
    dead = [("mofcom-1", "商务部网站"), ("mofcom-2", "商务部网站"), ("mofcom-3", "商务部网站"),
            ("xinhua-1", "新华网"), ("xinhua-2", "新华网"), ("miit", "工信部网站")]  # fmt: skip
    config = write_sources(
        [{"id": i, "name": n, "kind": "feed", "url": refused_url(f"/{i}.xml"), "schedule": "2h"} for i, n in dead]
        + [source(httpserver, "/feed.xml", id="cac", name="网信办", respect_robots=False)]
    )
    summaries = run_harvest(list(config.sources))
    assert [s.code for s in summaries] == ["fetch.refused"] * 6 + [None]

    opened, _resolved = sync_all(repository, config, datetime.now(UTC))
    alarms = repository.open_alarms()
    assert opened == 7 == len(alarms)
    assert sorted(a.kind for a in alarms) == [NEVER_OK] * 6 + [OUTAGE], "alarms before the usual three failures"
    [outage] = [a for a in alarms if a.kind == OUTAGE]
    assert outage.message == "6 个信息源无法访问，可能是网络故障（共启用 7 个）"

    client = admin_client(settings, repository, config, name="ed", role="editor")
    page = client.get("/").text
    banner = page[page.index('id="freshness"') : page.index("</section>")]
    lines = re.findall(r'<li class="alarm kind-(\w+)" data-kind="\w+" data-count="(\d+)">', banner)
    assert lines == [("outage", "6")], "one grouped line, the never_ok alarms of the same sources folded into it"
    assert "6 个信息源无法访问，可能是网络故障" in banner and "<details>" in banner
    listed = re.findall(r'<li data-source="([^"]+)">([^<]+)</li>', banner)
    assert dict(listed) == {
        "mofcom-1": "商务部网站（mofcom-1）：连接被拒绝",
        "mofcom-2": "商务部网站（mofcom-2）：连接被拒绝",
        "mofcom-3": "商务部网站（mofcom-3）：连接被拒绝",
        "xinhua-1": "新华网（xinhua-1）：连接被拒绝",
        "xinhua-2": "新华网（xinhua-2）：连接被拒绝",
        "miit": "工信部网站：连接被拒绝",
    }
    assert 'class="chip' not in banner

    status = client.get("/api/status").json()
    assert len(status["alarms"]) == 7 and {"source_id", "source", "kind", "label", "message", "since"} <= set(
        status["alarms"][0]
    ), "the old fields stay"
    assert {a["source_label"] for a in status["alarms"] if a["source_id"] == "mofcom-2"} == {"商务部网站（mofcom-2）"}
    assert [g["kind"] for g in status["groups"]] == ["outage"] and status["groups"][0]["count"] == 6

    admin_page_alarms = [a for a in alarms if a.kind == NEVER_OK and a.source_id == "mofcom-2"]
    assert admin_page_alarms[0].message == "商务部网站：自添加以来从未抓取成功（连接被拒绝，fetch.refused）"

    # the network is back for all but one: the outage resolves, the one left keeps its own line
    fixed = config.sources[-1]
    later = write_sources(
        [{"id": i, "name": n, "kind": "feed", "url": fixed.url, "schedule": "2h", "respect_robots": False}
         for i, n in dead[:-1]]
        + [{"id": "miit", "name": "工信部网站", "kind": "feed", "url": refused_url("/miit.xml"), "schedule": "2h"},
           source(httpserver, "/feed.xml", id="cac", name="网信办", respect_robots=False)]
    )  # fmt: skip
    run_harvest(list(later.sources))
    _opened, resolved = sync_all(repository, later, datetime.now(UTC))
    assert resolved == 6
    assert sorted((a.kind, a.source_id) for a in repository.open_alarms()) == [(NEVER_OK, "miit")]
    config = later  # the app reads the current sources
    banner = client.get("/").text
    banner = banner[banner.index('id="freshness"') : banner.index("</section>")]
    assert re.findall(r'data-kind="(\w+)" data-count="(\d+)"', banner) == [("never_ok", "1")]
    assert "从未抓取成功</span> 工信部网站：自添加以来从未抓取成功（连接被拒绝，fetch.refused，共失败 2 次）" in banner


def test_banner_groups_alarms_by_kind_and_keeps_single_ones_on_one_line():
    class Row:
        def __init__(self, source_id: str, kind: str, name: str, message: str) -> None:
            self.source_id, self.kind, self.message = source_id, kind, message
            self.detail = {"source_name": name}
            self.source_name = name

    health = [{"id": f"xinhua-{k}", "name": "新华网", "health": "failing", "last_error_code": "fetch.timeout"}
              for k in range(1, 5)] + [
        {"id": "mofcom", "name": "商务部网站", "health": "failing", "last_error_code": "fetch.http_status",
         "last_http_status": 403},
        {"id": "cac", "name": "网信办", "health": "healthy"},
    ]  # fmt: skip
    streak = "新华网：连续 3 次抓取失败（fetch.timeout）"
    alarms = [Row(f"xinhua-{k}", FETCH_ERRORS, "新华网", streak) for k in range(1, 5)]
    alarms.append(Row("cac", "stale", "网信办", "网信办：已 4 天没有新条目"))
    groups = banner_groups(alarms, health)
    assert [(g["kind"], g["count"], g["summary"]) for g in groups] == [
        ("fetch_errors", 4, "4 个信息源"),
        ("stale", 1, "网信办：已 4 天没有新条目"),
        ("failing", 1, "商务部网站：网站返回 403（禁止访问），可能漏掉新闻"),
    ], "a failing source with its own fetch_errors alarm is not listed twice"
    assert [i["text"] for i in groups[0]["entries"]][:2] == [
        "新华网（xinhua-1）：连续 3 次抓取失败（fetch.timeout）",
        "新华网（xinhua-2）：连续 3 次抓取失败（fetch.timeout）",
    ]
    assert groups[0]["label"] == "连续抓取失败"
    assert source_labels(health)["cac"] == "网信办" and source_labels(health)["xinhua-3"] == "新华网（xinhua-3）"
