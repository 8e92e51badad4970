"""Issue 17 part 4: the chart of top markets an editor ticks on a 【数据月报】 item, drawn into the exports.

The chart itself (a PNG of fixed size whose bars follow the figures, biggest first) is checked in the pixels of the
PNG; the exports are made from an issue on a real SQLite file with the fixture's figures imported through the
store, and the box is ticked through the review app (TestClient) as an editor does.
"""

from __future__ import annotations

import base64
import io
import logging
import re
import shutil
import sys
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote_plus as unquote

import docx
import pytest
from PIL import Image

from figures_support import PERIOD, REGION, sample_csv, upload
from news_harvester.editorial import figures_chart, figures_report, issues
from news_harvester.editorial.export_pdf import to_pdf
from news_harvester.editorial.figures import FigureBook, Period
from news_harvester.editorial.figures_chart import (
    HEIGHT,
    MARKETS,
    WIDTH,
    Bars,
    ChartSpec,
    chart_figure,
    market_bars,
    render_png,
)
from news_harvester.store.figure_rows import Figure

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
DATA_IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)">')
BAR_COLOR = (0x2F, 0x5D, 0x8A)


def book_of(markets: list[tuple[str, str]], indicator: str = "离岸执行额") -> FigureBook:
    return FigureBook([Figure(PERIOD, REGION, indicator, f"国别:{n}", Decimal(v), "万美元") for n, v in markets])


