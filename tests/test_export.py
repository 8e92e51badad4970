"""Issue export: the sample issue rebuilt from its parts and exported, golden against its text;
HTML safety and self-containment; DOCX structure and fonts; edge cases; PDF through LibreOffice.

The sample (``../shared/design/sample-issue.md``) is taken as it is, page-break splits in the
middle of paragraphs ("综合" / "得分") and mixed "(来源:" / "（来源：" included.
"""

from __future__ import annotations

import html
import io
import re
import shutil
import sys
import time
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import docx
import pytest
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn

from conftest import missing_shared
from news_harvester.editorial.export import ExportError, IssueDocument, IssueItem, IssueSection
from news_harvester.editorial.export_docx import to_docx
from news_harvester.editorial.export_html import to_html
from news_harvester.editorial.export_markdown import to_markdown
from news_harvester.editorial.export_pdf import to_pdf

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "design" / "sample-issue.md"

HEADING_RE = re.compile(r"^【(.+)】$")
HEADLINE_RE = re.compile(r"^(?:●\s*|-\s+\*\*)(?:\*\*)?(.+?)(?:\*\*)?$")
ATTRIBUTION_RE = re.compile(r"^[（(]来源[：:].+[）)]$")
DATE_LEAD_RE = re.compile(r"^\d{1,2}\s?月\s?\d{1,2}\s?日")
REPORTED_LEAD_RE = re.compile(r"^据.{1,20}?消息")
MASTHEAD = ["数字贸易简报", "2024 年第 6 期", "(总第 26 期)", "大连市数字贸易协会秘书处编", "2024 年 6 月 28 日"]
SECTIONS = ["数据月报", "行业资讯", "协会动态"]


@dataclass
class NewsItem:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    attribution: str = ""


@dataclass
class ParsedIssue:
    """An issue's text in blank-line-separated blocks, cut the way the sample is laid out."""

    front: list[str]  # masthead and table of contents, verbatim
    toc: dict[str, list[str]]  # section name -> headlines
    bodies: dict[str, list[str]]  # section name -> blocks after its heading

    def news(self, section: str = "行业资讯") -> list[NewsItem]:
        items: list[NewsItem] = []
        for block in self.bodies[section]:
            headline = HEADLINE_RE.match(block)
            if headline:
                items.append(NewsItem(headline[1]))
            elif ATTRIBUTION_RE.match(block):
                assert items[-1].attribution == "", f"two attributions for {items[-1].title}"
                items[-1].attribution = block
            else:
                assert not items[-1].attribution, f"text after the attribution of {items[-1].title}"
                items[-1].paragraphs.append(block)
        return items

    def normalized_news(self) -> list[tuple[str, str]]:
        """The news section as (kind, text), headline markup ("● ", "- **…**") taken off."""
        return [
            ("headline", match[1]) if (match := HEADLINE_RE.match(block)) else ("block", block)
            for block in self.bodies["行业资讯"]
        ]


def parse_issue(text: str) -> ParsedIssue:
    blocks = [block.strip() for block in re.split(r"\n[ \t]*\n", text) if block.strip()]
    headings = [(index, match[1]) for index, block in enumerate(blocks) if (match := HEADING_RE.match(block))]
    names = [name for _, name in headings]
    body_start = next(index for position, (index, name) in enumerate(headings) if name in names[:position])
    toc: dict[str, list[str]] = {}
    for index, name in headings:
        if index >= body_start:
            break
        following = blocks[index + 1] if index + 1 < body_start else ""
        toc[name] = [line[2:] for line in following.splitlines()] if following.startswith("- ") else []
    body_headings = [(index, name) for index, name in headings if index >= body_start]
    ends = [index for index, _ in body_headings[1:]] + [len(blocks)]
    bodies = {name: blocks[index + 1 : end] for (index, name), end in zip(body_headings, ends)}
    return ParsedIssue(front=blocks[:body_start], toc=toc, bodies=bodies)


@pytest.fixture(scope="module")
def sample() -> ParsedIssue:
    if not SAMPLE.is_file():
        missing_shared(f"sample issue not available at {SAMPLE}")
    return parse_issue(SAMPLE.read_text(encoding="utf-8"))


