"""Cross-source dedupe: exact fingerprints, MinHash-LSH near-duplicates and title similarity for flashes.

A pure stage (no DB, no network, no clock): values in, :class:`DedupeDecision` out. Articles are never
dropped here; a match names the story (cluster) the article should join. :func:`match_fingerprint` decides; it
asks a :class:`StoryLookup` for earlier articles: the database's index (news_harvester.store.story_index: every
process sees every committed article) or the in-memory :class:`StoryIndex` (a run's own batch, tests, evaluation).

Layers, tried in order by :func:`match_fingerprint`:

1. ``url``: the canonical URL (the caller passes ``clean.canonical_url`` output) was seen before →
   ``exact_duplicate``. Re-harvesting an article is therefore idempotent.
2. ``content_hash``: SHA-256 of :func:`normalise_for_dedupe` (body) equals a known one → ``exact_duplicate``
   (only for normalised bodies of at least ``MIN_HASH_CHARS`` characters, so empty or stub bodies never collide).
3. ``minhash``: for bodies of at least ``SHORT_BODY_CHARS`` normalised characters, MinHash over character
   k-shingles of the normalised body; candidates are the documents sharing one of its LSH band keys
   (:func:`band_keys`: datasketch's banding, 37 bands x 3 rows at the defaults), then verified on the MinHash
   Jaccard estimate ≥ ``accept_threshold`` → ``same_story``.
4. ``title``: for short items (flashes, normalised body < ``SHORT_BODY_CHARS``): Jaccard of the character-bigram
   sets of the normalised titles (as 64-bit :func:`title_keys`) ≥ ``title_threshold`` and ``published_at``
   within ``title_window`` of each other → ``same_story``. Items without ``published_at`` never match on the
   title alone.

Normalisation (:func:`normalise_for_dedupe`): NFKC (folds full-/half-width forms), traditional → simplified
folding, casefold, then only letters and digits are kept (whitespace, punctuation and symbols dropped).
The traditional → simplified fold is character by character, from the ~2,950 one-to-one BMP entries of OpenCC's
``TSCharacters`` dictionary as shipped by opencc-python-reimplemented (first candidate where OpenCC lists
several). It is not a phrase-level conversion and is not meant for display; for matching it only has to map
both spellings of a text to the same string, which it does for the characters news text uses.

Parameters (``DedupeParams`` defaults), chosen by measurement on ``tests/dedupe_eval.py`` (real article bodies
from ../shared/fixtures plus generated reprint variants and real negatives; ``python tests/dedupe_eval.py``
re-runs the sweep):

======================  =======  ===========================================================================
parameter               value    measurement (1,090 docs: 69 articles x 10 variants incl. original, 400 flashes)
======================  =======  ===========================================================================
``shingle_size`` k      5        Exact k-shingle Jaccard over all 234,500 cross-story article pairs peaks at
                                 0.153 / 0.133 / 0.123 / 0.116 for k = 3 / 4 / 5 / 6 (a shared site template
                                 around different text is the worst case); same-story pairs stay put (5th
                                 percentile 0.41 / 0.41 / 0.40 / 0.40). k = 5 keeps common 2-4 character
                                 words and set phrases from building up false overlap, with recall as high as
                                 any k (0.9944 at lsh 0.3 / accept 0.3; k = 4: 0.9906, k = 3: 0.9916).
``num_perm``            128      Standard error of the estimate at J = 0.3 is sqrt(0.3 x 0.7 / 128) = 0.04.
``lsh_threshold``       0.3      Candidate recall: 0.4 loses 4 points of pairwise recall at k = 5
                                 (0.9538 vs 0.9944 at accept 0.4 / 0.3), 0.2 gains nothing at k = 5.
``accept_threshold``    0.3      Verify on the MinHash estimate. Pairwise recall at k = 5, lsh 0.3:
                                 accept 0.3 / 0.4 / 0.5 / 0.6 → 0.9944 / 0.9604 / 0.9242 / 0.8303, precision
                                 1.0 throughout; 0.3 is still > 4 standard errors above the worst negative (0.123).
``title_threshold``     0.5      Character-bigram Jaccard of normalised titles: 79,600 cross-story flash pairs
                                 peak at 0.222 (same THUCNews topic), same-story re-titled pairs bottom at 0.643.
``title_window``        48 h     Policy, not measured: a flash and its re-titled copies appear within hours.
``short_body_chars``    200      Below this a body is a flash; MinHash of a few dozen shingles is too noisy.
======================  =======  ===========================================================================

Result on the whole set with these defaults (``tests/test_dedupe.py`` asserts precision ≥ 0.97, recall ≥ 0.90):
precision 1.000, recall 0.995 over 3,405 same-story pairs when the parameters were chosen (2026-11); 1.000 /
0.990 on 2026-12-04 with the extractor of that day (3,371 of 3,405 pairs; the misses are half-length excerpts),
the same before and after the index moved into the database. The set is extracted with the current
``parse.article``, so these figures move slightly with the extractor.

MinHash values and the banding are datasketch's (its "affine32" permutations and its optimal split for the
threshold, both derived here without importing it: it loads scipy at every start; tests/test_dedupe.py checks
both against datasketch itself).
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import unicodedata
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from typing import Protocol, TypeAlias

import numpy as np

from news_harvester.stories.minhash import (
    MinHashValues,
    _Hasher,
    _hasher,
    _lsh_bands,
    band_keys,
    shingle_hashes,
    title_keys,
)
from news_harvester.story_records import DedupeDecision, DedupeDoc, Fingerprint

__all__ = [
    "DedupeDecision",
    "DedupeDoc",
    "DedupeParams",
    "Fingerprint",
    "StoryIndex",
    "StoryLookup",
    "TitleCandidate",
    "content_hash",
    "fingerprint",
    "index_version",
    "match_fingerprint",
    "normalise_for_dedupe",
    "shingle_hashes",
    "title_bigrams",
]

SHORT_BODY_CHARS = 200
"""Normalised bodies shorter than this are flashes: matched on the title layer, not on MinHash."""
MIN_HASH_CHARS = 20
"""Normalised bodies shorter than this get no content hash (an empty body must not match every empty body)."""

KEY_SCHEME = 2
"""Version of how band and title keys are derived (bump when :func:`band_keys` or :func:`title_keys` change)."""


def _traditional_fold() -> dict[int, str]:
    """Traditional → simplified, character by character: the one-to-one BMP entries of OpenCC's
    ``TSCharacters`` dictionary (first candidate where several are listed), read from the data that
    ships with opencc-python-reimplemented."""
    text = resources.files("opencc").joinpath("dictionary/TSCharacters.txt").read_text(encoding="utf-8")
    table: dict[int, str] = {}
    for line in text.splitlines():
        source, _, targets = line.partition("\t")
        target = targets.split(" ")[0].strip()
        if len(source) == 1 and len(target) == 1 and source != target and max(ord(source), ord(target)) < 0x10000:
            table[ord(source)] = target
    return table


_FOLD = _traditional_fold()
_TRADITIONAL = re.compile("[" + "".join(re.escape(chr(cp)) for cp in sorted(_FOLD)) + "]")
"""Any character :data:`_FOLD` changes: most text has none, and ``str.translate`` with a dict costs ~90 ns per
character (~0.15 ms for a 1,600-character body, the largest part of a fingerprint) where this search costs ~5."""


_NOT_ALNUM = re.compile(r"[\W_]+")
r"""Everything ``str.isalnum`` rejects (``\w`` is alphanumerics plus ``_``): one C loop instead of a Python one."""


def normalise_for_dedupe(text: str) -> str:
    """Fold ``text`` to the form every fingerprint is taken from.

    NFKC (full-width ``ＡＢＣ１２３`` → ``abc123``, compatibility forms), traditional → simplified characters,
    casefold, and only letters and digits kept: whitespace, punctuation and symbols are dropped.
    """
    folded = unicodedata.normalize("NFKC", text)
    if _TRADITIONAL.search(folded):
        folded = folded.translate(_FOLD)
    return _NOT_ALNUM.sub("", folded.casefold())


def content_hash(normalised: str) -> str | None:
    """SHA-256 (hex) of a normalised body, or None when it is too short to identify anything."""
    if len(normalised) < MIN_HASH_CHARS:
        return None
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def title_bigrams(title: str) -> frozenset[str]:
    """Character bigrams of the normalised title (a one-character title is its own unigram)."""
    return _bigrams(normalise_for_dedupe(title))


def _bigrams(norm: str) -> frozenset[str]:
    if len(norm) < 2:
        return frozenset((norm,)) if norm else frozenset()
    return frozenset(norm[i : i + 2] for i in range(len(norm) - 1))


@dataclass(frozen=True, slots=True)
class DedupeParams:
    """Tuning knobs; the defaults are the measured ones documented in the module docstring."""

    shingle_size: int = 5
    num_perm: int = 128
    lsh_threshold: float = 0.3
    accept_threshold: float = 0.3
    title_threshold: float = 0.5
    title_window: timedelta = timedelta(hours=48)
    short_body_chars: int = SHORT_BODY_CHARS
    seed: int = 1


@functools.cache
def index_version(params: DedupeParams) -> int:
    """A positive 31-bit number naming the parameters band and title keys depend on: keys stored under another
    version can never match and are rebuilt (news_harvester.store.story_index)."""
    bands, rows = _lsh_bands(params.lsh_threshold, params.num_perm)
    tag = f"{KEY_SCHEME}:{params.shingle_size}:{params.num_perm}:{params.seed}:{bands}x{rows}"
    return zlib.crc32(tag.encode("ascii")) & 0x7FFFFFFF


def fingerprint(doc: DedupeDoc, params: DedupeParams | None = None) -> Fingerprint:
    """All fingerprints of ``doc`` (MinHash only for bodies that are not short)."""
    params = params or DedupeParams()
    return _fingerprint(doc, params, _hasher(params.num_perm, params.seed))


def _fingerprint(doc: DedupeDoc, params: DedupeParams, hasher: _Hasher) -> Fingerprint:
    body = normalise_for_dedupe(doc.body)
    version = index_version(params)
    values = None
    bands: tuple[int, ...] = ()
    if len(body) >= params.short_body_chars:
        values = hasher.values(shingle_hashes(body, params.shingle_size))
        bands = band_keys(values, *_lsh_bands(params.lsh_threshold, params.num_perm), version)
    title = normalise_for_dedupe(doc.title)
    grams = _bigrams(title)
    return Fingerprint(
        doc_id=doc.id,
        url=doc.url.strip(),
        content_hash=content_hash(body),
        body_chars=len(body),
        minhash=values,
        title_bigrams=grams,
        published_at=doc.published_at,
        band_keys=bands,
        title_keys=title_keys(title, version),
    )


TitleCandidate: TypeAlias = tuple[int, int, int, int, datetime]
"""``(doc_id, story_id, shared, grams, published_at)`` of an indexed document sharing title bigrams with the one
being matched: ``shared`` of the matched title's keys are among its ``grams`` keys."""


