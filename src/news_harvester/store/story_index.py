"""SQL of the story index: the fingerprints, LSH band keys and title keys of the articles in the story window.

The index lives in the database so that every process and every cluster worker sees every committed article,
nothing is rebuilt at start-up and memory does not grow with the window. What a match means is decided in
news_harvester.stories.dedupe (:func:`~news_harvester.stories.dedupe.match_fingerprint`); this module only
answers its :class:`~news_harvester.stories.dedupe.StoryLookup` questions with indexed lookups and writes the
rows of newly indexed articles, in the caller's transaction:

* ``story_bands`` (key, article) — a MinHash document is a candidate when it shares one of its ~37 band keys;
* ``story_title_keys`` (key, published_at, article) — the title layer's bigram postings, range-limited to the
  48-hour title window by the second column of the primary key;
* ``story_fingerprints`` — per article: the MinHash to verify a candidate, the normalised-body hash (exact
  layer), the keys again (so an article's rows can be deleted without recomputing anything) and the version of
  the parameters the keys come from.

An article stays matchable for ``story_window_days`` after it was stored (``stored_at``, its fetch time);
:meth:`StoryIndexStore.prune` deletes what fell out of the window.

Two workers storing two reprints of one story at the same moment: on PostgreSQL each run's transaction first
claims every band and title key of its new articles (``story_band_claims``, ``story_title_claims``), in one
order (so two runs wait for each other only when they share a key not committed yet, and never deadlock on these
claims); the second then sees the first's committed rows. On SQLite the run's first write takes the database's
write lock before any lookup.
This module never imports the story logic: fingerprints arrive as :class:`IndexEntry` records.
"""

from __future__ import annotations

import json
import logging
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, exists, func, literal_column, select

from news_harvester.store.schema import (
    articles,
    story_band_claims,
    story_bands,
    story_fingerprints,
    story_title_keys,
)

log = logging.getLogger(__name__)

PRUNE_CHUNK = 2000
"""Expired articles deleted per statement batch."""


def epoch(when: datetime) -> int:
    """Whole seconds since the epoch: how these tables store times (compact in a multi-million-row B-tree)."""
    return int(when.timestamp())


def _pack(keys: Iterable[int]) -> bytes:
    values = list(keys)
    return struct.pack(f"<{len(values)}q", *values)


def bigint_array(values: Iterable[int]) -> str:
    """A PostgreSQL array literal of integers (``{1,-2,3}``), for a ``%s::bigint[]`` parameter: psycopg's own list
    adapter checks every element with a regular expression, which cost more than the server's work for the
    thousands of keys a run sends."""
    return "{" + ",".join(map(str, map(int, values))) + "}"


