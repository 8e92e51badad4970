"""Issue 17 (parts 1–3): monthly figures imported, the 【数据月报】 drafted from them and an editor's numbers checked.

The golden test reads the sample issue's 【数据月报】 paragraphs and the fixture table of the same figures; every
amount, rate (with its direction word) and share the sample prints must come out of the draft in the same order.
Other tests build their own tables (another region and period, prior-year figures missing, bad rows, XLSX), run
the real CLI, and store on a real SQLite file (and PostgreSQL when NEWS_HARVESTER_TEST_PG is set).
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import missing_shared, shared_fixture
from news_harvester.editorial.figures import FigureBook, Period
from news_harvester.editorial.figures_check import check_report
from news_harvester.editorial.figures_draft import draft_report
from news_harvester.editorial.figures_report import draft, import_figures
from news_harvester.store.figure_rows import Figure
from news_harvester.store.schema import audit_log
from procs import run_cli

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "design" / "sample-issue.md"
CLAIM = re.compile(r"(\d+(?:\.\d+)?)万美元|(增长|下降)(\d+(?:\.\d+)?)%|占比(\d+(?:\.\d+)?)%")
NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
HEADER = ["period", "region", "indicator", "dimension", "value", "unit"]


def claims(text: str) -> list[tuple[str, Decimal]]:
    """The numbers of a report in order: amounts, signed rates (下降 → negative), shares."""
    out = []
    for m in CLAIM.finditer(text):
        if m[1]:
            out.append(("amount", Decimal(m[1])))
        elif m[3]:
            out.append(("rate", Decimal(m[3]) * (1 if m[2] == "增长" else -1)))
        else:
            out.append(("share", Decimal(m[4])))
    return out


def sample_report() -> str:
    if not SAMPLE.exists():
        missing_shared("../shared/design/sample-issue.md not available")
    body = SAMPLE.read_text(encoding="utf-8").split("【数据月报】")[2].split("【行业资讯】")[0]
    return "\n".join(line.strip() for line in body.splitlines() if line.strip())


def fixture_rows() -> list[dict[str, str]]:
    path = shared_fixture("monthly-figures/dalian-2024-01-05.csv")
    return list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))


def to_csv(rows: list[dict[str, str]] | list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([row[c] for c in HEADER] if isinstance(row, dict) else row)
    return buffer.getvalue().encode("utf-8")


def pct(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_the_sample_reports_figures_come_out_of_the_draft(repository):
    rows = fixture_rows()
    result = import_figures(repository, to_csv(rows), file_name="dalian.csv", user="editor", now=NOW)
    assert result.stored and sum(r.after for r in result.replaced) == len(rows)
    report = draft(repository, "2024-01..2024-05", "大连市", this_year=2024)
    sample = sample_report()
    assert report.text.startswith("根据商务部服务外包统一平台公布的最新数据显示，今年1-5月大连市")
    assert [p[:6] for p in report.paragraphs] == [p[:6] for p in sample.splitlines()]  # 根据商务部…, 从国际市场看 …
    printed, drafted = claims(sample), claims(report.text)
    assert len(printed) == len(drafted) > 30
    differences = [(p, d) for p, d in zip(printed, drafted, strict=True) if p != d]
    # The one difference: the sample prints the foreign-invested share of signed amounts as 73.47%, but its own
    # figures give 73.4751…% (and the two printed shares add up to 99.99): the draft rounds, half up.
    value = {(r["period"], r["indicator"], r["dimension"]): Decimal(r["value"]) for r in rows}
    domestic = value[("2024-01..2024-05", "离岸签约额", "企业性质:内资")]
    foreign = value[("2024-01..2024-05", "离岸签约额", "企业性质:外资")]
    expected = pct(foreign / (domestic + foreign) * 100)
    assert len(differences) == 1
    (kind, printed_share), (_kind, drafted_share) = differences[0]
    assert kind == "share" and drafted_share == expected and abs(printed_share - expected) == Decimal("0.01")
    ranked = re.search(r"前三的是([^，]+)，", sample)[1]
    assert f"前三的是{ranked}，" in report.text and ranked.split("、") == ["日本", "荷兰", "新加坡"]
    assert report.warnings == ()
    # the check, run over the sample's printed text, finds exactly that share
    book = FigureBook(repository.figures("2024-01..2024-05", "大连市"),
                      repository.figures("2023-01..2023-05", "大连市"))
    problems = check_report(sample, book)
    assert [p.code for p in problems] == ["figures.mismatch"]
    assert f"占比{printed_share}%" in problems[0].message and f"{expected}%" in problems[0].message
    assert check_report(report.text, book) == ()


def shenyang_rows() -> tuple[list[list[str]], dict[tuple[str, str], Decimal], dict[tuple[str, str], Decimal]]:
    """Another city, January–March 2025; no prior-year figure for executed amounts nor for 德国."""
    now = {("合同签约额", "全部"): "5120.4", ("合同执行额", "全部"): "4388.15", ("合同签约额", "离岸"): "3900",
           ("合同执行额", "离岸"): "3011.7", ("离岸执行额", "国别:韩国"): "120",
           ("离岸执行额", "国别:德国"): "640.5", ("离岸执行额", "国别:美国"): "800.25",
           ("离岸执行额", "国别:日本"): "700", ("离岸签约额", "企业性质:内资"): "1000",
           ("离岸签约额", "企业性质:外资"): "2900", ("离岸执行额", "业务:ITO"): "2000",
           ("离岸执行额", "业务:BPO"): "1011.7"}
    before = {("合同签约额", "全部"): "4800", ("合同签约额", "离岸"): "4100.1", ("合同执行额", "离岸"): "2999.99",
              ("离岸执行额", "国别:韩国"): "100", ("离岸执行额", "国别:美国"): "900",
              ("离岸执行额", "国别:日本"): "650", ("离岸执行额", "业务:ITO"): "1800",
              ("离岸执行额", "业务:BPO"): "1011.7"}  # fmt: skip
    rows = [["2025-01..2025-03", "沈阳市", i, d, v, "万美元"] for (i, d), v in now.items()]
    rows += [["2024-01..2024-03", "沈阳市", i, d, v, "万美元"] for (i, d), v in before.items()]
    return rows, {k: Decimal(v) for k, v in now.items()}, {k: Decimal(v) for k, v in before.items()}


def test_another_city_and_period_with_prior_year_figures_missing(repository):
    rows, now, before = shenyang_rows()
    assert import_figures(repository, to_csv(rows), file_name="sy.csv", user="e", now=NOW).stored
    report = draft(repository, "2025-01..2025-03", "沈阳市", this_year=2025)
    text = report.text
    assert text.startswith("根据商务部服务外包统一平台公布的最新数据显示，今年1-3月沈阳市")
    assert "前三的是美国、日本、德国，" in text  # by amount, not in the order imported; 韩国 ranked out
    assert "韩国" not in text
    rates = {k: pct((now[k] / before[k] - 1) * 100) for k in before}
    for key, rate in rates.items():
        if key[1] != "国别:韩国":
            word = "持平" if rate == 0 else ("增长" if rate > 0 else "下降") + f"{abs(rate)}%"
            assert word in text, (key, word)
    # no prior-year executed total: the amount without a rate, and a warning naming it; 德国 likewise
    assert re.search(r"接包合同执行额4388\.15万美元[。；]", text)
    assert "分别是800.25万美元、700.00万美元、640.50万美元，其中美国同比下降11.08%，日本同比增长7.69%" in text
    missing = [w for w in report.warnings if w.code == "figures.no_prior_year"]
    assert len(missing) == 2 and "合同执行额（全部）" in missing[0].message and "国别：德国" in missing[1].message
    assert "2024-01..2024-03" in missing[0].message and "prior-year" in missing[0].english
    share = pct(now[("离岸签约额", "企业性质:内资")] / Decimal(3900) * 100)
    assert f"占比{share}%" in text and "占比74.36%" in text
    # every number in the text is a figure or a rate or share computed from them: nothing invented
    allowed = {pct(v) for v in now.values()} | {abs(r) for r in rates.values()} | {share, Decimal("74.36")}
    assert {abs(v) for _k, v in claims(text)} <= allowed
    # figures of another year than the open with their year
    assert draft(repository, "2025-01..2025-03", "沈阳市", this_year=2026).text.startswith(
        "根据商务部服务外包统一平台公布的最新数据显示，2025年1-3月沈阳市")


def test_editors_numbers_are_checked_against_the_figures(repository):
    rows, _now, _before = shenyang_rows()
    import_figures(repository, to_csv(rows), file_name="sy.csv", user="e", now=NOW)
    period = Period.parse("2025-01..2025-03")
    book = FigureBook(repository.figures(str(period), "沈阳市"), repository.figures(str(period.prior()), "沈阳市"))
    text = draft_report(book, period, "沈阳市").text
    assert check_report(text, book) == ()
    assert check_report(text.replace("5120.40万美元", "5121万美元"), book) != ()  # 5120.4 is not 5121
    for same in ("5120.4万美元", "5120万美元"):  # the same figure at the precision written
        assert check_report(text.replace("5120.40万美元", same), book) == ()
    edited = (text.replace("5120.40", "5210.40")  # a typo in an amount
              .replace("同比增长6.68%", "同比下降6.68%")  # the direction turned round (signed total, 5120.4/4800)
              .replace("占比25.64%", "占比26.64%")  # a wrong share
              .replace("接包合同执行额4388.15万美元", "接包合同执行额4388.15万美元，同比增长3.00%"))  # no prior figure
    problems = check_report(edited, book)
    messages = " | ".join(p.message for p in problems)
    assert [p.code for p in problems].count("figures.mismatch") == 3, messages
    assert "“5210.40万美元”" in messages and "合同签约额（全部） 5120.40万美元" in messages
    assert "“下降6.68%”" in messages and "同比增长6.68%" in messages
    assert "“占比26.64%”" in messages and "占比25.64%" in messages
    assert any(p.code == "figures.unverified" and "合同执行额（全部）" in p.message for p in problems)


def test_figures_are_stored_replaced_and_audited(any_repository):
    rows, _now, _before = shenyang_rows()
    first = import_figures(any_repository, to_csv(rows), file_name="a.csv", user="editor1", now=NOW)
    assert [(r.period, r.before, r.after) for r in first.replaced] == [("2025-01..2025-03", 0, 12),
                                                                      ("2024-01..2024-03", 0, 8)]
    changed = [r for r in rows if r[0] == "2025-01..2025-03" and r[3] != "国别:韩国"]
    changed[0] = [*changed[0][:4], "5300.55", "万美元"]
    later = NOW + timedelta(days=1)
    second = import_figures(any_repository, to_csv(changed), file_name="b.csv", user="editor2", now=later)
    assert [(r.period, r.before, r.after) for r in second.replaced] == [("2025-01..2025-03", 12, 11)]
    stored = any_repository.figures("2025-01..2025-03", "沈阳市")
    assert len(stored) == 11 and stored[0].value == Decimal("5300.55")
    assert not any(f.dimension == "国别:韩国" for f in stored)  # replaced whole, nothing of the first upload left
    assert len(any_repository.figures("2024-01..2024-03", "沈阳市")) == 8  # another period: untouched
    sets = {(s.period, s.region): s for s in any_repository.figure_sets()}
    latest = sets[("2025-01..2025-03", "沈阳市")]
    assert (latest.count, latest.imported_by) == (11, "editor2")
    with any_repository.engine.connect() as conn:
        audit = conn.execute(select(audit_log).order_by(audit_log.c.id)).all()
    assert [(a.action, a.user_name) for a in audit] == [("figures_import", "editor1"), ("figures_import", "editor1"),
                                                        ("figures_replace", "editor2")]
    assert json.loads(audit[-1].before)["figures"] == 12 and json.loads(audit[-1].after) == {
        "period": "2025-01..2025-03", "region": "沈阳市", "figures": 11, "file": "b.csv"}


def test_a_bad_row_imports_nothing_and_names_every_bad_row(tmp_path):
    good = shared_fixture("monthly-figures/dalian-2024-01-05.csv")
    assert run_cli(tmp_path, "figures", "import", str(good)).returncode == 0
    rows = fixture_rows()
    edited = [[r[c] for c in HEADER] for r in rows[:4]]
    edited[0][4] = "150000"  # a good row that must not be stored either
    edited += [["2024-1..2024-05", "大连市", "合同签约额", "全部", "1", "万美元"],
               ["2024-01..2024-05", "大连市", "合同额", "全部", "1", "万美元"],
               ["2024-01..2024-05", "大连市", "离岸执行额", "国别:日本", "12,3a", "万美元"],
               [*edited[1]],
               ["2024-01..2024-05", "大连市", "离岸执行额", "国家:日本", "1", "万美元"],
               ["2024-01..2024-05", "大连市", "离岸执行额", "国别:美国", "1", "亿美元"]]  # fmt: skip
    bad = tmp_path / "bad.csv"
    bad.write_bytes(to_csv(edited))
    done = run_cli(tmp_path, "figures", "import", str(bad))
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.startswith("error: row")]
    assert [line.split(":")[1].strip() for line in lines] == ["row 6", "row 7", "row 8", "row 9", "row 10", "row 11"]
    for word in ("period", "indicator", "'12,3a'", "same figure as row 3", "dimension", "unit"):
        assert word in done.stderr, word
    assert "nothing imported" in done.stderr
    listed = json.loads(run_cli(tmp_path, "figures", "list", "--json").stdout)
    assert {(s["period"], s["figures"]) for s in listed} == {
        (p, sum(1 for r in rows if r["period"] == p)) for p in {r["period"] for r in rows}}
    shown = json.loads(run_cli(tmp_path, "figures", "draft", "--period", "2024-01..2024-05", "--region", "大连市",
                               "--json").stdout)
    assert rows[0]["value"] in shown["text"] and "150000" not in shown["text"]  # the first import stands


def test_xlsx_gives_the_same_figures_as_csv(repository):
    from openpyxl import Workbook

    rows = fixture_rows()
    book = Workbook()
    sheet = book.active
    sheet.append(["期间", "地区", "指标", "维度", "数值", "单位"])  # the Chinese headers
    for r in rows:
        sheet.append([r["period"], r["region"], r["indicator"], r["dimension"], float(r["value"]), r["unit"]])
    sheet.append([None] * 6)  # a blank row is skipped
    buffer = io.BytesIO()
    book.save(buffer)
    result = import_figures(repository, buffer.getvalue(), file_name="dalian.xlsx", user="e", now=NOW)
    assert result.stored and result.table.rows == len(rows)
    from_xlsx = draft(repository, "2024-01..2024-05", "大连市", this_year=2024).text
    again = import_figures(repository, to_csv(rows), file_name="dalian.csv", user="e", now=NOW)
    assert {r.before for r in again.replaced} == {r.after for r in again.replaced}  # the same rows, replaced
    assert draft(repository, "2024-01..2024-05", "大连市", this_year=2024).text == from_xlsx
    sheet.append(["2024-01..2024-05", "大连市", "离岸执行额", "国别:法国", "很多", "万美元"])
    buffer = io.BytesIO()
    book.save(buffer)
    refused = import_figures(repository, buffer.getvalue(), file_name="bad.xlsx", user="e", now=NOW)
    assert not refused.stored
    assert [(p.row, p.code) for p in refused.table.problems] == [(len(rows) + 3, "figures.value")]
    assert "数值“很多”" in refused.table.problems[0].message_zh


def test_the_cli_drafts_the_report(tmp_path):
    path = shared_fixture("monthly-figures/dalian-2024-01-05.csv")
    imported = run_cli(tmp_path, "figures", "import", str(path), "--json")
    assert imported.returncode == 0, imported.stderr
    record = json.loads(imported.stdout)
    assert record["stored"] and record["problems"] == [] and record["figures"] == len(fixture_rows())
    done = run_cli(tmp_path, "figures", "draft", "--period", "2024-01..2024-05", "--region", "大连市", "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    year = "今年" if datetime.now(timezone(timedelta(hours=8))).year == 2024 else "2024年"
    assert shown["title"] == "2024 年 5 月大连市服务外包数据统计情况"
    assert shown["paragraphs"][0].startswith(f"根据商务部服务外包统一平台公布的最新数据显示，{year}1-5月大连市")
    assert [p[:6] for p in shown["paragraphs"]] == ["根据商务部服", "从国际市场看", "从企业性质看", "从业务结构看"]
    figures = _figures(fixture_rows())
    book = FigureBook([f for f in figures if f.period == "2024-01..2024-05"],
                      [f for f in figures if f.period == "2023-01..2023-05"])
    assert claims(shown["text"]) == claims(draft_report(book, Period.parse("2024-01..2024-05"), "大连市").text)
    plain = run_cli(tmp_path, "figures", "draft", "--period", "2024-01..2024-05", "--region", "大连市")
    assert plain.stdout.splitlines()[0] == shown["title"] and shown["paragraphs"][3] in plain.stdout
    unknown = run_cli(tmp_path, "figures", "draft", "--period", "2024-01..2024-05", "--region", "沈阳市")
    assert unknown.returncode == 1 and "no figures stored for 沈阳市" in unknown.stderr
    bad = run_cli(tmp_path, "figures", "draft", "--period", "2024-05..2024-01", "--region", "大连市")
    assert bad.returncode == 1 and "ends before it starts" in bad.stderr


def _figures(rows: list[dict[str, str]]) -> list[Figure]:
    return [Figure(r["period"], r["region"], r["indicator"], r["dimension"], Decimal(r["value"]), r["unit"])
            for r in rows]


@pytest.mark.parametrize(
    ("text", "months"),
    [("2024-01..2024-05", "1-5月"), ("2024-05..2024-05", "5月"), ("2023-12..2024-02", "2023年12月-2024年2月")],
    ids=["year to date", "one month", "across the year end"],
)
def test_periods_read_and_compare_a_year_earlier(text, months):
    period = Period.parse(text)
    assert (str(period), period.months) == (text, months)
    start, end = text.split("..")
    assert str(period.prior()) == f"{int(start[:4]) - 1}{start[4:]}..{int(end[:4]) - 1}{end[4:]}"
