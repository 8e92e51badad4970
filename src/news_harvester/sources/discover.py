"""Paste a URL, get a source: find the best way to follow a page and a ready ``sources.yaml`` entry.

In the order an admin would want them: the URL is itself a feed or a JSON list; a feed the page links
(``<link rel="alternate">``, an RSS link); the JSON list behind the page (the Xinhua-built CMS's
``ds_<id>.json``, a ``.json`` address in its scripts); the page as an HTML list (row / link / date
selectors worked out from the page, pagination from its pager); feeds at common paths of the site.
Each candidate is then read exactly as a harvest would read it (``harvest.read.preview_source``: the
list, then one article end to end); the first that yields items wins, and the reasons say what was
tried. Nothing is stored: saving is the caller's step (``sources.admin.add_source``).
"""

from __future__ import annotations

import itertools
import re
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from bs4 import BeautifulSoup
from pydantic import ValidationError

from news_harvester.errors import HarvesterError, SourceError
from news_harvester.harvest.fetch import PageGetter
from news_harvester.harvest.read import Preview, Reader, preview_source
from news_harvester.models import FetchResult, FetchState, NotModified
from news_harvester.parse.feeds import parse_feed
from news_harvester.parse.list_layout import ListLayout, find_pagination, infer_layout
from news_harvester.parse.listing import site_of
from news_harvester.parse.page_leads import (
    COMMON_FEED_PATHS,
    PageLeads,
    html_fragment_path,
    infer_json_fields,
    looks_like_feed,
    looks_like_json,
    read_leads,
)
from news_harvester.source_spec import SourceSpec

DEFAULT_ZONE = "Asia/Shanghai"
DEFAULT_WEIGHT = 5
MAX_FEED_TRIES = 3
_LOGIN_PATH_RE = re.compile(r"/(?:login|signin|sign-in|passport|sso|cas|auth)(?:[/.?]|$)", re.I)
_ID_CLEAN_RE = re.compile(r"[^a-z0-9]+")
_GENERIC_SEGMENTS = frozenset({"index", "list", "default", "home", "more", "www", "article", "news", "html", "htm"})


class DiscoveryError(HarvesterError):
    """The URL cannot be followed; ``code`` says why (``discover.*`` or the fetch error's own code)."""

    code = "discover.failed"

    def __init__(self, message: str, *, code: str | None = None, http_status: int | None = None) -> None:
        super().__init__(message, code=code)
        self.http_status = http_status


@dataclass(frozen=True, slots=True)
class Reason:
    """One step of the decision, for the admin: a stable code, English for the CLI, Chinese for the page."""

    code: str
    en: str
    zh: str


@dataclass(frozen=True, slots=True)
class Candidate:
    kind: str
    entry: dict[str, Any]
    base_confidence: float
    reasons: list[Reason]


@dataclass(slots=True)
class Discovery:
    """What ``discover`` found: the entry to save, what reading it yielded, and why."""

    url: str
    entry: dict[str, Any]
    preview: Preview
    confidence: float
    reasons: list[Reason] = field(default_factory=list)
    tried: list[Reason] = field(default_factory=list)
    """Candidates read and given up, with why (a linked feed that answered 404 …)."""

    @property
    def kind(self) -> str:
        return str(self.entry["kind"])


async def discover(
    url: str,
    fetcher: PageGetter,
    *,
    now: datetime,
    taken_ids: set[str] | frozenset[str] = frozenset(),
    common_path: bool = False,
) -> Discovery:
    """Work out how to follow ``url``; raise :class:`DiscoveryError` when nothing on it can be followed."""
    url = url.strip()
    if not re.match(r"^https?://[^/\s]+", url):
        raise DiscoveryError(f"not an http(s) URL: {url!r}", code="discover.invalid_url")
    if not isinstance(fetcher, FetchedOnce):
        fetcher = FetchedOnce(fetcher)
    page = await _fetch(fetcher, url)
    zone = ZoneInfo(DEFAULT_ZONE)
    tried: list[Reason] = []
    candidates = _candidates_of(page, common_path)
    leads: PageLeads | None = None
    if candidates is None:
        leads = read_leads(page.text, page.final_url)
        candidates = await _page_candidates(fetcher, page, leads, zone, tried)
    for candidate in candidates:
        entry = _complete(candidate.entry, page, leads, taken_ids)
        try:
            spec = SourceSpec(**entry)
        except ValidationError as exc:
            tried.append(
                Reason("discover.invalid_entry", f"{candidate.kind}: {exc.errors()[0]['msg']}", "生成的配置无效")
            )
            continue
        reader = Reader(fetcher)
        try:
            preview = await preview_source(reader, spec, now)
        except SourceError as exc:
            tried.append(_tried(candidate, exc))
            continue
        if not preview.items:
            continue
        entry["schedule"] = suggest_schedule(preview)
        confidence, extra = _confidence(candidate, preview)
        return Discovery(url, entry, preview, confidence, candidate.reasons + extra, tried)
    if leads is not None and not leads.feeds and (fallback := await _common_path_feed(fetcher, page, zone)):
        return await discover(fallback, fetcher, now=now, taken_ids=taken_ids, common_path=True)
    if _login_wall(page):
        raise DiscoveryError(
            f"{page.final_url} asks for a login; nothing can be read without one", code="discover.login"
        )
    raise DiscoveryError(
        f"no feed, JSON list or list of article links found on {page.final_url}", code="discover.no_items"
    )


