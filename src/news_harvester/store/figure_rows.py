"""Records of the monthly figures behind the 【数据月报】 as the store takes and returns them.

Plain values, no SQL: the editorial layer builds :class:`Figure` records from an uploaded table and reads them
back to draft and check the report, and the store (which may not import editorial code) writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure: ``value`` (exact, as given) of ``indicator`` broken down by ``dimension`` (``全部``, ``离岸``,
    ``国别:日本``) for ``region`` over ``period`` (``2024-01..2024-05``, the months it adds up)."""

    period: str
    region: str
    indicator: str
    dimension: str
    value: Decimal
    unit: str

    @property
    def key(self) -> tuple[str, str]:
        """What identifies the figure within its (period, region)."""
        return self.indicator, self.dimension


@dataclass(frozen=True, slots=True)
class FigureSet:
    """What is stored for one (period, region): how many figures, imported when and by whom."""

    period: str
    region: str
    count: int
    imported_at: datetime
    imported_by: str


@dataclass(frozen=True, slots=True)
class Replaced:
    """One (period, region) an import wrote: the number of figures before (0: new) and after."""

    period: str
    region: str
    before: int
    after: int


@dataclass(frozen=True, slots=True)
class StatementArticle:
    """A harvested article that may state figures: what the /figures page shows of it and the text to read."""

    id: int
    title: str
    url: str
    source: str
    published_at: datetime | None
    body_text: str
