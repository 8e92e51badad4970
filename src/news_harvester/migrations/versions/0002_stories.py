"""Stories: a ``stories`` table and each article's story, layer and similarity.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Existing articles keep their rows and get ``story_id`` NULL. On SQLite the columns are added with
plain ``ALTER TABLE … ADD COLUMN`` (an inline ``REFERENCES`` is allowed for a nullable column), never by
batch-copying ``articles``: with foreign keys on, dropping the old table would cascade into ``candidates``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from news_harvester.store.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("canonical_article_id", ID),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stories"),
        sa.ForeignKeyConstraint(
            ["canonical_article_id"],
            ["articles.id"],
            name="fk_stories_canonical_article_id_articles",
            ondelete="SET NULL",
        ),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE articles ADD COLUMN story_id INTEGER "
            "CONSTRAINT fk_articles_story_id_stories REFERENCES stories (id) ON DELETE SET NULL"
        )
    else:
        op.add_column("articles", sa.Column("story_id", ID, nullable=True))
        op.create_foreign_key(
            "fk_articles_story_id_stories", "articles", "stories", ["story_id"], ["id"], ondelete="SET NULL"
        )
    op.add_column("articles", sa.Column("story_layer", sa.String(16), nullable=True))
    op.add_column("articles", sa.Column("story_similarity", sa.Float, nullable=True))
    op.create_index("ix_articles_story_id", "articles", ["story_id"])


def downgrade() -> None:
    """Not used by the application (it only upgrades). On SQLite the batch copy of ``articles`` drops the old
    table: run it on a connection with ``PRAGMA foreign_keys=OFF``, or the drop cascades into ``candidates``."""
    op.drop_index("ix_articles_story_id", "articles")
    with op.batch_alter_table("articles") as batch:
        if op.get_bind().dialect.name != "sqlite":
            batch.drop_constraint("fk_articles_story_id_stories", type_="foreignkey")
        batch.drop_column("story_similarity")
        batch.drop_column("story_layer")
        batch.drop_column("story_id")
    op.drop_table("stories")
