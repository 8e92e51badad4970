"""The ``news-harvester`` command line: thin commands over daemon, store and config.

Errors print one clear line (or the config explanation) to stderr and exit non-zero.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from news_harvester import __version__
from news_harvester.config import Settings, SourcesConfig, SourceSpec, load_settings, load_sources
from news_harvester.errors import ConfigError, HarvesterError
from news_harvester.logs import configure_logging
from news_harvester.models import RunSummary

if TYPE_CHECKING:
    from datetime import datetime

    from news_harvester.models import Article
    from news_harvester.reader import ArticlePage, Preview

EXIT_CONFIG = 2
EXIT_ERROR = 1


class _Ctx:
    def __init__(self, config_file: Path | None, overrides: dict[str, Any]) -> None:
        self.config_file = config_file
        self.overrides = overrides
        self._settings: Settings | None = None

    def settings(self, **more: Any) -> Settings:
        if self._settings is None or more:
            self._settings = load_settings(config_file=self.config_file, overrides={**self.overrides, **more})
            configure_logging(self._settings.log_level, self._settings.log_format)
        return self._settings

    def sources(self) -> SourcesConfig:
        return load_sources(self.settings().sources)

    def source(self, source_id: str) -> SourceSpec:
        spec = self.sources().get(source_id)
        if spec is None:
            _fail(f"unknown source id {source_id!r} (see `news-harvester sources list`)")
        assert spec is not None
        return spec


def _fail(message: str, code: int = EXIT_ERROR) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn HarvesterErrors into one clear message and a non-zero exit."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            _fail(str(exc), EXIT_CONFIG)
        except HarvesterError as exc:
            _fail(f"{exc.message} [{exc.code}]")

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    ctx.obj = _Ctx(config_file, overrides)


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
@_guard
def run(obj: _Ctx, bind: str | None, no_web: bool, web_only: bool, role: str | None) -> None:
    """Run the daemon: harvest every enabled source on its schedule."""
    if no_web and web_only:
        _fail("--no-web and --web-only exclude each other", EXIT_CONFIG)
    settings = obj.settings(bind=bind, role=role)
    if settings.role != "all":
        from news_harvester.cluster.roles import check_role, run_role

        check_role(settings, no_web=no_web, web_only=web_only, bind=bind)
        asyncio.run(run_role(settings))
        return
    from news_harvester.daemon import run_daemon

    asyncio.run(run_daemon(settings, harvest=not web_only, web=settings.web and not no_web))


@main.command()
@click.option("--once", is_flag=True, help="One pass, then exit (the only mode; `run` is the daemon).")
@click.option("--source", "source_ids", multiple=True, metavar="ID", help="Only this source (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
@_guard
def harvest(obj: _Ctx, once: bool, source_ids: tuple[str, ...], as_json: bool) -> None:
    """Harvest all enabled sources once and print a summary table."""
    from news_harvester.daemon import harvest_once

    settings = obj.settings()
    sources = obj.sources()
    unknown = [s for s in source_ids if sources.get(s) is None]
    if unknown:
        _fail(f"unknown source id {unknown[0]!r} (see `news-harvester sources list`)")
    quiet = as_json or not sys.stderr.isatty()

    def progress(done: int, total: int, summary: RunSummary) -> None:
        if not quiet or total >= 10:
            click.echo(f"[{done}/{total}] {summary.source_id}: {summary.outcome} {summary.items_new} new", err=True)

    summaries = asyncio.run(harvest_once(settings, sources, list(source_ids) or None, progress))
    if as_json:
        click.echo(json.dumps([_summary_json(s) for s in summaries], ensure_ascii=False, indent=2))
    else:
        _print_table(
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


@main.command()
@click.argument("target", metavar="PATH_OR_URL")
@click.option(
    "--source", "source_id", metavar="ID", help="Read it as this source does (zone, encoding, headers, selectors)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@_guard
def extract(obj: _Ctx, target: str, source_id: str | None, as_json: bool) -> None:
    """Extract one article from a saved page or a URL and print it; stores nothing."""
    from news_harvester.reader import read_article_file

    is_url = target.startswith(("http://", "https://"))
    spec = obj.source(source_id) if source_id else _adhoc_spec(target if is_url else None)
    if is_url:
        page = asyncio.run(_read_url(obj.settings(), spec, target))
    else:
        path = Path(target)
        if not path.is_file():
            _fail(f"no such file: {target} (give a saved page or an http(s) URL)")
        page = read_article_file(path.read_bytes(), path.resolve().as_uri(), spec)
    extracted = page.extracted
    record = {
        "url": target if is_url else page.url,
        "final_url": page.url,
        "title": extracted.title,
        "published_at": _iso(extracted.published_at, spec),
        "date_source": extracted.date_origin,
        "author": extracted.author,
        "attribution": extracted.attribution,
        "body": page.body_text,
        "attachments": _attachments(page),
        "charset": page.fetched.charset_used,
        "warnings": list(page.warnings),
    }
    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    _print_article(record)


async def _read_url(settings: Settings, spec: SourceSpec, url: str) -> ArticlePage:
    from news_harvester.daemon import fetch_policy
    from news_harvester.fetch import Fetcher
    from news_harvester.reader import Reader

    fetcher = Fetcher(fetch_policy(settings))
    try:
        return await Reader(fetcher).read_article(spec, url)
    finally:
        await fetcher.aclose()


def _adhoc_spec(url: str | None) -> SourceSpec:
    """Defaults of a source (Asia/Shanghai, no selectors) for pages read without ``--source``."""
    return SourceSpec.model_validate(
        {"id": "extract", "name": "extract", "kind": "html", "url": url or "http://localhost/"}
    )


def _iso(when: datetime | None, spec: SourceSpec) -> str | None:
    """ISO 8601 with the UTC offset, in the source's time zone."""
    return when.astimezone(spec.zone).isoformat() if when is not None else None


