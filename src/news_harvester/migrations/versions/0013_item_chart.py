"""A chart attached to a 【数据月报】 item of an issue (issue 17 part 4).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05

``issue_items.chart`` is NULL (or "") for no chart, else the JSON of
``news_harvester.editorial.figures_chart.ChartSpec``: the kind of chart and the (period, region) of the figures
it draws, fixed when the editor ticked the box, so that an export made later draws the same figures. A column of
its own rather than a key in ``warnings`` (whose entries the page lists as problems) or ``draft`` (whose
difference from ``text`` means "edited").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("issue_items", sa.Column("chart", sa.Text(), nullable=True))


def downgrade() -> None:
    """Not used by the application (it only upgrades)."""
    op.drop_column("issue_items", "chart")
