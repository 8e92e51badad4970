"""The fault matrix: every way a source can misbehave, over real sockets on 127.0.0.1, one row each.

For every fault the source gets its specific error code, message and health state (or succeeds with a
recorded warning where the harvest can and should go on), the well-behaved neighbour harvested in the
same pass still lands its articles, no exception escapes the pass (nor turns into ``internal.error``),
and the process's resident memory stays within ``MAX_RSS_GROWTH_MB`` while the pass runs.

No mocks: werkzeug (pytest-httpserver) serves the well-formed misbehaviour, ``servers.RawServer``
(raw asyncio sockets in a thread) the broken transport, ``servers.FullBacklog`` a handshake that never
completes; DNS failure uses the reserved ``.invalid`` TLD. Nothing needs the internet. The module
prints the matrix as a table when it finishes (with or without ``-s``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import json
import socket
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

import feeds
import servers
from conftest import source
from news_harvester.config import SourcesConfig
from news_harvester.errors import SourceError
from news_harvester.harvest.fetch import Fetcher
from news_harvester.models import FetchResult, Outcome, RunSummary
from news_harvester.sources.health import source_report
from news_harvester.store.schema import fetch_runs
from news_harvester.wiring import fetch_policy

GOOD_ITEMS = 3

MAX_RSS_GROWTH_MB = 40
"""Resident memory a whole pass may add, for every row. Well under 100 MB on purpose: inflating each 64 KB
network read of the gzip bomb without a max_length (the cap only checked afterwards) already peaks near
80 MB; the bounded inflate, the streamed size cap and the 1 MB ``max_body_bytes`` of the tests stay within
a few MB whatever the server sends."""

HTML_LIST = {"kind": "html", "selectors": {"item": ["ul.list li"], "date": ["span"]}}


# --------------------------------------------------------------------------- the printed matrix


@dataclass(frozen=True, slots=True)
class Row:
    fault: str
    route: str
    expected: str
    got: str
    message: str
    neighbour: str
    rss: str


@pytest.fixture(scope="module")
def matrix(request: pytest.FixtureRequest) -> Iterator[list[Row]]:
    """Rows collected by the tests, printed as a table when the module finishes (with or without -s).

    ``capsys`` is function-scoped, so this uses what ``capsys.disabled()`` uses underneath.
    """
    rows: list[Row] = []
    yield rows
    if not rows:
        return
    header = Row("fault", "route", "expected", "got", "message / warning", "neighbour", "RSS")
    widths = [max(_width(getattr(r, f)) for r in [header, *rows]) for f in Row.__slots__]
    lines = ["", "fault matrix (tests/reliability/test_fault_matrix.py)"]
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


def _short(text: str | None, limit: int = 90) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def raw_server() -> Iterator[servers.RawServer]:
    with servers.RawServer() as server:
        yield server


class PeakRss:
    """Peak growth of this process's resident set while the block runs, sampled every 2 ms."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.baseline = self.peak = 0

    def __enter__(self) -> PeakRss:
        self.baseline = self.peak = self._process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(0.002)

    @property
    def grew_mb(self) -> float:
        return (self.peak - self.baseline) / 2**20


@pytest.fixture(scope="module", autouse=True)
def _warm_up() -> None:
    """Load what the first pass would load lazily (parsers, extractor, detector), so that import-time
    allocations are not charged to the first row's memory budget."""
    from zoneinfo import ZoneInfo

    from news_harvester.harvest.decode import decode_body
    from news_harvester.parse.article import extract_page
    from news_harvester.parse.feeds import parse_feed
    from news_harvester.parse.traps import challenge_reason

    zone = ZoneInfo("Asia/Shanghai")
    parse_feed(feeds.rss(feeds.items("http://127.0.0.1", 3)), "http://127.0.0.1/feed.xml", zone)
    page = f"<html><body><article><p>{servers.ARTICLE_TEXT * 5}</p></article></body></html>"
    extract_page(page, "http://127.0.0.1/a/1.html", zone)
    challenge_reason(servers.CHALLENGE_PAGE, len(servers.CHALLENGE_PAGE))
    decode_body("商务部".encode("gb18030") * 50)


