"""Service-outsourcing figures stated in harvested articles, offered to the editor as figures to confirm.

MOFCOM's monthly 服务外包 releases (and the provincial commerce departments' copies of them) state the year-to-date
figures of the 【数据月报】 in a few fixed shapes: "1-5月，我国企业承接服务外包合同额9171.8亿元，执行额6097.4亿元，同比
分别增长14.5%和11.3%。其中，承接离岸服务外包合同额5299.1亿元……", often again "以美元计" in 亿美元. This module
reads such sentences into :class:`FoundFigure` records — period, region, indicator (the report's four), dimension
(全部 / 离岸), value and unit, with the sentence as evidence — and nothing else: no rate is turned into a prior-year
figure, no RMB amount into dollars. Only amounts in 美元 can become figures of the report (it prints 万美元;
亿美元 × 10,000 is exact); RMB amounts are shown for reference and cannot be confirmed.

Pure: text in, records out. The editor confirms on the /figures page (news_harvester.web.figures).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Protocol

from news_harvester.editorial.figures import ALL, EXECUTED, OFFSHORE, SIGNED, UNIT, Period
from news_harvester.store.figure_rows import Figure, StatementArticle

NATIONAL = "全国"
_CN_NUMBERS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
    "十一": 11,
    "十二": 12,
}
_MONTH = r"(\d{1,2}|十[一二]?|[一二两三四五六七八九])"
_PERIOD_RES = (
    re.compile(rf"(?:(\d{{4}})\s*年\s*)?(?:1|一)\s*[-—–~至]\s*{_MONTH}\s*月"),
    re.compile(rf"(?:(\d{{4}})\s*年\s*)?前\s*{_MONTH}\s*个?月"),
)
_HALF_RE = re.compile(r"(?:(\d{4})\s*年\s*)?(上半年|前三季度|全年)")
_HALF_MONTHS = {"上半年": 6, "前三季度": 9, "全年": 12}
_SENTENCE_RE = re.compile(r"[^。；;！!？?\n]+[。；;！!？?]?")
_AMOUNT_RE = re.compile(
    r"(?P<what>(?:承接)?(?:离岸)?(?:服务外包)?(?:合同)?(?:签约|执行)?额)\s*(?:为|达|达到|完成|实现)?\s*"
    r"(?P<value>\d[\d,，]*(?:\.\d+)?)\s*(?P<unit>亿美元|万美元|亿元人民币|亿元|万元)"
)
_REGION_RE = re.compile(r"([\u4e00-\u9fff]{2,7}?(?:市|省|自治区|新区))(?:企业)?(?:共)?承接")
_NATIONAL_RE = re.compile(r"我国|全国")
_TO_WAN_DOLLARS = {"亿美元": Decimal(10000), "万美元": Decimal(1)}


@dataclass(frozen=True, slots=True)
class FoundFigure:
    """One amount a harvested article states: as printed (``value``, ``unit``) and, when it is in dollars, as a
    figure of the report in 万美元 (``figure``)."""

    period: str
    region: str
    indicator: str
    dimension: str
    value: Decimal
    unit: str
    sentence: str
    figure: Figure | None

    @property
    def confirmable(self) -> bool:
        return self.figure is not None

    @property
    def key(self) -> str:
        """Identifies the figure on the confirm form: period|region|indicator|dimension|unit."""
        return "|".join((self.period, self.region, self.indicator, self.dimension, self.unit))


def find_figures(text: str, published_at: datetime | None) -> list[FoundFigure]:
    """The 服务外包 amounts ``text`` states, in order; the same (period, region, indicator, dimension, unit) once."""
    found: dict[str, FoundFigure] = {}
    period: Period | None = None
    region = NATIONAL
    offshore_sentence = False
    for match in _SENTENCE_RE.finditer(text):
        sentence = match.group(0).strip()
        if not sentence:
            continue
        period = _period(sentence, published_at, period) or period
        region = _region(sentence) or region
        if "服务外包" not in sentence and not sentence.startswith("其中"):
            continue
        offshore_sentence = "离岸" in sentence.split("，")[0] or sentence.startswith("其中，承接离岸")
        last_indicator = SIGNED
        for amount in _AMOUNT_RE.finditer(sentence):
            what = amount["what"]
            indicator = EXECUTED if "执行" in what else SIGNED if ("签约" in what or "合同" in what) else last_indicator
            last_indicator = indicator
            dimension = OFFSHORE if ("离岸" in what or offshore_sentence) else ALL
            unit = amount["unit"].replace("人民币", "")
            try:
                value = Decimal(amount["value"].replace(",", "").replace("，", ""))
            except InvalidOperation:
                continue
            if period is None:
                continue
            scale = _TO_WAN_DOLLARS.get(unit)
            figure = Figure(str(period), region, indicator, dimension, value * scale, UNIT) if scale else None
            item = FoundFigure(str(period), region, indicator, dimension, value, unit, sentence, figure)
            found.setdefault(item.key, item)
    return list(found.values())


def _period(sentence: str, published_at: datetime | None, earlier: Period | None = None) -> Period | None:
    """The year-to-date months a sentence names (``1-5月``, ``前5个月``, ``上半年``), the year read from the sentence,
    else from an earlier sentence that named it for the same months (the headline: "2024年1—5月份…"), else from the
    publication date (a January report of ``1-12月`` is about the year before)."""
    end_month: int | None = None
    year_text: str | None = None
    for pattern in _PERIOD_RES:
        if m := pattern.search(sentence):
            year_text, end_month = m[1], _month(m[2])
            break
    if end_month is None and (m := _HALF_RE.search(sentence)):
        year_text, end_month = m[1], _HALF_MONTHS[m[2]]
    if end_month is None or not 1 <= end_month <= 12:
        return None
    if year_text:
        year = int(year_text)
    elif earlier is not None and earlier.end_month == end_month:
        year = earlier.end_year
    elif published_at is not None:
        year = published_at.year if end_month <= published_at.month else published_at.year - 1
    else:
        return None
    return Period(year, 1, year, end_month)


def _month(text: str) -> int | None:
    return int(text) if text.isdigit() else _CN_NUMBERS.get(text)


def _region(sentence: str) -> str | None:
    if m := _REGION_RE.search(sentence):
        return m[1]
    if _NATIONAL_RE.search(sentence) and "承接" in sentence:
        return NATIONAL
    return None


STATEMENT_PHRASES = ("服务外包", "经济运行情况")
"""Articles whose title names one of these are read for figures: MOFCOM's 服务外包 releases and their reprints, and
MIIT's monthly 通信业 / 软件业经济运行情况."""
STATEMENT_DAYS = 120


