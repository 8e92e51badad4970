"""Dates as Chinese and international sites print them, made timezone-aware.

A time printed without a zone is wall-clock time in the source's zone (Beijing time for Chinese
sites), never silently UTC: RSSHub issue #673 shows the 8-hour error that causes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_tz

# An offset after a time: Z, +08:00 / +0800, or GMT / UTC / UT with an optional +8 / +08:00.
_OFFSET = r"Z|[+-]\d{2}:?\d{2}|(?:GMT|UTC|UT)(?:\s*[+-]\d{1,2}(?::?\d{2})?)?"
_NUMERIC_RE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})(?!\d)(?!\s*月)\s*日?"
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
        value = _numeric_value(match)
        if value is None:
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


def _numeric_value(match: re.Match[str]) -> datetime | None:
    """The naive datetime of a ``_NUMERIC_RE`` match; None for impossible dates (2024-02-30)."""
    try:
        return datetime(
            int(match["y"]),
            int(match["m"]),
            int(match["d"]),
            int(match["H"] or 0),
            int(match["M"] or 0),
            int(match["S"] or 0),
        )
    except ValueError:
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


# --------------------------------------------------------------------------- dates inside page text
# Helpers for the article extractor: where a date sits in a line, whether it named a time of day,
# dates without a year ("06-11", "6月11日") completed from a reference date, and dates in URLs.

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_MONTH_NAME = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
_TIME = r"(?:,?\s+(?:at\s+)?(?P<H>\d{1,2}):(?P<M>\d{2})(?::\d{2})?(?:\s*(?P<ap>[ap])\.?m\.?(?![a-z]))?)?"
# "July 28, 2011", "Dec 28 Sat 2013 00:28" (a blog's date badge), "28 June 2024 10:30".
_ENGLISH_RES = (
    re.compile(
        rf"\b{_MONTH_NAME}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+{_WEEKDAY}(?P<y>(?:19|20)\d{{2}})\b{_TIME}", re.I
    ),
    re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH_NAME},?\s+(?P<y>(?:19|20)\d{{2}})\b{_TIME}", re.I),
)
_MONTH_RANGE_RE = re.compile(r"\s*月")
# Month and day without a year: "06-11 10:30", "6月11日", "06月24日 11時30分", "06/11".
_MONTH_DAY_RE = re.compile(
    r"(?<![\d.:/-])(?P<m>\d{1,2})\s*(?:[-/]|月)\s*(?P<d>\d{1,2})(?![\d.:/-])\s*[日号]?"
    r"(?:\s*(?P<H>\d{1,2})\s*[:：时時]\s*(?P<M>\d{2}))?"
)
# Two-digit year, only trusted after a date label: "发布时间：18-03-08".
_SHORT_YEAR_RE = re.compile(r"(?<![\d.:/-])(?P<y>\d{2})-(?P<m>\d{2})-(?P<d>\d{2})(?![\d.:/-])")
# Dates in URL paths: /20240611/, /2024-06-11/, /2024-06/11/, /2024/0611/, /art/2024/6/11/, _2019_09_07_,
# /t20240611_123.html, and a compact 20240611 anywhere (query strings such as ?a=20170309-3509).
_URL_DATE_RES = (
    re.compile(r"(?<![\d])(?P<y>(?:19|20)\d{2})[-_/]?(?P<m>0[1-9]|1[0-2])[-_/]?(?P<d>0[1-9]|[12]\d|3[01])(?!\d)"),
    re.compile(r"/(?P<y>(?:19|20)\d{2})/(?P<m>[1-9]|1[0-2])/(?P<d>[1-9]|[12]\d|3[01])/"),
)


@dataclass(frozen=True, slots=True)
class FoundDate:
    """A date read from a line of text: its value, whether a time of day was given, and where it sat."""

    value: datetime
    has_time: bool
    start: int
    end: int


def find_date(text: str, zone: tzinfo) -> FoundDate | None:
    """The first complete date (with a year) in ``text``: numeric or Chinese forms as
    :func:`parse_date` reads them, else an English month name ("July 28, 2011")."""
    for match in _NUMERIC_RE.finditer(text):
        if _MONTH_RANGE_RE.match(text, match.end("d")):  # "2024年1-5月": months 1 to 5, not 5 January
            continue
        value = _numeric_value(match)
        if value is None:
            continue
        offset = _offset(match["tz"])
        return FoundDate(value.replace(tzinfo=offset or zone), match["H"] is not None, match.start(), match.end())
    for pattern in _ENGLISH_RES:
        for match in pattern.finditer(text):
            try:
                value = datetime(
                    int(match["y"]),
                    _MONTHS[match["mon"].lower().rstrip(".")],
                    int(match["d"]),
                    _hour(int(match["H"] or 0), match["ap"]),
                    int(match["M"] or 0),
                )
            except (ValueError, KeyError):
                continue
            return FoundDate(value.replace(tzinfo=zone), match["H"] is not None, match.start(), match.end())
    return None


def _hour(hour: int, half: str | None) -> int:
    """A 12-hour clock's hour on the 24-hour clock ("12:06 PM" is 12:06, "12:30 AM" 00:30, "1:30 pm" 13:30)."""
    if half is None or not 1 <= hour <= 12:
        return hour
    return hour % 12 + (12 if half.lower() == "p" else 0)


def find_month_day(text: str, zone: tzinfo, reference: datetime, *, short_year: bool = False) -> FoundDate | None:
    """A date printed without its year ("06-11 10:30", "6月11日"), given the year that makes it the
    latest such day not after ``reference`` (a date the page or its URL gives, or the caller's clock).
    With ``short_year`` (the text follows a date label) "18-03-08" reads as 2018-03-08."""
    if short_year and (match := _SHORT_YEAR_RE.search(text)):
        try:
            value = datetime(2000 + int(match["y"]), int(match["m"]), int(match["d"]), tzinfo=zone)
        except ValueError:
            value = None
        if value is not None and abs((value - reference).days) <= 366:
            return FoundDate(value, False, match.start(), match.end())
    for match in _MONTH_DAY_RE.finditer(text):
        month, day = int(match["m"]), int(match["d"])
        hour, minute = int(match["H"] or 0), int(match["M"] or 0)
        candidates = []
        for year in (reference.year - 1, reference.year, reference.year + 1):
            try:
                candidates.append(datetime(year, month, day, hour, minute, tzinfo=zone))
            except ValueError:
                continue
        # The latest such day not after the reference: a publication precedes the clock reading
        # and the modification time, and falls on the URL's day.
        past = [value for value in candidates if value <= reference + timedelta(days=1)]
        if past or candidates:
            best = max(past) if past else min(candidates, key=lambda value: abs(value - reference))
            return FoundDate(best, match["H"] is not None, match.start(), match.end())
    return None


def date_from_url(url: str, zone: tzinfo) -> datetime | None:
    """The calendar day a URL's path or query names (/20240611/, /2024-06/11/, t20240611_…), as
    midnight in ``zone``; a year and month alone (/2011/07/) name no day."""
    path = url.split("://", 1)[-1]
    path = path[path.find("/") :] if "/" in path else ""
    for pattern in _URL_DATE_RES:
        for match in pattern.finditer(path):
            try:
                return datetime(int(match["y"]), int(match["m"]), int(match["d"]), tzinfo=zone)
            except ValueError:
                continue
    return None