class FetchedOnce:
    """The fetcher of one discovery: every address is fetched once and its answer, or its failure, reused.

    Without it a discovery fetched the page it was given twice (to find its candidates, then again as the HTML
    list candidate's listing) and a linked feed twice (to check it, then to preview it): slower, and ruder to the
    site. Conditional requests (``state``) go through; the Referer header does not make another request (a
    discovery sends no other headers that vary)."""

    def __init__(self, fetcher: PageGetter) -> None:
        self.fetcher = fetcher
        self._answers: dict[tuple[str, str | None, bool | None], FetchResult | NotModified | SourceError] = {}

    async def get(
        self,
        url: str,
        *,
        state: FetchState | None = None,
        headers: dict[str, str] | None = None,
        encoding: str | None = None,
        respect_robots: bool | None = None,
    ) -> FetchResult | NotModified:
        if state is not None:
            return await self.fetcher.get(
                url, state=state, headers=headers, encoding=encoding, respect_robots=respect_robots
            )
        key = (url, encoding, respect_robots)
        answer = self._answers.get(key)
        if answer is None:
            try:
                answer = await self.fetcher.get(url, headers=headers, encoding=encoding, respect_robots=respect_robots)
            except SourceError as exc:
                answer = exc
            self._answers[key] = answer
        if isinstance(answer, SourceError):
            raise answer
        return answer


async def _fetch(fetcher: PageGetter, url: str) -> FetchResult:
    try:
        page = await fetcher.get(url)
    except SourceError as exc:
        raise DiscoveryError(str(exc), code=exc.code, http_status=exc.http_status) from None
    assert not isinstance(page, NotModified)  # unconditional
    return page


def _candidates_of(page: FetchResult, common_path: bool) -> list[Candidate] | None:
    """Candidates when the URL is itself a feed or JSON; None for an HTML page."""
    if looks_like_feed(page.text):
        reason = Reason("feed.direct", "the URL is a feed", "网址本身就是 RSS/Atom 订阅源")
        if common_path:
            reason = Reason(
                "feed.common_path",
                f"the page offers no list; the site publishes a feed at {page.final_url}",
                f"页面上没有可用的列表；网站在常见位置 {page.final_url} 提供订阅源（可能包含其他栏目）",
            )
        entry = {"kind": "feed", "url": page.final_url}
        title = _feed_title(page)
        if title:
            entry["name"] = title
        return [Candidate("feed", entry, 0.6 if common_path else 0.95, [reason])]
    if looks_like_json(page.text):
        return _json_candidates(
            page.text, page.final_url, {}, Reason("json.direct", "the URL is a JSON list", "网址本身是 JSON 列表")
        )
    return None


async def _page_candidates(
    fetcher: PageGetter, page: FetchResult, leads: PageLeads, zone: ZoneInfo, tried: list[Reason]
) -> list[Candidate]:
    candidates: list[Candidate] = []
    for feed_url in leads.feeds[:MAX_FEED_TRIES]:
        if await _is_feed(fetcher, feed_url, zone, tried):
            zh = f"页面链接了订阅源 {feed_url}"
            candidates.append(
                Candidate(
                    "feed",
                    {"kind": "feed", "url": feed_url},
                    0.9,
                    [Reason("feed.linked", f"the page links the feed {feed_url}", zh)],
                )
            )
            break
    if leads.datasource is not None:
        ds = leads.datasource
        document = await _get_text(fetcher, ds.json_url, page.final_url, tried)
        if document is not None:
            entry = {
                "kind": "json",
                "url": page.final_url,
                "datasource": {"pattern": ds.pattern, "url": ds.url_template},
            }
            reason = Reason(
                "json.datasource",
                f"the page names its data source {ds.id}: the list is {ds.json_url}",
                f"页面的列表来自数据源 {ds.json_url}",
            )
            candidates += _json_candidates(document, ds.json_url, entry, reason)
    for json_url in leads.json_urls:
        document = await _get_text(fetcher, json_url, page.final_url, tried)
        if document is not None:
            reason = Reason(
                "json.script", f"the page loads a JSON list from {json_url}", f"页面脚本从 {json_url} 读取 JSON 列表"
            )
            candidates += _json_candidates(document, json_url, {"url": json_url}, reason)
    candidates += html_candidates(page.text, page.final_url, zone)
    return candidates


