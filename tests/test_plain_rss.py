"""The lxml reader of plain RSS 2.0 (parse/plain_rss.py) reads every document it accepts as feedparser does.

Differential, over every recorded XML document we have: feedparser's own test suite (2,000 documents of every
shape, many of them RSS 2.0 edge cases), the trafilatura feeds and the presets' feeds. Wherever the lxml reader
gives an answer, it is feedparser's answer: the same items (address, title, dates, author, guid) and, for the item
HTML that feedparser re-serializes, the same text. Where it declines, parse_feed is feedparser's reading itself.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import missing_shared
from news_harvester.errors import ParseError
from news_harvester.harvest.decode import decode_body
from news_harvester.parse.clean import html_to_text
from news_harvester.parse.feeds import parse_feed, read_with_feedparser
from news_harvester.parse.plain_rss import read_plain_rss

ROOT = Path(__file__).resolve().parent
SHARED = ROOT.parents[1] / "shared" / "fixtures"
ZONE = ZoneInfo("Asia/Shanghai")
URL = "http://feeds.example.cn/news/feed.xml"


def _documents() -> list[Path]:
    if not (SHARED / "feedparser-tests").is_dir():
        missing_shared("../shared/fixtures/feedparser-tests not available")
    found = [p for p in SHARED.rglob("*") if p.suffix.lower() in (".xml", ".rss", ".atom") and p.is_file()]
    found += sorted((ROOT / "fixtures").rglob("*.xml"))
    return sorted(found)


def _same(fast, slow, where: str) -> None:
    assert fast.title == slow.title, where
    assert fast.warnings == slow.warnings == (), where
    assert len(fast.items) == len(slow.items), where
    for mine, theirs in zip(fast.items, slow.items, strict=True):
        for field in ("url", "title", "published", "published_raw", "author", "guid"):
            assert getattr(mine, field) == getattr(theirs, field), (where, field)
        for field in ("summary_html", "content_html"):
            a, b = getattr(mine, field), getattr(theirs, field)
            assert (a is None) == (b is None), (where, field)
            assert html_to_text(a) == html_to_text(b), (where, field)


def test_every_document_the_lxml_reader_accepts_reads_as_feedparser_reads_it():
    accepted = declined = 0
    for path in _documents():
        text = decode_body(path.read_bytes(), "application/xml").text
        fast = read_plain_rss(text, ZONE)
        if fast is None:
            declined += 1
            continue
        accepted += 1
        try:
            slow = read_with_feedparser(text, URL, ZONE)
        except ParseError as exc:
            pytest.fail(f"{path}: lxml read {len(fast.items)} items, feedparser none ({exc})")
        _same(fast, slow, str(path))
    assert accepted >= 5, (accepted, declined)  # the presets' real feeds among them


DATES = (
    "Tue, 11 Jun 2024 10:30:00 +0800", "Tue, 11 Jun 2024 02:30:00 GMT", "Tue, 11 Jun 2024 10:30:00 CST",
    "11 Jun 2024 10:30 +0800", "2024-06-11T10:30:00+08:00", "2024-06-11T02:30:00Z", "2024-06-11 10:30:00",
    "2024/06/11 10:30", "2024-06-11", "2024年06月11日 10:30", "Tuesday, June 11, 2024", "Tue, 11 Jun 2024 10:30:00",
    "", "  Tue, 11 Jun 2024 10:30:00 +0800  ",
)
MARKUP = ("<p>{}</p>", "{}<br>{}", "<strong>{}</strong>{}", '<a href="http://www.gov.cn/x/1.html">{}</a>',
          '<img src="https://img.example.cn/a.jpg" alt="{}">{}', "{} &amp; {}", "{}&nbsp;{}",
          "<div><p>{}</p><p>{}</p></div>",
          "{} &lt;{}&gt;", "{}&#8220;{}&#8221;", '<a href="/rel/2.html">{}</a>', '<img src="pic.png">{}')


def _titles() -> list[str]:
    path = SHARED / "thucnews-titles" / "THUCNews" / "data" / "dev.txt"
    if not path.exists():
        missing_shared("../shared/fixtures/thucnews-titles not available")
    lines = path.read_text(encoding="utf-8").splitlines()[:3000]
    return [line.split("\t")[0] for line in lines if line.strip()]


def _generated_feed(rng, titles) -> str:
    """A feed in one site's style (its date format, guid habit, author, markup, CDATA or escaped HTML), items
    of real headlines: a feed's items share a shape, as a CMS writes them."""
    date_format = rng.choice(DATES)
    guid = rng.choice(["none", "link", "link", "id-false", "id"])
    author = rng.choice(["", "", "<dc:creator>新华社</dc:creator>", "<author>本网记者</author>",
                         "<author>editor@example.cn (编辑)</author>"])
    shapes = rng.sample(MARKUP, 2)
    cdata = rng.random() < 0.5
    extras = rng.random() < 0.3, rng.random() < 0.2, rng.random() < 0.3  # content:encoded, dc:date, category

    def html() -> str:
        shape = rng.choice(shapes)
        text = shape.format(*(rng.choice(titles) for _ in range(shape.count("{}"))))
        return f"<![CDATA[{text}]]>" if cdata else _xml(text)

    items = []
    for k in range(rng.randint(1, 8)):
        link = f"http://www.example.cn/news/{rng.randint(1, 10**6)}.html"
        parts = [f"<title>{_xml(rng.choice(titles))}</title>",
                 f"<link>{rng.choice(['', ' ', chr(10)])}{link}{rng.choice(['', '  '])}</link>",
                 f"<description>{html()}</description>"]
        parts += {"none": [], "link": [f"<guid>{link}</guid>"], "id-false": [f'<guid isPermaLink="false">n{k}</guid>'],
                  "id": [f"<guid>n{k}</guid>"]}[guid]
        parts += [f"<pubDate>{date_format}</pubDate>"] if date_format else []
        parts += [author] if author else []
        parts += [f"<content:encoded>{html()}</content:encoded>"] if extras[0] else []
        parts += [f"<dc:date>{rng.choice(DATES)}</dc:date>"] if extras[1] else []
        parts += ["<category>财经</category>"] if extras[2] else []
        items.append("<item>" + "".join(parts) + "</item>")
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>' + _xml(rng.choice(titles))
            + "</title><link>http://www.example.cn/</link>" + "".join(items) + "</channel></rss>")


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_generated_feeds_of_real_headlines_read_as_feedparser_reads_them():
    """600 feeds built at random (seeded) from real headlines, the date formats Chinese sites use, HTML as CDATA
    or escaped, optional guid / author / content: wherever lxml answers, it answers what feedparser does."""
    import random

    rng = random.Random(20)
    titles = _titles()
    accepted = 0
    for n in range(600):
        text = _generated_feed(rng, titles)
        fast = read_plain_rss(text, ZONE)
        if fast is None:
            continue
        accepted += 1
        _same(fast, read_with_feedparser(text, URL, ZONE), f"generated feed {n}:\n{text}")
    assert accepted >= 200, accepted  # the common shapes are read by lxml


