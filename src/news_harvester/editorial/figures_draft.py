"""Drafting the 【数据月报】 text from stored figures, in the house style of the sample issue (2024 年第 6 期).

One paragraph per view, in this order, each left out (with a warning) when the figures for it are missing:

1. 总体 — opens with the attribution "根据商务部服务外包统一平台公布的最新数据显示，今年1-5月…": contracts signed
   (onshore included) and executed, then "其中，" the offshore ones.
2. 国际市场 — the top three markets by offshore executed amount (ties keep the order imported), then the trade
   areas (“一带一路”沿线国家, RCEP 国家), signed and executed.
3. 企业性质 — signed and executed amounts of domestic and foreign-invested enterprises, each with its share of
   the breakdown's total (shares, not rates: the house style prints no year-on-year change here).
4. 业务结构 — ITO, BPO, KPO executed amounts.

Amounts are printed with two decimals; rates are "同比增长/下降X.XX%" from the prior-year period (the same months a
year earlier). A figure without a prior-year figure is printed without its rate, and the draft says so in a
warning: the text never carries a number the data does not give. Pure: a FigureBook in, a ReportDraft out.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from decimal import Decimal

from news_harvester.editorial.figures import (
    ALL,
    EXECUTED,
    OFFSHORE,
    OFFSHORE_EXECUTED,
    OFFSHORE_SIGNED,
    SIGNED,
    FigureBook,
    Period,
    amount_text,
    describe,
    two_decimals,
)

ATTRIBUTION = "根据商务部服务外包统一平台公布的最新数据显示，"
TOP_MARKETS = 3
RANK_WORDS = {1: "最高的是", 2: "前两位的是", 3: "前三的是"}
AREA_PHRASES = {"一带一路": "“一带一路”沿线国家服务外包合同"}
"""How a trade area is introduced; others read "RCEP国家接包合同"."""
OWNERSHIP_NAMES = {"内资": "内资企业", "外资": "外商投资企业"}
BUSINESS_NAMES = {"ITO": "信息技术外包（ITO）", "BPO": "业务流程外包（BPO）", "KPO": "知识流程外包（KPO）"}


@dataclass(frozen=True, slots=True)
class FigureWarning:
    """Something the editor must know about a draft: a stable ``code``, a Chinese ``message`` for the page and
    the same in English for the command line."""

    code: str
    message: str
    english: str


@dataclass(frozen=True, slots=True)
class ReportDraft:
    title: str
    paragraphs: tuple[str, ...]
    warnings: tuple[FigureWarning, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def html(self) -> str:
        """The paragraphs as the free-text item of the issue stores them."""
        return "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in self.paragraphs)


class _Writer:
    """Collects the warnings while the paragraphs are written."""

    def __init__(self, book: FigureBook, period: Period) -> None:
        self.book = book
        self.period = period
        self.warnings: list[FigureWarning] = []

    def rate(self, indicator: str, dimension: str) -> str:
        """``同比增长5.44%``, ``同比下降6.39%``, ``同比持平``; "" (and a warning) without a prior-year figure."""
        value = self.book.rate(indicator, dimension)
        if value is None:
            self.no_prior(indicator, dimension)
            return ""
        rounded = two_decimals(value)
        if rounded == 0:
            return "同比持平"
        return f"同比{'增长' if rounded > 0 else '下降'}{abs(rounded):f}%"

    def no_prior(self, indicator: str, dimension: str) -> None:
        prior, name = self.period.prior(), describe(indicator, dimension)
        self.warnings.append(
            FigureWarning(
                "figures.no_prior_year",
                f"没有上年同期（{prior}）“{name}”的数据（或为 0），同比增速未写入，请核实后补充",
                f"no prior-year ({prior}) figure for {indicator} / {dimension}: its year-on-year rate is left out",
            )
        )

    def missing(self, view: str, what: str) -> None:
        self.warnings.append(
            FigureWarning(
                "figures.missing_view",
                f"没有{what}的数据，“{view}”一段未写",
                f"no figures for {what}: the {view} paragraph is left out",
            )
        )

    def amount(self, indicator: str, dimension: str, label: str) -> str | None:
        """``label`` + amount + "，" + rate, or None when the figure is not there."""
        value = self.book.value(indicator, dimension)
        if value is None:
            return None
        rate = self.rate(indicator, dimension)
        return f"{label}{amount_text(value)}万美元" + (f"，{rate}" if rate else "")


def draft_report(book: FigureBook, period: Period, region: str, *, this_year: int | None = None) -> ReportDraft:
    """The 【数据月报】 of ``region`` for ``period`` from ``book``. ``this_year`` is the issue's year: figures of that
    year open with "今年1-5月", others with "2023年1-5月"."""
    w = _Writer(book, period)
    when = period.months
    if period.start_year == period.end_year and period.end_year != this_year:
        when = f"{period.end_year}年{when}"
    elif period.start_year == period.end_year:
        when = f"今年{when}"
    paragraphs = [p for p in (_overall(w, when, region), _markets(w), _ownership(w), _business(w)) if p]
    if paragraphs and not paragraphs[0].startswith(ATTRIBUTION):
        paragraphs[0] = f"{ATTRIBUTION}{when}{region}服务外包主要数据如下。{paragraphs[0]}"
    title = f"{period.end_year} 年 {period.end_month} 月{region}服务外包数据统计情况"
    return ReportDraft(title, tuple(paragraphs), tuple(w.warnings))


def _overall(w: _Writer, when: str, region: str) -> str:
    totals = [
        c
        for c in (w.amount(SIGNED, ALL, "合同签约额（包含在岸）"), w.amount(EXECUTED, ALL, "接包合同执行额"))
        if c is not None
    ]
    signed = w.amount(SIGNED, OFFSHORE, "离岸服务外包合同额")
    executed = w.amount(EXECUTED, OFFSHORE, "执行额" if signed else "离岸服务外包合同执行额")
    offshore = [c for c in (signed, executed) if c is not None]
    if not totals and not offshore:
        w.missing("总体", "合同签约额、合同执行额（全部、离岸）")
        return ""
    text = ATTRIBUTION + f"{when}{region}" + ("服务外包" + "；".join(totals) + "。" if totals else "")
    if offshore:
        text += ("其中，" if totals else "") + "；".join(offshore) + "。"
    return text


def _executed_or_signed(w: _Writer, kind: str) -> tuple[str, list[tuple[str, Decimal]]]:
    for indicator in (OFFSHORE_EXECUTED, EXECUTED, OFFSHORE_SIGNED, SIGNED):
        members = w.book.members(kind, indicator)
        if members:
            return indicator, members
    return "", []


def _markets(w: _Writer) -> str:
    indicator, markets = _executed_or_signed(w, "国别")
    sentences = []
    if markets:
        top = sorted(markets, key=lambda m: m[1], reverse=True)[:TOP_MARKETS]  # sorted() is stable: ties as imported
        verb = "执行" if "执行" in indicator else "签约"
        names = "、".join(n for n, _v in top)
        amounts = "、".join(f"{amount_text(v)}万美元" for _n, v in top)
        sentence = f"{w.period.months}接包{verb}金额{RANK_WORDS[len(top)]}{names}，"
        sentence += f"{'分别是' if len(top) > 1 else '为'}{amounts}"
        rates = [(n, w.rate(indicator, f"国别:{n}")) for n, _v in top]
        if all(r for _n, r in rates):
            listed = "、".join(r.removeprefix("同比") for _n, r in rates)
            sentence += f"，同比{'分别是' if len(top) > 1 else ''}{listed}"
        elif any(r for _n, r in rates):
            sentence += "，其中" + "，".join(f"{n}{r}" for n, r in rates if r)
        sentences.append(sentence + "。")
    else:
        w.missing("国际市场", "国别（市场）")
    for area in dict.fromkeys(
        n for ind in (OFFSHORE_SIGNED, OFFSHORE_EXECUTED) for n, _v in w.book.members("区域", ind)
    ):
        phrase = AREA_PHRASES.get(area, f"{area}国家接包合同")
        signed = w.amount(OFFSHORE_SIGNED, f"区域:{area}", f"{phrase}签约金额")
        executed = w.amount(OFFSHORE_EXECUTED, f"区域:{area}", "执行金额" if signed else f"{phrase}执行金额")
        sentences.append("；".join(c for c in (signed, executed) if c) + "。")
    return "从国际市场看，" + "".join(sentences) if sentences else ""


def _ownership(w: _Writer) -> str:
    names = list(
        dict.fromkeys(n for ind in (OFFSHORE_SIGNED, OFFSHORE_EXECUTED) for n, _v in w.book.members("企业性质", ind))
    )
    if not names:
        w.missing("企业性质", "企业性质（内资、外资）")
        return ""
    clauses = []
    for name in names:
        label = OWNERSHIP_NAMES.get(name, f"{name}企业")
        parts: list[str] = []
        for indicator, verb in ((OFFSHORE_SIGNED, "签约"), (OFFSHORE_EXECUTED, "执行")):
            value = w.book.value(indicator, f"企业性质:{name}")
            share = w.book.share(indicator, f"企业性质:{name}")
            if value is not None and share is not None:  # the house style: 签约金额…；执行金额… of one enterprise kind
                words = f"{verb}金额" if parts else f"{label}服务外包合同{verb}金额"
                parts.append(f"{words}{amount_text(value)}万美元，占比{two_decimals(share):f}%")
        clauses.append("；".join(parts))
    return f"从企业性质看，{w.period.months}" + "；".join(clauses) + "。"


def _business(w: _Writer) -> str:
    indicator, lines = _executed_or_signed(w, "业务")
    if not lines:
        w.missing("业务结构", "业务类型（ITO、BPO、KPO）")
        return ""
    verb = "执行" if "执行" in indicator else "签约"
    sentences = []
    for n, (name, _value) in enumerate(lines):
        label = BUSINESS_NAMES.get(name, name)
        clause = w.amount(indicator, f"业务:{name}", f"{'离岸' if n == 0 else ''}{label}合同{verb}金额")
        assert clause is not None  # the members are the stored figures
        sentences.append(f"{clause}。")
    return f"从业务结构看，{w.period.months}" + "".join(sentences)
