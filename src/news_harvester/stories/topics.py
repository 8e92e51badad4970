"""Topic classification: the keyword rules of config/topics.yaml blended with the learned models.

A pure stage: no DB, no network, no clock. :func:`classify` gives every topic a confidence in [0, 1] and says
why (matched terms, exclusions, rule and model scores); the store and the ranking decide what to do with it.
topics.yaml is read and validated by news_harvester.stories.taxonomy (:func:`parse_taxonomy`, :func:`load_taxonomy`,
:func:`reload_taxonomy`, re-exported here); the keywords are found and scored by news_harvester.stories.keywords
(how titles and bodies are folded and matched is told there).

Scoring, per topic:

* raw = topic weight × Σ over matched terms of term weight × (``TITLE_BOOST`` if in the title
  + log2(1 + mentions in the body lead)). A title mention counts as much as 7 body mentions; repeats have
  diminishing returns (1, 3, 7 mentions → 1, 2, 3).
* rule confidence = 1 − 2^(−raw / ``HALF_SCORE``): 0.5 at raw 2.4, 0.75 at 4.8, never 1. With threshold 0.5 a
  keyword of weight ≥ 0.8 in the title tags the story; in the body alone a strong keyword needs 5 mentions, or
  several keywords must agree, so a passing mention does not tag a story.
* an ``exclude`` phrase in the title or body lead suppresses the topic (confidence 0, phrase reported).
* with the shipped cold-start model (:mod:`news_harvester.stories.prior_model`, on from the first day): base
  confidence = 1 − (1 − rule confidence) × (1 − q), q = the model's P(relevant) × P(topic); two weak signals
  that agree make a topic, and words the keyword lists never named (learned by weak supervision) count.
* with the editors' model (:class:`~news_harvester.stories.topic_model.TopicModel`, seen through :class:`EditorsModel`):
  confidence = (1 − w_t) × base + w_t × model probability for the topics it was trained on, w_t =
  ``model.topic_weight(topic)``: the blend weight (grows with the labels, at most 0.6) scaled by n / (n + 30) for a
  topic with n labelled stories, so a topic the editors barely touched keeps its base. Exclusions still win over
  every model: they are editorial decisions.
* relevance (``Classification.relevance``, "P(belongs in the brief)"): 1 − (1 − best rule confidence) ×
  (1 − the cold-start model's P(relevant)), blended with the editors' P(accept) like a topic, and never below
  the best topic's confidence. It orders the stories that have no topic (ranking.py). When it reaches the
  threshold but no subject topic does, the likeliest subject topic takes it (``from_relevance``): a story that
  belongs in the brief is not buried for want of a keyword.
* ``requires``: a context topic (统计数据, 国际动态) counts only when one of the topics it names reaches the
  threshold too: county investment figures are not 统计数据 for this brief, a French strike is not 国际动态.
* the story's topics: confidence ≥ threshold, at most ``max_topics`` (3), ordered by confidence +
  ``PRIMARY_WEIGHT`` × the cold-start model's P(editors file it under this topic first).

Only the first ``BODY_CHARS`` characters of the body are read (news puts its subject in the lead), so a 5 MB
body costs what a 3,000-character one does. An empty or one-line body classifies on the title; with no title,
the body's first line plays the title. Text in a language without keywords matches nothing: off-topic.

Measured (``python tests/topics_eval.py``; 188 hand-labelled real texts, 158 of them general news labelled
none, plus the brief's 9 items): micro precision 0.956 / recall 0.896, macro 0.974 / 0.935, exact topic set
0.968, every none text off-topic. The keyword lists were seeded from the brief and domain vocabulary, then
the misses were read once and general terms added (外泄, 国际贸易, 商务部, 走出去, 同比 …), so these figures
are in-sample. Out of sample: of 2,000 THUCNews headlines each, 2 sports, 1 entertainment and 3 game
headlines get a topic (0.1 %, 0.05 %, 0.15 %). ``TITLE_BOOST`` and ``HALF_SCORE`` were chosen on the set:

============  ============  =====================  =====================  ===============
TITLE_BOOST   HALF_SCORE    micro P / R            macro P / R            none off-topic
============  ============  =====================  =====================  ===============
2.5           2.0           0.880 / 0.917          0.911 / 0.948          0.975
3.0           2.0           0.865 / 0.938          0.899 / 0.962          0.975
2.5           2.4           0.951 / 0.812          0.974 / 0.823          1.000
**3.0**       **2.4**       **0.956 / 0.896**      **0.974 / 0.935**      **1.000**
4.0           2.4           0.938 / 0.938          0.962 / 0.962          1.000
3.0           2.8           0.974 / 0.771          0.991 / 0.800          1.000
============  ============  =====================  =====================  ===============

Speed: 3,100 stories per CPU second on that set (about 2,000 on a busy machine; bodies cut at 3,000
characters), one ``findall`` per title and per body; building a taxonomy (the trie regex) takes about 0.1 s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Protocol

from news_harvester.models import pickled_as_tuple
from news_harvester.stories.keywords import (
    BODY_CHARS,
    HALF_SCORE,
    TITLE_BOOST,
    Term,
    TermMatch,
    raw_score,
    rule_confidence,
)
from news_harvester.stories.taxonomy import (
    DEFAULT_MAX_TOPICS,
    Taxonomy,
    Topic,
    load_taxonomy,
    parse_taxonomy,
    reload_taxonomy,
)
from news_harvester.stories.textfold import normalise_text
from news_harvester.story_records import SCORE_DEFAULTS, StoredClassification


class EditorsVerdictLike(Protocol):
    """One assessment of the editors' model (news_harvester.stories.topic_model.EditorsVerdict)."""

    @property
    def topics(self) -> dict[str, float]: ...

    @property
    def accept(self) -> float | None: ...

    @property
    def primary(self) -> dict[str, float] | None: ...


