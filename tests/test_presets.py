"""The shipped config/sources.yaml: it validates, covers the brief's sources, and every enabled
preset passes a contract test against a local copy of its site.

Contract test: each enabled preset is run through the real pipeline (Harvester + Fetcher, real
SQLite) against a local HTTP server that serves the preset's fixture folder
``tests/fixtures/presets/<preset-id>/`` (see SOURCE.txt there). The preset is used as shipped —
path, query, selectors, fields, headers, zone — with only the scheme and host of its URL moved
to the local server; links to the real host inside the served files are moved the same way, so
absolute links keep working. ``case.yaml`` in the folder says which file is the list, which
files are article pages, and exactly which articles must be stored (title, URL, time with its
UTC offset, attribution). A preset added to sources.yaml without such a folder fails here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from pytest_httpserver import HTTPServer
from ruamel.yaml import YAML
from werkzeug import Request, Response

from news_harvester.config import SourceSpec, load_sources
from news_harvester.models import Outcome
from news_harvester.parse.clean import canonical_url
from news_harvester.parse.listing import parse_listing
from news_harvester.source_spec import parse_interval

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "config" / "sources.yaml"
CASES = Path(__file__).resolve().parent / "fixtures" / "presets"
CONFIG = load_sources(SHIPPED)  # an invalid shipped file fails collection, loudly
ENABLED = [spec.id for spec in CONFIG.enabled]
# Every enabled preset, plus a disabled one that has a case (cls-telegraph: its mapping is kept right for the
# day a signing adapter enables it); the test runs a disabled preset as if enabled.
CONTRACTED = sorted({*ENABLED, *(s.id for s in CONFIG.sources if (CASES / s.id / "case.yaml").is_file())})

CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "htm": "text/html; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "xml": "application/rss+xml; charset=utf-8",
}


def test_shipped_sources_validate_and_cover_all_kinds():
    config = load_sources(SHIPPED)
    assert {s.kind for s in config.sources} == {"feed", "html", "json"}
    assert len({s.id for s in config.sources}) == len(config.sources)
    mofcom = config.get("mofcom-policy")
    assert mofcom is not None and mofcom.name == "商务部网站" and mofcom.timezone == "Asia/Shanghai"
    assert mofcom.weight > max(s.weight for s in config.sources if not s.id.startswith("mofcom"))


def _host(spec: SourceSpec) -> str:
    return urlsplit(spec.url).hostname or ""


def _enabled_on(*suffixes: str) -> list[SourceSpec]:
    return [s for s in CONFIG.enabled if _host(s).endswith(suffixes)]


def test_shipped_presets_cover_the_brief():
    assert len(CONFIG.enabled) >= 15
    mofcom = _enabled_on("mofcom.gov.cn")
    assert len(mofcom) >= 4 and len({s.url for s in mofcom}) == len(mofcom)
    xinhua = _enabled_on("news.cn")
    assert len(xinhua) >= 3 and any(s.language == "en" for s in xinhua)
    for site in (
        "www.gov.cn",
        "www.miit.gov.cn",
        "www.cac.gov.cn",
        "www.nda.gov.cn",
        "www.caict.ac.cn",
        "api.tmtpost.com",
        "edps.europa.eu",
        "www.wto.org",
        "unctad.org",
    ):
        assert _enabled_on(site), f"no enabled preset for {site}"
    xhsxw, policy = CONFIG.get("xinhua-xhsxw"), CONFIG.get("mofcom-policy")
    assert xhsxw is not None and xhsxw.datasource is not None  # two-step: xhsxw.htm -> ds_<id>.json
    assert policy is not None and policy.pagination is not None  # index.html + index_1.html
    for disabled_id in ("miit-policy", "cls-telegraph"):  # listed for the record, with the reason in a comment
        spec = CONFIG.get(disabled_id)
        assert spec is not None and not spec.enabled


def test_shipped_presets_are_polite_and_attributable():
    for spec in CONFIG.sources:
        seconds = parse_interval(spec.schedule)
        assert seconds is not None and 3600 <= seconds <= 6 * 3600, f"{spec.id}: schedule {spec.schedule}"
        assert spec.name.strip() == spec.name and not re.search(r"[()（）:：]|来源", spec.name), spec.id
        assert spec.topics, f"{spec.id}: no topic hints"
        assert spec.language in ("zh", "en"), spec.id
        if spec.language == "zh" or spec.host.endswith(".cn"):
            assert spec.timezone == "Asia/Shanghai", spec.id


def test_shipped_weights_rank_official_over_media():
    def weights(*suffixes: str) -> list[float]:
        return [s.weight for s in CONFIG.sources if s.host.endswith(suffixes)]

    ministries = weights("gov.cn")
    state_media = weights("news.cn")
    commercial = weights("tmtpost.com", "cls.cn")
    assert min(ministries) > max(state_media) > max(commercial)
    assert max(weights("mofcom.gov.cn")) == max(s.weight for s in CONFIG.sources)


def test_every_fixture_folder_belongs_to_a_preset():
    folders = {p.name for p in CASES.iterdir() if p.is_dir()}
    ids = {s.id for s in CONFIG.sources}
    assert folders <= ids, f"fixtures of no preset (renamed or removed?): {sorted(folders - ids)}"


# --------------------------------------------------------------------------- contract tests


def _load_case(preset_id: str) -> tuple[Path, dict[str, Any]]:
    folder = CASES / preset_id
    if not (folder / "case.yaml").is_file():
        pytest.fail(
            f"enabled preset {preset_id!r} has no contract fixture: add tests/fixtures/presets/{preset_id}/case.yaml "
            f"with the list page and its articles (see tests/fixtures/presets/SOURCE.txt)"
        )
    case = YAML(typ="safe").load((folder / "case.yaml").read_text(encoding="utf-8"))
    return folder, case


def _localizer(hosts: list[str], origin: str) -> Callable[[str], str]:
    """Move http(s):// and protocol-relative links on the real hosts to the local server."""
    pattern = re.compile(r"(?:https?:)?//(?:" + "|".join(re.escape(h) for h in hosts) + r")(?::\d+)?(?=[/\"'?#<\s]|$)")
    return lambda text: pattern.sub(origin, text)