def paragraphs_html(blocks: list[str]) -> str:
    return "".join(f"<p>{html.escape(block)}</p>" for block in blocks)


@pytest.fixture(scope="module")
def sample_doc(sample: ParsedIssue) -> IssueDocument:
    """The sample issue rebuilt from its parts, as the assembler would hand it over."""
    report = IssueItem(sample.toc["数据月报"][0], html=paragraphs_html(sample.bodies["数据月报"]))
    news = tuple(
        IssueItem(item.title, "\n".join(item.paragraphs), item.attribution) for item in sample.news("行业资讯")
    )
    association = IssueItem("", html=paragraphs_html(sample.bodies["协会动态"]))
    return IssueDocument(
        title="数字贸易简报",
        year=2024,
        number=6,
        total_number=26,
        publisher="大连市数字贸易协会秘书处编",
        issue_date=date(2024, 6, 28),
        sections=(
            IssueSection("数据月报", (report,)),
            IssueSection("行业资讯", news),
            IssueSection("协会动态", (association,)),
        ),
    )


def make_doc(*sections: IssueSection, title: str = "数字贸易简报", total: int | None = 26) -> IssueDocument:
    return IssueDocument(title, 2024, 6, total, "大连市数字贸易协会秘书处编", date(2024, 6, 28), sections)


def docx_paragraphs(data: bytes) -> list[tuple[str, str]]:
    return [(p.style.name if p.style is not None else "", p.text) for p in docx.Document(io.BytesIO(data)).paragraphs]


def east_asia_font(element: object) -> str | None:
    rpr = element.rPr  # type: ignore[attr-defined]
    fonts = None if rpr is None else rpr.rFonts
    return None if fonts is None else fonts.get(qn("w:eastAsia"))


# --- the sample issue, golden --------------------------------------------------------------------


def test_sample_parts_are_what_the_issue_holds(sample: ParsedIssue) -> None:
    # Guards the parser below: if it misread the sample, every golden check would be hollow.
    assert sample.front[:5] == MASTHEAD
    assert list(sample.toc) == SECTIONS == list(sample.bodies)
    assert sample.toc["数据月报"] == ["2024 年 5 月大连市服务外包数据统计情况"]
    assert sample.toc["协会动态"] == []
    news = sample.news()
    assert [item.title for item in news] == sample.toc["行业资讯"]
    assert len(news) == 8
    assert all(item.paragraphs and item.attribution for item in news)
    assert len(sample.bodies["数据月报"]) == 4


def test_markdown_reproduces_the_sample_front_matter(sample: ParsedIssue, sample_doc: IssueDocument) -> None:
    exported = parse_issue(to_markdown(sample_doc))

    assert exported.front == sample.front  # masthead lines, then every section's TOC entry, verbatim
    assert exported.front[:5] == MASTHEAD
    assert exported.toc["行业资讯"] == [item.title for item in sample.news()]
    assert exported.toc["协会动态"] == []


def test_markdown_news_section_matches_the_sample(sample: ParsedIssue, sample_doc: IssueDocument) -> None:
    markdown = to_markdown(sample_doc)
    exported = parse_issue(markdown)

    # Block for block the sample's text; only the headline markup is the house one.
    assert exported.normalized_news() == sample.normalized_news()
    for item in sample.news():
        assert f"\n\n● **{item.title}**\n\n{item.paragraphs[0]}\n\n" in markdown
    news = exported.news()
    assert [item.attribution for item in news] == [item.attribution for item in sample.news()]
    for index, item in enumerate(news):
        lead = item.paragraphs[0]
        if index == 6:  # "据阿通社 6月4日消息,迪拜…": the sample's one item led by its source
            assert REPORTED_LEAD_RE.match(lead), lead
        else:
            assert DATE_LEAD_RE.match(lead), lead