@dataclass
class Pass:
    """One harvest pass: the summaries by source id, the neighbour's stored articles, time and memory."""

    summaries: dict[str, RunSummary]
    good_stored: int
    config: SourcesConfig
    seconds: float
    rss_mb: float

    def __getitem__(self, source_id: str) -> RunSummary:
        return self.summaries[source_id]

    @property
    def neighbour(self) -> str:
        return f"good {self.good_stored}/{GOOD_ITEMS}"

    @property
    def rss(self) -> str:
        return f"+{max(self.rss_mb, 0):.0f} MB"


@pytest.fixture
def harvest_pass(
    httpserver: HTTPServer, write_sources: Callable[..., SourcesConfig], run_harvest: Callable[..., Any], repository
) -> Callable[..., Pass]:
    """Harvest ``entries`` together with the well-behaved neighbour ``good``; check that the neighbour landed,
    that no source ended in ``internal.error`` (an exception the code did not expect) and that memory stayed
    bounded. An exception escaping ``Harvester.harvest`` fails the test by itself."""
    servers.well_behaved_feed(httpserver, n=GOOD_ITEMS)

    def run(entries: list[dict[str, Any]], **kwargs: Any) -> Pass:
        good = source(httpserver, "/good.xml", id="good", name="新华网")
        config = write_sources([*entries, good])
        started = time.monotonic()
        with PeakRss() as rss:
            summaries = {s.source_id: s for s in run_harvest(list(config.sources), **kwargs)}
        seconds = time.monotonic() - started
        assert [s for s in summaries.values() if s.code == "internal.error"] == []
        # its feed is the same at every pass: after the first, nothing to do (not_modified) is the success
        assert summaries["good"].outcome in (Outcome.OK, Outcome.NOT_MODIFIED), summaries["good"]
        stored = len(repository.list_articles(source_id="good"))
        assert stored == GOOD_ITEMS
        assert rss.grew_mb < MAX_RSS_GROWTH_MB, f"RSS grew by {rss.grew_mb:.0f} MB during the pass"
        return Pass(summaries, stored, config, seconds, rss.grew_mb)

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


def assert_failed(
    p: Pass, repository, source_id: str, code: str, *, http_status: int | None = None, says: str = ""
) -> None:
    """The source failed with ``code`` and a message saying ``says``, its state records it, it stores
    nothing and is degraded, while the neighbour is healthy."""
    summary = p[source_id]
    assert summary.outcome == Outcome.ERROR, summary
    assert summary.code == code, summary
    assert says in (summary.message or ""), summary.message
    state = repository.source_state(source_id)
    assert state.last_error_code == code
    assert state.last_error_message == summary.message
    assert state.consecutive_failures == 1
    assert state.next_due_at is not None
    if http_status is not None:
        assert summary.http_status == http_status
        assert state.last_http_status == http_status
    assert repository.list_articles(source_id=source_id) == []
    assert health_of(p.config, repository, source_id) == "degraded"
    assert health_of(p.config, repository, "good") == "healthy"


def assert_ok(p: Pass, repository, source_id: str, *, stored: int, warning: str | None = None) -> str:
    """The source succeeded and stored ``stored`` articles, is healthy, and (when ``warning`` is given)
    its run records a warning containing it, which is returned."""
    summary = p[source_id]
    assert summary.outcome == Outcome.OK, summary
    assert summary.code is None
    assert len(repository.list_articles(source_id=source_id)) == stored
    assert health_of(p.config, repository, source_id) == "healthy"
    state = repository.source_state(source_id)
    assert (state.consecutive_failures, state.last_error_code, state.next_due_at) == (0, None, None)
    if warning is None:
        return ""
    found = [w for w in run_warnings(repository, source_id) if warning in w]
    assert found, run_warnings(repository, source_id)
    return found[0]