class StoryLookup(Protocol):
    """Where :func:`match_fingerprint` looks for earlier articles: the in-memory :class:`StoryIndex` (a run's own
    batch, tests, the evaluation) or the database's index (news_harvester.store.story_index). Every method
    answers from the indexed documents only, which are the documents of the story window."""

    def story_of(self, doc_id: int) -> int | None:
        """The story of an indexed document, or None when it is not indexed."""
        ...

    def by_url(self, url: str) -> tuple[int, int] | None:
        """``(doc_id, story_id)`` of the earliest indexed document with this canonical URL."""
        ...

    def by_content_hash(self, digest: str) -> tuple[int, int] | None:
        """``(doc_id, story_id)`` of the earliest indexed document with this normalised-body hash."""
        ...

    def band_candidates(self, keys: Sequence[int]) -> Iterable[tuple[int, int, MinHashValues]]:
        """``(doc_id, story_id, minhash)`` of the indexed documents sharing at least one LSH band key."""
        ...

    def title_candidates(
        self, keys: frozenset[int], around: datetime, window: timedelta, min_shared: int = 1
    ) -> Iterable[TitleCandidate]:
        """Indexed documents dated within ``window`` of ``around`` sharing at least ``min_shared`` title keys."""
        ...


def match_fingerprint(doc_id: int, fp: Fingerprint, lookup: StoryLookup, params: DedupeParams) -> DedupeDecision:
    """Decide whether the document repeats a known article, reprints a known story, or starts a new one.

    Pure given ``lookup``: the layers of the module docstring in order, the best verified candidate winning
    (ties to the lowest document id)."""
    known = lookup.story_of(doc_id)
    if known is not None:
        return DedupeDecision.exact_duplicate(known, "url", doc_id)
    if fp.url and (hit := lookup.by_url(fp.url)) is not None:
        return DedupeDecision.exact_duplicate(hit[1], "url", hit[0])
    if fp.content_hash and (hit := lookup.by_content_hash(fp.content_hash)) is not None:
        return DedupeDecision.exact_duplicate(hit[1], "content_hash", hit[0])
    if fp.minhash is not None:
        return _match_minhash(fp.minhash, fp.band_keys, lookup, params)
    return _match_title(fp, lookup, params)


