"""The process that owns a running fetch run.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27

``fetch_runs.owner`` is ``host:pid:token`` of the process that started the run. At start-up only runs whose
owner is gone are marked interrupted: a ``harvest --once`` beside a running daemon (or a restarted daemon beside
a one-off pass) used to mark the other process's live runs interrupted. Runs from before this revision have no
owner and are treated as left behind.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("fetch_runs", sa.Column("owner", sa.String(160), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fetch_runs") as batch:
        batch.drop_column("owner")