def test_markdown_free_text_sections_match_the_sample(sample: ParsedIssue, sample_doc: IssueDocument) -> None:
    exported = parse_issue(to_markdown(sample_doc))

    # The sample shows the report's headline only in the TOC; the export repeats it in bold.
    assert exported.bodies["数据月报"] == ["**2024 年 5 月大连市服务外包数据统计情况**", *sample.bodies["数据月报"]]
    assert exported.bodies["协会动态"] == sample.bodies["协会动态"]


def test_docx_of_the_sample(sample: ParsedIssue, sample_doc: IssueDocument) -> None:
    document = docx.Document(io.BytesIO(to_docx(sample_doc)))
    paragraphs = document.paragraphs
    texts = [p.text for p in paragraphs]
    styles = [p.style.name if p.style is not None else "" for p in paragraphs]

    assert texts[:5] == MASTHEAD
    assert all(p.alignment == WD_ALIGN_PARAGRAPH.CENTER for p in paragraphs[:5])
    contents = texts.index("目录")
    for name, headlines in sample.toc.items():
        at = texts.index(f"【{name}】", contents)
        assert texts[at + 1 : at + 1 + len(headlines)] == headlines
    assert [t for t, s in zip(texts, styles) if s == "Heading 1"] == [f"【{name}】" for name in SECTIONS]
    news = sample.news()
    assert [t for t, s in zip(texts, styles) if s == "Heading 2"] == [
        "2024 年 5 月大连市服务外包数据统计情况",
        *(f"● {item.title}" for item in news),
    ]
    for item in news:
        at = texts.index(f"● {item.title}")
        assert texts[at + 1 : at + 2 + len(item.paragraphs)] == [*item.paragraphs, item.attribution]
    report = texts.index("2024 年 5 月大连市服务外包数据统计情况", contents + 10)
    assert texts[report + 1 : report + 5] == sample.bodies["数据月报"]
    assert texts[-len(sample.bodies["协会动态"]) :] == sample.bodies["协会动态"]
    section = document.sections[0]
    assert section.page_width is not None and section.page_height is not None
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)  # A4


def test_docx_sets_east_asian_fonts_on_styles_and_runs(sample_doc: IssueDocument) -> None:
    document = docx.Document(io.BytesIO(to_docx(sample_doc)))
    heading_styles = {"Heading 1", "Heading 2"}
    runs = 0
    for paragraph in document.paragraphs:
        style = paragraph.style.name if paragraph.style is not None else ""
        for run in paragraph.runs:
            if not run.text:
                continue
            runs += 1
            expected = "SimHei" if style in heading_styles or run.bold else "SimSun"
            assert east_asia_font(run._r) == expected, (style, run.text)
            assert run.font.name == expected
    assert runs > 30
    for name, font in (("Normal", "SimSun"), ("Heading 1", "SimHei"), ("Heading 2", "SimHei")):
        element = document.styles[name].element
        assert east_asia_font(element) == font
        fonts = element.rPr.rFonts
        assert fonts.get(qn("w:eastAsiaTheme")) is None  # a theme font would win over the named one
        assert fonts.get(qn("w:asciiTheme")) is None


def test_docx_fonts_can_be_chosen(sample_doc: IssueDocument) -> None:
    document = docx.Document(io.BytesIO(to_docx(sample_doc, body_font="FangSong", heading_font="KaiTi")))
    assert east_asia_font(document.styles["Normal"].element) == "FangSong"
    assert east_asia_font(document.styles["Heading 1"].element) == "KaiTi"
    body = next(p for p in document.paragraphs if p.text.startswith("6 月 11 日"))
    assert east_asia_font(body.runs[0]._r) == "FangSong"
    assert body.paragraph_format.first_line_indent is not None  # two characters


# --- rich text ------------------------------------------------------------------------------------

RICH = (
    "<p>根据<strong>最新</strong>数据，<em>同比</em>增长。<br>第二行</p>"
    "<ul><li>日本<ul><li>东京</li></ul></li><li>荷兰</li></ul>"
    "<ol><li>第一</li><li>第二</li></ol>"
    "<table><thead><tr><th>国家</th><th>金额（万美元）</th></tr></thead>"
    "<tbody><tr><td>日本</td><td>29001</td></tr><tr><td>荷兰|比利时</td><td>21468</td></tr></tbody></table>"
)