def failed_row(fault: str, route: str, expected: str, p: Pass, repository, source_id: str = "bad") -> Row:
    got = f"{p[source_id].code or p[source_id].outcome} / {health_of(p.config, repository, source_id)}"
    return Row(fault, route, f"{expected} / degraded", got, _short(p[source_id].message), p.neighbour, p.rss)


def ok_row(fault: str, route: str, expected: str, p: Pass, repository, source_id: str, note: str = "") -> Row:
    """``got`` reads "<outcome> / <health>, <n> stored[ + <n> warning(s)][, moved_to]"."""
    summary = p[source_id]
    stored = len(repository.list_articles(source_id=source_id))
    got = f"{summary.code or summary.outcome} / {health_of(p.config, repository, source_id)}, {stored} stored"
    if warnings := len(run_warnings(repository, source_id)):
        got += f" + {warnings} warning{'s' if warnings > 1 else ''}"
    if repository.source_state(source_id).moved_to:
        got += ", moved_to"
    return Row(fault, route, expected, got, _short(note), p.neighbour, p.rss)


def record(matrix: list[Row], row: Row) -> None:
    """Add the row to the printed matrix, then check it: what happened is what was expected."""
    matrix.append(row)
    assert row.got == row.expected, row


# --------------------------------------------------------------------------- one route, one error code

Where = Callable[[HTTPServer, servers.RawServer], str]


def _raw(path: str) -> Where:
    return lambda _ws, raw: raw.url_for(path)


def _ws(install: Callable[[HTTPServer], str]) -> Where:
    return lambda ws, _raw: ws.url_for(install(ws))


@dataclass(frozen=True, slots=True)
class Fault:
    fault: str
    route: str
    where: Where
    code: str
    says: str
    http_status: int | None = None
    kind: str = "feed"


SIMPLE_FAULTS = [
    Fault("connection refused", "refused", lambda _ws, _raw: servers.refused_url(), "fetch.refused",
          "connection refused by 127.0.0.1:"),
    Fault("DNS failure", "unresolvable", lambda _ws, _raw: servers.unresolvable_url(), "fetch.dns",
          "DNS lookup failed for nonexistent.invalid"),
    Fault("truncated body", "/truncated", _raw("/truncated"), "fetch.truncated", "connection broken mid-body", 200),
    Fault("truncated body", "/dropped-mid-chunk", _raw("/dropped-mid-chunk"), "fetch.truncated",
          "connection broken mid-body", 200),
    Fault("truncated body", "/reset-mid-body", _raw("/reset-mid-body"), "fetch.truncated",
          "connection broken mid-body", 200),
    Fault("truncated body", "/hang-up", _raw("/hang-up"), "fetch.truncated",
          "server closed the connection without a response"),
    Fault("5 MB+ body over the cap", "/huge-chunked", _raw("/huge-chunked"), "fetch.too_large",
          "response body exceeds the 1000000-byte cap", 200),
    Fault("5 MB+ body over the cap", "/huge-content-length",
          _ws(lambda s: servers.huge_with_content_length(s, 6_000_000)), "fetch.too_large",
          "response of 6000000 bytes exceeds the 1000000-byte cap", 200),
    Fault("redirect loop", "/redirect-loop/a", _ws(servers.redirect_loop), "fetch.redirect_loop",
          "redirect loop at http://", 302),
    Fault("redirect loop", "/redirect-chain/0", _ws(servers.endless_redirects), "fetch.redirect_loop",
          "more than 5 redirects"),
    Fault("redirect without Location", "/redirect-without-location", _ws(servers.redirect_without_location),
          "fetch.http_status", "redirect without a Location header", 302),
    Fault("403", "/forbidden", _ws(servers.forbidden), "fetch.http_status", "HTTP 403 Forbidden", 403),
    Fault("WAF challenge page (200)", "/waf-challenge", _ws(servers.waf_challenge), "fetch.challenge",
          "challenge page", 200, kind="html"),
    Fault("WAF challenge page (403)", "/waf-challenge-403", _ws(lambda s: servers.waf_challenge(s, status=403)),
          "fetch.challenge", "HTTP 403 Forbidden with a challenge page", 403),
    Fault("404 source URL", "/not-found", _ws(servers.not_found), "fetch.http_status", "HTTP 404 Not Found", 404),
    Fault("malformed XML, cut in 1st item", "/malformed.xml", _ws(servers.malformed_xml), "parse.no_items",
          "it is not well-formed (<unknown>:1:"),
    Fault("malformed XML (JSON body)", "/garbage", _ws(servers.garbage), "parse.malformed", "not a readable feed"),
    Fault("XML that is not a feed", "/not-a-feed.xml", _ws(servers.xml_not_a_feed), "parse.not_a_feed",
          "an XML document with root <error>, not an RSS/Atom feed"),
    Fault("HTML served as a feed", "/html-as-feed", _ws(servers.html_as_feed), "parse.not_a_feed",
          "document is an HTML page"),
    Fault("empty 200", "/empty", _ws(servers.empty_ok), "parse.no_items", "empty document"),
    Fault("invalid UTF-8, mostly", "/mostly-invalid-utf8.xml", _ws(lambda s: servers.invalid_utf8_feed(s, mostly=True)),
          "decode.charset", "cannot decode body: declared utf-8", 200),
]


