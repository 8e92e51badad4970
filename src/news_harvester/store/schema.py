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
    Boolean,
    Column,
    Date,
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
    func,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
OPEN_STATES = ("new", "shortlisted")
"""Candidate states the queue shows by default."""
STATES = ("new", "shortlisted", "snoozed", "accepted", "rejected", "used")
"""Every state of a candidate (``candidates.state``)."""

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
    # hash of the source's settings and its last fully handled listing's bytes (0014): the same again, nothing to do
    Column("listing_digest", String(64)),
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
    # host:pid:token of the process running it (0009): start-up marks only runs whose owner is gone
    Column("owner", String(160)),
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
    # display name and weight of the outlet at harvest time; ``source_weight`` NULL means "the weight
    # sources.yaml gives ``source_id``" (harvested articles), a value is the weight an import supplied
    Column("source_name", Text),
    Column("source_weight", Float),
    # JSON list of {url, text, kind}: documents the page links to (PDF, DOC/DOCX, XLS/XLSX, WPS, ZIP)
    Column("attachments", Text),
)

# the queue's date filter compares this expression (migration 0008)
Index("ix_articles_when", func.coalesce(articles.c.published_at, articles.c.fetched_at), articles.c.story_id)
# Search structures that differ by database live in the migrations only (0004 articles_fts / trgm_*, 0008
# search_articles_title: on SQLite a one- or two-character search scans that small index of titles)

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
    # ranking (news_harvester.stories.ranking): total and its named parts as JSON, recomputed as facts change
    Column("score", Float, index=True),
    Column("score_parts", Text),
    Column("scored_at", UTCDateTime),
    Column("outlets", Integer),
    # topics (news_harvester.stories.topics): the explanation as JSON and the taxonomy it was computed with
    Column("classification", Text),
    Column("taxonomy_digest", String(64)),
    Column("classified_at", UTCDateTime),
    # cross-issue memory: the published issue that used this story, and the used story this one continues
    Column(
        "used_issue_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("issues.id", ondelete="SET NULL"),
    ),
    Column("used_at", UTCDateTime),
    Column(
        "follow_up_of",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("stories.id", ondelete="SET NULL"),
    ),
)
"""A story groups the articles that report one event (reprints, re-titled copies); see dedupe.py."""

