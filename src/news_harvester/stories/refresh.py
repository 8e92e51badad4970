"""Refreshing stories: canonical member, classification, topics and score, decided from stored facts.

When a story gains a member, an editor changes its topics or state, the taxonomy or the learned model changes,
or time passes (recency ages), its derived columns are recomputed. The store reads a chunk of stories as
records (news_harvester.story_records), these functions decide (the store reaches them through the run's
``StoryBatch``, never by import), and the store writes what they return; nothing here touches the database, so
the rules are tested without one.

Two steps, because classification needs the canonical article's text and only some stories need it:
:func:`canonical_members` and :func:`needing_classification` say which texts to read, then
:func:`decide_refresh` returns one :class:`StoryRefresh` per story.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from news_harvester.models import TopicRow, effective_topics
from news_harvester.stories.enricher import StoryEnricher, StoryMember, canonical_member
from news_harvester.stories.ranking import StoryFacts
from news_harvester.stories.topics import Classification
from news_harvester.story_records import MemberFacts, StoredClassification, StoredStory, StoryRefresh

__all__ = [
    "MemberFacts",
    "StoredStory",
    "StoryRefresh",
    "canonical_members",
    "decide_refresh",
    "needing_classification",
]

DEFAULT_SOURCE_WEIGHT = 1.0
"""Weight of a canonical source missing from the configured weights (when scoring)."""


def canonical_members(members: Mapping[int, Sequence[MemberFacts]], weights: Mapping[str, float]) -> dict[int, int]:
    """Canonical article id per story (see ``assign.canonical_member``)."""
    return {
        story_id: canonical_member(
            (StoryMember(m.article_id, m.source_id, m.published_at, m.fetched_at, m.source_weight) for m in group),
            weights,
        )
        for story_id, group in members.items()
    }


def needing_classification(
    stored: Mapping[int, StoredStory], canonical: Mapping[int, int], digest: str | None, reclassify: bool
) -> list[int]:
    """Stories to classify again: all when asked, else those whose canonical article or classifier changed.
    None without a taxonomy (``digest`` None)."""
    if digest is None:
        return []
    return [
        story_id
        for story_id, article_id in canonical.items()
        if reclassify
        or stored[story_id].canonical_article_id != article_id
        or stored[story_id].taxonomy_digest != digest
    ]


def decide_refresh(
    stored: Mapping[int, StoredStory],
    members: Mapping[int, Sequence[MemberFacts]],
    canonical: Mapping[int, int],
    texts: Mapping[int, tuple[str, str]],
    enricher: StoryEnricher,
    weights: Mapping[str, float],
    now: datetime,
    classify: Callable[[str, str], StoredClassification | None] | None = None,
) -> list[StoryRefresh]:
    """One refresh per story of ``members``; ``texts`` holds (title, body) of the canonical article of every
    story to classify afresh (from :func:`needing_classification`). ``classify``: where classifications made
    elsewhere are taken (``StoryBatch``); by default ``enricher`` classifies."""
    take = classify or (lambda title, body: stored_form(enricher.classify(title, body)))
    refreshes = []
    for story_id, group in members.items():
        story = stored[story_id]
        topics: Sequence[TopicRow] = story.topics
        classified = None
        fresh: tuple[TopicRow, ...] = ()
        if story_id in texts:
            classified = take(*texts[story_id])
            if classified is not None:
                editor_rows = [r for r in story.topics if r.origin == "editor"]
                editor_ids = {r.topic_id for r in editor_rows}
                fresh = tuple(TopicRow(t, c, "auto") for t, c in classified.topics if t not in editor_ids)
                topics = [*editor_rows, *fresh]
        facts = _facts(story, group, canonical[story_id], topics, classified, enricher.digest, weights)
        score = enricher.score(facts, now)
        refreshes.append(
            StoryRefresh(
                story_id=story_id,
                canonical_article_id=canonical[story_id],
                score=score.total,
                score_parts={"parts": score.parts, "facts": _facts_json(facts)},
                outlets=facts.outlets,
                classification=classified.explanation if classified is not None else None,
                taxonomy_digest=enricher.digest if classified is not None else None,
                auto_topics=fresh,
            )
        )
    return refreshes


def stored_form(result: Classification | None) -> StoredClassification | None:
    """What the store keeps of a classification (None stays None: no taxonomy)."""
    return result.stored() if result is not None else None


def _facts(
    story: StoredStory,
    group: Sequence[MemberFacts],
    canonical_id: int,
    topics: Sequence[TopicRow],
    classified: StoredClassification | None,
    digest: str | None,
    weights: Mapping[str, float],
) -> StoryFacts:
    explanation = story.classification or {}
    relevance = classified.relevance if classified is not None else explanation.get("relevance")
    brief = classified.brief_probability if classified is not None else explanation.get("brief_probability")
    effective = effective_topics(topics)
    canon = next(m for m in group if m.article_id == canonical_id)
    return StoryFacts(
        topic_confidence=max((t.confidence for t in effective), default=0.0),
        off_topic=(digest is not None or classified is not None or story.classification is not None) and not effective,
        source_weight=canon.source_weight
        if canon.source_weight is not None
        else weights.get(canon.source_id, DEFAULT_SOURCE_WEIGHT),
        outlets=len({m.source_name or m.source_id for m in group}),
        published_at=min(m.published_at or m.fetched_at for m in group),
        used=story.used,
        rejected=story.state == "rejected",
        relevance=relevance,
        brief_probability=brief,
    )


def _facts_json(facts: StoryFacts) -> dict[str, Any]:
    return {
        "topic_confidence": round(facts.topic_confidence, 4),
        "source_weight": facts.source_weight,
        "outlets": facts.outlets,
        "published_at": facts.published_at.isoformat(),
        "used": facts.used,
        "rejected": facts.rejected,
        "relevance": facts.relevance,
        "brief_probability": facts.brief_probability,
    }
