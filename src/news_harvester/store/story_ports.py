"""What the store asks of the story logic, as protocols: the store is handed a decider, it never imports one.

Storing a run's new articles reads the stored index, decides each article's story and writes the result in one
transaction, and a touched story's canonical member, topics and score are decided from what the same transaction
reads. The decisions are the story logic's (news_harvester.stories: ``StoryBatch`` and ``StoryService`` satisfy
these protocols); the store only reads the facts, asks, and writes the records it gets back
(news_harvester.story_records). The composition root (news_harvester.wiring, the harvest pipeline, the writer
process) hands the one to the other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from news_harvester.story_records import DedupeDecision, DedupeDoc, Fingerprint, MemberFacts, StoredStory, StoryRefresh

if TYPE_CHECKING:
    from news_harvester.store.story_index import StoredStoryLookup


class StoryDecider(Protocol):
    """The story decisions of one transaction (``stories.assign.StoryBatch``)."""

    @property
    def version(self) -> int:
        """The version of the dedupe parameters the index keys come from: keys of another version never match."""

    @property
    def window(self) -> timedelta: ...

    @property
    def prune_before(self) -> datetime | None:
        """When set, the store also drops index entries stored before it (the window's end moved on)."""

    def fingerprint(self, doc: DedupeDoc) -> Fingerprint: ...

    def decide(
        self, doc: DedupeDoc, stored: StoredStoryLookup, fp: Fingerprint | None = None
    ) -> tuple[DedupeDecision, Fingerprint]:
        """The story ``doc`` joins, from the stored index and the articles recorded earlier in this batch."""

    def follow_up(self, doc: DedupeDoc, fp: Fingerprint) -> tuple[int, str, float] | None:
        """For an article that starts a new story: ``(used story id, reason, similarity)`` of the story it
        continues, or None."""

    def record(self, doc: DedupeDoc, story_id: int, fp: Fingerprint) -> None:
        """``doc`` was stored in ``story_id``: later articles of the batch may match it."""

    def renumber(self, story_ids: Mapping[int, int]) -> None:
        """Stories recorded under provisional ids (keys) were inserted under these ids (values)."""

    def replace(self, doc: DedupeDoc, story_id: int) -> None:
        """A stored article's content changed; it keeps ``story_id``."""

    def canonical(self, members: Mapping[int, Sequence[MemberFacts]]) -> dict[int, int]:
        """The canonical article id per story."""

    def to_classify(
        self, stored: Mapping[int, StoredStory], canonical: Mapping[int, int], reclassify: bool
    ) -> list[int]:
        """The stories whose canonical article's text must be read to classify them afresh."""

    def refresh(
        self,
        stored: Mapping[int, StoredStory],
        members: Mapping[int, Sequence[MemberFacts]],
        canonical: Mapping[int, int],
        texts: Mapping[int, tuple[str, str]],
        now: datetime,
    ) -> list[StoryRefresh]:
        """What to write for each story: canonical member, classification and topics (for those with texts),
        score."""


class StoryRules(Protocol):
    """The process's story settings (``stories.assign.StoryService``): the source of deciders."""

    @property
    def version(self) -> int: ...

    @property
    def window(self) -> timedelta: ...

    def fingerprint(self, doc: DedupeDoc) -> Fingerprint: ...

    def begin(self, now: datetime | None = None) -> StoryDecider:
        """A decider for one transaction; with ``now`` it may also ask the store to prune the index."""
