"""CLI commands over stories: ``ingest``, ``stories list|show`` and ``topics show|test|apply|train``.

Registered on the main group by news_harvester.cli.main. JSON shapes are part of the interface (scripts use them).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from news_harvester.cli.common import CliContext, fail, guard, print_table
from news_harvester.clock import EDITOR_ZONE_LABEL, editor_time
from news_harvester.errors import ConfigError
from news_harvester.stories.first_report import Report, first_report

INGEST_CHUNK = 200


@dataclass
class _StoryContext:
    repository: Any
    service: Any
    window_days: int


def _open(obj: CliContext, *, load_index: bool = False) -> _StoryContext:
    """Repository and a story service with the configured weights and classifier; ``load_index`` (the stored
    index checked for unindexed articles first) only for commands that assign articles to stories."""
    from news_harvester.wiring import open_repository, story_service

    settings = obj.settings()
    repository = open_repository(settings)
    service = story_service(settings, obj.sources(), repository, load_index=load_index)
    return _StoryContext(repository, service, settings.story_window_days)


# --------------------------------------------------------------------------- ingest


@click.command()
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.pass_obj
@guard
def ingest(obj: CliContext, file: Any, as_json: bool) -> None:
    """Feed already-extracted articles (JSON lines; FILE or - for stdin) through clean → dedupe → classify →
    queue. Keys: title, url, body, published_at, source (display name), optional weight. A bad line is
    reported and skipped; every good line is stored. Exit status 1 when any line was refused."""
    from news_harvester.harvest.ingest import IngestError, read_records

    ctx = _open(obj, load_index=True)
    now = datetime.now(UTC)
    by_name: dict[str, tuple[str, float]] = {}
    for spec in obj.sources().sources:
        by_name.setdefault(spec.name, (spec.id, spec.weight))
    totals: Counter[str] = Counter()
    errors: list[dict[str, object]] = []
    chunk: list[Any] = []

    def flush() -> None:
        if not chunk:
            return
        batch = ctx.service.begin(now)
        stored = ctx.repository.store_articles(chunk, batch, now)
        ctx.service.commit(batch, now)
        totals["new"] += len(stored)
        totals["already_stored"] += len({a.url for a in chunk}) - len(stored)
        for _url, _id, _story, layer in stored:
            totals["stories_new" if layer == "new" else "stories_joined"] += 1
        chunk.clear()

    for record in read_records(file, fetched_at=now, sources_by_name=by_name):
        totals["read"] += 1
        if isinstance(record, IngestError):
            errors.append(record.to_json())
            continue
        chunk.append(record)
        if len(chunk) >= INGEST_CHUNK:
            flush()
    flush()
    summary = {
        "read": totals["read"],
        "new": totals["new"],
        "already_stored": totals["already_stored"],
        "stories_new": totals["stories_new"],
        "stories_joined": totals["stories_joined"],
        "errors": errors,
    }
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        click.echo(
            f"read {summary['read']}, new {summary['new']} ({summary['stories_new']} new stories, "
            f"{summary['stories_joined']} joined existing ones), already stored {summary['already_stored']}, "
            f"refused {len(errors)}"
        )
        for error in errors[:50]:
            click.echo(f"  line {error['line']}: {error['error']}", err=True)
        if len(errors) > 50:
            click.echo(f"  … and {len(errors) - 50} more", err=True)
    if errors:
        sys.exit(1)


# --------------------------------------------------------------------------- stories


@click.group()
def stories() -> None:
    """Stories: clustered articles with topics and score (the review queue)."""


@stories.command("list")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--offset", default=0, type=click.IntRange(0))
@click.option("--topic", metavar="ID", help="Only stories of this topic id (see `topics show`).")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(["new", "shortlisted", "snoozed", "accepted", "rejected", "used"]),
    help="Only stories whose candidate is in this state (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON array of story objects with their members.")
@click.pass_obj
@guard
def stories_list(
    obj: CliContext, limit: int, offset: int, topic: str | None, states: tuple[str, ...], as_json: bool
) -> None:
    """Stories by score, best first."""
    from news_harvester.wiring import open_repository

    rows = open_repository(obj.settings()).list_stories(
        limit=limit, offset=offset, topic=topic, states=list(states) or None
    )
    if as_json:
        click.echo(json.dumps([r.to_json() for r in rows], ensure_ascii=False, indent=2))
        return
    print_table(
        ["id", "score", f"published ({EDITOR_ZONE_LABEL})", "outlets", "topics", "source", "title"],
        [
            [
                r.id,
                f"{r.score:.1f}" if r.score is not None else "-",
                editor_time(r.published_at, empty="-"),
                r.outlets,
                ",".join(t.id for t in r.topics) or "-",
                r.canonical_source or "-",
                r.title[:50],
            ]
            for r in rows
        ],
    )


@stories.command("show")
@click.argument("story_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@guard
def stories_show(obj: CliContext, story_id: int, as_json: bool) -> None:
    """One story: members, topics with the matched terms, score parts."""
    from news_harvester.wiring import open_repository

    rows = open_repository(obj.settings()).list_stories(story_ids=[story_id], limit=1)
    if not rows:
        fail(f"no story {story_id} (see `news-harvester stories list`)")
    story = rows[0]
    config = obj.sources()

    def weight(source_id: str) -> float:
        spec = config.get(source_id)
        return spec.weight if spec is not None else 1.0

    first = first_report((Report(m.article_id, m.source_id, m.published_at) for m in story.members), weight)
    record = story.to_json() | {
        "classification": story.classification,
        "score_facts": story.score_parts.get("facts"),
        "first_report_id": first,
    }
    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    click.echo(f"#{story.id} {story.title}")
    click.echo(f"  canonical: {story.canonical_url} ({story.attribution})")
    click.echo(f"  score {story.score}: " + ", ".join(f"{k} {v:+g}" for k, v in record["score_parts"].items()))
    explanation = story.classification or {}
    if explanation.get("brief_probability") is not None:
        grams = "、".join(g for g, _ in explanation.get("prior_terms") or [])
        click.echo(
            f"  belongs in the brief: P={explanation['brief_probability']}" + (f" (model: {grams})" if grams else "")
        )
    for t in explanation.get("scores", []):
        terms = ", ".join(m["term"] for m in t.get("matched", []))
        parts = [f"rules {t.get('rule_score')}"]
        if t.get("prior_score") is not None:
            parts.append(f"cold-start model {t['prior_score']}")
        if t.get("model_score") is not None:
            parts.append(f"editors' model {t['model_score']}")
        click.echo(f"  topic {t.get('topic') or t.get('topic_id')}: {t.get('confidence')} ({'; '.join(parts)}) {terms}")
    if story.follow_up_of:
        click.echo(f"  follow-up of story #{story.follow_up_of}")
    for m in story.members:
        role = "first report" if m.article_id == first else "reprint"
        matched = (
            f", matched by {m.layer}" + (f" {m.similarity:.2f}" if m.similarity else "") if m.layer != "new" else ""
        )
        when = editor_time(m.published_at, empty="no date")
        click.echo(f"  - [{role}{matched}] {when} {m.source}: {m.title[:50]} {m.url}")


# --------------------------------------------------------------------------- topics


@click.group()
def topics() -> None:
    """The topic taxonomy (topics.yaml) and the learned model."""


@topics.command("show")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@guard
def topics_show(obj: CliContext, as_json: bool) -> None:
    """The topics of topics.yaml with their keyword counts."""
    from news_harvester.stories.topics import load_taxonomy

    taxonomy = load_taxonomy(obj.settings().topics)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {"id": t.id, "name": t.name, "weight": t.weight, "keywords": [k.text for k in t.keywords]}
                    for t in taxonomy.topics
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    print_table(
        ["id", "name", "keywords", "exclusions"],
        [[t.id, t.name, len(t.keywords), len(t.exclude)] for t in taxonomy.topics],
    )


@topics.command("test")
@click.argument("candidate", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--days", default=None, type=click.IntRange(1), help="Only stories of the last N days (default all).")
@click.option("--examples", default=5, show_default=True, type=click.IntRange(0, 1000))
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@guard
def topics_test(obj: CliContext, candidate: Path, days: int | None, examples: int, as_json: bool) -> None:
    """Preview CANDIDATE (an edited topics.yaml) over stored stories before saving it: per-topic counts now
    and with the candidate, and examples of stories that would gain or lose a topic. Writes nothing."""
    from news_harvester.stories.prior_model import load_shipped
    from news_harvester.stories.topics import classify, load_taxonomy
    from news_harvester.wiring import open_repository

    try:
        taxonomy = load_taxonomy(candidate)
    except ConfigError as exc:
        click.echo(f"error: the candidate taxonomy is invalid:\n{exc}", err=True)
        sys.exit(2)
    repository = open_repository(obj.settings())
    since = datetime.now(UTC) - timedelta(days=days) if days else None
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    gained: dict[str, list[dict[str, Any]]] = {}
    lost: dict[str, list[dict[str, Any]]] = {}
    changed = total = 0
    prior = load_shipped()
    for story_id, title, body, current in repository.stories_for_reclassification(since):
        total += 1
        new = {t.topic_id for t in classify(taxonomy, title, body, prior=prior).topics}
        before.update(current)
        after.update(new)
        if new != set(current):
            changed += 1
        for topic_id in new - set(current):
            gained.setdefault(topic_id, []).append({"story": story_id, "title": title})
        for topic_id in set(current) - new:
            lost.setdefault(topic_id, []).append({"story": story_id, "title": title})
    topic_ids = sorted(set(before) | set(after) | {t.id for t in taxonomy.topics})
    report: dict[str, Any] = {
        "stories": total,
        "changed": changed,
        "topics": [
            {
                "id": t,
                "now": before[t],
                "candidate": after[t],
                "gained": len(gained.get(t, [])),
                "lost": len(lost.get(t, [])),
                "gained_examples": gained.get(t, [])[:examples],
                "lost_examples": lost.get(t, [])[:examples],
            }
            for t in topic_ids
        ],
    }
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    click.echo(f"{total} stories, {changed} would change their topics")
    print_table(
        ["topic", "now", "candidate", "gained", "lost"],
        [[t["id"], t["now"], t["candidate"], t["gained"], t["lost"]] for t in report["topics"]],
    )
    for t in report["topics"]:
        for kind in ("gained", "lost"):
            for ex in t[f"{kind}_examples"]:
                click.echo(f"  {t['id']} {kind}: #{ex['story']} {ex['title'][:60]}")


@topics.command("apply")
@click.option("--all", "everything", is_flag=True, help="Every stored story, not only the story window.")
@click.pass_obj
@guard
def topics_apply(obj: CliContext, everything: bool) -> None:
    """Re-classify and re-score stored stories with topics.yaml and the newest learned model. Editors'
    topic corrections are kept."""
    ctx = _open(obj)
    now = datetime.now(UTC)
    since = datetime(1970, 1, 1, tzinfo=UTC) if everything else now - timedelta(days=ctx.window_days)
    count = ctx.repository.refresh_window(ctx.service, since, now, reclassify=True)
    click.echo(f"re-classified and re-scored {count} stories")


@topics.command("train")
@click.option("--min-examples", default=30, show_default=True, type=click.IntRange(2))
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
@guard
def topics_train(obj: CliContext, min_examples: int, as_json: bool) -> None:
    """Train the learned topic model from editors' labels (accepted/rejected stories, topic corrections) and
    store it; the daemon blends it with the rules from then on (`topics apply` re-classifies at once)."""
    from news_harvester.stories.topic_model import LabelledStory, NotEnoughLabels, TopicModel

    ctx = _open(obj)
    taxonomy = ctx.service.enricher.taxonomy
    labels = ctx.repository.topic_labels()
    examples = [
        LabelledStory(
            title=row.title,
            body=row.body,
            topics=row.topics if row.topics_confirmed else frozenset(),
            accepted=row.accepted,
            topics_known=row.topics_confirmed,
        )
        for row in labels
    ]
    try:
        model = TopicModel.train(examples, [t.id for t in taxonomy.topics], min_examples=min_examples)
    except NotEnoughLabels as exc:
        fail(str(exc))
        return
    now = datetime.now(UTC)
    model_id = ctx.repository.save_topic_model(
        model.to_bytes(), digest=taxonomy.digest, examples=len(examples), info=model.info, now=now
    )
    record = {"model_id": model_id, "examples": len(examples), "blend_weight": model.blend_weight, "info": model.info}
    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(
            f"trained topic model #{model_id} on {len(examples)} labelled stories "
            f"(blend weight {model.blend_weight:.2f})"
        )


COMMANDS = (ingest, stories, topics)
