"""``sources discover URL``: how to follow a page, as a ready sources.yaml entry (registered on the ``sources``
group by news_harvester.cli.sources). Prints what reading it would take; ``--save`` appends the entry."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import click

from news_harvester.cli.article_view import preview_article, print_article
from news_harvester.cli.common import CliContext, guard, iso_in_zone, print_table
from news_harvester.clock import EDITOR_ZONE_LABEL, editor_time
from news_harvester.config import Settings, SourceSpec
from news_harvester.errors import HarvesterError
from news_harvester.sources.entry_form import yaml_text

if TYPE_CHECKING:
    from news_harvester.sources.discover import Discovery


@click.command("discover")
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--save", is_flag=True, help="Append the entry to sources.yaml (validated, comments kept).")
@click.option("--id", "source_id", help="Use this id instead of the suggested one.")
@click.option("--name", help="Use this name instead of the site's own.")
@click.pass_obj
@guard
def discover(obj: CliContext, url: str, as_json: bool, save: bool, source_id: str | None, name: str | None) -> None:
    """Find the best way to follow URL (a feed it links, the JSON behind it, or the page as a list) and print a
    ready source entry, the items it yields and one article read end to end. Stores nothing unless --save."""
    from news_harvester.sources.admin import add_source, file_defaults

    path = obj.settings().sources
    taken = _taken_ids(obj)
    found = asyncio.run(_discover(obj.settings(), url, taken))
    entry = dict(found.entry)
    if source_id:
        entry["id"] = source_id
    if name:
        entry["name"] = name
    try:
        defaults = file_defaults(path)
    except HarvesterError:
        defaults = {}
    spec = SourceSpec(**{k: v for k, v in defaults.items() if k in SourceSpec.model_fields} | entry)
    if as_json:
        click.echo(json.dumps(discovery_json(found, entry, spec), ensure_ascii=False, indent=2))
    else:
        _print(found, entry, spec)
    if save:
        add_source(path, entry)
        click.echo(f"added source {entry['id']!r} to {path}", err=as_json)


def _taken_ids(obj: CliContext) -> set[str]:
    try:
        return {spec.id for spec in obj.sources().sources}
    except HarvesterError:  # an unreadable sources.yaml is reported by --save; the suggestion only avoids clashes
        return set()


async def _discover(settings: Settings, url: str, taken: set[str]) -> Discovery:
    from news_harvester.clock import utc_now
    from news_harvester.harvest.fetch import Fetcher
    from news_harvester.sources.discover import discover as run_discovery
    from news_harvester.wiring import fetch_policy

    fetcher = Fetcher(fetch_policy(settings))
    try:
        return await run_discovery(url, fetcher, now=utc_now(), taken_ids=taken)
    finally:
        await fetcher.aclose()


def discovery_json(found: Discovery, entry: dict[str, Any], spec: SourceSpec) -> dict[str, Any]:
    preview = found.preview
    return {
        "url": found.url,
        "kind": entry["kind"],
        "confidence": round(found.confidence, 2),
        "entry": entry,
        "read_from": preview.listing.fetched.final_url,
        "items": [
            {"title": i.title, "url": i.url, "published_at": iso_in_zone(i.published, spec)} for i in preview.items
        ],
        "article": preview_article(preview.article, preview, spec),
        "reasons": [{"code": r.code, "text": r.en, "zh": r.zh} for r in found.reasons],
        "tried": [{"code": r.code, "text": r.en, "zh": r.zh} for r in found.tried],
        "warnings": preview.warnings,
    }


def _print(found: Discovery, entry: dict[str, Any], spec: SourceSpec) -> None:
    preview = found.preview
    click.echo(f"{found.url}: follow as {entry['kind']} (confidence {found.confidence:.2f})")
    for reason in found.reasons:
        click.echo(f"  - {reason.en}")
    for reason in found.tried:
        click.echo(f"  tried: {reason.en}")
    click.echo("\nentry for sources.yaml:")
    click.echo(yaml_text([entry]), nl=False)
    click.echo(f"\n{len(preview.items)} items from {preview.listing.fetched.final_url}")
    print_table(
        [f"published ({EDITOR_ZONE_LABEL})", "title", "url"],
        [[editor_time(i.published, empty="-"), i.title[:50], i.url] for i in preview.items[:20]],
    )
    for warning in preview.warnings:
        click.echo(f"warning: {warning}", err=True)
    article = preview_article(preview.article, preview, spec)
    if article is None:
        click.echo("\nfirst article: none could be read (see the warnings)")
        return
    click.echo("\nfirst article:")
    print_article(article)
