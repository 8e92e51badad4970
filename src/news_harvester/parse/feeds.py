"""RSS 0.9x/1.0/2.0 and Atom documents -> RawItem list, through feedparser.

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
from news_harvester.parse.dates import has_explicit_zone, parse_date

_PROLOG_ENCODING_RE = re.compile(r"^(\s*<\?xml[^>]*?encoding\s*=\s*)([\"'])[\w.:-]+\2", re.I)
_HTML_START_RE = re.compile(r"^\s*(?:<!--.*?-->\s*)*(?:<!doctype\s+html|<html)", re.I | re.S)


def parse_feed(text: str, url: str, zone: tzinfo) -> ParsedFeed:
    """Entries of a feed document, newest first as the feed lists them."""
    document = _PROLOG_ENCODING_RE.sub(r"\1\2utf-8\2", text, count=1).encode("utf-8")
    parsed = feedparser.parse(
        document,
        response_headers={"content-type": "application/xml; charset=utf-8", "content-location": url},
        sanitize_html=False,
        resolve_relative_uris=True,
    )
    warnings: list[str] = []
    if parsed.get("bozo"):
        warnings.append(f"malformed feed, recovered what could be read: {parsed.get('bozo_exception')}")
    items = [item for entry in parsed.entries if (item := _raw_item(entry, url, zone)) is not None]
    if not items:
        if _HTML_START_RE.match(text):
            raise ParseError("document is an HTML page, not an RSS/Atom feed", code="parse.not_a_feed")
        if parsed.get("bozo") and not parsed.get("version"):
            raise ParseError(f"not a readable feed: {parsed.get('bozo_exception')}", code="parse.malformed")
        raise ParseError(
            f"feed has {len(parsed.entries)} entries and none with a link", code="parse.no_items"
        )
    title = parsed.feed.get("title") if parsed.get("feed") else None
    return ParsedFeed(items=tuple(items), title=title, warnings=tuple(warnings))


def _raw_item(entry: Any, base_url: str, zone: tzinfo) -> RawItem | None:
    guid = entry.get("id") or None
    link = entry.get("link") or (guid if guid and re.match(r"^https?://", guid) else None)
    if not link:
        return None
    published_raw = entry.get("published") or entry.get("updated") or entry.get("created")
    published_struct = entry.get("published_parsed") or entry.get("updated_parsed") or entry.get("created_parsed")
    content = entry.get("content") or []
    content_html = "\n".join(part.get("value", "") for part in content) or None
    return RawItem(
        url=urljoin(base_url, link.strip()),
        title=(entry.get("title") or "").strip(),
        published=_entry_date(published_raw, published_struct, zone),
        published_raw=published_raw,
        author=entry.get("author") or None,
        summary_html=entry.get("summary") or None,
        content_html=content_html,
        guid=guid,
    )


def _entry_date(raw: str | None, struct: Any, zone: tzinfo) -> datetime | None:
    """Zone-aware publication time; a zone-less string is wall time in the source's zone.

    feedparser reads a zone-less date as UTC; in that case its struct holds the wall-clock fields
    unshifted, so we re-attach the source's zone to them.
    """
    if struct is not None:
        fields = struct[:6]
        if raw and not has_explicit_zone(raw):
            return datetime(*fields, tzinfo=zone)
        return datetime.fromtimestamp(calendar.timegm(struct), tz=UTC)
    return parse_date(raw, zone)
