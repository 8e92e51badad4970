"""MinHash and LSH keys, vectorised with numpy: character shingles → 32-bit hashes → MinHash values (datasketch's
"affine32" permutations, derived here so no process loads datasketch and scipy) → one 64-bit key per LSH band, and
one per title bigram. Pure functions of their inputs; :mod:`news_harvester.stories.dedupe` decides with them.
"""

from __future__ import annotations

import functools
from typing import Any, TypeAlias

import numpy as np

MinHashValues: TypeAlias = "np.ndarray[Any, np.dtype[np.uint32]]"

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


def affine32_permutations(num_perm: int, seed: int) -> tuple[MinHashValues, MinHashValues]:
    """The ``(a, b)`` of the ``num_perm`` permutations h → a·h + b mod 2^32 that datasketch's ``MinHash`` derives
    for ``seed`` under its "affine32" scheme (an odd ``a`` makes each a bijection): the same draws from
    ``RandomState(seed)``, so MinHash values equal datasketch's (tests/test_dedupe.py compares them). Derived here
    because importing datasketch loads scipy: half a second and ~40 MiB at every start of every process."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def _area(curve: Any, low: float, high: float, points: int = 401) -> float:
    """Composite Simpson's rule: error below 1e-9 for the smooth polynomials of :func:`optimal_bands`."""
    if high <= low:
        return 0.0
    s = np.linspace(low, high, points)
    y = curve(s)
    h = (high - low) / (points - 1)
    return float(h / 3 * (y[0] + y[-1] + 4 * y[1:-1:2].sum() + 2 * y[2:-1:2].sum()))


def optimal_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """``(bands, rows)`` minimising the false-positive area below ``threshold`` plus the false-negative area above
    it, weighted equally: the split datasketch's ``MinHashLSH(threshold=…)`` picks (tests/test_dedupe.py checks)."""
    best, best_error = (1, 1), float("inf")
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):

            def caught(s: Any, b: int = bands, r: int = rows) -> Any:
                return 1 - (1 - s**r) ** b

            false_positive = _area(caught, 0.0, threshold)
            false_negative = _area(lambda s, c=caught: 1 - c(s), threshold, 1.0)
            error = 0.5 * false_positive + 0.5 * false_negative
            if error < best_error:
                best, best_error = (bands, rows), error
    return best


class _Hasher:
    """MinHash of shingle hashes with datasketch's "affine32" permutations, computed in one vectorised step."""

    def __init__(self, num_perm: int, seed: int) -> None:
        self.a, self.b = affine32_permutations(num_perm, seed)
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


@functools.cache
def _hasher(num_perm: int, seed: int) -> _Hasher:
    """Permutations are derived once per (num_perm, seed): every run's batch needs the same ones."""
    return _Hasher(num_perm, seed)


@functools.cache
def _lsh_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """:func:`optimal_bands`, once per process (it integrates two areas for each of ~600 splits)."""
    return optimal_bands(threshold, num_perm)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix64(x: np.ndarray[Any, np.dtype[np.uint64]]) -> np.ndarray[Any, np.dtype[np.uint64]]:
    """SplitMix64's finaliser, vectorised (a bijection of 64-bit words; uint64 arithmetic wraps)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _MIX1
    x = x ^ (x >> np.uint64(27))
    x = x * _MIX2
    return x ^ (x >> np.uint64(31))


def band_keys(values: MinHashValues, bands: int, rows: int, version: int) -> tuple[int, ...]:
    """One signed 64-bit key per LSH band, mixed from the version, the band number and the band's ``rows``
    MinHash values. Two documents share a bucket when a band's values are equal (datasketch's MinHashLSH banding),
    and otherwise only by a ~2^-64 chance (which costs one verified candidate, never a wrong match). Vectorised:
    a per-band cryptographic hash cost more than the MinHash itself. The key fits a BIGINT column."""
    table = values[: bands * rows].astype(np.uint64).reshape(bands, rows)
    acc = _mix64(np.arange(bands, dtype=np.uint64) * _GOLDEN + np.uint64(version))
    for j in range(rows):
        acc = _mix64(acc ^ table[:, j])
    return tuple(acc.view(np.int64).tolist())


def title_keys(normalised_title: str, version: int) -> frozenset[int]:
    """One signed 64-bit key per distinct character bigram of a normalised title (the title layer's postings):
    the two code points (21 bits each) side by side, mixed with the version. A one-character title is its own
    key, as in :func:`title_bigrams`; the count of keys equals the count of distinct bigrams."""
    if not normalised_title:
        return frozenset()
    codes = np.frombuffer(normalised_title.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(codes) == 1:
        pairs = (codes << np.uint64(21)) | np.uint64(0x1FFFFF)  # not a code point: never equal to a bigram
    else:
        pairs = np.unique((codes[:-1] << np.uint64(21)) | codes[1:])
    return frozenset(_mix64(pairs ^ (np.uint64(version) << np.uint64(42))).view(np.int64).tolist())