def test_rich_text_in_markdown() -> None:
    markdown = to_markdown(make_doc(IssueSection("数据月报", (IssueItem("月报", html=RICH),))))

    body = markdown.split("【数据月报】\n\n")[2]
    assert body == (
        "**月报**\n\n"
        "根据**最新**数据，*同比*增长。\\\n第二行\n\n"
        "- 日本\n    - 东京\n- 荷兰\n\n"
        "1. 第一\n2. 第二\n\n"
        "| 国家 | 金额（万美元） |\n| --- | --- |\n| 日本 | 29001 |\n| 荷兰\\|比利时 | 21468 |\n"
    )


def test_rich_text_table_becomes_a_word_table() -> None:
    document = docx.Document(io.BytesIO(to_docx(make_doc(IssueSection("数据月报", (IssueItem("月报", html=RICH),))))))

    assert len(document.tables) == 1
    cells = [[cell.text for cell in row.cells] for row in document.tables[0].rows]
    assert cells == [["国家", "金额（万美元）"], ["日本", "29001"], ["荷兰|比利时", "21468"]]
    header = document.tables[0].rows[0].cells[0].paragraphs[0].runs[0]
    assert header.bold
    assert east_asia_font(header._r) == "SimSun"
    texts = [p.text for p in document.paragraphs]
    assert "根据最新数据，同比增长。\n第二行" in texts
    assert ["• 日本", "• 东京", "• 荷兰", "1. 第一", "2. 第二"] == [t for t in texts if t[:2] in ("• ", "1.", "2.")]
    bold = [run.text for p in document.paragraphs for run in p.runs if run.bold and run.text == "最新"]
    assert bold == ["最新"]


def test_rich_text_is_sanitized_again() -> None:
    hostile = '<p onclick="steal()">正文</p><script>alert(1)</script><img src="https://tracker.example/x.png">'
    doc = make_doc(IssueSection("协会动态", (IssueItem("", html=hostile),)))

    page = to_html(doc)
    assert "正文" in page
    for leftover in ("<script", "alert(1)", "onclick", "<img", "tracker.example"):
        assert leftover not in page
    assert "alert" not in to_markdown(doc)
    assert "alert" not in "".join(text for _, text in docx_paragraphs(to_docx(doc)))


# --- HTML -----------------------------------------------------------------------------------------


def test_html_is_one_self_contained_printable_file(sample_doc: IssueDocument) -> None:
    page = to_html(sample_doc)

    assert page.startswith('<!DOCTYPE html>\n<html lang="zh-CN">')
    assert '<meta charset="utf-8">' in page
    for external in ("<script", "<link", "src=", "@import", "url(", "@font-face"):
        assert external not in page
    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', page))
    assert "@media print" in page
    assert "size: A4" in page
    assert page.count("<style>") == 1
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    assert headings == ["目录", "【数据月报】", "【行业资讯】", "【协会动态】"]
    for item in sample_doc.sections[1].items:
        assert f"<h3>● {html.escape(item.title)}</h3>" in page
        assert f'<p class="attribution">{html.escape(item.attribution)}</p>' in page
    masthead = re.search(r'<header class="masthead">(.*?)</header>', page, re.S)
    assert masthead is not None
    assert re.findall(r"<(?:h1|p)>(.*?)</(?:h1|p)>", masthead[1]) == MASTHEAD


def test_html_escapes_all_text() -> None:
    evil = "<script>alert('x')</script> & co"
    doc = make_doc(
        IssueSection(evil, (IssueItem(evil, evil, f"（来源：{evil}）"),)),
        title=evil,
    )

    page = to_html(doc)
    assert "<script" not in page
    escaped = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co"
    assert f"<title>{escaped} 2024 年第 6 期</title>" in page
    assert f"<h1>{escaped}</h1>" in page
    assert f"<h2>【{escaped}】</h2>" in page
    assert f"<h3>● {escaped}</h3>" in page
    assert f"<p>{escaped}</p>" in page


# --- edge cases -----------------------------------------------------------------------------------


