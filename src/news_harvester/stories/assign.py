"""Stories: which earlier article each new article repeats or reprints, decided by the pure
:func:`~news_harvester.stories.dedupe.match_fingerprint` and written by the store in the run's own transaction.

The index of the story window (the articles stored in the last ``story_window_days``) lives in the database
(news_harvester.store.story_index): every process and every worker sees every committed article, and a process
starts without rebuilding anything. One :class:`StoryService` per process holds the settings:

1. ``batch = service.begin(now)``: a :class:`StoryBatch` that matches new articles against the stored index
   (through the run's transaction) and against the articles earlier in the same batch;
2. ``Repository.finish_run(..., stories=batch)`` inserts the articles, asks the batch for each new
   article's decision, inserts a ``stories`` row for a new story, records the article's story, layer and
   similarity, indexes the article, and recomputes the canonical member of every touched story, all in one
   transaction (a rolled-back run leaves the index as it was);
3. ``service.commit(batch, now)`` after the commit (it only notes when the window was last pruned).

Articles are never deleted or hidden here; the canonical member (highest source weight, then earliest
``published_at``, falling back to ``fetched_at``, then lowest id) is only a pointer on the story.

Each touched story is also classified (its canonical article, by :class:`StoryEnricher` with the topics
taxonomy and, once trained, the learned model) and scored (news_harvester.stories.ranking) in that transaction.

Cross-issue memory: an article that reprints a story already used in a published issue simply joins that
story, which has no open candidate, so it is never queued again. An article that starts a *new* story but
continues a used one (:func:`follow_up_of`: it names the same 《document》, or its title or body is close to the
used story's without being a reprint) gets a new story linked to the used one as a follow-up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np

from news_harvester.stories.dedupe import (
    DedupeParams,
    StoryIndex,
    StoryLookup,
    fingerprint,
    index_version,
    match_fingerprint,
    normalise_for_dedupe,
)
from news_harvester.stories.enricher import DEFAULT_WEIGHT, StoryEnricher, StoryMember, canonical_member
from news_harvester.stories.refresh import canonical_members, decide_refresh, needing_classification, stored_form
from news_harvester.story_records import (
    DedupeDecision,
    DedupeDoc,
    Fingerprint,
    MemberFacts,
    StoredClassification,
    StoredStory,
    StoryRefresh,
    UsedStoryText,
)

__all__ = [
    "DEFAULT_WEIGHT",
    "Preclassified",
    "StoryBatch",
    "StoryEnricher",
    "StoryMember",
    "StoryService",
    "StoryStore",
    "UsedStory",
    "book_titles",
    "canonical_member",
    "follow_up_of",
]

PRUNE_EVERY = timedelta(hours=1)


# --------------------------------------------------------------------------- follow-ups

BOOK_TITLE = re.compile(r"《([^《》\n]{4,80})》")
FOLLOW_UP_LEAD_CHARS = 1500
FOLLOW_UP_TITLE = 0.35
"""Title character-bigram Jaccard that makes a new story a follow-up of a used one. Reprints re-titled within
48 h reach the dedupe layer's 0.5; unrelated stories of the same topic peak at 0.22 (dedupe.py's measurement)."""
FOLLOW_UP_BODY = 0.15
"""MinHash Jaccard estimate of the bodies: above the worst unrelated pair measured for dedupe (0.123, a shared
site template) and below the reprint threshold (0.3)."""


@dataclass(frozen=True, slots=True)
class UsedStory:
    """What follow-up detection keeps of a story used in a published issue (its canonical article)."""

    story_id: int
    title_bigrams: frozenset[str]
    minhash: np.ndarray | None  # type: ignore[type-arg]
    book_titles: frozenset[str]
    published_at: datetime | None


def book_titles(title: str, body: str) -> frozenset[str]:
    """Normalised 《…》 names (laws, plans, reports) in the title and the lead: a follow-up names the same one."""
    text = f"{title}\n{body[:FOLLOW_UP_LEAD_CHARS]}"
    return frozenset(n for m in BOOK_TITLE.finditer(text) if len(n := normalise_for_dedupe(m.group(1))) >= 4)


def follow_up_of(fp: Fingerprint, titles: frozenset[str], used: Iterable[UsedStory]) -> tuple[int, str, float] | None:
    """``(used story id, reason, similarity)`` of the used story the new article continues, or None.

    Reasons: ``book_title`` (names the same 《…》), ``title`` (bigram Jaccard ≥ ``FOLLOW_UP_TITLE``), ``body``
    (MinHash estimate ≥ ``FOLLOW_UP_BODY``). Only stories published before the new article qualify.
    """
    best: tuple[float, int, str] | None = None
    for story in used:
        if fp.published_at is not None and story.published_at is not None and story.published_at > fp.published_at:
            continue
        candidates: list[tuple[float, str]] = []
        if titles & story.book_titles:
            candidates.append((1.0, "book_title"))
        if fp.title_bigrams and story.title_bigrams:
            inter = len(fp.title_bigrams & story.title_bigrams)
            sim = inter / (len(fp.title_bigrams) + len(story.title_bigrams) - inter)
            if sim >= FOLLOW_UP_TITLE:
                candidates.append((sim, "title"))
        if fp.minhash is not None and story.minhash is not None:
            sim = float(np.count_nonzero(fp.minhash == story.minhash)) / len(fp.minhash)
            if sim >= FOLLOW_UP_BODY:
                candidates.append((sim, "body"))
        for sim, reason in candidates:
            if best is None or sim > best[0] or (sim == best[0] and story.story_id < best[1]):
                best = (sim, story.story_id, reason)
    return (best[1], best[2], round(best[0], 3)) if best else None


# --------------------------------------------------------------------------- one run's decisions


@dataclass
class StoryBatch:
    """The story decisions of one run, staged in its transaction.

    Matching asks the stored index (a :class:`~news_harvester.stories.dedupe.StoryLookup` over the run's
    transaction, given by the store) and the articles earlier in this batch (a run may carry an article and its
    reprint). ``prune_before``: the store also drops what fell out of the window, once an hour."""

    params: DedupeParams
    window: timedelta
    weights: Mapping[str, float]
    enricher: StoryEnricher = field(default_factory=StoryEnricher)
    used: Mapping[int, UsedStory] = field(default_factory=dict)
    prune_before: datetime | None = None
    pending: StoryIndex = field(init=False)
    added: list[tuple[DedupeDoc, int, Fingerprint]] = field(init=False, default_factory=list)
    replaced: list[tuple[DedupeDoc, int]] = field(init=False, default_factory=list)
    preclassified: dict[tuple[str, str], StoredClassification | None] = field(init=False, default_factory=dict)
    """Classifications made where the articles were read, by (title, body) (see :meth:`preclassify`)."""

    def __post_init__(self) -> None:
        self.pending = StoryIndex(self.params)

    @property
    def version(self) -> int:
        """The version of the parameters the index keys come from (``dedupe.index_version``)."""
        return index_version(self.params)

    def fingerprint(self, doc: DedupeDoc) -> Fingerprint:
        return self.pending.fingerprint(doc)

    def decide(
        self, doc: DedupeDoc, stored: StoryLookup, fp: Fingerprint | None = None
    ) -> tuple[DedupeDecision, Fingerprint]:
        """Match ``doc`` against the stored index and this batch's earlier articles; the closer match wins."""
        fp = fp or self.fingerprint(doc)
        decision = match_fingerprint(doc.id, fp, stored, self.params)
        local = self.pending.match(doc, fp)
        if local.kind != "new_story" and (decision.kind == "new_story" or local.similarity > decision.similarity):
            decision = local
        return decision, fp

    def follow_up(self, doc: DedupeDoc, fp: Fingerprint) -> tuple[int, str, float] | None:
        """For an article that starts a new story: the used story it continues, if any."""
        if not self.used:
            return None
        return follow_up_of(fp, book_titles(doc.title, doc.body), self.used.values())

    def replace(self, doc: DedupeDoc, story_id: int) -> None:
        """A stored article's content changed: the store re-indexes it under its new fingerprint."""
        self.replaced.append((doc, story_id))

    def record(self, doc: DedupeDoc, story_id: int, fp: Fingerprint) -> None:
        self.pending.add(doc, story_id, fp)
        self.added.append((doc, story_id, fp))

    def renumber(self, story_ids: Mapping[int, int]) -> None:
        """The store numbers a batch's new stories when it inserts them together (provisional ids before)."""
        self.pending.renumber(story_ids)
        self.added = [(doc, story_ids.get(story_id, story_id), fp) for doc, story_id, fp in self.added]

    # the refresh of the stories this batch touched (news_harvester.stories.refresh), with its weights and enricher

    def canonical(self, members: Mapping[int, Sequence[MemberFacts]]) -> dict[int, int]:
        return canonical_members(members, self.weights)

    def to_classify(
        self, stored: Mapping[int, StoredStory], canonical: Mapping[int, int], reclassify: bool
    ) -> list[int]:
        return needing_classification(stored, canonical, self.enricher.digest, reclassify)

    def refresh(
        self,
        stored: Mapping[int, StoredStory],
        members: Mapping[int, Sequence[MemberFacts]],
        canonical: Mapping[int, int],
        texts: Mapping[int, tuple[str, str]],
        now: datetime,
    ) -> list[StoryRefresh]:
        return decide_refresh(stored, members, canonical, texts, self.enricher, self.weights, now, self._classify)

    def preclassify(self, made: Preclassified | None) -> None:
        """Take the classifications the harvest made of its articles (the writer, the busier process, then has
        none to make for a new story), when they come from the classifier this batch classifies with."""
        if made is not None and made.digest == self.enricher.digest:
            self.preclassified.update(made.by_text)

    def _classify(self, title: str, body: str) -> StoredClassification | None:
        key = (title, body)
        return (
            self.preclassified[key] if key in self.preclassified else stored_form(self.enricher.classify(title, body))
        )


