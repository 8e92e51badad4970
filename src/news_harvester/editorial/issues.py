"""Assembling an issue of the brief: numbering, accepting stories into the draft with a house-style summary,
publishing (which feeds cross-issue memory) and export. The I/O lives in the store; the drafting
(news_harvester.editorial.summary) and the layout (news_harvester.editorial.export) are pure.

Rules an editor relies on (issue 21): numbers never go backwards (a new draft follows the highest number ever
used, and publishing moves drafts left behind with lower numbers past the published issue); the current draft
is the one with items or the most recently edited, not merely the newest (see
news_harvester.store.issues_store.CURRENT_DRAFT); an issue without items is not published unless asked for
explicitly (``allow_empty``), nor exported by the CLI (:func:`empty_problem`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from news_harvester.config import Settings, SourcesConfig, parse_sections
from news_harvester.editorial.export import IssueDocument, IssueItem, IssueSection
from news_harvester.editorial.export_html import to_html
from news_harvester.editorial.export_markdown import to_markdown
from news_harvester.editorial.house_style import style_check
from news_harvester.editorial.summary import draft_summary
from news_harvester.errors import StorageError
from news_harvester.parse.sanitize import sanitize_html
from news_harvester.store.issue_rows import IssueRow, Numbers, Renumbered, SectionSpec, following

if TYPE_CHECKING:
    from news_harvester.store.repository import Repository
    from news_harvester.stories.assign import StoryService

EDITOR_ZONE = ZoneInfo("Asia/Shanghai")
FORMATS = ("md", "html", "docx", "pdf")
MEDIA_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


@dataclass(frozen=True, slots=True)
class Publication:
    """What :func:`publish` did: the draft editors continue in, and the drafts it renumbered (to tell them)."""

    next_draft: int
    renumbered: tuple[Renumbered, ...]


def editor_today(now: datetime) -> date:
    """The editors' calendar day (Asia/Shanghai): an issue proposed at 07:00 on 1 January in Dalian is the new
    year's, though UTC still says 31 December."""
    return now.astimezone(EDITOR_ZONE).date()


def propose_numbers(repository: Repository, today: date) -> Numbers:
    """The next issue after the highest one ever numbered, published or draft (see
    news_harvester.store.issue_rows.following): number + 1 in the same year, 1 in a new year, running total + 1."""
    return following(repository.last_issue_numbers(), today)


def empty_problem(issue: IssueRow) -> str | None:
    """Why ``issue`` should not go out as it is (it has no items), in English for the CLI, or None."""
    if issue.items:
        return None
    return f"issue #{issue.id} ({issue.year} no. {issue.number}) has no items"


def new_issue(
    repository: Repository,
    settings: Settings,
    *,
    user: str,
    now: datetime,
    year: int | None = None,
    number: int | None = None,
    total_number: int | None = None,
    issue_date: date | None = None,
    unless_draft: bool = False,
) -> int:
    """A new draft issue, numbered after the last one unless told; ``unless_draft``: the current draft if any."""
    today = editor_today(now)
    proposed = propose_numbers(repository, today)
    return repository.new_issue(
        year=year or proposed.year,
        number=number or proposed.number,
        total_number=total_number if total_number is not None else proposed.total_number,
        issue_date=issue_date or today,
        title=settings.brief_title,
        publisher=settings.brief_publisher,
        sections=tuple(SectionSpec(n, t) for n, t in parse_sections(settings.brief_sections)),
        user=user,
        now=now,
        unless_draft=unless_draft,
    )


def current_draft(repository: Repository, settings: Settings, *, user: str, now: datetime) -> int:
    """The draft that accepted stories land in (the one with items, else the most recently edited), opened when
    there is none."""
    return repository.current_draft_id() or new_issue(repository, settings, user=user, now=now, unless_draft=True)


def _source_zone(sources: SourcesConfig | None, source_id: str) -> str:
    spec = sources.get(source_id) if sources is not None else None
    return spec.timezone if spec is not None else "Asia/Shanghai"


def draft_for_story(
    repository: Repository, settings: Settings, sources: SourcesConfig | None, story_id: int
) -> tuple[str, Any]:
    """``(headline, SummaryDraft)`` of a story's canonical article (the editor's title when there is one)."""
    views = repository.list_stories(story_ids=[story_id], limit=1)
    if not views:
        raise StorageError(f"素材 #{story_id} 不存在", code="storage.not_found")
    view = views[0]
    detail = repository.story_detail(story_id)
    canonical = next((m for m in detail.members if m.url == view.canonical_url), detail.members[0])
    source_id = next((m.source_id for m in view.members if m.article_id == canonical.article_id), "")
    name = _display_name(canonical.attribution, view.canonical_source)
    draft = draft_summary(
        view.title,
        canonical.body_text,
        published_at=canonical.published_at,
        source_name=name,
        tz=_source_zone(sources, source_id),
        date_format=settings.summary_date_format,
    )
    title = detail.candidate.editor_title or view.title
    return title, draft


def _display_name(attribution: str | None, source: str | None) -> str | None:
    """The story's 来源 name: the canonical attribution when it is a plain outlet name, else the source's name."""
    for candidate in (attribution, source):
        if candidate and candidate.strip() and len(candidate) <= 30 and candidate not in ("本站原创", "网络", "原创"):
            return candidate.strip()
    return None