BASIC = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title> 商务部新闻 </title><link>http://www.mofcom.gov.cn/</link>
<item><title>九部门印发意见</title><link>http://www.mofcom.gov.cn/a/1.html</link><guid isPermaLink="false">g1</guid>
<description><![CDATA[<p>6月11日，商务部等九部门联合印发<br>意见。</p>]]></description>
<pubDate>Tue, 11 Jun 2024 10:30:00 +0800</pubDate><dc:creator>新闻办</dc:creator><category>政策</category></item>
<item><title>第二条</title><link>http://www.mofcom.gov.cn/a/2.html</link>
<content:encoded><![CDATA[<div>全文 &amp; 图表</div>]]></content:encoded><dc:date>2024-06-12 09:00</dc:date></item>
</channel></rss>"""


def test_a_plain_feed_is_read_by_lxml_with_feedparsers_fields():
    fast = read_plain_rss(BASIC, ZONE)
    assert fast is not None
    _same(fast, read_with_feedparser(BASIC, URL, ZONE), "basic")
    first, second = fast.items
    assert (first.url, first.guid, first.author) == ("http://www.mofcom.gov.cn/a/1.html", "g1", "新闻办")
    assert first.published is not None and first.published.isoformat() == "2024-06-11T10:30:00+08:00"
    assert second.summary_html == second.content_html == "<div>全文 &amp; 图表</div>", "feedparser's fallback"
    assert second.published is not None and second.published.utcoffset() == ZONE.utcoffset(second.published)
    assert parse_feed(BASIC, URL, ZONE) == fast


@pytest.mark.parametrize("change", [
    ("<link>http://www.mofcom.gov.cn/a/1.html</link>", "<link>/a/1.html</link>"),  # relative: feedparser resolves
    ("联合印发<br>意见", '联合印发<img src="i.png">意见'),  # a relative image inside the HTML
    ("<pubDate>Tue, 11 Jun 2024 10:30:00 +0800</pubDate>", "<pubDate>someday soon</pubDate>"),  # a date we cannot read
    ('<rss version="2.0"', '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><atom:x/'),  # not well-formed
    ("<title>九部门印发意见</title>", "<title>九部门&lt;b&gt;印发&lt;/b&gt;</title>"),  # markup in a title
    ("<dc:creator>新闻办</dc:creator>", "<dc:creator>新闻办</dc:creator><author>x</author>"),  # two authors
    ("<category>政策</category>", "<media:x xmlns:media='http://search.yahoo.com/mrss/'/>"),  # an unknown element
    ('<guid isPermaLink="false">g1</guid>', "<guid>g1</guid>"),  # a permalink feedparser resolves to an address
])
def test_what_feedparser_might_read_otherwise_is_left_to_feedparser(change):
    old, new = change
    assert old in BASIC
    text = BASIC.replace(old, new)
    assert read_plain_rss(text, ZONE) is None
    try:
        expected = read_with_feedparser(text, URL, ZONE)
    except ParseError:
        with pytest.raises(ParseError):
            parse_feed(text, URL, ZONE)
        return
    assert parse_feed(text, URL, ZONE) == expected


def test_atom_rss1_and_html_go_to_feedparser():
    atom = ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
            '<entry><title>a</title><link href="http://e.cn/1"/><id>1</id></entry></feed>')
    rdf = ('<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
           'xmlns="http://purl.org/rss/1.0/"><item rdf:about="http://e.cn/1"><title>a</title>'
           '<link>http://e.cn/1</link></item></rdf:RDF>')
    for text in (atom, rdf, "<html><body>not a feed</body></html>", ""):
        assert read_plain_rss(text, ZONE) is None