def _match_minhash(
    values: MinHashValues, keys: Sequence[int], lookup: StoryLookup, params: DedupeParams
) -> DedupeDecision:
    best: tuple[float, int, int] | None = None
    for other_id, story_id, other in lookup.band_candidates(keys):
        sim = float(np.count_nonzero(other == values)) / len(values)
        if best is None or sim > best[0] or (sim == best[0] and other_id < best[1]):
            best = (sim, other_id, story_id)
    if best is None or best[0] < params.accept_threshold:
        return DedupeDecision.new_story()
    return DedupeDecision.same_story(best[2], best[0], "minhash", best[1])


def _match_title(fp: Fingerprint, lookup: StoryLookup, params: DedupeParams) -> DedupeDecision:
    if fp.published_at is None or not fp.title_keys:
        return DedupeDecision.new_story()
    n = len(fp.title_keys)
    best: tuple[float, int, int] | None = None
    # Jaccard ≥ t needs at least t·n shared keys (the other title has at least as many keys as it shares)
    least = max(1, math.ceil(params.title_threshold * n - 1e-9))
    for other_id, story_id, shared, grams, when in lookup.title_candidates(
        fp.title_keys, fp.published_at, params.title_window, least
    ):
        sim = shared / (n + grams - shared)
        if sim < params.title_threshold or abs(when - fp.published_at) > params.title_window:
            continue
        if best is None or sim > best[0] or (sim == best[0] and other_id < best[1]):
            best = (sim, other_id, story_id)
    if best is None:
        return DedupeDecision.new_story()
    return DedupeDecision.same_story(best[2], best[0], "title", best[1])


