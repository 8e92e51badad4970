"""parse_date / read_date / has_explicit_zone on the formats Chinese and international sites print."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from news_harvester.parse.dates import has_explicit_zone, parse_date, read_date

SHANGHAI = ZoneInfo("Asia/Shanghai")
PLUS8 = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("text", "wall"),
    [
        ("2024年6月11日 10:30", (2024, 6, 11, 10, 30, 0)),
        ("2024年06月11日10:30", (2024, 6, 11, 10, 30, 0)),
        ("2024年6月11日 10时30分", (2024, 6, 11, 10, 30, 0)),
        ("2024年6月11日", (2024, 6, 11, 0, 0, 0)),
        ("2024-06-11 10:30:00", (2024, 6, 11, 10, 30, 0)),
        ("2024-06-11 10:30:05", (2024, 6, 11, 10, 30, 5)),
        ("2024-06-11T10:30:00", (2024, 6, 11, 10, 30, 0)),
        ("2024-06-11T10:30:00.123", (2024, 6, 11, 10, 30, 0)),
        ("2024/6/11", (2024, 6, 11, 0, 0, 0)),
        ("2024/06/11 9:05", (2024, 6, 11, 9, 5, 0)),
        ("2024.06.11", (2024, 6, 11, 0, 0, 0)),
        ("2024-6-1", (2024, 6, 1, 0, 0, 0)),
        ("发布时间：2024-06-11 10:30　来源：商务部网站", (2024, 6, 11, 10, 30, 0)),
        ("[2024-06-11]", (2024, 6, 11, 0, 0, 0)),
        ("2024-06-11 10：30", (2024, 6, 11, 10, 30, 0)),  # full-width colon
        ("Tue, 11 Jun 2024 10:30:00", (2024, 6, 11, 10, 30, 0)),  # RFC 822 without a zone
    ],
)
def test_zoneless_dates_are_wall_time_in_the_source_zone(text, wall):
    value = parse_date(text, SHANGHAI)

    assert value == datetime(*wall, tzinfo=SHANGHAI)
    assert value.utcoffset() == timedelta(hours=8)
    assert read_date(text, SHANGHAI) == (value, False)


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2024-06-11T10:30:00+08:00", datetime(2024, 6, 11, 2, 30, tzinfo=UTC)),
        ("2024-06-11 10:30:00 +0800", datetime(2024, 6, 11, 2, 30, tzinfo=UTC)),
        ("2024-06-11T10:30:00.250+08:00", datetime(2024, 6, 11, 2, 30, tzinfo=UTC)),
        ("2024-06-11T02:30:00Z", datetime(2024, 6, 11, 2, 30, tzinfo=UTC)),
        ("2024-06-11 10:30:00 GMT+8", datetime(2024, 6, 11, 2, 30, tzinfo=UTC)),
        ("2024-06-11 10:30 UTC+08:00", datetime(2024, 6, 11, 2, 30, tzinfo=UTC)),
        ("2024-06-11 10:30:00 UTC", datetime(2024, 6, 11, 10, 30, tzinfo=UTC)),
        ("2024-06-11T10:30:00-05:00", datetime(2024, 6, 11, 15, 30, tzinfo=UTC)),
        ("2024年6月11日 10:30 +0800", datetime(2024, 6, 11, 2, 30, tzinfo=UTC)),
        ("Tue, 11 Jun 2024 10:30:00 +0800", datetime(2024, 6, 11, 2, 30, tzinfo=UTC)),
        ("Tue, 11 Jun 2024 10:30:00 GMT", datetime(2024, 6, 11, 10, 30, tzinfo=UTC)),
        ("Tue, 11 Jun 2024 10:30:00 GMT+8", datetime(2024, 6, 11, 2, 30, tzinfo=UTC)),
        ("11 Jun 2024 10:30 -0400", datetime(2024, 6, 11, 14, 30, tzinfo=UTC)),
    ],
)
def test_explicit_offsets_give_the_right_instant(text, instant):
    value, zone_read = read_date(text, ZoneInfo("Europe/Brussels"))  # the source zone must not matter

    assert value == instant
    assert zone_read is True
    assert parse_date(text, ZoneInfo("Europe/Brussels")) == instant


def test_same_wall_time_differs_by_source_zone():
    assert parse_date("2024-06-11 10:30", SHANGHAI) == datetime(2024, 6, 11, 2, 30, tzinfo=UTC)
    assert parse_date("2024-06-11 10:30", ZoneInfo("Europe/Brussels")) == datetime(2024, 6, 11, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "昨天 10:30",
        "2024-13-01",  # no month 13
        "2024-02-30",
        "第12024-06-11号",  # the year is part of a longer number
        "2024-06-111",
        "1850-06-11",  # outside 1900-2099
        "Mon, 99 Foo 2024",
    ],
)
def test_not_a_date(text):
    assert parse_date(text, SHANGHAI) is None


def test_a_time_range_does_not_become_an_offset_when_spaced():
    assert parse_date("2024-06-11 10:30 - 12:00", SHANGHAI) == datetime(2024, 6, 11, 10, 30, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("text", "explicit"),
    [
        ("Tue, 11 Jun 2024 10:30:00 +0800", True),
        ("2024-06-11T10:30:00+08:00", True),
        ("2024-06-11T10:30:00Z", True),
        ("Tue, 11 Jun 2024 10:30:00 GMT", True),
        ("Tue, 11 Jun 2024 10:30:00 GMT+8", True),
        ("2024-06-11 10:30 UTC+08:00", True),
        ("Tue, 11 Jun 2024 10:30:00 EST", True),
        ("Tue, 11 Jun 2024 10:30:00", False),
        ("2024-06-11T10:30:00", False),
        ("2024年6月11日 10:30", False),
        ("2024-06-11", False),
    ],
)
def test_has_explicit_zone(text, explicit):
    assert has_explicit_zone(text) is explicit


def test_unreadable_named_zone_is_reported_as_not_read():
    """EST after a numeric date: the numeric parser cannot read it and says so (zone_read False),
    so the feed parser defers to feedparser's RFC 822 zone table."""
    value, zone_read = read_date("2024-06-11 10:30:00 EST", SHANGHAI)

    assert zone_read is False
    assert has_explicit_zone("2024-06-11 10:30:00 EST")
    assert value == datetime(2024, 6, 11, 10, 30, tzinfo=SHANGHAI)


def test_offsets_keep_their_own_zone():
    assert parse_date("2024-06-11T10:30:00+08:00", SHANGHAI).utcoffset() == PLUS8.utcoffset(None)


def test_cst_is_china_standard_time_for_a_beijing_source_and_us_central_elsewhere():
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from news_harvester.parse.dates import parse_date

    text = "Tue, 11 Jun 2024 10:30:00 CST"
    assert parse_date(text, ZoneInfo("Asia/Shanghai")) == datetime(2024, 6, 11, 2, 30, tzinfo=UTC)
    assert parse_date(text, ZoneInfo("America/Chicago")) == datetime(2024, 6, 11, 16, 30, tzinfo=UTC)


def test_month_range_in_a_headline_is_not_a_date():
    from zoneinfo import ZoneInfo

    from news_harvester.parse.dates import parse_date

    zone = ZoneInfo("Asia/Shanghai")
    assert parse_date("2024年1-5月我国服务外包执行额同比增长", zone) is None
    assert parse_date("2024年1-5月服务贸易数据 2024-06-20", zone).date().isoformat() == "2024-06-20"