def _feed_title(page: FetchResult) -> str:
    """The feed's own name, without a trailing site section ("数字贸易 – 示例网" → 示例网, as for pages)."""
    try:
        title = parse_feed(page.text, page.final_url, ZoneInfo(DEFAULT_ZONE)).title or ""
    except SourceError:
        return ""
    parts = [p.strip() for p in re.split(r"\s+[-–—|»]\s+|_", title) if p.strip()]
    return parts[-1] if parts else ""


async def _common_path_feed(fetcher: PageGetter, page: FetchResult, zone: ZoneInfo) -> str | None:
    """A feed at a path where sites tend to publish one, when the page itself offered nothing to follow."""
    for path in COMMON_FEED_PATHS:
        feed_url = urljoin(page.final_url, path)
        if await _is_feed(fetcher, feed_url, zone, []):
            return feed_url
    return None


def html_candidates(html: str, url: str, zone: ZoneInfo) -> list[Candidate]:
    """The page as an HTML list: its rows as selectors when it has a list shape, then its article links found
    by their addresses (what a harvest does without selectors). Pure; the bench scores it on real pages."""
    candidates = []
    layout = infer_layout(html, url, zone)
    if layout is not None:
        candidates.append(_html_candidate(url, layout))
    by_links: dict[str, Any] = {"kind": "html", "url": url}
    if (pagination := find_pagination(BeautifulSoup(html, "lxml"), url)) is not None:
        by_links["pagination"] = {"pages": 2, "page_url": pagination.page_url, "start": pagination.start}
    reason = Reason(
        "html.links",
        "article links found by their addresses (no list shape)",
        "按文章链接的网址特征自动识别条目（未找到整齐的列表结构）",
    )
    candidates.append(Candidate("html", by_links, 0.45, [reason]))
    return candidates


def _html_candidate(url: str, layout: ListLayout) -> Candidate:
    entry: dict[str, Any] = {"kind": "html", "url": url, "selectors": layout.selectors}
    lists = f"{layout.lists} 个列表，" if layout.lists > 1 else ""
    reasons = [
        Reason(
            "html.list",
            f"an HTML list of {layout.rows} rows ({layout.selectors['item'][0]}), {layout.dated_share:.0%} dated",
            f"页面是 HTML 列表：{lists}{layout.rows} 行（{layout.selectors['item'][0]}），"
            f"{layout.dated_share:.0%} 的行带日期",
        )
    ]
    if layout.pagination is not None:
        entry["pagination"] = {"pages": 2, "page_url": layout.pagination.page_url, "start": layout.pagination.start}
        reasons.append(
            Reason(
                "html.pagination",
                f"later pages: {layout.pagination.page_url} (read 2 pages; raise pages to read more)",
                f"识别到分页（{layout.pagination.evidence}），默认读取前 2 页",
            )
        )
    if layout.skipped_lists:
        shown = "、".join(layout.skipped_lists[:3])
        reasons.append(Reason("html.skipped_lists", f"smaller lists left out: {shown}", f"较小的列表未纳入：{shown}"))
    confidence = 0.6 + 0.2 * layout.dated_share + 0.1 * min(layout.article_path_share, 1.0)
    return Candidate("html", entry, confidence, reasons)


def _json_candidates(text: str, url: str, entry: dict[str, Any], reason: Reason) -> list[Candidate]:
    fields = infer_json_fields(text)
    if fields is not None:
        mapping = ", ".join(f"{k}={v}" for k, v in fields.fields.items())
        found = Reason(
            "json.fields", f"{fields.rows} rows, fields {mapping}", f"JSON 中有 {fields.rows} 行，字段：{mapping}"
        )
        return [
            Candidate("json", {"kind": "json", "url": url, **entry, "fields": fields.fields}, 0.85, [reason, found])
        ]
    path = html_fragment_path(text)
    if path is not None and "datasource" not in entry:
        found = Reason(
            "json.html_fragment", f"the JSON carries the list as HTML at {path}", f"JSON 的 {path} 中是 HTML 列表片段"
        )
        return [Candidate("html", {"kind": "html", "url": url, "html_path": path}, 0.75, [reason, found])]
    return []