@pytest.mark.parametrize("fault", SIMPLE_FAULTS, ids=[f.route.strip("/") for f in SIMPLE_FAULTS])
def test_bad_route_fails_its_source_only(fault: Fault, httpserver, raw_server, harvest_pass, repository, matrix):
    url = fault.where(httpserver, raw_server)
    entry = source(httpserver, "/", id="bad", url=url, **(HTML_LIST if fault.kind == "html" else {}))
    p = harvest_pass([entry])
    record(matrix, failed_row(fault.fault, fault.route, fault.code, p, repository))
    assert_failed(p, repository, "bad", fault.code, http_status=fault.http_status, says=fault.says)
    assert p.seconds < 10


def test_dns_failure_does_not_wait_on_the_resolver(harvest_pass):
    """``.invalid`` never resolves (RFC 6761): the failure comes from the local resolver at once (DNS
    failures are not retried) and is not mistaken for a timeout."""
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        lookup = pool.submit(socket.getaddrinfo, "nonexistent.invalid", 80)
        try:
            lookup.result(timeout=3)
        except socket.gaierror:
            pass
        except concurrent.futures.TimeoutError:
            pytest.skip("this machine's resolver does not answer for .invalid within 3 s")
    assert time.monotonic() - started < 3
    p = harvest_pass([{"id": "bad", "name": "x", "kind": "feed", "url": servers.unresolvable_url(), "schedule": "30m"}])
    assert p["bad"].code == "fetch.dns"
    assert p.seconds < 3


def test_connect_timeout(httpserver, harvest_pass, repository, settings, matrix):
    """A handshake that never completes ends at the connect timeout, on every attempt (retried like any
    connect failure), and the neighbour does not wait for it."""
    quick = settings.model_copy(update={"connect_timeout": 0.3})
    with servers.FullBacklog() as backlog:
        if not backlog.saturated:
            pytest.skip("the kernel completed a handshake on a full backlog: no connect timeout to provoke here")
        p = harvest_pass([source(httpserver, "/", id="bad", url=backlog.url_for("/feed.xml"))], settings_override=quick)
    record(matrix, failed_row("connect timeout", "full-backlog", "fetch.timeout", p, repository))
    says = f"connect timeout: no connection to 127.0.0.1:{backlog.port}"
    assert_failed(p, repository, "bad", "fetch.timeout", says=says)
    assert "within 0.3s" in (p["bad"].message or "")
    assert p.seconds < 5


