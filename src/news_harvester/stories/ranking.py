"""Relevance score of a story for the review queue, kept as named parts so the queue can say why.

A pure stage: :class:`StoryFacts` in, :class:`Score` out. The score is a weighted sum of parts on one
scale (points; a fresh on-topic official story scores about 100):

==============  =====================================================================================
part            meaning
==============  =====================================================================================
``topic``       best topic confidence (0–1), or P(belongs in the brief) when higher, × ``topic`` points: the
                brief only carries its topics.
``source``      canonical source weight / ``max_weight`` (sources.yaml weights run 1–10) × ``source``:
                商务部 (10) outranks a reprint site (4).
``outlets``     how many distinct outlets carry the story, log-saturating at ``outlet_saturation``:
                a story reprinted by five outlets matters more than a single flash.
``recency``     ``0.5 ** (age / half_life)`` × ``recency``: the brief is monthly, so a week-old story
                still counts half, a two-month-old one almost nothing.
``editor_fit``  when the learned model was trained on accept/reject labels: (P(accept) − 0.5) × 2 ×
                ``editor_fit`` points (−…+), i.e. "stories like this one were accepted before".
``off_topic``   when no topic reaches the taxonomy threshold: −``off_topic`` × (1 − P(belongs in the brief)),
                so stories without a topic are still ordered by how likely they belong (a near miss above
                sports news); −``off_topic`` in full when no probability is known.
``used``        −``used`` points when the story already appeared in a published issue (it should
                not come back; follow-ups are separate stories).
``rejected``    −``rejected`` points once an editor rejected it.
==============  =====================================================================================

Recency makes a stored score age; the daemon re-scores the window periodically (``StoryService``)
and every change to a story (new member, new canonical, topics, state) re-scores it at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class RankingParams:
    """Points per part; the defaults are editorial policy, not measurement (see module docstring)."""

    topic: float = 40.0
    source: float = 25.0
    outlets: float = 15.0
    recency: float = 20.0
    editor_fit: float = 15.0
    off_topic: float = 30.0
    used: float = 100.0
    rejected: float = 100.0
    half_life_days: float = 7.0
    max_weight: float = 10.0
    outlet_saturation: int = 5


@dataclass(frozen=True, slots=True)
class StoryFacts:
    """What the score reads of a story (gathered by the store)."""

    topic_confidence: float
    off_topic: bool
    source_weight: float
    outlets: int
    published_at: datetime
    used: bool = False
    rejected: bool = False
    relevance: float | None = None
    """P(accepted) from the learned model, when it was trained on accept/reject labels."""
    brief_probability: float | None = None
    """P(the story belongs in the brief) from the classification (rules + cold-start model), when known."""


@dataclass(frozen=True, slots=True)
class Score:
    total: float
    parts: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "parts": dict(self.parts)}


def score_story(facts: StoryFacts, now: datetime, params: RankingParams | None = None) -> Score:
    """Score of one story at ``now`` (timezone-aware, like ``facts.published_at``)."""
    p = params or RankingParams()
    parts: dict[str, float] = {
        "topic": p.topic * _clamp(max(facts.topic_confidence, facts.brief_probability or 0.0)),
        "source": p.source * _clamp(facts.source_weight / p.max_weight),
        "outlets": p.outlets * _clamp(math.log(max(facts.outlets, 1)) / math.log(max(p.outlet_saturation, 2))),
        "recency": p.recency * _recency(facts.published_at, now, p.half_life_days),
    }
    if facts.relevance is not None:
        parts["editor_fit"] = p.editor_fit * (2.0 * _clamp(facts.relevance) - 1.0)
    if facts.off_topic:
        # A calibrated probability, not a constant: a near miss keeps most of its points, sports news none.
        doubt = 1.0 if facts.brief_probability is None else 1.0 - _clamp(facts.brief_probability)
        parts["off_topic"] = -p.off_topic * doubt
    if facts.used:
        parts["used"] = -p.used
    if facts.rejected:
        parts["rejected"] = -p.rejected
    rounded = {name: round(value, 2) for name, value in parts.items()}
    return Score(round(sum(parts.values()), 2), rounded)


def _recency(published_at: datetime, now: datetime, half_life_days: float) -> float:
    age_days = (now - published_at).total_seconds() / 86400.0
    if age_days <= 0:
        return 1.0  # a date in the future (a source's clock or timezone slip) is "now", never a bonus
    return float(0.5 ** (age_days / half_life_days))


def _clamp(value: float) -> float:
    if math.isnan(value):
        return 0.0
    return min(1.0, max(0.0, value))
