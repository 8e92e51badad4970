"""parse_feed on real RSS 0.9x / 1.0 (RDF) / 2.0 and Atom 0.3 / 1.0 documents, ill-formed feeds
that recover with a warning, documents that are errors, and time zones of entry dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import feedparser
import pytest

import feeds
from conftest import shared_fixture
from news_harvester.errors import ParseError
from news_harvester.harvest.decode import decode_body
from news_harvester.parse.feeds import parse_feed

SHANGHAI = ZoneInfo("Asia/Shanghai")
FEED_URL = "http://feeds.example.org/path/feed.xml"
WELLFORMED = "feedparser-tests/tests/wellformed"
ILLFORMED = "feedparser-tests/tests/illformed"


def _read(relative: str) -> str:
    """A fixture as the fetcher hands it over: decoded text."""
    return decode_body(shared_fixture(relative).read_bytes()).text


@pytest.mark.parametrize(
    ("relative", "version", "count", "title", "url", "published"),
    [
        (
            f"{WELLFORMED}/namespace/rss2.0NSwithModules.xml",
            "rss20",
            1,
            "Test Item - RSS2.0 w/ NS",
            "http://www.pocketsoap.com/weblog/rssTests/rss2.0NSwithModules.xml#1",
            datetime(2002, 9, 28, 20, 1, 19, tzinfo=UTC),
        ),
        (
            "trafilatura-eval/tests/resources/feed2.rss",
            "rss20",
            1,
            "Example entry",
            "http://www.example.com/blog/post/1",
            datetime(2009, 9, 6, 16, 20, tzinfo=UTC),
        ),
        (
            f"{WELLFORMED}/namespace/rss1.0withModules.xml",
            "rss10",
            1,
            "Test Item - RSS 1.0",
            "http://www.pocketsoap.com/weblog/rssTests/rss1.0withModules.xml#1",
            datetime(2002, 9, 28, 20, 1, 19, tzinfo=UTC),
        ),
        (
            f"{WELLFORMED}/sanitize/large_atom_feed_that_needs_css_sanitisation.xml",
            "atom10",
            15,
            "Невидимая броня для Вашего Nokia 5800",
            "http://touchnokia.ru/2009/09/nevidimaja-bronja-dlja-vashego-nokia-5800.html",
            datetime(2009, 9, 9, 14, 19, 45, tzinfo=UTC),
        ),
        (
            f"{WELLFORMED}/namespace/atomthreadingwithentry.xml",
            "atom10",
            1,
            "bloffo bliff by te...",
            "http://salmon-test.blogspot.com/2009/10/test-post.html?showComment=1260320342544#c4788628857625737701",
            datetime(2009, 12, 9, 0, 59, 2, tzinfo=UTC),  # 2009-12-08T16:59:02.544-08:00
        ),
        (f"{WELLFORMED}/atom/entry_link_href.xml", "atom03", 1, "", "http://www.example.com/", None),
        (f"{WELLFORMED}/rdf/rdf_item_link.xml", "rss10", 1, "", "http://example.com/1", None),
    ],
    ids=["rss2.0", "rss2.0-feed2", "rss1.0-rdf", "atom1.0-15-entries", "atom1.0-threading", "atom0.3", "rdf-link"],
)
def test_real_feeds_yield_their_entries(relative, version, count, title, url, published):
    text = _read(relative)
    assert feedparser.parse(text).version == version  # the sample is what it claims to be

    feed = parse_feed(text, FEED_URL, SHANGHAI)

    assert len(feed.items) == count
    first = feed.items[0]
    assert (first.title, first.url) == (title, url)
    assert first.published == published
    assert first.published is None or first.published.utcoffset() is not None
    assert feed.warnings == ()
    assert all(item.url.startswith(("http://", "https://")) for item in feed.items)


def test_large_real_atom_feed_keeps_order_authors_and_content():
    feed = parse_feed(
        _read(f"{WELLFORMED}/sanitize/large_atom_feed_that_needs_css_sanitisation.xml"), FEED_URL, SHANGHAI
    )

    assert feed.title.startswith("Все для Nokia 5800")
    assert len({item.url for item in feed.items}) == 15
    assert all(item.author == "iPod" for item in feed.items)
    assert all(item.guid.startswith("tag:touchnokia.ru,2009://") for item in feed.items)
    assert "Невидимая броня для Вашего девайса." in feed.items[0].content_html
    dates = [item.published for item in feed.items]
    assert dates[0] == max(dates)  # newest first, as the feed lists them


def test_entry_without_an_article_link_is_skipped_not_given_its_urn_id():
    """feed1.atom's second entry has only rel="self" and a urn:uuid id: no article page."""
    feed = parse_feed(_read("trafilatura-eval/tests/resources/feed1.atom"), "http://example.org/feed", SHANGHAI)

    assert [item.title for item in feed.items] == ["Atom-Powered Robots Run Amok"]
    assert feed.items[0].url == "http://example.org/2003/12/13/atom03"
    assert feed.items[0].guid == "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"


