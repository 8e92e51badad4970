"""Checking the numbers of a 【数据月报】 text against the stored figures (:func:`check_report`), and finding the
(period, region) a text reports on (:func:`match_set`).

Pure and read-only: text and a FigureBook in, :class:`~news_harvester.editorial.house_style.StyleProblem` list
out (codes ``figures.*``, Chinese messages), shown beside the item and counted before publishing like the
house-style warnings.

How a number is checked. The text is read as a sequence of claims: amounts (``…万美元``), rates (``增长/下降
…%``) and shares (``占比…%``).
* An amount must be a stored figure of the period (compared at the precision written: ``29001`` and
  ``29001.00`` are the same figure, ``140636.68`` is not ``140636.86``).
* A rate belongs to the amounts just before it: one rate after an amount is that figure's change; a run of n
  rates after n amounts (``分别是A、B、C，同比分别是r1、r2、r3``) pairs them in order. It must equal the change
  computed from the prior-year figure, direction word included. A rate that pairs with nothing (or follows an
  amount that is not in the data) must be the change of some figure.
* A share belongs to the amount just before it and must equal that figure's share of its breakdown.
Rates and shares are compared at the precision written as well (``11.8%`` for 11.80 is right; ``12%`` for 12.67
is not). What cannot be checked (a rate for a figure without prior-year data) is said, not passed silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from news_harvester.editorial.figures import FigureBook, FiguresError, Period, amount_text, describe, two_decimals
from news_harvester.editorial.house_style import StyleProblem
from news_harvester.store.figure_rows import Figure

CLAIM_RE = re.compile(
    r"(?P<amount>(?<![\d.])\d[\d,]*(?:\.\d+)?)\s*万美元"
    r"|(?P<dir>增长|下降|增加|减少|上升)\s*(?P<rate>\d+(?:\.\d+)?)\s*[%％]"
    r"|占比\s*(?:为\s*)?(?P<share>\d+(?:\.\d+)?)\s*[%％]"
)
UP_WORDS = ("增长", "增加", "上升")


@dataclass(frozen=True, slots=True)
class _Claim:
    kind: str  # amount, rate, share
    text: str  # as written, for the message
    value: Decimal  # signed for a rate
    places: int  # decimals written


def _claims(text: str) -> list[_Claim]:
    out = []
    for m in CLAIM_RE.finditer(text):
        number = m["amount"] or m["rate"] or m["share"]
        try:
            value = Decimal(number.replace(",", ""))
        except InvalidOperation:
            continue
        places = len(number.partition(".")[2])
        if m["amount"]:
            out.append(_Claim("amount", f"{number}万美元", value, places))
        elif m["rate"]:
            out.append(_Claim("rate", m.group(0), value if m["dir"] in UP_WORDS else -value, places))
        else:
            out.append(_Claim("share", m.group(0), value, places))
    return out


def _same(exact: Decimal, claim: _Claim) -> bool:
    """Whether ``exact`` written with the claim's number of decimals is the claim."""
    return exact.quantize(Decimal(1).scaleb(-claim.places), rounding=ROUND_HALF_UP) == claim.value


def _direction(value: Decimal) -> str:
    rounded = two_decimals(value)
    return "持平" if rounded == 0 else f"{'增长' if rounded > 0 else '下降'}{abs(rounded):f}%"


