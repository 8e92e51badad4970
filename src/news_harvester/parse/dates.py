"""Dates as Chinese and international sites print them, made timezone-aware.

A time printed without a zone is wall-clock time in the source's zone (Beijing time for Chinese
sites), never silently UTC: RSSHub issue #673 shows the 8-hour error that causes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo

_NUMERIC_RE = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*(?:[-/.年])\s*(?P<m>\d{1,2})\s*(?:[-/.月])\s*(?P<d>\d{1,2})\s*日?"
    r"(?:[T\s]*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{1,2})(?:\s*[:：分]\s*(?P<S>\d{1,2}))?)?"
    r"(?P<tz>\s*(?:Z|[+-]\d{2}:?\d{2}))?"
)
_ZONE_SUFFIX_RE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2}|\b(?:GMT|UTC|UT|[ECMP][SD]T|CST|Z))\s*$", re.I)


def has_explicit_zone(text: str) -> bool:
    """True when a date string names its zone (offset, Z, GMT, UTC, US zone abbreviations).

    "CST" is ambiguous (China Standard vs US Central); RFC 822 means US Central, and feedparser
    reads it so; we follow the RFC because feeds that say CST are RFC 822 dates.
    """
    return bool(_ZONE_SUFFIX_RE.search(text.strip()))


def parse_date(text: str | None, zone: tzinfo) -> datetime | None:
    """First numeric date in ``text`` (2024年6月11日 10:30, 2024-06-11, 2024/6/11 …), zone-aware."""
    if not text:
        return None
    match = _NUMERIC_RE.search(text)
    if not match:
        return None
    try:
        value = datetime(
            int(match["y"]), int(match["m"]), int(match["d"]),
            int(match["H"] or 0), int(match["M"] or 0), int(match["S"] or 0),
        )
    except ValueError:
        return None
    offset = (match["tz"] or "").strip()
    if offset:
        if offset.upper() == "Z":
            return value.replace(tzinfo=UTC)
        return datetime.fromisoformat(value.isoformat() + _colon_offset(offset))
    return value.replace(tzinfo=zone)


def _colon_offset(offset: str) -> str:
    digits = offset[1:].replace(":", "")
    return f"{offset[0]}{digits[:2]}:{digits[2:]}"
