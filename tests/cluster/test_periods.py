"""Schedule periods: every scheduler instance names the same period for the same tick, and fires at its start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from news_harvester.cluster.periods import cluster_trigger, offset_seconds, period_of
from news_harvester.config import SourceSpec


def spec(schedule: str, source_id: str = "mofcom-policy") -> SourceSpec:
    return SourceSpec.model_validate(
        {"id": source_id, "name": "n", "kind": "feed", "url": "https://example.org/f.xml", "schedule": schedule}
    )


def test_interval_periods_are_epoch_aligned_with_a_per_source_offset():
    s = spec("1h")
    trigger = cluster_trigger(s)
    now = datetime(2026, 11, 27, 10, 17, 3, tzinfo=UTC)
    fire = trigger.get_next_fire_time(None, now)
    # the trigger fires at a period start, which is what period_of names for that tick, late or a hair early
    assert period_of(s, fire) == fire
    assert period_of(s, fire + timedelta(minutes=59)) == fire
    assert period_of(s, fire - timedelta(milliseconds=5)) == fire
    assert period_of(s, fire + timedelta(minutes=61)) == fire + timedelta(hours=1)
    assert (fire - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() % 3600 == offset_seconds(s.id, 3600)
    # a second scheduler started at another moment fires at the same instants
    other = cluster_trigger(spec("1h")).get_next_fire_time(None, now + timedelta(seconds=1))
    assert other == fire


def test_sources_sharing_a_schedule_are_spread():
    offsets = {offset_seconds(f"source-{k}", 3600) for k in range(50)}
    assert len(offsets) > 40 and max(offsets) - min(offsets) > 3000


def test_cron_periods_are_the_cron_fire_times():
    s = spec("0 */2 * * *")  # every two hours, Asia/Shanghai
    fire = cluster_trigger(s).get_next_fire_time(None, datetime(2026, 11, 27, 10, 17, tzinfo=UTC))
    assert period_of(s, fire) == fire
    assert period_of(s, fire + timedelta(seconds=30)) == fire  # a late tick keeps its period
    assert period_of(s, fire - timedelta(milliseconds=5)) == fire
