"""Attachment links of articles (PDF, DOC/DOCX, XLS/XLSX, WPS, ZIP), shown on the story page.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("attachments", sa.Text, nullable=True))


def downgrade() -> None:
    """Not used by the application (it only upgrades); see 0002 about SQLite and foreign keys."""
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("attachments")
