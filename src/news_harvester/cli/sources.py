"""Source administration from the command line: ``sources add|edit|enable|disable|remove`` and
``sources import-opml|export-opml``, registered on the ``sources`` group of news_harvester.cli.main.

Every change goes through news_harvester.sources.admin: sources.yaml keeps its comments and order, the
whole file is validated before it is written (atomically, with a backup in ``backups/`` beside it),
and a running daemon picks the edit up like a hand edit. Invalid values exit 2 naming the field.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from news_harvester.cli.article_view import preview_article, print_article
from news_harvester.cli.common import EXIT_ERROR, CliContext, fail, guard, iso_in_zone, print_table
from news_harvester.cli.source_discovery import discover
from news_harvester.clock import EDITOR_ZONE_LABEL, editor_time
from news_harvester.config import Settings, SourceSpec, load_sources
from news_harvester.errors import ConfigError, HarvesterError

if TYPE_CHECKING:
    from news_harvester.harvest.read import Preview


@click.group()
def sources() -> None:
    """Inspect the configured sources."""


@sources.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
@guard
def sources_list(obj: CliContext, as_json: bool) -> None:
    """Every source with its health, last success, last error and next due time."""
    from news_harvester.clock import utc_now
    from news_harvester.sources.health import source_report
    from news_harvester.store.runs_store import RunQueries
    from news_harvester.wiring import open_queries

    config = obj.sources()
    runs = open_queries(obj.settings(), RunQueries)
    try:
        rows = source_report(config, runs, utc_now())
    finally:
        runs.engine.dispose()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    print_table(
        [
            "id",
            "name",
            "kind",
            "on",
            "health",
            "fails",
            f"last success ({EDITOR_ZONE_LABEL})",
            f"next due ({EDITOR_ZONE_LABEL})",
            "last error",
        ],
        [
            [
                r["id"],
                r["name"],
                r["kind"],
                "yes" if r["enabled"] else "no",
                r["health"],
                r["consecutive_failures"],
                editor_time(r["last_success_at"], empty="-"),
                editor_time(r["next_due_at"], empty="-"),
                f"{r['last_error_code']}: {r['last_error_message']}"[:70] if r["last_error_code"] else "",
            ]
            for r in rows
        ],
    )


@sources.command("check")
@click.pass_obj
@guard
def sources_check(obj: CliContext) -> None:
    """Validate sources.yaml; exit 2 with file, line, source, field and hint when invalid."""
    config = obj.sources()
    click.echo(f"{config.path}: {len(config.sources)} sources valid ({len(config.enabled)} enabled)")


@sources.command("test")
@click.argument("source_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@guard
def sources_test(obj: CliContext, source_id: str, as_json: bool) -> None:
    """Fetch a source now and print what a harvest would take; stores nothing."""
    spec = obj.source(source_id)
    preview = asyncio.run(_preview(obj.settings(), spec))
    items = [{"title": i.title, "url": i.url, "published_at": iso_in_zone(i.published, spec)} for i in preview.items]
    article = preview_article(preview.article, preview, spec)
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
    print_table(
        [f"published ({EDITOR_ZONE_LABEL})", "title", "url"],
        [[editor_time(i.published, empty="-"), i.title[:50], i.url] for i in preview.items],
    )
    for warning in preview.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo("")
    if article is None:
        click.echo("first article: none could be read (see the warnings)")
        return
    click.echo("first article:")
    print_article(article)


async def _preview(settings: Settings, spec: SourceSpec) -> Preview:
    from news_harvester.clock import utc_now
    from news_harvester.harvest.fetch import Fetcher
    from news_harvester.harvest.read import Reader, preview_source
    from news_harvester.wiring import fetch_policy

    fetcher = Fetcher(fetch_policy(settings))
    try:
        return await preview_source(Reader(fetcher), spec, utc_now())
    finally:
        await fetcher.aclose()


_KINDS = ("feed", "html", "json")


# --------------------------------------------------------------------------- values from the command line


def _scalar(text: str) -> Any:
    """``--set`` values are read as YAML (``8`` → 8, ``false`` → False, ``[a, b]`` → a list); text
    that YAML would read as a mapping or cannot read (``a: b``, ``#x``) stays text."""
    if text.strip() == "":
        return ""
    try:
        value = YAML(typ="safe", pure=True).load(text)
    except YAMLError:
        return text
    if isinstance(value, dict) and not text.lstrip().startswith("{"):
        return text
    if value is None and text.strip() not in ("null", "~", "Null", "NULL"):
        return text
    return value


def _assignments(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``key=value`` pairs (dotted keys for nested fields) as ``{"key": value}``."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise click.BadParameter(f"{pair!r}: expected KEY=VALUE, e.g. schedule=30m or selectors.item='ul li'")
        out[key] = _scalar(value)
    return out


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"selectors.item": x}`` → ``{"selectors": {"item": x}}`` (for a new entry)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, last = key.split(".")
        node = out
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise click.BadParameter(f"{key}: {part} is set to a value and cannot also hold {key}")
            node = child
        node[last] = value
    return out


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _path(obj: CliContext) -> Path:
    return obj.settings().sources


def _reload_note(obj: CliContext) -> str:
    return f"a running daemon picks it up within {obj.settings().reload_interval:g}s"


# --------------------------------------------------------------------------- add / edit / enable / disable / remove


@sources.command("add")
@click.option("--id", "source_id", required=True, help="Stable id: lower-case letters, digits, '.', '_', '-'.")
@click.option("--name", required=True, help="Display name printed as the attribution.")
@click.option("--kind", required=True, type=click.Choice(_KINDS), help="feed (RSS/Atom), html (list page), json.")
@click.option("--url", required=True, help="Absolute http(s) URL of the feed or list page.")
@click.option("--schedule", help="Interval (30m, 2h, 1d) or a 5-field cron expression.")
@click.option("--weight", type=float, help="Authority 0–100 for ranking.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Any field; dotted for nested ones.")
@click.option("--disabled", is_flag=True, help="Add it disabled (listed, not scheduled).")
@click.option("--test", "test_first", is_flag=True, help="Fetch it first, as `sources test` does; refuse 0 items.")
@click.option("--force", is_flag=True, help="With --test: save even when the test fails or finds no items.")
@click.pass_obj
@guard
def sources_add(
    obj: CliContext,
    source_id: str,
    name: str,
    kind: str,
    url: str,
    schedule: str | None,
    weight: float | None,
    assignments: tuple[str, ...],
    disabled: bool,
    test_first: bool,
    force: bool,
) -> None:
    """Add a source at the end of sources.yaml (validated first; comments and order kept)."""
    from news_harvester.sources.admin import add_source, check_source

    entry: dict[str, Any] = {"id": source_id, "name": name, "kind": kind, "url": url}
    if schedule is not None:
        entry["schedule"] = schedule
    if weight is not None:
        entry["weight"] = _number(weight)
    if disabled:
        entry["enabled"] = False
    extra = _nest(_assignments(assignments))
    clash = sorted(set(extra) & set(entry))
    if clash:
        raise click.BadParameter(f"{clash[0]} is given twice (as an option and with --set)")
    entry.update(extra)
    path = _path(obj)
    spec = check_source(path, entry)
    if test_first:
        _test_before_saving(obj, spec, force)
    add_source(path, entry)
    state = "" if spec.enabled else " (disabled)"
    click.echo(f"added source {spec.id!r}{state} to {path}; {_reload_note(obj)}")


def _test_before_saving(obj: CliContext, spec: SourceSpec, force: bool) -> None:
    """Fetch the source like ``sources test``; without --force, stop unless it yields items."""
    try:
        preview = asyncio.run(_preview(obj.settings(), spec))
    except ConfigError:
        raise
    except HarvesterError as exc:
        problem = f"{exc.message} [{exc.code}]"
        if not force:
            fail(
                f"not saved: test of {spec.id!r} failed: {problem}\n"
                "  hint: fix the source, or add --force to save it anyway"
            )
        click.echo(f"warning: test of {spec.id!r} failed: {problem}; saving anyway (--force)", err=True)
        return
    for warning in preview.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"test: {len(preview.items)} items from {preview.listing.fetched.final_url}")
    for item in preview.items[:5]:
        click.echo(f"  {(iso_in_zone(item.published, spec) or '-')[:16].replace('T', ' ')}  {item.title[:60]}")
    if not preview.items:
        if not force:
            fail(f"not saved: test of {spec.id!r} yielded 0 items\n  hint: check the URL and selectors, or add --force")
        click.echo(f"warning: test of {spec.id!r} yielded 0 items; saving anyway (--force)", err=True)


