"""When a source runs: its APScheduler trigger (an interval with jitter, or a crontab line in the source's zone)
and, for display, when it would run next. Apart from the scheduler so that reading source health (the CLI's
``sources list``, the sources page) needs the triggers only, not the scheduler and its event loop."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from news_harvester.config import SourceSpec

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(expression: str, zone: tzinfo, jitter: int | None = None) -> CronTrigger:
    """A 5-field crontab expression in ``zone``.

    APScheduler 3 numbers weekdays from Monday = 0, crontab from Sunday = 0 (and 7); numeric
    weekdays are therefore rewritten as names so "1-5" keeps meaning Monday to Friday.
    """
    minute, hour, day, month, day_of_week = expression.split()
    day_of_week = re.sub(r"\d+", lambda m: _WEEKDAYS[int(m.group()) % 7], day_of_week)
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week, timezone=zone, jitter=jitter
    )


def make_trigger(spec: SourceSpec) -> BaseTrigger:
    """Interval sources get ±10 % jitter (at most 5 min); cron sources up to 1 min."""
    seconds = spec.interval_seconds
    if seconds is not None:
        return IntervalTrigger(seconds=seconds, jitter=int(min(seconds * 0.1, 300)), timezone=UTC)
    return cron_trigger(spec.schedule, spec.zone, jitter=60)


def next_fire_time(spec: SourceSpec, last_run: datetime | None, now: datetime) -> datetime | None:
    """When the schedule would next run this source (without jitter); for display."""
    seconds = spec.interval_seconds
    if seconds is not None:
        return now if last_run is None else max(now, last_run + timedelta(seconds=seconds))
    fire: datetime | None = cron_trigger(spec.schedule, spec.zone).get_next_fire_time(None, now)
    return fire