def _attachments(page: ArticlePage | None) -> list[dict[str, Any]]:
    """``{url, text, kind}`` per attachment (PDF, DOC/DOCX, XLS/XLSX, WPS, ZIP …) the page links."""
    if page is None:
        return []
    return [{"url": a.url, "text": a.text, "kind": a.kind} for a in page.extracted.attachments]


def _print_article(record: dict[str, Any]) -> None:
    rows = [
        ("title", record["title"]),
        ("url", record["url"]),
        ("published_at", f"{record['published_at']} ({record['date_source']})" if record["published_at"] else None),
        ("author", record["author"]),
        ("attribution", record["attribution"]),
    ]
    if record["final_url"] != record["url"]:
        rows.insert(2, ("read from", record["final_url"]))
    for key, value in rows:
        click.echo(f"{key:<13}{value if value not in (None, '') else '-'}")
    for attachment in record["attachments"]:
        click.echo(
            f"{'attachment':<13}{attachment['url']} ({attachment['kind'] or '?'}) {attachment['text'] or ''}".rstrip()
        )
    for warning in record.get("warnings", ()):
        click.echo(f"warning: {warning}", err=True)
    click.echo("")
    click.echo(record["body"] or "(no body text)")


@main.group()
def sources() -> None:
    """Inspect the configured sources."""


@sources.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
@_guard
def sources_list(obj: _Ctx, as_json: bool) -> None:
    """Every source with its health, last success, last error and next due time."""
    from news_harvester.daemon import open_repository
    from news_harvester.health import source_report
    from news_harvester.pipeline import utc_now

    config = obj.sources()
    rows = source_report(config, open_repository(obj.settings()), utc_now())
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    _print_table(
        ["id", "name", "kind", "on", "health", "fails", "last success", "next due", "last error"],
        [
            [
                r["id"],
                r["name"],
                r["kind"],
                "yes" if r["enabled"] else "no",
                r["health"],
                r["consecutive_failures"],
                _short(r["last_success_at"]),
                _short(r["next_due_at"]),
                f"{r['last_error_code']}: {r['last_error_message']}"[:70] if r["last_error_code"] else "",
            ]
            for r in rows
        ],
    )


@sources.command("check")
@click.pass_obj
@_guard
def sources_check(obj: _Ctx) -> None:
    """Validate sources.yaml; exit 2 with file, line, source, field and hint when invalid."""
    config = obj.sources()
    click.echo(f"{config.path}: {len(config.sources)} sources valid ({len(config.enabled)} enabled)")


