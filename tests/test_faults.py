"""Fault injection over real HTTP on 127.0.0.1: every misbehaving route of ``servers.CATALOGUE`` makes
its own source fail with the right stable code and health, while a well-behaved neighbour harvested
in the same pass still lands its articles.

No mocks: werkzeug (pytest-httpserver) serves the well-formed misbehaviour, ``servers.RawServer``
(raw asyncio sockets in a thread) the broken transport. The module prints the fault matrix at the end.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import psutil
import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select

import servers
from conftest import source
from news_harvester.config import SourcesConfig
from news_harvester.health import source_report
from news_harvester.models import Outcome, RunSummary
from news_harvester.store.schema import fetch_runs

GOOD_ITEMS = 3


# --------------------------------------------------------------------------- the printed matrix


@dataclass(frozen=True, slots=True)
class Row:
    route: str
    expected: str
    got: str
    neighbours: str


@pytest.fixture(scope="module")
def matrix(request: pytest.FixtureRequest) -> Iterator[list[Row]]:
    """Rows collected by the tests, printed as a table when the module finishes (with or without -s).

    ``capsys`` is function-scoped, so this uses what ``capsys.disabled()`` uses underneath.
    """
    rows: list[Row] = []
    yield rows
    if not rows:
        return
    header = Row("route", "expected", "got", "other sources landed")
    widths = [max(_width(getattr(r, f)) for r in [header, *rows]) for f in Row.__slots__]
    lines = ["", "fault matrix (tests/test_faults.py)"]
    for k, row in enumerate([header, *rows]):
        cells = (_pad(getattr(row, f), w) for f, w in zip(Row.__slots__, widths, strict=True))
        lines.append(" | ".join(cells).rstrip())
        if k == 0:
            lines.append("-+-".join("-" * w for w in widths))
    capture = request.config.pluginmanager.getplugin("capturemanager")
    context = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
    with context:
        print("\n".join(lines), flush=True)


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def raw_server() -> Iterator[servers.RawServer]:
    with servers.RawServer() as server:
        yield server


@dataclass
class Pass:
    """One harvest pass: the summaries by source id and how many good articles are stored."""

    summaries: dict[str, RunSummary]
    good_stored: int
    config: SourcesConfig
    seconds: float

    def __getitem__(self, source_id: str) -> RunSummary:
        return self.summaries[source_id]


@pytest.fixture
def harvest_pass(
    httpserver: HTTPServer, write_sources: Callable[..., SourcesConfig], run_harvest: Callable[..., Any], repository
) -> Callable[..., Pass]:
    """Harvest ``entries`` together with the well-behaved neighbour ``good`` and check the neighbour landed."""
    servers.well_behaved_feed(httpserver, n=GOOD_ITEMS)

    def run(entries: list[dict[str, Any]], **kwargs: Any) -> Pass:
        good = source(httpserver, "/good.xml", id="good", name="新华网")
        config = write_sources([*entries, good])
        started = time.monotonic()
        summaries = {s.source_id: s for s in run_harvest(list(config.sources), **kwargs)}
        seconds = time.monotonic() - started
        assert summaries["good"].outcome == Outcome.OK, summaries["good"]
        stored = len(repository.list_articles(source_id="good"))
        assert stored == GOOD_ITEMS
        return Pass(summaries, stored, config, seconds)

    return run


def health_of(config: SourcesConfig, repository, source_id: str) -> str:
    rows = {row["id"]: row for row in source_report(config, repository, datetime.now(UTC))}
    return str(rows[source_id]["health"])


def run_warnings(repository, source_id: str) -> list[str]:
    with repository.engine.connect() as conn:
        text = conn.execute(
            select(fetch_runs.c.warnings).where(fetch_runs.c.source_id == source_id).order_by(fetch_runs.c.id.desc())
        ).scalar()
    return json.loads(text) if text else []


def landed(p: Pass) -> str:
    return f"good {p.good_stored}/{GOOD_ITEMS}"


def assert_failed(p: Pass, repository, source_id: str, code: str, *, http_status: int | None = None) -> None:
    """The source failed with ``code``, its state says so, and it is degraded while the neighbour is healthy."""
    summary = p[source_id]
    assert summary.outcome == Outcome.ERROR, summary
    assert summary.code == code, summary
    state = repository.source_state(source_id)
    assert state.last_error_code == code
    assert state.consecutive_failures == 1
    assert state.next_due_at is not None
    if http_status is not None:
        assert summary.http_status == http_status
        assert state.last_http_status == http_status
    assert repository.list_articles(source_id=source_id) == []
    assert health_of(p.config, repository, source_id) == "degraded"
    assert health_of(p.config, repository, "good") == "healthy"


# --------------------------------------------------------------------------- one route, one error code

Where = Callable[[HTTPServer, servers.RawServer], str]


def _raw(path: str) -> Where:
    return lambda _ws, raw: raw.url_for(path)


def _ws(install: Callable[[HTTPServer], str]) -> Where:
    return lambda ws, _raw: ws.url_for(install(ws))


SIMPLE_FAULTS: list[tuple[str, Where, str, int | None]] = [
    ("/truncated", _raw("/truncated"), "fetch.truncated", 200),
    ("/dropped-mid-chunk", _raw("/dropped-mid-chunk"), "fetch.truncated", 200),
    ("/reset-mid-body", _raw("/reset-mid-body"), "fetch.truncated", 200),
    ("/huge-chunked", _raw("/huge-chunked"), "fetch.too_large", 200),
    ("/huge-content-length", _ws(lambda s: servers.huge_with_content_length(s, 5_000_000)), "fetch.too_large", 200),
    ("refused", lambda _ws, _raw: servers.refused_url(), "fetch.refused", None),
    ("/redirect-loop/a", _ws(servers.redirect_loop), "fetch.redirect_loop", 302),
    ("/redirect-chain/0", _ws(servers.endless_redirects), "fetch.redirect_loop", None),
    ("/not-found", _ws(servers.not_found), "fetch.http_status", 404),
    ("/redirect-without-location", _ws(servers.redirect_without_location), "fetch.http_status", 302),
    ("/hang-up", _raw("/hang-up"), "fetch.truncated", None),
    ("/garbage", _ws(servers.garbage), "parse.malformed", None),
    ("/html-as-feed", _ws(servers.html_as_feed), "parse.not_a_feed", None),
    ("/empty", _ws(servers.empty_ok), "parse.no_items", None),
]


@pytest.mark.parametrize(
    ("route", "where", "code", "http_status"), SIMPLE_FAULTS, ids=[f[0].strip("/") for f in SIMPLE_FAULTS]
)
def test_bad_route_fails_its_source_only(
    route, where, code, http_status, httpserver, raw_server, harvest_pass, repository, matrix
):
    url = where(httpserver, raw_server)
    p = harvest_pass([source(httpserver, "/", id="bad", url=url)])
    matrix.append(Row(route, code, str(p["bad"].code), landed(p)))
    assert_failed(p, repository, "bad", code, http_status=http_status)
    assert p.seconds < 10


def test_drip_feed_hits_the_total_timeout(httpserver, raw_server, harvest_pass, repository, settings, matrix):
    """One byte per second never trips the 2 s read timeout; only the total timeout can end it."""
    assert raw_server.drip_interval < settings.read_timeout
    quick = settings.model_copy(update={"total_timeout": 2.5})
    p = harvest_pass([source(raw_server, "/drip", id="bad")], settings_override=quick)
    matrix.append(Row("/drip", "fetch.timeout", str(p["bad"].code), landed(p)))
    assert_failed(p, repository, "bad", "fetch.timeout")
    assert "2.5s" in (p["bad"].message or "")
    assert 2.5 <= p.seconds < 5


MAX_RSS_GROWTH_MB = 40
"""Well under 100 MB on purpose: inflating each 64 KB network read without a max_length (the cap only
checked afterwards) already peaks near 80 MB with this bomb; the bounded inflate stays within a few MB."""


def test_gzip_bomb_stops_at_the_cap_with_bounded_memory(httpserver, harvest_pass, repository, settings, matrix):
    expanded = 200 << 20
    bomb = servers.gzip_bomb_bytes(expanded)
    assert len(bomb) < settings.max_body_bytes < expanded  # Content-Length alone cannot give it away
    path = servers.gzip_bomb(httpserver, expanded)
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        p = harvest_pass([source(httpserver, path, id="bad")])
    finally:
        done.set()
        sampler.join()
    grew = (peak - baseline) / 2**20
    matrix.append(Row(path, f"fetch.too_large, RSS +<{MAX_RSS_GROWTH_MB} MB",
                      f"{p['bad'].code}, RSS +{grew:.0f} MB", landed(p)))
    assert_failed(p, repository, "bad", "fetch.too_large", http_status=200)
    assert "after decompression" in (p["bad"].message or "")
    assert grew < MAX_RSS_GROWTH_MB, f"RSS grew by {grew:.0f} MB while inflating a {expanded >> 20} MB gzip bomb"


def test_304_on_conditional_get_keeps_articles(httpserver, harvest_pass, repository, matrix):
    path = servers.etag(httpserver, '"v1"')
    entries = [source(httpserver, path, id="etag")]
    first = harvest_pass(entries)
    assert first["etag"].outcome == Outcome.OK
    assert repository.source_state("etag").etag == '"v1"'
    before = repository.counts()["articles"]
    assert before == 3 + GOOD_ITEMS

    second = harvest_pass(entries)
    matrix.append(Row(path + " (2nd run)", "not_modified", str(second["etag"].outcome), landed(second)))
    assert second["etag"].outcome == Outcome.NOT_MODIFIED
    assert second["etag"].code is None
    assert repository.counts()["articles"] == before
    conditional = [r for r, _ in httpserver.log if r.path == path and r.headers.get("If-None-Match") == '"v1"']
    assert len(conditional) == 1
    state = repository.source_state("etag")
    assert (state.etag, state.consecutive_failures, state.next_due_at) == ('"v1"', 0, None)
    assert health_of(second.config, repository, "etag") == "healthy"


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_429_with_long_retry_after_fails_and_backs_off(form, httpserver, harvest_pass, repository, matrix):
    wait = 7200  # far above the fetcher's max_retry_after (30 s) and the source's 30 min interval
    value = str(wait) if form == "seconds" else format_datetime(datetime.now(UTC) + timedelta(seconds=wait + 5), True)
    path = servers.rate_limited(httpserver, value)
    before = datetime.now(UTC)
    p = harvest_pass([source(httpserver, path, id="bad")])
    matrix.append(Row(f"{path} (Retry-After {form})", "fetch.rate_limited", str(p["bad"].code), landed(p)))
    assert_failed(p, repository, "bad", "fetch.rate_limited", http_status=429)
    assert servers.requests_to(httpserver, path) == 1, "a long Retry-After must not be waited out in-process"
    next_due = repository.source_state("bad").next_due_at
    assert next_due is not None
    assert next_due >= before + timedelta(seconds=wait)


def test_429_with_short_retry_after_is_retried(httpserver, harvest_pass, repository, matrix):
    path = servers.rate_limited(httpserver, "1", then_ok=True)
    p = harvest_pass([source(httpserver, path, id="rl")])
    matrix.append(Row(f"{path} (Retry-After 1, then 200)", "ok", str(p["rl"].outcome), landed(p)))
    assert p["rl"].outcome == Outcome.OK
    assert p["rl"].items_new == 3
    assert servers.requests_to(httpserver, path) == 2
    assert p.seconds >= 1.0


@pytest.mark.parametrize(
    ("statuses", "code"),
    [([500, 502], None), ([503], None), ([500, 502, 503], "fetch.http_status")],
    ids=["500-502-recovers", "503-recovers", "500-502-503-exhausts"],
)
def test_5xx_burst_within_and_beyond_the_retry_budget(
    statuses, code, httpserver, harvest_pass, repository, settings, matrix
):
    path = servers.status_burst(httpserver, statuses)
    p = harvest_pass([source(httpserver, path, id="burst")])
    label = f"{path} ({','.join(map(str, statuses))} then 200)"
    got = p["burst"].code or str(p["burst"].outcome)
    matrix.append(Row(label, code or "ok", got, landed(p)))
    assert servers.requests_to(httpserver, path) == min(len(statuses) + 1, settings.retries + 1)
    if code is None:
        assert p["burst"].outcome == Outcome.OK
        assert len(repository.list_articles(source_id="burst")) == 3
    else:
        assert_failed(p, repository, "burst", code, http_status=statuses[-1])


def test_301_lands_articles_and_records_the_move(httpserver, harvest_pass, repository, matrix):
    path = servers.moved_permanently(httpserver)
    p = harvest_pass([source(httpserver, path, id="moved")])
    moved_to = repository.source_state("moved").moved_to
    matrix.append(Row(f"{path} → /new-home.xml", "ok + moved_to",
                      f"{p['moved'].outcome}{' + moved_to' if moved_to else ''}", landed(p)))
    assert p["moved"].outcome == Outcome.OK
    assert len(repository.list_articles(source_id="moved")) == 3
    assert repository.source_state("moved").moved_to == httpserver.url_for("/new-home.xml")
    assert any("moved permanently" in w for w in p["moved"].warnings)
    assert any("moved permanently" in w for w in run_warnings(repository, "moved"))


def test_recoverable_malformed_feed_is_ok_with_a_warning(httpserver, harvest_pass, repository, matrix):
    path = servers.malformed_recoverable(httpserver)
    p = harvest_pass([source(httpserver, path, id="bozo")])
    warnings = run_warnings(repository, "bozo")
    matrix.append(Row(path, "ok + warning", f"{p['bozo'].outcome}{' + warning' if warnings else ''}", landed(p)))
    assert p["bozo"].outcome == Outcome.OK
    assert p["bozo"].items_new >= 1
    assert len(repository.list_articles(source_id="bozo")) == p["bozo"].items_new
    assert any(w.startswith("malformed feed") for w in warnings), warnings


TITLE = "商务部：跨境电商综试区扩围至165个，喆䶮等生僻字照常显示"  # 喆 is outside GB2312, 䶮 outside GBK


def test_lying_charset_feed_is_read_as_gb18030(httpserver, harvest_pass, repository, matrix):
    path = servers.lying_charset_feed(httpserver, TITLE)
    p = harvest_pass([source(httpserver, path, id="gb")])
    matrix.append(Row(path, "ok, 1/1 titles intact", _title_check(p, repository, "gb", [TITLE]), landed(p)))
    assert p["gb"].outcome == Outcome.OK
    [article] = repository.list_articles(source_id="gb")
    assert article.title == TITLE
    with repository.engine.connect() as conn:
        declared, used = conn.execute(
            select(fetch_runs.c.charset_declared, fetch_runs.c.charset_used).where(fetch_runs.c.source_id == "gb")
        ).one()
    assert (declared, used) == ("utf-8", "gb18030")


def test_lying_charset_listing_with_meta_gbk(httpserver, harvest_pass, repository, matrix):
    titles = [TITLE, "海关总署：前5个月我国货物贸易进出口同比增长6.3%"]
    path = servers.lying_charset_listing(httpserver, titles)
    p = harvest_pass([source(httpserver, path, id="gb-html", kind="html")])
    matrix.append(Row(path, "ok, 2/2 titles intact", _title_check(p, repository, "gb-html", titles), landed(p)))
    assert p["gb-html"].outcome == Outcome.OK
    stored = repository.list_articles(source_id="gb-html")
    assert sorted(a.title for a in stored) == sorted(titles)
    assert all("数字贸易高质量发展" in a.body_text for a in stored)


def _title_check(p: Pass, repository, source_id: str, expected: list[str]) -> str:
    stored = {a.title for a in repository.list_articles(source_id=source_id)}
    return f"{p[source_id].outcome}, {len(stored & set(expected))}/{len(expected)} titles intact"


@pytest.mark.parametrize("redirected", [False, True], ids=["robots", "robots-behind-301"])
def test_robots_txt_disallow_is_obeyed_unless_the_source_opts_out(
    redirected, httpserver, harvest_pass, repository, matrix
):
    robots = servers.robots_disallow(httpserver, "/private/", redirected=redirected) + (" (301)" if redirected else "")
    servers.well_behaved_feed(httpserver, "/private/feed.xml", prefix="private")
    p = harvest_pass([
        source(httpserver, "/private/feed.xml", id="polite"),
        source(httpserver, "/private/feed.xml", id="impolite", respect_robots=False),
    ])
    matrix.append(Row(f"{robots} → /private/feed.xml", "fetch.robots_denied", str(p["polite"].code), landed(p)))
    if not redirected:
        matrix.append(Row("/private/feed.xml, respect_robots: false", "ok", str(p["impolite"].outcome), landed(p)))
    assert_failed(p, repository, "polite", "fetch.robots_denied")
    assert p["impolite"].outcome == Outcome.OK
    assert len(repository.list_articles(source_id="impolite")) == 3
    feed_requests = [r for r, _ in httpserver.log if r.path == "/private/feed.xml"]
    assert len(feed_requests) == 1, "the polite source must not even request the disallowed path"


# --------------------------------------------------------------------------- health over consecutive runs


def test_consecutive_failures_move_health_and_a_success_resets(httpserver, harvest_pass, repository, matrix):
    flapping = servers.Flapping(httpserver, status=503)
    entries = [source(httpserver, flapping.path, id="flap")]
    seen = []
    for run in range(1, 4):
        p = harvest_pass(entries)
        assert p["flap"].code == "fetch.http_status"
        state = repository.source_state("flap")
        assert state.consecutive_failures == run
        seen.append(health_of(p.config, repository, "flap"))
    assert seen == ["degraded", "degraded", "failing"]

    flapping.down = False
    p = harvest_pass(entries)
    assert p["flap"].outcome == Outcome.OK
    state = repository.source_state("flap")
    assert (state.consecutive_failures, state.last_error_code, state.next_due_at) == (0, None, None)
    after = health_of(p.config, repository, "flap")
    # models.derive_health: "degraded" while any of the last RECENT_RUNS runs failed, so one success
    # after three failures lifts the source out of "failing" but not yet to "healthy".
    assert after == "degraded"
    matrix.append(Row(f"{flapping.path} (503 ×3, then 200)", "degraded → degraded → failing → degraded",
                      " → ".join([*seen, after]), landed(p)))


def test_hang_up_without_response_is_retried_on_a_fresh_connection(httpserver, raw_server, harvest_pass, settings):
    raw_server.hits.clear()
    p = harvest_pass([source(httpserver, "/", id="bad", url=raw_server.url_for("/hang-up"))])
    assert p["bad"].code == "fetch.truncated"
    assert raw_server.hits["/hang-up"] == settings.retries + 1
