"""An assembled issue of 数字贸易简报 as values (:class:`IssueDocument`, its sections and items) and the house
layout its renderers share: :mod:`.export_markdown` (Markdown), :mod:`.export_html` (one self-contained HTML
file), :mod:`.export_docx` (DOCX) and :mod:`.export_pdf` (PDF, the DOCX converted by LibreOffice).

Pure: values in, bytes or text out; no database, no network, no clock (file dates come from the
issue date). Only :func:`~news_harvester.editorial.export_pdf.to_pdf` leaves the process, to run LibreOffice
on the DOCX.

The house layout is the sample issue's (``shared/design/sample-issue.md``, a real issue as
text): title, issue line "2024 年第 6 期", total line "(总第 26 期)", publisher, date, then a
table of contents giving every section as "【name】" with its headlines as "- headline" (a
section without items keeps its heading, as 协会动态 does), then every section under its
"【name】" heading. A news item (``html`` is None) is "● headline" in bold, its paragraphs and
its attribution line "（来源：…）"; a free-text item (数据月报, 协会动态) is its headline, if it
has one, and its rich text, then the chart the editor attached to it, if any (a PNG: embedded as a
data: URI in HTML, as an inline picture in DOCX and so in PDF; Markdown, a text format, gives a note line
"〔caption：见 HTML、Word 或 PDF 版〕" in its place). Attributions are printed as given: normalising "(来源:" to
"（来源：" is the assembler's job, not the renderer's.

Rich text arrives sanitized (p, lists, tables, strong / em, br) and goes through
:func:`news_harvester.parse.sanitize.sanitize_html` once more anyway, since this is where it becomes a
file someone opens. One small reader (:mod:`.rich_text`) turns it into blocks (paragraphs, list items,
tables) for Markdown and DOCX; HTML output embeds the sanitized markup itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from news_harvester.errors import HarvesterError

__all__ = [
    "NEWS_BULLET",
    "ExportError",
    "IssueDocument",
    "IssueItem",
    "IssueSection",
    "section_heading",
    "text_paragraphs",
]


class ExportError(HarvesterError):
    """Raised by :func:`~news_harvester.editorial.export_pdf.to_pdf`: ``export.pdf_unavailable`` (no
    LibreOffice to run) or ``export.pdf_failed`` (it ran, and gave no PDF in time)."""

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
    chart: bytes | None = None
    """A PNG printed after the text (the chart an editor attached to a 数据月报 item); None = none."""
    chart_caption: str = ""
    """What the chart shows, its alternative text in HTML and the caption under it in DOCX."""


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
"""Printed before a news item's headline."""


def section_heading(section: IssueSection) -> str:
    """ "【name】" (a name given with its brackets is kept as it is)."""
    name = section.name.strip()
    return name if name.startswith("【") and name.endswith("】") else f"【{name}】"


def text_paragraphs(text: str) -> list[str]:
    """The non-blank lines of a news item's text, stripped: one paragraph each."""
    return [line.strip() for line in text.splitlines() if line.strip()]
