"""The review queue's filter-and-order columns of every story, in memory, kept current by the change log.

Why: a queue page filters and orders all stories (50,000 and more) and shows 50 of them. In SQL that is a walk
of the score index with a lookup per visited story, a count, and for text or dates a list built per request:
10–100 ms of database time per page, which ten editors turn into queueing. Here each story is a few numbers in
numpy arrays (score, state, snooze time, canonical date, a topic bit set; about 50 bytes), the filters are
vectorised masks and the order is kept sorted, so page and count cost well under a millisecond; only the page's
50 rows are then read from the database (``QueueQueries._page_rows``).

Current, not cached: every call first reads ``queue_changes`` past what it has seen (a primary-key range, no row
when nothing changed). Triggers (migration 0011) log every committed change to the tables the queue reads,
whoever wrote it: this process, another web process, the harvest's writer process, a cluster worker. The changed
stories are re-read before the page is computed, so an editor's own action shows on the next page. On
PostgreSQL sequence numbers are taken before commit, so a transaction may commit a lower number after a higher
one was read: numbers skipped on the way up are asked for again for ``PENDING_SECONDS`` (an open transaction
commits within that, a rolled-back one never does), and so is the tail of the log at a full load. A log pruned past
what this process has seen (a process asleep for hours) means a full reload.

The filters that depend on member articles (text search: FTS5 trigram index or LIKE; a source) still ask the
database for their story ids; the answer is kept per filter value until a logged change touches articles
(``queue_changes.articles``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, or_, select

from news_harvester.store.schema import STATES, articles, candidates, queue_changes, stories, story_topics

PG_REORDER_WINDOW = 512
"""On PostgreSQL commits may land out of sequence order: up to this many numbers below the highest seen are
read again while they are missing (see ``_pending``)."""
PENDING_SECONDS = 60.0
FULL_RELOAD_OVER = 5_000
"""More changed stories than this since the last look: reload everything (one scan beats many IN lists)."""
LIST_CACHE_SIZE = 256
ROW_CACHE_SIZE = 5_000
"""Shown rows kept (the first pages of the usual views; about 1 kB each)."""
CHUNK = 500
MAX_TOPIC_BITS = 64
_STATE_CODE = {s: i for i, s in enumerate(STATES)}
_UNKNOWN_STATE = len(STATES)


class QueueIndexUnavailable(Exception):
    """The index cannot answer this filter (more distinct topics than bits); the caller uses SQL."""


def _ts(value: datetime | None) -> float:
    return value.timestamp() if value is not None else math.nan


class QueueIndex:
    """In-memory queue columns of one database; thread-safe (one lock: refresh and page take microseconds)."""

    Unavailable = QueueIndexUnavailable
    """Raised by :meth:`page` when the index cannot answer (callers need not import this module to catch it)."""

    def __init__(self, dialect: str) -> None:
        self._lock = threading.Lock()
        self._reorder_window = PG_REORDER_WINDOW if dialect == "postgresql" else 0
        self._loaded = False
        self._seen = 0
        self._pending: dict[int, float] = {}
        """PostgreSQL: sequence numbers at or below ``_seen`` not read yet (a transaction still open, or rolled
        back), with when they were first missed; read again until PENDING_SECONDS have passed."""
        self._slot: dict[int, int] = {}
        self._size = 0
        self._ids = np.zeros(0, dtype=np.int64)
        self._live = np.zeros(0, dtype=bool)
        self._score = np.zeros(0, dtype=np.float64)
        self._state = np.zeros(0, dtype=np.int8)
        self._snoozed = np.zeros(0, dtype=np.float64)
        self._when = np.zeros(0, dtype=np.float64)
        self._topics = np.zeros(0, dtype=np.uint64)
        self._bit: dict[str, int] = {}
        self._order: np.ndarray[Any, np.dtype[np.int64]] | None = None
        self._lists: OrderedDict[tuple[str, str], np.ndarray[Any, np.dtype[np.int64]]] = OrderedDict()
        self._rows: OrderedDict[int, Any] = OrderedDict()
        self._generation = 0
        self.full_loads = 0
        """How often everything was read (start, pruned log, a flood of changes): for tests and metrics."""

    # ------------------------------------------------------------------ answering

    @property
    def generation(self) -> int:
        """Changes applied so far; rows read after a page was computed are kept only if it has not moved."""
        return self._generation

    def cached_rows(self, ids: Iterable[int]) -> dict[int, Any]:
        """The shown rows (queue items) of ``ids`` that no logged change has touched since they were read."""
        with self._lock:
            found = {i: self._rows[i] for i in ids if i in self._rows}
            for i in found:
                self._rows.move_to_end(i)
            return found

    def remember_rows(self, rows: dict[int, Any], generation: int) -> None:
        """Keep freshly read rows, unless a change was applied after the page that read them was computed (a
        row read just before a commit that a concurrent request has applied would otherwise stay stale)."""
        with self._lock:
            if generation != self._generation:
                return
            self._rows.update(rows)
            while len(self._rows) > ROW_CACHE_SIZE:
                self._rows.popitem(last=False)

    def refresh(self, conn: Connection) -> None:
        """Catch up with the change log now (the first call reads everything: a web process calls it at start,
        so the first editor does not wait for it)."""
        with self._lock:
            self._catch_up(conn)

    def page(
        self,
        conn: Connection,
        *,
        states: tuple[str, ...],
        topic: str | None,
        member_lists: Sequence[tuple[tuple[str, str], Callable[[], Iterable[int]]]],
        date_from: datetime | None,
        date_to: datetime | None,
        offset: int,
        limit: int,
        now: datetime,
    ) -> tuple[list[int], int]:
        """Story ids of one page (best score first, then newest id) and how many stories match in all."""
        with self._lock:
            self._catch_up(conn)
            n = self._size
            mask = self._live[:n].copy()
            wanted = [s for s in states if s in _STATE_CODE]
            if wanted:
                mask &= self._state_mask(wanted, n, now)
            if topic is not None:
                bit = self._bit.get(topic)
                if bit is None:
                    return [], 0
                mask &= (self._topics[:n] & np.uint64(1 << bit)) != 0
            if date_from is not None:
                mask &= self._when[:n] >= date_from.timestamp()  # NaN (no date) compares False, as NULL in SQL
            if date_to is not None:
                mask &= self._when[:n] < date_to.timestamp()
            for key, story_ids in member_lists:
                mask &= self._slots_mask(self._listed_slots(key, story_ids), n)
            order = self._ordered()
            hits = order[mask[order]]
            page = hits[offset : offset + limit]
            return [int(i) for i in self._ids[page]], int(hits.size)

    def _state_mask(self, wanted: list[str], n: int, now: datetime) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """The queue's state condition (see ``queue._state_condition``): a snooze that has run out is back in
        the queue for the new and shortlisted views."""
        state = self._state[:n]
        codes = [_STATE_CODE[s] for s in wanted if s != "snoozed"]
        mask = np.isin(state, codes)
        snoozed = state == _STATE_CODE["snoozed"]
        if "snoozed" in wanted:
            mask |= snoozed
        elif "new" in wanted or "shortlisted" in wanted:
            mask |= snoozed & (self._snoozed[:n] <= now.timestamp())
        return mask

    def _slots_mask(self, slots: Iterable[int], n: int) -> np.ndarray[Any, np.dtype[np.bool_]]:
        mask = np.zeros(n, dtype=bool)
        chosen = np.fromiter(slots, dtype=np.int64)
        if chosen.size:
            mask[chosen[chosen < n]] = True
        return mask

    def _listed_slots(
        self, key: tuple[str, str], story_ids: Callable[[], Iterable[int]]
    ) -> np.ndarray[Any, np.dtype[np.int64]]:
        """The slots of a filter that depends on the stories' member articles (text search, source), asked of
        the database once and kept until a logged change touches articles."""
        cached = self._lists.get(key)
        if cached is not None:
            self._lists.move_to_end(key)
            return cached
        slots = np.fromiter((self._slot[i] for i in set(story_ids()) if i in self._slot), dtype=np.int64)
        self._lists[key] = slots
        if len(self._lists) > LIST_CACHE_SIZE:
            self._lists.popitem(last=False)
        return slots

    def _ordered(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        """Slots of live stories by score (highest first, no score last), then id (newest first)."""
        if self._order is None:
            n = self._size
            live = np.flatnonzero(self._live[:n])
            score = self._score[live]
            missing = np.isnan(score)
            keys = (-self._ids[live], -np.where(missing, 0.0, score), missing)
            self._order = live[np.lexsort(keys)]
        return self._order

    # ------------------------------------------------------------------ keeping current

    def _catch_up(self, conn: Connection) -> None:
        """Apply what the change log holds past what this index has seen (everything, the first time)."""
        if not self._loaded:
            self._full_load(conn)
            return
        clock = time.monotonic()
        self._pending = {q: t for q, t in self._pending.items() if clock - t < PENDING_SECONDS}
        wanted = queue_changes.c.seq > self._seen
        if self._pending:
            wanted = or_(wanted, queue_changes.c.seq.in_(sorted(self._pending)))
        # each row carries the log's lowest number, from the same snapshot (the database computes it once)
        low = select(func.min(queue_changes.c.seq)).correlate(None).scalar_subquery().label("low")
        fresh = conn.execute(
            select(queue_changes.c.seq, queue_changes.c.story_id, queue_changes.c.articles, low)
            .where(wanted)
            .order_by(queue_changes.c.seq)
        ).all()
        if not fresh:
            return  # an empty log, or one holding nothing past what was seen: not pruned past it
        if int(fresh[0].low) > self._seen + 1 and self._seen > 0:
            self._full_load(conn)  # the log was pruned past what this process has seen
            return
        changed = {int(r.story_id) for r in fresh}
        self._generation += 1
        for story_id in changed:
            self._rows.pop(story_id, None)
        if any(r.articles for r in fresh):
            self._lists.clear()
        self._mark_seen(int(r.seq) for r in fresh)
        if len(changed) > FULL_RELOAD_OVER:
            self._full_load(conn)
            return
        ids = sorted(changed)
        for start in range(0, len(ids), CHUNK):
            self._load(conn, ids[start : start + CHUNK])

    def _mark_seen(self, seqs: Iterable[int]) -> None:
        read = set(seqs)
        for seq in read:
            self._pending.pop(seq, None)
        top = max(read, default=self._seen)
        if self._reorder_window and top > self._seen:
            # numbers skipped on the way up belong to transactions not committed yet (or rolled back)
            clock = time.monotonic()
            for seq in range(max(self._seen + 1, top - self._reorder_window), top):
                if seq not in read:
                    self._pending.setdefault(seq, clock)
        self._seen = max(self._seen, top)

    def _full_load(self, conn: Connection) -> None:
        # the log position first: a change committed while the rows are read is applied again next time
        seen = conn.execute(select(func.max(queue_changes.c.seq))).scalar()
        self._seen = int(seen or 0)
        clock = time.monotonic()  # what was still open when the rows were read is read again for a while
        self._pending = {q: clock for q in range(max(1, self._seen - self._reorder_window + 1), self._seen + 1)}
        if not self._reorder_window:
            self._pending = {}
        self._slot.clear()
        self._size = 0
        self._bit.clear()
        self._lists.clear()
        self._rows.clear()
        self._generation += 1
        for name in ("_ids", "_live", "_score", "_state", "_snoozed", "_when", "_topics"):
            setattr(self, name, getattr(self, name)[:0].copy())
        self._load(conn, None)
        self._loaded = True
        self.full_loads += 1

    def _load(self, conn: Connection, ids: list[int] | None) -> None:
        """(Re)read the queue columns of ``ids`` (None: of every story); a story without a candidate is dropped."""
        canon = articles.alias("canon")
        query = (
            select(
                stories.c.id,
                stories.c.score,
                candidates.c.state,
                candidates.c.snoozed_until,
                canon.c.published_at,
                canon.c.fetched_at,
            )
            .select_from(
                stories.join(candidates, candidates.c.story_id == stories.c.id).outerjoin(
                    canon, canon.c.id == stories.c.canonical_article_id
                )
            )
        )  # fmt: skip
        topics_query = select(story_topics.c.story_id, story_topics.c.topic_id).where(
            story_topics.c.rejected.is_(False)
        )
        if ids is not None:
            query = query.where(stories.c.id.in_(ids))
            topics_query = topics_query.where(story_topics.c.story_id.in_(ids))
            for story_id in ids:  # gone unless read again below
                slot = self._slot.get(story_id)
                if slot is not None:
                    self._live[slot] = False
                    self._topics[slot] = 0
        rows = conn.execute(query).all()
        self._grow(self._size + sum(1 for r in rows if int(r.id) not in self._slot))
        for r in rows:
            slot = self._slot_for(int(r.id))
            self._live[slot] = True
            self._score[slot] = math.nan if r.score is None else float(r.score)
            self._state[slot] = _STATE_CODE.get(r.state, _UNKNOWN_STATE)
            self._snoozed[slot] = _ts(r.snoozed_until)
            self._when[slot] = _ts(r.published_at or r.fetched_at)
        for t in conn.execute(topics_query):
            slot = self._slot.get(int(t.story_id))
            if slot is not None:
                self._topics[slot] |= np.uint64(1 << self._topic_bit(t.topic_id))
        self._order = None

    def _topic_bit(self, topic_id: str) -> int:
        bit = self._bit.get(topic_id)
        if bit is None:
            if len(self._bit) >= MAX_TOPIC_BITS:
                raise QueueIndexUnavailable(f"more than {MAX_TOPIC_BITS} distinct topics")
            bit = self._bit[topic_id] = len(self._bit)
        return bit

    def _slot_for(self, story_id: int) -> int:
        slot = self._slot.get(story_id)
        if slot is None:
            slot = self._slot[story_id] = self._size
            self._ids[slot] = story_id
            self._size += 1
        return slot

    def _grow(self, needed: int) -> None:
        capacity = self._ids.size
        if needed <= capacity:
            return
        new = max(needed, capacity * 2, 1024)

        def grown(array: np.ndarray[Any, Any], fill: Any) -> np.ndarray[Any, Any]:
            out = np.full(new, fill, dtype=array.dtype)
            out[:capacity] = array
            return out

        self._ids = grown(self._ids, 0)
        self._live = grown(self._live, False)
        self._score = grown(self._score, math.nan)
        self._state = grown(self._state, _UNKNOWN_STATE)
        self._snoozed = grown(self._snoozed, math.nan)
        self._when = grown(self._when, math.nan)
        self._topics = grown(self._topics, 0)