def bar_pixels(png: bytes, figure_bars: list[tuple[float, float]]) -> list[int]:
    """How many pixels of the bar colour each bar's middle column of the PNG has (bars given as their x span)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    counts = []
    for x0, x1 in figure_bars:
        x = round((x0 + x1) / 2)
        counts.append(sum(1 for y in range(image.height) if image.getpixel((x, y)) == BAR_COLOR))
    return counts


# --- the chart ----------------------------------------------------------------------------------------------------


def test_the_top_markets_are_ranked_by_executed_amount_ties_as_imported():
    book = book_of([("美国", "9120.55"), ("日本", "29001"), ("荷兰", "21468"), ("韩国", "9120.55"), ("德国", "1")])
    bars = market_bars(book, Period.parse(PERIOD), REGION, top=4)
    assert bars is not None
    assert [n for n, _v in bars.bars] == ["日本", "荷兰", "美国", "韩国"]
    assert bars.title == "2024年1-5月大连市服务外包主要市场离岸执行额" and bars.unit == "万美元"
    signed_only = market_bars(book_of([("日本", "5")], "离岸签约额"), Period.parse(PERIOD), REGION)
    assert signed_only is not None and "离岸签约额" in signed_only.title
    assert market_bars(FigureBook([Figure(PERIOD, REGION, "合同执行额", "全部", Decimal(1), "万美元")]),
                       Period.parse(PERIOD), REGION) is None


def test_the_png_has_the_fixed_size_and_its_bars_follow_the_data():
    bars = Bars("主要市场", "万美元", (("日本", Decimal("29001")), ("荷兰", Decimal("21468")),
                                       ("新加坡", Decimal("13448")), ("美国", Decimal("9120.55"))))
    figure = chart_figure(bars)
    axes = figure.axes[0]
    assert [t.get_text() for t in axes.get_xticklabels()] == ["日本", "荷兰", "新加坡", "美国"]
    assert [p.get_height() for p in axes.patches] == [29001, 21468, 13448, 9120.55]
    assert [t.get_text() for t in axes.texts] == ["29001.00", "21468.00", "13448.00", "9120.55"]
    assert axes.get_ylabel() == "万美元"
    png = render_png(bars)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (WIDTH, HEIGHT)
    figure.canvas.draw()
    spans = [(p.get_window_extent().x0, p.get_window_extent().x1) for p in axes.patches]
    counts = bar_pixels(png, spans)
    assert all(c > 0 for c in counts)
    assert counts == sorted(counts, reverse=True)  # the drawn bars are as tall as the figures are big
    assert abs(counts[0] / counts[3] - 29001 / 9120.55) < 0.1
    assert render_png(bars) == png  # equal data, equal bytes (no timestamp)
    reversed_png = render_png(Bars("主要市场", "万美元", tuple(reversed(bars.bars))))
    assert bar_pixels(reversed_png, spans) == list(reversed(counts))


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # matplotlib's, without the CJK font
def test_a_cjk_font_is_used_when_installed_else_a_warning_once(monkeypatch, caplog):
    from matplotlib import font_manager

    figures_chart.cjk_font.cache_clear()
    monkeypatch.setattr(figures_chart, "CJK_FAMILIES", ("No Such CJK Font",))
    try:
        with caplog.at_level(logging.WARNING, logger="news_harvester.editorial.figures_chart"):
            assert figures_chart.cjk_font() is None
            png = render_png(Bars("主要市场", "万美元", (("日本", Decimal(1)),)))
            render_png(Bars("主要市场", "万美元", (("荷兰", Decimal(2)),)))
        assert Image.open(io.BytesIO(png)).size == (WIDTH, HEIGHT)  # drawn anyway
        assert [r.getMessage() for r in caplog.records].count(
            "no CJK font found for charts (install fonts-noto-cjk or fonts-wqy-microhei): Chinese labels will not show"
        ) == 1
    finally:
        figures_chart.cjk_font.cache_clear()
    monkeypatch.undo()
    installed = {f.name for f in font_manager.fontManager.ttflist}
    if not any(n.startswith(figures_chart.CJK_FAMILIES) for n in installed):
        pytest.skip("no CJK font installed here (fonts-noto-cjk)")
    font = figures_chart.cjk_font()
    assert font is not None and font.startswith(figures_chart.CJK_FAMILIES)
    figure = chart_figure(Bars("主要市场", "万美元", (("日本", Decimal(1)),)))
    assert figure.axes[0].get_xticklabels()[0].get_fontfamily()[0] == font


def test_a_chart_spec_round_trips_and_bad_ones_mean_no_chart():
    spec = ChartSpec(MARKETS, PERIOD, REGION)
    assert ChartSpec.from_json(spec.to_json()) == spec and "大连市" in spec.to_json()
    assert ChartSpec.from_json(None) is None and ChartSpec.from_json("") is None
    assert ChartSpec.from_json('{"kind": "pie", "period": "x", "region": "y"}') is None
    assert ChartSpec.from_json("{not json") is None


# --- the exports --------------------------------------------------------------------------------------------------


@pytest.fixture
def report_issue(settings, repository):
    """A draft issue whose 【数据月报】 is the report drafted from the fixture figures (no chart yet)."""
    result = figures_report.import_figures(repository, sample_csv(), file_name="dalian.csv", user="editor", now=NOW)
    assert result.stored
    issue_id = issues.current_draft(repository, settings, user="editor", now=NOW)
    item_id, _report = figures_report.draft_into_issue(repository, issue_id, PERIOD, REGION, user="editor", now=NOW)
    return issue_id, item_id


def export(repository, settings, issue_id: int, fmt: str) -> bytes:
    issue = repository.get_issue(issue_id)
    return issues.export(issue, fmt, settings, figures_report.item_charts(repository, issue))


def tick(repository, item_id: int) -> None:
    item = repository.get_item(item_id)
    spec = figures_report.chart_spec(repository, item, item.title, item.html or "")
    assert spec == ChartSpec(MARKETS, PERIOD, REGION)
    repository.update_item(item_id, chart=spec.to_json(), user="editor", now=NOW)


def test_the_html_export_embeds_the_chart_only_when_ticked(settings, repository, report_issue):
    issue_id, item_id = report_issue
    plain = export(repository, settings, issue_id, "html").decode("utf-8")
    assert "<img" not in plain and "data:image" not in plain
    assert "附图" not in export(repository, settings, issue_id, "md").decode("utf-8")
    tick(repository, item_id)
    page = export(repository, settings, issue_id, "html").decode("utf-8")
    found = DATA_IMG.findall(page)
    assert len(found) == 1
    png = base64.b64decode(found[0][0])
    assert Image.open(io.BytesIO(png)).size == (WIDTH, HEIGHT)
    assert found[0][1] == "图：2024年1-5月大连市服务外包主要市场离岸执行额（万美元）"
    report = page.split('<section class="section" id="s1">')[1].split("</section>")[0]
    assert "【数据月报】" in report and "<img" in report  # in the report's section, after its text
    assert report.index("从业务结构看") < report.index("<img")
    assert "〔图：2024年1-5月大连市服务外包主要市场离岸执行额（万美元）：见 HTML、Word 或 PDF 版〕" in export(
        repository, settings, issue_id, "md").decode("utf-8")
    repository.update_item(item_id, chart="", user="editor", now=NOW)  # unticked
    assert "<img" not in export(repository, settings, issue_id, "html").decode("utf-8")


def test_the_docx_export_has_the_chart_as_an_inline_picture_only_when_ticked(settings, repository, report_issue):
    issue_id, item_id = report_issue
    plain = docx.Document(io.BytesIO(export(repository, settings, issue_id, "docx")))
    assert len(plain.inline_shapes) == 0
    tick(repository, item_id)
    data = export(repository, settings, issue_id, "docx")
    document = docx.Document(io.BytesIO(data))
    assert len(document.inline_shapes) == 1
    shape = document.inline_shapes[0]
    assert abs(shape.width / shape.height - WIDTH / HEIGHT) < 0.01
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        media = [n for n in package.namelist() if n.startswith("word/media/")]
        assert len(media) == 1
        assert Image.open(io.BytesIO(package.read(media[0]))).size == (WIDTH, HEIGHT)
    texts = [p.text for p in document.paragraphs]
    caption = texts.index("图：2024年1-5月大连市服务外包主要市场离岸执行额（万美元）")
    assert texts[caption - 2].startswith("从业务结构看")  # report text, picture paragraph, caption
    assert export(repository, settings, issue_id, "docx") == data  # still deterministic


def test_the_pdf_is_converted_from_the_docx_with_the_chart(settings, repository, report_issue, tmp_path):
    """LibreOffice gets the DOCX with the picture in it (a stand-in soffice checks); with a real LibreOffice
    installed, the PDF carries an image."""
    issue_id, item_id = report_issue
    tick(repository, item_id)
    issue = repository.get_issue(issue_id)
    doc = issues.document(issue, figures_report.item_charts(repository, issue))
    script = tmp_path / "fake-soffice"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys, zipfile\n"
        "from pathlib import Path\n"
        "args = sys.argv[1:]\n"
        "outdir, source = Path(args[args.index('--outdir') + 1]), Path(args[-1])\n"
        "names = zipfile.ZipFile(source).namelist()\n"
        "media = [n for n in names if n.startswith('word/media/')]\n"
        "(outdir / 'issue.pdf').write_bytes(b'%PDF-1.7 media=' + ','.join(media).encode())\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    assert to_pdf(doc, soffice=str(script)) == b"%PDF-1.7 media=word/media/image1.png"
    if not (shutil.which("soffice") or shutil.which("libreoffice")):
        pytest.skip("LibreOffice not installed: the real conversion is not run")
    pdf = to_pdf(doc)
    assert pdf.startswith(b"%PDF") and (b"/Subtype /Image" in pdf or b"/Subtype/Image" in pdf)


# --- the assembly screen ------------------------------------------------------------------------------------------


def chart_box(page: str, item_id: int) -> str:
    item = page.split(f'data-item="{item_id}"')[1].split("</li>")[0]
    found = re.search(r'<input type="checkbox" name="chart" value="1"([^>]*)>', item)
    assert found is not None, "no chart box on the item"
    return found[1]


def test_ticking_the_box_on_the_assembly_screen_is_kept_and_exported(editor_client):
    client, token = editor_client
    created = client.post("/issues", data={"csrf_token": token})
    issue_id = int(created.headers["location"].split("?")[0].rsplit("/", 1)[1])
    upload(client, token, "dalian.csv", sample_csv())
    assert "附图：主要市场执行额" in client.get(f"/issues/{issue_id}").text  # on the draft button's form
    client.post(f"/issues/{issue_id}/figures-report", data={"csrf_token": token, "figures": f"{PERIOD}|{REGION}"})
    report = next(i for i in client.get(f"/api/issues/{issue_id}").json()["items"] if i["section"] == "数据月报")
    assert report["chart"] is None
    assert "checked" not in chart_box(client.get(f"/issues/{issue_id}").text, report["id"])
    assert "<img" not in client.get(f"/issues/{issue_id}/export.html").text

    form = {"csrf_token": token, "title": report["title"], "html": report["html"], "chart_box": "1", "chart": "1"}
    saved = client.post(f"/issues/{issue_id}/items/{report['id']}/html", data=form)
    assert saved.status_code == 303 and "已保存，已附图" in unquote(saved.headers["location"])
    item = next(i for i in client.get(f"/api/issues/{issue_id}").json()["items"] if i["id"] == report["id"])
    assert item["chart"] == {"kind": "markets", "period": PERIOD, "region": REGION}
    assert "checked" in chart_box(client.get(f"/issues/{issue_id}").text, report["id"])
    page = client.get(f"/issues/{issue_id}/export.html").text
    assert len(DATA_IMG.findall(page)) == 1
    word = docx.Document(io.BytesIO(client.get(f"/issues/{issue_id}/export.docx").content))
    assert len(word.inline_shapes) == 1

    form.pop("chart")  # unticked: the browser sends no value for the box
    client.post(f"/issues/{issue_id}/items/{report['id']}/html", data=form)
    assert "checked" not in chart_box(client.get(f"/issues/{issue_id}").text, report["id"])
    assert "<img" not in client.get(f"/issues/{issue_id}/export.html").text

    # a text about figures never imported: saved, no chart, and the editor is told
    other = form | {"chart": "1", "title": "沈阳市数据", "html": "<p>今年1-5月沈阳市服务外包……</p>"}
    refused = client.post(f"/issues/{issue_id}/items/{report['id']}/html", data=other)
    assert "正文已保存；没有与本文地区和月份对应的已导入数据，未能附图" in unquote(refused.headers["location"])
    item = next(i for i in client.get(f"/api/issues/{issue_id}").json()["items"] if i["id"] == report["id"])
    assert item["title"] == "沈阳市数据" and item["chart"] is None

    # the draft button's box attaches the chart at once; a 协会动态 item has no box
    client.post(f"/issues/{issue_id}/figures-report",
                data={"csrf_token": token, "figures": f"{PERIOD}|{REGION}", "chart": "1"})
    items = client.get(f"/api/issues/{issue_id}").json()["items"]
    assert [i["chart"] for i in items if i["section"] == "数据月报"] == [
        None, {"kind": "markets", "period": PERIOD, "region": REGION}]
    client.post(f"/issues/{issue_id}/text", data={"csrf_token": token, "section": "协会动态", "html": "<p>会议</p>"})
    other_item = next(i for i in client.get(f"/api/issues/{issue_id}").json()["items"] if i["section"] == "协会动态")
    with pytest.raises(AssertionError, match="no chart box"):
        chart_box(client.get(f"/issues/{issue_id}").text, other_item["id"])
    assert len(DATA_IMG.findall(client.get(f"/issues/{issue_id}/export.html").text)) == 1


def test_an_old_database_gains_the_chart_column(tmp_path: Path):
    """Migration 0013 on a database at 0012 adds the column, empty (no chart) for the items already there."""
    from sqlalchemy import inspect

    from conftest import migrate_to
    from news_harvester.store.engine import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate_to(engine, "0012")
    assert "chart" not in {c["name"] for c in inspect(engine).get_columns("issue_items")}
    migrate_to(engine, "0013")
    columns = {c["name"]: c for c in inspect(engine).get_columns("issue_items")}
    assert columns["chart"]["nullable"] is True
    engine.dispose()
