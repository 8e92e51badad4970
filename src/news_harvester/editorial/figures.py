"""The arithmetic of the brief's 【数据月报】: periods, the figures of one period beside those of the same months a
year earlier, year-on-year rates and shares.

Pure: figures in, numbers out. Drafting the text is :mod:`news_harvester.editorial.figures_draft`, checking an
editor's text :mod:`news_harvester.editorial.figures_check`. Nothing here invents a number: a rate without a
prior-year figure (or with a prior-year figure of 0) is None, and the callers leave it out and say so.

Rounding is half-up to two decimals, as the 商务部 releases print (``Decimal`` throughout: a float would turn
15.195 into 15.19).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from news_harvester.errors import HarvesterError
from news_harvester.store.figure_rows import Figure

SIGNED = "合同签约额"
"""Contract amounts signed, onshore included (dimension 全部) or offshore (离岸)."""
EXECUTED = "合同执行额"
OFFSHORE_SIGNED = "离岸签约额"
"""Offshore amounts broken down by a KIND:VALUE dimension (国别, 区域, 企业性质, 业务)."""
OFFSHORE_EXECUTED = "离岸执行额"
INDICATORS = (SIGNED, EXECUTED, OFFSHORE_SIGNED, OFFSHORE_EXECUTED)
"""The indicators the fixture README documents; an upload naming another is refused (a typo would otherwise
leave a figure stored that no paragraph ever uses)."""
ALL, OFFSHORE = "全部", "离岸"
KINDS = ("国别", "区域", "企业性质", "业务")
"""The KIND of a ``KIND:VALUE`` dimension: market, trade area, enterprise ownership, business line."""
UNIT = "万美元"
"""The only unit the report prints; a figure in another unit would be printed wrong, so it is refused."""
TWO = Decimal("0.01")
HUNDRED = Decimal(100)
PERIOD_RE = re.compile(r"^\s*(\d{4})-(0[1-9]|1[0-2])\s*\.\.\s*(\d{4})-(0[1-9]|1[0-2])\s*$")


class FiguresError(HarvesterError):
    """Raised for a period that cannot be read or a report asked for without figures (``figures.*``)."""

    code = "figures.invalid"


@dataclass(frozen=True, slots=True)
class Period:
    """The months a figure adds up, ``2024-01..2024-05`` (the brief reports the year to date)."""

    start_year: int
    start_month: int
    end_year: int
    end_month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        """The period written ``YYYY-MM..YYYY-MM``; :class:`FiguresError` (English message) otherwise."""
        m = PERIOD_RE.match(text or "")
        if not m:
            raise FiguresError(
                f"period {text!r} is not YYYY-MM..YYYY-MM (e.g. 2024-01..2024-05)", code="figures.period"
            )
        period = cls(int(m[1]), int(m[2]), int(m[3]), int(m[4]))
        if (period.start_year, period.start_month) > (period.end_year, period.end_month):
            raise FiguresError(f"period {text!r} ends before it starts", code="figures.period")
        return period

    def __str__(self) -> str:
        return f"{self.start_year}-{self.start_month:02d}..{self.end_year}-{self.end_month:02d}"

    def prior(self) -> Period:
        """The same months one year earlier: what a year-on-year rate compares with."""
        return Period(self.start_year - 1, self.start_month, self.end_year - 1, self.end_month)

    @property
    def months(self) -> str:
        """The months as the report writes them: ``1-5月``, ``5月``, across a year end ``2023年12月-2024年2月``."""
        if self.start_year != self.end_year:
            return f"{self.start_year}年{self.start_month}月-{self.end_year}年{self.end_month}月"
        if self.start_month == self.end_month:
            return f"{self.end_month}月"
        return f"{self.start_month}-{self.end_month}月"


def split_dimension(dimension: str) -> tuple[str, str]:
    """``国别:日本`` → ``("国别", "日本")``; ``全部`` → ``("", "全部")``."""
    kind, sep, value = dimension.partition(":")
    return (kind, value) if sep else ("", dimension)


def two_decimals(value: Decimal) -> Decimal:
    return value.quantize(TWO, rounding=ROUND_HALF_UP)


def amount_text(value: Decimal) -> str:
    """An amount as the report prints it: two decimals (``29001.00``, ``15671.10``)."""
    return f"{two_decimals(value):f}"


class FigureBook:
    """The figures of one (period, region) by (indicator, dimension), beside those of the prior-year period."""

    def __init__(self, current: Iterable[Figure], prior: Iterable[Figure] = ()) -> None:
        self.current: dict[tuple[str, str], Figure] = {f.key: f for f in current}
        self.prior: dict[tuple[str, str], Figure] = {f.key: f for f in prior}

    def __bool__(self) -> bool:
        return bool(self.current)

    def value(self, indicator: str, dimension: str) -> Decimal | None:
        found = self.current.get((indicator, dimension))
        return found.value if found is not None else None

    def rate(self, indicator: str, dimension: str) -> Decimal | None:
        """Year-on-year change in percent, unrounded; None without a (non-zero) prior-year figure."""
        now, before = self.current.get((indicator, dimension)), self.prior.get((indicator, dimension))
        if now is None or before is None or before.value == 0:
            return None
        return (now.value / before.value - 1) * HUNDRED

    def members(self, kind: str, indicator: str) -> list[tuple[str, Decimal]]:
        """``(value name, amount)`` of every ``kind:…`` dimension of ``indicator``, in the order imported."""
        out = []
        for (ind, dimension), figure in self.current.items():
            k, name = split_dimension(dimension)
            if ind == indicator and k == kind:
                out.append((name, figure.value))
        return out

    def share(self, indicator: str, dimension: str) -> Decimal | None:
        """Percent of the figure in the total of its kind (内资 of 内资 + 外资), unrounded; None for a figure
        that is not part of a breakdown or a kind adding up to 0."""
        kind, _name = split_dimension(dimension)
        value = self.value(indicator, dimension)
        if not kind or value is None:
            return None
        total = sum((v for _n, v in self.members(kind, indicator)), Decimal(0))
        return value / total * HUNDRED if total else None


def describe(indicator: str, dimension: str) -> str:
    """A figure named for an editor: ``离岸执行额（国别：日本）``, ``合同签约额（全部）``."""
    kind, name = split_dimension(dimension)
    return f"{indicator}（{kind}：{name}）" if kind else f"{indicator}（{name}）"
