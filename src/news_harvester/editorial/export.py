"""Render an assembled issue of 数字贸易简报 as Markdown, one self-contained HTML file, DOCX or PDF.

Pure: values in, bytes or text out; no database, no network, no clock (file dates come from the
issue date). Only :func:`to_pdf` leaves the process, to run LibreOffice on the DOCX.

The house layout is the sample issue's (``shared/design/sample-issue.md``, a real issue as
text): title, issue line "2024 年第 6 期", total line "(总第 26 期)", publisher, date, then a
table of contents giving every section as "【name】" with its headlines as "- headline" (a
section without items keeps its heading, as 协会动态 does), then every section under its
"【name】" heading. A news item (``html`` is None) is "● headline" in bold, its paragraphs and
its attribution line "（来源：…）"; a free-text item (数据月报, 协会动态) is its headline, if it
has one, and its rich text. Attributions are printed as given: normalising "(来源:" to
"（来源：" is the assembler's job, not the renderer's.

Rich text arrives sanitized (p, lists, tables, strong / em, br) and goes through
:func:`news_harvester.parse.sanitize.sanitize_html` once more anyway, since this is where it becomes a
file someone opens. One small reader turns it into blocks (paragraphs, list items, tables) for
Markdown and DOCX; HTML output embeds the sanitized markup itself.
"""

from __future__ import annotations

import contextlib
import html as html_lib
import io
import os
import re
import shutil
import signal
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import cast

import docx
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml.ns import qn
from docx.oxml.text.font import CT_RPr
from docx.shared import Mm, Pt, RGBColor
from docx.styles.style import ParagraphStyle
from docx.text.paragraph import Paragraph

from news_harvester.errors import HarvesterError
from news_harvester.parse.sanitize import sanitize_html

__all__ = [
    "ExportError",
    "IssueDocument",
    "IssueItem",
    "IssueSection",
    "to_docx",
    "to_html",
    "to_markdown",
    "to_pdf",
]


class ExportError(HarvesterError):
    """Raised by :func:`to_pdf`: ``export.pdf_unavailable`` (no LibreOffice to run) or
    ``export.pdf_failed`` (it ran, and gave no PDF in time)."""

    code = "export.failed"


@dataclass(frozen=True, slots=True)
class IssueItem:
    title: str
    """Headline, as shown in the issue and in its table of contents ("" = none)."""
    text: str = ""
    """Plain-text paragraphs, one per line (a news item's summary)."""
    attribution: str = ""
    """"（来源：商务部网站）", printed on its own line after the text; "" = none."""
    html: str | None = None
    """Rich text of a free-text section (p, ul / ol / li, tables, strong / em, br), sanitized."""


@dataclass(frozen=True, slots=True)
class IssueSection:
    name: str
    """"数据月报", "行业资讯", "协会动态": printed as "【name】"."""
    items: tuple[IssueItem, ...] = ()


@dataclass(frozen=True, slots=True)
class IssueDocument:
    title: str
    year: int
    number: int
    total_number: int | None
    publisher: str
    issue_date: date
    sections: tuple[IssueSection, ...]

    @property
    def issue_line(self) -> str:
        return f"{self.year} 年第 {self.number} 期"

    @property
    def total_line(self) -> str:
        return "" if self.total_number is None else f"(总第 {self.total_number} 期)"

    @property
    def date_line(self) -> str:
        return f"{self.issue_date.year} 年 {self.issue_date.month} 月 {self.issue_date.day} 日"

    def masthead(self) -> list[str]:
        """The lines under the title, in print order (an empty total line left out)."""
        return [line for line in (self.issue_line, self.total_line, self.publisher, self.date_line) if line]


NEWS_BULLET = "● "


def _heading(section: IssueSection) -> str:
    name = section.name.strip()
    return name if name.startswith("【") and name.endswith("】") else f"【{name}】"


def _paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


# --- rich text: sanitized HTML -> blocks --------------------------------------------------------

_HTML_SPACE_RE = re.compile(r"[ \t\n\r\f]+")  # HTML collapses ASCII whitespace only, never U+3000


