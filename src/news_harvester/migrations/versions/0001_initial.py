"""Initial schema: source state, fetch runs, articles, candidates.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from news_harvester.store.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "source_state",
        sa.Column("source_id", sa.String(64), primary_key=True),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("last_run_at", UTCDateTime),
        sa.Column("last_success_at", UTCDateTime),
        sa.Column("last_new_item_at", UTCDateTime),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error_code", sa.String(64)),
        sa.Column("last_error_message", sa.Text),
        sa.Column("last_http_status", sa.Integer),
        sa.Column("next_due_at", UTCDateTime),
        sa.Column("moved_to", sa.Text),
        sa.Column("updated_at", UTCDateTime),
        sa.PrimaryKeyConstraint("source_id", name="pk_source_state"),
    )
    op.create_table(
        "fetch_runs",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("code", sa.String(64)),
        sa.Column("message", sa.Text),
        sa.Column("http_status", sa.Integer),
        sa.Column("items_seen", sa.Integer, nullable=False, server_default="0"),
        sa.Column("items_new", sa.Integer, nullable=False, server_default="0"),
        sa.Column("duration_ms", sa.Integer),
        sa.Column("charset_declared", sa.String(64)),
        sa.Column("charset_used", sa.String(64)),
        sa.Column("warnings", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_fetch_runs"),
    )
    op.create_index("ix_fetch_runs_source_started", "fetch_runs", ["source_id", "started_at"])
    op.create_table(
        "articles",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("guid", sa.Text),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("published_at", UTCDateTime),
        sa.Column("date_origin", sa.String(16)),
        sa.Column("fetched_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime),
        sa.Column("author", sa.Text),
        sa.Column("attribution", sa.Text),
        sa.Column("summary", sa.Text),
        sa.Column("body_text", sa.Text, nullable=False),
        sa.Column("raw_page", sa.LargeBinary),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("language", sa.String(16)),
        sa.PrimaryKeyConstraint("id", name="pk_articles"),
        sa.UniqueConstraint("url", name="uq_articles_url"),
    )
    op.create_index("ix_articles_source_id", "articles", ["source_id"])
    op.create_index("ix_articles_published_at", "articles", ["published_at"])
    op.create_index("ix_articles_content_hash", "articles", ["content_hash"])
    op.create_table(
        "candidates",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("article_id", ID, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="new"),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("state_changed_at", UTCDateTime),
        sa.Column("editor_title", sa.Text),
        sa.Column("editor_summary", sa.Text),
        sa.Column("editor_note", sa.Text),
        sa.Column("updated_by", sa.String(64)),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.PrimaryKeyConstraint("id", name="pk_candidates"),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name="fk_candidates_article_id_articles", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("article_id", name="uq_candidates_article_id"),
    )
    op.create_index("ix_candidates_state", "candidates", ["state"])


def downgrade() -> None:
    op.drop_table("candidates")
    op.drop_table("articles")
    op.drop_table("fetch_runs")
    op.drop_table("source_state")