@dataclass(frozen=True, slots=True)
class Statement:
    """A harvested article and the figures it states."""

    article: StatementArticle
    figures: list[FoundFigure]


class StatementSource(Protocol):
    def articles_on(self, phrases: Sequence[str], since: datetime, limit: int = 30) -> list[StatementArticle]: ...

    def article_text(self, article_id: int) -> StatementArticle | None: ...


def statements(store: StatementSource, now: datetime) -> list[Statement]:
    """Recent harvested articles that state service-outsourcing figures, newest first."""
    found = []
    for article in store.articles_on(STATEMENT_PHRASES, now - timedelta(days=STATEMENT_DAYS)):
        figures = _figures_of(article)
        if figures:
            found.append(Statement(article, figures))
    return found


def picked_figures(store: StatementSource, picks: list[str]) -> tuple[list[Figure], list[str]]:
    """The figures an editor ticked (``<article id>:<key>``), read again from the stored article (nothing posted
    is trusted), and the URLs of the articles they come from. Unknown or unconfirmable picks are skipped."""
    wanted: dict[int, set[str]] = {}
    for pick in picks:
        number, _sep, key = pick.partition(":")
        if number.isdigit() and key:
            wanted.setdefault(int(number), set()).add(key)
    figures: list[Figure] = []
    urls: list[str] = []
    for article_id, keys in wanted.items():
        article = store.article_text(article_id)
        if article is None:
            continue
        chosen = [f.figure for f in _figures_of(article) if f.key in keys and f.figure]
        if chosen:
            figures += chosen
            urls.append(article.url)
    return figures, urls


def _figures_of(article: StatementArticle) -> list[FoundFigure]:
    """A 服务外包 release's figures; a ministry's 经济运行情况 release's industry totals."""
    text = f"{article.title}。{article.body_text}"  # the headline often names the year the body leaves out
    if STATEMENT_PHRASES[0] in article.title:
        return find_figures(text, article.published_at)
    return find_industry_figures(text, article.published_at)


_INDUSTRY_RE = re.compile(
    r"(?P<what>[0-9A-Za-z]*[\u4e00-\u9fff][\u4e00-\u9fffA-Za-z0-9（）()]{1,23}?)\s*(?:累计)?(?:完成|实现|达到|达|为)?\s*"
    r"(?P<value>\d[\d,]*(?:\.\d+)?)\s*(?P<unit>万亿元|亿元|万元|亿户|万户|亿部|万部|万个|万人|亿人)"
    r"(?=[，,。；;\s]*(?:比上年同期|同比|比上年|较上年))"
)
_STOCK_RE = re.compile(r"截至|截止|\d{1,2}\s*月(?:末|底)|年(?:末|底)")
_LEAD_WORDS_RE = re.compile(r"^(?:其中|全国|我国|全行业|累计|共|共计|共有|全年)+")


def find_industry_figures(text: str, published_at: datetime | None) -> list[FoundFigure]:
    """Year-to-date industry totals a ministry's monthly 经济运行情况 states ("1—5月份，电信业务收入累计完成7456亿元，
    同比增长3.1%", "我国软件业务收入51175亿元，同比增长11.5%"): only an amount followed by its year-on-year
    comparison counts, named by the words before it. They are figures of their own indicators (全国, 全部, in
    the unit printed): the 服务外包 report does not use them; they are kept beside it for the editor."""
    found: dict[str, FoundFigure] = {}
    period: Period | None = None
    for match in _SENTENCE_RE.finditer(text):
        sentence = match.group(0).strip()
        period = _period(sentence, published_at, period) or period
        if period is None or _STOCK_RE.search(sentence):  # "截至5月末，…基站总数": a level at a date, not a total
            continue
        for amount in _INDUSTRY_RE.finditer(sentence):
            indicator = _LEAD_WORDS_RE.sub("", amount["what"]).strip("（）()")
            if len(indicator) < 3:
                continue
            try:
                value = Decimal(amount["value"].replace(",", ""))
            except InvalidOperation:
                continue
            figure = Figure(str(period), NATIONAL, indicator, ALL, value, amount["unit"])
            item = FoundFigure(str(period), NATIONAL, indicator, ALL, value, amount["unit"], sentence, figure)
            found.setdefault(item.key, item)
    return list(found.values())