@dataclass(frozen=True, slots=True)
class _Run:
    text: str  # "\n" alone is a line break
    bold: bool = False
    italic: bool = False


@dataclass(frozen=True, slots=True)
class _Para:
    runs: tuple[_Run, ...]
    marker: str = ""  # list items: "- " or "3. "
    level: int = 0  # list nesting depth
    starts_list: bool = False  # the first item of a top-level list


@dataclass(frozen=True, slots=True)
class _Table:
    rows: tuple[tuple[tuple[str, bool], ...], ...]  # cells: (text, is header)


_Block = _Para | _Table


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


def _rich_blocks(markup: str) -> list[_Block]:
    builder = _TreeBuilder()
    builder.feed(sanitize_html(markup))
    builder.close()
    return list(_blocks(builder.stack[0]))


def _blocks(node: _Node) -> Iterator[_Block]:
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


def _block(node: _Node) -> Iterator[_Block]:
    if node.tag in ("ul", "ol"):
        yield from _list_items(node, 0)
    elif node.tag == "table":
        rows = tuple(tuple(_cells(row)) for row in _descendants(node, "tr"))
        if any(rows):
            yield _Table(tuple(row for row in rows if row))
    elif node.tag in _HEADING_TAGS:
        yield from _para(node.children, bold=True)
    elif node.tag == "p":
        yield from _para(node.children)
    else:
        yield from _blocks(node)


def _list_items(node: _Node, level: int) -> Iterator[_Para]:
    number = 0
    for child in node.children:
        if not isinstance(child, _Node) or child.tag != "li":
            continue
        number += 1
        marker = f"{number}. " if node.tag == "ol" else "- "
        inline = [c for c in child.children if not (isinstance(c, _Node) and c.tag in ("ul", "ol"))]
        runs = _runs(inline)
        yield _Para(runs or (_Run(""),), marker, level, starts_list=level == 0 and number == 1)
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


def _para(nodes: list[_Node | str], *, bold: bool = False) -> Iterator[_Para]:
    runs = _runs(nodes, bold=bold)
    if runs:
        yield _Para(runs)


def _runs(nodes: list[_Node | str], *, bold: bool = False, italic: bool = False) -> tuple[_Run, ...]:
    """Inline content as runs: whitespace collapsed as a browser does, trimmed at the ends and
    around line breaks, neighbours of equal format merged."""
    out: list[_Run] = []
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
            out[-1] = _Run(out[-1].text + text, run.bold, run.italic)
        else:
            out.append(_Run(text, run.bold, run.italic))
    while out and out[-1].text == "\n":
        out.pop()
    _trim_end(out)
    return tuple(out)


def _trim_end(runs: list[_Run]) -> None:
    """Trailing spaces off the last line of ``runs``."""
    while runs and runs[-1].text != "\n":
        text = runs[-1].text.rstrip(" ")
        if text:
            runs[-1] = _Run(text, runs[-1].bold, runs[-1].italic)
            return
        runs.pop()


def _raw_runs(nodes: list[_Node | str], bold: bool, italic: bool) -> Iterator[_Run]:
    for node in nodes:
        if isinstance(node, str):
            yield _Run(node, bold, italic)
        elif node.tag == "br":
            yield _Run("\n")
        else:
            yield from _raw_runs(node.children, bold or node.tag in ("strong", "b"), italic or node.tag in ("em", "i"))


# --- Markdown -----------------------------------------------------------------------------------

_MD_INLINE_RE = re.compile(r"([\\`*_\[\]<>~])")
_MD_LINE_START_RE = re.compile(r"^(?:([#>+=-])|(\d+)([.)])(?=\s|$))", re.M)


def _md_inline(text: str) -> str:
    """Inline markers backslash-escaped (``~`` too: GFM strikes through "1~5月…6~8月")."""
    return _MD_INLINE_RE.sub(r"\\\1", text)


def _md_lines(text: str) -> str:
    """Lines that would open a heading, quote or list defused."""
    return _MD_LINE_START_RE.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", text)


