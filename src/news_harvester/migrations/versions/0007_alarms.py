"""Health alarms of sources (news_harvester.sources.alarms), with their notification state.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28

At most one open alarm per source and kind: a unique index on (source_id, kind) over the rows whose
``resolved_at`` is NULL (a partial index, on SQLite and PostgreSQL alike).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from news_harvester.store.schema import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "alarms",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("first_seen_at", UTCDateTime, nullable=False),
        sa.Column("last_seen_at", UTCDateTime, nullable=False),
        sa.Column("resolved_at", UTCDateTime),
        sa.Column("notified_at", UTCDateTime),
        sa.Column("resolved_notified_at", UTCDateTime),
        sa.Column("notify_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_notify_at", UTCDateTime),
        sa.Column("last_notify_error", sa.Text),
        sa.Column("delivered_to", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_alarms"),
    )
    op.create_index("ix_alarms_source_id_first_seen_at", "alarms", ["source_id", "first_seen_at"])
    op.create_index(
        "uq_alarms_open_source_id_kind",
        "alarms",
        ["source_id", "kind"],
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    )


def downgrade() -> None:
    """Not used by the application (it only upgrades)."""
    op.drop_table("alarms")
