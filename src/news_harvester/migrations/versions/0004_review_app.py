"""Review app: users, sessions, login throttling, audit log, editor text history, workflow columns, search.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

Search: on SQLite an FTS5 table ``articles_fts`` (trigram tokenizer, so Chinese needs no word segmentation)
mirrors ``articles.title`` and ``body_text`` through triggers; on PostgreSQL ``pg_trgm`` GIN indexes serve
``ILIKE`` (created only when the extension can be installed; without it search still works, unindexed).
Neither is part of ``schema.metadata``: they are maintained by the database itself.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from news_harvester.store.schema import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
log = logging.getLogger(__name__)

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5("
    "title, body_text, content='articles', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS articles_fts_ai AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title, body_text) VALUES (new.id, new.title, new.body_text); END",
    "CREATE TRIGGER IF NOT EXISTS articles_fts_ad AFTER DELETE ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, body_text) "
    "VALUES ('delete', old.id, old.title, old.body_text); END",
    "CREATE TRIGGER IF NOT EXISTS articles_fts_au AFTER UPDATE OF title, body_text ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, body_text) "
    "VALUES ('delete', old.id, old.title, old.body_text); "
    "INSERT INTO articles_fts(rowid, title, body_text) VALUES (new.id, new.title, new.body_text); END",
    "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')",
]
PG_TRGM = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS trgm_articles_title ON articles USING gin (title gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS trgm_articles_body ON articles USING gin (body_text gin_trgm_ops)",
]


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_login_at", UTCDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("name", name="uq_users_name"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_seen_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_web_sessions"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_web_sessions_user_id_users", ondelete="CASCADE"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])
    op.create_table(
        "login_attempts",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_attempts"),
    )
    op.create_index("ix_login_attempts_name_at", "login_attempts", ["name", "at"])
    op.create_index("ix_login_attempts_address_at", "login_attempts", ["address", "at"])
    op.create_table(
        "audit_log",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("story_id", ID),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("before", sa.Text),
        sa.Column("after", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_audit_log_story_id_stories", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_audit_log_story_id", "audit_log", ["story_id"])
    op.create_table(
        "story_edits",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("story_id", ID, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("summary", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_story_edits"),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_story_edits_story_id_stories", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_story_edits_story_id", "story_edits", ["story_id"])
    op.add_column("candidates", sa.Column("section", sa.String(32), nullable=True))
    op.add_column("candidates", sa.Column("reject_reason", sa.Text, nullable=True))
    op.add_column("candidates", sa.Column("snoozed_until", UTCDateTime, nullable=True))

    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        try:
            with bind.begin_nested():
                for statement in PG_TRGM:
                    bind.execute(sa.text(statement))
        except sa.exc.SQLAlchemyError as exc:
            log.warning("pg_trgm unavailable, search will not be indexed: %s", exc)


def downgrade() -> None:
    """Not used by the application (it only upgrades)."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("articles_fts_ai", "articles_fts_ad", "articles_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    else:
        op.execute("DROP INDEX IF EXISTS trgm_articles_title")
        op.execute("DROP INDEX IF EXISTS trgm_articles_body")
    with op.batch_alter_table("candidates") as batch:
        batch.drop_column("snoozed_until")
        batch.drop_column("reject_reason")
        batch.drop_column("section")
    for table in ("story_edits", "audit_log", "login_attempts", "web_sessions", "users"):
        op.drop_table(table)
