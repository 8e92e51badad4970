"""Dates as Chinese and international sites print them, made timezone-aware.

A time printed without a zone is wall-clock time in the source's zone (Beijing time for Chinese
sites), never silently UTC: RSSHub issue #673 shows the 8-hour error that causes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_tz

# An offset after a time: Z, +08:00 / +0800, or GMT / UTC / UT with an optional +8 / +08:00.
_OFFSET = r"Z|[+-]\d{2}:?\d{2}|(?:GMT|UTC|UT)(?:\s*[+-]\d{1,2}(?::?\d{2})?)?"
_NUMERIC_RE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})(?!\d)\s*日?"
    r"(?:[T\s]*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{1,2})(?:\s*[:：分]\s*(?P<S>\d{1,2})(?:[.,]\d+)?)?"
    rf"(?:\s*(?P<tz>{_OFFSET})(?![A-Za-z\d]))?)?"
)
_OFFSET_RE = re.compile(r"^(?:GMT|UTC|UT)?\s*(?P<sign>[+-])(?P<h>\d{1,2}):?(?P<m>\d{2})?$", re.I)
_RFC822_RE = re.compile(r"^\s*(?:[A-Za-z]{3},?\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\b")
_ZONE_SUFFIX_RE = re.compile(
    r"(?:Z|[+-]\d{2}:?\d{2}|\b(?:GMT|UTC|UT)\s*[+-]\d{1,2}(?::?\d{2})?|\b(?:GMT|UTC|UT|[ECMP][SD]T|Z))\s*$", re.I
)


def has_explicit_zone(text: str) -> bool:
    """True when a date string names its zone (offset, Z, GMT, UTC, GMT+8, US zone abbreviations).

    "CST" is ambiguous: RFC 822 means US Central, but Chinese CMSs print it for China Standard
    Time; ``read_date`` reads it as +08:00 when the source's own zone is at +08:00.
    """
    return bool(_ZONE_SUFFIX_RE.search(text.strip()))


def parse_date(text: str | None, zone: tzinfo) -> datetime | None:
    """First numeric date in ``text`` (2024年6月11日 10:30, 2024-06-11, 2024/6/11 …), else an
    RFC 822 date (Tue, 11 Jun 2024 10:30:00 +0800), zone-aware; zone-less means ``zone``."""
    found = read_date(text, zone)
    return found[0] if found else None


def read_date(text: str | None, zone: tzinfo) -> tuple[datetime, bool] | None:
    """Like :func:`parse_date`, also telling whether the zone was read from the text (True) or
    is the ``zone`` default (False). A zone the text names but this parser cannot read (EST …)
    counts as not read, so callers can defer to a parser that knows it."""
    if not text:
        return None
    match = _NUMERIC_RE.search(text)
    if match:
        try:
            value = datetime(
                int(match["y"]),
                int(match["m"]),
                int(match["d"]),
                int(match["H"] or 0),
                int(match["M"] or 0),
                int(match["S"] or 0),
            )
        except ValueError:
            return None
        offset = _offset(match["tz"])
        return (value.replace(tzinfo=offset), True) if offset else (value.replace(tzinfo=zone), False)
    if _RFC822_RE.match(text) and (parts := parsedate_tz(text.strip())) is not None:
        try:
            value = datetime(*parts[:6])
        except ValueError:
            return None
        suffix = re.search(r"(?:GMT|UTC|UT)\s*[+-]\d{1,2}(?::?\d{2})?\s*$", text.strip(), re.I)
        if suffix:
            offset = _offset(suffix.group(0))
            return (value.replace(tzinfo=offset), True) if offset else None
        if not has_explicit_zone(text):
            return value.replace(tzinfo=zone), False
        if re.search(r"\bCST\s*$", text, re.I) and zone.utcoffset(value) == timedelta(hours=8):
            return value.replace(tzinfo=zone), True  # China Standard Time, not US Central
        return value.replace(tzinfo=timezone(timedelta(seconds=parts[9] or 0))), True
    return None


def _offset(text: str | None) -> tzinfo | None:
    """Zone of an offset suffix: Z / GMT / UTC → UTC, +0800 / +08:00 / GMT+8 → fixed offset."""
    if not text:
        return None
    text = text.strip()
    if text.upper() in ("Z", "GMT", "UTC", "UT"):
        return UTC
    match = _OFFSET_RE.match(text)
    if not match:
        return None
    delta = timedelta(hours=int(match["h"]), minutes=int(match["m"] or 0))
    if delta > timedelta(hours=14):
        return None
    return timezone(-delta if match["sign"] == "-" else delta)