def _check_published(got: datetime | None, want: Any, spec: SourceSpec, url: str) -> None:
    """``want`` is None (no date anywhere), a day (the source's calendar day, e.g. a list date: the
    page may add the time) or a quoted ISO time with its offset (exact, e.g. from meta PubDate)."""
    if want is None:
        assert got is None, f"{url}: {got} (expected no date)"
    elif isinstance(want, date) and not isinstance(want, datetime):
        assert got is not None and got.astimezone(spec.zone).date() == want, f"{url}: {got} is not on {want} local"
    else:
        assert isinstance(want, str), "quote exact published times in case.yaml (YAML drops the offset)"
        exact = datetime.fromisoformat(want)
        assert exact.utcoffset() == spec.zone.utcoffset(exact.replace(tzinfo=None)), "case times are local times"
        assert got == exact, f"{url}: {got} != {exact}"


@pytest.mark.parametrize("preset_id", CONTRACTED)
def test_preset_contract(preset_id: str, httpserver: HTTPServer, run_harvest, repository):
    spec = CONFIG.get(preset_id)
    assert spec is not None
    folder, case = _load_case(preset_id)
    real = urlsplit(spec.url)
    localize = _localizer(case.get("hosts") or [real.hostname], httpserver.url_for("/").rstrip("/"))
    routes: dict[str, str] = {real.path or "/": case["list"], **(case.get("pages") or {})}
    requests: list[tuple[str, str, dict[str, str]]] = []

    def serve(request: Request) -> Response:
        requests.append(
            (request.path, request.query_string.decode(), {k.lower(): v for k, v in request.headers.items()})
        )
        name = routes.get(request.path)
        if name is None:
            return Response("not found", status=404)
        body = localize((folder / name).read_text(encoding="utf-8")).encode("utf-8")
        return Response(body, content_type=CONTENT_TYPES[name.rsplit(".", 1)[-1]])

    httpserver.expect_request(re.compile(".*")).respond_with_handler(serve)
    local = spec.model_copy(update={"url": localize(spec.url), "enabled": True})
    assert urlsplit(local.url).path == real.path and urlsplit(local.url).query == real.query

    [summary] = run_harvest([local])

    assert summary.outcome == Outcome.OK, f"{summary.code}: {summary.message}"
    assert summary.items_seen == case["items_seen"] > 0
    assert summary.warnings == (), summary.warnings  # no article page failed, no junk link was followed
    stored = {a.url: a for a in repository.list_articles(source_id=preset_id)}
    expected = {canonical_url(localize(a["url"])): a for a in case["articles"]}
    assert sorted(stored) == sorted(expected)
    for url, want in expected.items():
        got = stored[url]
        assert got.title == want["title"], url
        _check_published(got.published_at, want["published"], spec, url)
        assert got.attribution == want.get("attribution", spec.name), url
        assert got.language == spec.language
        assert want.get("body", "") in got.body_text, url
    assert any(a.attribution == spec.name for a in stored.values()), "the preset name must reach （来源：…）"

    list_requests = [r for r in requests if r[0] == (real.path or "/")]
    assert list_requests and all(query == real.query for _, query, _ in list_requests)
    origin = httpserver.url_for("/")
    for name, value in spec.headers.items():  # every request of the source carries its headers …
        for path, _, headers in requests:
            sent = headers.get(name.lower())
            if path == "/robots.txt" or (name.lower() == "referer" and (sent or "").startswith(origin)):
                continue  # … but a request made from a page of the site names that page as Referer
            assert sent == value, f"{path}: header {name}"


def test_statistics_headline_month_range_is_not_the_row_date():
    """'2024年1-5月' in a headline is a month range, not 5 January: the row's own date wins."""
    spec = CONFIG.get("mofcom-tradeinservices")
    assert spec is not None
    html = (
        '<ul class="u-newsList01"><li><a href="/article/news/gnxw/202406/166123.html">'
        "2024年1-5月我国服务外包执行额同比增长</a><span>2024-06-20</span></li></ul>"
    )
    [item] = parse_listing(html, spec.url, spec.zone, None)
    assert item.published == datetime(2024, 6, 20, tzinfo=spec.zone)
