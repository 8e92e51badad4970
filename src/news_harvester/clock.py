"""The one clock of the harvest and the shells, and the one way a time is shown to a person.

Pure code (models, parse, stories) takes ``now`` as an argument. Stored times are UTC; people read them in
the editors' zone (Beijing time) to the minute, on every page and in every CLI table, so that the same
moment never appears as two different clock times. JSON output keeps full ISO 8601 with the offset.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

EDITOR_ZONE = ZoneInfo("Asia/Shanghai")
EDITOR_ZONE_LABEL = "UTC+8"
"""How CLI headers name the zone of the times below them (English output; the web pages say 北京时间 once)."""
MINUTE = "%Y-%m-%d %H:%M"


def utc_now() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)


def editor_time(when: datetime | str | None, fmt: str = MINUTE, empty: str = "—") -> str:
    """``when`` in Beijing time as a person reads it (to the minute by default).

    Accepts the ISO strings of the health reports as well as datetimes; a naive value is UTC (that is how
    the store keeps times), never the local zone of the machine that happens to print it."""
    if not when:  # None, "", or a template's undefined value
        return empty
    if isinstance(when, str):
        try:
            moment = datetime.fromisoformat(when)
        except ValueError:
            return when  # not a time after all: show it as it is rather than fail the page
    else:
        moment = when
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(EDITOR_ZONE).strftime(fmt)
