"""Topics, ranking, cross-issue memory and one candidate per story.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Adds ``story_topics``, ``issues`` (the minimum cross-issue memory needs; the issue-assembly work extends it),
``topic_models``; score, classification and used/follow-up columns on ``stories``; outlet name and imported
weight on ``articles``; ``candidates.story_id``. Existing candidates of the first article of each story become
that story's candidate; the others keep their rows with ``story_id`` NULL (nothing an editor wrote is lost).
As in 0002, SQLite columns are added with ``ALTER TABLE … ADD COLUMN`` (inline ``REFERENCES`` on nullable
columns), never by batch-copying a table that other tables reference.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from news_harvester.store.schema import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def _add_fk_column(table: str, column: str, target: str, ondelete: str) -> None:
    name = f"fk_{table}_{column}_{target}"
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN {column} INTEGER "
            f"CONSTRAINT {name} REFERENCES {target} (id) ON DELETE {ondelete}"
        )
    else:
        op.add_column(table, sa.Column(column, ID, nullable=True))
        op.create_foreign_key(name, table, target, [column], ["id"], ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "issues",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("total_number", sa.Integer),
        sa.Column("issue_date", sa.Date),
        sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("published_at", UTCDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_issues"),
    )
    op.create_index("uq_issues_year_number", "issues", ["year", "number"], unique=True)

    op.create_table(
        "story_topics",
        sa.Column("story_id", ID, nullable=False),
        sa.Column("topic_id", sa.String(64), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("origin", sa.String(8), nullable=False, server_default="auto"),
        sa.Column("rejected", sa.Boolean, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("story_id", "topic_id", name="pk_story_topics"),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name="fk_story_topics_story_id_stories", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_story_topics_topic_id", "story_topics", ["topic_id"])

    op.create_table(
        "topic_models",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("trained_at", UTCDateTime, nullable=False),
        sa.Column("taxonomy_digest", sa.String(64), nullable=False),
        sa.Column("examples", sa.Integer, nullable=False),
        sa.Column("info", sa.Text),
        sa.Column("model", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_topic_models"),
    )

    for column, type_ in (
        ("score", sa.Float),
        ("score_parts", sa.Text),
        ("scored_at", UTCDateTime),
        ("outlets", sa.Integer),
        ("classification", sa.Text),
        ("taxonomy_digest", sa.String(64)),
        ("classified_at", UTCDateTime),
        ("used_at", UTCDateTime),
    ):
        op.add_column("stories", sa.Column(column, type_, nullable=True))
    _add_fk_column("stories", "used_issue_id", "issues", "SET NULL")
    _add_fk_column("stories", "follow_up_of", "stories", "SET NULL")
    op.create_index("ix_stories_score", "stories", ["score"])

    op.add_column("articles", sa.Column("source_name", sa.Text, nullable=True))
    op.add_column("articles", sa.Column("source_weight", sa.Float, nullable=True))

    _add_fk_column("candidates", "story_id", "stories", "CASCADE")
    op.create_index("uq_candidates_story_id", "candidates", ["story_id"], unique=True)
    op.execute(
        "UPDATE candidates SET story_id = (SELECT a.story_id FROM articles a WHERE a.id = candidates.article_id) "
        "WHERE article_id IN (SELECT min(id) FROM articles WHERE story_id IS NOT NULL GROUP BY story_id)"
    )


def downgrade() -> None:
    """Not used by the application (it only upgrades); see 0002 about SQLite and foreign keys."""
    op.drop_index("uq_candidates_story_id", "candidates")
    op.drop_index("ix_stories_score", "stories")
    with op.batch_alter_table("candidates") as batch:
        batch.drop_column("story_id")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("source_weight")
        batch.drop_column("source_name")
    with op.batch_alter_table("stories") as batch:
        for column in (
            "follow_up_of",
            "used_issue_id",
            "used_at",
            "classified_at",
            "taxonomy_digest",
            "classification",
            "outlets",
            "scored_at",
            "score_parts",
            "score",
        ):
            batch.drop_column(column)
    op.drop_table("topic_models")
    op.drop_index("ix_story_topics_topic_id", "story_topics")
    op.drop_table("story_topics")
    op.drop_index("uq_issues_year_number", "issues")
    op.drop_table("issues")
