"""Issue assembly: masthead, sections and version on issues; issue_items.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from news_harvester.store.schema import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    for column, type_ in (
        ("title", sa.Text),
        ("publisher", sa.Text),
        ("sections", sa.Text),
        ("updated_at", UTCDateTime),
        ("updated_by", sa.String(64)),
    ):
        op.add_column("issues", sa.Column(column, type_, nullable=True))
    op.add_column("issues", sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    op.create_table(
        "issue_items",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("issue_id", ID, nullable=False),
        sa.Column("story_id", ID),
        sa.Column("section", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("text", sa.Text),
        sa.Column("attribution", sa.Text),
        sa.Column("html", sa.Text),
        sa.Column("draft", sa.Text),
        sa.Column("warnings", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime),
        sa.Column("updated_by", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_issue_items"),
        sa.ForeignKeyConstraint(["issue_id"], ["issues.id"], name="fk_issue_items_issue_id_issues", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_issue_items_story_id_stories", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_issue_items_issue_id", "issue_items", ["issue_id"])
    op.create_index("ix_issue_items_story_id", "issue_items", ["story_id"])
    op.create_index("uq_issue_items_issue_id_story_id", "issue_items", ["issue_id", "story_id"], unique=True)


def downgrade() -> None:
    """Not used by the application (it only upgrades)."""
    op.drop_table("issue_items")
    with op.batch_alter_table("issues") as batch:
        for column in ("version", "updated_by", "updated_at", "sections", "publisher", "title"):
            batch.drop_column(column)
