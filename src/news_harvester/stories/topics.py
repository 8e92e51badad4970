"""Topic classification: the taxonomy of config/topics.yaml, explainable keyword rules, and the learned-model blend.

A pure stage: no DB, no network, no clock. :func:`classify` gives every topic a confidence in [0, 1] and says
why (matched terms, exclusions, rule and model scores); the store and the ranking decide what to do with it.
topics.yaml is validated here (:func:`parse_taxonomy`); every problem is reported as ``file:LINE: field:
problem (hint: …)``, and :func:`reload_taxonomy` keeps the last valid taxonomy when an edit is broken.

Matching. Title and body are folded as dedupe folds them (NFKC where a compatibility character such as ＡＩ
is present, traditional → simplified with the table read off :func:`news_harvester.stories.dedupe.normalise_for_dedupe`,
so both stages agree; text with traditional characters first has its Taiwan / Hong Kong wording turned into
mainland wording phrase by phrase, OpenCC ``tw2sp``: 個人資料 → 个人数据, 晶片 → 芯片, 人工智慧 → 人工智能)
and whitespace next to CJK characters is dropped ("5G 基站" = "5G基站"). Chinese terms match as substrings.
Terms that begin or end with an ASCII letter or digit match on ASCII word boundaries ("AI" never inside "said",
"AI技术" matches); a space in a term matches any run of punctuation or whitespace ("cross-border e-commerce");
lower-case English words also match their plural (tariff → tariffs). A term
written without lower-case letters (AI, 5G, GDPR) is an acronym and matches case-sensitively, so the pinyin
"Ai" of a song lyric is not artificial intelligence; the others ignore case. All keywords, exclusions and
``ignore`` phrases of a taxonomy are compiled into one regular expression shaped as a character trie and
dispatched by small lookahead classes; ``findall`` over it gives non-overlapping, leftmost matches, the
longest at each position, so "跨境电商" is one match (not also "电商") and "外包装" (ignored) hides "外包".

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

import difflib
import hashlib
import json
import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from news_harvester.errors import ConfigError
from news_harvester.stories.textfold import NOT_WORD, canonical, char_class, fold, normalise_text


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

BODY_CHARS = 3000
"""Characters of the body the rules read: the lead carries the subject (the model reads fewer)."""
TITLE_CHARS = 500
TITLE_BOOST = 3.0
"""A term in the title counts as much as this many log2 units of body mentions."""
HALF_SCORE = 2.4
"""The raw score whose confidence is 0.5 (see the module docstring)."""
DEFAULT_THRESHOLD = 0.5
DEFAULT_MAX_TOPICS = 3
PRIOR_TERMS = 6
"""How many of the cold-start model's strongest n-grams an explanation lists."""
EXPLAIN_FROM = 0.05
"""The cold-start model's P(relevant) from which its strongest n-grams are listed in the explanation."""
PRIMARY_WEIGHT = 0.25
"""How much the primary-topic probability weighs against the confidence when topics are ordered (chosen on the
relevance set's dev split: 0 / 0.25 / 0.5 / 1 gave first topic 0.77 / 0.81 / 0.80 / 0.78)."""
ERROR_CODE = "config.topics"

# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class Term:
    """A keyword (Chinese or English) and its weight: 1 = decisive in a title, 0.5 supporting, ≤ 0.3 context."""

    text: str
    weight: float


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic of the taxonomy: a stable ASCII id, the Chinese name editors see, and its rules."""

    id: str
    name: str
    keywords: tuple[Term, ...]
    exclude: tuple[str, ...]
    weight: float = 1.0
    description: str = ""
    requires: tuple[str, ...] = ()
    """Context topic: counts only when one of these topics reaches the threshold too."""


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """The validated topics.yaml; its keyword matcher is compiled once, when it is built."""

    topics: tuple[Topic, ...]
    threshold: float
    digest: str
    """sha256 (hex) of the canonical JSON of everything that affects classification; comments do not count."""
    max_topics: int = DEFAULT_MAX_TOPICS
    ignore: tuple[str, ...] = ()
    """Phrases that contain a keyword but never count as one (matched, then dropped)."""
    _matcher: _Matcher | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_matcher", _Matcher(self.topics, self.ignore))

    def get(self, topic_id: str) -> Topic | None:
        return next((t for t in self.topics if t.id == topic_id), None)

    @property
    def topic_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.topics)


@dataclass(frozen=True, slots=True)
class TermMatch:
    """A keyword found in a story: as written in topics.yaml, its weight, and where it was found."""

    term: str
    weight: float
    in_title: bool
    count: int
    """Mentions in the body lead (the title is counted by ``in_title``)."""


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

    def to_json(self) -> dict[str, Any]:
        """The explanation, JSON-serialisable: chosen topics, and per topic both scores and the evidence."""
        return {
            "topics": [s.topic_id for s in self.topics],
            "confidence": round(self.confidence, 4),
            "off_topic": self.off_topic,
            "threshold": self.threshold,
            "model_weight": None if self.model_weight is None else round(self.model_weight, 4),
            "brief_probability": None if self.relevance is None else round(self.relevance, 4),
            "prior_terms": [[g, w] for g, w in self.prior_terms],
            "scores": [
                {
                    "topic": s.topic_id,
                    "name": s.name,
                    "confidence": round(s.confidence, 4),
                    "rule_score": round(s.rule_score, 4),
                    "raw_score": round(s.raw_score, 4),
                    "model_score": None if s.model_score is None else round(s.model_score, 4),
                    "prior_score": None if s.prior_score is None else round(s.prior_score, 4),
                    "from_relevance": s.from_relevance,
                    "primary": None if s.primary is None else round(s.primary, 4),
                    "matched": [
                        {"term": m.term, "weight": m.weight, "in_title": m.in_title, "count": m.count}
                        for m in s.matched
                    ],
                    "excluded_by": list(s.excluded_by),
                    "unmet_requires": list(s.unmet_requires),
                }
                for s in self.scores
            ],
        }


# --------------------------------------------------------------------------- normalisation

_ASCII_WORD = "[0-9A-Za-z]"
_FAN = 6


def _is_acronym(text: str) -> bool:
    return not any(c.islower() for c in text) and any("A" <= c <= "Z" for c in text)


def _key(text: str) -> tuple[bool, str]:
    """(case-sensitive?, normalised form) of a term or phrase as it is looked up."""
    acronym = _is_acronym(text)
    folded = canonical(text)
    return acronym, folded if acronym else folded.casefold()


# --------------------------------------------------------------------------- matcher


def _trie(keys: Iterable[str], plural: bool) -> tuple[set[str], str]:
    """First characters and pattern of a character trie over ``keys`` (longest continuation first; ASCII word
    boundaries where a key begins or ends with an ASCII letter or digit; optional English plural)."""
    root: dict[str, Any] = {}
    for key in keys:
        node = root
        for ch in key:
            node = node.setdefault(ch, {})
        node[""] = {}

    def render(node: dict[str, Any], last: str) -> str:
        alternatives = [(r"[\W_]+" if ch == " " else re.escape(ch)) + render(node[ch], ch) for ch in sorted(node) if ch]
        if "" in node:
            end = ""
            if re.match(_ASCII_WORD, last):
                end = ("(?:es|s)?" if plural and last.isalpha() else "") + f"(?!{_ASCII_WORD})"
            alternatives.append(end)
        return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"

    def dispatch(items: list[tuple[str, str]]) -> str:
        # Small lookahead classes pick the branch, so a position tries a handful of tests, not every key.
        if len(items) <= _FAN:
            return "|".join(pattern for _, pattern in items)
        size = -(-len(items) // _FAN)
        groups = [items[i : i + size] for i in range(0, len(items), size)]
        return "|".join(f"(?={char_class(c for c, _ in g)})(?:{dispatch(g)})" for g in groups)

    branches = [
        (ch, re.escape(ch) + (f"(?<!{_ASCII_WORD}.)" if re.match(_ASCII_WORD, ch) else "") + render(root[ch], ch))
        for ch in sorted(root)
    ]
    return set(root), dispatch(branches) if branches else ""


@dataclass(slots=True)
class _Entry:
    terms: list[tuple[int, Term]] = field(default_factory=list)
    exclude: list[tuple[int, str]] = field(default_factory=list)


class _Matcher:
    """The compiled form of a taxonomy: one regular expression for every keyword, exclusion and ignore phrase,
    used with ``findall`` (group 1 is a phrase, '' is skipped text), and what each matched phrase means.

    Acronyms form a case-sensitive trie, tried first; the other phrases a case-insensitive one. Skipped text is
    consumed in runs (a whole ASCII word, or characters that start no phrase), so English text is not tried
    letter by letter; the cost stays near linear in the text length whatever the number of keywords.
    """

    def __init__(self, topics: Sequence[Topic], ignore: Sequence[str]) -> None:
        self.tables: tuple[dict[str, _Entry], dict[str, _Entry]] = ({}, {})  # [case-insensitive, case-sensitive]
        for index, topic in enumerate(topics):
            for term in topic.keywords:
                cs, key = _key(term.text)
                self.tables[cs].setdefault(key, _Entry()).terms.append((index, term))
            for phrase in topic.exclude:
                cs, key = _key(phrase)
                self.tables[cs].setdefault(key, _Entry()).exclude.append((index, phrase))
        for phrase in ignore:
            cs, key = _key(phrase)
            self.tables[cs].setdefault(key, _Entry())
        for table in self.tables:
            table.pop("", None)
        ci_first, ci_pattern = _trie(self.tables[0], plural=True)
        cs_first, cs_pattern = _trie(self.tables[1], plural=False)
        keys = "|".join(p for p in (cs_pattern, f"(?i:{ci_pattern})" if ci_pattern else "") if p)
        first = {c for ch in ci_first for c in (ch.lower(), ch.upper())} | cs_first
        skip = char_class(first | set(string.ascii_letters + string.digits), negate=True)
        self.pattern = (
            re.compile(f"((?={char_class(first)})(?:{keys}))|{_ASCII_WORD}+|{skip}+|.", re.DOTALL) if keys else None
        )

    def _lookup(self, found: str) -> _Entry | None:
        """What a matched phrase stands for (a plural match of an English word maps to the word)."""
        if not found.isalnum():
            found = NOT_WORD.sub(" ", found)
        entry = self.tables[1].get(found)
        if entry is None:
            folded = found.casefold()
            table = self.tables[0]
            entry = table.get(folded) or table.get(folded[:-1]) or table.get(folded[:-2])
        return entry

    def scan(self, title: str, body: str) -> tuple[dict[int, list[TermMatch]], dict[int, list[str]]]:
        """Matched terms and exclusion phrases per topic index."""
        if self.pattern is None:
            return {}, {}
        in_title = Counter(x for x in self.pattern.findall(fold(title[:TITLE_CHARS])) if x)
        in_body = Counter(x for x in self.pattern.findall(fold(body[:BODY_CHARS])) if x)
        counts: dict[int, list[int]] = {}  # id(entry) -> [title hits, body hits]
        entries: dict[int, _Entry] = {}
        for hits, slot in ((in_title, 0), (in_body, 1)):
            for found, n in hits.items():
                entry = self._lookup(found)
                if entry is not None:
                    entries[id(entry)] = entry
                    counts.setdefault(id(entry), [0, 0])[slot] += n
        matches: dict[int, list[TermMatch]] = {}
        excluded: dict[int, list[str]] = {}
        for key, entry in entries.items():
            title_hits, body_hits = counts[key]
            for index, term in entry.terms:
                matches.setdefault(index, []).append(TermMatch(term.text, term.weight, title_hits > 0, body_hits))
            for index, phrase in entry.exclude:
                excluded.setdefault(index, []).append(phrase)
        return matches, excluded


# --------------------------------------------------------------------------- classify


def rule_confidence(raw: float) -> float:
    """Saturating map of a raw rule score to [0, 1): 1 − 2^(−raw / HALF_SCORE), rounded to 6 places so that
    a score exactly at the threshold (a 0.8 keyword in the title) does not fall below it by float noise."""
    return round(1.0 - 2.0 ** (-raw / HALF_SCORE), 6) if raw > 0 else 0.0


def _raw_score(topic: Topic, matched: Sequence[TermMatch]) -> float:
    return topic.weight * sum(
        m.weight * ((TITLE_BOOST if m.in_title else 0.0) + math.log2(1 + m.count)) for m in matched
    )


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
    assert taxonomy._matcher is not None
    title, body = title or "", body or ""
    if not title.strip():
        title, _, body = body.lstrip().partition("\n")
    matches, excluded = taxonomy._matcher.scan(title, body)
    editors = model.assess(title, body) if model is not None else None
    probabilities = editors.topics if editors is not None else {}
    w = model.blend_weight if model is not None else 0.0
    prediction = prior.predict(title, body, explain=PRIOR_TERMS) if prior is not None else None
    editors_first = editors.primary if editors is not None else None
    scores: dict[str, TopicScore] = {}
    for index, topic in enumerate(taxonomy.topics):
        matched = tuple(sorted(matches.get(index, ()), key=lambda m: (-m.weight, not m.in_title, -m.count, m.term)))
        raw = _raw_score(topic, matched)
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


# --------------------------------------------------------------------------- topics.yaml

_TOP_KEYS = ("threshold", "max_topics", "ignore", "topics")
_TOPIC_KEYS = ("id", "name", "description", "weight", "keywords", "exclude", "requires")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MAX_TERM_WEIGHT = 5.0


class _Problems:
    """Collects ``origin:LINE: field: problem (hint: …)`` lines; raises them as one ConfigError."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.lines: list[str] = []

    def add(self, line: int | None, field_path: str, problem: str, hint: str = "") -> None:
        where = f"{self.origin}:{line}" if line else self.origin
        self.lines.append(f"{where}: {field_path}: {problem}" + (f" (hint: {hint})" if hint else ""))

    def raise_any(self) -> None:
        if self.lines:
            raise ConfigError("\n".join(self.lines), code=ERROR_CODE)


