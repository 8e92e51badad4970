"""SQLAlchemy Core tables; the one ``metadata`` that Alembic migrations mirror.

Definitions of sources live in sources.yaml; the database holds only their runtime state, keyed
by source id. Harvested article fields and editor fields live in different tables (``articles``
vs ``candidates``) so a re-harvest can never overwrite an editor's work.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes in, UTC-aware datetimes out, on SQLite (which has no zones) too.

    Refuses naive datetimes: a time without a zone is a bug upstream, never silently UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} refused: attach the source's time zone")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        parsed: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


source_state = Table(
    "source_state",
    metadata,
    Column("source_id", String(64), primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_run_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_new_item_at", UTCDateTime),
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    Column("last_error_code", String(64)),
    Column("last_error_message", Text),
    Column("last_http_status", Integer),
    Column("next_due_at", UTCDateTime),
    Column("moved_to", Text),
    Column("updated_at", UTCDateTime),
)

fetch_runs = Table(
    "fetch_runs",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("source_id", String(64), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("outcome", String(16), nullable=False),
    Column("code", String(64)),
    Column("message", Text),
    Column("http_status", Integer),
    Column("items_seen", Integer, nullable=False, server_default="0"),
    Column("items_new", Integer, nullable=False, server_default="0"),
    Column("duration_ms", Integer),
    Column("charset_declared", String(64)),
    Column("charset_used", String(64)),
    Column("warnings", Text),
    Index("ix_fetch_runs_source_started", "source_id", "started_at"),
)

articles = Table(
    "articles",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("url", Text, nullable=False, unique=True),
    Column("source_id", String(64), nullable=False, index=True),
    Column("guid", Text),
    Column("title", Text, nullable=False),
    Column("published_at", UTCDateTime, index=True),
    Column("date_origin", String(16)),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime),
    Column("author", Text),
    Column("attribution", Text),
    Column("summary", Text),
    Column("body_text", Text, nullable=False),
    Column("raw_page", LargeBinary),
    Column("content_hash", String(64), nullable=False, index=True),
    Column("language", String(16)),
    Column(
        "story_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("stories.id", ondelete="SET NULL"),
        index=True,
    ),
    # how the article joined its story: url, content_hash, minhash, title, or new (it started the story)
    Column("story_layer", String(16)),
    Column("story_similarity", Float),
)

stories = Table(
    "stories",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column(
        "canonical_article_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("articles.id", ondelete="SET NULL", use_alter=True),
    ),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
"""A story groups the articles that report one event (reprints, re-titled copies); see dedupe.py."""

candidates = Table(
    "candidates",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column(
        "article_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("articles.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("state", String(16), nullable=False, server_default="new", index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("state_changed_at", UTCDateTime),
    Column("editor_title", Text),
    Column("editor_summary", Text),
    Column("editor_note", Text),
    Column("updated_by", String(64)),
    Column("version", Integer, nullable=False, server_default="1"),
)