story_topics = Table(
    "story_topics",
    metadata,
    Column(
        "story_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("stories.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("topic_id", String(64), primary_key=True, index=True),
    Column("confidence", Float, nullable=False),
    # auto: the classifier's; editor: an editor's correction, which re-classification never overwrites
    Column("origin", String(8), nullable=False, server_default="auto"),
    Column("rejected", Boolean, nullable=False, server_default="0"),
)
"""A story's topics. An editor correction is kept as origin=editor rows: ``rejected`` false adds or confirms a
topic, true removes one the classifier gave. Both are labels for the learned model."""

issues = Table(
    "issues",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("year", Integer, nullable=False),
    Column("number", Integer, nullable=False),
    Column("total_number", Integer),
    Column("issue_date", Date),
    Column("status", String(16), nullable=False, server_default="draft"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime),
    # the brief's masthead and sections as configured when the issue was created (JSON list of
    # {name, target, kind}); later configuration changes do not reshape an issue in progress
    Column("title", Text),
    Column("publisher", Text),
    Column("sections", Text),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("updated_at", UTCDateTime),
    Column("updated_by", String(64)),
    Index("uq_issues_year_number", "year", "number", unique=True),
)

issue_items = Table(
    "issue_items",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column(
        "issue_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("issues.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column(
        "story_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("stories.id", ondelete="SET NULL"),
        index=True,
    ),
    Column("section", String(32), nullable=False),
    Column("position", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("text", Text),
    Column("attribution", Text),
    Column("html", Text),
    # the summary as drafted (news_harvester.editorial.summary); text != draft means an editor changed it
    Column("draft", Text),
    Column("warnings", Text),
    Column("chart", Text),  # a chart attached to a 数据月报 item: editorial.figures_chart.ChartSpec as JSON
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime),
    Column("updated_by", String(64)),
    Index("uq_issue_items_issue_id_story_id", "issue_id", "story_id", unique=True),
)
"""An item of an issue: a story's headline and summary (行业资讯), or free text (数据月报, 协会动态: ``html``,
sanitized, limited to paragraphs, lists and simple tables)."""
"""An issue of the brief (2024 年第 6 期, 总第 26 期). Publishing marks its stories used."""

topic_models = Table(
    "topic_models",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("trained_at", UTCDateTime, nullable=False),
    Column("taxonomy_digest", String(64), nullable=False),
    Column("examples", Integer, nullable=False),
    Column("info", Text),
    Column("model", LargeBinary, nullable=False),
)
"""Learned topic models (news_harvester.stories.topic_model), newest last; kept in the database so a web process and
a harvester process share one."""

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
    # editor workflow (review app): section of the issue an accepted story goes to, why it was rejected,
    # until when it is snoozed
    Column("section", String(32)),
    Column("reject_reason", Text),
    Column("snoozed_until", UTCDateTime),
    # the story this candidate stands for (one candidate per story, created with the story); NULL for the
    # per-article candidates of reprints stored before stories existed
    Column(
        "story_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("stories.id", ondelete="CASCADE"),
    ),
    Index("uq_candidates_story_id", "story_id", unique=True),
    # the queue's state filter and its count read this index alone (migration 0008)
    Index("ix_candidates_state_snoozed_story", "state", "snoozed_until", "story_id"),
)


users = Table(
    "users",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("disabled", Boolean, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_login_at", UTCDateTime),
)
"""People who use the review app: ``editor`` (queue, issues) or ``admin`` (also source administration)."""

web_sessions = Table(
    "web_sessions",
    metadata,
    # SHA-256 of the cookie's token: a leaked database does not hand out live sessions
    Column("id", String(64), primary_key=True),
    Column(
        "user_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("address", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("success", Boolean, nullable=False),
    Index("ix_login_attempts_name_at", "name", "at"),
    Index("ix_login_attempts_address_at", "address", "at"),
)
"""Recent logins, for throttling guesses per account and per address."""

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("user_name", String(64), nullable=False),
    Column(
        "story_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("stories.id", ondelete="SET NULL"),
        index=True,
    ),
    Column("action", String(32), nullable=False),
    Column("before", Text),
    Column("after", Text),
)
"""Every editor and admin action: who, when, what, the values before and after (JSON)."""

story_edits = Table(
    "story_edits",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column(
        "story_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("stories.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("at", UTCDateTime, nullable=False),
    Column("user_name", String(64), nullable=False),
    Column("title", Text),
    Column("summary", Text),
)
"""History of editor text (title and summary) of a story; the current text is on its candidate."""

alarms = Table(
    "alarms",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("source_id", String(64), nullable=False),
    # no_items, item_drop, challenge, never_ok, fetch_errors, stale, and outage under the pseudo source "_all"
    # (news_harvester.sources.alarms)
    Column("kind", String(32), nullable=False),
    Column("message", Text, nullable=False),
    # JSON object: the numbers behind the message
    Column("detail", Text),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    # delivery (news_harvester.sources.notify): when the opening and the resolution went out, failed attempts of
    # the pending one, when to try again, the last error, and the notifiers that already have it (JSON list)
    Column("notified_at", UTCDateTime),
    Column("resolved_notified_at", UTCDateTime),
    Column("notify_attempts", Integer, nullable=False, server_default="0"),
    Column("next_notify_at", UTCDateTime),
    Column("last_notify_error", Text),
    Column("delivered_to", Text),
    Index("ix_alarms_source_id_first_seen_at", "source_id", "first_seen_at"),
)
"""Health alarms of sources: one row per occurrence, open while ``resolved_at`` is NULL (at most one open row
per source and kind). Shown on the admin page and the queue banner, announced by the notifiers."""

Index(
    "uq_alarms_open_source_id_kind",
    alarms.c.source_id,
    alarms.c.kind,
    unique=True,
    sqlite_where=alarms.c.resolved_at.is_(None),
    postgresql_where=alarms.c.resolved_at.is_(None),
)

# ---------------------------------------------------------------- the story index (migration 0010)
# What news_harvester.store.story_index matches new articles against: one fingerprint per indexed article and
# its LSH band keys and title keys, so every process and worker sees every committed article and nothing is
# rebuilt at start-up. Times are whole seconds since the epoch (these tables hold millions of rows).

story_fingerprints = Table(
    "story_fingerprints",
    metadata,
    Column(
        "article_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("articles.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # when the article entered the index (its fetch time): it stays matchable for story_window_days after that
    Column("stored_at", BigInteger, nullable=False, index=True),
    # published_at, else fetched_at: what the title layer's 48-hour window compares
    Column("published_at", BigInteger, nullable=False),
    # SHA-256 of the dedupe-normalised body (not articles.content_hash, which folds less)
    Column("content_hash", String(64), index=True),
    Column("minhash", LargeBinary),  # num_perm little-endian uint32, NULL for a short body
    Column("band_keys", LargeBinary, nullable=False),  # little-endian int64 per band (empty for a short body)
    Column("title_keys", LargeBinary, nullable=False),  # little-endian int64 per title bigram
    Column("version", Integer, nullable=False),  # dedupe.index_version of the parameters the keys come from
)

story_bands = Table(
    "story_bands",
    metadata,
    Column("key", BigInteger, primary_key=True),
    Column("article_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    sqlite_with_rowid=False,
)

story_title_keys = Table(
    "story_title_keys",
    metadata,
    Column("key", BigInteger, primary_key=True),
    Column("published_at", BigInteger, primary_key=True),
    Column("article_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    sqlite_with_rowid=False,
)

# PostgreSQL only (empty on SQLite): a run's transaction claims the keys of its new articles here first, so that
# two runs storing reprints of one new story at once take turns (news_harvester.store.story_index.lock_keys).
# Committed band claims have done their job and go with the hourly prune; title claims (character bigrams: a
# bounded vocabulary) stay, so common bigrams are never contended again.
story_band_claims = Table("story_band_claims", metadata, Column("key", BigInteger, primary_key=True))
story_title_claims = Table("story_title_claims", metadata, Column("key", BigInteger, primary_key=True))

# ---- the queue's change log (migration 0011): triggers append the stories whose queue row may have changed, for
# the in-memory queue index (store.queue_index); ``articles`` = 1: the change can move text-search hits.
queue_changes = Table(
    "queue_changes",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("story_id", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("articles", Integer, nullable=False, server_default="0"),
    sqlite_autoincrement=True,
)

# ---- monthly figures of the 【数据月报】 (migration 0012; store.figures_store): value is decimal text as imported
monthly_figures = Table(
    "monthly_figures", metadata, Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("period", String(17), nullable=False), Column("region", String(64), nullable=False),  # YYYY-MM..YYYY-MM
    Column("indicator", String(64), nullable=False), Column("dimension", String(128), nullable=False),
    Column("value", String(40), nullable=False), Column("unit", String(16), nullable=False),
    Column("imported_at", UTCDateTime, nullable=False), Column("imported_by", String(64), nullable=False),
    Index("uq_monthly_figures_key", "period", "region", "indicator", "dimension", unique=True),
)  # fmt: skip
