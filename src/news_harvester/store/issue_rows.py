"""Records of issues of the brief and their items, as the store returns them (``IssueRow``, ``ItemRow``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


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
        total = f"（总第 {self.total_number} 期）" if self.total_number else ""
        return f"{self.year} 年第 {self.number} 期{total}"

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
    )