class _Checker:
    def __init__(self, book: FigureBook) -> None:
        self.book = book
        self.problems: list[StyleProblem] = []

    def amount(self, claim: _Claim) -> list[Figure]:
        found = [f for f in self.book.current.values() if _same(f.value, claim)]
        if not found and self.book.current:
            near = min(self.book.current.values(), key=lambda f: abs(f.value - claim.value))
            self.flag(
                "figures.mismatch",
                f"“{claim.text}”与导入的数据不符：数据中没有这个数，最接近的是"
                f"{describe(*near.key)} {amount_text(near.value)}万美元",
            )
        return found

    def rate(self, claim: _Claim, figures: Sequence[Figure]) -> None:
        if figures:
            rates = [(f, self.book.rate(*f.key)) for f in figures]
            known = [(f, r) for f, r in rates if r is not None]
            if any(_same(r, claim) for _f, r in known):
                return
            if not known:
                self.flag(
                    "figures.unverified",
                    f"“{claim.text}”无法核对：导入的数据中没有{describe(*figures[0].key)}的上年同期数",
                )
                return
            figure, expected = known[0]
            self.flag(
                "figures.mismatch",
                f"“{claim.text}”与数据不符：按导入的数据，{describe(*figure.key)}同比{_direction(expected)}",
            )
            return
        every = [(f, r) for f in self.book.current.values() if (r := self.book.rate(*f.key)) is not None]
        if any(_same(r, claim) for _f, r in every):
            return
        flipped = next(((f, r) for f, r in every if _same(-r, claim)), None)
        if flipped is not None:
            self.flag(
                "figures.mismatch",
                f"“{claim.text}”方向不符：按导入的数据，{describe(*flipped[0].key)}同比{_direction(flipped[1])}",
            )
            return
        self.flag("figures.mismatch", f"“{claim.text}”与导入的数据不符：没有哪一项数据的同比变化是这个数")

    def share(self, claim: _Claim, figures: Sequence[Figure]) -> None:
        shares = [(f, s) for f in figures if (s := self.book.share(*f.key)) is not None]
        if not shares:  # not after an amount of a breakdown: any share of the data
            shares = [(f, s) for f in self.book.current.values() if (s := self.book.share(*f.key)) is not None]
            if any(_same(s, claim) for _f, s in shares):
                return
            self.flag("figures.mismatch", f"“{claim.text}”与导入的数据不符：没有哪一项数据的占比是这个数")
            return
        if not any(_same(s, claim) for _f, s in shares):
            figure, expected = shares[0]
            self.flag(
                "figures.mismatch",
                f"“{claim.text}”与数据不符：按导入的数据，{describe(*figure.key)}占比{two_decimals(expected):f}%",
            )

    def flag(self, code: str, message: str) -> None:
        self.problems.append(StyleProblem(code, message))


def check_report(text: str, book: FigureBook) -> tuple[StyleProblem, ...]:
    """The numbers of ``text`` that differ from ``book`` (one problem each); empty when all agree."""
    checker = _Checker(book)
    pending: list[list[Figure]] = []  # the figures of each amount since the last rate or share
    rates: list[_Claim] = []
    last: list[Figure] = []

    def close_rates() -> None:
        if len(rates) == len(pending):
            pairs = list(zip(rates, pending, strict=True))
        elif len(rates) == 1 and pending:
            pairs = [(rates[0], pending[-1])]
        else:
            pairs = [(r, []) for r in rates]
        for claim, figures in pairs:
            checker.rate(claim, figures)
        rates.clear()
        pending.clear()

    for claim in _claims(text):
        if claim.kind != "rate" and rates:
            close_rates()
        if claim.kind == "amount":
            last = checker.amount(claim)
            pending.append(last)
        elif claim.kind == "rate":
            rates.append(claim)
        else:
            checker.share(claim, last)
            pending.clear()
    if rates:
        close_rates()
    return tuple(checker.problems)


def match_set(title: str, text: str, sets: Iterable[tuple[str, str]], year: int | None) -> tuple[str, str] | None:
    """The (period, region) among ``sets`` that a report titled ``title`` talks about: its region is named, its
    months (``1-5月``) are written, and its year is the one the title names (``2024 年 5 月…``) or else
    ``year`` (the issue's); the latest such period when several fit. None when none does."""
    flat = re.sub(r"\s+", "", f"{title}\n{text}")
    named = re.search(r"((?:19|20)\d{2})年", re.sub(r"\s+", "", title))
    wanted_year = int(named[1]) if named else year
    fitting = []
    for period_text, region in sets:
        try:
            period = Period.parse(period_text)
        except FiguresError:
            continue
        if region in flat and period.months in flat:
            fitting.append((period.end_year == wanted_year, period_text, region))
    if not fitting:
        return None
    _same_year, period_text, region = max(fitting)
    return period_text, region
