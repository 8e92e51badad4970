"""Back up and restore the SQLite database (``news-harvester backup`` / ``restore``).

* **Backup** uses SQLite's online backup API in one step: the copy is one consistent snapshot (one read
  transaction), and in WAL mode the daemon keeps writing meanwhile. The copy is switched to a rollback journal so
  it is one self-contained file, checked (``PRAGMA quick_check``), and only then renamed into place, so a
  backup file either is complete or does not exist.
* **Restore** copies the backup next to the database, checks the copy (``PRAGMA integrity_check``, an
  ``alembic_version`` table with a revision this version knows), refuses to replace an existing database unless
  forced, and refuses while another process has the database open (the daemon). The old database is kept as
  ``<db>.before-restore-<UTC time>``; stale ``-wal``/``-shm``/``-journal`` files are removed so they can never
  be replayed into the restored file. A backup from an older version is migrated by the normal ``upgrade()``
  at the next start (or ``news-harvester db upgrade``).

PostgreSQL is backed up with its own tools (``pg_dump`` / ``pg_restore``); see :func:`sqlite_database`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from news_harvester.errors import ConfigError, StorageError

BUSY_TIMEOUT = 15.0
"""Seconds a backup waits for a lock (the daemon's own busy timeout)."""
IN_USE_TIMEOUT = 1.0
"""Seconds restore waits for the old database to be free before saying it is in use."""
SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True, slots=True)
class Restored:
    """What :func:`restore_sqlite` did."""

    database: Path
    revision: str
    """Schema revision of the restored database (migrated to ``head`` at the next start when older)."""
    head: str
    """The newest revision this version of news-harvester knows."""
    previous: Path | None = None
    """Where the database that was replaced now is (None when there was none)."""


def utc_stamp(moment: datetime | None = None) -> str:
    """``20261127T085500Z``: sorts by time and is safe in file names."""
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def default_backup_path(data_dir: Path, moment: datetime | None = None) -> Path:
    return data_dir / "backups" / f"news_harvester-{utc_stamp(moment)}.db"


