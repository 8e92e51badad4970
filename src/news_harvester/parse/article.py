"""Article page -> title, body paragraphs, publication time, attribution, author, attachments.

Pure function: no network, no clock (a "now" for dates printed without a year comes in
:class:`ExtractHints`). Never raises on bad input: an empty, binary, unparseable or body-less page
gives an :class:`ExtractedPage` with an empty or short body and a ``rejected_reason``.

Stages: parse (:mod:`.blocks`, at most ``MAX_HTML_CHARS``) → the title, attribution, author, site
and column (:mod:`.article_meta`) and the publication time (:mod:`.article_date`), whose docstrings
give the order of trust: gov-CMS meta, JSON-LD / Open Graph, source selectors, the page → the
body: the source's
body selector, else the page block holding the most sentence-like text
(:func:`.blocks.choose_container`); its header zone (title, date and source lines) and trailing
comments removed here, boilerplate lines by :func:`news_harvester.parse.clean.drop_boilerplate`;
trafilatura only when that leaves too little. Tables stay text: one row per line, cells
separated by tabs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import urljoin, urlsplit

import trafilatura
from bs4 import BeautifulSoup
from soupsieve import SelectorSyntaxError
from trafilatura.deduplication import LRUCache

from news_harvester.parse.article_date import ORIGIN_LIST, pick_date
from news_harvester.parse.article_meta import (
    MAX_DATE_LINE_CHARS,
    SENTENCE_RE,
    column_name,
    find_title_block,
    pick_attribution,
    pick_author,
    pick_title,
    read_facts,
    site_name,
    title_key,
)
from news_harvester.parse.blocks import Block, choose_container, prepare_html, text_blocks
from news_harvester.parse.clean import drop_boilerplate, is_boilerplate_line, normalize_line
from news_harvester.parse.dates import find_date
from news_harvester.parse.html_tree import parse_html

MIN_BODY_CHARS = 50
"""A body shorter than this (non-space characters) is rejected: a stub, a video page, a notice."""
TRAFILATURA_MAX_CHARS = 1_000_000
"""trafilatura is asked only about pages up to this size: it takes seconds on a multi-MB page."""
ATTACHMENT_KINDS = frozenset(
    {"pdf", "doc", "docx", "xls", "xlsx", "wps", "et", "dps", "ppt", "pptx", "zip", "rar", "7z", "ofd", "csv", "txt"}
)

_ATTACHMENT_HINT_RE = re.compile(r"\.(?:" + "|".join(sorted(ATTACHMENT_KINDS)) + r")\b", re.I)
_BREADCRUMB_RE = re.compile(r"当前位置|现在位置|您的位置|所在位置|>>|»|\s>\s|^首页\s*[>›]")
_RELATIVE_DATE_RE = re.compile(r"(?<![\u4e00-\u9fff])(?:今天|昨天|前天)(?![\u4e00-\u9fff])|\d+\s*(?:秒|分钟|小时|天)前")
_DATE_BITS_RE = re.compile(r"^[\[(（【]?[\d\s/:\-.年月日时分時]+[\])）】]?$")
_HEADER_LINE_RE = re.compile(r"^.{0,30}(?:来源于?|來源|作者|记者|编辑|发布|时间|日期|字号|浏览|阅读|点击|稿源)\s*[:：]")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A document linked from the article: absolute URL, link text, kind (file extension: pdf, docx …)."""

    url: str
    text: str
    kind: str


@dataclass(frozen=True, slots=True)
class ExtractHints:
    """What the caller knows beyond the page: a source's CSS selectors for title, date and body
    (fallbacks, tried in order; the first that matches text wins), the title and date its list
    page gave (used when the page gives none), and a clock reading that may complete a date
    printed without its year when the page and its URL give no year either."""

    title_selectors: Sequence[str] = ()
    date_selectors: Sequence[str] = ()
    body_selectors: Sequence[str] = ()
    list_title: str | None = None
    list_date: datetime | None = None
    now: datetime | None = None


@dataclass(frozen=True, slots=True)
class ExtractedPage:
    """Fields of one article page. ``body_text`` is ``paragraphs`` joined by newlines; it is empty
    or short when ``rejected_reason`` says why nothing usable was found. ``date_origin`` says where
    ``published_at`` came from: meta, jsonld, selector, body, url or list."""

    title: str | None
    body_text: str
    published_at: datetime | None
    date_origin: str | None
    attribution: str | None
    author: str | None
    attachments: tuple[Attachment, ...] = ()
    site_name: str | None = None
    column_name: str | None = None
    paragraphs: tuple[str, ...] = ()
    rejected_reason: str | None = None