def _md_escape(text: str) -> str:
    """Text that Markdown shows as itself."""
    return _md_lines(_md_inline(text.strip()))


def _md_runs(runs: tuple[_Run, ...]) -> str:
    out: list[str] = []
    for run in runs:
        if run.text == "\n":
            out.append("\\\n")  # CommonMark hard line break
            continue
        text = _md_inline(run.text)
        mark = ("**" if run.bold else "") + ("*" if run.italic else "")
        core = text.strip(" ")
        lead, trail = text[: len(text) - len(text.lstrip(" "))], text[len(text.rstrip(" ")) :]
        out.append(f"{lead}{mark}{core}{mark[::-1]}{trail}" if mark and core else text)
    return _md_lines("".join(out))


def _md_block(block: _Block) -> str:
    if isinstance(block, _Para):
        return "    " * block.level + block.marker + _md_runs(block.runs)
    width = max(len(row) for row in block.rows)
    lines = []
    for index, row in enumerate(block.rows):
        cells = [_md_escape(text).replace("|", "\\|") for text, _ in row] + [""] * (width - len(row))
        lines.append("| " + " | ".join(cells) + " |")
        if index == 0:
            lines.append("|" + " --- |" * width)
    return "\n".join(lines)


def _md_rich(blocks: list[_Block]) -> list[str]:
    """Blocks as Markdown chunks; the items of one list share a chunk."""
    chunks: list[str] = []
    for block in blocks:
        text = _md_block(block)
        if isinstance(block, _Para) and block.marker and not block.starts_list:
            chunks[-1] += "\n" + text
        else:
            chunks.append(text)
    return chunks


def to_markdown(doc: IssueDocument) -> str:
    """The issue as Markdown in the sample's layout: one block per line of the printed issue,
    blocks separated by a blank line, text escaped so that it renders as itself. Equal
    documents give equal strings."""
    chunks = [_md_escape(line) for line in (doc.title, *doc.masthead())]
    for section in doc.sections:
        chunks.append(_md_escape(_heading(section)))
        headlines = [f"- {_md_escape(item.title.strip())}" for item in section.items if item.title.strip()]
        if headlines:
            chunks.append("\n".join(headlines))
    for section in doc.sections:
        chunks.append(_md_escape(_heading(section)))
        for item in section.items:
            chunks.extend(_md_item(item))
    return "\n\n".join(chunk for chunk in chunks if chunk) + "\n"


def _md_item(item: IssueItem) -> list[str]:
    title = _md_escape(item.title.strip())
    if item.html is None:
        chunks = [f"{NEWS_BULLET}**{title}**"] if title else []
        chunks += [_md_escape(line) for line in _paragraphs(item.text)]
    else:
        chunks = [f"**{title}**"] if title else []
        chunks += _md_rich(_rich_blocks(item.html))
    if item.attribution.strip():
        chunks.append(_md_escape(item.attribution.strip()))
    return chunks