@sources.command("edit")
@click.argument("source_id", metavar="ID")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="New value; dotted for nested fields.")
@click.option("--unset", "removals", multiple=True, metavar="KEY", help="Remove the field (back to its default).")
@click.pass_obj
@guard
def sources_edit(obj: CliContext, source_id: str, assignments: tuple[str, ...], removals: tuple[str, ...]) -> None:
    """Change fields of one source in place (its comments and key order are kept)."""
    from news_harvester.sources.admin import update_source

    changes = _assignments(assignments)
    for key in removals:
        key = key.strip()
        if not key or any(not part for part in key.split(".")):
            raise click.BadParameter(f"{key!r}: expected a field name such as encoding or selectors.date")
        if key in changes:
            raise click.BadParameter(f"{key} is both set and unset")
        changes[key] = None
    if not changes:
        raise click.UsageError("nothing to change: give --set KEY=VALUE or --unset KEY")
    path = _path(obj)
    update_source(path, source_id, changes)
    click.echo(f"updated source {source_id!r} ({', '.join(changes)}) in {path}; {_reload_note(obj)}")


@sources.command("enable")
@click.argument("source_id", metavar="ID")
@click.pass_obj
@guard
def sources_enable(obj: CliContext, source_id: str) -> None:
    """Schedule a disabled source again."""
    from news_harvester.sources.admin import set_enabled

    set_enabled(_path(obj), source_id, True)
    click.echo(f"enabled source {source_id!r}; {_reload_note(obj)}")


