"""Monthly figures behind the brief's 【数据月报】 (issue 17): one row per (period, region, indicator, dimension).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

``value`` is the decimal text of the figure as imported (``140636.86``), not a float or NUMERIC column: SQLite
has no decimal type and would store a binary float, and the report prints amounts exactly as given. An import
replaces every row of a (period, region) it carries in one transaction (news_harvester.store.figures_store).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from news_harvester.store.schema import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "monthly_figures",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("period", sa.String(17), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("indicator", sa.String(64), nullable=False),
        sa.Column("dimension", sa.String(128), nullable=False),
        sa.Column("value", sa.String(40), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("imported_at", UTCDateTime, nullable=False),
        sa.Column("imported_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monthly_figures"),
    )
    op.create_index(
        "uq_monthly_figures_key", "monthly_figures", ["period", "region", "indicator", "dimension"], unique=True
    )


def downgrade() -> None:
    """Not used by the application (it only upgrades)."""
    op.drop_table("monthly_figures")
