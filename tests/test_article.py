"""extract_page on real Chinese article pages: body text, government-CMS meta (PubDate read as
Beijing time, ContentSource), Open Graph / article meta, against annotated expectations."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conftest import shared_fixture
from news_harvester.decode import decode_body
from news_harvester.parse.article import extract_page

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEWSPAPER = "newspaper4k-testdata/tests/data"


def _page(relative: str) -> str:
    return decode_body(shared_fixture(relative).read_bytes(), "text/html").text


@pytest.mark.parametrize(
    ("relative", "url", "title", "published", "attribution", "snippet"),
    [
        (
            "gne/tests/shanxi/1.html",
            "http://www.shanxi.gov.cn/yw/sxyw/201909/t20190918_123456.shtml",
            "山西品牌丝路行（南美站）正式启动",
            datetime(2019, 9, 18, 6, 23, tzinfo=SHANGHAI),  # <meta name="PubDate" content="2019-09-18 06:23">
            "山西日报",
            "跨越千山万水，行程近两万公里，山西品牌丝路行首次登陆巴西",
        ),
        (
            "gne/tests/gzggw/1.html",
            "http://fzggw.zj.gov.cn/art/2016/11/22/art_1599546_123456.html",
            "1-10月德清县固定资产投资结构趋稳趋优",
            datetime(2016, 11, 22, 9, 53, tzinfo=SHANGHAI),
            "省发改委",  # <meta name="contentSource"> (any case)
            "1-10月，全县固定资产投资完成246.79亿元，完成年度计划82.3%",
        ),
        (
            "gne/tests/people/1.html",
            "http://culture.people.com.cn/n1/2019/0615/c1013-31160307.html",
            None,
            datetime(2019, 6, 15, tzinfo=SHANGHAI),  # <meta name="publishdate" content="2019-06-15">
            "人民网-文化频道 原创稿",  # "来源：" label removed
            "父爱如山高大而巍峨",
        ),
    ],
    ids=["shanxi.gov.cn", "zj.gov.cn", "people.com.cn"],
)
def test_gov_meta_tags_give_title_beijing_date_and_attribution(relative, url, title, published, attribution, snippet):
    page = extract_page(_page(relative), url, SHANGHAI)

    assert page.title == title
    assert page.published_at == published
    assert page.published_at.utcoffset().total_seconds() == 8 * 3600  # Beijing time, never UTC
    assert page.date_origin == "meta"
    assert page.attribution == attribution
    assert snippet in page.body_text
    assert len(page.body_text) > 200


def test_pubdate_is_wall_time_in_the_source_zone():
    """The same PubDate means a different instant for a source configured in another zone."""
    html = _page("gne/tests/shanxi/1.html")

    beijing = extract_page(html, "http://www.shanxi.gov.cn/a.shtml", SHANGHAI).published_at
    brussels = extract_page(html, "http://www.shanxi.gov.cn/a.shtml", ZoneInfo("Europe/Brussels")).published_at

    assert beijing == datetime(2019, 9, 17, 22, 23, tzinfo=UTC)
    assert brussels - beijing == timedelta(hours=6)  # CEST is UTC+2, Beijing UTC+8


def test_article_published_time_with_offset_is_the_exact_instant():
    page = extract_page(_page("gne/tests/sina/1.html"), "https://news.sina.com.cn/c/2019-11-25/doc.shtml", SHANGHAI)

    assert page.published_at == datetime(2019, 11, 25, 10, 57, 38, tzinfo=UTC)  # 2019-11-25T18:57:38+08:00
    assert "为何老外却说“了不得”" in page.title
    assert "“你们将开始明白为什么我这么喜欢中国" in page.body_text


@pytest.mark.parametrize("name", ["chinese_article_001", "chinese_article_002"])
def test_newspaper4k_chinese_pages_match_the_expected_text(name):
    expected = json.loads(shared_fixture(f"{NEWSPAPER}/metadata/{name}.json").read_text(encoding="utf-8"))
    expected_text = shared_fixture(f"{NEWSPAPER}/txt/{name}.txt").read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in expected_text.split("\n") if len(p.strip()) >= 20]

    page = extract_page(_page(f"{NEWSPAPER}/html/{name}.html"), expected["url"], SHANGHAI)

    assert page.body_text.startswith(paragraphs[0][:20])
    found = [p for p in paragraphs if p in page.body_text]
    assert len(found) >= 0.9 * len(paragraphs), set(paragraphs) - set(found)
    assert len(page.body_text) < 1.5 * len(expected_text)  # no navigation or comments dragged in
    if page.title is not None:
        assert page.title == expected["title"]
    if page.published_at is not None:
        assert page.published_at.date().isoformat() == expected["publish_date"][:10]
        assert page.published_at.tzinfo is SHANGHAI


def test_chinadaily_meta_title_author_source_and_date():
    page = extract_page(
        _page(f"{NEWSPAPER}/html/chinese_article_001.html"),
        "https://china.chinadaily.com.cn/a/202311/17/WS65571297a310d5acd876f404.html",
        SHANGHAI,
    )

    assert page.title == "外国专家：中美合作共赢符合国际社会利益"
    assert page.published_at == datetime(2023, 11, 17, tzinfo=SHANGHAI)
    assert page.attribution == "中国日报网"
    assert page.author == "严玉洁"


def test_xinhua_2023_page_without_date_meta():
    page = extract_page(
        _page(f"{NEWSPAPER}/html/chinese_article_002.html"),
        "http://www.news.cn/fortune/2023-11/17/c_1129981476.htm",
        SHANGHAI,
    )

    assert page.body_text.startswith("新华社北京11月17日电 记者17日从国家卫生健康委获悉")
    assert page.attribution == "新华社"
    assert page.published_at is None and page.date_origin is None  # no meta: the feed / list date is kept


def _annotated(name: str) -> tuple[str, dict]:
    annotations = json.loads(shared_fixture("trafilatura-eval/tests/evaldata.json").read_text(encoding="utf-8"))
    ((url, entry),) = [(u, v) for u, v in annotations.items() if v["file"] == name]
    return url, entry


@pytest.mark.parametrize(
    "name",
    [
        "xinhuanet.com.c_1125597921.html",
        "banyuetan.org.1000200033136171577956287380194268_1.html",
        "archive.org.he.xinhuanet.com.25340717.html",  # GB2312 bytes, conflicting declarations
    ],
)
def test_annotated_chinese_pages_keep_the_text_and_drop_the_boilerplate(name):
    url, entry = _annotated(name)

    page = extract_page(_page(f"trafilatura-eval/tests/eval/{name}"), url, SHANGHAI)

    for snippet in entry["with"]:
        assert snippet in page.body_text
    for boilerplate in entry["without"]:
        assert boilerplate not in page.body_text


def test_page_without_readable_text_gives_an_empty_body():
    html = "<html><head><title>404</title></head><body><div id='nav'></div></body></html>"

    page = extract_page(html, "http://x.cn/", SHANGHAI)

    assert page.body_text == ""
    assert page.published_at is None and page.attribution is None
