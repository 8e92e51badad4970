"""What a fetched page says about other ways to follow it: feeds it links, JSON lists behind it, its
site's name and its language. Used by ``sources discover``; values in, records out, nothing fetched.

Feeds: ``<link rel="alternate">`` of an RSS / Atom / JSON Feed type (comment feeds left out), then links
whose text or path says RSS / Atom / feed. JSON: the Xinhua-built CMS names its list's data source in an
attribute (``datasource:<id>`` → ``ds_<id>.json`` beside the page); other pages load their list from a
``.json`` address written in a script or a ``data-*`` attribute.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from bs4 import BeautifulSoup

FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json", "text/xml"}
)
COMMON_FEED_PATHS = ("/feed", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml")
"""Where sites without a ``<link rel="alternate">`` still tend to publish a feed (WordPress, Hugo, Jekyll…)."""
_COMMENT_FEED_RE = re.compile(r"comment|评论", re.I)
_FEED_LINK_TEXT_RE = re.compile(r"^(?:rss|atom|feed|订阅|rss\s*订阅|rss\s*feed)$", re.I)
_FEED_PATH_RE = re.compile(r"(?:/|\.)(?:rss|atom|feed)(?:\.xml)?/?$|\.(?:rss|xml)$", re.I)
_DATASOURCE_RE = re.compile(r"datasource:(\w+)")
_JSON_URL_RE = re.compile(r"""["']((?:https?:)?[^"'\s<>]*?\.json(?:\?[^"'\s<>]*)?)["']""")
_TITLE_SPLIT_RE = re.compile(r"\s*(?:[-_|–—·•»]|\s-\s)\s*")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_FEED_START_RE = re.compile(r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:rss|feed|rdf:RDF)\b", re.I | re.S)
MAX_JSON_LEADS = 3


@dataclass(frozen=True, slots=True)
class Datasource:
    """A Xinhua-built CMS list: the id found on the page and the JSON URL built from it."""

    id: str
    json_url: str
    pattern: str
    url_template: str


@dataclass(frozen=True, slots=True)
class PageLeads:
    feeds: list[str]
    datasource: Datasource | None
    json_urls: list[str]
    site_name: str
    language: str


def read_leads(html: str, base_url: str) -> PageLeads:
    soup = BeautifulSoup(html, "lxml")
    return PageLeads(
        feeds=_feed_links(soup, base_url),
        datasource=_datasource(html, base_url),
        json_urls=_json_urls(html, base_url),
        site_name=site_name(soup),
        language=language(soup),
    )


def looks_like_feed(text: str) -> bool:
    """True when the document starts as RSS, Atom or RDF (after the prolog and comments)."""
    return bool(_FEED_START_RE.match(text[:4096]))


def looks_like_json(text: str) -> bool:
    stripped = text.lstrip()[:1]
    return stripped in ("{", "[")


def _feed_links(soup: BeautifulSoup, base: str) -> list[str]:
    """Linked feeds, the one whose path shares most with the page's first (a category page links the site's
    feed and its own; the category feed is the page's list)."""
    found: list[str] = []
    for link in soup.find_all("link", href=True):
        rel = {str(r).lower() for r in (link.get("rel") or [])}
        kind = str(link.get("type") or "").split(";")[0].strip().lower()
        title = str(link.get("title") or "")
        href = str(link["href"])
        if "alternate" in rel and kind in FEED_TYPES and not _COMMENT_FEED_RE.search(title + href):
            found.append(urldefrag(urljoin(base, href.strip())).url)
    for anchor in soup.find_all("a", href=True):
        href = str(anchor["href"]).strip()
        text = " ".join(anchor.get_text(" ", strip=True).split())
        url = urldefrag(urljoin(base, href)).url
        if (
            urlsplit(url).scheme in ("http", "https")
            and (_FEED_LINK_TEXT_RE.match(text) or _FEED_PATH_RE.search(urlsplit(url).path))
            and not _COMMENT_FEED_RE.search(text + href)
            and url not in found
        ):
            found.append(url)
    page_path = urlsplit(base).path
    return sorted(dict.fromkeys(found), key=lambda url: -_common_prefix(urlsplit(url).path, page_path))


