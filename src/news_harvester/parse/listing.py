"""HTML list pages -> RawItem list, by per-source CSS selectors with fallbacks or by discovery.

With selectors, each of item/link/title/date is tried in order and the first that matches wins.
Without selectors, article links are discovered: same site, an article-like path (a dated segment
such as /20240611/, /2024-06/11/ or /20/0802/, or a leaf naming one document by an id with digits:
t20240611_123.html, c_1129981476.htm, art_<hex>.html, /p/6787608290; never index / list pages or
non-HTML files such as PDFs), anchor text long enough to be a headline, outside navigation
blocks (nav / header / footer / menu / breadcrumb / pager). Zero items is an error.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from urllib.parse import urldefrag, urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

from news_harvester.errors import ParseError
from news_harvester.models import RawItem
from news_harvester.parse.dates import parse_date

# A date in the path: /20240611/, /2024-06/11/, /202406/, /2020/7/2-<id>, /20/0802/ (yy/mmdd, NetEase).
_DATED_PATH_RE = re.compile(
    r"/(?:19|20)\d{2}[-_/]?(?:0[1-9]|1[0-2])(?:[-_/]?(?:0[1-9]|[12]\d|3[01]))?(?=[/_.-])"
    r"|/(?:19|20)\d{2}/(?:[1-9]|1[0-2])/(?:[1-9]|[12]\d|3[01])(?=[/_.-])"
    r"|/\d{2}/(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])/"
)
# A leaf that names one document: an id with 3+ digits (t20240611_123.html, c_1129981476.htm,
# art_<hex>.html, FK6DC69605503FCU.html, thread-172475-1-1.html, /p/6787608290).
_ID_STEM_RE = re.compile(r"^(?=[\w.-]{6,}$)(?=(?:\D*\d){3})")
_PAGE_EXTENSIONS = ("", "html", "htm", "shtml", "jhtml", "xhtml", "php", "asp", "aspx", "jsp")
_INDEX_LEAF_RE = re.compile(r"^(?:index|default|list|more|home)(?:[_-]\d+)?$", re.I)
_LETTER_RE = re.compile(r"[^\W\d_]")
_PATH_DATE_RE = re.compile(r"/((?:19|20)\d{2})[-/]?(\d{2})[-/]?(\d{2})/")
_NAV_ANCESTORS = ("nav", "header", "footer")
# Class / id words of navigation blocks, matched as words or word parts ("topnav", "header-content",
# "foot_links") but not inside other words ("canvas", "football").
_NAV_CLASS_RE = re.compile(
    r"nav(?:bar|igation|list|s)?(?![a-z])|menu|(?<![\w-])(?:(?:site|page|top|main|g)[-_]?)?header(?![a-z])"
    r"|foot(?:er)?(?![a-z])"
    r"|breadcrumb|crumb|pagination|pager(?![a-z])|page-?bar|laypage|copyright",
    re.I,
)
# Page-region ids of the YUI / Discuz tradition: #hd header, #nv nav, #ft footer.
_NAV_IDS = frozenset({"hd", "nv", "ft", "top", "topbar", "toolbar"})
# Inside an <article>, a <header> / <footer> is that article's own (HTML5), not the page's.
_PAGE_CHROME_RE = re.compile(r"header|foot", re.I)
MIN_TITLE_CHARS = 6
MIN_TITLE_LETTERS = 4
MAX_ROW_CHARS = 300
# Navigation class names are looked for this close to the link only: menus are shallow
# (nav > ul > li > a), while a far ancestor named "boardnav" or "nav-wrap" may hold the whole page.
MAX_NAV_CLASS_DEPTH = 6


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
        anchor = _first(row, sel.get("link", [])) or row_link(row)
        if anchor is None or not anchor.get("href"):
            continue
        url = urldefrag(urljoin(base, str(anchor["href"]).strip())).url  # #comments is the same page
        if urlsplit(url).scheme not in ("http", "https"):  # javascript:;, mailto:, # …
            continue
        title_tag = _first(row, sel.get("title", []))
        title = _text(title_tag) if title_tag else str(anchor.get("title") or "").strip() or _text(anchor)
        date_tag = _first(row, sel.get("date", []))
        date_text = _text(date_tag) if date_tag else _text(row)
        # Some lists print no date in the row but put it in the link's title ("…（2024年6月11日）").
        published = (
            parse_date(date_text, zone) or parse_date(str(anchor.get("title") or ""), zone) or _path_date(url, zone)
        )
        if url not in items and title:
            items[url] = RawItem(url=url, title=title, published=published, published_raw=date_text or None)
    return list(items.values())


def _discover(soup: BeautifulSoup, base: str, zone: tzinfo) -> list[RawItem]:
    site = site_of(base)
    items: dict[str, RawItem] = {}
    untitled: set[str] = set()
    for anchor in soup.find_all("a", href=True):
        url = urldefrag(urljoin(base, str(anchor["href"]).strip())).url  # #comments is the same page
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or site_of(url) != site or not is_article_path(parts.path):
            continue
        visible = _text(anchor)
        # An icon link (<a title="在新窗口打开"><img></a>) often precedes the headline link to the
        # same URL: a later anchor with visible text replaces a title taken from an attribute only,
        # even a headline shorter than MIN_TITLE_CHARS.
        if url in untitled:
            if len(_LETTER_RE.findall(visible)) >= 2 and not in_navigation(anchor):
                items[url] = RawItem(url=url, title=visible, published=items[url].published)
                untitled.discard(url)
            continue
        title = str(anchor.get("title") or "").strip() or visible
        if url in items or not headline_like(title) or in_navigation(anchor):
            continue
        if not visible:
            untitled.add(url)
        published = _row_date(anchor, zone) or _path_date(url, zone)
        items[url] = RawItem(url=url, title=title, published=published)
    return list(items.values())


def row_link(row: Tag) -> Tag | None:
    """The headline link of a list row without a link selector: the first link whose text (or title) reads like
    a headline, so that a thumbnail link or a channel tag ("[社会]") before it is passed over; else the first
    link; else the row itself when it is a link."""
    links = [a for a in row.find_all("a", href=True)]
    for anchor in links:
        if headline_like(str(anchor.get("title") or "").strip() or _text(anchor)):
            return anchor
    if links:
        return links[0]
    return row if row.name == "a" and row.get("href") else None


def is_article_path(path: str) -> bool:
    """True for a path that names one article: a dated path or an id-like leaf (a file, or a
    WordPress-style /2024/06/11/slug/ directory), an HTML-ish extension (or none), and not an
    index / list page."""
    segments = [segment for segment in path.split("/") if segment]
    if not segments:
        return False
    leaf = segments[-1]
    if path.endswith("/") and len(leaf) < 6:  # /2024/06/, /world/: an archive or a section
        return False
    stem, _, extension = leaf.rpartition(".") if "." in leaf else (leaf, "", "")
    if not stem or extension.lower() not in _PAGE_EXTENSIONS or _INDEX_LEAF_RE.match(stem):
        return False
    return bool(_DATED_PATH_RE.search(path) or _ID_STEM_RE.match(stem))


def headline_like(title: str) -> bool:
    return len(title) >= MIN_TITLE_CHARS and len(_LETTER_RE.findall(title)) >= MIN_TITLE_LETTERS


def _row_date(anchor: Tag, zone: tzinfo) -> datetime | None:
    """Date printed next to the link: in the nearest enclosing row that is still short."""
    for depth, parent in enumerate(anchor.parents):
        if depth >= 3 or parent.name in ("body", "html", "[document]"):
            break
        text = _text(parent)
        if len(text) > MAX_ROW_CHARS:
            break
        if (found := parse_date(text, zone)) is not None:
            return found
    return None


def _first(row: Tag, selectors: list[str]) -> Tag | None:
    for selector in selectors:
        found = row.select_one(selector)
        if found is not None:
            return found
    return None


def _text(tag: Tag) -> str:
    return " ".join(tag.get_text(" ", strip=True).split())


def page_urls(list_url: str, pages: int, template: str = "index_{n}.html", start: int = 1) -> list[str]:
    """URLs of static list pages 2 … ``pages`` (the list URL is page 1), in order.

    ``template`` is resolved against ``list_url`` with ``{n}`` replaced by ``start``, ``start + 1`` …:
    the gov-CMS convention is ``…/index.html``, then ``…/index_1.html``, ``…/index_2.html``.
    """
    return [urljoin(list_url, template.replace("{n}", str(start + k))) for k in range(max(pages - 1, 0))]


def site_of(url: str) -> str:
    """Registrable-ish site: the last two labels of the host (three for *.gov.cn, *.com.cn …)."""
    host = (urlsplit(url).hostname or "").lower()
    labels = host.split(".")
    keep = 3 if len(labels) >= 3 and labels[-2] in ("gov", "com", "org", "edu", "net", "ac") else 2
    return ".".join(labels[-keep:])


def in_navigation(anchor: Tag) -> bool:
    in_article = anchor.find_parent("article") is not None
    for depth, parent in enumerate(anchor.parents):
        if parent.name == "[document]":
            break
        if parent.name in _NAV_ANCESTORS and not (in_article and parent.name != "nav"):
            return True
        if depth >= MAX_NAV_CLASS_DEPTH:
            continue
        element_id = str(parent.get("id") or "")
        if element_id.lower() in _NAV_IDS:
            return True
        words = " ".join(parent.get("class") or []) + " " + element_id
        match = _NAV_CLASS_RE.search(words)
        if match and not (in_article and _PAGE_CHROME_RE.search(match.group(0))):
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