def test_masthead_lines() -> None:
    doc = make_doc(total=None)
    assert (doc.issue_line, doc.total_line, doc.date_line) == ("2024 年第 6 期", "", "2024 年 6 月 28 日")
    assert make_doc().total_line == "(总第 26 期)"
    assert IssueDocument("简报", 2025, 12, 1, "秘书处", date(2025, 1, 5), ()).date_line == "2025 年 1 月 5 日"
    assert to_markdown(doc).startswith("数字贸易简报\n\n2024 年第 6 期\n\n大连市数字贸易协会秘书处编\n\n")
    assert "总第" not in to_html(doc)
    assert [text for _, text in docx_paragraphs(to_docx(doc))][:4] == [
        "数字贸易简报",
        "2024 年第 6 期",
        "大连市数字贸易协会秘书处编",
        "2024 年 6 月 28 日",
    ]


def test_item_without_attribution() -> None:
    doc = make_doc(
        IssueSection(
            "行业资讯", (IssueItem("甲", "6 月 1 日，甲事。"), IssueItem("乙", "6 月 2 日，乙事。", "（来源：新华网）"))
        )
    )

    assert to_markdown(doc).endswith(
        "【行业资讯】\n\n● **甲**\n\n6 月 1 日，甲事。\n\n● **乙**\n\n6 月 2 日，乙事。\n\n（来源：新华网）\n"
    )
    texts = [text for _, text in docx_paragraphs(to_docx(doc))]
    assert texts[-5:] == ["● 甲", "6 月 1 日，甲事。", "● 乙", "6 月 2 日，乙事。", "（来源：新华网）"]
    assert to_html(doc).count('class="attribution"') == 1


def test_empty_section_keeps_its_heading() -> None:
    doc = make_doc(IssueSection("数据月报"), IssueSection("协会动态"))

    markdown = to_markdown(doc)
    assert markdown.endswith("【数据月报】\n\n【协会动态】\n\n【数据月报】\n\n【协会动态】\n")
    paragraphs = docx_paragraphs(to_docx(doc))
    assert [text for style, text in paragraphs if style == "Heading 1"] == ["【数据月报】", "【协会动态】"]
    assert "<h2>【协会动态】</h2>\n</section>" in to_html(doc)


def test_special_characters_stay_text_in_every_format() -> None:
    name = "A&B <专题> *重点* 1~5月"
    item = IssueItem("标题_下划线 [链接](x)", "1. 不是列表\n- 也不是\n# 不是标题", "（来源：a|b）")
    doc = make_doc(IssueSection(name, (item,)))

    markdown = to_markdown(doc)
    assert "【A&B \\<专题\\> \\*重点\\* 1\\~5月】" in markdown
    assert "- 标题\\_下划线 \\[链接\\](x)" in markdown
    assert "\n\n1\\. 不是列表\n\n\\- 也不是\n\n\\# 不是标题\n\n" in markdown
    assert "<h2>【A&amp;B &lt;专题&gt; *重点* 1~5月】</h2>" in to_html(doc)
    headings = [text for style, text in docx_paragraphs(to_docx(doc)) if style.startswith("Heading")]
    assert headings == [f"【{name}】", "● 标题_下划线 [链接](x)"]


def test_a_bracketed_section_name_is_not_bracketed_twice() -> None:
    assert "\n\n【专题】\n\n" in to_markdown(make_doc(IssueSection("【专题】")))


def test_output_is_deterministic(sample_doc: IssueDocument) -> None:
    copy = IssueDocument(**{name: getattr(sample_doc, name) for name in IssueDocument.__slots__})

    assert to_markdown(sample_doc) == to_markdown(copy)
    assert to_html(sample_doc) == to_html(copy)
    first = to_docx(sample_doc)
    assert to_docx(copy) == first
    with zipfile.ZipFile(io.BytesIO(first)) as package:  # dated from the issue, not the clock
        assert {info.date_time for info in package.infolist()} == {(2024, 6, 28, 0, 0, 0)}
        assert "docProps/thumbnail.jpeg" not in package.namelist()
    properties = docx.Document(io.BytesIO(first)).core_properties
    assert properties.title == "数字贸易简报 2024 年第 6 期"
    assert properties.author == "大连市数字贸易协会秘书处编"
    assert properties.created is not None and properties.created.date() == date(2024, 6, 28)


