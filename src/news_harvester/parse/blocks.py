"""HTML page -> its visible text as blocks in reading order, and the block that holds the article.

Pure functions over lxml trees: no network, no clock. Never raise on bad markup.

A *block* is the run of text a block-level element owns up to the next block boundary, so
"<div>a<p>b</p>c</div>" gives "a", "b", "c", each knowing its chain of block ancestors. Each block
gets a value (:func:`block_value`): sentence-like text counts for its length, link lists and
furniture (blocks whose class / id says comment, related, share …) against. The article is the
block element whose blocks sum highest (:func:`choose_container`); readability's and GNE's
scorers rest on the same signals (text and punctuation density against link density and class
names), summed here over the whole subtree so that one pass ranks every element.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from news_harvester.parse.clean import normalize_line

MAX_HTML_CHARS = 2_000_000
"""Only this much of a page is parsed (2–6 MB of UTF-8): article text sits near the top, and the
cap bounds the work on a 20 MB page."""
MAX_BINARY_SHARE = 0.02
"""Control characters or U+FFFD above this share of the first 8 000 characters: not a text page."""
FURNITURE_MAX_SHARE = 0.8
"""A block named like furniture (comment, share …) that holds this share of the page's sentence
text or more is the article after all."""
CONTAINER_SLACK = 0.9
"""Elements scoring this share of the best are as good: the deepest of them is the article's own."""

BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog",
        "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
        "h6", "header", "hgroup", "hr", "html", "legend", "li", "main", "menu", "nav", "ol", "p", "pre",
        "section", "summary", "table", "tbody", "tfoot", "thead", "tr", "ul",
    }
)  # fmt: skip
SKIP_TAGS = frozenset(
    {
        "applet", "audio", "button", "canvas", "embed", "head", "iframe", "img", "input", "link", "map", "math",
        "meta", "noscript", "object", "option", "rp", "rt", "script", "select", "style", "svg", "template",
        "textarea", "title", "video",
    }
)  # fmt: skip
"""Never text of the page: scripts, forms, media, and ruby readings (<rt>) over CJK characters."""
ENTRY_FORM_MAX_CHARS = 600
"""A form with a text field and at most this much text is a contact, search or sign-up form: its labels and
messages ("Name:", "Die Nachricht wurde verschickt!") are never the article. A page wrapped whole in one form, as
ASP.NET pages are, holds far more text and is read as any page."""
_ENTRY_INPUT_TYPES = frozenset({"", "text", "email", "search", "tel", "url", "password", "number"})
_CELLS = frozenset({"td", "th"})
_LAYOUT_CHILDREN = frozenset(
    {"table", "div", "ul", "ol", "dl", "form", "section", "article", "h1", "h2", "h3", "center"}
)
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Class / id words of blocks that are never the article: readability's list plus common pinyin
# (tuijian 推荐, xiangguan 相关, pinglun 评论, fenxiang 分享, xgxw 相关新闻 …).
_NEGATIVE_RE = re.compile(
    r"comment|reply|replies|related|recommend|sidebar|share(?!d)|social|footer|foot|copyright|breadcrumb|crumb|"
    r"menu|nav|banner|sponsor|advert|promo|popup|masthead|widget|pager|(?<!main)stream|pagination|rank|hotnews|"
    r"tuijian|xiangguan|pinglun|fenxiang|remen|xgxw|xgwz|qrcode|erweima|login|subscribe|tool|report|jubao|"
    r"cookie|consent|gdpr|rgpd|modal|author|autor|contactbox",
    re.I,
)
# The part of that list that never wraps an article; the rest (banner, nav, menu …) may name a
# layout wrapper around it.
_STRONG_NEGATIVE_RE = re.compile(
    r"comment|reply|replies|related|recommend|share(?!d)|social|copyright|breadcrumb|crumb|sponsor|advert|"
    r"foot|sidebar|tuijian|xiangguan|pinglun|fenxiang|xgxw|xgwz|qrcode|erweima|jubao|cookie|consent|gdpr|rgpd",
    re.I,
)
# Words as people name classes and ids: "nav", "NAV", "mainNav", "TopMenu", "footer2", "ad728".
_WORDS_NAME_RE = re.compile(r"^(?:[a-z]+|[A-Z]+|[A-Za-z][a-z]*(?:[A-Z][a-z]+)*)\d*$")
_POSITIVE_RE = re.compile(r"article|content|main|body|story|detail|zoom|con_|artic|editor|trs_", re.I)
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_PUNCT_RE = re.compile(r"[，。！？；：、“”‘’（）《》…,.;:!?]")
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
# A calendar date: 2024-06-11, 2024年6月11日, 2024/6/11, December 27, 2014, 27 Dec 2014.
_DATE_HINT_RE = re.compile(
    r"(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}|"
    + _MONTHS
    + r"\s+\d{1,2},?\s+(?:19|20)\d{2}|\d{1,2}\s+"
    + _MONTHS
    + r"\s+(?:19|20)\d{2}",
    re.I,
)
_FINAL_PUNCT_RE = re.compile(r"[。！？.!?”\"]\s*$")
STAMP_MAX_CHARS = 120
"""A dated block shorter than this that ends without a full stop is a byline or time stamp."""
_CJK_SPACE_RE = re.compile(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACE_RUN_RE = re.compile(r"[^\S\t\n]+")
_SOURCE_BREAKS = str.maketrans("\t\n\r\f\v", "     ")


class Block:
    """A run of text owned by one block element (up to the next block boundary), in page order.

    ``lines`` are split at <br>; table cells of a row are joined by tabs. ``spaced`` is the text
    with a space between inline elements, for the date and byline readers only: to a reader
    "<span>10-08</span><span>12:00</span>" is one word, to a date parser it is two.
    """

    __slots__ = (
        "chars", "heading", "index", "lines", "link_chars", "marks", "negative", "path", "punct", "spaced", "text",
        "value",
    )  # fmt: skip

    def __init__(
        self, lines: list[str], spaced: str, link_chars: int, path: tuple[Any, ...], marks: tuple[Any, ...]
    ) -> None:
        self.lines = lines
        self.text = " ".join(lines)
        self.spaced = spaced
        self.chars = len(self.text) - self.text.count(" ") - self.text.count("\t")
        self.link_chars = min(link_chars, self.chars)
        # Blogs that write "一波波 接續性 低溫寒流" use spaces for commas.
        self.punct = len(_PUNCT_RE.findall(self.text)) + len(_CJK_SPACE_RE.findall(self.text))
        self.path = path  # block elements from the root down to the owner
        self.marks = marks  # the ancestors whose class / id names furniture
        self.negative = False
        self.heading = path[-1].tag in _HEADINGS
        self.index = 0
        self.value = block_value(self)

    @property
    def link_ratio(self) -> float:
        return self.link_chars / self.chars if self.chars else 0.0


def prepare_html(html: str) -> tuple[str, str | None]:
    """The part of ``html`` worth parsing, or ("", reason) for empty, binary and tagless input."""
    if not html or not html.strip():
        return "", "empty page"
    text = html[:MAX_HTML_CHARS]
    sample = text[:8000]
    bad = len(_CONTROL_RE.findall(sample)) + sample.count("\ufffd")
    if bad > 8 and bad > MAX_BINARY_SHARE * len(sample):
        return "", "not a text page (binary content)"
    if "<" not in sample:
        return "", "not an HTML page"
    return _CONTROL_RE.sub("", text), None


def text_blocks(root: Any) -> list[Block]:
    """The visible text of ``root`` as blocks in page order, scored, furniture flagged."""
    blocks: list[Block] = []
    # open blocks: (element, text parts, [link chars], the furniture-named elements around it)
    frames: list[tuple[Any, list[str], list[int], tuple[Any, ...]]] = []
    paths: list[tuple[Any, ...]] = []
    marks: list[tuple[Any, ...]] = [()]  # per open element
    links = pre = 0
    skipping = None

    def add(text: str | None, mark: bool = False) -> None:
        """Append text to the open block. Source line breaks are spaces (outside <pre>); only the
        ``mark`` characters "\\n" (a <br>) and "\\t" (the end of a table cell) structure the text."""
        if text and frames:
            if not (mark or pre):
                text = text.translate(_SOURCE_BREAKS)
            frames[-1][1].append(text)
            if links and not mark:
                frames[-1][2][0] += len(text) - text.count(" ")

    def flush() -> None:
        """Close the open block's pending text as a Block. Its furniture marks are its owner's: the
        text of <div class="share">…</div> is share furniture, and the tail text after that div is
        not, whatever element opens next."""
        _, parts, link_chars, owner_marks = frames[-1]
        if parts:
            lines = [line for raw in "".join(parts).split("\n") if (line := _clean_line(raw))]
            if lines:
                spaced = " ".join(lines) if sum(map(len, lines)) > 300 else _clean_line(" ".join(parts))
                blocks.append(Block(lines, spaced, link_chars[0], paths[-1], owner_marks))
            parts.clear()
            link_chars[0] = 0

    # From the root, not <body>: see _adopt_stray_roots; <head> is skipped like a script.
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, element in walker:
        tag = element.tag
        if event == "start":
            if tag in SKIP_TAGS or not isinstance(tag, str) or _is_hidden(element) or _is_entry_form(element):
                walker.skip_subtree()  # its "end" event still comes, right after this one
                skipping = element
                continue
            marks.append((*marks[-1], element) if _is_negative(element) else marks[-1])
            if tag in BLOCK_TAGS or (tag in _CELLS and _is_layout_cell(element)):
                if frames:
                    flush()
                frames.append((element, [], [0], marks[-1]))
                paths.append((*paths[-1], element) if paths else (element,))
            elif tag == "br":
                add("\n", mark=True)
            elif tag == "a" and _leaves_page(element):
                links += 1
            pre += tag == "pre"
            add(element.text)
            continue
        if element is skipping:
            skipping = None
        else:
            marks.pop()
            pre -= tag == "pre"
            if frames[-1][0] is element:
                flush()
                frames.pop()
                paths.pop()
            elif tag == "a" and _leaves_page(element):
                links -= 1
            elif tag in _CELLS:
                add("\t", mark=True)
        if links:  # a tail is outside its element: not link text even when the element was a link
            saved, links = links, 0
            add(element.tail)
            links = saved
        else:
            add(element.tail)
    for index, block in enumerate(blocks):
        block.index = index
    _mark_furniture(blocks)
    return blocks


def block_value(block: Block) -> float:
    """How much a block speaks for its ancestors being the article: sentence-like text (10+
    characters with punctuation) counts for its length plus a little per punctuation mark; link
    lists (more than half link text) and furniture count against by their length; short bits
    (buttons, labels), bylines and time stamps, and long unpunctuated lines (tag clouds, menus as
    text) slightly against."""
    chars = block.chars
    if block.negative or block.link_chars * 2 > chars:
        return -float(chars) - 2
    if chars < STAMP_MAX_CHARS and not _FINAL_PUNCT_RE.search(block.text) and _DATE_HINT_RE.search(block.text):
        return -2.0  # "By X on December 27, 2014 at 12:06 PM", "2019-09-07 13:43:45 来源：网易": no prose
    if chars >= 10 and block.punct:
        return chars - block.link_chars + 2.0 * min(block.punct, 20)
    if chars < 10:
        return -2.0
    return -0.25 * chars


def choose_container(blocks: list[Block]) -> Any:
    """The block element whose blocks, summed with :func:`block_value`, score highest. Among the
    elements within CONTAINER_SLACK of the best score that hold at least two positive blocks, the
    deepest wins: a layout cell that adds a footer's few sentences to the article is not chosen
    over the article's own element. None when nothing scores above zero."""
    scores: dict[Any, float] = {}
    positives: dict[Any, int] = {}
    depths: dict[Any, int] = {}
    for block in blocks:
        for depth, element in enumerate(block.path):
            scores[element] = scores.get(element, 0.0) + block.value
            positives[element] = positives.get(element, 0) + (block.value > 0)
            depths[element] = depth
    if not scores:
        return None
    best = max(scores.values())
    if best <= 0:
        return None
    candidates = [e for e, score in scores.items() if score >= best * CONTAINER_SLACK and positives[e] >= 2]
    if not candidates:
        return max(scores, key=lambda e: (scores[e], depths[e]))
    return max(candidates, key=lambda e: (depths[e], scores[e]))


def _mark_furniture(blocks: list[Block]) -> None:
    """Flag the blocks inside elements whose class / id names furniture, and re-score them. A name
    misleads when the element wraps the article itself: a layout wrapper named after a banner or
    a side navigation that encloses the best element found without names, or any named element
    holding most of the page's sentence text ("single-post-share" around a whole post)."""
    total = sum(b.value for b in blocks if b.value > 0)
    held: dict[Any, float] = {}
    for block in blocks:
        for element in block.marks:
            held[element] = held.get(element, 0.0) + max(block.value, 0.0)
    if not held:
        return
    unnamed_best = choose_container(blocks)
    wrapping = {unnamed_best, *unnamed_best.iterancestors()} if unnamed_best is not None else set()
    furniture = {
        element
        for element, value in held.items()
        if value < FURNITURE_MAX_SHARE * total and not (element in wrapping and _is_weak_negative(element))
    }
    for block in blocks:
        if block.marks and any(element in furniture for element in block.marks):
            block.negative = True
            block.value = block_value(block)


def _is_negative(element: Any) -> bool:
    """Some class / id name says comment, related, share, menu …, and no name is purely
    article-like ("content", "article", "detail" …). A heading's id is the anchor of its own text
    ("explore-this-year-s-report", "ai-shines-a-light-on-toolchains"), not a name."""
    classes, ident = element.get("class"), element.get("id")
    if element.tag in _HEADINGS:
        ident = None
    if not (classes or ident):
        return False
    names = [name for name in f"{classes or ''} {ident or ''}".split() if not _is_generated_name(name)]
    if not any(_NEGATIVE_RE.search(name) for name in names):
        return False
    return not any(_POSITIVE_RE.search(name) and not _NEGATIVE_RE.search(name) for name in names)


def _is_generated_name(name: str) -> bool:
    """A machine-made id ("NavzzU", "9CatN2", "z1g0Cs", one per paragraph on some CMSs) that only
    looks like a word by chance: short, letters and digits only, and not words as people write them."""
    return 4 <= len(name) <= 10 and name.isascii() and name.isalnum() and not _WORDS_NAME_RE.match(name)


def _is_weak_negative(element: Any) -> bool:
    return not _STRONG_NEGATIVE_RE.search(f"{element.get('class') or ''} {element.get('id') or ''}")


def _is_hidden(element: Any) -> bool:
    """Not shown to readers: the hidden attribute, display:none / visibility:hidden, or
    aria-hidden="true" (closed dialogs, consent banners, duplicated teasers), as readability reads it —
    except on the page's root elements, which scripts mark aria-hidden while a dialog is open."""
    if element.get("hidden") is not None:
        return True
    if element.get("aria-hidden") == "true" and element.tag not in ("html", "body", "main"):
        return True
    style = element.get("style")
    return bool(style and _HIDDEN_STYLE_RE.search(style))


def _is_entry_form(element: Any) -> bool:
    """A short form with a field to type into (see ENTRY_FORM_MAX_CHARS)."""
    if element.tag != "form":
        return False
    typing = any(
        field.tag == "textarea" or (field.get("type") or "").strip().lower() in _ENTRY_INPUT_TYPES
        for field in element.iter("input", "textarea")
    )
    return typing and len("".join("".join(element.itertext()).split())) <= ENTRY_FORM_MAX_CHARS


def _is_layout_cell(cell: Any) -> bool:
    """A table cell used for page layout (it holds divs, tables, lists, headings) is a block of its
    own; a data cell (text, inline markup, Word's <p>) stays on its row's line."""
    return any(child.tag in _LAYOUT_CHILDREN for child in cell)


def _leaves_page(anchor: Any) -> bool:
    """A link to another page; an in-page anchor (a table of contents, a heading's permalink) is
    text of this page."""
    return not (anchor.get("href") or "").startswith("#")


def _clean_line(raw: str) -> str:
    cells = [normalize_line(_SPACE_RUN_RE.sub(" ", cell)) for cell in raw.split("\t")]
    return "\t".join(cell for cell in cells if cell)