def sqlite_database(url: str, command: str = "backup") -> Path:
    """The SQLite file of database ``url``; ConfigError (exit 2) for PostgreSQL and other servers."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"database_url {url!r} is not a database URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        plain = parsed.set(drivername="postgresql").render_as_string(hide_password=True)
        raise ConfigError(
            f"`news-harvester {command}` works on the SQLite database only; this one is PostgreSQL ({plain}).\n"
            "  hint: use PostgreSQL's own tools, e.g.\n"
            '    pg_dump --format=custom --file=news_harvester.dump "postgresql://USER@HOST/DB"\n'
            '    pg_restore --clean --if-exists --no-owner --dbname="postgresql://USER@HOST/DB" news_harvester.dump\n'
            "  (stop the daemon before pg_restore; pg_dump is safe while it runs)"
        )
    if backend != "sqlite":
        raise ConfigError(f"`news-harvester {command}` works on SQLite databases only, not {backend!r}")
    if not parsed.database or parsed.database == ":memory:" or parsed.database.startswith("file:"):
        raise ConfigError(f"database_url {url!r} names no SQLite file to {command}")
    return Path(parsed.database)


# --------------------------------------------------------------------------- backup


def backup_sqlite(db_path: Path, dest: Path) -> Path:
    """Copy the live database ``db_path`` to ``dest`` (replaced atomically if it exists); returns ``dest``.

    Safe while the daemon writes: the copy is one consistent snapshot. Raises StorageError.
    """
    if not db_path.is_file():
        raise StorageError(f"there is no database at {db_path} to back up", code="storage.backup")
    if dest.exists() and dest.resolve() == db_path.resolve():
        raise StorageError(f"the backup file must not be the database itself ({dest})", code="storage.backup")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    try:
        # mode=rw: never create an empty database where the real one is missing
        source = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=rw", uri=True, timeout=BUSY_TIMEOUT)
        try:
            target = sqlite3.connect(partial)
            try:
                source.backup(target)  # pages=-1: one step, one read transaction, one snapshot
                target.execute("PRAGMA journal_mode=DELETE")
                problems = [row[0] for row in target.execute("PRAGMA quick_check").fetchall()]
            finally:
                target.close()
        finally:
            source.close()
        if problems != ["ok"]:
            raise StorageError(
                f"the copy of {db_path} fails its check: {'; '.join(problems[:3])}", code="storage.backup"
            )
        partial.chmod(db_path.stat().st_mode & 0o777)  # never more readable than the database (password hashes)
        _fsync(partial)
        partial.replace(dest)
        _fsync_dir(dest.parent)
    except (sqlite3.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise StorageError(f"backup of {db_path} to {dest} failed: {exc}", code="storage.backup") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return dest


# --------------------------------------------------------------------------- restore


def restore_sqlite(backup: Path, db_path: Path, *, force: bool) -> Restored:
    """Make the backup file ``backup`` the database at ``db_path``. Raises StorageError with the reason when the
    file is not a usable backup, a database exists and ``force`` is false, or the database is in use."""
    if not backup.is_file():
        raise StorageError(f"there is no backup file at {backup}", code="storage.restore")
    if db_path.exists() and db_path.resolve() == backup.resolve():
        raise StorageError(f"{backup} is the database itself; nothing to restore", code="storage.restore")
    if db_path.exists() and not force:
        raise StorageError(
            f"a database already exists at {db_path}; pass --force to replace it "
            f"(it is kept as {db_path.name}.before-restore-<time>)",
            code="storage.exists",
        )
    db_path.parent.mkdir(parents=True, exist_ok=True)
    staging = db_path.with_name(f".{db_path.name}.restore-{os.getpid()}")
    try:
        shutil.copyfile(backup, staging)
        revision, head = _verify(staging, backup)
        if db_path.exists():
            _take_ownership(staging, db_path)
        _fsync(staging)
        previous = _move_aside(db_path) if db_path.exists() else None
        for suffix in SIDE_FILES:  # never let an old WAL or journal be replayed into the restored file
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        staging.replace(db_path)
        _fsync_dir(db_path.parent)
    except OSError as exc:
        raise StorageError(f"restore of {backup} into {db_path} failed: {exc}", code="storage.restore") from exc
    finally:
        for path in (staging, *(Path(f"{staging}{suffix}") for suffix in SIDE_FILES)):
            path.unlink(missing_ok=True)
    return Restored(db_path, revision, head, previous)


def _verify(copy: Path, named: Path) -> tuple[str, str]:
    """``(revision, head)`` of a verified backup copy, which is left with a rollback journal."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    conn = sqlite3.connect(copy)
    try:
        try:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
        except sqlite3.DatabaseError as exc:
            raise StorageError(
                f"{named} is not a SQLite database or is damaged ({exc})", code="storage.restore"
            ) from None
        if problems != ["ok"]:
            raise StorageError(
                f"{named} is damaged: integrity_check reports {'; '.join(problems[:3])}", code="storage.restore"
            )
        has_version = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()
        if not has_version:
            raise StorageError(
                f"{named} is not a news-harvester database (it has no alembic_version table)", code="storage.restore"
            )
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        if row is None:
            raise StorageError(f"{named} records no schema revision (alembic_version is empty)", code="storage.restore")
        revision = str(row[0])
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()
    config = Config()
    config.set_main_option("script_location", "news_harvester:migrations")
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head() or ""
    try:
        script.get_revision(revision)
    except CommandError:
        raise StorageError(
            f"{named} has schema revision {revision!r}, which this version of news-harvester does not know "
            f"(its newest is {head!r}): it was made by a newer version; upgrade news-harvester first",
            code="storage.restore",
        ) from None
    return revision, head


def _move_aside(db_path: Path) -> Path:
    """Rename the current database (and its WAL, if it cannot be folded in) to ``<db>.before-restore-<time>``;
    StorageError when another process has it open."""
    try:
        conn = sqlite3.connect(db_path, timeout=IN_USE_TIMEOUT)
        try:
            # leaving WAL mode needs the only connection: fails while the daemon (or anyone) has it open, and
            # otherwise folds the WAL into the file, so the kept copy is self-contained
            conn.execute("PRAGMA journal_mode=DELETE").fetchone()
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise StorageError(
                f"the database {db_path} is in use (is news-harvester running?); stop the daemon, then restore",
                code="storage.in_use",
            ) from None
    except sqlite3.DatabaseError:
        pass  # a damaged database is moved aside as it is, side files included
    stamp = utc_stamp()
    aside = db_path.with_name(f"{db_path.name}.before-restore-{stamp}")
    for n in range(2, 100):
        if not aside.exists():
            break
        aside = db_path.with_name(f"{db_path.name}.before-restore-{stamp}-{n}")
    db_path.replace(aside)
    for suffix in ("-wal", "-shm"):
        side = Path(f"{db_path}{suffix}")
        if side.exists():
            side.replace(Path(f"{aside}{suffix}"))
    return aside


def _take_ownership(new: Path, old: Path) -> None:
    """Give the restored file the old database's mode, and its owner when run as root (``sudo news-harvester
    restore`` must not leave a database the daemon's user cannot write)."""
    status = old.stat()
    new.chmod(status.st_mode & 0o777)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.chown(new, status.st_uid, status.st_gid)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform/filesystem can fsync a directory
        _fsync(path)
