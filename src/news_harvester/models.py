"""Frozen records handed between stages, and the small pure rules on them (health, backoff, a story's effective
topics).

No I/O, no clock: callers pass ``now``.
"""

from __future__ import annotations

import enum
import operator
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, TypeVar

_Record = TypeVar("_Record")


def pickled_as_tuple(cls: type[_Record]) -> type[_Record]:
    """Pickle a frozen slotted dataclass as ``(cls, field values)``: the harvest sends every new article, its
    fingerprint and classification to the writer process, and the ``__getstate__`` / ``__setstate__`` that
    ``slots=True`` generates walk ``dataclasses.fields`` per object (~8 % of a harvest's CPU). For records whose
    fields are all ``__init__`` arguments and stored as given; not inherited by subclasses."""
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    if not names or not all(f.init for f in fields(cls)):  # type: ignore[arg-type]
        raise TypeError(f"{cls.__name__}: every field must be an __init__ argument")
    values: Callable[[Any], Any] = operator.attrgetter(*names)
    single = len(names) == 1

    def __reduce__(self: Any) -> tuple[type[_Record], tuple[Any, ...]]:
        if type(self) is not cls:
            raise TypeError(f"{type(self).__name__} inherits {cls.__name__}'s tuple pickling")
        return cls, ((values(self),) if single else values(self))

    cls.__reduce__ = __reduce__  # type: ignore[assignment,method-assign]
    return cls


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class FetchState:
    """What we remember about a URL between runs, for conditional GET."""

    etag: str | None = None
    last_modified: str | None = None
    listing_digest: str | None = None
    """Hash of the source's settings and of its listing's bytes, kept only when every item the listing named was
    stored or known: reading the same again means nothing to do (``harvest.read.listing_digest``)."""


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class FetchResult:
    """A successfully fetched and decoded document."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    content: bytes
    text: str
    charset_declared: str | None
    charset_used: str
    permanent_redirect: str | None = None
    elapsed_ms: int = 0

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class NotModified:
    """The server answered 304: nothing changed since the stored ETag / Last-Modified."""

    url: str
    elapsed_ms: int = 0


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class RawItem:
    """One entry read from a feed or list page, before the article is cleaned."""

    url: str
    title: str
    published: datetime | None = None
    published_raw: str | None = None
    author: str | None = None
    summary_html: str | None = None
    content_html: str | None = None
    guid: str | None = None


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class ParsedFeed:
    items: tuple[RawItem, ...]
    title: str | None = None
    warnings: tuple[str, ...] = ()


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Article:
    """A cleaned article ready to store; ``url`` is canonical, times are timezone-aware."""

    url: str
    source_id: str
    title: str
    published_at: datetime | None
    fetched_at: datetime
    author: str | None
    attribution: str | None
    summary: str | None
    body_text: str
    content_hash: str
    language: str | None
    guid: str | None = None
    raw_page: bytes | None = None
    date_origin: str | None = None
    source_name: str | None = None
    """The outlet's display name (sources.yaml ``name``, or an import's ``source``)."""
    source_weight: float | None = None
    """Set by imports only; harvested articles take their source's current weight from sources.yaml."""
    attachments: tuple[tuple[str, str, str], ...] = ()
    """Documents the page links to: ``(absolute url, link text, kind)`` (pdf, docx, xlsx, wps, zip …)."""


class Outcome(enum.StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    ERROR = "error"
    RUNNING = "running"
    INTERRUPTED = "interrupted"


class Health(enum.StrEnum):
    UNKNOWN = "unknown"
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    FAILING = "failing"


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class RunSummary:
    """What one harvest of one source did; printed by the CLI and stored as a fetch run."""

    source_id: str
    outcome: Outcome
    items_seen: int = 0
    items_new: int = 0
    duration_ms: int = 0
    code: str | None = None
    message: str | None = None
    http_status: int | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    skipped: bool = False


FAILING_AFTER = 3
"""Consecutive failed runs after which a source counts as failing (not merely degraded)."""
FLAPPING_AFTER = 2
"""Failures among the recent runs that keep a recovered source degraded."""


def derive_health(recent_outcomes: list[str], consecutive_failures: int) -> Health:
    """Health from the newest-first outcomes of recent runs.

    failing: the last FAILING_AFTER runs all failed; degraded: the last run failed, or the source
    flaps (FLAPPING_AFTER or more failures among the recent runs); healthy otherwise. A single
    transient failure that has since recovered does not keep a source flagged for a day.
    """
    finished = [o for o in recent_outcomes if o not in (Outcome.RUNNING, Outcome.INTERRUPTED)]
    if not finished:
        return Health.UNKNOWN
    if consecutive_failures >= FAILING_AFTER:
        return Health.FAILING
    if consecutive_failures > 0 or finished.count(Outcome.ERROR) >= FLAPPING_AFTER:
        return Health.DEGRADED
    return Health.HEALTHY


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class RunFacts:
    """What the alarm rules (news_harvester.sources.alarms) need of one fetch run (a row of ``fetch_runs``)."""

    started_at: datetime
    outcome: str
    code: str | None = None
    items_seen: int = 0
    items_new: int = 0
    http_status: int | None = None


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Alarm:
    """One problem of one source that holds now; at most one per (source_id, kind) is open at a time."""

    source_id: str
    kind: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


MAX_BACKOFF = timedelta(hours=6)


def backoff_delay(
    consecutive_failures: int,
    base: timedelta,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> timedelta:
    """How long a failing source waits before its next attempt.

    Exponential in the number of consecutive failures (base * 2^(n-1)), jittered by ±10 % so
    that many sources failing together do not retry in lock-step, capped at MAX_BACKOFF but never
    shorter than a server's Retry-After. A source is never dropped: the delay is bounded.
    """
    if consecutive_failures <= 0:
        return timedelta(0)
    exponent = min(consecutive_failures - 1, 16)
    delay: timedelta = min(base * (2**exponent), MAX_BACKOFF)
    jitter: float = (rng or random).uniform(0.9, 1.1)
    delay = min(delay * jitter, MAX_BACKOFF)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=min(retry_after, MAX_BACKOFF.total_seconds())))
    return delay


def is_due(next_due_at: datetime | None, now: datetime) -> bool:
    return next_due_at is None or next_due_at <= now


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class TopicRow:
    """One stored topic of a story: the classifier's (``origin`` "auto") or an editor's (added, or
    ``rejected``: removed by the editor)."""

    topic_id: str
    confidence: float
    origin: str
    rejected: bool = False


def effective_topics(rows: Iterable[Any]) -> list[TopicRow]:
    """Classifier topics, minus those an editor removed, plus those an editor added (rows: anything with
    ``topic_id``, ``confidence``, ``origin`` and ``rejected``)."""
    rows = list(rows)
    removed = {r.topic_id for r in rows if r.origin == "editor" and r.rejected}
    out: dict[str, TopicRow] = {}
    for r in rows:
        if r.rejected or (r.topic_id in removed and r.origin != "editor"):
            continue
        previous = out.get(r.topic_id)
        if previous is None or r.origin == "editor":
            out[r.topic_id] = TopicRow(r.topic_id, float(r.confidence), r.origin, False)
    return list(out.values())