def extract_page(html: str, url: str, zone: tzinfo, hints: ExtractHints | None = None) -> ExtractedPage:
    """Fields of one article page at ``url`` (the final URL, for relative links and URL dates).

    Times printed without a zone are wall-clock times in ``zone``. Never raises on bad input.
    """
    hints = hints or ExtractHints()
    text, reason = prepare_html(html)
    root = parse_html(text) if text else None
    if root is None:
        return _unreadable_page(hints, reason or "unparseable HTML")
    blocks = text_blocks(root)
    facts = read_facts(root, url, zone, blocks)
    selector = _Selector(text) if (hints.title_selectors or hints.date_selectors or hints.body_selectors) else None
    selected_title = selector.text(hints.title_selectors) if selector else None
    title = pick_title(facts, selected=selected_title, list_title=hints.list_title)
    title_index = find_title_block(blocks, title)
    selected_body = _selected_body(selector, hints.body_selectors) if selector else None
    body = selected_body if selected_body is not None else _body_blocks(blocks, title_index)
    published, origin = pick_date(
        facts,
        title_index,
        body[0].index if body and body[0].path[0] is root else -1,
        selected=selector.text(hints.date_selectors) if selector else None,
        list_date=hints.list_date,
        now=hints.now,
    )
    site = site_name(facts)
    attribution = pick_attribution(facts, title_index)
    author = pick_author(facts, title_index, site, attribution)
    attachments = _attachments(root, url)
    paragraphs = _paragraphs(body, title, zone)
    if selected_body is None and _chars(paragraphs) < MIN_BODY_CHARS and len(text) <= TRAFILATURA_MAX_CHARS:
        # Last, because trafilatura edits the tree in place.
        paragraphs = max(paragraphs, _trafilatura_paragraphs(root, url), key=_chars)
    return ExtractedPage(
        title=title,
        body_text="\n".join(paragraphs),
        published_at=published,
        date_origin=origin,
        attribution=attribution,
        author=author,
        attachments=attachments,
        site_name=site,
        column_name=column_name(facts),
        paragraphs=tuple(paragraphs),
        rejected_reason=_rejection(paragraphs),
    )


def _unreadable_page(hints: ExtractHints, reason: str) -> ExtractedPage:
    return ExtractedPage(
        title=hints.list_title,
        body_text="",
        published_at=hints.list_date,
        date_origin=ORIGIN_LIST if hints.list_date else None,
        attribution=None,
        author=None,
        rejected_reason=reason,
    )


def _chars(paragraphs: list[str]) -> int:
    return sum(len(p) - p.count(" ") - p.count("\t") for p in paragraphs)


def _rejection(paragraphs: list[str]) -> str | None:
    chars = _chars(paragraphs)
    if chars == 0:
        return "no article text found"
    if chars < MIN_BODY_CHARS:
        return f"body too short ({chars} characters < {MIN_BODY_CHARS})"
    return None


# --------------------------------------------------------------------------- body


def _selected_body(selector: _Selector, body_selectors: Sequence[str]) -> list[Block] | None:
    """The blocks of the source's body selector's first match with text (link lists left out), or
    None when nothing matched. The source's operator chose it: trafilatura does not second-guess it."""
    if (fragment := selector.html(body_selectors)) is None:
        return None
    root = parse_html(f"<html><body>{fragment}</body></html>")
    blocks = [b for b in text_blocks(root) if b.link_ratio <= 0.5] if root is not None else []
    return blocks or None


def _body_blocks(blocks: list[Block], title_index: int) -> list[Block]:
    """The blocks of the chosen container, minus link lists, furniture and the title."""
    container = choose_container(blocks)
    if container is None:
        return []
    return [
        b for b in blocks if container in b.path and not b.negative and b.link_ratio <= 0.5 and b.index != title_index
    ]


def _paragraphs(blocks: list[Block], title: str | None, zone: tzinfo) -> list[str]:
    """Body lines, cleaned: the header zone above the first real paragraph loses the title, date,
    source and author lines, breadcrumbs and stray words; comments and feeds are cut off at the
    first "name + date + time" line in the second half; then :func:`drop_boilerplate`."""
    lines = [line for block in blocks for line in block.lines]
    # Code listings and table rows print timestamps as data ("200 │ 2020-08-01 18:00:00"): never a comment's stamp.
    data = [_is_data_block(block) for block in blocks for _ in block.lines]
    key = title_key(title) if title else ""
    first = next((i for i, line in enumerate(lines) if _is_paragraph(line) and title_key(line) != key), len(lines))
    head: list[str] = []
    for line in lines[:first]:
        if not _is_header_line(line, key, zone) and (head or not _is_stray_word(line)):
            head.append(line)
    rest = lines[first:]
    total = sum(len(line) for line in rest)
    seen = 0
    for index, line in enumerate(rest):
        if (
            seen > total / 2
            and len(line) <= MAX_DATE_LINE_CHARS
            and not SENTENCE_RE.search(line)
            and "\t" not in line
            and not data[first + index]
        ):
            found = find_date(line, zone)
            # "张三[网易网友]2019-05-17 20:33:49": comments begin. "时间：2024年6月20日 9:30" in a
            # meeting notice is text: a labelled date is never a comment's stamp.
            if found is not None and found.has_time and not re.search("[:：]", line[: found.start]):
                rest = rest[:index]
                break
        seen += len(line)
    return drop_boilerplate(head + rest)


