"""CLI for the monthly figures behind the 【数据月报】: ``figures import|list|draft`` (registered by cli.main).

``import`` refuses the whole file when any row is bad (each bad row on stderr with its row number and reason,
exit 1): figures imported half would draft a report with holes. ``draft`` prints the report; its warnings (a rate
left out for want of prior-year figures) go to stderr, so stdout is the text to paste.
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
def figures() -> None:
    """Monthly figures for the 数据月报: import a table, list what is stored, draft the report."""


@figures.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@click.pass_obj
@guard
def figures_import(obj: CliContext, file: Path, as_json: bool) -> None:
    """Import FILE (CSV or XLSX: period, region, indicator, dimension, value, unit); a (period, region) already
    stored is replaced."""
    from news_harvester.editorial.figures_report import import_figures

    result = import_figures(_repo(obj), file.read_bytes(), file_name=file.name, user=CLI_USER, now=datetime.now(UTC))
    table = result.table
    if as_json:
        record = {
            "file": str(file),
            "rows": table.rows,
            "stored": result.stored,
            "figures": len(table.figures) if result.stored else 0,
            "sets": [
                {"period": r.period, "region": r.region, "before": r.before, "after": r.after} for r in result.replaced
            ],
            "problems": [{"row": p.row, "code": p.code, "message": p.message} for p in table.problems],
        }
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
    for problem in table.problems if not as_json else ():
        click.echo(f"error: {problem.message}", err=True)
    if not result.stored:
        if not as_json:
            click.echo(f"error: nothing imported from {file} ({len(table.problems)} problem(s))", err=True)
        raise SystemExit(1)
    if not as_json:
        for r in result.replaced:
            verb = f"replaced {r.before} figures with" if r.before else "stored"
            click.echo(f"{r.period} {r.region}: {verb} {r.after} figures")


@figures.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@guard
def figures_list(obj: CliContext, as_json: bool) -> None:
    """The stored (period, region) sets, newest period first."""
    sets = _repo(obj).figure_sets()
    if as_json:
        records = [
            {
                "period": s.period,
                "region": s.region,
                "figures": s.count,
                "imported_at": s.imported_at.isoformat(),
                "imported_by": s.imported_by,
            }
            for s in sets
        ]
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    print_table(
        ["period", "region", "figures", "imported", "by"],
        [[s.period, s.region, s.count, s.imported_at.isoformat()[:16].replace("T", " "), s.imported_by] for s in sets],
    )


@figures.command("draft")
@click.option("--period", required=True, help="The months, YYYY-MM..YYYY-MM (e.g. 2024-01..2024-05).")
@click.option("--region", required=True, help="e.g. 大连市")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@guard
def figures_draft(obj: CliContext, period: str, region: str, as_json: bool) -> None:
    """Draft the 数据月报 text of REGION for PERIOD from the stored figures (rates from the same months a year
    earlier). Figures of the current year open with 今年, others with their year."""
    from news_harvester.editorial.figures_report import draft
    from news_harvester.editorial.issues import editor_today

    report = draft(_repo(obj), period, region, this_year=editor_today(datetime.now(UTC)).year)
    if as_json:
        record = {
            "period": period,
            "region": region,
            "title": report.title,
            "paragraphs": list(report.paragraphs),
            "text": report.text,
            "warnings": [{"code": w.code, "message": w.english, "message_zh": w.message} for w in report.warnings],
        }
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
    else:
        click.echo(report.title)
        click.echo()
        click.echo(report.text)
    for warning in report.warnings:
        click.echo(f"warning: {warning.english}", err=True)
    if not report.paragraphs:
        fail("no paragraph could be written from the stored figures")


COMMANDS = (figures,)
