"""Schedule periods that every scheduler instance computes identically.

An interval source's periods are the multiples of its interval since the Unix epoch, shifted by a fixed
per-source offset (crc32 of its id modulo the interval) so sources sharing a schedule are spread over it
instead of hitting their sites at the same instant. A cron source's periods are its cron fire times. The
cluster trigger fires exactly at period starts (no jitter: the offset is the spread), so two schedulers fire
for the same period at the same moment and the period is the key that makes their two attempts one job.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from news_harvester.config import SourceSpec
from news_harvester.harvest.triggers import cron_trigger

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CRON_SLACK = timedelta(seconds=59)
"""A cron job that fires up to this late still names the period it was due for (cron resolution: 1 min)."""


def offset_seconds(source_id: str, interval: int) -> int:
    return zlib.crc32(source_id.encode("utf-8")) % interval


def cluster_trigger(spec: SourceSpec) -> BaseTrigger:
    """Fires at every period start of ``spec``, the same instants in every process."""
    interval = spec.interval_seconds
    if interval is not None:
        start = EPOCH + timedelta(seconds=offset_seconds(spec.id, interval))
        return IntervalTrigger(seconds=interval, start_date=start, timezone=UTC)
    return cron_trigger(spec.schedule, spec.zone)


def period_of(spec: SourceSpec, now: datetime) -> datetime:
    """Start of the period ``now`` falls in (a late tick still names the period it was due for)."""
    interval = spec.interval_seconds
    if interval is not None:
        offset = offset_seconds(spec.id, interval)
        # a tick a hair early (timer resolution) still names the period it fired for
        elapsed = (now - EPOCH).total_seconds() + min(1.0, interval / 10) - offset
        return EPOCH + timedelta(seconds=offset + (elapsed // interval) * interval)
    fire: datetime | None = cron_trigger(spec.schedule, spec.zone).get_next_fire_time(None, now - CRON_SLACK)
    if fire is None or fire > now + timedelta(seconds=1):
        return now
    return fire.astimezone(UTC)


def aligned_period(seconds: float, now: datetime) -> datetime:
    """Period of a housekeeping job that runs every ``seconds`` (epoch-aligned, see SourceScheduler.add_periodic)."""
    elapsed = (now - EPOCH).total_seconds()
    return EPOCH + timedelta(seconds=(elapsed // seconds) * seconds)
