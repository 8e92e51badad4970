"""Normalise harvested values: plain text from HTML, canonical URLs, content hashes, Article records.

Pure functions; callers pass ``now``. Never fetches, never writes.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime
from html import unescape
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from bs4 import BeautifulSoup
from bs4.element import NavigableString

from news_harvester.models import Article, RawItem

_TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|spm|from|isappinstalled|share_token|share_from|scene|srcid|wfr|fbclid|gclid|"
    r"mc_cid|mc_eid|_hsenc|_hsmi|ref|ref_src|cmpid|ncid|ocid)$",
    re.I,
)
_BLOCK_TAGS = (
    "p",
    "div",
    "br",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "blockquote",
    "pre",
    "table",
    "ul",
    "ol",
    "dd",
    "dt",
)
_SPACES_RE = re.compile(r"[ \t\u00a0\u3000\r\f\v]+")
_ANY_SPACE_RE = re.compile(r"\s+")
_CELL_END = "\ue000"  # private-use mark for the end of a table cell until whitespace is squeezed
_SESSION_ID_RE = re.compile(r";jsessionid=[^/?#]*", re.I)
_HASH_STRIP_RE = re.compile(r"[\s\W_]+", re.UNICODE)


def canonical_url(url: str) -> str:
    """One spelling per article URL: lower-case scheme and host, no default port, no fragment,
    no tracking parameters (utm_*, spm, …) and no ``;jsessionid=``; the path and the remaining
    query parameters are kept exactly as written, in their order, because CMSs route on them."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    path = _SESSION_ID_RE.sub("", parts.path) or "/"
    query = "&".join(
        field
        for field in parts.query.split("&")
        if field and not _TRACKING_PARAMS.match(unquote_plus(field.split("=", 1)[0]))
    )
    return urlunsplit((scheme, netloc, path, query, ""))


def html_to_text(html: str | None) -> str:
    """Readable plain text: one paragraph (block, ``<br>``) per line, table cells separated by tabs.

    Line breaks in the HTML source are whitespace like any other (outside ``<pre>``), so a
    paragraph wrapped over several source lines stays one line and a table row written one cell
    per source line stays one row.
    """
    if not html:
        return ""
    if "<" not in html:
        return _squeeze(unescape(html))
    soup = BeautifulSoup(html, "lxml")
    for tag in soup(["head", "script", "style", "noscript", "template"]):  # <head>: <title> is not body text
        tag.decompose()
    for node in list(soup.find_all(string=True)):
        if type(node) is NavigableString and node.find_parent("pre") is None:
            node.replace_with(_ANY_SPACE_RE.sub(" ", str(node)))
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for cell in soup.find_all(["td", "th"]):
        cell.append(_CELL_END)
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.append("\n")
    return _squeeze(soup.get_text())


def _squeeze(text: str) -> str:
    """Collapse runs of spaces, drop blank lines, and join the cells of a table row with tabs."""
    out = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = _SPACES_RE.sub(" ", raw).strip(" ")
        if _CELL_END in line:
            cells = [cell.strip(" ") for cell in line.rstrip(_CELL_END + " ").split(_CELL_END)]
            line = "\t".join(cells)
        if line.strip():
            out.append(line)
    return "\n".join(out)


def content_hash(text: str) -> str:
    """SHA-256 of the text with Unicode forms, case, whitespace and punctuation normalised away,
    so a reprint that only changes spacing or full-width punctuation hashes the same."""
    normalised = _HASH_STRIP_RE.sub("", unicodedata.normalize("NFKC", text).casefold())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def clean_title(title: str) -> str:
    return _squeeze(html_to_text(title)).replace("\n", " ")


def build_article(
    item: RawItem,
    *,
    source_id: str,
    source_name: str,
    language: str | None,
    fetched_at: datetime,
    body_text: str | None = None,
    attribution: str | None = None,
    published_at: datetime | None = None,
    date_origin: str | None = None,
    raw_page: bytes | None = None,
) -> Article:
    """Article from a feed/list item, optionally enriched by its extracted page.

    The body is the page's extracted text when there is one, else the feed's full content, else
    its summary. Attribution defaults to the source's display name (e.g. 商务部网站).
    """
    summary = html_to_text(item.summary_html) or None
    body = body_text or html_to_text(item.content_html) or summary or ""
    title = clean_title(item.title) or (summary or body)[:60] or item.url
    published = published_at or item.published
    origin = date_origin if published_at else ("feed" if item.published else None)
    return Article(
        url=canonical_url(item.url),
        source_id=source_id,
        title=title,
        published_at=published,
        fetched_at=fetched_at,
        author=(item.author or "").strip() or None,
        attribution=attribution or source_name,
        summary=summary,
        body_text=body,
        content_hash=content_hash(body or title),
        language=language,
        guid=item.guid,
        raw_page=raw_page,
        date_origin=origin,
    )