@pytest.mark.parametrize("route", ["/silent", "/stall-after-headers"])
def test_read_timeout(route, httpserver, raw_server, harvest_pass, repository, settings, matrix):
    """No byte for ``read_timeout``, before or after the headers: fetch.timeout at once, not retried."""
    quick = settings.model_copy(update={"read_timeout": 0.5})
    raw_server.hits.clear()
    p = harvest_pass([source(httpserver, "/", id="bad", url=raw_server.url_for(route))], settings_override=quick)
    record(matrix, failed_row("read timeout", route, "fetch.timeout", p, repository))
    assert_failed(p, repository, "bad", "fetch.timeout", says="read timeout: no bytes for 0.5s")
    assert raw_server.hits[route] == 1
    assert p.seconds < 5


def test_drip_feed_hits_the_total_timeout(httpserver, raw_server, harvest_pass, repository, settings, matrix):
    """One byte per second never trips the 2 s read timeout; only the total timeout can end it."""
    assert raw_server.drip_interval < settings.read_timeout
    quick = settings.model_copy(update={"total_timeout": 2.5})
    p = harvest_pass([source(raw_server, "/drip", id="bad")], settings_override=quick)
    record(matrix, failed_row("drip, 1 byte/s", "/drip", "fetch.timeout", p, repository))
    assert_failed(p, repository, "bad", "fetch.timeout", says="no complete response within 2.5s")
    assert 2.5 <= p.seconds < 5


def test_gzip_bomb_stops_at_the_cap_with_bounded_memory(httpserver, harvest_pass, repository, settings, matrix):
    expanded = 200 << 20
    bomb = servers.gzip_bomb_bytes(expanded)
    assert len(bomb) < settings.max_body_bytes < expanded  # Content-Length alone cannot give it away
    path = servers.gzip_bomb(httpserver, expanded)
    p = harvest_pass([source(httpserver, path, id="bad")])
    record(matrix, failed_row(f"gzip bomb ({len(bomb) >> 10} KB → {expanded >> 20} MB)", path, "fetch.too_large",
                             p, repository))
    assert_failed(p, repository, "bad", "fetch.too_large", http_status=200, says="after decompression")


# --------------------------------------------------------------------------- faults a harvest survives


def test_304_on_conditional_get_keeps_articles(httpserver, harvest_pass, repository, matrix):
    path = servers.etag(httpserver, '"v1"')
    entries = [source(httpserver, path, id="etag")]
    first = harvest_pass(entries)
    assert first["etag"].outcome == Outcome.OK
    assert repository.source_state("etag").etag == '"v1"'
    before = repository.counts()["articles"]
    assert before == 3 + GOOD_ITEMS

    second = harvest_pass(entries)
    record(matrix, ok_row("304 Not Modified", path + " (2nd run)", "not_modified / healthy, 3 stored", second,
                         repository, "etag"))
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
    record(matrix, failed_row("429 + Retry-After", f"{path} (Retry-After {form})", "fetch.rate_limited", p, repository))
    assert_failed(p, repository, "bad", "fetch.rate_limited", http_status=429, says="HTTP 429 Too Many Requests")
    assert servers.requests_to(httpserver, path) == 1, "a long Retry-After must not be waited out in-process"
    next_due = repository.source_state("bad").next_due_at
    assert next_due is not None
    assert next_due >= before + timedelta(seconds=wait)


def test_429_with_short_retry_after_is_retried(httpserver, harvest_pass, repository, matrix):
    path = servers.rate_limited(httpserver, "1", then_ok=True)
    p = harvest_pass([source(httpserver, path, id="rl")])
    record(matrix, ok_row("429 + Retry-After", f"{path} (Retry-After 1, then 200)", "ok / healthy, 3 stored", p,
                         repository, "rl"))
    assert_ok(p, repository, "rl", stored=3)
    assert p["rl"].items_new == 3
    assert servers.requests_to(httpserver, path) == 2
    assert p.seconds >= 1.0