def _unpack(blob: bytes | None) -> list[int]:
    return [] if not blob else list(struct.unpack(f"<{len(blob) // 8}q", blob))


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One article as the index stores it (built from a dedupe ``Fingerprint`` by the caller)."""

    article_id: int
    stored_at: datetime
    published_at: datetime
    content_hash: str | None
    minhash: bytes | None
    band_keys: Sequence[int]
    title_keys: Iterable[int]
    version: int


_FP = story_fingerprints
_INDEXED = _FP.join(articles, articles.c.id == _FP.c.article_id)
_LIVE = and_(
    _FP.c.version == bindparam("version"),
    _FP.c.stored_at >= bindparam("since"),
    articles.c.story_id.is_not(None),
)
# Built once: constructing a statement costs more than running it against SQLite's B-trees.
_STORY_OF = select(articles.c.story_id).select_from(_INDEXED).where(_LIVE, _FP.c.article_id == bindparam("doc_id"))
_BY_URL = (
    select(articles.c.id, articles.c.story_id).select_from(_INDEXED).where(_LIVE, articles.c.url == bindparam("url"))
)
_BY_HASHES = (
    select(_FP.c.content_hash, articles.c.id, articles.c.story_id)
    .select_from(_INDEXED)
    .where(_LIVE, _FP.c.content_hash.in_(bindparam("digests", expanding=True)))
    .order_by(articles.c.id)
)
_BAND_MEMBERS_POSTGRESQL = "SELECT key, article_id FROM story_bands WHERE key = ANY(%(keys)s::bigint[])"
# SQLite: the keys as one JSON array, not ~370 (at 10 articles) to ~7,000 (at 200) bound values that SQLAlchemy
# would name and render one by one at every execution; the plan still probes the primary key per value
_BAND_MEMBERS_SQLITE = "SELECT key, article_id FROM story_bands WHERE key IN (SELECT value FROM json_each(?))"
_MINHASHES = (
    select(articles.c.id, articles.c.story_id, _FP.c.minhash)
    .select_from(_INDEXED)
    .where(_LIVE, _FP.c.minhash.is_not(None), _FP.c.article_id.in_(bindparam("ids", expanding=True)))
)
_MINHASHES_SQLITE = (
    select(articles.c.id, articles.c.story_id, _FP.c.minhash)
    .select_from(_INDEXED)
    .where(
        _LIVE,
        _FP.c.minhash.is_not(None),
        _FP.c.article_id.in_(select(literal_column("value")).select_from(func.json_each(bindparam("ids")))),
    )
)
"""``_MINHASHES`` with the ids as one JSON array (see ``_BAND_MEMBERS_SQLITE``)."""
_SHARED = (
    select(story_title_keys.c.article_id, func.count().label("shared"))
    .where(
        story_title_keys.c.key.in_(bindparam("keys", expanding=True)),
        story_title_keys.c.published_at >= bindparam("low"),
        story_title_keys.c.published_at <= bindparam("high"),
    )
    .group_by(story_title_keys.c.article_id)
    .having(func.count() >= bindparam("min_shared"))
    .subquery()
)
_TITLES = (
    select(
        articles.c.id,
        articles.c.story_id,
        _SHARED.c.shared,
        func.length(_FP.c.title_keys).label("width"),
        articles.c.published_at,
        articles.c.fetched_at,
    )
    .select_from(
        _SHARED.join(_FP, _FP.c.article_id == _SHARED.c.article_id).join(
            articles, articles.c.id == _SHARED.c.article_id
        )
    )
    .where(_LIVE)
)


class StoredStoryLookup:
    """The :class:`~news_harvester.stories.dedupe.StoryLookup` of the database, inside one transaction.

    Answers only from articles indexed with ``version`` and stored at or after ``since`` (the window's start).
    ``fresh``: id → URL of the articles the transaction has just inserted: none of them is indexed yet and URLs
    are unique, so asking about them needs no query."""

    def __init__(self, conn: Connection, version: int, since: datetime, fresh: Mapping[int, str] | None = None) -> None:
        self.conn = conn
        self.live = {"version": version, "since": epoch(since)}
        self.fresh_ids = set(fresh or ())
        self.fresh_urls = set((fresh or {}).values())
        self._digests: dict[str, tuple[int, int] | None] = {}
        self._members: dict[int, list[int]] = {}  # only the keys that have members
        self._asked: set[int] = set()
        self._minhashes: dict[int, tuple[int, Any]] = {}

    def prefetch(self, digests: Iterable[str | None], band_keys: Iterable[int]) -> None:
        """Answer a batch's body-hash and band questions from three queries (the hashes, the band keys' members,
        those members' MinHashes) instead of two queries per article. Valid for the rest of the transaction: the
        rows that matter cannot change meanwhile (the key locks on PostgreSQL, the write lock on SQLite), and the
        batch's own articles are matched by the batch itself."""
        # membership tests, not ``set - dict.keys()`` (that walks every key already fetched: the per-article calls
        # below made the batch quadratic)
        wanted = sorted({d for d in digests if d and d not in self._digests})
        if wanted:
            found: dict[str, tuple[int, int]] = {}
            for digest, doc_id, story_id in self.conn.execute(_BY_HASHES, self.live | {"digests": wanted}):
                found.setdefault(digest, (int(doc_id), int(story_id)))  # the earliest id
            self._digests.update({d: found.get(d) for d in wanted})
        keys = sorted({k for k in band_keys if k not in self._asked})
        if not keys:
            return
        self._asked.update(keys)
        members: dict[int, list[int]] = {}
        postgresql = self.conn.dialect.name == "postgresql"
        if postgresql:  # one array parameter, as SQLite's JSON array below
            found_rows: Any = self.conn.exec_driver_sql(_BAND_MEMBERS_POSTGRESQL, {"keys": bigint_array(keys)}).all()
        else:
            found_rows = self.conn.exec_driver_sql(_BAND_MEMBERS_SQLITE, (json.dumps(keys),)).all()
        for key, doc_id in found_rows:
            members.setdefault(int(key), []).append(int(doc_id))
        self._members.update(members)
        ids = sorted({i for found_ids in members.values() for i in found_ids if i not in self._minhashes})
        if ids:
            import numpy as np  # here, not at the top: commands that open the store but match nothing skip numpy

            if postgresql:
                hashes: Any = self.conn.execute(_MINHASHES, self.live | {"ids": ids}).all()
            else:
                hashes = self.conn.execute(_MINHASHES_SQLITE, self.live | {"ids": json.dumps(ids)}).all()
            for doc_id, story_id, minhash in hashes:
                self._minhashes[int(doc_id)] = (int(story_id), np.frombuffer(minhash, dtype="<u4"))

    def story_of(self, doc_id: int) -> int | None:
        if doc_id in self.fresh_ids:
            return None
        found = self.conn.execute(_STORY_OF, self.live | {"doc_id": doc_id}).scalar()
        return None if found is None else int(found)

    def by_url(self, url: str) -> tuple[int, int] | None:
        if url in self.fresh_urls:
            return None
        row = self.conn.execute(_BY_URL, self.live | {"url": url}).first()
        return None if row is None else (int(row.id), int(row.story_id))

    def by_content_hash(self, digest: str) -> tuple[int, int] | None:
        self.prefetch([digest], ())  # a no-op for a digest the batch's prefetch asked already
        return self._digests[digest]

    def band_candidates(self, keys: Sequence[int]) -> Iterator[tuple[int, int, Any]]:
        self.prefetch((), keys)  # likewise for the batch's band keys
        for doc_id in sorted({i for k in keys for i in self._members.get(k, ())}):
            if (known := self._minhashes.get(doc_id)) is not None:  # absent: not live (expired, other version)
                yield doc_id, known[0], known[1]

    def title_candidates(
        self, keys: frozenset[int], around: datetime, window: timedelta, min_shared: int = 1
    ) -> Iterator[tuple[int, int, int, int, datetime]]:
        if not keys:
            return
        bounds = {
            "keys": list(keys),
            "low": epoch(around - window),
            "high": epoch(around + window) + 1,
            "min_shared": min_shared,
        }
        for row in self.conn.execute(_TITLES, self.live | bounds):
            yield (
                int(row.id),
                int(row.story_id),
                int(row.shared),
                int(row.width) // 8,
                row.published_at or row.fetched_at,
            )


_CLAIM_BANDS = (
    "INSERT INTO story_band_claims (key) SELECT k FROM unnest(%(keys)s::bigint[]) AS k ON CONFLICT DO NOTHING"
)
_CLAIM_TITLES = (
    "INSERT INTO story_title_claims (key) SELECT k FROM unnest(%(keys)s::bigint[]) AS k ON CONFLICT DO NOTHING"
)
_INSERT_FINGERPRINTS_SQLITE = (
    "INSERT INTO story_fingerprints (article_id, stored_at, published_at, content_hash, minhash, band_keys, "
    "title_keys, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_INSERT_KEYS_SQLITE = {
    "bands": "INSERT INTO story_bands (key, article_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
    "titles": "INSERT INTO story_title_keys (key, published_at, article_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
}
"""The key rows on SQLite: the driver's executemany, a C loop."""
_INSERT_INDEX_POSTGRESQL = (
    "WITH fingerprints AS (INSERT INTO story_fingerprints (article_id, stored_at, published_at, content_hash, "
    "minhash, band_keys, title_keys, version) SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], "
    "%s::text[], %s::bytea[], %s::bytea[], %s::bytea[], %s::int[]) ON CONFLICT DO NOTHING), "
    "bands AS (INSERT INTO story_bands (key, article_id) SELECT * FROM unnest(%s::bigint[], %s::bigint[]) "
    "ON CONFLICT DO NOTHING) "
    "INSERT INTO story_title_keys (key, published_at, article_id) "
    "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) ON CONFLICT DO NOTHING"
)
"""A batch's index rows on PostgreSQL: one statement over arrays, one round trip (the fingerprint, band and title
rows are independent: no key or row of one refers to another's)."""


def _columns(rows: Sequence[tuple[int, ...]], width: int) -> list[tuple[int, ...]]:
    """The columns of ``rows`` (``width`` empty ones when there are no rows)."""
    return list(zip(*rows, strict=True)) if rows else [() for _ in range(width)]


class StoryIndexStore:
    """Writes of the story index; every method runs in the caller's transaction."""

    @staticmethod
    def lock_keys(conn: Connection, band_keys: Iterable[int], title_keys: Iterable[int]) -> None:
        """PostgreSQL: claim every key for this transaction, band keys then title keys, each in ascending order
        (see the module docstring). SQLite needs none: its write lock already serialises the runs that write.

        A claim is a row inserted with ON CONFLICT DO NOTHING: a transaction inserting a key that another one
        inserted and has not committed yet waits for it to end (PostgreSQL's unique check), then finds the row and
        goes on, now seeing the other's committed articles. A key already committed earlier costs no wait, which
        is why title claims (character bigrams, a bounded vocabulary) are kept: a common bigram is contended once.
        Unlike advisory locks, row claims take no slot in the server's shared lock table, so a run of 50 articles
        (~3,000 keys) or an ingest chunk cannot exhaust it."""
        if conn.dialect.name != "postgresql":
            return
        # unnest yields the array in order, so every run claims in the same order (no deadlock)
        for sql, keys in ((_CLAIM_BANDS, band_keys), (_CLAIM_TITLES, title_keys)):
            ordered = sorted(set(keys))
            if ordered:
                conn.exec_driver_sql(sql, {"keys": bigint_array(ordered)})

    @staticmethod
    def add(conn: Connection, entries: Sequence[IndexEntry]) -> None:
        """Index these articles. Rows already there are kept (two processes indexing the same stored article at
        start-up both succeed); to re-index an article under a new fingerprint, :meth:`remove` it first."""
        if not entries:
            return
        fingerprints = [
            (
                e.article_id,
                epoch(e.stored_at),
                epoch(e.published_at),
                e.content_hash,
                e.minhash,
                _pack(e.band_keys),
                _pack(e.title_keys),
                e.version,
            )
            for e in entries
        ]
        # the key rows (~60 per article) never go through SQLAlchemy's per-row parameter processing: it cost more
        # than SQLite's inserts
        bands = [(k, e.article_id) for e in entries for k in set(e.band_keys)]
        titles = [
            (k, when, e.article_id) for e in entries for when in (epoch(e.published_at),) for k in set(e.title_keys)
        ]
        if conn.dialect.name == "postgresql":
            f_ids, f_stored, f_published, f_hashes, f_minhashes, f_bands, f_titles, f_versions = zip(
                *fingerprints, strict=True
            )
            conn.exec_driver_sql(
                _INSERT_INDEX_POSTGRESQL,
                (
                    bigint_array(f_ids),
                    bigint_array(f_stored),
                    bigint_array(f_published),
                    list(f_hashes),
                    list(f_minhashes),
                    list(f_bands),
                    list(f_titles),
                    bigint_array(f_versions),
                    *(bigint_array(c) for c in _columns(bands, 2)),
                    *(bigint_array(c) for c in _columns(titles, 3)),
                ),
            )
            return
        conn.exec_driver_sql(_INSERT_FINGERPRINTS_SQLITE, fingerprints)  # the driver's executemany, a C loop
        for kind, rows in (("bands", bands), ("titles", titles)):
            if rows:
                conn.exec_driver_sql(_INSERT_KEYS_SQLITE[kind], rows)

    @staticmethod
    def remove(conn: Connection, article_ids: Sequence[int]) -> int:
        """Take these articles out of the index (their key rows found from their fingerprint row); returns how
        many were indexed."""
        if not article_ids:
            return 0
        rows = conn.execute(
            select(
                story_fingerprints.c.article_id,
                story_fingerprints.c.published_at,
                story_fingerprints.c.band_keys,
                story_fingerprints.c.title_keys,
            ).where(story_fingerprints.c.article_id.in_(list(article_ids)))
        ).all()
        if not rows:
            return 0
        bands = [{"k": k, "a": r.article_id} for r in rows for k in set(_unpack(r.band_keys))]
        if bands:
            conn.execute(
                delete(story_bands).where(
                    story_bands.c.key == bindparam("k"), story_bands.c.article_id == bindparam("a")
                ),
                bands,
            )
        titles = [{"k": k, "p": r.published_at, "a": r.article_id} for r in rows for k in set(_unpack(r.title_keys))]
        if titles:
            conn.execute(
                delete(story_title_keys).where(
                    story_title_keys.c.key == bindparam("k"),
                    story_title_keys.c.published_at == bindparam("p"),
                    story_title_keys.c.article_id == bindparam("a"),
                ),
                titles,
            )
        ids = [int(r.article_id) for r in rows]
        conn.execute(delete(story_fingerprints).where(story_fingerprints.c.article_id.in_(ids)))
        return len(ids)

    @staticmethod
    def prune(conn: Connection, before: datetime, limit: int = PRUNE_CHUNK) -> int:
        """Delete up to ``limit`` articles stored before ``before`` from the index; returns how many went."""
        ids = (
            conn.execute(
                select(story_fingerprints.c.article_id)
                .where(story_fingerprints.c.stored_at < epoch(before))
                .limit(limit)
            )
            .scalars()
            .all()
        )
        if conn.dialect.name == "postgresql":  # committed band claims have done their job (see lock_keys)
            conn.execute(delete(story_band_claims))
        return StoryIndexStore.remove(conn, [int(i) for i in ids])

    @staticmethod
    def stale(conn: Connection, version: int) -> bool:
        """Whether the index holds keys of other parameters (the first or the last indexed article shows it:
        parameters change with a new release, and every process of one release uses the same)."""
        for order in (story_fingerprints.c.article_id.asc(), story_fingerprints.c.article_id.desc()):
            found = conn.execute(select(story_fingerprints.c.version).order_by(order).limit(1)).scalar()
            if found is not None and int(found) != version:
                return True
        return False

    @staticmethod
    def clear(conn: Connection) -> None:
        """Empty the index (before rebuilding it under new parameters)."""
        for table in (story_bands, story_title_keys, story_fingerprints):
            conn.execute(delete(table))

    @staticmethod
    def unindexed(conn: Connection, since: datetime) -> list[int]:
        """Ids of the articles with a story, dated (published, else fetched) and fetched since ``since``, that
        are not indexed: those stored before the index moved into the database, or while it was being rebuilt.
        Reads the covering index ``ix_articles_when`` and the fingerprints' primary key only."""
        when = func.coalesce(articles.c.published_at, articles.c.fetched_at)
        missing = ~exists().where(story_fingerprints.c.article_id == articles.c.id)
        ids = conn.execute(
            select(articles.c.id).where(when >= since, articles.c.story_id.is_not(None), missing)
        ).scalars()
        return sorted(int(i) for i in ids)
