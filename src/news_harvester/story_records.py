"""The records the story logic and the store hand each other, and nothing else.

The store reads stored articles and stories into these records, asks the story logic (handed to it as a
:mod:`news_harvester.store.story_ports` decider, never imported) what to do, and writes the records it gets back.
Keeping the records here, below both, is what lets neither import the other: the story logic stays values in,
records out, and the store stays SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from news_harvester.models import Article, TopicRow, pickled_as_tuple

if TYPE_CHECKING:
    import numpy as np

Layer = Literal["url", "content_hash", "minhash", "title"]
Kind = Literal["exact_duplicate", "same_story", "new_story"]


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class DedupeDoc:
    """What dedupe needs of an article. ``url`` is already canonical; ``published_at`` is timezone-aware
    (the caller falls back to the fetch time when the page shows no date)."""

    id: int
    url: str
    title: str
    body: str
    published_at: datetime | None = None


def article_doc(article: Article, article_id: int = 0) -> DedupeDoc:
    """The dedupe document of a harvested article (undated: dated by its fetch time); ``article_id`` once stored."""
    return DedupeDoc(
        id=article_id,
        url=article.url,
        title=article.title,
        body=article.body_text,
        published_at=article.published_at or article.fetched_at,
    )


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Fingerprint:
    """Everything the index keeps about one document."""

    doc_id: int
    url: str
    content_hash: str | None
    body_chars: int
    minhash: np.ndarray[Any, np.dtype[np.uint32]] | None
    title_bigrams: frozenset[str]
    published_at: datetime | None
    band_keys: tuple[int, ...] = ()
    """One LSH bucket key per band of the MinHash (empty for a short body): see ``dedupe.band_keys``."""
    title_keys: frozenset[int] = frozenset()
    """One 64-bit key per title bigram: what the title layer looks up."""

    @property
    def is_short(self) -> bool:
        return self.minhash is None


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class DedupeDecision:
    """Which story an article joins (or that it starts one), by which layer and how similar."""

    kind: Kind
    story_id: int | None = None
    similarity: float = 0.0
    layer: Layer | None = None
    matched_doc: int | None = None

    @classmethod
    def exact_duplicate(cls, story_id: int, layer: Layer, matched_doc: int | None = None) -> DedupeDecision:
        return cls("exact_duplicate", story_id, 1.0, layer, matched_doc)

    @classmethod
    def same_story(
        cls, story_id: int, similarity: float, layer: Layer, matched_doc: int | None = None
    ) -> DedupeDecision:
        return cls("same_story", story_id, similarity, layer, matched_doc)

    @classmethod
    def new_story(cls) -> DedupeDecision:
        return cls("new_story")


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class UsedStoryText:
    """The canonical article of a story used in a published issue, as stored: what follow-up detection
    fingerprints (``stories.assign.UsedStory``)."""

    story_id: int
    doc: DedupeDoc


# --------------------------------------------------------------------------- refreshing a story


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class MemberFacts:
    """What the refresh needs of one member article."""

    article_id: int
    source_id: str
    source_name: str | None
    source_weight: float | None
    published_at: datetime | None
    fetched_at: datetime


SCORE_DEFAULTS: dict[str, Any] = {
    "rule_score": 0.0,
    "raw_score": 0.0,
    "model_score": None,
    "prior_score": None,
    "from_relevance": False,
    "primary": None,
    "matched": [],
    "excluded_by": [],
    "unmet_requires": [],
}
"""The fields of a stored classification's per-topic entry that are left out when they hold these values.

With the cold-start model every topic has a confidence, so every story's explanation lists all topics, most of
them with no matched term, no exclusion and no editors' model score: written out in full that was ~3.4 kB of
JSON per story, the biggest column of the database. Readers get the full entry back from
:func:`expand_classification`; what is shown and scripted (``stories show --json``, the review API) is unchanged."""


def expand_classification(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored classification with every per-topic entry complete (older rows, written in full, pass through)."""
    if stored is None:
        return None
    scores = stored.get("scores")
    if scores:
        stored["scores"] = [_full_entry(entry) for entry in scores]
    return stored


def _full_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """One per-topic entry with its fields in the order ``Classification.to_json`` writes them."""
    full: dict[str, Any] = {k: entry[k] for k in ("topic", "name", "confidence") if k in entry}
    for key, default in SCORE_DEFAULTS.items():
        # a default list is copied: a caller changing one entry's list must not change another's
        full[key] = entry[key] if key in entry else list(default) if isinstance(default, list) else default
    for key, value in entry.items():
        full.setdefault(key, value)
    return full


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class StoredClassification:
    """A story's classification in the form the store keeps: the explanation as JSON text (the compact form of
    ``Classification.to_json``) and the facts the refresh reads from it. Made where the article was read, so the
    writer (the busier process under load) neither unpickles a dozen per-topic records per article nor builds and
    encodes their JSON."""

    explanation: str
    topics: tuple[tuple[str, float], ...]
    """(topic id, confidence) of the story's topics, best first."""
    brief_probability: float | None
    """P(the story belongs in the brief) (rules and the cold-start model), when a model took part."""
    relevance: float | None = None
    """P(an editor accepts the story) from the editors' model, when it was trained on accept/reject labels."""


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class StoredStory:
    """A story's stored state as the refresh reads it (``classification`` as stored: the refresh reads only its
    probabilities, so its per-topic entries are not expanded)."""

    story_id: int
    canonical_article_id: int | None
    taxonomy_digest: str | None
    classification: dict[str, Any] | None
    used: bool
    state: str | None
    topics: tuple[TopicRow, ...]


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class StoryRefresh:
    """What to write for one story. ``classification`` is set only when the story was classified afresh; then
    ``auto_topics`` replace the stored classifier topics (editors' rows are kept) and ``taxonomy_digest`` names
    what classified it, and ``classification`` is the explanation's JSON text as stored (see
    :class:`StoredClassification`). ``score_parts`` is the explanation stored beside the score."""

    story_id: int
    canonical_article_id: int
    score: float
    score_parts: dict[str, Any]
    outlets: int
    classification: str | None = None
    taxonomy_digest: str | None = None
    auto_topics: tuple[TopicRow, ...] = ()
