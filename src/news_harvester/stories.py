"""Stories: which earlier article each new article repeats or reprints, decided by the pure
:class:`~news_harvester.dedupe.StoryIndex` and written by the store in the run's own transaction.

One :class:`StoryService` per process (the Harvester's). It is rebuilt at construction from the database's
articles of the last ``story_window_days`` (by ``published_at``, else ``fetched_at``) and changes only after
a run's transaction committed:

1. ``batch = service.begin()``: a :class:`StoryBatch` that matches new articles against the index and
   against the articles earlier in the same batch (a run may carry an article and its reprint);
2. ``Repository.finish_run(..., stories=batch)`` inserts the articles, asks the batch for each new
   article's decision, inserts a ``stories`` row for a new story, records the article's story, layer and
   similarity, and recomputes the canonical member of every touched story, all in one transaction;
3. ``service.commit(batch, now)`` adds the stored articles to the index (skipped when step 2 raised, so a
   rolled-back run leaves the index as it was).

Articles are never deleted or hidden here; the canonical member (highest source weight, then earliest
``published_at``, falling back to ``fetched_at``, then lowest id) is only a pointer on the story.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from news_harvester.dedupe import DedupeDecision, DedupeDoc, Fingerprint, StoryIndex

if TYPE_CHECKING:
    from news_harvester.store.repository import Repository

DEFAULT_WEIGHT = 1.0
"""Weight of a source missing from the mapping (``SourceSpec.weight``'s default)."""
PRUNE_EVERY = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class StoryMember:
    """What the canonical choice needs of one stored article."""

    id: int
    source_id: str
    published_at: datetime | None
    fetched_at: datetime


def canonical_member(members: Iterable[StoryMember], weights: Mapping[str, float]) -> int:
    """Id of the story's canonical article: highest source weight, then earliest published_at (else
    fetched_at), then lowest id."""
    return min(
        members,
        key=lambda m: (-weights.get(m.source_id, DEFAULT_WEIGHT), m.published_at or m.fetched_at, m.id),
    ).id


@dataclass
class StoryBatch:
    """The story decisions of one run, staged until its transaction commits."""

    index: StoryIndex
    weights: Mapping[str, float]
    pending: StoryIndex = field(init=False)
    added: list[tuple[DedupeDoc, int, Fingerprint]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.pending = StoryIndex(self.index.params)

    def decide(self, doc: DedupeDoc) -> tuple[DedupeDecision, Fingerprint]:
        """Match ``doc`` against the index and this batch's earlier articles; the closer match wins."""
        fp = self.index.fingerprint(doc)
        decision = self.index.match(doc, fp)
        local = self.pending.match(doc, fp)
        if local.kind != "new_story" and (decision.kind == "new_story" or local.similarity > decision.similarity):
            decision = local
        return decision, fp

    def record(self, doc: DedupeDoc, story_id: int, fp: Fingerprint) -> None:
        self.pending.add(doc, story_id, fp)
        self.added.append((doc, story_id, fp))


class StoryService:
    """The process's story index and the source weights that pick canonical members."""

    def __init__(self, index: StoryIndex, *, window: timedelta, weights: Mapping[str, float] | None = None) -> None:
        self.index = index
        self.window = window
        self.weights: dict[str, float] = dict(weights or {})
        self._pruned_at: datetime | None = None

    @classmethod
    def load(
        cls, repository: Repository, *, window_days: int, now: datetime, weights: Mapping[str, float] | None = None
    ) -> StoryService:
        """Rebuild the index from the database's articles of the window."""
        window = timedelta(days=window_days)
        index = StoryIndex.from_records(repository.story_records(now - window))
        service = cls(index, window=window, weights=weights)
        service._pruned_at = now
        return service

    def begin(self) -> StoryBatch:
        return StoryBatch(self.index, self.weights)

    def commit(self, batch: StoryBatch, now: datetime) -> None:
        """The batch's transaction committed: its articles join the index; the window moves hourly."""
        for doc, story_id, fp in batch.added:
            self.index.add(doc, story_id, fp)
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self.index.remove_older_than(now - self.window)
            self._pruned_at = now
