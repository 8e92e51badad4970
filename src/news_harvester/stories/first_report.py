"""Which member of a story reported it first (首发) and which reprinted it (转载).

The dedupe layer that joined an article to its story says how it was matched, not who was first: the
article that founded the story is simply the one harvested first, and a reprint harvested before the
official original (a slow government site, a feed polled once a day) would otherwise be labelled 首发.
Editors credit the first report, so it is decided by publication time; a reported time beats a time the
harvester only guessed from when it fetched the page; equal times go to the more authoritative source
(its weight in sources.yaml), then to the earlier stored article.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Report:
    """What the decision needs of one member article."""

    article_id: int
    source_id: str
    published_at: datetime | None
    """The time the page states; None when it states none."""
    fetched_at: datetime | None = None


def first_report(members: Iterable[Report], weight: Callable[[str], float]) -> int | None:
    """The article id of the first report among ``members`` (None for no members)."""

    def key(m: Report) -> tuple[bool, float, float, int]:
        when = m.published_at or m.fetched_at
        return (m.published_at is None, when.timestamp() if when else float("inf"), -weight(m.source_id), m.article_id)

    ordered = sorted(members, key=key)
    return ordered[0].article_id if ordered else None