def _common_prefix(a: str, b: str) -> int:
    count = 0
    for x, y in zip(a.split("/"), b.split("/"), strict=False):
        if x != y:
            break
        count += 1
    return count


def _datasource(html: str, base: str) -> Datasource | None:
    match = _DATASOURCE_RE.search(html)
    if match is None:
        return None
    template = "ds_{id}.json"
    return Datasource(match[1], urljoin(base, template.replace("{id}", match[1])), r"datasource:(\w+)", template)


def _json_urls(html: str, base: str) -> list[str]:
    """``.json`` addresses the page names on its own site (list data loaded by a script)."""
    host = urlsplit(base).hostname
    urls: list[str] = []
    for match in _JSON_URL_RE.finditer(html):
        url = urljoin(base, match[1])
        if urlsplit(url).hostname == host and url not in urls and "manifest" not in url:
            urls.append(url)
        if len(urls) >= MAX_JSON_LEADS:
            break
    return urls


def site_name(soup: BeautifulSoup) -> str:
    """The site's own name: ``og:site_name``, the gov ``SiteName`` meta, else the last part of the title
    ("商务新闻_商务部网站" → 商务部网站)."""
    for key, value in (("property", "og:site_name"), ("name", "SiteName"), ("name", "sitename"), ("name", "site_name")):
        meta = soup.find("meta", attrs={key: value})
        if meta is not None and str(meta.get("content") or "").strip():
            return str(meta["content"]).strip()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    parts = [p for p in _TITLE_SPLIT_RE.split(title) if p.strip()]
    return parts[-1].strip() if parts else ""


def language(soup: BeautifulSoup) -> str:
    """``zh`` or ``en`` (the two the extractor reads differently): the ``lang`` attribute, else the text."""
    html = soup.find("html")
    declared = str(html.get("lang") or "").lower() if html is not None else ""
    if declared.startswith("zh"):
        return "zh"
    if declared.startswith("en"):
        return "en"
    text = soup.get_text(" ", strip=True)[:5000]
    return "zh" if len(_CJK_RE.findall(text)) > 0.1 * max(len(text), 1) else "en"


# --------------------------------------------------------------------------- JSON lists

_TITLE_KEY_RE = re.compile(r"(?<!sub)(?<!sub_)title$|headline|^name$|biaoti|^tit$|^subject$", re.I)
_URL_KEY_RE = re.compile(r"url|link|href|^path$", re.I)
# Publication first; an "updated" time is the fallback.
_DATE_KEY_RES = (
    re.compile(r"publish|^pub|release|fbsj", re.I),
    re.compile(r"(?<!up)date|time|created|ctime", re.I),
    re.compile(r"update|modif", re.I),
)
_SUMMARY_KEY_RE = re.compile(r"summary|abstract|desc|intro|digest|brief", re.I)
_ID_KEY_RE = re.compile(r"^(?:id|guid|uuid|docid|contentid|articleid|newsid)$", re.I)
_AUTHOR_KEY_RE = re.compile(r"^(?:author|source|editor|writer)$", re.I)
_URLISH_RE = re.compile(r"^(?:https?:)?//|^\.{0,2}/[\w-]|\.s?html?(?:\?|$)|\.htm(?:\?|$)", re.I)
MIN_JSON_ROWS = 2
MAX_JSON_DEPTH = 4


@dataclass(frozen=True, slots=True)
class JsonFields:
    """A ``fields`` mapping for sources.yaml and how many rows it reads."""

    fields: dict[str, str]
    rows: int


def infer_json_fields(text: str) -> JsonFields | None:
    """The list in a JSON document (the largest array of objects with a title and a link) as a field
    mapping, or None. Keys are chosen by what their values look like, helped by their names."""
    try:
        document = json.loads(text)
    except ValueError:
        return None
    best: JsonFields | None = None
    for path, rows in _arrays(document, "", 0):
        fields = _row_fields(rows)
        if fields is not None and (best is None or len(rows) > best.rows):
            best = JsonFields({"items": path or ".", **fields}, len(rows))
    return best


