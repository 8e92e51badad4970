"""Reading an uploaded table of monthly figures (CSV or XLSX) into :class:`Figure` records and row problems.

The long format of ``../shared/fixtures/monthly-figures/README.md``: one figure per row, columns period, region,
indicator, dimension, value, unit (in any order; the Chinese headers 期间, 地区, 指标, 维度, 数值, 单位 work too).

Pure: bytes in, a :class:`FigureTable` out; nothing is stored here. Every bad row is reported (row number as a
spreadsheet shows it, the header being row 1) with the reason in English and in Chinese, and the caller stores
nothing when there is any: a table imported half would give a report with holes nobody sees.

CSV is read as UTF-8 (with or without BOM), else GB18030: Excel on a Chinese Windows saves "CSV" in GBK.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from news_harvester.editorial.figures import ALL, INDICATORS, KINDS, OFFSHORE, UNIT, FiguresError, Period
from news_harvester.store.figure_rows import Figure

COLUMNS = ("period", "region", "indicator", "dimension", "value", "unit")
ALIASES = {"期间": "period", "时期": "period", "地区": "region", "指标": "indicator", "维度": "dimension",
           "数值": "value", "值": "value", "单位": "unit"}  # fmt: skip
MAX_ROWS = 20_000


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A row that cannot be imported: its ``row`` (1 = the header; 0 = the file as a whole), a stable ``code``,
    the reason in English (``message``) and in Chinese (``message_zh``)."""

    row: int
    code: str
    message: str
    message_zh: str


@dataclass(frozen=True, slots=True)
class FigureTable:
    figures: tuple[Figure, ...]
    problems: tuple[RowProblem, ...]
    rows: int
    """Data rows read (blank rows aside)."""


def read_table(data: bytes) -> FigureTable:
    """The figures and problems of an uploaded CSV or XLSX file (told apart by content, not by name)."""
    try:
        rows = list(_xlsx_rows(data) if data[:4] == b"PK\x03\x04" else _csv_rows(data))
    except FiguresError as exc:
        return FigureTable((), (RowProblem(0, exc.code, exc.message, _ZH_FILE),), 0)
    if not rows:
        return FigureTable((), (RowProblem(0, "figures.empty", "the file is empty", "文件是空的"),), 0)
    header = [ALIASES.get(h.strip(), h.strip().lower()) for h in rows[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return FigureTable(
            (),
            (
                RowProblem(
                    1,
                    "figures.columns",
                    f"missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}",
                    f"表头缺少列：{'、'.join(missing)}（应有 {', '.join(COLUMNS)}）",
                ),
            ),
            0,
        )
    index = {c: header.index(c) for c in COLUMNS}
    figures: list[Figure] = []
    problems: list[RowProblem] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    count = 0
    for number, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        count += 1
        if count > MAX_ROWS:
            problems.append(
                RowProblem(
                    number, "figures.too_many", f"row {number}: more than {MAX_ROWS} rows", f"超过 {MAX_ROWS} 行"
                )
            )
            break
        values = {c: (cells[i].strip() if i < len(cells) else "") for c, i in index.items()}
        figure, problem = _figure(number, values)
        if problem is not None:
            problems.append(problem)
            continue
        assert figure is not None
        key = (figure.period, figure.region, figure.indicator, figure.dimension)
        if key in seen:
            problems.append(
                RowProblem(
                    number,
                    "figures.duplicate",
                    f"row {number}: the same figure as row {seen[key]} ({'/'.join(key)})",
                    f"第 {number} 行：与第 {seen[key]} 行重复（{'/'.join(key)}）",
                )
            )
            continue
        seen[key] = number
        figures.append(figure)
    if not count and not problems:
        problems.append(RowProblem(0, "figures.empty", "no data rows under the header", "表头下没有数据行"))
    return FigureTable(tuple(figures), tuple(problems), count)


_ZH_FILE = "文件无法读取：请上传 UTF-8 或 GBK 编码的 CSV，或 Excel（.xlsx）文件"


def _figure(number: int, v: dict[str, str]) -> tuple[Figure | None, RowProblem | None]:
    """The row's figure, or the first thing wrong with it."""

    def bad(code: str, english: str, chinese: str) -> tuple[None, RowProblem]:
        return None, RowProblem(number, code, f"row {number}: {english}", f"第 {number} 行：{chinese}")

    try:
        period = str(Period.parse(v["period"]))
    except FiguresError:
        return bad(
            "figures.period",
            f"period {v['period']!r} is not YYYY-MM..YYYY-MM",
            f"期间“{v['period']}”格式不对，应为 2024-01..2024-05 这样的写法",
        )
    if not v["region"] or len(v["region"]) > 64:
        return bad("figures.region", "region is empty or too long", "地区为空或过长")
    if v["indicator"] not in INDICATORS:
        return bad(
            "figures.indicator",
            f"unknown indicator {v['indicator']!r} (one of {', '.join(INDICATORS)})",
            f"指标“{v['indicator']}”不认识，应为 {'、'.join(INDICATORS)} 之一",
        )
    dimension = v["dimension"].replace("：", ":")
    kind, sep, name = dimension.partition(":")
    if not (dimension in (ALL, OFFSHORE) or (sep and kind in KINDS and name.strip() and len(dimension) <= 128)):
        return bad(
            "figures.dimension",
            f"dimension {v['dimension']!r} is not 全部, 离岸 or KIND:VALUE with KIND one of {', '.join(KINDS)}",
            f"维度“{v['dimension']}”不对，应为 全部、离岸，或 {'、'.join(KINDS)} 之一加冒号和名称（如 国别:日本）",
        )
    dimension = f"{kind}:{name.strip()}" if sep else dimension
    try:
        value = Decimal(v["value"].replace(",", ""))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0:
        return bad(
            "figures.value",
            f"value {v['value']!r} is not a number of at least 0",
            f"数值“{v['value']}”不是不小于 0 的数字",
        )
    if v["unit"] != UNIT:
        return bad("figures.unit", f"unit {v['unit']!r} is not {UNIT}", f"单位“{v['unit']}”不对，应为{UNIT}")
    return Figure(period, v["region"], v["indicator"], dimension, value, UNIT), None


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes almost any byte string
        raise FiguresError("the file is neither UTF-8 nor GB18030 text", code="figures.format")
    if "\x00" in text:
        raise FiguresError("the file is not a CSV or XLSX table", code="figures.format")
    try:
        yield from csv.reader(io.StringIO(text))
    except csv.Error as exc:
        raise FiguresError(f"the CSV cannot be read: {exc}", code="figures.format") from exc


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    """The first sheet's rows as text (numbers as their shortest decimal form, so 140636.86 stays 140636.86)."""
    from openpyxl import load_workbook  # type: ignore[import-untyped]  # imported on use: only uploads need it

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise FiguresError(f"the XLSX file cannot be read: {exc}", code="figures.format") from exc
    try:
        for row in book.worksheets[0].iter_rows(values_only=True):
            yield [_cell(c) for c in row]
    finally:
        book.close()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