def test_relative_item_links_resolve_against_the_feed_url():
    feed = parse_feed(_read(f"{WELLFORMED}/base/http_item_link_base_docuri.xml"), FEED_URL, SHANGHAI)

    assert [item.url for item in feed.items] == ["http://feeds.example.org/relative/uri"]


@pytest.mark.parametrize(
    ("relative", "url", "title"),
    [
        (f"{ILLFORMED}/rss_item_link_corrupted_ampersands.xml", "http://link/get?a=1&b=2", ""),
        (f"{ILLFORMED}/rdf_channel_empty_textinput.xml", "http://example.com/1", "crashes here"),
    ],
)
def test_illformed_feeds_recover_with_a_warning(relative, url, title):
    text = _read(relative)
    assert feedparser.parse(text).bozo  # really ill-formed

    feed = parse_feed(text, FEED_URL, SHANGHAI)

    assert [(item.url, item.title) for item in feed.items] == [(url, title)]
    assert len(feed.warnings) == 1
    assert feed.warnings[0].startswith("malformed feed, recovered what could be read")


@pytest.mark.parametrize(
    "relative",
    [
        f"{WELLFORMED}/rss/rss_version_090.xml",
        f"{WELLFORMED}/rss/rss_version_091_netscape.xml",
        f"{WELLFORMED}/rss/rss_version_092.xml",
        f"{WELLFORMED}/rss/rss_version_094.xml",
        f"{WELLFORMED}/rdf/rss090_item_title.xml",  # RSS 0.90 item with a title and no link
        f"{ILLFORMED}/aaa_illformed.xml",
        f"{ILLFORMED}/rss_incomplete_cdata.xml",
    ],
)
def test_documents_without_usable_entries_are_no_items_errors(relative):
    with pytest.raises(ParseError) as caught:
        parse_feed(_read(relative), FEED_URL, SHANGHAI)

    assert caught.value.code == "parse.no_items"
    assert "entries" in str(caught.value)


def test_empty_document_is_malformed():
    with pytest.raises(ParseError) as caught:
        parse_feed(_read(f"{ILLFORMED}/rss_empty_document.xml"), FEED_URL, SHANGHAI)

    assert caught.value.code == "parse.malformed"


@pytest.mark.parametrize(
    "relative",
    [
        "gne/tests/xinhuanet/1.html",
        "gne/test_list_page/163/1.html",
        "gerapy-samples/samples/list/netease_rolling_news.html",
        "newspaper4k-testdata/tests/data/html/chinese_article_002.html",
        "readability-testpages/test/test-pages/gmw/source.html",
    ],
)
def test_html_page_is_not_a_feed(relative):
    text = decode_body(shared_fixture(relative).read_bytes(), "text/html").text

    with pytest.raises(ParseError) as caught:
        parse_feed(text, "http://www.news.cn/feed.xml", SHANGHAI)

    assert caught.value.code == "parse.not_a_feed"


# --------------------------------------------------------------------------- dates and zones


def _one_rss_date(date: str) -> datetime | None:
    text = feeds.rss([{"title": "商务部发布数字贸易政策", "link": "http://www.mofcom.gov.cn/a/1.html", "date": date}])
    (item,) = parse_feed(text, FEED_URL, SHANGHAI).items
    assert item.published_raw == date
    return item.published


