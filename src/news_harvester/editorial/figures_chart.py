"""The chart an editor may attach to a 【数据月报】 item (issue 17 part 4): a bar chart of the top markets by
executed amount, as a PNG the HTML, DOCX and PDF exports embed.

Which figures an item charts is stored with it (:class:`ChartSpec`, JSON in ``issue_items.chart``): the
(period, region) the report talks about when the editor ticked the box, so an export months later charts the
same figures. The bars are those of the report's 国际市场 paragraph (see
:mod:`news_harvester.editorial.figures_draft`): offshore executed amounts by market, falling back to executed,
then signed amounts, biggest first (ties in the order imported).

Rendering uses matplotlib's Agg backend (no display, no GUI toolkit) on a figure of its own (never pyplot's
global state, so web threads can render at once) with a CJK font when one is installed; without one the chart
is still drawn (the Chinese labels then show as boxes) and a warning is logged once. matplotlib is imported on
first use: the command line and the web app start without it. The output is always
:data:`WIDTH` × :data:`HEIGHT` pixels, and equal data give equal bytes (no timestamp, no software tag).
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING

from news_harvester.editorial.figures import (
    EXECUTED,
    OFFSHORE_EXECUTED,
    OFFSHORE_SIGNED,
    SIGNED,
    UNIT,
    FigureBook,
    Period,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

MARKETS = "markets"
"""The one kind of chart so far: the top markets of the period."""
KINDS = (MARKETS,)
TOP = 8
DPI = 150
WIDTH, HEIGHT = 1200, 600
CJK_FAMILIES = ("Noto Sans CJK", "Source Han Sans", "WenQuanYi", "Noto Serif CJK", "Source Han Serif", "SimHei",
                "Microsoft YaHei", "PingFang", "Heiti", "SimSun")  # fmt: skip
"""Font family names (prefixes) tried in this order: sans before serif, as the brief's headings are 黑体."""
CHART_TITLE = "附图：主要市场执行额"
"""What the checkbox of the assembly screen says; also the caption under the chart in the exports."""


@dataclass(frozen=True, slots=True)
class ChartSpec:
    """What an item charts: ``kind`` (:data:`MARKETS`) of the figures of ``period`` and ``region``."""

    kind: str
    period: str
    region: str

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "period": self.period, "region": self.region}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> ChartSpec | None:
        """The spec stored with an item; None for no chart ("" or NULL) or a value this version cannot read."""
        if not text:
            return None
        try:
            data = json.loads(text)
            spec = cls(str(data["kind"]), str(data["period"]), str(data["region"]))
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable chart spec %r: no chart", text[:100])
            return None
        return spec if spec.kind in KINDS else None


@dataclass(frozen=True, slots=True)
class Bars:
    """What a chart shows: a title, the unit of the values, and (label, value) bars in drawing order."""

    title: str
    unit: str
    bars: tuple[tuple[str, Decimal], ...]


def market_bars(book: FigureBook, period: Period, region: str, *, top: int = TOP) -> Bars | None:
    """The top ``top`` markets of ``book`` by executed amount (the indicators the report's market sentence
    uses, in the same order of preference), biggest first; None without market figures."""
    for indicator in (OFFSHORE_EXECUTED, EXECUTED, OFFSHORE_SIGNED, SIGNED):
        members = book.members("国别", indicator)
        if members:
            ranked = sorted(members, key=lambda m: m[1], reverse=True)[:top]  # stable: ties as imported
            title = f"{period.end_year}年{period.months}{region}服务外包主要市场{indicator}"
            return Bars(title, UNIT, tuple(ranked))
    return None


@cache
def cjk_font() -> str | None:
    """The family name of an installed CJK font (see :data:`CJK_FAMILIES`), or None, with a warning (once)."""
    from matplotlib import font_manager  # imported on use: only exports with a chart need matplotlib

    names = sorted({f.name for f in font_manager.fontManager.ttflist}, key=lambda n: (not n.endswith(" SC"), n))
    for wanted in CJK_FAMILIES:  # the Simplified Chinese member of a family first (Noto Sans CJK SC before JP)
        for name in names:
            if name.startswith(wanted):
                return name
    log.warning(
        "no CJK font found for charts (install fonts-noto-cjk or fonts-wqy-microhei): Chinese labels will not show"
    )
    return None


def chart_figure(bars: Bars) -> Figure:
    """The bar chart as a matplotlib figure (``WIDTH`` × ``HEIGHT`` px at ``DPI``): one bar per entry, in
    order, each labelled with its amount to two decimals."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    font = cjk_font()
    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    names = [name for name, _value in bars.bars]
    values = [float(value) for _name, value in bars.bars]
    family = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    container = axes.bar(range(len(values)), values, color="#2f5d8a", width=0.6)
    axes.set_xticks(range(len(names)), names, fontfamily=family, fontsize=9)
    axes.bar_label(container, labels=[f"{value:.2f}" for value in values], fontsize=8, padding=2)
    axes.set_ylabel(bars.unit, fontfamily=family, fontsize=9)
    axes.set_title(bars.title, fontfamily=family, fontsize=11)
    axes.spines[["top", "right"]].set_visible(False)
    axes.margins(y=0.12)
    axes.tick_params(axis="y", labelsize=8)
    figure.tight_layout()
    return figure


def render_png(bars: Bars) -> bytes:
    """The chart as PNG bytes (always ``WIDTH`` × ``HEIGHT``; no metadata that changes between runs)."""
    buffer = io.BytesIO()
    chart_figure(bars).savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()
