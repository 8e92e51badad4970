"""Cross-source dedupe: exact fingerprints, MinHash-LSH near-duplicates and title similarity for flashes.

A pure stage (no DB, no network, no clock): values in, :class:`DedupeDecision` out. Articles are never
dropped here; a match names the story (cluster) the article should join. datasketch is imported only here, on
first use (it loads scipy: half a second a CLI command that never matches a story should not pay).

Layers, tried in order by :meth:`StoryIndex.match`:

1. ``url``: the canonical URL (the caller passes ``clean.canonical_url`` output) was seen before →
   ``exact_duplicate``. Re-harvesting an article is therefore idempotent.
2. ``content_hash``: SHA-256 of :func:`normalise_for_dedupe` (body) equals a known one → ``exact_duplicate``
   (only for normalised bodies of at least ``MIN_HASH_CHARS`` characters, so empty or stub bodies never collide).
3. ``minhash``: for bodies of at least ``SHORT_BODY_CHARS`` normalised characters, MinHash over character
   k-shingles of the normalised body, candidates from a datasketch ``MinHashLSH``, then verified on the MinHash
   Jaccard estimate ≥ ``accept_threshold`` → ``same_story``.
4. ``title``: for short items (flashes, normalised body < ``SHORT_BODY_CHARS``): Jaccard of the character-bigram
   sets of the normalised titles ≥ ``title_threshold`` and ``published_at`` within ``title_window`` of each other
   → ``same_story``. Items without ``published_at`` never match on the title alone.

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
precision 1.000, recall 0.995 over 3,405 same-story pairs (articles: 1.000 / 0.994 over 3,205 pairs; the 18
misses are two half-length excerpts, each unmatched to its 9 partners; flashes: 1.000 / 1.000 over 200 pairs).
The set is extracted with the current ``parse.article``, so these figures move slightly with the extractor.

Memory: datasketch picks 37 bands x 3 rows for threshold 0.3 at 128 permutations, and its dict storage keeps a
set per bucket, so the index costs roughly 10-15 kB per long article (see bench/dedup.py for measured RSS).
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from typing import Any, Literal

import numpy as np

__all__ = [
    "DedupeDecision",
    "DedupeDoc",
    "DedupeParams",
    "Fingerprint",
    "StoryIndex",
    "content_hash",
    "fingerprint",
    "normalise_for_dedupe",
    "shingle_hashes",
    "title_bigrams",
]

SHORT_BODY_CHARS = 200
"""Normalised bodies shorter than this are flashes: matched on the title layer, not on MinHash."""
MIN_HASH_CHARS = 20
"""Normalised bodies shorter than this get no content hash (an empty body must not match every empty body)."""

Layer = Literal["url", "content_hash", "minhash", "title"]
Kind = Literal["exact_duplicate", "same_story", "new_story"]


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


def normalise_for_dedupe(text: str) -> str:
    """Fold ``text`` to the form every fingerprint is taken from.

    NFKC (full-width ``ＡＢＣ１２３`` → ``abc123``, compatibility forms), traditional → simplified characters,
    casefold, and only letters and digits kept: whitespace, punctuation and symbols are dropped.
    """
    folded = unicodedata.normalize("NFKC", text).translate(_FOLD).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def content_hash(normalised: str) -> str | None:
    """SHA-256 (hex) of a normalised body, or None when it is too short to identify anything."""
    if len(normalised) < MIN_HASH_CHARS:
        return None
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


_MASK32 = np.uint64(0xFFFFFFFF)


def shingle_hashes(normalised: str, k: int) -> np.ndarray[Any, np.dtype[np.uint32]]:
    """Distinct 32-bit hashes of the character k-shingles of ``normalised`` (vectorised; stable across runs).

    A text shorter than ``k`` yields one shingle, the whole text; an empty text yields none.
    """
    if not normalised:
        return np.empty(0, dtype=np.uint32)
    codes = np.frombuffer(normalised.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(codes) < k:
        codes = np.concatenate([codes, np.zeros(k - len(codes), dtype=np.uint64)])
    n = len(codes) - k + 1
    acc = np.zeros(n, dtype=np.uint64)
    for j in range(k):
        # polynomial rolling hash mod 2^32, then a murmur3 finaliser for avalanche
        acc = ((acc * np.uint64(0x01000193)) + codes[j : j + n]) & _MASK32
    acc ^= acc >> np.uint64(16)
    acc = (acc * np.uint64(0x85EBCA6B)) & _MASK32
    acc ^= acc >> np.uint64(13)
    acc = (acc * np.uint64(0xC2B2AE35)) & _MASK32
    acc ^= acc >> np.uint64(16)
    return np.unique(acc.astype(np.uint32))


def title_bigrams(title: str) -> frozenset[str]:
    """Character bigrams of the normalised title (a one-character title is its own unigram)."""
    norm = normalise_for_dedupe(title)
    if len(norm) < 2:
        return frozenset((norm,)) if norm else frozenset()
    return frozenset(norm[i : i + 2] for i in range(len(norm) - 1))


@dataclass(frozen=True, slots=True)
class DedupeDoc:
    """What dedupe needs of an article. ``url`` is already canonical; ``published_at`` is timezone-aware
    (the caller falls back to the fetch time when the page shows no date)."""

    id: int
    url: str
    title: str
    body: str
    published_at: datetime | None = None


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

    @property
    def is_short(self) -> bool:
        return self.minhash is None


@dataclass(frozen=True, slots=True)
class DedupeDecision:
    """Outcome of :meth:`StoryIndex.match`."""

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


class _Hasher:
    """MinHash of shingle hashes with datasketch's permutations, computed in one vectorised step."""

    def __init__(self, num_perm: int, seed: int) -> None:
        from datasketch import MinHash  # type: ignore[import-untyped]  # scipy behind it: ~0.5 s, on first use

        template = MinHash(num_perm=num_perm, seed=seed, scheme="affine32")
        a, b = template.permutations
        self.a = np.asarray(a, dtype=np.uint32)
        self.b = np.asarray(b, dtype=np.uint32)
        self.num_perm = num_perm
        self.seed = seed

    def values(self, hashes: np.ndarray[Any, np.dtype[np.uint32]]) -> np.ndarray[Any, np.dtype[np.uint32]]:
        if len(hashes) == 0:
            return np.full(self.num_perm, 0xFFFFFFFF, dtype=np.uint32)
        out = np.full(self.num_perm, 0xFFFFFFFF, dtype=np.uint32)
        for start in range(0, len(hashes), 512):  # bounded temporary: 512 x num_perm
            block = hashes[start : start + 512, None] * self.a[None, :] + self.b[None, :]
            np.minimum(out, block.min(axis=0), out=out)
        return out

    def minhash(self, values: np.ndarray[Any, np.dtype[np.uint32]]) -> Any:
        from datasketch import MinHash  # type: ignore[import-untyped]

        return MinHash(seed=self.seed, hashvalues=values, permutations=(self.a, self.b), scheme="affine32")