class EditorsModel(Protocol):
    """What ``classify`` asks of the editors' learned model (news_harvester.stories.topic_model.TopicModel); a
    protocol, so the rules never import the model that builds on them."""

    @property
    def blend_weight(self) -> float: ...

    def assess(self, title: str, body: str) -> EditorsVerdictLike: ...

    def topic_weight(self, topic_id: str) -> float: ...


class PriorVerdict(Protocol):
    """One prediction of the cold-start model (news_harvester.stories.prior_model.PriorPrediction)."""

    @property
    def relevance(self) -> float: ...

    @property
    def topics(self) -> dict[str, float]: ...

    @property
    def contributions(self) -> tuple[tuple[str, float], ...]: ...

    @property
    def primary(self) -> dict[str, float]: ...


class ColdStartModel(Protocol):
    """What ``classify`` asks of the shipped cold-start model (news_harvester.stories.prior_model.PriorModel)."""

    def predict(self, title: str, body: str, explain: int = 0) -> PriorVerdict: ...


__all__ = [
    "BODY_CHARS",
    "HALF_SCORE",
    "TITLE_BOOST",
    "Classification",
    "Taxonomy",
    "Term",
    "TermMatch",
    "Topic",
    "TopicScore",
    "classify",
    "load_taxonomy",
    "normalise_text",
    "parse_taxonomy",
    "reload_taxonomy",
]

PRIOR_TERMS = 6
"""How many of the cold-start model's strongest n-grams an explanation lists."""
EXPLAIN_FROM = 0.05
"""The cold-start model's P(relevant) from which its strongest n-grams are listed in the explanation."""
PRIMARY_WEIGHT = 0.25
"""How much the primary-topic probability weighs against the confidence when topics are ordered (chosen on the
relevance set's dev split: 0 / 0.25 / 0.5 / 1 gave first topic 0.77 / 0.81 / 0.80 / 0.78)."""

