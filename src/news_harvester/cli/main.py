"""The root of the ``news-harvester`` command line and its daemon commands: ``run``, ``harvest``, ``db``.

Errors print one clear line (or the config explanation) to stderr and exit non-zero.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from news_harvester import __version__
from news_harvester.cli.common import EXIT_CONFIG, EXIT_ERROR, CliContext, fail, guard, print_table
from news_harvester.models import RunSummary

T = TypeVar("T")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, imported only by the commands that run a loop (asyncio costs every other command ~40 ms)."""
    import asyncio

    return asyncio.run(coroutine)


COMMAND_MODULES = {
    "extract": "articles",
    "articles": "articles",
    "sources": "sources",
    "ingest": "stories",
    "stories": "stories",
    "topics": "stories",
    "issue": "issues",
    "figures": "figures",
    "users": "users",
    "backup": "ops",
    "restore": "ops",
    "init": "ops",
}
"""Which module of news_harvester.cli builds each command group (its ``COMMANDS``). A command's module is imported
only when that command runs (or ``--help`` lists them all), so ``users list`` does not pay for ``issue``'s imports."""


class _LazyCommands(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMAND_MODULES})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in COMMAND_MODULES:
            return command
        module = importlib.import_module(f"news_harvester.cli.{COMMAND_MODULES[cmd_name]}")
        return next((c for c in module.COMMANDS if c.name == cmd_name), None)


@click.group(cls=_LazyCommands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="news-harvester")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="Settings file (TOML).")
@click.option("--sources", type=click.Path(path_type=Path), help="Path of sources.yaml.")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Data directory (SQLite database).")
@click.option("--database-url", help="SQLAlchemy database URL (overrides --data-dir's SQLite file).")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--log-format", type=click.Choice(["text", "json"]))
@click.pass_context
def main(ctx: click.Context, /, config_file: Path | None, **overrides: Any) -> None:
    """news-harvester: harvest trade news into a review queue for the 数字贸易简报."""
    if overrides.get("log_level"):
        overrides["log_level"] = overrides["log_level"].upper()
    ctx.obj = CliContext(config_file, overrides)


@main.command()
@click.option("--bind", help="host:port for the web endpoint (default 127.0.0.1:8000).")
@click.option("--no-web", is_flag=True, help="Run the scheduler only.")
@click.option("--web-only", is_flag=True, help="Serve the web endpoint only, harvest nothing.")
@click.option(
    "--role",
    type=click.Choice(["all", "web", "scheduler", "worker"]),
    help="all: one machine, no queue (default); web, scheduler, worker: one role of a cluster on PostgreSQL.",
)
@click.pass_obj
@guard
def run(obj: CliContext, bind: str | None, no_web: bool, web_only: bool, role: str | None) -> None:
    """Run the daemon: harvest every enabled source on its schedule."""
    if no_web and web_only:
        fail("--no-web and --web-only exclude each other", EXIT_CONFIG)
    settings = obj.settings(bind=bind, role=role)
    if settings.role != "all":
        from news_harvester.cluster.roles import check_role, run_role

        check_role(settings, no_web=no_web, web_only=web_only, bind=bind)
        _run(run_role(settings))
        return
    from news_harvester.daemon import run_daemon

    _run(run_daemon(settings, harvest=not web_only, web=settings.web and not no_web))


@main.command()
@click.option("--once", is_flag=True, help="One pass, then exit (the only mode; `run` is the daemon).")
@click.option("--source", "source_ids", multiple=True, metavar="ID", help="Only this source (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
@guard
def harvest(obj: CliContext, once: bool, source_ids: tuple[str, ...], as_json: bool) -> None:
    """Harvest all enabled sources once and print a summary table."""
    from news_harvester.wiring import harvest_once

    settings = obj.settings()
    sources = obj.sources()
    unknown = [s for s in source_ids if sources.get(s) is None]
    if unknown:
        fail(f"unknown source id {unknown[0]!r} (see `news-harvester sources list`)")
    quiet = as_json or not sys.stderr.isatty()

    def progress(done: int, total: int, summary: RunSummary) -> None:
        if not quiet or total >= 10:
            click.echo(f"[{done}/{total}] {summary.source_id}: {summary.outcome} {summary.items_new} new", err=True)

    summaries = _run(harvest_once(settings, sources, list(source_ids) or None, progress))
    if as_json:
        click.echo(json.dumps([_summary_json(s) for s in summaries], ensure_ascii=False, indent=2))
    else:
        print_table(
            ["source", "status", "seen", "new", "time", "error"],
            [
                [
                    s.source_id,
                    s.outcome,
                    s.items_seen,
                    s.items_new,
                    f"{s.duration_ms / 1000:.1f}s",
                    f"{s.code}: {s.message}" if s.code else ("; ".join(s.warnings)[:80] if s.warnings else ""),
                ]
                for s in summaries
            ],
        )
    if summaries and all(s.outcome == "error" for s in summaries):
        sys.exit(EXIT_ERROR)


def _summary_json(s: RunSummary) -> dict[str, Any]:
    return {
        "source": s.source_id,
        "status": str(s.outcome),
        "items_seen": s.items_seen,
        "items_new": s.items_new,
        "duration_ms": s.duration_ms,
        "code": s.code,
        "message": s.message,
        "http_status": s.http_status,
        "warnings": list(s.warnings),
    }


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_obj
@guard
def db_upgrade(obj: CliContext) -> None:
    """Apply database migrations up to the latest revision."""
    from news_harvester.wiring import open_repository

    settings = obj.settings()
    open_repository(settings)
    click.echo(f"database is up to date ({settings.resolved_database_url.split('://')[0]})")
