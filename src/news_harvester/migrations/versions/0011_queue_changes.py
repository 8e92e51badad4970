"""A change log of the review queue, written by triggers.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

The review app keeps the queue's filter-and-order columns of every story in memory
(``news_harvester.store.queue_index``) and must see every committed change, whoever made it: an editor in
another web process, the harvest's writer process, a cluster worker, a ``harvest --once`` beside the daemon.
Triggers on the four tables the queue reads append the story id of each changed row to ``queue_changes``;
``articles`` is set when the change can move text-search hits (an article added, moved, re-titled,
re-bodied or removed). Rows are pruned with the story window (``QueueChangeLog.prune``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

# (table, story id column, articles flag, columns whose update matters; None: any update)
WATCHED = [
    ("stories", "id", 0, ["score", "score_parts", "canonical_article_id", "follow_up_of"]),
    ("candidates", "story_id", 0, None),
    ("story_topics", "story_id", 0, None),
    ("articles", "story_id", 1, ["story_id", "published_at", "fetched_at", "source_id", "source_name", "title",
                                 "body_text"]),
]  # fmt: skip


def _sqlite_triggers(table: str, column: str, flag: int, columns: list[str] | None) -> list[str]:
    log = "INSERT INTO queue_changes (story_id, articles)"
    of = f" OF {', '.join(columns)}" if columns else ""
    # table and column names are the constants of WATCHED
    return [
        f"CREATE TRIGGER queue_changes_{table}_ins AFTER INSERT ON {table} WHEN NEW.{column} IS NOT NULL "  # noqa: S608
        f"BEGIN {log} VALUES (NEW.{column}, {flag}); END",
        f"CREATE TRIGGER queue_changes_{table}_upd AFTER UPDATE{of} ON {table} "
        f"BEGIN {log} SELECT NEW.{column}, {flag} WHERE NEW.{column} IS NOT NULL; "
        f"{log} SELECT OLD.{column}, {flag} WHERE OLD.{column} IS NOT NULL AND OLD.{column} IS NOT NEW.{column}; END",
        f"CREATE TRIGGER queue_changes_{table}_del AFTER DELETE ON {table} WHEN OLD.{column} IS NOT NULL "
        f"BEGIN {log} VALUES (OLD.{column}, {flag}); END",
    ]


PG_FUNCTION = """
CREATE FUNCTION queue_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    new_id bigint;
    old_id bigint;
BEGIN
    IF TG_OP <> 'DELETE' THEN new_id := (to_jsonb(NEW) ->> TG_ARGV[0])::bigint; END IF;
    IF TG_OP <> 'INSERT' THEN old_id := (to_jsonb(OLD) ->> TG_ARGV[0])::bigint; END IF;
    IF new_id IS NOT NULL THEN
        INSERT INTO queue_changes (story_id, articles) VALUES (new_id, TG_ARGV[1]::integer);
    END IF;
    IF old_id IS NOT NULL AND old_id IS DISTINCT FROM new_id THEN
        INSERT INTO queue_changes (story_id, articles) VALUES (old_id, TG_ARGV[1]::integer);
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "queue_changes",
        sa.Column("seq", ID, primary_key=True, autoincrement=True),
        sa.Column("story_id", ID, nullable=False),
        sa.Column("articles", sa.Integer, nullable=False, server_default="0"),
        sqlite_autoincrement=True,
    )
    if op.get_bind().dialect.name == "sqlite":
        for table, column, flag, columns in WATCHED:
            for statement in _sqlite_triggers(table, column, flag, columns):
                op.execute(statement)
        return
    op.execute(PG_FUNCTION)
    for table, column, flag, columns in WATCHED:
        of = f" OF {', '.join(columns)}" if columns else ""
        op.execute(
            f"CREATE TRIGGER queue_changes_{table} AFTER INSERT OR UPDATE{of} OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION queue_change('{column}', '{flag}')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, _column, _flag, _columns in WATCHED:
            for kind in ("ins", "upd", "del"):
                op.execute(f"DROP TRIGGER IF EXISTS queue_changes_{table}_{kind}")
    else:
        for table, _column, _flag, _columns in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS queue_changes_{table} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS queue_change()")
    op.drop_table("queue_changes")
