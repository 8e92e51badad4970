"""Rich text of a free-text issue item (数据月报, 协会动态) read into blocks for the Markdown and DOCX renderers:
paragraphs of formatted runs, list items and tables. The markup goes through
:func:`~news_harvester.parse.sanitize.sanitize_html` first; see :mod:`news_harvester.editorial.export` for
the house layout.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

from news_harvester.parse.sanitize import sanitize_html

_HTML_SPACE_RE = re.compile(r"[ \t\n\r\f]+")  # HTML collapses ASCII whitespace only, never U+3000


@dataclass(frozen=True, slots=True)
class Run:
    """Text in one format."""

    text: str  # "\n" alone is a line break
    bold: bool = False
    italic: bool = False


@dataclass(frozen=True, slots=True)
class Para:
    """A paragraph or a list item."""

    runs: tuple[Run, ...]
    marker: str = ""  # list items: "- " or "3. "
    level: int = 0  # list nesting depth
    starts_list: bool = False  # the first item of a top-level list


@dataclass(frozen=True, slots=True)
class Table:
    """A table's non-empty rows."""

    rows: tuple[tuple[tuple[str, bool], ...], ...]  # cells: (text, is header)


Block = Para | Table


@dataclass(slots=True)
class _Node:
    tag: str
    children: list[_Node | str] = field(default_factory=list)


class _TreeBuilder(HTMLParser):
    """A tree of tags and text; enough for sanitizer output, which is well nested."""

    VOID = frozenset({"br", "img", "wbr", "hr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack = [_Node("root")]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag)
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        if any(node.tag == tag for node in self.stack[1:]):
            while self.stack.pop().tag != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


_BLOCK_TAGS = frozenset({"p", "ul", "ol", "table", "blockquote", "pre", "div", "h2", "h3", "h4", "h5", "h6"})
_HEADING_TAGS = frozenset({"h2", "h3", "h4", "h5", "h6"})


def rich_blocks(markup: str) -> list[Block]:
    """``markup`` sanitized and read into blocks, in order."""
    builder = _TreeBuilder()
    builder.feed(sanitize_html(markup))
    builder.close()
    return list(_blocks(builder.stack[0]))


def _blocks(node: _Node) -> Iterator[Block]:
    """Block children of ``node`` in order; loose inline content between them is a paragraph."""
    loose: list[_Node | str] = []
    for child in node.children:
        if isinstance(child, _Node) and child.tag in _BLOCK_TAGS:
            yield from _para(loose)
            loose = []
            yield from _block(child)
        else:
            loose.append(child)
    yield from _para(loose)


def _block(node: _Node) -> Iterator[Block]:
    if node.tag in ("ul", "ol"):
        yield from _list_items(node, 0)
    elif node.tag == "table":
        rows = tuple(tuple(_cells(row)) for row in _descendants(node, "tr"))
        if any(rows):
            yield Table(tuple(row for row in rows if row))
    elif node.tag in _HEADING_TAGS:
        yield from _para(node.children, bold=True)
    elif node.tag == "p":
        yield from _para(node.children)
    else:
        yield from _blocks(node)


def _list_items(node: _Node, level: int) -> Iterator[Para]:
    number = 0
    for child in node.children:
        if not isinstance(child, _Node) or child.tag != "li":
            continue
        number += 1
        marker = f"{number}. " if node.tag == "ol" else "- "
        inline = [c for c in child.children if not (isinstance(c, _Node) and c.tag in ("ul", "ol"))]
        runs = _runs(inline)
        yield Para(runs or (Run(""),), marker, level, starts_list=level == 0 and number == 1)
        for nested in child.children:
            if isinstance(nested, _Node) and nested.tag in ("ul", "ol"):
                yield from _list_items(nested, level + 1)


def _descendants(node: _Node, tag: str) -> Iterator[_Node]:
    for child in node.children:
        if isinstance(child, _Node):
            if child.tag == tag:
                yield child
            elif child.tag != "table":  # rows of a nested table are not this table's
                yield from _descendants(child, tag)


def _cells(row: _Node) -> Iterator[tuple[str, bool]]:
    for cell in row.children:
        if isinstance(cell, _Node) and cell.tag in ("td", "th"):
            text = "".join(run.text for run in _runs(cell.children)).replace("\n", " ")
            yield text.strip(), cell.tag == "th"


def _para(nodes: list[_Node | str], *, bold: bool = False) -> Iterator[Para]:
    runs = _runs(nodes, bold=bold)
    if runs:
        yield Para(runs)


def _runs(nodes: list[_Node | str], *, bold: bool = False, italic: bool = False) -> tuple[Run, ...]:
    """Inline content as runs: whitespace collapsed as a browser does, trimmed at the ends and
    around line breaks, neighbours of equal format merged."""
    out: list[Run] = []
    for run in _raw_runs(nodes, bold, italic):
        if run.text == "\n":
            _trim_end(out)
            if out:  # a break before any text is dropped
                out.append(run)
            continue
        text = _HTML_SPACE_RE.sub(" ", run.text)
        if not out or out[-1].text == "\n" or out[-1].text.endswith(" "):
            text = text.lstrip(" ")
        if not text:
            continue
        if out and out[-1].text != "\n" and (out[-1].bold, out[-1].italic) == (run.bold, run.italic):
            out[-1] = Run(out[-1].text + text, run.bold, run.italic)
        else:
            out.append(Run(text, run.bold, run.italic))
    while out and out[-1].text == "\n":
        out.pop()
    _trim_end(out)
    return tuple(out)


def _trim_end(runs: list[Run]) -> None:
    """Trailing spaces off the last line of ``runs``."""
    while runs and runs[-1].text != "\n":
        text = runs[-1].text.rstrip(" ")
        if text:
            runs[-1] = Run(text, runs[-1].bold, runs[-1].italic)
            return
        runs.pop()


def _raw_runs(nodes: list[_Node | str], bold: bool, italic: bool) -> Iterator[Run]:
    for node in nodes:
        if isinstance(node, str):
            yield Run(node, bold, italic)
        elif node.tag == "br":
            yield Run("\n")
        else:
            yield from _raw_runs(node.children, bold or node.tag in ("strong", "b"), italic or node.tag in ("em", "i"))
