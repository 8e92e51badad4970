"""An assembled issue as a Word document (DOCX) in the house layout (see
:mod:`news_harvester.editorial.export`): A4, fonts set for Latin and East Asian text, equal documents giving
equal bytes."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
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

from news_harvester.editorial.export import (
    NEWS_BULLET,
    IssueDocument,
    IssueItem,
    section_heading,
    text_paragraphs,
)
from news_harvester.editorial.rich_text import Block, Table, rich_blocks

CHART_WIDTH = Mm(160)
"""An attached chart across the text width (A4 less 2 × 25 mm margins), its height in proportion."""
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
    characters, rich-text tables as Word tables, an attached chart as an inline picture with its caption
    (LibreOffice keeps it in the PDF). Fonts are set for Latin and East Asian text. Equal documents give
    equal bytes (package dates are the issue date)."""
    document = docx.Document()
    _style_document(document, body_font, heading_font)
    _docx_front(document, doc, body_font, heading_font)
    for section in doc.sections:
        _add_run(document.add_heading(level=1), section_heading(section), heading_font)
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
        _add_run(document.add_paragraph(), section_heading(section), heading_font, bold=True)
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
        for line in text_paragraphs(item.text):
            _body_paragraph(document, line, font)
    else:
        for block in rich_blocks(item.html):
            _docx_block(document, block, font)
    if item.chart is not None:
        picture = document.add_paragraph()
        picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
        picture.paragraph_format.keep_with_next = True
        picture.add_run().add_picture(io.BytesIO(item.chart), width=CHART_WIDTH)
        caption = document.add_paragraph()
        caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _add_run(caption, item.chart_caption, font)
    if item.attribution.strip():
        _body_paragraph(document, item.attribution.strip(), font, indent=False)


def _docx_block(document: DocxDocument, block: Block, font: str) -> None:
    if isinstance(block, Table):
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
