"""An assembled issue as Markdown in the house layout (see :mod:`news_harvester.editorial.export`), text
escaped so that it renders as itself."""

from __future__ import annotations

import re

from news_harvester.editorial.export import (
    NEWS_BULLET,
    IssueDocument,
    IssueItem,
    section_heading,
    text_paragraphs,
)
from news_harvester.editorial.rich_text import Block, Para, Run, rich_blocks

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


def _md_runs(runs: tuple[Run, ...]) -> str:
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


def _md_block(block: Block) -> str:
    if isinstance(block, Para):
        return "    " * block.level + block.marker + _md_runs(block.runs)
    width = max(len(row) for row in block.rows)
    lines = []
    for index, row in enumerate(block.rows):
        cells = [_md_escape(text).replace("|", "\\|") for text, _ in row] + [""] * (width - len(row))
        lines.append("| " + " | ".join(cells) + " |")
        if index == 0:
            lines.append("|" + " --- |" * width)
    return "\n".join(lines)


def _md_rich(blocks: list[Block]) -> list[str]:
    """Blocks as Markdown chunks; the items of one list share a chunk."""
    chunks: list[str] = []
    for block in blocks:
        text = _md_block(block)
        if isinstance(block, Para) and block.marker and not block.starts_list:
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
        chunks.append(_md_escape(section_heading(section)))
        headlines = [f"- {_md_escape(item.title.strip())}" for item in section.items if item.title.strip()]
        if headlines:
            chunks.append("\n".join(headlines))
    for section in doc.sections:
        chunks.append(_md_escape(section_heading(section)))
        for item in section.items:
            chunks.extend(_md_item(item))
    return "\n\n".join(chunk for chunk in chunks if chunk) + "\n"


def _md_item(item: IssueItem) -> list[str]:
    title = _md_escape(item.title.strip())
    if item.html is None:
        chunks = [f"{NEWS_BULLET}**{title}**"] if title else []
        chunks += [_md_escape(line) for line in text_paragraphs(item.text)]
    else:
        chunks = [f"**{title}**"] if title else []
        chunks += _md_rich(rich_blocks(item.html))
    if item.chart is not None:  # a text format: the picture is in the HTML, DOCX and PDF exports
        chunks.append(_md_escape(f"〔{item.chart_caption or '附图'}：见 HTML、Word 或 PDF 版〕"))
    if item.attribution.strip():
        chunks.append(_md_escape(item.attribution.strip()))
    return chunks
