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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from news_harvester.stories.dedupe import (
    DedupeDecision,
    DedupeDoc,
    DedupeParams,
    Fingerprint,
    StoryIndex,
    StoryLookup,
    index_version,
    match_fingerprint,
    normalise_for_dedupe,
)
from news_harvester.stories.ranking import RankingParams, Score, StoryFacts, score_story
from news_harvester.stories.topics import Classification, Taxonomy, classify

if TYPE_CHECKING:
    from news_harvester.store.repository import Repository
    from news_harvester.stories.prior_model import PriorModel
    from news_harvester.stories.topic_model import TopicModel

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
    weight: float | None = None
    """An imported article's own weight; None: the source's weight from ``weights``."""


def canonical_member(members: Iterable[StoryMember], weights: Mapping[str, float]) -> int:
    """Id of the story's canonical article: highest source weight, then earliest published_at (else
    fetched_at), then lowest id."""

    def weight(m: StoryMember) -> float:
        return m.weight if m.weight is not None else weights.get(m.source_id, DEFAULT_WEIGHT)

    return min(members, key=lambda m: (-weight(m), m.published_at or m.fetched_at, m.id)).id


# --------------------------------------------------------------------------- classification and score


@dataclass(frozen=True)
class StoryEnricher:
    """Pure: classify a story's canonical article and score a story. Swapped as a whole when topics.yaml
    changes or a model is trained, so one run never mixes two taxonomies."""

    taxonomy: Taxonomy | None = None
    model: TopicModel | None = None
    model_id: int | None = None
    ranking: RankingParams = field(default_factory=RankingParams)
    prior: PriorModel | None = None
    """The shipped cold-start model (``prior_model.load_shipped()``), or None for the rules alone."""

    @property
    def digest(self) -> str | None:
        """Identifies what produced a classification; a story whose stored digest differs is re-classified."""
        if self.taxonomy is None:
            return None
        suffix = f"+m{self.model_id}" if self.model is not None and self.model_id is not None else ""
        if self.prior is not None:
            suffix += "+p" + self.prior.digest[:8]
        return (self.taxonomy.digest[:40] + suffix)[:64]

    def classify(self, title: str, body: str) -> Classification | None:
        if self.taxonomy is None:
            return None
        return classify(self.taxonomy, title, body, self.model, self.prior)

    def score(self, facts: StoryFacts, now: datetime) -> Score:
        return score_story(facts, now, self.ranking)


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

    @classmethod
    def load(
        cls,
        repository: Repository,
        *,
        window_days: int,
        now: datetime,
        weights: Mapping[str, float] | None = None,
        enricher: StoryEnricher | None = None,
    ) -> StoryService:
        """The service of a process that assigns stories: indexes the window's articles the index lacks (those
        stored before the index moved into the database: a one-time backfill in batches; nothing otherwise),
        then gives articles stored before stories existed a story, in id order."""
        service = cls(window=timedelta(days=window_days), weights=weights, enricher=enricher)
        repository.prepare_story_index(service, now)
        service.refresh_used(repository, now)
        repository.backfill_stories(service, now)
        service._pruned_at = now
        return service

    def refresh_used(self, repository: Repository, now: datetime) -> None:
        """Reload the used stories of the window (an issue may have been published by another process)."""
        self.used = {u.story_id: u for u in repository.used_stories(now - self.window, self.params)}

    def begin(self, now: datetime | None = None) -> StoryBatch:
        """A batch for one transaction; with ``now``, it also prunes the index when the last prune is an hour old."""
        due = now is not None and (self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY)
        prune_before = now - self.window if now is not None and due else None
        return StoryBatch(self.params, self.window, self.weights, self.enricher, self.used, prune_before)

    def commit(self, batch: StoryBatch, now: datetime) -> None:
        """The batch's transaction committed (its rows are in the stored index already)."""
        if batch.prune_before is not None:
            self._pruned_at = now