def _one_atom_date(date: str) -> datetime | None:
    text = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>新华网</title>'
        '<entry><title>数字贸易</title><link href="http://www.news.cn/a/1.htm"/><id>urn:x:1</id>'
        f"<updated>{date}</updated></entry></feed>"
    )
    (item,) = parse_feed(text, FEED_URL, SHANGHAI).items
    return item.published


BEIJING_1030_UTC = datetime(2024, 6, 11, 2, 30, tzinfo=UTC)  # 2024-06-11 10:30 Beijing time


@pytest.mark.parametrize(
    "date",
    [
        "Tue, 11 Jun 2024 10:30:00 +0800",
        "Tue, 11 Jun 2024 10:30 +0800",
        "Tue, 11 Jun 2024 02:30:00 GMT",
        "Tue, 11 Jun 2024 10:30:00 GMT+8",
        "Tue, 11 Jun 2024 10:30:00 GMT+0800",
        "2024-06-11T10:30:00+08:00",
        "2024-06-11T02:30:00Z",
        "2024-06-11 10:30:00 +0800",
        "2024/06/11 10:30:00 +0800",
    ],
)
def test_dates_with_a_zone_become_the_right_instant(date):
    published = _one_rss_date(date)

    assert published == BEIJING_1030_UTC
    assert published.utcoffset() is not None


@pytest.mark.parametrize(
    "date",
    [
        "Tue, 11 Jun 2024 10:30:00",  # RFC 822 without a zone (feedparser cannot read it)
        "2024-06-11T10:30:00",
        "2024-06-11 10:30:00",
        "2024/06/11 10:30:00",  # feedparser alone reads this as 1 November
        "2024年06月11日 10:30",  # and this
        "2024-6-11 10:30",
    ],
)
def test_zoneless_pubdate_is_beijing_wall_time_never_utc(date):
    published = _one_rss_date(date)

    assert published == BEIJING_1030_UTC
    assert published != datetime(2024, 6, 11, 10, 30, tzinfo=UTC)
    assert published.astimezone(SHANGHAI).hour == 10


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("2024-06-11T10:30:00", BEIJING_1030_UTC),
        ("2024-06-11T10:30:00.250", BEIJING_1030_UTC),
        ("2024-06-11T10:30:00Z", datetime(2024, 6, 11, 10, 30, tzinfo=UTC)),
        ("2024-06-11T10:30:00+02:00", datetime(2024, 6, 11, 8, 30, tzinfo=UTC)),
        ("2024-06-11T10:30:00.250-05:00", datetime(2024, 6, 11, 15, 30, tzinfo=UTC)),
        ("2024-06-11", datetime(2024, 6, 10, 16, 0, tzinfo=UTC)),
    ],
)
def test_atom_dates(date, expected):
    assert _one_atom_date(date) == expected


def test_source_zone_is_used_for_zoneless_dates_not_always_shanghai():
    text = feeds.rss([{"title": "EU trade news item", "link": "http://ec.europa.eu/a/1", "date": "2024-06-11 10:30"}])

    (item,) = parse_feed(text, FEED_URL, ZoneInfo("Europe/Brussels")).items

    assert item.published == datetime(2024, 6, 11, 10, 30, tzinfo=timezone(timedelta(hours=2)))


def test_us_zone_abbreviations_follow_rfc822():
    assert _one_rss_date("Tue, 11 Jun 2024 10:30:00 EST") == datetime(2024, 6, 11, 15, 30, tzinfo=UTC)


def test_feed_declared_gb2312_is_parsed_from_decoded_text():
    """The fetcher hands over text; the prolog's encoding must not make feedparser re-decode it."""
    text = feeds.rss(feeds.items("http://www.mofcom.gov.cn", 3), encoding="gb2312", title="商务部新闻")
    decoded = decode_body(text.encode("gb2312"), "application/rss+xml").text

    feed = parse_feed(decoded, FEED_URL, SHANGHAI)

    assert feed.title == "商务部新闻"
    assert [item.title for item in feed.items] == [f"商务部发布数字贸易政策第{k}号通知" for k in range(3)]
    assert feed.items[0].summary_html.startswith("<p>6月11日，商务部")