@pytest.mark.parametrize(
    ("statuses", "code"),
    [([500, 502], None), ([503], None), ([500, 502, 503], "fetch.http_status"), ([502, 503, 500], "fetch.http_status")],
    ids=["500-502-recovers", "503-recovers", "500-502-503-exhausts", "502-503-500-exhausts"],
)
def test_5xx_burst_within_and_beyond_the_retry_budget(
    statuses, code, httpserver, harvest_pass, repository, settings, matrix
):
    path = servers.status_burst(httpserver, statuses)
    p = harvest_pass([source(httpserver, path, id="burst")])
    label = f"{path} ({','.join(map(str, statuses))} then 200)"
    assert servers.requests_to(httpserver, path) == min(len(statuses) + 1, settings.retries + 1)
    if code is None:
        record(matrix, ok_row("500/502/503 burst", label, "ok / healthy, 3 stored", p, repository, "burst"))
        assert_ok(p, repository, "burst", stored=3)
    else:
        record(matrix, failed_row("500/502/503 burst", label, code, p, repository, "burst"))
        last = statuses[-1]
        assert_failed(p, repository, "burst", code, http_status=last, says=f"HTTP {last} ")


def test_301_lands_articles_and_records_the_move(httpserver, harvest_pass, repository, matrix):
    path = servers.moved_permanently(httpserver)
    p = harvest_pass([source(httpserver, path, id="moved")])
    warning = assert_ok(p, repository, "moved", stored=3, warning="moved permanently")
    moved_to = repository.source_state("moved").moved_to
    expected = "ok / healthy, 3 stored + 1 warning, moved_to"
    record(matrix, ok_row("301 permanent move", f"{path} → /new-home.xml", expected, p, repository, "moved", warning))
    assert moved_to == httpserver.url_for("/new-home.xml")
    assert any("moved permanently" in w for w in p["moved"].warnings)
    report = {row["id"]: row for row in source_report(p.config, repository, datetime.now(UTC))}
    assert report["moved"]["moved_to"] == moved_to


def test_redirect_to_another_host_is_followed_and_reported(httpserver, harvest_pass, repository, matrix):
    """A temporary redirect to another host is followed (normal on the web) and said in a run warning; it
    is not a move (``moved_to`` stays empty), and the items' links resolve against the host that served them."""
    path = servers.cross_host_redirect(httpserver)
    p = harvest_pass([source(httpserver, path, id="xhost")])
    warning = assert_ok(p, repository, "xhost", stored=3, warning="redirects (temporarily) to another host")
    record(matrix, ok_row("redirect to another host", f"{path} → localhost", "ok / healthy, 3 stored + 1 warning",
                         p, repository, "xhost", warning))
    assert f"http://localhost:{httpserver.port}/elsewhere.xml" in warning
    assert repository.source_state("xhost").moved_to is None
    urls = [a.url for a in repository.list_articles(source_id="xhost")]
    assert all(u.startswith(f"http://localhost:{httpserver.port}/elsewhere/") for u in urls), urls


def test_vanished_article_costs_that_item_only(httpserver, harvest_pass, repository, matrix):
    """List page fine, one article page 404: the run succeeds (healthy), the other articles land, the missing
    one is reported per item and, since its URL was not stored, asked for again next run."""
    titles = ["商务部发布跨境电商新政", "海关总署通报前5个月进出口数据", "国务院常务会议部署数字贸易"]
    path, articles = servers.vanished_article_listing(httpserver, titles, missing=1)
    entries = [source(httpserver, path, id="list", **HTML_LIST)]
    p = harvest_pass(entries)
    warning = assert_ok(p, repository, "list", stored=2, warning="fetch.http_status for article")
    record(matrix, ok_row("404 for a vanished article", f"{path} (article 2/3 404)",
                         "ok / healthy, 2 stored + 1 warning", p, repository, "list", warning))
    assert httpserver.url_for(articles[1]) in warning and "HTTP 404 Not Found" in warning
    assert sorted(a.title for a in repository.list_articles(source_id="list")) == sorted([titles[0], titles[2]])

    harvest_pass(entries)  # the vanished article is retried; the stored ones are not fetched again
    assert [servers.requests_to(httpserver, a) for a in articles] == [1, 2, 1]
    assert len(repository.list_articles(source_id="list")) == 2