# --------------------------------------------------------------------------- records


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class TopicScore:
    """One topic's verdict for a story and the evidence behind it."""

    topic_id: str
    name: str
    confidence: float
    rule_score: float
    """Rule confidence in [0, 1] (the saturated raw score), comparable with ``model_score``."""
    model_score: float | None
    matched: tuple[TermMatch, ...]
    excluded_by: tuple[str, ...]
    raw_score: float = 0.0
    unmet_requires: tuple[str, ...] = ()
    """Set when a context topic was dropped because none of its required topics reached the threshold."""
    prior_score: float | None = None
    """The shipped cold-start model's P(relevant and this topic), when it took part."""
    primary: float | None = None
    """The cold-start model's P(editors file the story under this topic first | it belongs): orders the topics."""
    from_relevance: bool = False
    """No topic reached the threshold on its own, the story as a whole did: this, its likeliest topic, took the
    story's P(belongs in the brief) as its confidence."""


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Classification:
    """Every topic's score for one story; ``topics`` are the ones the story gets."""

    scores: tuple[TopicScore, ...]
    """Every topic with confidence > 0, best first; then topics with evidence that an exclusion or an unmet
    ``requires`` suppressed (confidence 0), so the explanation shows why."""
    threshold: float
    max_topics: int = DEFAULT_MAX_TOPICS
    model_weight: float | None = None
    """The model's blend weight when a model took part, else None."""
    relevance: float | None = None
    """P(the story belongs in the brief at all): rules and the cold-start model combined (and the editors'
    model once trained); None when no model took part. Orders the stories that have no topic."""
    prior_terms: tuple[tuple[str, float], ...] = ()
    """The character n-grams that raised the cold-start model's relevance most (the explanation)."""
    accept: float | None = None
    """P(an editor accepts the story) from the editors' model, when it was trained on accept/reject labels."""

    @property
    def topics(self) -> tuple[TopicScore, ...]:
        """The story's topics: confidence ≥ threshold, best first, at most ``max_topics``."""
        return tuple(s for s in self.scores if s.confidence >= self.threshold)[: self.max_topics]

    @property
    def off_topic(self) -> bool:
        return not self.topics

    @property
    def confidence(self) -> float:
        return self.scores[0].confidence if self.scores else 0.0

    def to_json(self, *, compact: bool = False) -> dict[str, Any]:
        """The explanation, JSON-serialisable: chosen topics, and per topic both scores and the evidence.
        ``compact`` (as stored): a per-topic field holding its default (``story_records.SCORE_DEFAULTS``: no
        matched term, no editors' model score …) is left out; ``story_records.expand_classification`` puts it
        back."""
        return {
            "topics": [s.topic_id for s in self.topics],
            "confidence": round(self.confidence, 4),
            "off_topic": self.off_topic,
            "threshold": self.threshold,
            "model_weight": None if self.model_weight is None else round(self.model_weight, 4),
            "brief_probability": None if self.relevance is None else round(self.relevance, 4),
            "prior_terms": [[g, w] for g, w in self.prior_terms],
            "scores": [_score_json(s, compact) for s in self.scores],
        }

    def stored(self) -> StoredClassification:
        """The form the store keeps (the editors' P(accept), when known, rides in the explanation as
        ``relevance``)."""
        explanation = self.to_json(compact=True)
        if self.accept is not None:
            explanation["relevance"] = round(self.accept, 4)
        return StoredClassification(
            json.dumps(explanation, ensure_ascii=False),
            tuple((s.topic_id, s.confidence) for s in self.topics),
            explanation["brief_probability"],
            explanation.get("relevance"),
        )


def _score_json(s: TopicScore, compact: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"topic": s.topic_id, "name": s.name, "confidence": round(s.confidence, 4)}
    fields = {
        "rule_score": round(s.rule_score, 4),
        "raw_score": round(s.raw_score, 4),
        "model_score": None if s.model_score is None else round(s.model_score, 4),
        "prior_score": None if s.prior_score is None else round(s.prior_score, 4),
        "from_relevance": s.from_relevance,
        "primary": None if s.primary is None else round(s.primary, 4),
        "matched": [{"term": m.term, "weight": m.weight, "in_title": m.in_title, "count": m.count} for m in s.matched],
        "excluded_by": list(s.excluded_by),
        "unmet_requires": list(s.unmet_requires),
    }
    if compact:
        entry.update((k, v) for k, v in fields.items() if v != SCORE_DEFAULTS[k])
    else:
        entry.update(fields)
    return entry


# --------------------------------------------------------------------------- classify