# --- HTML ---------------------------------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 25mm 22mm; }
html { color: #000; background: #fff; }
body { font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", "Source Han Serif SC", serif;
  font-size: 12pt; line-height: 1.8; max-width: 170mm; margin: 2em auto; padding: 0 1em; }
h1, h2, h3, .toc-section { font-family: "SimHei", "Heiti SC", "Noto Sans CJK SC", "Source Han Sans SC",
  sans-serif; }
.masthead { text-align: center; margin-bottom: 2em; }
.masthead h1 { font-size: 26pt; letter-spacing: 0.2em; margin: 0 0 0.4em; }
.masthead p { margin: 0.2em 0; }
.toc h2 { text-align: center; font-size: 14pt; }
.toc-section { margin: 0.6em 0 0.2em; font-weight: bold; }
.toc ul { margin: 0; padding-left: 2em; }
.toc a { color: inherit; text-decoration: none; }
.section h2 { font-size: 16pt; margin: 1.2em 0 0.6em; }
.item h3 { font-size: 12pt; margin: 1em 0 0.4em; }
.body p { text-indent: 2em; margin: 0.4em 0; text-align: justify; }
.body li p, .body td p, .body th p { text-indent: 0; }
.attribution { margin: 0.2em 0 1em; }
table { border-collapse: collapse; width: 100%; margin: 0.6em 0; }
td, th { border: 1px solid #000; padding: 0.2em 0.4em; vertical-align: top; }
@media print {
  body { max-width: none; margin: 0; padding: 0; }
  .toc { break-after: page; }
  h2, h3 { break-after: avoid; }
  p { orphans: 2; widows: 2; }
  tr, li, .attribution { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def _esc(text: str) -> str:
    return html_lib.escape(text, quote=True)


def to_html(doc: IssueDocument) -> str:
    """The issue as one self-contained HTML file (inline CSS, no scripts, fonts or images to
    fetch) for reading and printing on A4: the table of contents gets a page of its own. All
    text is escaped; rich text is embedded as :func:`sanitize_html` leaves it."""
    head_title = " ".join(part for part in (doc.title, doc.issue_line) if part)
    out = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        '<head>\n<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(head_title)}</title>",
        f"<style>{_CSS}</style>\n</head>\n<body>",
        f'<header class="masthead">\n<h1>{_esc(doc.title)}</h1>',
        *(f"<p>{_esc(line)}</p>" for line in doc.masthead()),
        "</header>",
        '<nav class="toc" aria-label="目录">\n<h2>目录</h2>',
    ]
    for s, section in enumerate(doc.sections, 1):
        out.append(f'<p class="toc-section"><a href="#s{s}">{_esc(_heading(section))}</a></p>')
        links = [
            f'<li><a href="#s{s}-{i}">{_esc(item.title.strip())}</a></li>'
            for i, item in enumerate(section.items, 1)
            if item.title.strip()
        ]
        if links:
            out.append("<ul>\n" + "\n".join(links) + "\n</ul>")
    out.append("</nav>")
    for s, section in enumerate(doc.sections, 1):
        out.append(f'<section class="section" id="s{s}">\n<h2>{_esc(_heading(section))}</h2>')
        out += (_html_item(item, f"s{s}-{i}") for i, item in enumerate(section.items, 1))
        out.append("</section>")
    out.append("</body>\n</html>\n")
    return "\n".join(out)


def _html_item(item: IssueItem, anchor: str) -> str:
    title = _esc(item.title.strip())
    parts = [f'<div class="item" id="{anchor}">']
    if item.html is None:
        parts += [f"<h3>{NEWS_BULLET}{title}</h3>"] if title else []
        parts += ['<div class="body">', *(f"<p>{_esc(line)}</p>" for line in _paragraphs(item.text)), "</div>"]
    else:
        parts += [f"<h3>{title}</h3>"] if title else []
        parts += ['<div class="body rich">', sanitize_html(item.html), "</div>"]
    if item.attribution.strip():
        parts.append(f'<p class="attribution">{_esc(item.attribution.strip())}</p>')
    parts.append("</div>")
    return "\n".join(parts)


# --- DOCX ---------------------------------------------------------------------------------------

BODY_SIZE = Pt(12)  # 小四
HEADLINE_SIZE = Pt(14)  # 四号
SECTION_SIZE = Pt(16)  # 三号
TITLE_SIZE = Pt(26)  # 一号
_THEME_FONT_ATTRIBUTES = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")


def _set_font(rpr: CT_RPr, font: str) -> None:
    """``font`` for Latin and East Asian text. Theme font attributes go: Word prefers them to
    named fonts, and python-docx's heading styles carry them."""
    fonts = rpr.get_or_add_rFonts()
    for name in _THEME_FONT_ATTRIBUTES:
        fonts.attrib.pop(qn(name), None)
    for name in ("w:ascii", "w:hAnsi", "w:eastAsia"):
        fonts.set(qn(name), font)


def _add_run(paragraph: Paragraph, text: str, font: str, *, bold: bool = False, italic: bool = False) -> None:
    if text == "\n":
        paragraph.add_run().add_break(WD_BREAK.LINE)
        return
    run = paragraph.add_run(text)
    run.font.name = font
    _set_font(run._r.get_or_add_rPr(), font)
    run.bold = bold or None
    run.italic = italic or None


def _style_document(document: DocxDocument, body_font: str, heading_font: str) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin = section.bottom_margin = Mm(25)
    section.left_margin = section.right_margin = Mm(25)
    for name, font, size in (
        ("Normal", body_font, BODY_SIZE),
        ("Heading 1", heading_font, SECTION_SIZE),
        ("Heading 2", heading_font, HEADLINE_SIZE),
    ):
        style = cast(ParagraphStyle, document.styles[name])
        style.font.name = font
        _set_font(style.element.get_or_add_rPr(), font)
        style.font.size = size
        if name != "Normal":
            style.font.bold = True
            style.font.color.rgb = RGBColor(0, 0, 0)  # python-docx's headings are blue
            style.paragraph_format.space_before = Pt(12)
            style.paragraph_format.space_after = Pt(6)
            style.paragraph_format.keep_with_next = True


def _body_paragraph(document: DocxDocument, text: str, font: str, *, indent: bool = True) -> Paragraph:
    paragraph = document.add_paragraph()
    if indent:
        paragraph.paragraph_format.first_line_indent = Pt(2 * BODY_SIZE.pt)  # two characters
    _add_run(paragraph, text, font)
    return paragraph


def to_docx(doc: IssueDocument, *, body_font: str = "SimSun", heading_font: str = "SimHei") -> bytes:
    """The issue as a Word document on A4: centred masthead, a 目录 page, sections as Heading 1
    "【name】", headlines as Heading 2 ("● " before news headlines), body paragraphs indented two
    characters, rich-text tables as Word tables. Fonts are set for Latin and East Asian text.
    Equal documents give equal bytes (package dates are the issue date)."""
    document = docx.Document()
    _style_document(document, body_font, heading_font)
    _docx_front(document, doc, body_font, heading_font)
    for section in doc.sections:
        _add_run(document.add_heading(level=1), _heading(section), heading_font)
        for item in section.items:
            _docx_item(document, item, body_font, heading_font)
    _set_properties(document, doc)
    buffer = io.BytesIO()
    document.save(buffer)
    return _stable_zip(buffer.getvalue(), doc.issue_date)


def _docx_front(document: DocxDocument, doc: IssueDocument, body_font: str, heading_font: str) -> None:
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _add_run(title, doc.title.strip(), heading_font, bold=True)
    for run in title.runs:
        run.font.size = TITLE_SIZE
    for line in doc.masthead():
        paragraph = document.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _add_run(paragraph, line.strip(), body_font)
    contents = document.add_paragraph()
    contents.alignment = WD_ALIGN_PARAGRAPH.CENTER
    contents.paragraph_format.space_before = Pt(24)
    _add_run(contents, "目录", heading_font, bold=True)
    for section in doc.sections:
        _add_run(document.add_paragraph(), _heading(section), heading_font, bold=True)
        for item in section.items:
            if item.title.strip():
                _body_paragraph(document, item.title.strip(), body_font)
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _docx_item(document: DocxDocument, item: IssueItem, font: str, heading_font: str) -> None:
    title = item.title.strip()
    if title:
        headline = document.add_heading(level=2)
        _add_run(headline, NEWS_BULLET + title if item.html is None else title, heading_font)
    if item.html is None:
        for line in _paragraphs(item.text):
            _body_paragraph(document, line, font)
    else:
        for block in _rich_blocks(item.html):
            _docx_block(document, block, font)
    if item.attribution.strip():
        _body_paragraph(document, item.attribution.strip(), font, indent=False)


def _docx_block(document: DocxDocument, block: _Block, font: str) -> None:
    if isinstance(block, _Table):
        width = max(len(row) for row in block.rows)
        table = document.add_table(rows=len(block.rows), cols=width)
        table.style = "Table Grid"
        for docx_row, row in zip(table.rows, block.rows, strict=True):
            for cell, (text, header) in zip(docx_row.cells, row, strict=False):
                _add_run(cell.paragraphs[0], text, font, bold=header)
        return
    paragraph = document.add_paragraph()
    if block.marker:
        paragraph.paragraph_format.left_indent = Pt(2 * BODY_SIZE.pt * (block.level + 1))
        paragraph.paragraph_format.first_line_indent = Pt(-BODY_SIZE.pt)
        _add_run(paragraph, "• " if block.marker == "- " else block.marker, font)
    else:
        paragraph.paragraph_format.first_line_indent = Pt(2 * BODY_SIZE.pt)
    for run in block.runs:
        _add_run(paragraph, run.text, font, bold=run.bold, italic=run.italic)


def _set_properties(document: DocxDocument, doc: IssueDocument) -> None:
    """Metadata from the issue, never from the clock; the template's thumbnail (a picture of
    python-docx's sample page) is dropped."""
    properties = document.core_properties
    stamp = datetime(doc.issue_date.year, doc.issue_date.month, doc.issue_date.day)
    properties.title = " ".join(part for part in (doc.title, doc.issue_line) if part)
    properties.author = properties.last_modified_by = doc.publisher
    properties.comments = ""
    properties.language = "zh-CN"
    properties.created = properties.modified = stamp
    properties.revision = 1
    rels = document.part.package.rels
    for rid in [rid for rid, rel in rels.items() if rel.reltype == RELATIONSHIP_TYPE.THUMBNAIL]:
        del rels[rid]


def _stable_zip(data: bytes, when: date) -> bytes:
    """The package re-zipped with every entry dated ``when``: python-docx stamps entries with the
    current time, which would make every export of an unchanged issue a different file."""
    stamp = (max(when.year, 1980), when.month, when.day, 0, 0, 0)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(entry))
    return out.getvalue()


# --- PDF ----------------------------------------------------------------------------------------


def to_pdf(doc: IssueDocument, *, soffice: str | None = None, timeout: float = 120) -> bytes:
    """The issue as PDF: :func:`to_docx` converted by LibreOffice (``soffice``: a path or a
    command name; default ``soffice``, then ``libreoffice``, on PATH). Raises
    :class:`ExportError` ``export.pdf_unavailable`` when LibreOffice cannot be found or started,
    ``export.pdf_failed`` when it fails, gives no PDF or is still running after ``timeout``
    seconds."""
    program = _find_soffice(soffice)
    with tempfile.TemporaryDirectory(prefix="news-harvester-pdf-") as tmp:
        workdir = Path(tmp)
        source = workdir / "issue.docx"
        source.write_bytes(to_docx(doc))
        command = [
            program,
            # A profile of its own: with the user's profile in use by a running LibreOffice,
            # soffice hands the job to that instance and exits without converting anything.
            f"-env:UserInstallation={(workdir / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(workdir),
            str(source),
        ]
        _run_soffice(command, timeout)
        target = workdir / "issue.pdf"
        data = target.read_bytes() if target.is_file() else b""
    if not data.startswith(b"%PDF"):
        raise ExportError(f"LibreOffice ({program}) produced no PDF", code="export.pdf_failed")
    return data


def _find_soffice(soffice: str | None) -> str:
    candidates = [soffice] if soffice else ["soffice", "libreoffice"]
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    wanted = soffice or "soffice"
    raise ExportError(
        f"LibreOffice is needed for PDF export and {wanted!r} was not found: install LibreOffice"
        " (Debian/Ubuntu: apt-get install libreoffice-writer) or pass the path of soffice",
        code="export.pdf_unavailable",
    )


def _run_soffice(command: list[str], timeout: float) -> None:
    try:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
    except OSError as exc:
        raise ExportError(f"cannot start LibreOffice ({command[0]}): {exc}", code="export.pdf_unavailable") from exc
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        # soffice is a launcher: the converter is its child, so the whole session goes.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise ExportError(f"LibreOffice did not finish within {timeout:g} s", code="export.pdf_failed") from exc
    if process.returncode != 0:
        detail = stderr.decode("utf-8", "replace").strip()[-500:]
        raise ExportError(f"LibreOffice exited with status {process.returncode}: {detail}", code="export.pdf_failed")