@sources.command("disable")
@click.argument("source_id", metavar="ID")
@click.pass_obj
@guard
def sources_disable(obj: CliContext, source_id: str) -> None:
    """Stop scheduling a source; it stays in sources.yaml."""
    from news_harvester.sources.admin import set_enabled

    set_enabled(_path(obj), source_id, False)
    click.echo(f"disabled source {source_id!r}; {_reload_note(obj)}")


@sources.command("remove")
@click.argument("source_id", metavar="ID")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
@guard
def sources_remove(obj: CliContext, source_id: str, yes: bool) -> None:
    """Remove a source (and the comment lines directly above it) from sources.yaml."""
    from news_harvester.sources.admin import remove_source, source_entry

    path = _path(obj)
    entry = source_entry(path, source_id)
    if not yes:
        click.confirm(
            f"Remove source {source_id!r} ({entry.get('name')}, {entry.get('url')}) from {path}?",
            abort=True,
            err=True,
        )
    remove_source(path, source_id)
    click.echo(f"removed source {source_id!r} from {path} (backup in {path.parent / 'backups'}); {_reload_note(obj)}")


# --------------------------------------------------------------------------- OPML


@sources.command("import-opml")
@click.argument("file", metavar="FILE", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would be imported; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@guard
def sources_import_opml(obj: CliContext, file: Path, dry_run: bool, as_json: bool) -> None:
    """Add the feeds of an OPML file (valid outlines imported, broken ones listed, known URLs skipped)."""
    from news_harvester.sources.admin import add_sources, file_defaults
    from news_harvester.sources.opml import parse_opml, plan_import

    if str(file) == "-":
        raw = sys.stdin.buffer.read()
    else:
        try:
            raw = file.read_bytes()
        except OSError as exc:
            fail(f"cannot read {file}: {exc.strerror}")
    entries, problems = parse_opml(raw)
    path = _path(obj)
    config = load_sources(path)
    plan = plan_import(entries, config.sources, file_defaults(path))
    if plan.add and not dry_run:
        add_sources(path, plan.add)
    refused = [*problems, *plan.refused]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "file": str(file),
                    "sources": str(path),
                    "dry_run": dry_run,
                    "imported": [
                        {k: e.get(k) for k in ("id", "name", "kind", "url", "topics") if k in e} for e in plan.add
                    ],
                    "skipped": [
                        {"name": s.entry.get("name"), "url": s.entry.get("url"), "reason": s.reason}
                        for s in plan.skipped
                    ],
                    "refused": [{"line": p.line, "title": p.title, "url": p.url, "reason": p.reason} for p in refused],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        verb = "would import" if dry_run else "imported"
        click.echo(
            f"{file}: {verb} {len(plan.add)}, skipped {len(plan.skipped)} (already configured), refused {len(refused)}"
        )
        rows = [[verb, e["id"], str(e.get("name", ""))[:30], e["url"]] for e in plan.add]
        rows += [
            ["skipped", s.existing_id, str(s.entry.get("name", ""))[:30], s.entry.get("url", "")] for s in plan.skipped
        ]
        if rows:
            print_table(["result", "id", "name", "url"], rows)
        for problem in refused:
            click.echo(f"refused: {problem}", err=True)
        if plan.add and not dry_run:
            click.echo(f"written to {path}; {_reload_note(obj)}")
    if refused:
        sys.exit(EXIT_ERROR)


@sources.command("export-opml")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout.")
@click.pass_obj
@guard
def sources_export_opml(obj: CliContext, output: Path | None) -> None:
    """Every source as OPML: feeds for any reader, all settings in nh: attributes for a round trip."""
    from news_harvester.sources.opml import to_opml

    config = obj.sources()
    text = to_opml(config.sources)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}")
    click.echo(f"exported {len(config.sources)} sources to {output}", err=True)


sources.add_command(discover)

COMMANDS = (sources,)
