"""Keyword rules: where topics.yaml's keywords, exclusions and ``ignore`` phrases occur in a story, and what the
keywords found score. Pure: values in, records out; news_harvester.stories.topics blends the score with the models.

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

The raw score of a topic is its weight × Σ over matched terms of term weight × (``TITLE_BOOST`` if in the title
+ log2(1 + mentions in the body lead)); :func:`rule_confidence` saturates it to [0, 1) (see
news_harvester.stories.topics for the whole scoring and how ``TITLE_BOOST`` and ``HALF_SCORE`` were chosen).
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Protocol

from news_harvester.stories.textfold import NOT_WORD, canonical, char_class, fold

BODY_CHARS = 3000
"""Characters of the body the rules read: the lead carries the subject (the model reads fewer)."""
TITLE_CHARS = 500
TITLE_BOOST = 3.0
"""A term in the title counts as much as this many log2 units of body mentions."""
HALF_SCORE = 2.4
"""The raw score whose confidence is 0.5 (see the module docstring)."""


class TopicRules(Protocol):
    """What the matcher and the raw score read of a topic (news_harvester.stories.taxonomy.Topic); a protocol, so
    the rules never import the taxonomy that compiles them."""

    @property
    def keywords(self) -> tuple[Term, ...]: ...

    @property
    def exclude(self) -> tuple[str, ...]: ...

    @property
    def weight(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Term:
    """A keyword (Chinese or English) and its weight: 1 = decisive in a title, 0.5 supporting, ≤ 0.3 context."""

    text: str
    weight: float


@dataclass(frozen=True, slots=True)
class TermMatch:
    """A keyword found in a story: as written in topics.yaml, its weight, and where it was found."""

    term: str
    weight: float
    in_title: bool
    count: int
    """Mentions in the body lead (the title is counted by ``in_title``)."""


# --------------------------------------------------------------------------- normalisation

_ASCII_WORD = "[0-9A-Za-z]"
_FAN = 6


def _is_acronym(text: str) -> bool:
    return not any(c.islower() for c in text) and any("A" <= c <= "Z" for c in text)


@lru_cache(maxsize=1 << 16)
def term_key(text: str) -> tuple[bool, str]:
    """(case-sensitive?, normalised form) of a term or phrase as it is looked up (cached: a taxonomy's ~3,000
    terms are keyed when it is read and again when its matcher is built)."""
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


class KeywordMatcher:
    """The compiled form of a taxonomy: one regular expression for every keyword, exclusion and ignore phrase,
    used with ``findall`` (group 1 is a phrase, '' is skipped text), and what each matched phrase means.

    Acronyms form a case-sensitive trie, tried first; the other phrases a case-insensitive one. Skipped text is
    consumed in runs (a whole ASCII word, or characters that start no phrase), so English text is not tried
    letter by letter; the cost stays near linear in the text length whatever the number of keywords.
    """

    def __init__(self, topics: Sequence[TopicRules], ignore: Sequence[str]) -> None:
        self.tables: tuple[dict[str, _Entry], dict[str, _Entry]] = ({}, {})  # [case-insensitive, case-sensitive]
        for index, topic in enumerate(topics):
            for term in topic.keywords:
                cs, key = term_key(term.text)
                self.tables[cs].setdefault(key, _Entry()).terms.append((index, term))
            for phrase in topic.exclude:
                cs, key = term_key(phrase)
                self.tables[cs].setdefault(key, _Entry()).exclude.append((index, phrase))
        for phrase in ignore:
            cs, key = term_key(phrase)
            self.tables[cs].setdefault(key, _Entry())
        for table in self.tables:
            table.pop("", None)
        ci_first, ci_pattern = _trie(self.tables[0], plural=True)
        cs_first, cs_pattern = _trie(self.tables[1], plural=False)
        keys = "|".join(p for p in (cs_pattern, f"(?i:{ci_pattern})" if ci_pattern else "") if p)
        first = {c for ch in ci_first for c in (ch.lower(), ch.upper())} | cs_first
        skip = char_class(first | set(string.ascii_letters + string.digits), negate=True)
        self._source = f"((?={char_class(first)})(?:{keys}))|{_ASCII_WORD}+|{skip}+|." if keys else None

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        """Compiled at the first scan (~60 ms for the shipped taxonomy): a command that loads the classifier but
        classifies nothing, such as accepting a story already classified, never pays for it."""
        return re.compile(self._source, re.DOTALL) if self._source is not None else None

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


# --------------------------------------------------------------------------- score


def rule_confidence(raw: float) -> float:
    """Saturating map of a raw rule score to [0, 1): 1 − 2^(−raw / HALF_SCORE), rounded to 6 places so that
    a score exactly at the threshold (a 0.8 keyword in the title) does not fall below it by float noise."""
    return round(1.0 - 2.0 ** (-raw / HALF_SCORE), 6) if raw > 0 else 0.0


def raw_score(topic: TopicRules, matched: Sequence[TermMatch]) -> float:
    """The topic weight × Σ over matched terms of term weight × (``TITLE_BOOST`` if in the title + log2(1 +
    mentions in the body lead)): a title mention counts as much as 7 body mentions, repeats have diminishing
    returns."""
    return topic.weight * sum(
        m.weight * ((TITLE_BOOST if m.in_title else 0.0) + math.log2(1 + m.count)) for m in matched
    )
