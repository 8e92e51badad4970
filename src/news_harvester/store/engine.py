"""Connecting and migrating: the engine (SQLite pragmas, PostgreSQL URLs), Alembic to head under a lock, and
who owns a run (which process started it, and whether that process is gone)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError

from news_harvester.errors import StorageError
from news_harvester.store.transactions import serialized


def normalize_database_url(url: str) -> str:
    """Plain ``postgresql://`` / ``postgres://`` URLs use psycopg 3, the driver we ship."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def make_engine(url: str) -> Engine:
    """Engine with the pragmas a daemon sharing SQLite with a web app needs."""
    url = normalize_database_url(url)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    except ImportError as exc:
        hint = " (install the driver: pip install 'news-harvester[postgres]')" if url.startswith("postgresql") else ""
        raise StorageError(f"cannot use database URL {url!r}: {exc}{hint}", code="storage.url") from exc
    except (SQLAlchemyError, ValueError) as exc:
        raise StorageError(f"cannot use database URL {url!r}: {exc}", code="storage.url") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # The busy timeout first: switching a database to WAL (a restored backup is in rollback-journal mode) needs
    # a lock, and without the timeout a second process starting at the same moment failed at once with
    # "database is locked" (seen in tests/test_backup.py, two CLI commands side by side on a restored file).
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


MIGRATION_LOCK = 0x6E68_6D69_6772
"""PostgreSQL advisory lock key held while migrating ('nhmigr')."""


SCHEMA_HEAD = "0014"
"""The newest migration's revision (tests/test_store.py checks it against the migrations): a database already
there is not handed to Alembic at all, which saves every CLI command the ~0.4 s of importing it."""


def schema_revision(engine: Engine) -> str | None:
    """The database's Alembic revision, None when it has none yet (a new database) or cannot be read."""
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        return None


def upgrade(engine: Engine, *, also: Callable[[Connection], None] | None = None) -> None:
    """Apply Alembic migrations up to head (idempotent), then ``also`` (e.g. the task queue's schema) in the
    same transaction. On PostgreSQL the transaction first takes an advisory lock, so instances starting
    together migrate once: the others wait, then find the schema at head and do nothing."""
    if also is None and schema_revision(engine) == SCHEMA_HEAD:
        return  # one committed transaction wrote the revision with its schema: nothing is half done
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "news_harvester:migrations")
    try:
        with serialized(engine, MIGRATION_LOCK) as connection:  # one migrating process at a time
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            if also is not None:
                also(connection)
    except SQLAlchemyError as exc:
        raise StorageError(f"database migration failed: {exc}", code="storage.migrate") from exc


_PROCESS_TOKEN = uuid.uuid4().hex[:12]
"""Tells this process from an earlier one with the same pid (a container's daemon is pid 1 after every restart)."""


def run_owner() -> str:
    """``host:pid:token`` of this process, recorded on the runs it starts."""
    return f"{socket.gethostname()[:100]}:{os.getpid()}:{_PROCESS_TOKEN}"


def owner_gone(owner: str | None) -> bool:
    """Whether the process that recorded ``owner`` has ended (runs without an owner predate migration 0009)."""
    if not owner:
        return True
    parts = owner.rsplit(":", 2)
    if len(parts) != 3:
        return True
    host, pid_text, token = parts
    if host != socket.gethostname()[:100]:
        return False  # another machine's process: not ours to judge
    try:
        pid = int(pid_text)
    except ValueError:
        return True
    if pid == os.getpid():
        return token != _PROCESS_TOKEN  # an earlier process that had our pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False
