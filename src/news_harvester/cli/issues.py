"""CLI for issues of the brief: ``issue new|list|show|add|export|publish|reopen`` (registered by cli.py).

For scripting and automation; the web app's assembly screen does the same through the same functions.

Output lines and ``--json`` shapes are what scripts read, so they stay as they are; notes go to stderr. An issue
without items is neither published nor exported unless ``--allow-empty`` says so (exit 1 with one error line):
an empty brief sent out, or an empty file mailed on, is a mistake far more often than a wish.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from news_harvester.cli.common import CliContext, fail, guard, print_table

CLI_USER = "cli"


def _repo(obj: CliContext) -> Any:
    from news_harvester.wiring import open_repository

    return open_repository(obj.settings())


@click.group()
def issue() -> None:
    """Issues of the brief: numbering, items, export, publishing."""


@issue.command("new")
@click.option("--year", type=click.IntRange(2000, 2100), help="Default: proposed from the last issue.")
@click.option("--number", type=click.IntRange(1, 999), help="Number within the year (default: next).")
@click.option("--total", "total_number", type=click.IntRange(1, 100_000), help="Running total (default: next).")
@click.option("--date", "issue_date", type=click.DateTime(["%Y-%m-%d"]), help="Issue date (default: today).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@guard
def issue_new(
    obj: CliContext,
    year: int | None,
    number: int | None,
    total_number: int | None,
    issue_date: datetime | None,
    as_json: bool,
) -> None:
    """Open a new draft issue; numbers are proposed from the last issue unless given."""
    from news_harvester.editorial import issues

    repository = _repo(obj)
    issue_id = issues.new_issue(
        repository,
        obj.settings(),
        user=CLI_USER,
        now=datetime.now(UTC),
        year=year,
        number=number,
        total_number=total_number,
        issue_date=issue_date.date() if issue_date else None,
    )
    record = repository.get_issue(issue_id).to_json(with_items=False)
    click.echo(json.dumps(record, ensure_ascii=False, indent=2) if as_json else f"#{issue_id} {_label(record)}（草稿）")
    current = repository.current_draft_id()
    if current is not None and current != issue_id:
        click.echo(
            f"note: the current draft (the assembly screen, `issue add` without --issue) stays #{current}, "
            f"{repository.get_issue(current).label}; add to this one with --issue {issue_id}",
            err=True,
        )


def _label(record: dict[str, Any]) -> str:
    total = f"（总第 {record['total_number']} 期）" if record.get("total_number") else ""
    return f"{record['year']} 年第 {record['number']} 期{total}"


@issue.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@guard
def issue_list(obj: CliContext, as_json: bool) -> None:
    """Issues, newest first, with their status and item count."""
    rows = _repo(obj).list_issues()
    if as_json:
        click.echo(
            json.dumps(
                [r.to_json(with_items=False) | {"items": getattr(r, "item_count", 0)} for r in rows],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    print_table(
        ["id", "issue", "date", "status", "items"],
        [
            [r.id, r.label, r.issue_date.isoformat() if r.issue_date else "-", r.status, getattr(r, "item_count", 0)]
            for r in rows
        ],
    )


@issue.command("show")
@click.argument("issue_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@guard
def issue_show(obj: CliContext, issue_id: int, as_json: bool) -> None:
    """One issue with its sections and items (and house-style warnings)."""
    from news_harvester.editorial import issues

    settings = obj.settings()
    row = _repo(obj).get_issue(issue_id)
    record = row.to_json()
    for item in record["items"]:
        if item["story_id"] is not None:
            item["style"] = issues.check_item(settings, item["title"], item["text"], item["attribution"])
    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    click.echo(f"#{row.id} {row.title} {row.label} {row.status}")
    for section in record["sections"]:
        click.echo(f"【{section['name']}】 {section['count']}/{section['target']}")
        for item in (i for i in record["items"] if i["section"] == section["name"]):
            flags = " ".join(p["code"] for p in item.get("style", []))
            click.echo(f"  {item['position']}. [{item['id']}] {item['title']}" + (f"  ⚠ {flags}" if flags else ""))


@issue.command("add")
@click.argument("story_id", type=int)
@click.option("--section", default="行业资讯", show_default=True)
@click.option("--issue", "issue_id", type=int, help="Issue id (default: the current draft, opened if none).")
@click.pass_obj
@guard
def issue_add(obj: CliContext, story_id: int, section: str, issue_id: int | None) -> None:
    """Accept a story into the draft, drafting its summary in house style."""
    from news_harvester.editorial import issues
    from news_harvester.editorial.story_actions import DraftChange, act_on_story
    from news_harvester.wiring import story_service

    settings = obj.settings()
    repository = _repo(obj)
    now = datetime.now(UTC)
    target = issue_id or issues.current_draft(repository, settings, user=CLI_USER, now=now)
    if repository.candidate_state(story_id).state != "accepted":
        # the review app's accept: the same use case, filing into the chosen issue
        service = story_service(settings, obj.sources(), repository, load_index=False)
        outcome = act_on_story(
            repository,
            settings,
            obj.sources(),
            service,
            story_id,
            "accept",
            user=CLI_USER,
            now=now,
            section=section,
            issue_id=target,
        )
        if outcome.draft.change is DraftChange.NOT_FILED:
            fail(f"story #{story_id} was accepted but not filed in issue #{target}: {outcome.draft.problem}")
        item_id = outcome.draft.item_id
        if item_id is None:  # it was in the issue already (another editor filed it a moment ago)
            found = repository.item_for_story(target, story_id)
            assert found is not None  # FILED without a new item means the issue holds it
            item_id = found.id
    else:
        item_id = issues.add_story(
            repository, settings, obj.sources(), story_id, user=CLI_USER, now=now, section=section, issue_id=target
        )
    item = repository.get_item(item_id)
    click.echo(f"added story #{story_id} to issue #{target} as item {item_id} in {section}")
    for warning in item.warnings:
        click.echo(f"  ⚠ {warning['code']}: {warning['message']}", err=True)


@issue.command("export")
@click.argument("issue_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["docx", "md", "html", "pdf"]), required=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--allow-empty", is_flag=True, help="Export an issue that has no items (refused otherwise).")
@click.pass_obj
@guard
def issue_export(obj: CliContext, issue_id: int, fmt: str, output: Path, allow_empty: bool) -> None:
    """Write the issue as DOCX, Markdown, self-contained HTML, or PDF (needs LibreOffice)."""
    from news_harvester.editorial import figures_report, issues
    from news_harvester.editorial.export import ExportError

    row = _repo(obj).get_issue(issue_id)
    problem = issues.empty_problem(row)
    if problem is not None and not allow_empty:
        fail(f"{problem}; nothing exported (--allow-empty writes the empty masthead anyway)")
    try:
        data = issues.export(row, fmt, obj.settings(), figures_report.item_charts(_repo(obj), row))
    except ExportError as exc:
        fail(str(exc))
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    click.echo(f"wrote {output} ({len(data):,} bytes)")


@issue.command("publish")
@click.argument("issue_id", type=int)
@click.option("--allow-empty", is_flag=True, help="Publish an issue that has no items (refused otherwise).")
@click.pass_obj
@guard
def issue_publish(obj: CliContext, issue_id: int, allow_empty: bool) -> None:
    """Lock the issue, mark its stories used (never queued again) and open the next draft (numbered after the
    highest number used; drafts left with lower numbers are renumbered after this issue, as stderr notes)."""
    from news_harvester.editorial import issues
    from news_harvester.store.issues_store import EmptyIssue
    from news_harvester.wiring import story_service

    settings = obj.settings()
    repository = _repo(obj)
    now = datetime.now(UTC)
    service = story_service(settings, obj.sources(), repository, load_index=False)
    try:
        outcome = issues.publish(
            repository, settings, service, issue_id, user=CLI_USER, now=now, allow_empty=allow_empty
        )
    except EmptyIssue:
        fail(f"issue #{issue_id} has no items; refusing to publish an empty issue (--allow-empty publishes it anyway)")
        return
    click.echo(f"published issue #{issue_id}; next draft is #{outcome.next_draft}")
    for moved in outcome.renumbered:
        click.echo(
            f"note: draft #{moved.issue_id} renumbered from {moved.before.label} to {moved.after.label} "
            "(issue numbers never go backwards)",
            err=True,
        )


@issue.command("reopen")
@click.argument("issue_id", type=int)
@click.option("--reason", required=True, help="Why a published issue is changed (kept in the audit log).")
@click.pass_obj
@guard
def issue_reopen(obj: CliContext, issue_id: int, reason: str) -> None:
    """Make a published issue editable again (audited)."""
    from news_harvester.editorial import issues

    issues.reopen(_repo(obj), issue_id, reason=reason, user=CLI_USER, now=datetime.now(UTC))
    click.echo(f"issue #{issue_id} is a draft again")


COMMANDS = (issue,)
