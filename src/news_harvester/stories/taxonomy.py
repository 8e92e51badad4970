"""The taxonomy: config/topics.yaml read and validated into :class:`Taxonomy` records.

Every problem is reported as ``file:LINE: field: problem (hint: …)`` (:func:`parse_taxonomy`), and
:func:`reload_taxonomy` keeps the last valid taxonomy when an edit is broken. A taxonomy compiles its keyword
matcher (news_harvester.stories.keywords) once, when it is built; news_harvester.stories.topics classifies with it.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from news_harvester.errors import ConfigError
from news_harvester.stories.keywords import BODY_CHARS, HALF_SCORE, TITLE_BOOST, KeywordMatcher, Term, term_key

DEFAULT_THRESHOLD = 0.5
DEFAULT_MAX_TOPICS = 3
ERROR_CODE = "config.topics"

# --------------------------------------------------------------------------- records


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
    matcher: KeywordMatcher | None = field(default=None, init=False, repr=False, compare=False)
    """Every keyword, exclusion and ignore phrase compiled into one expression (built with the taxonomy)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "matcher", KeywordMatcher(self.topics, self.ignore))

    def get(self, topic_id: str) -> Topic | None:
        return next((t for t in self.topics if t.id == topic_id), None)

    @property
    def topic_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.topics)


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
    """Validate topics.yaml text; every problem is reported as ``origin:LINE: field: problem (hint: …)``.

    The C loader reads a valid file ~5x faster than the round-trip loader (0.02 s instead of 0.1 s for the shipped
    file, paid by every start and every command that classifies); only the round-trip loader knows lines, so a file
    with a problem is read again with it to name them."""
    try:
        return _taxonomy_of(YAML(typ="safe").load(text), origin)
    except (YAMLError, ConfigError):
        pass
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
    return _taxonomy_of(data, origin)


def _taxonomy_of(data: Any, origin: str) -> Taxonomy:
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
        if not isinstance(item, str) or not term_key(item)[1]:
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
        if not isinstance(term, str) or not term_key(term)[1]:
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
        key = term_key(term)
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