def classify(
    taxonomy: Taxonomy,
    title: str,
    body: str,
    model: EditorsModel | None = None,
    prior: ColdStartModel | None = None,
) -> Classification:
    """Every topic's confidence for a story and the evidence (see the module docstring for the rules).

    With ``prior`` (the shipped cold-start model, :mod:`news_harvester.stories.prior_model`), each topic's base
    confidence is the noisy-OR of the rule confidence and the model's P(relevant and topic): two weak signals
    that agree make a topic, and vocabulary the rules never named still counts. ``relevance`` is the noisy-OR of
    the best rule confidence and the model's P(relevant)."""
    assert taxonomy.matcher is not None
    title, body = title or "", body or ""
    if not title.strip():
        title, _, body = body.lstrip().partition("\n")
    matches, excluded = taxonomy.matcher.scan(title, body)
    editors = model.assess(title, body) if model is not None else None
    probabilities = editors.topics if editors is not None else {}
    w = model.blend_weight if model is not None else 0.0
    prediction = prior.predict(title, body, explain=PRIOR_TERMS) if prior is not None else None
    editors_first = editors.primary if editors is not None else None
    scores: dict[str, TopicScore] = {}
    for index, topic in enumerate(taxonomy.topics):
        matched = tuple(sorted(matches.get(index, ()), key=lambda m: (-m.weight, not m.in_title, -m.count, m.term)))
        raw = raw_score(topic, matched)
        rule = rule_confidence(raw)
        base = rule
        q = None
        if prediction is not None and topic.id in prediction.topics:
            q = round(prediction.topics[topic.id] * prediction.relevance, 6)
            base = 1.0 - (1.0 - rule) * (1.0 - q)
        p = probabilities.get(topic.id)
        wt = model.topic_weight(topic.id) if model is not None else 0.0
        confidence = round(base if p is None else (1.0 - wt) * base + wt * p, 6)
        blocked = tuple(excluded.get(index, ()))
        if blocked:
            confidence = 0.0
        first = prediction.primary.get(topic.id) if prediction is not None else None
        if editors_first is not None:
            # how this desk files stories, learned from its single-topic labels, gains weight with the labels
            first = (1.0 - w) * (first or 0.0) + w * editors_first.get(topic.id, 0.0)
        scores[topic.id] = TopicScore(
            topic.id, topic.name, confidence, rule, p, matched, blocked, raw, prior_score=q, primary=first
        )
    relevance = None
    terms: tuple[tuple[str, float], ...] = ()
    if prediction is not None:
        # Context topics (统计数据, 国际动态) say nothing about belonging on their own: a football match in
        # Germany names a foreign country, a house-price report has figures.
        subjects = [scores[t.id] for t in taxonomy.topics if not t.requires]
        best_rule = max((s.rule_score for s in subjects if not s.excluded_by), default=0.0)
        relevance = 1.0 - (1.0 - best_rule) * (1.0 - prediction.relevance)
        if editors is not None and editors.accept is not None:
            relevance = (1.0 - w) * relevance + w * editors.accept
        relevance = round(max([relevance, *(s.confidence for s in subjects)]), 6)
        # the n-grams that made a story relevant explain something only when it is somewhat relevant
        terms = prediction.contributions if prediction.relevance >= EXPLAIN_FROM else ()
        _inherit_relevance(taxonomy, scores, relevance)
    passing = {tid for tid, s in scores.items() if s.confidence >= taxonomy.threshold}
    for topic in taxonomy.topics:
        score = scores[topic.id]
        if topic.requires and score.confidence > 0 and not passing.intersection(topic.requires):
            scores[topic.id] = replace(score, confidence=0.0, unmet_requires=topic.requires)
    order = {t.id: i for i, t in enumerate(taxonomy.topics)}
    shown = [s for s in scores.values() if s.confidence > 0 or s.matched or s.model_score]
    # Which topic comes first: the confidence, nudged by how editors file such stories (the primary-topic head
    # of the cold-start model, learned from exemplars written for one topic each).
    shown.sort(key=lambda s: (-(s.confidence + PRIMARY_WEIGHT * (s.primary or 0.0)), order[s.topic_id]))
    return Classification(
        tuple(shown),
        taxonomy.threshold,
        taxonomy.max_topics,
        w if model is not None else None,
        relevance,
        terms,
        editors.accept if editors is not None else None,
    )


def _inherit_relevance(taxonomy: Taxonomy, scores: dict[str, TopicScore], relevance: float) -> None:
    """A story that belongs in the brief gets a topic: when P(belongs) reaches the threshold but no subject topic
    does, the most likely subject topic takes that probability (marked ``from_relevance``). Context topics
    (``requires``) and excluded topics never inherit."""
    subjects = [s for t in taxonomy.topics if not t.requires and not (s := scores[t.id]).excluded_by]
    if relevance < taxonomy.threshold or any(s.confidence >= taxonomy.threshold for s in subjects):
        return
    best = max(subjects, key=lambda s: (s.confidence, s.prior_score or 0.0), default=None)
    if best is not None and (best.confidence > 0 or best.prior_score):
        scores[best.topic_id] = replace(best, confidence=relevance, from_relevance=True)
