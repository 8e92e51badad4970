"""Recognise pages that are not what they claim: JavaScript redirects, WAF challenges, iframed tables.

Pure helpers over a page's text; the pipeline decides what to fetch next.
No network access, and never raises on odd markup: a helper that cannot tell answers "no".

* ``redirect_target``: the one URL a redirect page sends the browser to (``<meta http-equiv=refresh>``,
  MOFCOM's ``_cofing1={href:"…"}``, and on a page with almost no visible text ``location.href='…'``,
  ``location.replace("…")`` and their variants). A real article that merely contains a conditional
  mobile redirect in a script is never a redirect page.
* ``challenge_reason``: why a 200 response is a bot challenge rather than content (a small HTML page
  without content, with WAF markers such as 安全验证 / ``acw_sc__v2`` / ``__jsl_clearance``, or with
  a script-only body).
* ``iframe_urls`` / ``table_html``: same-site iframes of an article body and the data tables inside
  the documents they load (MOFCOM publishes statistics tables that way).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import unescape
from urllib.parse import urldefrag, urljoin, urlsplit

from bs4 import BeautifulSoup, Tag
from soupsieve import SelectorSyntaxError

from news_harvester.parse.listing import site_of

MAX_CHALLENGE_BYTES = 4096
"""A challenge page is small: under this many bytes, WAF markers or a script-only body suffice."""
MAX_VENDOR_CHALLENGE_BYTES = 65536
"""Vendor challenge pages (Cloudflare, Akamai, Aliyun …) may be larger; up to this size their own
markers count when the page also has almost no visible text."""
THIN_TEXT_CHARS = 200
"""Visible text (outside head, script, style, noscript) below which a page has no content of its own."""
CHALLENGE_TEXT_CHARS = 300
"""A challenge page says a sentence or two ("请完成安全验证…"); a page with more text is content."""
SCRIPT_ONLY_TEXT_CHARS = 20
MAX_REFRESH_DELAY = 10.0
"""A meta refresh later than this is an auto-reload, not a redirect."""
MAX_IFRAMES = 3

# Generic markers of challenge / verification pages (Chinese gov-site WAFs and bot managers).
_MARKERS: tuple[str, ...] = (
    "安全验证",
    "访问验证",
    "人机验证",
    "滑动验证",
    "请开启JavaScript",
    "请开启 JavaScript",
    "请启用JavaScript",
    "请打开JavaScript",
    "浏览器安全检查",
    "please enable javascript",
    "enable javascript and cookies",
    "checking your browser",
    "just a moment...",
)
# Vendor markers: specific enough to count on a larger page too (when it has no content).
_VENDOR_MARKERS: tuple[str, ...] = (
    "__jsl_clearance",
    "acw_sc__v2",
    "acw_tc",
    "_waf_",
    "waf_sc",
    "cf-browser-verification",
    "cf_chl_",
    "challenge-platform",
    "cf-challenge",
    "_incapsula_resource",
    "incap_ses_",
    "bm-verify",
    "_abck",
    "akamai-bot",
    "errors.edgesuite.net",
    "sec-if-cpt",
    "yunsuo_session_verify",
    "safedog",
)

_COFING_RE = re.compile(r"""_cofing1\s*=\s*\{\s*["']?href["']?\s*:\s*(["'])(.+?)\1""", re.S)
# location.href = '…' / window.location = "…" / top.location.href='…' / document.location.href = '…',
# only when the literal is the whole value (not concatenated: "…" + path).
_LOCATION_ASSIGN_RE = re.compile(
    r"""(?:\b(?:window|top|self|parent|document)\s*\.\s*)?\blocation(?:\s*\.\s*href)?\s*=\s*(["'])([^"'\n]+?)\1"""
    r"""\s*(?=[;,)}\n<]|$)"""
)
_LOCATION_CALL_RE = re.compile(r"""\blocation\s*\.\s*(?:replace|assign)\s*\(\s*(["'])([^"'\n]+?)\1\s*\)""")
_REFRESH_RE = re.compile(r"""^\s*(\d+(?:\.\d+)?)?\s*[;,]?\s*(?:url\s*=\s*)?(["']?)(.*?)\2\s*$""", re.I | re.S)
_FEED_START_RE = re.compile(r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:rss|feed|rdf:RDF)\b", re.I | re.S)
_HTML_TAG_RE = re.compile(r"<(?:html|head|body|script|meta|noscript|div|p|title)\b", re.I)
_NOT_PAGE_EXTENSIONS = frozenset(
    {"pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "zip", "rar", "7z", "jpg", "jpeg", "png", "gif", "bmp",
     "webp", "svg", "mp3", "mp4", "flv", "swf", "avi", "mov", "wmv", "apk", "exe"}
)  # fmt: skip
DEFAULT_BODY_CONTAINERS: tuple[str, ...] = (
    ".art-con",
    ".artCon",
    ".TRS_Editor",
    "#zoom",
    "#detailContent",
    "#detail",
    "#con_con",
    ".article-content",
    "article",
)
"""Where gov-CMS and news-site article bodies live; iframes inside them are part of the article."""
_CHROME_TAGS = ("nav", "header", "footer")
_CHROME_CLASS_RE = re.compile(r"nav|menu|header|footer|foot\b|share|banner|advert|\bad\b|sidebar|comment", re.I)


def looks_like_html(text: str) -> bool:
    """True for an HTML document or fragment; False for JSON, plain text and XML feeds."""
    head = text[:2048]
    return not _FEED_START_RE.match(head) and bool(_HTML_TAG_RE.search(head if len(text) > 2048 else text))


def redirect_target(html: str, page_url: str) -> str | None:
    """The absolute http(s) URL a redirect page sends the browser to, or None.

    A ``<meta http-equiv="refresh">`` within MAX_REFRESH_DELAY seconds and MOFCOM's
    ``_cofing1={href:"…"}`` count on any page; script assignments to ``location`` only on a page
    with almost no visible text of its own, so that a real article carrying a mobile-redirect
    script is read as the article it is. A target equal to the page itself is ignored.
    """
    if not looks_like_html(html):
        return None
    lowered = html.lower()
    candidates: list[str] = []
    soup: BeautifulSoup | None = None
    if "refresh" in lowered:
        soup = _soup(html)
        for meta in soup.find_all("meta"):
            if str(meta.get("http-equiv") or "").strip().lower() != "refresh":
                continue
            match = _REFRESH_RE.match(str(meta.get("content") or ""))
            if match and match.group(3) and float(match.group(1) or 0) <= MAX_REFRESH_DELAY:
                candidates.append(match.group(3))
    if (cofing := _COFING_RE.search(html)) is not None:
        candidates.append(cofing.group(2))
    if "location" in lowered and (_LOCATION_CALL_RE.search(html) or _LOCATION_ASSIGN_RE.search(html)):
        soup = soup or _soup(html)
        if len(visible_text(soup)) < THIN_TEXT_CHARS:
            scripts = "\n".join(script.get_text() for script in soup.find_all("script"))
            for regex in (_LOCATION_CALL_RE, _LOCATION_ASSIGN_RE):
                candidates.extend(m.group(2) for m in regex.finditer(scripts))
    here = urldefrag(page_url).url
    for raw in candidates:
        target = urldefrag(urljoin(page_url, unescape(raw).strip())).url
        if urlsplit(target).scheme in ("http", "https") and target != here:
            return target
    return None


def challenge_reason(text: str, size: int, *, markers_only: bool = False) -> str | None:
    """Why this 200 response of ``size`` bytes is a bot challenge rather than content, or None.

    Only pages without content count (visible text under CHALLENGE_TEXT_CHARS: sites behind
    Cloudflare carry its challenge-platform script on every normal page). Small pages (under
    MAX_CHALLENGE_BYTES) with a verification marker or a body of scripts only; larger pages (under
    MAX_VENDOR_CHALLENGE_BYTES) with a WAF vendor's own marker. JSON, plain text and feeds are
    never challenges here. ``markers_only`` (for error pages: a script-only 404 is just a
    JavaScript-rendered error page) counts verification and vendor markers only.
    """
    if size >= MAX_VENDOR_CHALLENGE_BYTES or not looks_like_html(text):
        return None
    soup = _soup(text)
    visible = visible_text(soup)
    if len(visible) >= CHALLENGE_TEXT_CHARS:
        return None
    lowered = text.lower()
    vendor = [m for m in _VENDOR_MARKERS if m in lowered]
    if size >= MAX_CHALLENGE_BYTES:
        return f"WAF challenge page ({_kb(size)}; markers: {', '.join(vendor[:3])})" if vendor else None
    markers = [m for m in _MARKERS if m.lower() in lowered] + vendor
    if markers:
        return f"challenge page ({_kb(size)}; markers: {', '.join(markers[:3])})"
    if not markers_only and soup.find("script") is not None and len(visible) < SCRIPT_ONLY_TEXT_CHARS:
        noscript = " with <noscript>" if soup.find("noscript") is not None else ""
        return (
            f"script-only page{noscript} without content ({_kb(size)}): a WAF challenge "
            "or a JavaScript redirect that cannot be followed"
        )
    return None


def iframe_urls(html: str, page_url: str, containers: Sequence[str] = (), *, limit: int = MAX_IFRAMES) -> list[str]:
    """Absolute URLs of the same-site iframes that belong to an article's body, at most ``limit``.

    Iframes inside the first body container found (``containers`` first, then
    DEFAULT_BODY_CONTAINERS) count; when the page has none of them, every iframe outside page
    chrome (navigation, header, footer, share and ad blocks) does. Documents that are not pages
    (PDF, images, video) and the page itself are skipped.
    """
    if "<iframe" not in html.lower():
        return []
    soup = _soup(html)
    scope: Tag | None = None
    for selector in (*containers, *DEFAULT_BODY_CONTAINERS):
        scope = _select_one(soup, selector)
        if scope is not None and scope.find("iframe") is not None:
            break
        scope = None
    frames = (scope or soup).find_all("iframe")
    site, here = site_of(page_url), urldefrag(page_url).url
    urls: list[str] = []
    for frame in frames:
        src = str(frame.get("src") or frame.get("data-src") or "").strip()
        if not src:
            continue
        url = urldefrag(urljoin(page_url, src)).url
        parts = urlsplit(url)
        extension = parts.path.rsplit(".", 1)[-1].lower() if "." in parts.path.rsplit("/", 1)[-1] else ""
        if (
            parts.scheme not in ("http", "https")
            or site_of(url) != site
            or url == here
            or url in urls
            or extension in _NOT_PAGE_EXTENSIONS
            or (scope is None and _in_chrome(frame))
        ):
            continue
        urls.append(url)
        if len(urls) >= limit:
            break
    return urls


def table_html(html: str) -> list[str]:
    """Outer HTML of the data tables in a document: innermost tables with at least two cells
    (a layout table wrapping other tables is not data)."""
    if "<table" not in html.lower():
        return []
    soup = _soup(html)
    return [
        str(table)
        for table in soup.find_all("table")
        if table.find("table") is None and len(table.find_all(["td", "th"])) >= 2
    ]


def visible_text(soup: BeautifulSoup) -> str:
    """The text a reader sees in the body: no head, scripts, styles, templates or noscript fallbacks."""
    body = soup.body or soup
    parts = [
        str(node)
        for node in body.find_all(string=True)
        if not any(p.name in ("script", "style", "noscript", "template", "head", "title") for p in node.parents)
    ]
    return " ".join("".join(parts).split())


def _soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html[:2_000_000], "lxml")


def _select_one(soup: BeautifulSoup, selector: str) -> Tag | None:
    try:
        return soup.select_one(selector)
    except SelectorSyntaxError:
        return None


def _in_chrome(tag: Tag) -> bool:
    for parent in tag.parents:
        if parent.name == "[document]":
            return False
        if parent.name in _CHROME_TAGS:
            return True
        words = " ".join(parent.get("class") or []) + " " + str(parent.get("id") or "")
        if _CHROME_CLASS_RE.search(words):
            return True
    return False


def _kb(size: int) -> str:
    return f"{size} bytes" if size < 1024 else f"{size / 1024:.1f} KB"
