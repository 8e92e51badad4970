"""An editor's action on a story and what it means for the issue being assembled.

The one use case behind the review app's form, its JSON API, its bulk actions and the CLI's ``issue add``:
the action is applied (optimistic concurrency, audit entry: the store's job), then accepting files the story
in the draft issue with a house-style summary, and rejecting or restoring takes it out again. The outcome is a
record; each shell words it for its readers (Chinese notes in the app, English lines in the CLI).

Filing is a second transaction after the action: a story accepted but not filed (the draft was just published,
a concurrent editor filed it) is reported as ``not_filed`` with the reason, never as an error of the action.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from news_harvester.editorial.issues import add_story
from news_harvester.editorial.review_rules import decide_action, text_edit
from news_harvester.errors import StorageError

if TYPE_CHECKING:
    from news_harvester.config import Settings, SourcesConfig
    from news_harvester.store.repository import Repository
    from news_harvester.store.review import CandidateState
    from news_harvester.stories.assign import StoryService


class DraftChange(enum.StrEnum):
    NONE = "none"
    FILED = "filed"
    """The story is in the draft (filed now, or already there)."""
    WITHDRAWN = "withdrawn"
    NOT_FILED = "not_filed"
    """Accepted, but it could not be filed; ``DraftOutcome.problem`` says why."""


@dataclass(frozen=True, slots=True)
class DraftOutcome:
    change: DraftChange
    item_id: int | None = None
    """The draft item of the story when this call filed it."""
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    state: CandidateState
    draft: DraftOutcome


def act_on_story(
    repository: Repository,
    settings: Settings,
    sources: SourcesConfig | None,
    service: StoryService,
    story_id: int,
    action: str,
    *,
    user: str,
    now: datetime,
    expected_version: int | None = None,
    reason: str | None = None,
    section: str | None = None,
    until: datetime | None = None,
    issue_id: int | None = None,
) -> ActionOutcome:
    """Apply ``action`` (StorageError when the store refuses it: stale version, invalid action …), then keep the
    draft issue (or ``issue_id``) in step with it."""
    state = apply_action(
        repository,
        service,
        story_id,
        action,
        user=user,
        expected_version=expected_version,
        now=now,
        reason=reason,
        section=section,
        until=until,
    )
    draft = follow_in_draft(
        repository, settings, sources, story_id, action, user=user, now=now, section=section, issue_id=issue_id
    )
    return ActionOutcome(state, draft)


def apply_action(
    repository: Repository,
    service: StoryService,
    story_id: int,
    action: str,
    *,
    user: str,
    now: datetime,
    expected_version: int | None = None,
    reason: str | None = None,
    section: str | None = None,
    until: datetime | None = None,
) -> CandidateState:
    """The action alone, without the draft: decided by the review rules (InvalidAction in Chinese), then written
    by the store (versioned, audited, the story re-scored)."""
    change = decide_action(action, now=now, reason=reason, section=section, until=until)
    return repository.apply_change(
        story_id, change, user=user, expected_version=expected_version, service=service, now=now
    )


def edit_text(
    repository: Repository,
    story_id: int,
    *,
    title: str | None,
    summary: str | None,
    user: str,
    expected_version: int | None,
    now: datetime,
) -> CandidateState:
    """An editor's title and summary (kept apart from the harvested text, with history; empty text clears one)."""
    values = text_edit(title, summary)
    return repository.edit_text(story_id, values, user=user, expected_version=expected_version, now=now)


def follow_in_draft(
    repository: Repository,
    settings: Settings,
    sources: SourcesConfig | None,
    story_id: int,
    action: str,
    *,
    user: str,
    now: datetime,
    section: str | None = None,
    issue_id: int | None = None,
) -> DraftOutcome:
    """Accepting files the story in the draft (summary drafted); rejecting or restoring withdraws it."""
    if action == "accept":
        try:
            item_id = add_story(
                repository, settings, sources, story_id, user=user, now=now, section=section, issue_id=issue_id
            )
        except StorageError as exc:
            # a conflict is fine only when the story is in the draft already (a double click, another editor)
            draft = (issue_id or repository.current_draft_id()) if exc.code == "storage.conflict" else None
            if draft is None or repository.item_for_story(draft, story_id) is None:
                return DraftOutcome(DraftChange.NOT_FILED, problem=str(exc))
            return DraftOutcome(DraftChange.FILED)
        return DraftOutcome(DraftChange.FILED, item_id=item_id)
    if action in ("reject", "restore"):
        draft = repository.current_draft_id()
        item = repository.item_for_story(draft, story_id) if draft else None
        if item is not None:
            repository.remove_item(item.id, user=user, now=now)
            return DraftOutcome(DraftChange.WITHDRAWN)
    return DraftOutcome(DraftChange.NONE)