def test_feed_served_as_html_is_read_as_a_feed(httpserver, harvest_pass, repository, matrix):
    """The document decides, not the Content-Type: an RSS body labelled text/html is a feed."""
    path = servers.feed_as_html(httpserver)
    p = harvest_pass([source(httpserver, path, id="ashtml")])
    assert_ok(p, repository, "ashtml", stored=3)
    record(matrix, ok_row("feed served as HTML", path, "ok / healthy, 3 stored", p, repository, "ashtml"))
    assert p["ashtml"].warnings == ()


def test_recoverable_malformed_feed_is_ok_with_a_warning(httpserver, harvest_pass, repository, matrix):
    path = servers.malformed_recoverable(httpserver)
    p = harvest_pass([source(httpserver, path, id="bozo")])
    warning = assert_ok(p, repository, "bozo", stored=p["bozo"].items_new, warning="malformed feed")
    expected = "ok / healthy, 2 stored + 1 warning"
    record(matrix, ok_row("malformed XML, recoverable", path, expected, p, repository, "bozo", warning))
    assert p["bozo"].items_new == 2  # item 0's title is never closed: feedparser loses its link
    assert warning.startswith("malformed feed, recovered what could be read (2 of 3 items): ")


def test_php_warning_before_the_feed_is_ok_with_a_warning(httpserver, harvest_pass, repository, matrix):
    path = servers.php_warning_feed(httpserver)
    p = harvest_pass([source(httpserver, path, id="php")])
    warning = assert_ok(p, repository, "php", stored=3, warning="malformed feed")
    record(matrix, ok_row("malformed XML, recoverable", path, "ok / healthy, 3 stored + 1 warning", p, repository,
                          "php", warning))
    assert "junk after document element" in warning


TITLE = "商务部：跨境电商综试区扩围至165个，喆䶮等生僻字照常显示"  # 喆 is outside GB2312, 䶮 outside GBK


def _charsets(repository, source_id: str) -> tuple[str, str]:
    with repository.engine.connect() as conn:
        return tuple(conn.execute(
            select(fetch_runs.c.charset_declared, fetch_runs.c.charset_used).where(fetch_runs.c.source_id == source_id)
        ).one())


def test_lying_charset_feed_is_read_as_gb18030(httpserver, harvest_pass, repository, matrix):
    path = servers.lying_charset_feed(httpserver, TITLE)
    p = harvest_pass([source(httpserver, path, id="gb")])
    assert_ok(p, repository, "gb", stored=1)
    record(matrix, ok_row("lying charset", path, "ok / healthy, 1 stored", p, repository, "gb",
                         f"title intact: {_titles_intact(repository, 'gb', [TITLE])}"))
    [article] = repository.list_articles(source_id="gb")
    assert article.title == TITLE
    assert _charsets(repository, "gb") == ("utf-8", "gb18030")


def test_lying_charset_listing_with_meta_gbk(httpserver, harvest_pass, repository, matrix):
    titles = [TITLE, "海关总署：前5个月我国货物贸易进出口同比增长6.3%"]
    path = servers.lying_charset_listing(httpserver, titles)
    p = harvest_pass([source(httpserver, path, id="gb-html", kind="html")])
    assert_ok(p, repository, "gb-html", stored=2)
    record(matrix, ok_row("lying charset", path, "ok / healthy, 2 stored", p, repository, "gb-html",
                         f"titles intact: {_titles_intact(repository, 'gb-html', titles)}"))
    stored = repository.list_articles(source_id="gb-html")
    assert sorted(a.title for a in stored) == sorted(titles)
    assert all("数字贸易高质量发展" in a.body_text for a in stored)


def _titles_intact(repository, source_id: str, expected: list[str]) -> str:
    stored = {a.title for a in repository.list_articles(source_id=source_id)}
    return f"{len(stored & set(expected))}/{len(expected)}"