@sources.command("test")
@click.argument("source_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@_guard
def sources_test(obj: _Ctx, source_id: str, as_json: bool) -> None:
    """Fetch a source now and print what a harvest would take; stores nothing."""
    spec = obj.source(source_id)
    preview = asyncio.run(_preview(obj.settings(), spec))
    items = [{"title": i.title, "url": i.url, "published_at": _iso(i.published, spec)} for i in preview.items]
    article = _preview_article(preview.article, preview, spec)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "source": spec.id,
                    "url": spec.url,
                    "read_from": preview.listing.fetched.final_url,
                    "pages": preview.listing.pages,
                    "items_seen": len(preview.listing.items),
                    "items": items,
                    "article": article,
                    "warnings": preview.warnings,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    pages = f", {preview.listing.pages} pages" if preview.listing.pages > 1 else ""
    click.echo(f"{spec.id}: {len(items)} items from {preview.listing.fetched.final_url}{pages}")
    _print_table(
        ["published", "title", "url"],
        [[_short(_iso(i.published, spec)), i.title[:50], i.url] for i in preview.items],
    )
    for warning in preview.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo("")
    if article is None:
        click.echo("first article: none could be read (see the warnings)")
        return
    click.echo("first article:")
    _print_article(article)


async def _preview(settings: Settings, spec: SourceSpec) -> Preview:
    from news_harvester.daemon import fetch_policy
    from news_harvester.fetch import Fetcher
    from news_harvester.pipeline import utc_now
    from news_harvester.reader import Reader, preview_source

    fetcher = Fetcher(fetch_policy(settings))
    try:
        return await preview_source(Reader(fetcher), spec, utc_now())
    finally:
        await fetcher.aclose()


def _preview_article(article: Article | None, preview: Preview, spec: SourceSpec) -> dict[str, Any] | None:
    """The article as a harvest would store it (list title, source name as default attribution)."""
    if article is None:
        return None
    return {
        "url": article.url,
        "final_url": preview.page.url if preview.page else article.url,
        "title": article.title,
        "published_at": _iso(article.published_at, spec),
        "date_source": article.date_origin,
        "author": article.author,
        "attribution": article.attribution,
        "body": article.body_text,
        "attachments": _attachments(preview.page),
    }


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_obj
@_guard
def db_upgrade(obj: _Ctx) -> None:
    """Apply database migrations up to the latest revision."""
    from news_harvester.daemon import open_repository

    settings = obj.settings()
    open_repository(settings)
    click.echo(f"database is up to date ({settings.resolved_database_url.split('://')[0]})")


@main.group()
def articles() -> None:
    """Inspect harvested articles."""


@articles.command("list")
@click.option("--source", "source_id", metavar="ID", help="Only articles of this source.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON array of objects.")
@click.pass_obj
@_guard
def articles_list(obj: _Ctx, source_id: str | None, limit: int, as_json: bool) -> None:
    """Newest articles first."""
    from news_harvester.daemon import open_repository

    rows = open_repository(obj.settings()).list_articles(source_id=source_id, limit=limit)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "url": r.url,
                        "title": r.title,
                        "source": r.source_id,
                        "published_at": r.published_at.isoformat() if r.published_at else None,
                        "attribution": r.attribution,
                        "author": r.author,
                        "fetched_at": r.fetched_at.isoformat(),
                        "date_origin": r.date_origin,
                        "language": r.language,
                        "state": r.candidate_state,
                        "summary": r.summary,
                    }
                    for r in rows
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    _print_table(
        ["published", "source", "title"],
        [[_short(r.published_at.isoformat() if r.published_at else None), r.source_id, r.title[:60]] for r in rows],
    )


def _short(iso: str | None) -> str:
    return iso[:16].replace("T", " ") if iso else "-"


def _print_table(headers: list[str], rows: list[list[Any]]) -> None:
    """Plain aligned columns; width counts CJK characters as two cells."""
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        click.echo("  ".join(c + " " * (w - _width(c)) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            click.echo("  ".join("-" * w for w in widths))


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# command groups live in their own modules; importing them registers them on ``main``
from news_harvester import cli_admin, cli_issues, cli_ops, cli_stories, cli_users  # noqa: E402, F401
