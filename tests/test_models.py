"""Health derivation and backoff: the pure rules the scheduler and `sources list` rely on."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from news_harvester.models import MAX_BACKOFF, Health, backoff_delay, derive_health, is_due


@pytest.mark.parametrize(
    ("outcomes", "failures", "expected"),
    [
        ([], 0, Health.UNKNOWN),
        (["running"], 0, Health.UNKNOWN),
        (["ok", "not_modified", "ok"], 0, Health.HEALTHY),
        (["error", "ok"], 1, Health.DEGRADED),
        (["ok", "error", "ok"], 0, Health.HEALTHY),
        (["ok", "error", "ok", "error"], 0, Health.DEGRADED),
        (["error", "error", "error"], 3, Health.FAILING),
        (["interrupted", "ok"], 0, Health.HEALTHY),
    ],
    ids=["never ran → unknown", "only running → unknown", "all fine → healthy", "last failed → degraded",
         "one recovered blip → healthy", "flapping → degraded", "3 failures in a row → failing",
         "interrupted is not a failure"],
)
def test_derive_health(outcomes, failures, expected):
    assert derive_health(outcomes, failures) == expected


def test_backoff_doubles_is_jittered_and_capped_but_finite():
    rng = random.Random(1)
    base = timedelta(minutes=30)
    delays = [backoff_delay(n, base, rng=rng) for n in range(1, 12)]
    assert backoff_delay(0, base) == timedelta(0)
    assert timedelta(minutes=27) <= delays[0] <= timedelta(minutes=33)
    assert timedelta(minutes=54) <= delays[1] <= timedelta(minutes=66)
    assert all(d <= MAX_BACKOFF for d in delays)
    assert delays[-1] >= MAX_BACKOFF * 0.9, "a long-failing source waits about the cap, and is still retried"


def test_backoff_never_shorter_than_retry_after():
    assert backoff_delay(1, timedelta(minutes=1), retry_after=3600) >= timedelta(hours=1)
    assert backoff_delay(1, timedelta(minutes=1), retry_after=10**9) == MAX_BACKOFF


def test_is_due():
    now = datetime(2024, 6, 11, tzinfo=UTC)
    assert is_due(None, now)
    assert is_due(now - timedelta(seconds=1), now)
    assert not is_due(now + timedelta(seconds=1), now)
