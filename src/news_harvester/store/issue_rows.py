"""Records of issues of the brief and their items, as the store returns them (``IssueRow``, ``ItemRow``), and
the numbering rule (:func:`following`) that both the proposal of a new draft and the renumbering of a stale
draft at publication follow."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Numbers:
    """期号 within the year, and 总第 N 期 (None when the brief does not count a running total)."""

    year: int
    number: int
    total_number: int | None

    @property
    def label(self) -> str:
        total = f"（总第 {self.total_number} 期）" if self.total_number else ""
        return f"{self.year} 年第 {self.number} 期{total}"


def following(highest: Numbers | None, today: date) -> Numbers:
    """The numbers after ``highest``, the highest ever used (published or draft): number + 1 in the same year,
    1 in a new year (the year of ``today`` in the editors' zone), running total + 1. Counting from the highest
    rather than from the newest or the current draft is what keeps numbers from going backwards when an older
    draft is left over (a draft numbered 1 while 2 was published proposed 1 again)."""
    if highest is None:
        return Numbers(today.year, 1, None)
    total = highest.total_number + 1 if highest.total_number is not None else None
    if today.year > highest.year:
        return Numbers(today.year, 1, total)
    return Numbers(highest.year, highest.number + 1, total)


@dataclass(frozen=True, slots=True)
class Renumbered:
    """A draft moved past a newly published issue (see IssueQueries.publish_issue)."""

    issue_id: int
    before: Numbers
    after: Numbers


@dataclass(frozen=True, slots=True)
class Published:
    """What publishing changed: the stories the issue used, the drafts renumbered after it."""

    story_ids: tuple[int, ...]
    renumbered: tuple[Renumbered, ...]


@dataclass(frozen=True, slots=True)
class SectionSpec:
    name: str
    target: int


@dataclass(frozen=True, slots=True)
class ItemRow:
    id: int
    issue_id: int
    story_id: int | None
    section: str
    position: int
    title: str
    text: str | None
    attribution: str | None
    html: str | None
    draft: str | None
    warnings: tuple[dict[str, str], ...]
    updated_by: str | None
    chart: str | None = None
    """The chart attached to a 数据月报 item (JSON of editorial.figures_chart.ChartSpec); None or "" = none."""

    @property
    def edited(self) -> bool:
        """The editor changed the drafted summary (a regeneration must then be asked for explicitly)."""
        return self.draft is not None and (self.text or "") != self.draft

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "story_id": self.story_id,
            "section": self.section,
            "position": self.position,
            "title": self.title,
            "text": self.text,
            "attribution": self.attribution,
            "html": self.html,
            "edited": self.edited,
            "warnings": list(self.warnings),
            "chart": json.loads(self.chart) if self.chart else None,
        }


@dataclass
class IssueRow:
    id: int
    year: int
    number: int
    total_number: int | None
    issue_date: date | None
    status: str
    title: str
    publisher: str
    sections: tuple[SectionSpec, ...]
    version: int
    published_at: datetime | None
    items: list[ItemRow] = field(default_factory=list)

    @property
    def label(self) -> str:
        return Numbers(self.year, self.number, self.total_number).label

    def section_items(self, name: str) -> list[ItemRow]:
        return [i for i in self.items if i.section == name]

    def to_json(self, *, with_items: bool = True) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": self.id,
            "year": self.year,
            "number": self.number,
            "total_number": self.total_number,
            "issue_date": self.issue_date.isoformat() if self.issue_date else None,
            "status": self.status,
            "title": self.title,
            "publisher": self.publisher,
            "version": self.version,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "sections": [
                {"name": s.name, "target": s.target, "count": len(self.section_items(s.name))} for s in self.sections
            ],
        }
        if with_items:
            record["items"] = [i.to_json() for i in self.items]
        return record


def item_row(row: Any) -> ItemRow:
    """An ``issue_items`` row as a record."""
    return ItemRow(
        id=int(row.id),
        issue_id=int(row.issue_id),
        story_id=row.story_id,
        section=row.section,
        position=int(row.position),
        title=row.title,
        text=row.text,
        attribution=row.attribution,
        html=row.html,
        draft=row.draft,
        warnings=tuple(json.loads(row.warnings)) if row.warnings else (),
        updated_by=row.updated_by,
        chart=row.chart,
    )


def issue_row(row: Any) -> IssueRow:
    """An ``issues`` row as a record (its items not loaded)."""
    sections = tuple(SectionSpec(s["name"], int(s.get("target", 0))) for s in json.loads(row.sections or "[]"))
    return IssueRow(
        id=int(row.id),
        year=int(row.year),
        number=int(row.number),
        total_number=row.total_number,
        issue_date=row.issue_date,
        status=row.status,
        title=row.title or "",
        publisher=row.publisher or "",
        sections=sections,
        version=int(row.version or 1),
        published_at=row.published_at,
    )
