"""A plain RSS 2.0 document read with lxml, or None where feedparser's reading could differ.

Why: feedparser cost ~0.56 ms per item, a sixth of a harvest's CPU (issue 20), and most feeds the brief follows
are plain RSS 2.0: well-formed, a <link> per item, dates our own date reader understands, no relative links in
their HTML. lxml reads such a document in a twentieth of the time. Anything else (Atom, RSS 1.0, a document that
is not well-formed, an HTML entity, a relative link or image in an item's HTML, an item without <link>, an element
feedparser maps onto a field we read and this module does not, a date only feedparser can read) returns None and
:func:`news_harvester.parse.feeds.parse_feed` asks feedparser, so the result never depends on which reader ran
beyond the HTML's serialization (feedparser re-serializes item HTML: ``<br>`` becomes ``<br />``; the text is the
same). tests/test_plain_rss.py compares the two readers on every recorded feed.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

from lxml import etree  # type: ignore[import-untyped]

from news_harvester.models import ParsedFeed, RawItem
from news_harvester.parse.dates import has_explicit_zone, read_date

__all__ = ["read_plain_rss"]

_DC = "{http://purl.org/dc/elements/1.1/}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}"

_IGNORED = frozenset(
    {
        "category",
        "comments",
        "enclosure",
        "source",
        f"{_DC}subject",
        f"{_DC}language",
        f"{_DC}rights",
        f"{_DC}publisher",
        f"{_DC}identifier",
        f"{_DC}type",
        f"{_DC}format",
    }
)
"""Item elements feedparser maps to fields this product never reads (tags, enclosures, rights...)."""

_READ = frozenset(
    {"title", "link", "guid", "description", "pubDate", "author", f"{_DC}creator", f"{_DC}date", f"{_CONTENT}encoded"}
)

_RELATIVE_REF = re.compile(
    r"""\b(?:href|src|cite|action|poster|background|longdesc|usemap|codebase|data)\s*=\s*"""
    r"""(?!["']?(?:https?://|mailto:|data:|#))""",
    re.I,
)
"""An HTML attribute feedparser would resolve against the feed's address (its ``resolve_relative_uris``)."""

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)


def read_plain_rss(text: str, zone: tzinfo) -> ParsedFeed | None:
    """The feed's items and title if ``text`` is a plain RSS 2.0 document, else None (ask feedparser)."""
    head = text[:512].lstrip()
    if "<rss" not in head or "<!DOCTYPE" in head or "<!doctype" in head:
        return None
    try:
        root = etree.fromstring(_without_prolog(text).encode("utf-8"), _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root.tag != "rss" or root.get("version") not in ("2.0", "0.92", "0.91"):
        return None
    channels = [child for child in root if child.tag == "channel"]
    if len(channels) != 1:
        return None
    channel = channels[0]
    items: list[RawItem] = []
    for element in channel.iterfind("item"):
        item = _item(element, zone)
        if item is None:
            return None
        items.append(item)
    if not items:
        return None  # feedparser's reading says why there is nothing, in its words
    title = (channel.findtext("title") or "").strip()
    return ParsedFeed(items=tuple(items), title=title or None, warnings=())


def _without_prolog(text: str) -> str:
    """The document without its XML declaration (the text is already decoded; lxml refuses a str with one)."""
    if text.startswith("<?xml"):
        end = text.find("?>")
        return text[end + 2 :] if end > 0 else text
    return text


def _item(element: etree._Element, zone: tzinfo) -> RawItem | None:
    fields: dict[str, str] = {}
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue  # a processing instruction
        if tag in _IGNORED:
            continue
        if tag not in _READ or tag in fields or len(child):
            return None  # mapped by feedparser to something we read, repeated, or with markup inside
        fields[tag] = (child.text or "").strip()
        if (
            tag == "guid"
            and child.get("isPermaLink") != "false"
            and not fields[tag].startswith(("http://", "https://"))
        ):
            return None  # feedparser resolves a permalink guid against the feed's address
    link = fields.get("link", "")
    if not link.startswith(("http://", "https://")) or any(c.isspace() for c in link):
        return None
    title = fields.get("title", "")
    if f"{_DC}creator" in fields and "author" in fields:
        return None  # feedparser keeps whichever comes last
    author = fields.get(f"{_DC}creator") or fields.get("author") or ""
    if not title or any(c in title for c in "<&") or any(c in author for c in "<@("):
        return None
    published_raw = fields.get("pubDate") or None
    updated_raw = fields.get(f"{_DC}date") or None
    dated = _date(published_raw, updated_raw, zone)
    if dated is None:
        return None
    content = fields.get(f"{_CONTENT}encoded") or None
    summary = fields["description"] or None if "description" in fields else content  # feedparser's fallback
    if any(_RELATIVE_REF.search(html) for html in (summary, content) if html):
        return None
    return RawItem(
        url=link,
        title=title,
        published=dated[0],
        published_raw=dated[1],
        author=author or None,
        summary_html=summary,
        content_html=content,
        guid=fields.get("guid") or None,
    )


def _date(published: str | None, updated: str | None, zone: tzinfo) -> tuple[datetime | None, str | None] | None:
    """What feeds.parse_feed's date rule gives, read with our parser alone: (value, raw string), (None, None)
    without a date, or None where feedparser's reading of the date would be needed (our parser cannot read it,
    or reads no zone from a string that has one)."""
    for raw in (published, updated):
        if not raw:
            continue
        found = read_date(raw, zone)
        if found is None:
            return None
        value, zone_read = found
        return (value, raw) if zone_read or not has_explicit_zone(raw) else None
    return None, None