def _is_data_block(block: Block) -> bool:
    """A block inside <pre> (a code listing, a program's output)."""
    return any(element.tag == "pre" for element in block.path)


def _is_paragraph(line: str) -> bool:
    return len(line) >= 80 or (len(line) >= 15 and bool(SENTENCE_RE.search(line)))


def _is_header_line(line: str, key: str, zone: tzinfo) -> bool:
    """A line above the article text that is not article text: the title again, a date, source,
    author or view-count line, a breadcrumb, a relative time ("昨天")."""
    if is_boilerplate_line(line) or (key and title_key(line) == key):
        return True
    if len(line) > MAX_DATE_LINE_CHARS or SENTENCE_RE.search(line):
        return False
    return bool(
        _HEADER_LINE_RE.match(line)
        or find_date(line, zone)
        or _BREADCRUMB_RE.search(line)
        or _DATE_BITS_RE.match(line)
        or _RELATIVE_DATE_RE.search(line)
    )


def _is_stray_word(line: str) -> bool:
    """A lone word above the text: a column name, "关注", "图集"."""
    return len(line) <= 6 and not line.endswith((":", "："))


def _trafilatura_paragraphs(root: Any, url: str) -> list[str]:
    """trafilatura's body for the same tree (it cleans the tree in place, so this runs last).
    Deduplication is scoped to this one page: trafilatura's default cache is process-wide and
    would drop paragraphs an earlier article shared with this one."""
    try:
        text = trafilatura.extract(
            root,
            url=url,
            include_tables=True,
            include_comments=False,
            favor_precision=True,
            deduplicate=LRUCache(maxsize=1024),
        )
    except (ValueError, TypeError, AttributeError, LookupError, RecursionError):  # a fallback must not fail the page
        return []
    return drop_boilerplate((text or "").split("\n"))


# --------------------------------------------------------------------------- attachments


def _attachments(root: Any, url: str) -> tuple[Attachment, ...]:
    """Linked documents (PDF, Word, Excel, WPS, OFD, archives …) as absolute URLs (against
    <base href> when the page has one), in page order, once each."""
    base_tag = root.find(".//base[@href]")
    base = urljoin(url, base_tag.get("href").strip()) if base_tag is not None else url
    found: dict[str, Attachment] = {}
    # a saved page read from disk (``extract FILE``) links its documents beside it
    schemes = ("http", "https", "file") if urlsplit(url).scheme == "file" else ("http", "https")
    for anchor in root.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith("#") or not _ATTACHMENT_HINT_RE.search(href):
            continue
        if (kind := _attachment_kind(href)) is None:
            continue
        absolute = urljoin(base, href)
        if urlsplit(absolute).scheme.lower() not in schemes:  # javascript:, JavaScript:, data:, mailto: …
            continue
        text = normalize_line(anchor.text_content()) or normalize_line(anchor.get("title") or "")
        found.setdefault(absolute, Attachment(absolute, text or absolute.rsplit("/", 1)[-1], kind))
    return tuple(found.values())


def _attachment_kind(href: str) -> str | None:
    """The extension of the linked file's name, or of a file named in the query
    (download.jsp?file=x.pdf); None for pages."""
    parts = urlsplit(href)
    leaf = parts.path.rsplit("/", 1)[-1]
    if "." in leaf and (ext := leaf.rsplit(".", 1)[-1].lower()) in ATTACHMENT_KINDS:
        return ext
    if match := re.search(r"\.([a-z0-9]{2,4})(?:&|$)", parts.query, re.I):
        ext = match.group(1).lower()
        return ext if ext in ATTACHMENT_KINDS and ext != "txt" else None
    return None


# --------------------------------------------------------------------------- per-source selectors


class _Selector:
    """The source's CSS selectors, run with soupsieve over a BeautifulSoup tree, built only when a
    source has selectors (lxml has no CSS engine without the cssselect package). A selector that
    soupsieve cannot parse is skipped like one that matches nothing."""

    def __init__(self, html: str) -> None:
        self._soup = BeautifulSoup(html, "lxml")

    def _first(self, selectors: Sequence[str]) -> Any:
        for selector in selectors:
            try:
                element = self._soup.select_one(selector)
            except (SelectorSyntaxError, ValueError, NotImplementedError):
                continue
            if element is not None and element.get_text(strip=True):
                return element
        return None

    def text(self, selectors: Sequence[str]) -> str | None:
        element = self._first(selectors)
        return (normalize_line(element.get_text(" ")) or None) if element is not None else None

    def html(self, selectors: Sequence[str]) -> str | None:
        element = self._first(selectors)
        return str(element) if element is not None else None
