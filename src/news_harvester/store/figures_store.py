"""SQL of the monthly figures behind the 【数据月报】 (mixed into Repository).

An import replaces whole (period, region) sets: a corrected table for 2024-01..2024-05 must not leave figures
of the first upload behind. Everything an import writes, and its audit entries, is one transaction, so a
failure leaves the previous figures as they were.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, delete, func, insert, or_, select

from news_harvester.store.figure_rows import Figure, FigureSet, Replaced, StatementArticle
from news_harvester.store.schema import articles, audit_log, monthly_figures


class FigureQueries:
    engine: Engine

    def replace_figures(
        self, figures: Sequence[Figure], *, user: str, now: datetime, file_name: str = ""
    ) -> list[Replaced]:
        """Store ``figures``, replacing every stored figure of each (period, region) they carry; one audit entry
        per set (``figures_import`` for a new one, ``figures_replace`` with the old count for a replaced one)."""
        sets = list(dict.fromkeys((f.period, f.region) for f in figures))
        done: list[Replaced] = []
        with self.engine.begin() as conn:
            for period, region in sets:
                where = (monthly_figures.c.period == period, monthly_figures.c.region == region)
                before = int(conn.execute(select(func.count()).select_from(monthly_figures).where(*where)).scalar_one())
                conn.execute(delete(monthly_figures).where(*where))
                rows = [_row(f, now, user) for f in figures if (f.period, f.region) == (period, region)]
                conn.execute(insert(monthly_figures), rows)
                done.append(Replaced(period, region, before, len(rows)))
                conn.execute(
                    insert(audit_log).values(
                        at=now,
                        user_name=user,
                        action="figures_replace" if before else "figures_import",
                        before=json.dumps({"period": period, "region": region, "figures": before}, ensure_ascii=False),
                        after=json.dumps(
                            {"period": period, "region": region, "figures": len(rows), "file": file_name},
                            ensure_ascii=False,
                        ),
                    )
                )
        return done

    def merge_figures(self, figures: Sequence[Figure], *, user: str, now: datetime, evidence: str) -> int:
        """Store figures an editor confirmed from a harvested article: each replaces the stored figure of the same
        (period, region, indicator, dimension) and leaves the rest of its set alone; one audit entry
        (``figures_confirm``) per set names the article. Returns how many were written."""
        with self.engine.begin() as conn:
            for figure in figures:
                conn.execute(
                    delete(monthly_figures).where(
                        monthly_figures.c.period == figure.period,
                        monthly_figures.c.region == figure.region,
                        monthly_figures.c.indicator == figure.indicator,
                        monthly_figures.c.dimension == figure.dimension,
                    )
                )
            if figures:
                conn.execute(insert(monthly_figures), [_row(f, now, user) for f in figures])
            for period, region in dict.fromkeys((f.period, f.region) for f in figures):
                count = sum((f.period, f.region) == (period, region) for f in figures)
                conn.execute(
                    insert(audit_log).values(
                        at=now,
                        user_name=user,
                        action="figures_confirm",
                        before=None,
                        after=json.dumps(
                            {"period": period, "region": region, "figures": count, "from": evidence},
                            ensure_ascii=False,
                        ),
                    )
                )
        return len(figures)

    def articles_on(self, phrases: Sequence[str], since: datetime, limit: int = 30) -> list[StatementArticle]:
        """Recent articles whose title names one of ``phrases`` (服务外包, 经济运行情况), newest first, with their text:
        where harvested statistics are looked for."""
        query = (
            select(*_STATEMENT_COLUMNS)
            .where(
                or_(*(articles.c.title.contains(phrase, autoescape=True) for phrase in phrases)),
                articles.c.published_at >= since,
            )
            .order_by(articles.c.published_at.desc(), articles.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_statement(r) for r in conn.execute(query)]

    def article_text(self, article_id: int) -> StatementArticle | None:
        query = select(*_STATEMENT_COLUMNS).where(articles.c.id == article_id)
        with self.engine.connect() as conn:
            r = conn.execute(query).first()
        return None if r is None else _statement(r)

    def figures(self, period: str, region: str) -> list[Figure]:
        """The stored figures of one (period, region), in import order."""
        query = (
            select(monthly_figures)
            .where(monthly_figures.c.period == period, monthly_figures.c.region == region)
            .order_by(monthly_figures.c.id)
        )
        with self.engine.connect() as conn:
            return [
                Figure(r.period, r.region, r.indicator, r.dimension, Decimal(r.value), r.unit)
                for r in conn.execute(query)
            ]

    def figure_sets(self) -> list[FigureSet]:
        """Every stored (period, region), newest period first."""
        query = (
            select(
                monthly_figures.c.period,
                monthly_figures.c.region,
                func.count().label("n"),
                func.max(monthly_figures.c.imported_at).label("at"),
                func.max(monthly_figures.c.imported_by).label("by"),
            )
            .group_by(monthly_figures.c.period, monthly_figures.c.region)
            .order_by(monthly_figures.c.period.desc(), monthly_figures.c.region)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [FigureSet(r.period, r.region, int(r.n), _aware(r.at), str(r.by)) for r in rows]


_STATEMENT_COLUMNS = (
    articles.c.id,
    articles.c.title,
    articles.c.url,
    articles.c.source_name,
    articles.c.source_id,
    articles.c.published_at,
    articles.c.body_text,
)


def _statement(r: Any) -> StatementArticle:
    return StatementArticle(r.id, r.title, r.url, r.source_name or r.source_id, r.published_at, r.body_text)


def _row(figure: Figure, now: datetime, user: str) -> dict[str, object]:
    return {
        "period": figure.period,
        "region": figure.region,
        "indicator": figure.indicator,
        "dimension": figure.dimension,
        "value": str(figure.value),
        "unit": figure.unit,
        "imported_at": now,
        "imported_by": user,
    }


def _aware(value: datetime | str) -> datetime:
    """``max()`` over a UTCDateTime column comes back without the type's processing on SQLite (a string)."""
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