async def _is_feed(fetcher: PageGetter, url: str, zone: ZoneInfo, tried: list[Reason]) -> bool:
    text = await _get_text(fetcher, url, None, tried)
    if text is None or not looks_like_feed(text):
        return False
    try:
        return bool(parse_feed(text, url, zone).items)
    except SourceError as exc:
        tried.append(Reason(exc.code, f"feed {url}: {exc}", f"订阅源 {url} 无法读取（{exc.code}）"))
        return False


async def _get_text(fetcher: PageGetter, url: str, referer: str | None, tried: list[Reason]) -> str | None:
    try:
        result = await fetcher.get(url, headers={"Referer": referer} if referer else None)
    except SourceError as exc:
        tried.append(Reason(exc.code, f"{url}: {exc}", f"{url} 无法读取（{exc.code}）"))
        return None
    return None if isinstance(result, NotModified) else result.text


def _tried(candidate: Candidate, exc: SourceError) -> Reason:
    return Reason(
        exc.code,
        f"{candidate.kind} {candidate.entry.get('url')}: {exc}",
        f"{candidate.kind} 方式读取失败（{exc.code}）",
    )


def _complete(
    entry: dict[str, Any], page: FetchResult, leads: PageLeads | None, taken: set[str] | frozenset[str]
) -> dict[str, Any]:
    """The candidate as a full sources.yaml entry: id, name, schedule, weight, language, in file order."""
    name = (leads.site_name if leads else "") or urlsplit(page.final_url).hostname or "新信息源"
    out: dict[str, Any] = {
        "id": suggest_id(page.final_url, taken),
        "name": name[:60],
        "kind": entry["kind"],
        "url": entry["url"],
        "schedule": "1h",
        "weight": DEFAULT_WEIGHT,
    }
    if leads is not None and leads.language != "zh":
        out |= {"language": leads.language}
    out |= {k: v for k, v in entry.items() if k not in ("kind", "url")}
    return out


def suggest_id(url: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A readable, unused id from the address: ``www.mofcom.gov.cn/article/xwfb/`` → ``mofcom-xwfb``."""
    parts = urlsplit(url)
    host = (parts.hostname or "source").lower()
    labels = [label for label in site_of(url).split(".") if label != "www"]
    site = "local" if re.fullmatch(r"[\d.]+|\[?[\da-f:]+\]?", host) else labels[0]
    first = host.split(".")[0]
    sub = first if site != "local" and host.count(".") >= 2 and first not in ("www", site) else ""
    segments = [s.rsplit(".", 1)[0].lower() for s in parts.path.split("/") if s]
    meaningful = [s for s in segments if s not in _GENERIC_SEGMENTS and not s.isdigit()]
    words = [w for w in (site, sub, *(meaningful[-1:])) if w]
    base = _ID_CLEAN_RE.sub("-", "-".join(words)).strip("-")[:48] or "source"
    if not base[0].isalnum():
        base = "s-" + base
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def suggest_schedule(preview: Preview) -> str:
    """How often to look, from how often the list gains items: the median gap between its dated items."""
    times = sorted({item.published for item in preview.items if item.published is not None}, reverse=True)
    if len(times) < 3:
        return "1h"
    gap_hours = statistics.median((a - b).total_seconds() for a, b in itertools.pairwise(times)) / 3600
    if gap_hours < 2:
        return "30m"
    if gap_hours < 12:
        return "1h"
    if gap_hours < 72:
        return "4h"
    return "0 9 * * *"


def _confidence(candidate: Candidate, preview: Preview) -> tuple[float, list[Reason]]:
    reasons: list[Reason] = []
    score = candidate.base_confidence
    count = len(preview.items)
    if count >= 10:
        score += 0.05
    elif count < 3:
        score -= 0.15
        reasons.append(Reason("items.few", f"only {count} items", f"只找到 {count} 条"))
    article = preview.article
    if article is None:
        score -= 0.25
        reasons.append(Reason("article.none", "no article could be read end to end", "没有一篇文章能完整读取"))
    else:
        dated = "" if article.published_at else "，但没有日期"
        reasons.append(
            Reason(
                "article.read",
                f"an article read end to end: {article.title[:40]}" + ("" if article.published_at else " (no date)"),
                f"已完整读取一篇文章：{article.title[:40]}{dated}",
            )
        )
        if article.published_at is None:
            score -= 0.1
    return max(0.05, min(score, 0.99)), reasons


def _login_wall(page: FetchResult) -> bool:
    text = page.text.lower()
    return bool(_LOGIN_PATH_RE.search(urlsplit(page.final_url).path)) or (
        'type="password"' in text or "type='password'" in text
    )