def test_a_long_issue_exports_quickly() -> None:
    items = tuple(
        IssueItem(f"第 {n} 条资讯标题", f"6 月 {n % 28 + 1} 日，" + "正文内容。" * 60, "（来源：商务部网站）")
        for n in range(200)
    )
    rich = IssueItem("月报", html=RICH * 10)
    doc = make_doc(IssueSection("数据月报", (rich,)), IssueSection("行业资讯", items), IssueSection("协会动态"))

    started = time.perf_counter()
    markdown, page, data = to_markdown(doc), to_html(doc), to_docx(doc)
    assert time.perf_counter() - started < 10

    assert markdown.count("\n● **第 ") == 200
    assert page.count("<h3>● 第 ") == 200
    assert sum(1 for style, _ in docx_paragraphs(data) if style == "Heading 2") == 201


# --- PDF ------------------------------------------------------------------------------------------


def fake_soffice(tmp_path: Path, body: str) -> str:
    """An executable standing in for soffice: ``body`` runs with ``outdir`` and ``source`` set."""
    script = tmp_path / "fake-soffice"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys, time\n"
        "from pathlib import Path\n"
        "args = sys.argv[1:]\n"
        "outdir = Path(args[args.index('--outdir') + 1])\n"
        "source = Path(args[-1])\n" + body,
        encoding="utf-8",
    )
    script.chmod(0o755)
    return str(script)


def test_pdf_without_libreoffice_says_so(sample_doc: IssueDocument, tmp_path: Path) -> None:
    with pytest.raises(ExportError) as raised:
        to_pdf(sample_doc, soffice=str(tmp_path / "no" / "soffice"))
    assert raised.value.code == "export.pdf_unavailable"
    assert "LibreOffice" in str(raised.value)
    assert "no/soffice" in str(raised.value)


def test_pdf_looks_for_soffice_on_path(
    sample_doc: IssueDocument, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ExportError) as raised:
        to_pdf(sample_doc)
    assert raised.value.code == "export.pdf_unavailable"
    assert "install LibreOffice" in str(raised.value)


def test_pdf_is_what_soffice_writes_for_the_docx(sample_doc: IssueDocument, tmp_path: Path) -> None:
    soffice = fake_soffice(
        tmp_path,
        "assert any(a.startswith('-env:UserInstallation=file://') for a in args)\n"
        "assert '--headless' in args and args[args.index('--convert-to') + 1] == 'pdf'\n"
        "assert source.read_bytes()[:2] == b'PK'\n"
        "(outdir / (source.stem + '.pdf')).write_bytes(b'%PDF-1.7 fake')\n",
    )
    assert to_pdf(sample_doc, soffice=soffice) == b"%PDF-1.7 fake"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param("sys.stderr.write('Error: source file could not be loaded')\nsys.exit(1)\n", "could not be loaded",
                     id="soffice exits non-zero -> failed with its stderr"),
        pytest.param("pass\n", "no PDF", id="soffice exits 0 without a file -> failed"),
        pytest.param("(outdir / 'issue.pdf').write_bytes(b'<html>')\n", "no PDF", id="not a PDF -> failed"),
        pytest.param("time.sleep(60)\n", "did not finish", id="soffice hangs -> failed after the timeout"),
    ],
)  # fmt: skip
def test_pdf_failures(sample_doc: IssueDocument, tmp_path: Path, body: str, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ExportError) as raised:
        to_pdf(sample_doc, soffice=fake_soffice(tmp_path, body), timeout=1)
    assert raised.value.code == "export.pdf_failed"
    assert message in str(raised.value)
    assert time.perf_counter() - started < 20


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
def test_pdf_through_libreoffice(sample_doc: IssueDocument) -> None:
    data = to_pdf(sample_doc)
    assert data.startswith(b"%PDF")
    assert len(data) > 10_000
