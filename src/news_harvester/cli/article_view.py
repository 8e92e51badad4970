"""How the CLI shows one article (``extract``, ``sources test``, ``sources discover``): shared by the command
modules, which never import each other."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from news_harvester.cli.common import iso_in_zone
from news_harvester.config import SourceSpec

if TYPE_CHECKING:
    from news_harvester.harvest.read import ArticlePage, Preview
    from news_harvester.models import Article


def attachments_of(page: ArticlePage | None) -> list[dict[str, Any]]:
    """``{url, text, kind}`` per attachment (PDF, DOC/DOCX, XLS/XLSX, WPS, ZIP …) the page links."""
    if page is None:
        return []
    return [{"url": a.url, "text": a.text, "kind": a.kind} for a in page.extracted.attachments]


def print_article(record: dict[str, Any]) -> None:
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


def preview_article(article: Article | None, preview: Preview, spec: SourceSpec) -> dict[str, Any] | None:
    """The article as a harvest would store it (list title, source name as default attribution)."""
    if article is None:
        return None
    return {
        "url": article.url,
        "final_url": preview.page.url if preview.page else article.url,
        "title": article.title,
        "published_at": iso_in_zone(article.published_at, spec),
        "date_source": article.date_origin,
        "author": article.author,
        "attribution": article.attribution,
        "body": article.body_text,
        "attachments": attachments_of(preview.page),
    }