def _line(node: Any, key: Any = None) -> int | None:
    """1-based line of a ruamel node, or of ``key`` in a mapping / index in a sequence."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    try:
        if key is None:
            return int(lc.line) + 1
        if isinstance(node, Mapping):
            return int(lc.key(key)[0]) + 1
        return int(lc.item(key)[0]) + 1
    except (KeyError, TypeError, IndexError, AttributeError):
        return int(lc.line) + 1 if lc.line is not None else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _near(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def parse_taxonomy(text: str, origin: str = "<string>") -> Taxonomy:
    """Validate topics.yaml text; every problem is reported as ``origin:LINE: field: problem (hint: …)``."""
    try:
        data = YAML(typ="rt").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f"{origin}:{mark.line + 1}:{mark.column + 1}" if mark is not None else origin
        raise ConfigError(
            f"{where}: not valid YAML: {problem} (hint: check indentation and quoting on or just before this "
            f"line; quote keywords that contain ': ' or '#')",
            code=ERROR_CODE,
        ) from None
    problems = _Problems(origin)
    if not isinstance(data, Mapping) or not isinstance(data.get("topics"), list):
        problems.add(_line(data), "topics", "expected a mapping with a 'topics:' list at the top level")
        problems.raise_any()
    _unknown_keys(data, _TOP_KEYS, "", problems)
    threshold = _number(data.get("threshold", DEFAULT_THRESHOLD))
    if threshold is None or not 0 < threshold < 1:
        problems.add(
            _line(data, "threshold"),
            "threshold",
            f"{data.get('threshold')!r} is not a number between 0 and 1",
            "0.5 tags a story on one strong title keyword",
        )
        threshold = DEFAULT_THRESHOLD
    max_topics = data.get("max_topics", DEFAULT_MAX_TOPICS)
    if isinstance(max_topics, bool) or not isinstance(max_topics, int) or not 1 <= max_topics <= 10:
        problems.add(_line(data, "max_topics"), "max_topics", f"{max_topics!r} is not a whole number from 1 to 10")
        max_topics = DEFAULT_MAX_TOPICS
    ignore = tuple(_phrases(data, "ignore", "ignore", problems))
    topics = [t for i, node in enumerate(data["topics"]) if (t := _parse_topic(node, i, data["topics"], problems))]
    _check_ids(topics, problems)
    problems.raise_any()
    return Taxonomy(
        tuple(t for t, _ in topics), threshold, _digest(topics, threshold, max_topics, ignore), max_topics, ignore
    )


def _phrases(node: Mapping[str, Any], key: str, path: str, problems: _Problems) -> list[str]:
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(_line(node, key), path, "must be a list of phrases", f"e.g. {key}: [phrase one, phrase two]")
        return []
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not _key(item)[1]:
            problems.add(_line(value, i), f"{path}[{i}]", f"{item!r} is not a phrase with letters or digits")
        else:
            out.append(item)
    return out


def _parse_topic(node: Any, index: int, parent: Any, problems: _Problems) -> tuple[Topic, int | None] | None:
    path = f"topics[{index}]"
    if not isinstance(node, Mapping):
        problems.add(_line(parent, index), path, f"must be a mapping, got {type(node).__name__}")
        return None
    line, topic_id = _line(node), node.get("id")
    path = f"topics[{index}] ({topic_id})" if isinstance(topic_id, str) else path
    _unknown_keys(node, _TOPIC_KEYS, path + ".", problems)
    if not isinstance(topic_id, str) or not _ID_RE.match(topic_id):
        problem = "required but missing" if topic_id is None else f"{topic_id!r} is not an id"
        problems.add(_line(node, "id"), f"{path}.id", problem, "an ASCII slug such as cross-border-ecommerce")
    name = node.get("name")
    if not isinstance(name, str) or not name.strip():
        problem = "required but missing" if name is None else f"{name!r} is not a name"
        problems.add(_line(node, "name"), f"{path}.name", problem, "the Chinese name editors see, e.g. name: 跨境电商")
    weight = _number(node.get("weight", 1.0))
    if weight is None or not 0 < weight <= MAX_TERM_WEIGHT:
        problem = f"{node.get('weight')!r} is not a number in (0, {MAX_TERM_WEIGHT:g}]"
        problems.add(_line(node, "weight"), f"{path}.weight", problem)
    description = node.get("description", "")
    if not isinstance(description, str):
        problems.add(_line(node, "description"), f"{path}.description", "must be text")
    requires = node.get("requires") or []
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        problems.add(_line(node, "requires"), f"{path}.requires", "must be a list of topic ids")
        requires = []
    topic = Topic(
        id=str(topic_id),
        name=name.strip() if isinstance(name, str) else "",
        keywords=_parse_keywords(node, path, problems),
        exclude=tuple(_phrases(node, "exclude", f"{path}.exclude", problems)),
        weight=weight or 1.0,
        description=description.strip() if isinstance(description, str) else "",
        requires=tuple(requires),
    )
    return topic, line


def _unknown_keys(node: Mapping[str, Any], known: tuple[str, ...], prefix: str, problems: _Problems) -> None:
    for key in node:
        if key not in known:
            hint = f"{_near(str(key), known)}known: {', '.join(known)}"
            problems.add(_line(node, key), f"{prefix}{key}", "unknown key", hint)


def _parse_keywords(node: Mapping[str, Any], path: str, problems: _Problems) -> tuple[Term, ...]:
    keywords = node.get("keywords")
    line = _line(node, "keywords") if "keywords" in node else _line(node)
    if not isinstance(keywords, Mapping) or not keywords:
        problems.add(
            line,
            f"{path}.keywords",
            "required: a non-empty mapping of keyword: weight",
            "e.g. keywords: {跨境电商: 1.0, 海外仓: 1.0, 电商平台: 0.3}",
        )
        return ()
    terms: list[Term] = []
    seen: dict[tuple[bool, str], str] = {}
    for term, value in keywords.items():
        at = _line(keywords, term)
        if not isinstance(term, str) or not _key(term)[1]:
            problems.add(
                at,
                f"{path}.keywords",
                f"{term!r} is not a keyword with letters or digits",
                "quote numbers, e.g. '12306': 0.5",
            )
            continue
        weight = _number(value)
        if weight is None or not 0 < weight <= MAX_TERM_WEIGHT:
            problems.add(
                at,
                f"{path}.keywords.{term}",
                f"weight {value!r} is not a number in (0, {MAX_TERM_WEIGHT:g}]",
                "1.0 strong, 0.5 supporting, 0.2-0.3 context",
            )
            continue
        key = _key(term)
        if key in seen:
            problems.add(
                at,
                f"{path}.keywords.{term}",
                f"same keyword as {seen[key]!r} once traditional/simplified, width and case are folded",
            )
            continue
        seen[key] = term
        terms.append(Term(term, weight))
    return tuple(terms)


def _check_ids(topics: list[tuple[Topic, int | None]], problems: _Problems) -> None:
    first: dict[str, int | None] = {}
    for topic, line in topics:
        if topic.id in first:
            problems.add(
                line,
                f"topics ({topic.id})",
                f"duplicate id {topic.id!r} (first defined on line {first[topic.id]})",
                "every topic needs its own id",
            )
        first.setdefault(topic.id, line)
    context = {t.id for t, _ in topics if t.requires}
    for topic, line in topics:
        for required in topic.requires:
            if required not in first or required == topic.id or required in context:
                problems.add(
                    line,
                    f"topics ({topic.id}).requires",
                    f"{required!r} is not another topic without 'requires'",
                    f"known ids: {', '.join(first)}",
                )


def _digest(topics: list[tuple[Topic, int | None]], threshold: float, max_topics: int, ignore: tuple[str, ...]) -> str:
    canonical = {
        "threshold": threshold,
        "max_topics": max_topics,
        "ignore": list(ignore),
        "scoring": [BODY_CHARS, TITLE_BOOST, HALF_SCORE, "tw2sp"],
        "topics": [
            [
                t.id,
                t.name,
                t.weight,
                t.description,
                [[k.text, k.weight] for k in t.keywords],
                list(t.exclude),
                list(t.requires),
            ]
            for t, _ in topics
        ],
    }
    blob = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def load_taxonomy(path: Path) -> Taxonomy:
    """Read and validate topics.yaml; ConfigError (code ``config.topics``) names file, line, field and a hint."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: topics file not found (hint: config/topics.yaml ships with the project)", code=ERROR_CODE
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read topics file: {exc}", code=ERROR_CODE) from None
    return parse_taxonomy(text, str(path))


def reload_taxonomy(path: Path, current: Taxonomy | None) -> tuple[Taxonomy | None, ConfigError | None]:
    """``(taxonomy, None)`` for a valid file, else ``(current, error)``: the last valid taxonomy keeps working."""
    try:
        return load_taxonomy(path), None
    except ConfigError as exc:
        return current, exc