def preload() -> None:
    """Load datasketch now: the daemon calls this at start-up, before it claims any run, so that its first
    run does not pay the half second of importing it (and scipy) in the middle of a harvest."""
    import datasketch  # type: ignore[import-untyped]  # noqa: F401


@functools.cache
def _hasher(num_perm: int, seed: int) -> _Hasher:
    """Permutations are derived once per (num_perm, seed): building them costs ~40 ms, and every run's batch
    index needs the same ones."""
    return _Hasher(num_perm, seed)


@functools.cache
def _lsh_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """datasketch's optimal (bands, rows) for the threshold; it integrates false-positive/negative areas for
    every split, ~50 ms, so it is done once rather than for every run's batch index."""
    from datasketch import MinHashLSH  # type: ignore[import-untyped]

    probe = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return int(probe.b), int(probe.r)


def fingerprint(doc: DedupeDoc, params: DedupeParams | None = None) -> Fingerprint:
    """All fingerprints of ``doc`` (MinHash only for bodies that are not short)."""
    params = params or DedupeParams()
    return _fingerprint(doc, params, _hasher(params.num_perm, params.seed))


def _fingerprint(doc: DedupeDoc, params: DedupeParams, hasher: _Hasher) -> Fingerprint:
    body = normalise_for_dedupe(doc.body)
    values = None
    if len(body) >= params.short_body_chars:
        values = hasher.values(shingle_hashes(body, params.shingle_size))
    return Fingerprint(
        doc_id=doc.id,
        url=doc.url.strip(),
        content_hash=content_hash(body),
        body_chars=len(body),
        minhash=values,
        title_bigrams=title_bigrams(doc.title),
        published_at=doc.published_at,
    )


@dataclass
class _Entry:
    fp: Fingerprint
    story_id: int


