"""Issue 18: English pages' titles and publication days from the signals such pages carry — publication-time
meta under names the known lists do not hold (`article_date_original`, a `*pubdate*` name), Parse.ly's JSON meta,
12-hour clock times, and the heading's own quotes when the meta copy flattened them. Pages are built for the test
from those signals; the newspaper4k pages with a known title and date are scored as a whole at the end."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from conftest import shared_fixture
from news_harvester.harvest.decode import decode_body
from news_harvester.parse.article import extract_page
from news_harvester.parse.dates import find_date

NEW_YORK = ZoneInfo("America/New_York")
BODY = "<p>" + "The city council approved the new budget after a long debate on Tuesday evening. " * 8 + "</p>"


def _page(head: str, heading: str = "Council approves the budget") -> str:
    return f"<html><head>{head}</head><body><article><h1>{heading}</h1>{BODY}</article></body></html>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Saturday, December 27, 2014, 12:06 PM", datetime(2014, 12, 27, 12, 6)),
        ("Dec. 27, 2014 at 1:30 p.m.", datetime(2014, 12, 27, 13, 30)),
        ("27 December 2014, 12:30 am", datetime(2014, 12, 27, 0, 30)),
        ("Published 3 June 2024 09:15", datetime(2024, 6, 3, 9, 15)),
    ],
)
def test_english_dates_read_the_twelve_hour_clock(text, expected):
    found = find_date(text, NEW_YORK)
    assert found is not None and found.value == expected.replace(tzinfo=NEW_YORK) and found.has_time


@pytest.mark.parametrize(
    "meta",
    [
        '<meta name="article_date_original" content="Saturday, December 27, 2014, 12:06 PM">',
        '<meta name="sailthru.pubdate" content="2014-12-27 12:06">',
        '<meta name="publish-timestamp" content="2014-12-27T12:06:00-05:00">',
        '<meta name="parsely-page" content=\'' + json.dumps({"title": "x", "pub_date": "2014-12-27T17:06:00Z"})
        + "'>",
    ],
)
def test_publication_time_meta_under_other_names(meta):
    page = extract_page(_page(meta), "https://www.example.com/news/budget.html", NEW_YORK)
    assert page.published_at is not None
    assert page.published_at.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2014, 12, 27, 12, 6)
    assert page.date_origin == "meta"


def test_an_update_time_is_never_the_publication_time():
    updated = '<meta name="article_date_updated" content="Sunday, December 28, 2014, 9:00 AM">'
    page = extract_page(_page(updated), "https://www.example.com/news/budget.html", NEW_YORK)
    assert page.published_at is None or page.published_at.date() != datetime(2014, 12, 28).date()


def test_the_heading_s_quotes_win_over_a_meta_copy_that_flattened_them():
    head = '<meta property="og:title" content="Council&#039;s budget passes — at last">'
    page = extract_page(_page(head, "Council’s budget passes – at last"), "https://www.example.com/a.html", NEW_YORK)
    assert page.title == "Council’s budget passes – at last"
    other = extract_page(_page(head, "A different heading altogether"), "https://www.example.com/a.html", NEW_YORK)
    assert other.title == "Council's budget passes — at last"  # a different heading does not replace the claim


def test_newspaper4k_pages_with_a_known_title_and_date():
    """17 pages with a known title, 13 with a known date. Three titles stay different, on purpose: the
    reference keeps the site suffix (日本経済新聞, a photo credit) or takes the <title> tag's SEO headline
    instead of the one the page shows (TIME); ours gives the headline as shown without the site."""
    base = shared_fixture("newspaper4k-testdata/tests/data")
    titles = dates = titled = dated = 0
    for meta_file in sorted((base / "metadata").glob("*.json")):
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        raw = (base / "html" / f"{meta_file.stem}.html").read_bytes()
        page = extract_page(decode_body(raw, None).text, meta.get("url") or "https://example.com/", ZoneInfo("UTC"))
        if meta.get("title"):
            titled += 1
            titles += (page.title or "").strip() == meta["title"].strip()
        if meta.get("publish_date"):
            dated += 1
            dates += page.published_at is not None and page.published_at.date().isoformat() == meta["publish_date"][:10]
    assert (titled, dated) == (17, 13)
    assert dates == 13 and titles >= 15
