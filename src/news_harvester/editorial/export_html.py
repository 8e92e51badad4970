"""An assembled issue as one self-contained HTML file in the house layout (see
:mod:`news_harvester.editorial.export`): inline CSS, no scripts, fonts or images to fetch (an attached chart is
embedded as a data: URI PNG); A4 for printing."""

from __future__ import annotations

import base64
import html as html_lib

from news_harvester.editorial.export import (
    NEWS_BULLET,
    IssueDocument,
    IssueItem,
    section_heading,
    text_paragraphs,
)
from news_harvester.parse.sanitize import sanitize_html

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
.chart { margin: 0.8em 0; text-align: center; }
.chart img { max-width: 100%; height: auto; }
.chart figcaption { font-size: 10.5pt; }
@media print {
  body { max-width: none; margin: 0; padding: 0; }
  .toc { break-after: page; }
  h2, h3 { break-after: avoid; }
  p { orphans: 2; widows: 2; }
  tr, li, .attribution, .chart { break-inside: avoid; }
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
        out.append(f'<p class="toc-section"><a href="#s{s}">{_esc(section_heading(section))}</a></p>')
        links = [
            f'<li><a href="#s{s}-{i}">{_esc(item.title.strip())}</a></li>'
            for i, item in enumerate(section.items, 1)
            if item.title.strip()
        ]
        if links:
            out.append("<ul>\n" + "\n".join(links) + "\n</ul>")
    out.append("</nav>")
    for s, section in enumerate(doc.sections, 1):
        out.append(f'<section class="section" id="s{s}">\n<h2>{_esc(section_heading(section))}</h2>')
        out += (_html_item(item, f"s{s}-{i}") for i, item in enumerate(section.items, 1))
        out.append("</section>")
    out.append("</body>\n</html>\n")
    return "\n".join(out)


def _html_item(item: IssueItem, anchor: str) -> str:
    title = _esc(item.title.strip())
    parts = [f'<div class="item" id="{anchor}">']
    if item.html is None:
        parts += [f"<h3>{NEWS_BULLET}{title}</h3>"] if title else []
        parts += ['<div class="body">', *(f"<p>{_esc(line)}</p>" for line in text_paragraphs(item.text)), "</div>"]
    else:
        parts += [f"<h3>{title}</h3>"] if title else []
        parts += ['<div class="body rich">', sanitize_html(item.html), "</div>"]
    if item.chart is not None:  # embedded: the file stays self-contained
        data = base64.b64encode(item.chart).decode("ascii")
        caption = _esc(item.chart_caption)
        parts.append(
            f'<figure class="chart"><img src="data:image/png;base64,{data}" alt="{caption}">'
            f"<figcaption>{caption}</figcaption></figure>"
        )
    if item.attribution.strip():
        parts.append(f'<p class="attribution">{_esc(item.attribution.strip())}</p>')
    parts.append("</div>")
    return "\n".join(parts)
