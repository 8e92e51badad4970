"""The story index moves into the database.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

Until now every process rebuilt an in-memory MinHash-LSH index of the story window at start-up. From here on the
index lives in three tables: ``story_fingerprints`` (one row per indexed article), ``story_bands`` (LSH band key →
article) and ``story_title_keys`` (title bigram key, publication time → article). The two key tables are
``WITHOUT ROWID`` on SQLite so each is a single B-tree keyed by what the lookups ask for. On PostgreSQL,
``story_band_claims`` and ``story_title_claims`` let two runs storing reprints of one new story at once take turns (see
``news_harvester.store.story_index``).

The rows of the articles already stored are not computed here (a migration must not run for minutes inside one
transaction): the first start after this revision fills them in batches, logging its progress
(``news_harvester.store.story_index.StoryIndexStore.backfill``). Stories and candidates are untouched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "story_fingerprints",
        sa.Column("article_id", ID, sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("stored_at", sa.BigInteger, nullable=False),
        sa.Column("published_at", sa.BigInteger, nullable=False),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("minhash", sa.LargeBinary),
        sa.Column("band_keys", sa.LargeBinary, nullable=False),
        sa.Column("title_keys", sa.LargeBinary, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_story_fingerprints_stored_at", "story_fingerprints", ["stored_at"])
    op.create_index("ix_story_fingerprints_content_hash", "story_fingerprints", ["content_hash"])
    op.create_table(
        "story_bands",
        sa.Column("key", sa.BigInteger, primary_key=True),
        sa.Column("article_id", ID, primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "story_title_keys",
        sa.Column("key", sa.BigInteger, primary_key=True),
        sa.Column("published_at", sa.BigInteger, primary_key=True),
        sa.Column("article_id", ID, primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_table("story_band_claims", sa.Column("key", sa.BigInteger, primary_key=True))
    op.create_table("story_title_claims", sa.Column("key", sa.BigInteger, primary_key=True))


def downgrade() -> None:
    op.drop_table("story_title_claims")
    op.drop_table("story_band_claims")
    op.drop_table("story_title_keys")
    op.drop_table("story_bands")
    op.drop_index("ix_story_fingerprints_content_hash", "story_fingerprints")
    op.drop_index("ix_story_fingerprints_stored_at", "story_fingerprints")
    op.drop_table("story_fingerprints")
