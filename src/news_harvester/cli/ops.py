"""Operations commands registered on news_harvester.cli.main: ``init`` (editable copies of the packaged
configuration), ``backup`` and ``restore`` of the SQLite database.

``backup`` is safe while the daemon runs (SQLite's online backup API, see news_harvester.ops.backup); ``restore``
wants the daemon stopped and refuses to replace a database unless ``--force`` is given. PostgreSQL databases
are refused with a pointer to ``pg_dump`` / ``pg_restore`` (exit 2).
"""

from __future__ import annotations

from pathlib import Path

import click

from news_harvester.cli.common import CliContext, guard


@click.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Backup file, or a directory for the default name "
    "(default: <data_dir>/backups/news_harvester-<UTC time>.db). An existing file is replaced.",
)
@click.pass_obj
@guard
def backup(obj: CliContext, output: Path | None) -> None:
    """Copy the SQLite database to a backup file (safe while the daemon runs); print the file's path."""
    from news_harvester.ops.backup import backup_sqlite, default_backup_path, sqlite_database

    settings = obj.settings()
    database = sqlite_database(settings.resolved_database_url, "backup")
    default = default_backup_path(settings.data_dir)
    dest = output if output is not None else default
    if dest.is_dir():
        dest = dest / default.name
    done = backup_sqlite(database, dest)
    click.echo(f"backed up {database} ({_size(done)})", err=True)
    click.echo(str(done))


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace an existing database (it is kept as <db>.before-restore-<time>).")
@click.pass_obj
@guard
def restore(obj: CliContext, file: Path, force: bool) -> None:
    """Make a backup FILE the database (stop the daemon first); an older schema is migrated at the next start."""
    from news_harvester.ops.backup import restore_sqlite, sqlite_database

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


SETTINGS_TEMPLATE = """\
# news-harvester settings (TOML), written by `news-harvester init`. Use it with
#   news-harvester --config {settings} run
# or set NEWS_HARVESTER_CONFIG={settings}. Every key is optional; see README "Configuration".
[news_harvester]
data_dir = "{data}"
sources = "{sources}"
topics = "{topics}"
bind = "127.0.0.1:8000"
# database_url = "postgresql://user@host/db"   # needs: pip install 'news-harvester[postgres]'
"""


@click.command()
@click.argument("directory", type=click.Path(path_type=Path), default=".")
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@guard
def init(directory: Path, force: bool) -> None:
    """Write editable copies of the packaged sources.yaml and topics.yaml and a settings file into DIRECTORY
    (default: here): config/sources.yaml, config/topics.yaml, news-harvester.toml."""
    from news_harvester.config import packaged_default

    directory = directory.resolve()
    targets = {
        directory / "config" / "sources.yaml": packaged_default("sources.yaml"),
        directory / "config" / "topics.yaml": packaged_default("topics.yaml"),
    }
    settings = directory / "news-harvester.toml"
    existing = [p for p in [*targets, settings] if p.exists()]
    if existing and not force:
        raise click.ClickException(
            "already there, nothing written: " + ", ".join(str(p) for p in existing) + " (--force overwrites)"
        )
    (directory / "config").mkdir(parents=True, exist_ok=True)
    for target, source in targets.items():
        target.write_bytes(source.read_bytes())
    settings.write_text(
        SETTINGS_TEMPLATE.format(
            settings=settings,
            data=directory / "data",
            sources=directory / "config" / "sources.yaml",
            topics=directory / "config" / "topics.yaml",
        ),
        encoding="utf-8",
    )
    for path in [*targets, settings]:
        click.echo(f"wrote {path}")
    click.echo(f"next: news-harvester --config {settings} run")


COMMANDS = (backup, restore, init)
