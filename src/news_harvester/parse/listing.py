"""HTML list pages -> RawItem list, by per-source CSS selectors with fallbacks or by discovery.

With selectors, each of item/link/title/date is tried in order and the first that matches wins.
Without selectors, article links are discovered: same site, an article-like path (a dated segment
such as /20240611/ or /2024-06/11/, or /art/2024/art_<hex>.html, or a numeric id page), anchor
text long enough to be a headline, outside navigation blocks. Zero items is an error.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

from news_harvester.errors import ParseError
from news_harvester.models import RawItem
from news_harvester.parse.dates import parse_date

_ARTICLE_PATH_RE = re.compile(
    r"/(?:19|20)\d{2}[-/]?\d{2}[-/]?\d{2}/|/art/(?:19|20)\d{2}/art_\w+\.s?html?$|/t(?:19|20)\d{6}_\d+\.s?html?$"
    r"|/(?:19|20)\d{4}/\d+\.s?html?$|/c_\d+\.s?html?$|/\d{5,}\.s?html?$",
    re.I,
)
_PATH_DATE_RE = re.compile(r"/((?:19|20)\d{2})[-/]?(\d{2})[-/]?(\d{2})/")
_NAV_ANCESTORS = ("nav", "header", "footer")
_NAV_CLASS_RE = re.compile(r"nav|menu|footer|header|breadcrumb|crumb|pagination|page-?bar|laypage", re.I)
MIN_TITLE_CHARS = 6


def parse_listing(
    html: str, base_url: str, zone: tzinfo, selectors: dict[str, list[str]] | None = None
) -> list[RawItem]:
    soup = BeautifulSoup(html, "lxml")
    sel = {k: v for k, v in (selectors or {}).items() if v}
    items = _by_selectors(soup, base_url, zone, sel) if sel.get("item") else _discover(soup, base_url, zone)
    if not items:
        how = f"selectors {sel.get('item')}" if sel.get("item") else "automatic link discovery"
        raise ParseError(f"list page yielded 0 items ({how}); the layout may have changed", code="parse.no_items")
    return items


def _by_selectors(soup: BeautifulSoup, base: str, zone: tzinfo, sel: dict[str, list[str]]) -> list[RawItem]:
    rows: list[Tag] = []
    for selector in sel["item"]:
        rows = soup.select(selector)
        if rows:
            break
    items: dict[str, RawItem] = {}
    for row in rows:
        anchor = _first(row, sel.get("link", [])) or row.find("a", href=True) or (row if row.name == "a" else None)
        if anchor is None or not anchor.get("href"):
            continue
        url = urljoin(base, str(anchor["href"]).strip())
        title_tag = _first(row, sel.get("title", []))
        title = _text(title_tag) if title_tag else str(anchor.get("title") or "") or _text(anchor)
        date_tag = _first(row, sel.get("date", []))
        date_text = _text(date_tag) if date_tag else _text(row)
        published = parse_date(date_text, zone) or _path_date(url, zone)
        if url not in items and title:
            items[url] = RawItem(url=url, title=title, published=published, published_raw=date_text or None)
    return list(items.values())


def _discover(soup: BeautifulSoup, base: str, zone: tzinfo) -> list[RawItem]:
    site = _site(base)
    items: dict[str, RawItem] = {}
    for anchor in soup.find_all("a", href=True):
        url = urljoin(base, str(anchor["href"]).strip())
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or _site(url) != site or not _ARTICLE_PATH_RE.search(parts.path):
            continue
        title = str(anchor.get("title") or "").strip() or _text(anchor)
        if len(title) < MIN_TITLE_CHARS or _in_navigation(anchor) or url in items:
            continue
        row = anchor.find_parent(["li", "tr", "dd", "p"]) or anchor
        published = parse_date(_text(row), zone) or _path_date(url, zone)
        items[url] = RawItem(url=url, title=title, published=published)
    return list(items.values())


def _first(row: Tag, selectors: list[str]) -> Tag | None:
    for selector in selectors:
        found = row.select_one(selector)
        if found is not None:
            return found
    return None


def _text(tag: Tag) -> str:
    return " ".join(tag.get_text(" ", strip=True).split())


def _site(url: str) -> str:
    """Registrable-ish site: the last two labels of the host (three for *.gov.cn, *.com.cn …)."""
    host = (urlsplit(url).hostname or "").lower()
    labels = host.split(".")
    keep = 3 if len(labels) >= 3 and labels[-2] in ("gov", "com", "org", "edu", "net", "ac") else 2
    return ".".join(labels[-keep:])


def _in_navigation(anchor: Tag) -> bool:
    for parent in anchor.parents:
        if parent.name in _NAV_ANCESTORS:
            return True
        classes = " ".join(parent.get("class") or []) + " " + str(parent.get("id") or "")
        if _NAV_CLASS_RE.search(classes):
            return True
    return False


def _path_date(url: str, zone: tzinfo) -> datetime | None:
    match = _PATH_DATE_RE.search(urlsplit(url).path)
    if not match:
        return None
    try:
        return datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=zone)
    except ValueError:
        return None
