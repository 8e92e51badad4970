"""Articles from the command line: ``extract`` (one page, stored nowhere) and ``articles list``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from news_harvester.cli.article_view import attachments_of, print_article
from news_harvester.cli.common import CliContext, fail, guard, iso_in_zone, print_table
from news_harvester.clock import EDITOR_ZONE_LABEL, editor_time
from news_harvester.config import Settings, SourceSpec

if TYPE_CHECKING:
    from news_harvester.harvest.read import ArticlePage


@click.command()
@click.argument("target", metavar="PATH_OR_URL")
@click.option(
    "--source", "source_id", metavar="ID", help="Read it as this source does (zone, encoding, headers, selectors)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@guard
def extract(obj: CliContext, target: str, source_id: str | None, as_json: bool) -> None:
    """Extract one article from a saved page or a URL and print it; stores nothing."""
    from news_harvester.harvest.read import read_article_file

    is_url = target.startswith(("http://", "https://"))
    spec = obj.source(source_id) if source_id else _adhoc_spec(target if is_url else None)
    if is_url:
        page = asyncio.run(_read_url(obj.settings(), spec, target))
    else:
        path = Path(target)
        if not path.is_file():
            fail(f"no such file: {target} (give a saved page or an http(s) URL)")
        page = read_article_file(path.read_bytes(), path.resolve().as_uri(), spec)
    extracted = page.extracted
    record = {
        "url": target if is_url else page.url,
        "final_url": page.url,
        "title": extracted.title,
        "published_at": iso_in_zone(extracted.published_at, spec),
        "date_source": extracted.date_origin,
        "author": extracted.author,
        "attribution": extracted.attribution,
        "body": page.body_text,
        "attachments": attachments_of(page),
        "charset": page.fetched.charset_used,
        "warnings": list(page.warnings),
    }
    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    print_article(record)


async def _read_url(settings: Settings, spec: SourceSpec, url: str) -> ArticlePage:
    from news_harvester.harvest.fetch import Fetcher
    from news_harvester.harvest.read import Reader
    from news_harvester.wiring import fetch_policy

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


@click.group()
def articles() -> None:
    """Inspect harvested articles."""


@articles.command("list")
@click.option("--source", "source_id", metavar="ID", help="Only articles of this source.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON array of objects.")
@click.pass_obj
@guard
def articles_list(obj: CliContext, source_id: str | None, limit: int, as_json: bool) -> None:
    """Newest articles first."""
    from news_harvester.wiring import open_repository

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
    print_table(
        [f"published ({EDITOR_ZONE_LABEL})", "source", "title"],
        [[editor_time(r.published_at, empty="-"), r.source_id, r.title[:60]] for r in rows],
    )


COMMANDS = (extract, articles)