def add_story(
    repository: Repository,
    settings: Settings,
    sources: SourcesConfig | None,
    story_id: int,
    *,
    user: str,
    now: datetime,
    section: str | None = None,
    issue_id: int | None = None,
) -> int:
    """Put an accepted story into the draft (its summary drafted in house style); returns the item id."""
    target = issue_id or current_draft(repository, settings, user=user, now=now)
    title, draft = draft_for_story(repository, settings, sources, story_id)
    warnings = [{"code": w.code, "message": w.message} for w in draft.warnings]
    return repository.add_item(
        target,
        section=section or "行业资讯",
        title=title,
        story_id=story_id,
        text=draft.text,
        attribution=draft.attribution,
        draft=draft.text,
        warnings=warnings,
        user=user,
        now=now,
    )


def regenerate(
    repository: Repository, settings: Settings, sources: SourcesConfig | None, item_id: int, *, user: str, now: datetime
) -> None:
    """Redraft an item's summary from its story, replacing the editor's text (only when asked explicitly)."""
    item = repository.get_item(item_id)
    if item.story_id is None:
        raise StorageError("自由文本条目没有可重新生成的摘要", code="review.invalid")
    _title, draft = draft_for_story(repository, settings, sources, item.story_id)
    repository.update_item(
        item_id,
        text=draft.text,
        draft=draft.text,
        attribution=draft.attribution,
        warnings=[{"code": w.code, "message": w.message} for w in draft.warnings],
        user=user,
        now=now,
    )


def check_item(settings: Settings, title: str, text: str | None, attribution: str | None) -> list[dict[str, str]]:
    """House-style problems of an item as it stands (after editing)."""
    problems = style_check(title, text or "", attribution or "", date_format=settings.summary_date_format)
    return [{"code": p.code, "message": p.message} for p in problems]


def publish(
    repository: Repository,
    settings: Settings,
    service: StoryService,
    issue_id: int,
    *,
    user: str,
    now: datetime,
    allow_empty: bool = False,
    expected_version: int | None = None,
) -> Publication:
    """Lock the issue, mark its stories used (cross-issue memory) and find the next draft (opened if none).

    Refused (StorageError) when the issue has no items unless ``allow_empty`` (code ``issue.empty``), when it
    is published already (``issue.state``), and when ``expected_version`` is given and the issue changed since
    (``issue.changed``: the web app's confirmation showed the editor another state of it). Drafts numbered
    below the published issue are renumbered after it, so the next draft never carries a lower number."""
    published = repository.publish_issue(
        issue_id,
        user=user,
        now=now,
        today=editor_today(now),
        allow_empty=allow_empty,
        expected_version=expected_version,
    )
    if published.story_ids:
        repository.mark_used(issue_id, list(published.story_ids), service, now)
        service.refresh_used(repository, now)  # this process's follow-up detection learns the used stories
    return Publication(current_draft(repository, settings, user=user, now=now), published.renumbered)


def reopen(repository: Repository, issue_id: int, *, reason: str, user: str, now: datetime) -> None:
    if not reason.strip():
        raise StorageError("重新打开已出版的期刊需要填写理由", code="review.invalid")
    repository.set_issue_status(issue_id, "draft", user=user, now=now, reason=reason.strip())


def document(issue: IssueRow, charts: Mapping[int, tuple[bytes, str]] | None = None) -> IssueDocument:
    """The issue as the exporter lays it out: configured sections in order, then any other section used.
    ``charts``: the (PNG, caption) of the charts attached to items, by item id
    (:func:`news_harvester.editorial.figures_report.item_charts`)."""
    charts = charts or {}
    names = [s.name for s in issue.sections]
    names += [i.section for i in issue.items if i.section not in names]
    sections = []
    for name in dict.fromkeys(names):
        items = tuple(
            IssueItem(
                title=i.title,
                text=i.text or "",
                attribution=i.attribution or "",
                html=sanitize_html(i.html) if i.html else None,
                chart=charts[i.id][0] if i.id in charts else None,
                chart_caption=charts[i.id][1] if i.id in charts else "",
            )
            for i in issue.section_items(name)
        )
        sections.append(IssueSection(name=name, items=items))
    return IssueDocument(
        title=issue.title,
        year=issue.year,
        number=issue.number,
        total_number=issue.total_number,
        publisher=issue.publisher,
        issue_date=issue.issue_date or datetime.now(UTC).date(),
        sections=tuple(sections),
    )


def export(
    issue: IssueRow, fmt: str, settings: Settings, charts: Mapping[int, tuple[bytes, str]] | None = None
) -> bytes:
    doc = document(issue, charts)
    if fmt == "md":
        return to_markdown(doc).encode("utf-8")
    if fmt == "html":
        return to_html(doc).encode("utf-8")
    if fmt == "docx":  # python-docx (and LibreOffice for PDF) loaded only by the exports that use them
        from news_harvester.editorial.export_docx import to_docx

        return to_docx(doc, body_font=settings.docx_body_font, heading_font=settings.docx_heading_font)
    if fmt == "pdf":
        from news_harvester.editorial.export_pdf import to_pdf

        return to_pdf(doc)
    raise StorageError(f"不支持的导出格式：{fmt}（可用：{', '.join(FORMATS)}）", code="review.invalid")


def file_name(issue: IssueRow, fmt: str) -> str:
    return f"brief-{issue.year}-{issue.number:02d}.{fmt}"
