"""The 【数据月报】 use cases the command line and the web app share: import a table of figures, draft the report
(to print, or into an issue's 数据月报 section as a free-text item), check the numbers of the report items of an
issue against the stored figures, and attach a chart of them to a report item (drawn into the exports).

The reading, the arithmetic, the drafting, the checking and the drawing are pure (figures_table, figures,
figures_draft, figures_check, figures_chart); this module reads and writes through the repository and decides
nothing itself.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from news_harvester.editorial.figures import FigureBook, FiguresError, Period
from news_harvester.editorial.figures_chart import MARKETS, ChartSpec, market_bars, render_png
from news_harvester.editorial.figures_check import check_report, match_set
from news_harvester.editorial.figures_draft import ReportDraft, draft_report
from news_harvester.editorial.figures_table import FigureTable, read_table
from news_harvester.store.figure_rows import Replaced

if TYPE_CHECKING:
    from news_harvester.store.issue_rows import IssueRow, ItemRow
    from news_harvester.store.repository import Repository

log = logging.getLogger(__name__)

DATA_SECTION = "数据月报"
"""The section of an issue the report goes into (the first of the default ``brief_sections``)."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import read and, when the table had no problems, what it stored (nothing otherwise)."""

    table: FigureTable
    replaced: tuple[Replaced, ...]

    @property
    def stored(self) -> bool:
        return not self.table.problems and bool(self.replaced)


def import_figures(repository: Repository, data: bytes, *, file_name: str, user: str, now: datetime) -> ImportResult:
    """Read ``data`` (CSV or XLSX); store its figures only when every row is good, replacing the stored figures of
    each (period, region) it carries (audited)."""
    table = read_table(data)
    if table.problems or not table.figures:
        return ImportResult(table, ())
    replaced = repository.replace_figures(table.figures, user=user, now=now, file_name=file_name[:200])
    return ImportResult(table, tuple(replaced))


def load_book(repository: Repository, period: Period, region: str) -> FigureBook:
    return FigureBook(repository.figures(str(period), region), repository.figures(str(period.prior()), region))


def draft(repository: Repository, period_text: str, region: str, *, this_year: int | None) -> ReportDraft:
    """The report of ``region`` for the period written ``period_text``; :class:`FiguresError` without figures."""
    period = Period.parse(period_text)
    book = load_book(repository, period, region)
    if not book:
        raise FiguresError(
            f"no figures stored for {region} {period} (import them with `news-harvester figures import FILE`)",
            code="figures.none",
        )
    return draft_report(book, period, region, this_year=this_year)


def draft_into_issue(
    repository: Repository,
    issue_id: int,
    period_text: str,
    region: str,
    *,
    user: str,
    now: datetime,
    chart: bool = False,
) -> tuple[int, ReportDraft]:
    """Add the drafted report to the issue's 【数据月报】 as a free-text item; ``(item id, draft)``. The draft's
    warnings (rates left out) are kept on the item. ``chart``: attach the chart of top markets too (when the
    figures name markets)."""
    issue = repository.get_issue(issue_id)
    report = draft(repository, period_text, region, this_year=issue.year)
    period = Period.parse(period_text)
    spec = ""
    if chart and market_bars(load_book(repository, period, region), period, region) is not None:
        spec = ChartSpec(MARKETS, str(period), region).to_json()
    item_id = repository.add_item(
        issue_id,
        section=DATA_SECTION,
        title=report.title,
        html=report.html,
        warnings=[{"code": w.code, "message": w.message} for w in report.warnings],
        user=user,
        now=now,
    )
    if spec:  # a second write rather than an add_item argument: the store module is at its size limit
        repository.update_item(item_id, chart=spec, user=user, now=now)
    return item_id, report


def plain_text(markup: str) -> str:
    """The text of a free-text item's HTML (tags out, entities decoded), paragraphs on their own lines."""
    spaced = re.sub(r"</(p|li|tr|h\d)>|<br\s*/?>", "\n", markup, flags=re.I)
    return html.unescape(re.sub(r"<[^>]*>", "", spaced))


def check_issue(repository: Repository, issue: IssueRow) -> dict[int, list[dict[str, str]]]:
    """Problems of every 【数据月报】 item of ``issue`` whose numbers differ from the stored figures, by item id
    (only items with problems). The figures compared are those of the (period, region) the item names (see
    :func:`news_harvester.editorial.figures_check.match_set`); a report no stored figures fit is said to be
    unchecked when it carries amounts."""
    items = [i for i in issue.section_items(DATA_SECTION) if i.story_id is None]
    if not items:
        return {}
    sets = [(s.period, s.region) for s in repository.figure_sets()]
    out: dict[int, list[dict[str, str]]] = {}
    for item in items:
        text = plain_text(item.html or "") + "\n" + (item.text or "")
        found = match_set(item.title, text, sets, issue.year)
        problems: list[dict[str, str]] = []
        if found is None:
            if "万美元" in text:
                problems.append(
                    {"code": "figures.unchecked", "message": "没有与本文地区和月份对应的已导入数据，数字未能核对"}
                )
        else:
            period = Period.parse(found[0])
            book = load_book(repository, period, found[1])
            problems = [{"code": p.code, "message": p.message} for p in check_report(text, book)]
            # recomputed rather than the warnings kept at drafting: prior-year figures imported since then count
            missing = [w for w in draft_report(book, period, found[1]).warnings if w.code == "figures.no_prior_year"]
            problems += [{"code": w.code, "message": w.message} for w in missing]
        if problems:
            out[item.id] = problems
    return out


def chart_spec(repository: Repository, item: ItemRow, title: str, markup: str) -> ChartSpec:
    """The chart of top markets for a 【数据月报】 item titled ``title`` with text ``markup``: of the stored
    (period, region) the text talks about (as :func:`check_issue` finds it). :class:`FiguresError` (Chinese
    message, for the editor) when the item is not a report, no stored figures fit, or they name no market."""
    if item.section != DATA_SECTION or item.story_id is not None:
        raise FiguresError(f"只有“{DATA_SECTION}”栏目的文字条目可以附图", code="figures.chart")
    issue = repository.get_issue(item.issue_id)
    sets = [(s.period, s.region) for s in repository.figure_sets()]
    found = match_set(title, plain_text(markup), sets, issue.year)
    if found is None:
        raise FiguresError("没有与本文地区和月份对应的已导入数据，未能附图", code="figures.chart")
    period = Period.parse(found[0])
    if market_bars(load_book(repository, period, found[1]), period, found[1]) is None:
        raise FiguresError(f"{found[0]} {found[1]}的数据中没有分国别（市场）的数字，未能附图", code="figures.chart")
    return ChartSpec(MARKETS, found[0], found[1])


def item_charts(repository: Repository, issue: IssueRow) -> dict[int, tuple[bytes, str]]:
    """The PNG and caption of every chart attached to an item of ``issue``, by item id, for the exports. A chart
    whose figures are gone (the set was re-imported without markets) is left out with a warning in the log."""
    out: dict[int, tuple[bytes, str]] = {}
    for item in issue.items:
        spec = ChartSpec.from_json(item.chart)
        if spec is None:
            continue
        period = Period.parse(spec.period)
        bars = market_bars(load_book(repository, period, spec.region), period, spec.region)
        if bars is None:
            log.warning("issue %s item %s: no market figures for %s %s, chart left out", issue.id, item.id,
                        spec.period, spec.region)  # fmt: skip
            continue
        out[item.id] = (render_png(bars), f"图：{bars.title}（{bars.unit}）")
    return out
