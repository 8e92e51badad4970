"""canonical_url, content_hash and html_to_text: one spelling per URL, one hash per text whatever
its spacing and punctuation width, readable text from real HTML."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from conftest import shared_fixture
from news_harvester.parse.article import extract_page
from news_harvester.parse.clean import canonical_url, content_hash, html_to_text

READABILITY = "readability-testpages/test/test-pages"

# --------------------------------------------------------------------------- canonical_url


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (
            "HTTP://WWW.Mofcom.GOV.cn:80/article/zcfb/202406/20240603513.shtml?utm_source=wx&spm=a2c6h.1&id=3"
            "&from=timeline#p2",
            "http://www.mofcom.gov.cn/article/zcfb/202406/20240603513.shtml?id=3",
        ),
        ("https://www.news.cn:443/world/20240611/abc/c.html", "https://www.news.cn/world/20240611/abc/c.html"),
        ("https://www.mofcom.gov.cn:8443/a", "https://www.mofcom.gov.cn:8443/a"),
        ("http://www.mofcom.gov.cn:443/a", "http://www.mofcom.gov.cn:443/a"),  # 443 is not http's default
        ("https://example.com", "https://example.com/"),
        ("https://example.com/?utm_source=x&utm_medium=y", "https://example.com/"),
        ("https://example.com/a?b=2&a=1&fbclid=XYZ", "https://example.com/a?b=2&a=1"),  # order kept
        ("https://example.com/a?q=1&q=2&ref=abc&gclid=1", "https://example.com/a?q=1&q=2"),
        ("https://example.com/Path/To/Page.HTML?ID=AbC", "https://example.com/Path/To/Page.HTML?ID=AbC"),
        (
            "https://example.com/a%20b?q=%E4%B8%AD%E6%96%87&x=a+b",
            "https://example.com/a%20b?q=%E4%B8%AD%E6%96%87&x=a+b",
        ),
        ("http://x.cn/index.php?123&utm_medium=y", "http://x.cn/index.php?123"),  # bare keys stay bare
        ("https://example.com/view;jsessionid=9A1B?id=7", "https://example.com/view?id=7"),
        ("https://[2001:db8::1]:8080/a#top", "https://[2001:db8::1]:8080/a"),
        ("  https://Example.com/a#frag  ", "https://example.com/a"),
    ],
)
def test_canonical_url(url, canonical):
    assert canonical_url(url) == canonical


def test_canonical_url_is_idempotent_and_merges_spellings():
    spellings = [
        "https://WWW.NEWS.CN:443/fortune/2023-11/17/c_1129981476.htm?spm=C73544894212.P59511941341.0.0#top",
        "https://www.news.cn/fortune/2023-11/17/c_1129981476.htm",
        "https://www.news.cn/fortune/2023-11/17/c_1129981476.htm?utm_campaign=brief&from=groupmessage",
    ]
    canonical = {canonical_url(u) for u in spellings}

    assert canonical == {"https://www.news.cn/fortune/2023-11/17/c_1129981476.htm"}
    assert canonical_url(canonical.pop()) == "https://www.news.cn/fortune/2023-11/17/c_1129981476.htm"


def test_canonical_url_keeps_distinct_articles_distinct():
    assert canonical_url("https://a.cn/art?id=1") != canonical_url("https://a.cn/art?id=2")
    assert canonical_url("https://a.cn/a/1.html") != canonical_url("https://a.cn/A/1.html")


# --------------------------------------------------------------------------- content_hash

TEXT = "商务部：推动数字贸易高质量发展，扩大高水平对外开放。2024年，跨境电商进出口2.38万亿元（增长10.8%）。"


@pytest.mark.parametrize(
    "variant",
    [
        TEXT.replace("：", ":").replace("，", ",").replace("。", ".").replace("（", "(").replace("）", ")"),
        TEXT.replace("2.38", "２.３８").replace("10.8%", "１０.８％"),  # full-width digits
        TEXT.replace("，", "， ").replace("。", "。\n\n"),
        "  " + TEXT.replace("数字贸易", "数字 贸易") + "\u3000",
        TEXT.replace("商务部", "商务部\u00a0"),
    ],
)
def test_content_hash_ignores_width_spacing_and_punctuation(variant):
    assert variant != TEXT
    assert content_hash(variant) == content_hash(TEXT)


def test_content_hash_distinguishes_different_text():
    assert content_hash(TEXT) != content_hash(TEXT.replace("2.38", "2.39"))
    assert content_hash(TEXT) != content_hash(TEXT.replace("扩大", "缩小"))
    assert content_hash(TEXT) != content_hash(TEXT[:-10])
    assert len(content_hash(TEXT)) == 64


def test_two_real_captures_of_one_article_hash_the_same():
    """gne thepaper/2 and /4 are two captures of one article whose texts differ in spacing."""
    zone = ZoneInfo("Asia/Shanghai")
    url = "https://www.thepaper.cn/newsDetail_forward_4150096"
    pages = [shared_fixture(f"gne/tests/thepaper/{n}.html").read_text(encoding="utf-8") for n in (2, 4)]
    first, second = (extract_page(page, url, zone) for page in pages)

    # The captures differ (spacing, page chrome); their extracted bodies may now be equal, since the
    # extractor normalises spacing itself, and must hash the same.
    assert html_to_text(pages[0]) != html_to_text(pages[1])
    assert content_hash(first.body_text) == content_hash(second.body_text)
    other = extract_page(shared_fixture("gne/tests/thepaper/1.html").read_text(encoding="utf-8"), url, zone)
    assert content_hash(other.body_text) != content_hash(first.body_text)


# --------------------------------------------------------------------------- html_to_text


def test_paragraphs_one_per_line_and_scripts_dropped_on_a_real_page():
    text = html_to_text(shared_fixture(f"{READABILITY}/remove-script-tags/source.html").read_text(encoding="utf-8"))

    lines = text.split("\n")
    assert lines[0] == "Lorem"
    assert lines[1] == (
        "Lorem ipsum dolor sit amet, consectetur adipisicing elit, sed do eiusmod tempor incididunt ut labore et "
        "dolore magna aliqua."
    )
    assert "Foo" in lines
    assert len(lines) == 7  # h1, 3 paragraphs, h2, 2 paragraphs
    assert "alert" not in text and "super wrong" not in text
    assert "Remove script tags test" not in text  # <head><title> is not body text


def test_source_line_breaks_are_spaces_and_br_are_line_breaks():
    spaces = html_to_text(shared_fixture(f"{READABILITY}/normalize-spaces/source.html").read_text(encoding="utf-8"))
    brs = html_to_text(shared_fixture(f"{READABILITY}/replace-brs/source.html").read_text(encoding="utf-8"))

    assert spaces.split("\n")[1].startswith("Lorem ipsum dolor sit amet, consectetur adipisicing elit, sed do eiusmod")
    assert "eiusmod tab here incididunt" in spaces
    assert len(spaces.split("\n")) == 4
    assert "  " not in spaces and "\t" not in spaces
    assert brs.split("\n")[1:4] == ["Lorem ipsum", "dolor sit", "amet, consectetur adipisicing elit, sed do eiusmod"]


def test_tables_become_tab_separated_rows_on_a_real_page():
    text = html_to_text(shared_fixture(f"{READABILITY}/keep-tabular-data/source.html").read_text(encoding="utf-8"))

    columns = ["General UX", "UX draft", "UX review", "UI mockup", "UI review", "Implementation draft"]
    header = "\t".join(["", *columns, "Implementation review", "Final review"])
    assert header in text.split("\n")
    assert "Load map" in text.split("\n")


def test_chinese_table_and_lists():
    html = (
        "<p>\u3000\u3000商务部公布数据：</p><table>\n <tr>\n  <th>品名</th>\n  <th>进口（万吨）</th>\n </tr>\n"
        " <tr><td>大豆</td><td> 1,000 </td></tr>\n <tr><td></td><td>合计</td></tr></table>"
        "<ul><li>一、扩大开放</li><li>二、数字贸易</li></ul><script>var a='不要';</script><style>p{color:red}</style>"
    )

    assert html_to_text(html).split("\n") == [
        "商务部公布数据：",
        "品名\t进口（万吨）",
        "大豆\t1,000",
        "\t合计",
        "一、扩大开放",
        "二、数字贸易",
    ]


@pytest.mark.parametrize(
    ("html", "text"),
    [
        (None, ""),
        ("", ""),
        ("纯文本  标题\u3000来源", "纯文本 标题 来源"),
        ("a &amp; b &lt; c", "a & b < c"),  # plain text summaries still carry entities
        ("<p>a &amp; b</p>", "a & b"),
        ("<p>第一行<br>第二行</p><p></p><p> </p>", "第一行\n第二行"),
        ("<pre>x = 1\ny = 2</pre>", "x = 1\ny = 2"),
        ("<!-- 注释 --><p>正文</p>", "正文"),
        ("<p>災害<ruby>災<rt>さい</rt></ruby>に</p>", "災害災に"),  # ruby annotations are not text
        ("<?xml version='1.0' encoding='gbk'?><p>正文</p>", "正文"),  # a declaration cannot re-decode text
        ("<p>a</p><template><p>b</p></template><p>c<td>d</td></p>", "a\nc\nd"),
        # an included header document ("…</html>" mid-page, common on gov.cn) must not end the text there
        ("<html><body><p>页头</p></body></html><div><p>正文一</p></div></body></html><p>正文二</p>",
         "页头\n正文一\n正文二"),
    ],
)
def test_html_to_text_small_cases(html, text):
    assert html_to_text(html) == text
