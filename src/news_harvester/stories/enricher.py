"""A story's canonical member, classification and score: pure, from the facts of its members and the text of its
canonical article. Used when a story is refreshed (news_harvester.stories.refresh) and by the run's batch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from news_harvester.stories.ranking import RankingParams, Score, StoryFacts, score_story
from news_harvester.stories.topics import Classification, Taxonomy, classify

if TYPE_CHECKING:
    from news_harvester.stories.prior_model import PriorModel
    from news_harvester.stories.topic_model import TopicModel

DEFAULT_WEIGHT = 1.0
"""Weight of a source missing from the mapping (``SourceSpec.weight``'s default)."""


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