@dataclass
class _Entry:
    fp: Fingerprint
    story_id: int


@dataclass
class StoryIndex:
    """In-memory index of stories: a run's own batch (a run may carry an article and its reprint), the tests and
    the evaluation. The process-wide index of the story window lives in the database
    (news_harvester.store.story_index) and answers the same :class:`StoryLookup` questions.

    ``match`` never mutates; ``add`` records a document as a member of a story (adding the same document id
    again is a no-op); :meth:`remove_older_than` drops documents as the window moves.
    """

    params: DedupeParams = field(default_factory=DedupeParams)
    _hasher: _Hasher = field(init=False, repr=False)
    _entries: dict[int, _Entry] = field(init=False, default_factory=dict, repr=False)
    _by_url: dict[str, int] = field(init=False, default_factory=dict, repr=False)
    _by_hash: dict[str, int] = field(init=False, default_factory=dict, repr=False)
    _by_band: defaultdict[int, set[int]] = field(init=False, default_factory=lambda: defaultdict(set), repr=False)
    _by_title: defaultdict[int, set[int]] = field(init=False, default_factory=lambda: defaultdict(set), repr=False)

    def __post_init__(self) -> None:
        self._hasher = _hasher(self.params.num_perm, self.params.seed)

    @classmethod
    def from_records(cls, records: Iterable[tuple[DedupeDoc, int]], params: DedupeParams | None = None) -> StoryIndex:
        """Build an index from ``(doc, story_id)`` pairs."""
        index = cls(params or DedupeParams())
        for doc, story_id in records:
            index.add(doc, story_id)
        return index

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._entries

    def story_of(self, doc_id: int) -> int | None:
        entry = self._entries.get(doc_id)
        return entry.story_id if entry else None

    def by_url(self, url: str) -> tuple[int, int] | None:
        other = self._by_url.get(url)
        return None if other is None else (other, self._entries[other].story_id)

    def by_content_hash(self, digest: str) -> tuple[int, int] | None:
        other = self._by_hash.get(digest)
        return None if other is None else (other, self._entries[other].story_id)

    def band_candidates(self, keys: Sequence[int]) -> Iterator[tuple[int, int, MinHashValues]]:
        found: set[int] = set()
        for key in keys:
            found.update(self._by_band.get(key, ()))
        for doc_id in found:
            entry = self._entries[doc_id]
            assert entry.fp.minhash is not None
            yield doc_id, entry.story_id, entry.fp.minhash

    def title_candidates(
        self, keys: frozenset[int], around: datetime, window: timedelta, min_shared: int = 1
    ) -> Iterator[TitleCandidate]:
        counts: dict[int, int] = defaultdict(int)
        for key in keys:
            for doc_id in self._by_title.get(key, ()):
                counts[doc_id] += 1
        for doc_id, shared in counts.items():
            if shared < min_shared:
                continue
            entry = self._entries[doc_id]
            when = entry.fp.published_at
            if when is not None and abs(when - around) <= window:
                yield doc_id, entry.story_id, shared, len(entry.fp.title_keys), when

    def fingerprint(self, doc: DedupeDoc) -> Fingerprint:
        return _fingerprint(doc, self.params, self._hasher)

    def match(self, doc: DedupeDoc, fp: Fingerprint | None = None) -> DedupeDecision:
        """Decide whether ``doc`` repeats a known article, reprints a known story, or starts a new one."""
        return match_fingerprint(doc.id, fp or self.fingerprint(doc), self, self.params)

    def add(self, doc: DedupeDoc, story_id: int, fp: Fingerprint | None = None) -> None:
        """Record ``doc`` as a member of ``story_id``; a document id already present is left as it is."""
        if doc.id in self._entries:
            return
        fp = fp or self.fingerprint(doc)
        self._entries[doc.id] = _Entry(fp, story_id)
        if fp.url:
            self._by_url.setdefault(fp.url, doc.id)
        if fp.content_hash:
            self._by_hash.setdefault(fp.content_hash, doc.id)
        for key in fp.band_keys:
            self._by_band[key].add(doc.id)
        for key in fp.title_keys:
            self._by_title[key].add(doc.id)

    def renumber(self, story_ids: Mapping[int, int]) -> None:
        """Documents of the stories numbered provisionally (keys) now belong to these ids (values)."""
        for entry in self._entries.values():
            entry.story_id = story_ids.get(entry.story_id, entry.story_id)

    def assign(self, doc: DedupeDoc, new_story_id: int) -> DedupeDecision:
        """``match`` then ``add``: the doc joins the matched story, or ``new_story_id`` when nothing matched."""
        fp = self.fingerprint(doc)
        decision = self.match(doc, fp)
        self.add(doc, decision.story_id if decision.story_id is not None else new_story_id, fp)
        return decision

    def remove(self, doc_id: int) -> None:
        entry = self._entries.pop(doc_id, None)
        if entry is None:
            return
        fp = entry.fp
        if self._by_url.get(fp.url) == doc_id:
            del self._by_url[fp.url]
        if fp.content_hash and self._by_hash.get(fp.content_hash) == doc_id:
            del self._by_hash[fp.content_hash]
        for postings, keys in ((self._by_band, fp.band_keys), (self._by_title, fp.title_keys)):
            for key in keys:
                posting = postings.get(key)
                if posting is not None:
                    posting.discard(doc_id)
                    if not posting:
                        del postings[key]

    def remove_older_than(self, cutoff: datetime) -> int:
        """Drop documents published before ``cutoff`` (the window's start); returns how many went.

        Documents without ``published_at`` are kept (the caller should pass the fetch time instead of None).
        """
        old = [key for key, e in self._entries.items() if e.fp.published_at is not None and e.fp.published_at < cutoff]
        for key in old:
            self.remove(key)
        return len(old)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        """``(doc_id, story_id)`` for every indexed document."""
        return ((key, e.story_id) for key, e in self._entries.items())