def _arrays(value: Any, path: str, depth: int) -> list[tuple[str, list[dict[str, Any]]]]:
    found: list[tuple[str, list[dict[str, Any]]]] = []
    if depth > MAX_JSON_DEPTH:
        return found
    if isinstance(value, list):
        rows = [row for row in value if isinstance(row, dict)]
        if len(rows) >= MIN_JSON_ROWS:
            found.append((path, rows))
    elif isinstance(value, dict):
        for key, child in value.items():
            if isinstance(key, str) and "." not in key and "|" not in key:
                found += _arrays(child, f"{path}.{key}" if path else key, depth + 1)
    return found


def _row_fields(rows: list[dict[str, Any]]) -> dict[str, str] | None:
    sample = rows[:50]
    keys = [k for k in dict.fromkeys(k for row in sample for k in row) if isinstance(k, str)]

    def share(key: str, test: Any) -> float:
        return sum(1 for row in sample if test(row.get(key))) / len(sample)

    def datey(value: Any) -> bool:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)  # "1718076600": Unix time as a string
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return 946_684_800 <= value <= 4_102_444_800_000  # 2000 … 2100, seconds or milliseconds
        return isinstance(value, str) and bool(re.search(r"(?:19|20)\d{2}\D{1,3}\d{1,2}\D{1,3}\d{1,2}", value))

    def texty(value: Any) -> bool:
        return (
            isinstance(value, str)
            and 4 <= len(value.strip()) <= 300
            and not _URLISH_RE.search(value.strip())
            and not datey(value)
        )

    def urlish(value: Any) -> bool:
        return isinstance(value, str) and bool(_URLISH_RE.search(value.strip()))

    def pick(pattern: re.Pattern[str], test: Any, floor: float) -> str | None:
        scored = [(share(k, test) + (0.5 if pattern.search(k) else 0), k) for k in keys if share(k, test) >= floor]
        return max(scored)[1] if scored else None

    title, url = pick(_TITLE_KEY_RE, texty, 0.3), pick(_URL_KEY_RE, urlish, 0.6)
    if title is None or url is None:
        return None
    if share(title, texty) < 0.95:
        # A flash list titles some rows only (cls.cn): its text stands in for the missing title.
        others = [k for k in keys if k not in (title, url) and share(k, lambda v: isinstance(v, str) and v.strip())]
        filler = max(others, key=lambda k: share(k, texty), default=None)
        if filler is not None and share(filler, texty) > share(title, texty):
            title = f"{title}|{filler}"
        elif share(title, texty) < 0.6:
            return None
    fields = {"title": title, "url": url}
    used = {title, url, *title.split("|")}
    for name, patterns, test in (
        ("date", _DATE_KEY_RES, datey),
        ("summary", (_SUMMARY_KEY_RE,), texty),
        ("id", (_ID_KEY_RE,), lambda v: isinstance(v, (str, int)) and not isinstance(v, bool)),
        ("author", (_AUTHOR_KEY_RE,), lambda v: isinstance(v, str) and 2 <= len(v.strip()) <= 60),
    ):
        for pattern in patterns:
            named = [k for k in keys if pattern.search(k) and k not in used and share(k, test) >= 0.6]
            if named:
                fields[name] = named[0]
                break
    return fields


_FRAGMENT_LINK_RE = re.compile(r"<a\s[^>]*href", re.I)


def html_fragment_path(text: str) -> str | None:
    """The dotted path of an HTML list fragment carried in JSON (gateway CMSs: ``{"data": {"html": "<ul>…"}}``)."""
    try:
        document = json.loads(text)
    except ValueError:
        return None

    def walk(value: Any, path: str, depth: int) -> str | None:
        if isinstance(value, str):
            # A key named for markup may carry a list of one (a quiet column); any other string needs two links.
            enough = 1 if re.search(r"html|content|list", path.rsplit(".", 1)[-1], re.I) else MIN_JSON_ROWS
            return path if len(_FRAGMENT_LINK_RE.findall(value)) >= enough else None
        if isinstance(value, dict) and depth < MAX_JSON_DEPTH:
            for key, child in value.items():
                if (
                    isinstance(key, str)
                    and "." not in key
                    and (found := walk(child, f"{path}.{key}" if path else key, depth + 1))
                ):
                    return found
        return None

    return walk(document, "", 0)
