"""Operations commands registered on news_harvester.cli.main: ``backup`` and ``restore`` of the SQLite database.

``backup`` is safe while the daemon runs (SQLite's online backup API, see news_harvester.backup); ``restore``
wants the daemon stopped and refuses to replace a database unless ``--force`` is given. PostgreSQL databases
are refused with a pointer to ``pg_dump`` / ``pg_restore`` (exit 2).
"""

from __future__ import annotations

from pathlib import Path

import click

from news_harvester.cli import _Ctx, _guard, main


@main.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Backup file, or a directory for the default name "
    "(default: <data_dir>/backups/news_harvester-<UTC time>.db). An existing file is replaced.",
)
@click.pass_obj
@_guard
def backup(obj: _Ctx, output: Path | None) -> None:
    """Copy the SQLite database to a backup file (safe while the daemon runs); print the file's path."""
    from news_harvester.backup import backup_sqlite, default_backup_path, sqlite_database

    settings = obj.settings()
    database = sqlite_database(settings.resolved_database_url, "backup")
    default = default_backup_path(settings.data_dir)
    dest = output if output is not None else default
    if dest.is_dir():
        dest = dest / default.name
    done = backup_sqlite(database, dest)
    click.echo(f"backed up {database} ({_size(done)})", err=True)
    click.echo(str(done))


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace an existing database (it is kept as <db>.before-restore-<time>).")
@click.pass_obj
@_guard
def restore(obj: _Ctx, file: Path, force: bool) -> None:
    """Make a backup FILE the database (stop the daemon first); an older schema is migrated at the next start."""
    from news_harvester.backup import restore_sqlite, sqlite_database

    settings = obj.settings()
    database = sqlite_database(settings.resolved_database_url, "restore")
    done = restore_sqlite(file, database, force=force)
    click.echo(f"restored {file} into {done.database} (schema revision {done.revision})")
    if done.previous is not None:
        click.echo(f"the previous database is kept as {done.previous}")
    if done.revision != done.head:
        click.echo(
            f"the schema is migrated to revision {done.head} at the next start (or run `news-harvester db upgrade`)"
        )


def _size(path: Path) -> str:
    value = float(path.stat().st_size)
    unit = "bytes"
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            break
        value /= 1024
    return f"{value:.0f} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