@dataclass
class StoryIndex:
    """In-memory index of the stories of the dedupe window.

    ``match`` never mutates; ``add`` records a document as a member of a story (adding the same document id
    again is a no-op). Build it at start-up with :meth:`from_records` from the window's articles, and call
    :meth:`remove_older_than` as the window moves.
    """

    params: DedupeParams = field(default_factory=DedupeParams)
    _hasher: _Hasher = field(init=False, repr=False)
    _lsh: Any = field(init=False, repr=False)
    _entries: dict[int, _Entry] = field(init=False, default_factory=dict, repr=False)
    _by_url: dict[str, int] = field(init=False, default_factory=dict, repr=False)
    _by_hash: dict[str, int] = field(init=False, default_factory=dict, repr=False)
    _by_bigram: defaultdict[str, set[int]] = field(init=False, default_factory=lambda: defaultdict(set), repr=False)

    def __post_init__(self) -> None:
        self._hasher = _hasher(self.params.num_perm, self.params.seed)
        bands, rows = _lsh_bands(self.params.lsh_threshold, self.params.num_perm)
        from datasketch import MinHashLSH  # type: ignore[import-untyped]

        self._lsh = MinHashLSH(num_perm=self.params.num_perm, params=(bands, rows))

    @classmethod
    def from_records(cls, records: Iterable[tuple[DedupeDoc, int]], params: DedupeParams | None = None) -> StoryIndex:
        """Rebuild the index from ``(doc, story_id)`` pairs, e.g. the window's articles read from the DB."""
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

    def fingerprint(self, doc: DedupeDoc) -> Fingerprint:
        return _fingerprint(doc, self.params, self._hasher)

    def match(self, doc: DedupeDoc, fp: Fingerprint | None = None) -> DedupeDecision:
        """Decide whether ``doc`` repeats a known article, reprints a known story, or starts a new one."""
        fp = fp or self.fingerprint(doc)
        known = self._entries.get(doc.id)
        if known is not None:
            return DedupeDecision.exact_duplicate(known.story_id, "url", doc.id)
        if fp.url and (other := self._by_url.get(fp.url)) is not None:
            return DedupeDecision.exact_duplicate(self._entries[other].story_id, "url", other)
        if fp.content_hash and (other := self._by_hash.get(fp.content_hash)) is not None:
            return DedupeDecision.exact_duplicate(self._entries[other].story_id, "content_hash", other)
        if fp.minhash is not None:
            return self._match_minhash(fp.minhash)
        return self._match_title(fp)

    def _match_minhash(self, values: np.ndarray[Any, np.dtype[np.uint32]]) -> DedupeDecision:
        best: tuple[float, int] | None = None
        for key in self._lsh.query(self._hasher.minhash(values)):
            other = self._entries[key].fp.minhash
            assert other is not None
            sim = float(np.count_nonzero(other == values)) / len(values)
            if best is None or sim > best[0] or (sim == best[0] and key < best[1]):
                best = (sim, key)
        if best is None or best[0] < self.params.accept_threshold:
            return DedupeDecision.new_story()
        return DedupeDecision.same_story(self._entries[best[1]].story_id, best[0], "minhash", best[1])

    def _match_title(self, fp: Fingerprint) -> DedupeDecision:
        if fp.published_at is None or not fp.title_bigrams:
            return DedupeDecision.new_story()
        counts: dict[int, int] = defaultdict(int)
        for gram in fp.title_bigrams:
            for key in self._by_bigram.get(gram, ()):
                counts[key] += 1
        best: tuple[float, int] | None = None
        n = len(fp.title_bigrams)
        for key, inter in counts.items():
            other = self._entries[key].fp
            sim = inter / (n + len(other.title_bigrams) - inter)
            if sim < self.params.title_threshold or other.published_at is None:
                continue
            if abs(other.published_at - fp.published_at) > self.params.title_window:
                continue
            if best is None or sim > best[0] or (sim == best[0] and key < best[1]):
                best = (sim, key)
        if best is None:
            return DedupeDecision.new_story()
        return DedupeDecision.same_story(self._entries[best[1]].story_id, best[0], "title", best[1])

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
        if fp.minhash is not None:
            self._lsh.insert(doc.id, self._hasher.minhash(fp.minhash), check_duplication=False)
        for gram in fp.title_bigrams:
            self._by_bigram[gram].add(doc.id)

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
        if fp.minhash is not None:
            self._lsh.remove(doc_id)
        for gram in fp.title_bigrams:
            posting = self._by_bigram.get(gram)
            if posting is not None:
                posting.discard(doc_id)
                if not posting:
                    del self._by_bigram[gram]

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
