"""RSS 0.9x/1.0/2.0 and Atom documents -> RawItem list, through feedparser (plain RSS 2.0 through lxml).

The fetcher already decoded the bytes (it handles lying charsets better than feedparser can
without the HTTP context), so the text is re-encoded as UTF-8 and the XML prolog rewritten to say
so. A malformed feed yields what feedparser recovers plus a warning; a document that yields no
entries is an error, never "no news today".
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import urljoin

import feedparser

from news_harvester.errors import ParseError
from news_harvester.models import ParsedFeed, RawItem
from news_harvester.parse.dates import has_explicit_zone, read_date
from news_harvester.parse.plain_rss import read_plain_rss

_PROLOG_ENCODING_RE = re.compile(r"^(\s*<\?xml[^>]*?encoding\s*=\s*)([\"'])[\w.:-]+\2", re.I)
_HTML_START_RE = re.compile(r"^\s*(?:<!--.*?-->\s*)*(?:<!doctype\s+html|<html)", re.I | re.S)
# The first element name of an XML document (the prolog, comments and a doctype start with '?' or '!').
_ROOT_TAG_RE = re.compile(r"<([A-Za-z_][\w:.-]*)")
_ITEM_TAG_RE = re.compile(r"<(?:[\w-]+:)?(?:item|entry)[\s>/]")


def parse_feed(text: str, url: str, zone: tzinfo) -> ParsedFeed:
    """Entries of a feed document, newest first as the feed lists them. A plain RSS 2.0 document is read by
    lxml (:mod:`news_harvester.parse.plain_rss`, ~20× cheaper), anything else by feedparser."""
    plain = read_plain_rss(text, zone)
    return plain if plain is not None else read_with_feedparser(text, url, zone)


def read_with_feedparser(text: str, url: str, zone: tzinfo) -> ParsedFeed:
    """Any RSS or Atom document, as feedparser reads it (what is not well-formed too, with a warning)."""
    document = _PROLOG_ENCODING_RE.sub(r"\1\2utf-8\2", text, count=1).encode("utf-8")
    parsed = feedparser.parse(
        document,
        response_headers={"content-type": "application/xml; charset=utf-8", "content-location": url},
        sanitize_html=False,
        resolve_relative_uris=True,
    )
    warnings: list[str] = []
    items = [item for entry in parsed.entries if (item := _raw_item(entry, url, zone)) is not None]
    if not items:
        raise _no_items_error(text, parsed)
    tagged = len(_ITEM_TAG_RE.findall(text))
    if parsed.get("bozo"):
        counts = f" ({len(items)} of {tagged} items)" if tagged > len(items) else ""
        warnings.append(f"malformed feed, recovered what could be read{counts}: {parsed.get('bozo_exception')}")
    elif len(items) < len(parsed.entries):
        skipped = len(parsed.entries) - len(items)
        warnings.append(f"{skipped} of {len(parsed.entries)} feed entries have no link and were skipped")
    title = parsed.feed.get("title") if parsed.get("feed") else None
    return ParsedFeed(items=tuple(items), title=title, warnings=tuple(warnings))


def _no_items_error(text: str, parsed: Any) -> ParseError:
    """Why a document yielded no item, with the most specific code.

    An HTML page or a well-formed XML document of another kind is ``parse.not_a_feed``; a document
    that is neither well-formed nor recognisably a feed (JSON, garbage) is ``parse.malformed``; a
    recognisable feed (RSS/Atom root) without a usable entry, well-formed or not (cut off inside its
    first item), and an empty body are ``parse.no_items``, the message saying which.
    """
    entries = len(parsed.entries)
    if not text.strip():
        return ParseError("empty document: 200 with no content where a feed was expected", code="parse.no_items")
    if _HTML_START_RE.match(text):
        return ParseError("document is an HTML page, not an RSS/Atom feed", code="parse.not_a_feed")
    problem = _malformation(parsed)
    if not parsed.get("version"):
        if problem is not None:
            return ParseError(f"not a readable feed: {problem}", code="parse.malformed")
        root = _ROOT_TAG_RE.search(text)
        what = f"an XML document with root <{root.group(1)}>" if root else "a document"
        return ParseError(f"{what}, not an RSS/Atom feed", code="parse.not_a_feed")
    found = f"feed has {entries} entries and none with a link" if entries else "feed has no entries"
    flawed = f"; it is not well-formed ({problem}), perhaps cut off" if problem is not None else ""
    return ParseError(found + flawed, code="parse.no_items")


def _malformation(parsed: Any) -> object | None:
    """feedparser's reason the document is not well-formed, or None (also for its harmless notes such
    as a charset override, which ``ThingsNobodyCaresAboutButMe`` groups)."""
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    return None if isinstance(problem, feedparser.ThingsNobodyCaresAboutButMe) else problem


def _raw_item(entry: Any, base_url: str, zone: tzinfo) -> RawItem | None:
    guid = entry.get("id") or None
    link = _entry_link(entry, base_url, guid)
    if not link:
        return None
    published, published_raw = _entry_date(entry, zone)
    content = entry.get("content") or []
    content_html = "\n".join(part.get("value", "") for part in content) or None
    return RawItem(
        url=link,
        title=(entry.get("title") or "").strip(),
        published=published,
        published_raw=published_raw,
        author=entry.get("author") or None,
        summary_html=entry.get("summary") or None,
        content_html=content_html,
        guid=guid,
    )


def _entry_link(entry: Any, base_url: str, guid: str | None) -> str | None:
    """Absolute http(s) address of the entry's page: its link, else an alternate link, else a
    permalink guid. Never a ``urn:`` id (feedparser copies a non-URL id into ``link``), nor the
    entry's rel="self" / "edit" / "replies" / enclosure links, which are not the article page."""
    candidates = [entry.get("link")]
    candidates += [
        link.get("href")
        for link in entry.get("links") or []
        if link.get("rel", "alternate") == "alternate" and "html" in (link.get("type") or "text/html")
    ]
    if guid and re.match(r"^https?://", guid.strip()):
        candidates.append(guid)
    for candidate in candidates:
        if candidate and (url := urljoin(base_url, str(candidate).strip())).startswith(("http://", "https://")):
            return url
    return None


def _entry_date(entry: Any, zone: tzinfo) -> tuple[datetime | None, str | None]:
    """Zone-aware publication time and the string it was read from.

    Each of published / updated / created is read with its own parsed form (never one field's
    string with another's struct). Our parser goes first: feedparser misreads numeric dates such
    as ``2024/06/11 10:30`` or ``2024年06月11日`` (as 1 November) and drops ``GMT+8``. feedparser's
    struct is the fallback: for a zone-less string it holds the wall-clock fields unshifted (it
    assumed UTC), so the source's zone is re-attached to them.
    """
    first_raw: str | None = None
    for key in ("published", "updated", "created"):
        raw = entry.get(key) or None
        struct = entry.get(f"{key}_parsed")
        first_raw = first_raw or raw
        if raw and (found := read_date(raw, zone)) is not None:
            value, zone_read = found
            if zone_read or not has_explicit_zone(raw):
                return value, raw
        if struct is not None:
            if raw and not has_explicit_zone(raw):
                year, month, day, hour, minute, second = struct[:6]
                return datetime(year, month, day, hour, minute, second, tzinfo=zone), raw
            return datetime.fromtimestamp(calendar.timegm(struct), tz=UTC), raw
    return None, first_raw