@dataclass(frozen=True, slots=True)
class Preclassified:
    """Classifications of a run's articles by (title, body), made where they were read, and the digest of the
    classifier that made them (``StoryEnricher.digest``)."""

    digest: str | None
    by_text: Mapping[tuple[str, str], StoredClassification | None]

    @staticmethod
    def of(enricher: StoryEnricher, texts: Iterable[tuple[str, str]]) -> Preclassified | None:
        if enricher.digest is None:
            return None
        return Preclassified(enricher.digest, {text: stored_form(enricher.classify(*text)) for text in texts})


class StoryStore(Protocol):
    """What a process's story service reads and asks of the store when it starts (news_harvester.store's
    Repository is one)."""

    def prepare_story_index(self, service: StoryService, now: datetime) -> int: ...

    def backfill_story_chunk(self, batch: StoryBatch, now: datetime) -> int: ...

    def used_story_texts(self, since: datetime) -> Iterator[UsedStoryText]: ...


class StoryService:
    """The process's story settings: dedupe parameters, window, source weights and classifier. The index itself
    is in the database (news_harvester.store.story_index), shared by every process."""

    def __init__(
        self,
        params: DedupeParams | None = None,
        *,
        window: timedelta,
        weights: Mapping[str, float] | None = None,
        enricher: StoryEnricher | None = None,
    ) -> None:
        self.params = params or DedupeParams()
        self.window = window
        self.weights: dict[str, float] = dict(weights or {})
        self.enricher = enricher or StoryEnricher()
        self.used: dict[int, UsedStory] = {}
        self._pruned_at: datetime | None = None

    @property
    def version(self) -> int:
        """The version of the dedupe parameters the stored index keys come from (``dedupe.index_version``)."""
        return index_version(self.params)

    def fingerprint(self, doc: DedupeDoc) -> Fingerprint:
        return fingerprint(doc, self.params)

    @classmethod
    def load(
        cls,
        repository: StoryStore,
        *,
        window_days: int,
        now: datetime,
        weights: Mapping[str, float] | None = None,
        enricher: StoryEnricher | None = None,
    ) -> StoryService:
        """The service of a process that assigns stories: indexes the window's articles the index lacks (those
        stored before the index moved into the database: a one-time backfill in batches; nothing otherwise),
        then gives articles stored before stories existed a story, in id order, a chunk per transaction."""
        service = cls(window=timedelta(days=window_days), weights=weights, enricher=enricher)
        repository.prepare_story_index(service, now)
        service.refresh_used(repository, now)
        while True:
            batch = service.begin(now)
            if not repository.backfill_story_chunk(batch, now):
                break
            service.commit(batch, now)
        service._pruned_at = now
        return service

    def refresh_used(self, repository: StoryStore, now: datetime) -> None:
        """Reload the used stories of the window (an issue may have been published by another process)."""
        used = {}
        for text in repository.used_story_texts(now - self.window):
            fp = fingerprint(text.doc, self.params)
            titles = book_titles(text.doc.title, text.doc.body)
            used[text.story_id] = UsedStory(text.story_id, fp.title_bigrams, fp.minhash, titles, text.doc.published_at)
        self.used = used

    def begin(self, now: datetime | None = None) -> StoryBatch:
        """A batch for one transaction; with ``now``, it also prunes the index when the last prune is an hour old."""
        due = now is not None and (self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY)
        prune_before = now - self.window if now is not None and due else None
        return StoryBatch(self.params, self.window, self.weights, self.enricher, self.used, prune_before)

    def commit(self, batch: StoryBatch, now: datetime) -> None:
        """The batch's transaction committed (its rows are in the stored index already)."""
        if batch.prune_before is not None:
            self._pruned_at = now
