"""The ``nh_cluster`` PostgreSQL schema: procrastinate's queue tables and functions, plus ``harvest_periods``.

Kept out of the application schema (news_harvester.store.schema, migrated by Alembic) so the application's
tables stay identical whether or not the cluster roles are used. Applied by :func:`apply_cluster_schema`
inside :func:`news_harvester.store.repository.upgrade`'s transaction, i.e. under the same advisory lock as the
Alembic migrations: instances starting together create it once.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
    text,
)
from sqlalchemy.dialects import postgresql

SCHEMA = "nh_cluster"
SOURCE_LOCK_CLASS = 0x4E48
"""First key of the per-source session advisory locks (second key: crc32 of the source id)."""

metadata = MetaData(schema=SCHEMA)

harvest_periods = Table(
    "harvest_periods",
    metadata,
    Column("source_id", String(64), primary_key=True),
    Column("period_start", DateTime(timezone=True), primary_key=True),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Column("scheduler", String(128), nullable=False),
    Column("job_id", BigInteger),
    Column("status", String(16), nullable=False),
    Column("worker", String(128)),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("outcome", String(32)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("note", Text),
)
"""One row per (source, period) a scheduler claimed: the proof that each period became one job, and what
happened to it. ``status``: queued → running → done | dropped | skipped | failed; ``coalesced`` when the source
still had a job waiting (that job covers the period). Housekeeping jobs use ids starting with ``__``."""

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


def source_lock_key(source_id: str) -> int:
    """Second key of a source's advisory lock: crc32 as a signed 32-bit integer."""
    value = zlib.crc32(source_id.encode("utf-8"))
    return value - (1 << 32) if value >= 1 << 31 else value


def procrastinate_level() -> str:
    """The newest schema migration procrastinate ships: what its schema.sql corresponds to."""
    from procrastinate.schema import SchemaManager

    names = [p.name for p in Path(SchemaManager.get_migrations_path()).glob("*.sql")]
    return max(names, default="none")


def apply_cluster_schema(conn: Connection) -> None:
    """Create the ``nh_cluster`` schema with procrastinate's objects and our tables when absent (idempotent).

    Runs in the migration transaction, after ``pg_advisory_xact_lock``: one instance creates, the others see it.
    A schema made by another procrastinate version is refused with the command that migrates it.
    """
    from procrastinate.schema import SchemaManager

    conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    installed = procrastinate_level()
    if conn.execute(select(text(f"to_regclass('{SCHEMA}.procrastinate_jobs')"))).scalar() is None:
        conn.execute(text(f"SET LOCAL search_path TO {SCHEMA}"))
        # through the DB-API cursor without parameters: the schema's PL/pgSQL contains '%' placeholders of its own
        cursor = conn.connection.cursor()
        try:
            cursor.execute(SchemaManager.get_schema())
        finally:
            cursor.close()
        conn.execute(text("SET LOCAL search_path TO DEFAULT"))
    metadata.create_all(conn, checkfirst=True)
    row: Any = conn.execute(select(meta.c.value).where(meta.c.key == "procrastinate")).scalar()
    if row is None:
        conn.execute(postgresql.insert(meta).values(key="procrastinate", value=installed).on_conflict_do_nothing())
    elif row != installed:
        from news_harvester.errors import StorageError

        raise StorageError(
            f"the queue schema {SCHEMA} is at procrastinate migration {row}, the installed procrastinate at "
            f"{installed}: apply procrastinate's migrations after {row} (with search_path={SCHEMA}), then set "
            f"{SCHEMA}.meta 'procrastinate' to {installed}",
            code="storage.migrate",
        )