def test_a_few_invalid_utf8_bytes_are_replaced_not_fatal(httpserver, harvest_pass, repository, matrix):
    """A page declared (and mostly) UTF-8 with a few corrupt byte sequences: each becomes U+FFFD and the run
    says how many. Failing the page (decode.charset) would lose every article for two bad characters;
    guessing another charset would garble all of them. Mostly-invalid text still fails (see the table)."""
    path = servers.invalid_utf8_feed(httpserver)
    p = harvest_pass([source(httpserver, path, id="badutf8")])
    warning = assert_ok(p, repository, "badutf8", stored=3, warning="invalid byte sequence")
    record(matrix, ok_row("invalid UTF-8 in a UTF-8 page", path, "ok / healthy, 3 stored + 1 warning", p, repository,
                         "badutf8", warning))
    assert warning.startswith("4 invalid byte sequences under utf-8 in the source page")
    stored = repository.list_articles(source_id="badutf8")
    assert sorted(a.title for a in stored) == sorted(i["title"] for i in feeds.items("", 3))
    bodies = " ".join(a.body_text for a in stored)
    assert bodies.count("caf\ufffd") == 3 and "推\ufffd" in bodies
    assert _charsets(repository, "badutf8") == ("utf-8", "utf-8")


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
    record(matrix, failed_row("robots.txt disallows", f"{robots} → /private/feed.xml", "fetch.robots_denied", p,
                             repository, "polite"))
    if not redirected:
        record(matrix, ok_row("robots.txt disallows", "/private/feed.xml, respect_robots: false",
                             "ok / healthy, 3 stored", p, repository, "impolite"))
    assert_failed(p, repository, "polite", "fetch.robots_denied", says="robots.txt of http://127.0.0.1:")
    assert_ok(p, repository, "impolite", stored=3)
    feed_requests = [r for r, _ in httpserver.log if r.path == "/private/feed.xml"]
    assert len(feed_requests) == 1, "the polite source must not even request the disallowed path"


def test_robots_txt_failing_once_is_asked_for_again(httpserver, settings, matrix):
    """One process, two runs: robots.txt answers 503 during the first (the site is down for a moment, so
    the origin counts as unrestricted) and disallows the feed by the second. A failed robots.txt is kept
    only ``robots_retry_after`` seconds, so the second run obeys it instead of ignoring it for a day."""
    servers.well_behaved_feed(httpserver, "/private/feed.xml", prefix="private")
    httpserver.expect_oneshot_request("/robots.txt").respond_with_data("maintenance", status=503)
    servers.robots_disallow(httpserver, "/private/")
    url = httpserver.url_for("/private/feed.xml")

    async def two_runs() -> list[str]:
        policy = fetch_policy(settings.model_copy(update={"retries": 0}))
        fetcher = Fetcher(dataclasses.replace(policy, robots_retry_after=0.2))
        outcomes = []
        try:
            for _ in range(2):
                try:
                    result = await fetcher.get(url)
                    outcomes.append(f"HTTP {result.status}" if isinstance(result, FetchResult) else "304")
                except SourceError as exc:
                    outcomes.append(exc.code)
                await asyncio.sleep(0.3)
        finally:
            await fetcher.aclose()
        return outcomes

    outcomes = asyncio.run(two_runs())
    record(matrix, Row("robots.txt 503, then disallows", "/robots.txt → /private/feed.xml, 2 runs",
                       "HTTP 200 → fetch.robots_denied", " → ".join(outcomes), "", "-", "-"))
    assert servers.requests_to(httpserver, "/robots.txt") == 2


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
    record(matrix, Row("503 on 3 runs, then 200", flapping.path, "degraded → degraded → failing → degraded",
                      " → ".join([*seen, after]), "", p.neighbour, p.rss))


def test_hang_up_without_response_is_retried_on_a_fresh_connection(httpserver, raw_server, harvest_pass, settings):
    raw_server.hits.clear()
    p = harvest_pass([source(httpserver, "/", id="bad", url=raw_server.url_for("/hang-up"))])
    assert p["bad"].code == "fetch.truncated"
    assert raw_server.hits["/hang-up"] == settings.retries + 1
