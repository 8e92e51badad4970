"""parse_listing: automatic discovery on real Chinese list pages, selectors (with fallbacks) on a
MOFCOM-like list and on real pages, and 0 items as an error."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup

from conftest import shared_fixture
from news_harvester.errors import ParseError
from news_harvester.parse.listing import is_article_path, parse_listing

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _site(url: str) -> str:
    host = urlsplit(url).hostname or ""
    labels = host.split(".")
    return ".".join(labels[-3:] if labels[-2] in ("com", "gov") and labels[-1] == "cn" else labels[-2:])


# (fixture, the page's URL, minimum items, navigation / footer blocks on that page, a headline in
#  the page's main list that must be found)
REAL_LISTS = [
    (
        "gne/test_list_page/163/1.html",
        "https://news.163.com/",
        60,
        ".ntes-nav, .N-nav-channel, .newsdata_nav, .index_footer, .N-nav-bottom",
        "乘势而上，巩固扩大疫情防控和经济恢复成果",
    ),
    (
        "gne/test_list_page/163/2.html",
        "https://news.163.com/",
        60,
        ".ntes-nav, .N-nav-channel, .newsdata_nav, .index_footer, .N-nav-bottom",
        None,
    ),
    (
        "gne/test_list_page/netease_forum/1.html",
        "https://n.netease.com/forum-9-1.html",
        25,
        "#hd, #ft, #pt, .pg, #fd_page_top, #fd_page_bottom",
        "2020年7月30日游戏服务器维护内容",
    ),
    (
        "gne/test_list_page/tieba/1.html",
        "https://tieba.baidu.com/f?kw=%E8%B4%B4%E5%90%A7%E7%83%AD%E8%AE%AE",
        40,
        ".header, #tb_nav, #frs_list_pager, #footer, .foot",
        "【官方活动】晒新版贴吧截图，盖楼赢好礼",
    ),
    (
        "gerapy-samples/samples/list/netease_rolling_news.html",
        "https://news.163.com/latest/",
        35,
        ".NTES-nav, .nav_channel, .bar_pages, .foot",
        "一图读懂 | 深圳盒马员工确诊，2地6人感染始末",
    ),
    (
        "gerapy-samples/samples/list/tencent_important_news.html",
        "https://new.qq.com/ch/top/",
        15,
        "#TopNav, .footernew",
        "三大战区海军演练",
    ),
    (
        "gerapy-samples/samples/list/dfa66_announcement.html",
        "https://www.dfa66.com/dfaets/news/gsgg/index.html",
        10,
        ".header, .left-nav-wrap, .page, .footer",
        "东方阿尔法优势产业混合型发起式证券投资基金基金合同生效公告",
    ),
    (
        "gerapy-samples/samples/list/rtfund_xxpl.html",
        "https://www.rtfund.com/main/gywm/xxpl/index.shtml",
        15,
        ".header, .nav_side_sub02, .nav_main_sub, .wbPaging, .footer_link, .footer_copyright",
        "关于融通通慧混合型证券投资基金调整大额申购限制金额的公告",
    ),
]


@pytest.mark.parametrize(
    ("relative", "page_url", "minimum", "chrome", "headline"),
    REAL_LISTS,
    ids=[r[0].split("/", 1)[1] for r in REAL_LISTS],
)
def test_discovery_on_real_list_pages(relative, page_url, minimum, chrome, headline):
    html = shared_fixture(relative).read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "lxml")
    chrome_blocks = soup.select(chrome)
    assert chrome_blocks, "the page's navigation / footer blocks are where the test says"
    chrome_urls = {urljoin(page_url, a["href"].strip()) for block in chrome_blocks for a in block.select("a[href]")}
    anchors = len(soup.find_all("a", href=True))

    items = parse_listing(html, page_url, SHANGHAI)

    urls = [item.url for item in items]
    assert minimum <= len(items) < anchors  # a real selection, not every link on the page
    assert len(set(urls)) == len(urls)
    assert {_site(url) for url in urls} == {_site(page_url)}  # all same-site
    assert all(url.startswith(("http://", "https://")) for url in urls)
    assert not set(urls) & chrome_urls  # nothing from navigation, pagination or footer
    assert all(re.search(r"[^\W\d_]{2}", item.title) for item in items)  # headlines, not "12" or "»"
    assert all(is_article_path(urlsplit(url).path) for url in urls)
    if headline:
        assert headline in {item.title for item in items}


def test_discovered_items_carry_the_dates_printed_in_their_rows():
    html = shared_fixture("gerapy-samples/samples/list/netease_rolling_news.html").read_text(encoding="utf-8")

    items = parse_listing(html, "https://news.163.com/latest/", SHANGHAI)

    first = next(item for item in items if item.url.endswith("FK6F0U6D0001899O.html"))
    assert first.published == datetime(2020, 8, 16, 22, 26, 38, tzinfo=SHANGHAI)  # "(2020-08-16 22:26:38)"
    assert all(item.published is not None and item.published.tzinfo is SHANGHAI for item in items)


def test_row_date_beats_the_date_in_the_url():
    """dfa66 prints 2020-06-29 next to /contents/2020/6/28-….html: the printed date wins."""
    html = shared_fixture("gerapy-samples/samples/list/dfa66_announcement.html").read_text(encoding="utf-8")

    items = parse_listing(html, "https://www.dfa66.com/dfaets/news/gsgg/index.html", SHANGHAI)

    by_title = {item.title: item for item in items}
    item = by_title["东方阿尔法优势产业混合型发起式证券投资基金基金合同生效公告"]
    assert "/2020/6/28-" in item.url
    assert item.published == datetime(2020, 6, 29, tzinfo=SHANGHAI)


def test_url_date_is_the_fallback_when_rows_print_none():
    html = shared_fixture("gerapy-samples/samples/list/tencent_important_news.html").read_text(encoding="utf-8")

    items = parse_listing(html, "https://new.qq.com/ch/top/", SHANGHAI)

    item = next(item for item in items if item.title == "三大战区海军演练")
    assert item.url == "https://new.qq.com/omn/20200704/20200704V05JOU00.html"
    assert item.published == datetime(2020, 7, 4, tzinfo=SHANGHAI)


def test_icon_link_title_is_replaced_by_the_headline_link():
    """Discuz rows have an icon link (title="全局置顶主题 - 新窗口打开") before the headline link."""
    html = shared_fixture("gne/test_list_page/netease_forum/1.html").read_text(encoding="utf-8")

    items = parse_listing(html, "https://n.netease.com/forum-9-1.html", SHANGHAI)

    assert not [item.title for item in items if "新窗口打开" in item.title]


@pytest.mark.parametrize(
    ("path", "article"),
    [
        ("/zcfb/zcwg/art/2024/art_3f2a9c0d5e6b4a7c8d9e0f1a2b3c4d5e.html", True),
        ("/article/zcfb/202406/20240603513.shtml", True),
        ("/fortune/20231117/abc123/c.html", True),
        ("/fortune/2023-11/17/c_1129981476.htm", True),
        ("/n1/2019/0615/c1013-31160307.html", True),
        ("/20/0816/22/FK6F0U6D0001899O.html", True),
        ("/article/FK6DC69605503FCU.html", True),
        ("/p/6787608290", True),
        ("/zcfb/index.html", False),
        ("/zcfb/index_2.html", False),
        ("/xwfb/ldrhd/", False),
        ("/2024/06/11/digital-trade-policy/", True),
        ("/2024/06/", False),
        ("/2024/06/11/", False),
        ("/", False),
        ("/about.html", False),
        ("/upload/2024/06/11/notice.pdf", False),
        ("/list_3.html", False),
    ],
)
def test_article_path(path, article):
    assert is_article_path(path) is article


# --------------------------------------------------------------------------- selectors

MOFCOM_LIST = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>政策发布_商务部</title></head><body>
<div class="header"><ul class="nav"><li><a href="/">首页</a></li><li><a href="/zcfb/index.html">政策发布</a></li>
 <li><a href="/xwfb/ldrhd/art/2024/art_11111111111111111111111111111111.html">
  部领导活动：王文涛会见外宾并座谈</a></li></ul></div>
<div class="main">
 <ul class="policy-list f-mt20">
  <li><a href="/zcfb/zcwg/art/2024/art_3f2a9c0d5e6b4a7c8d9e0f1a2b3c4d5e.html" target="_blank"
        title="商务部等9部门关于拓展跨境电商出口推进海外仓建设的意见">商务部等9部门关于拓展跨境电商出口推进海…</a>
      <span>2024-06-11</span></li>
  <li><a href="/zcfb/zcwg/art/2024/art_0a1b2c3d4e5f60718293a4b5c6d7e8f9.html"
        title="商务部公告2024年第21号 关于公布数字贸易统计口径的公告">商务部公告2024年第21号…</a>
      <span>2024-06-07</span></li>
  <li><a href="./zcjd/art/2024/art_9e8d7c6b5a4f30211203f4e5d6c7b8a9.html"
        title="《关于拓展跨境电商出口推进海外仓建设的意见》解读">解读…</a>
      <span>2024-6-5</span></li>
  <li class="listline"></li>
  <li><a href="javascript:;" title="更多">更多</a></li>
 </ul>
 <div class="layui-laypage"><a href="index_1.html" data-page="2">下一页</a></div>
</div>
<div class="footer"><a href="/zcfb/zcwg/art/2023/art_22222222222222222222222222222222.html">
 网站地图和隐私声明说明</a></div>
</body></html>"""
BASE = "https://www.mofcom.gov.cn/zcfb/index.html"


def test_selectors_give_titles_absolute_urls_and_beijing_dates():
    items = parse_listing(MOFCOM_LIST, BASE, SHANGHAI, {"item": ["ul.policy-list > li"], "date": ["span"]})

    assert [item.title for item in items] == [
        "商务部等9部门关于拓展跨境电商出口推进海外仓建设的意见",
        "商务部公告2024年第21号 关于公布数字贸易统计口径的公告",
        "《关于拓展跨境电商出口推进海外仓建设的意见》解读",
    ]
    assert [item.url for item in items] == [
        "https://www.mofcom.gov.cn/zcfb/zcwg/art/2024/art_3f2a9c0d5e6b4a7c8d9e0f1a2b3c4d5e.html",
        "https://www.mofcom.gov.cn/zcfb/zcwg/art/2024/art_0a1b2c3d4e5f60718293a4b5c6d7e8f9.html",
        "https://www.mofcom.gov.cn/zcfb/zcjd/art/2024/art_9e8d7c6b5a4f30211203f4e5d6c7b8a9.html",
    ]
    assert [item.published for item in items] == [
        datetime(2024, 6, 11, tzinfo=SHANGHAI),
        datetime(2024, 6, 7, tzinfo=SHANGHAI),
        datetime(2024, 6, 5, tzinfo=SHANGHAI),
    ]
    assert items[0].published.utcoffset().total_seconds() == 8 * 3600
    assert items[0].published_raw == "2024-06-11"


def test_fallback_selectors_are_used_when_the_first_matches_nothing():
    selectors = {
        "item": [".txtList_01 li", "ul.policy-list > li"],  # old layout first, then the redesign
        "link": ["a.title", "a[title]"],
        "title": ["h3", "a[title]"],
        "date": ["span.time", "span"],
    }

    items = parse_listing(MOFCOM_LIST, BASE, SHANGHAI, selectors)

    assert len(items) == 3  # the "更多" row (javascript:;) and the empty .listline row are skipped
    assert items[0].title == "商务部等9部门关于拓展跨境电商出口推进海…"  # text of the fallback title element
    assert items[0].url.endswith("/art_3f2a9c0d5e6b4a7c8d9e0f1a2b3c4d5e.html")
    assert items[1].published == datetime(2024, 6, 7, tzinfo=SHANGHAI)


def test_title_selector_text_wins_over_the_title_attribute():
    items = parse_listing(MOFCOM_LIST, BASE, SHANGHAI, {"item": ["ul.policy-list > li"], "title": ["a"]})

    assert items[0].title == "商务部等9部门关于拓展跨境电商出口推进海…"


def test_date_in_the_link_title_when_the_row_prints_none():
    html = (
        '<ul class="txtList_01"><li><a href="/article/ae/ai/202406/20240603513.shtml" '
        'title="商务部召开例行新闻发布会（2024年6月13日）">商务部召开例行新闻发布会</a></li></ul>'
    )

    (item,) = parse_listing(html, "http://www.mofcom.gov.cn/article/ae/", SHANGHAI, {"item": [".txtList_01 li"]})

    assert item.published == datetime(2024, 6, 13, tzinfo=SHANGHAI)
    assert item.url == "http://www.mofcom.gov.cn/article/ae/ai/202406/20240603513.shtml"


def test_selectors_on_a_real_page_pick_the_headline_link_not_the_channel_link():
    html = shared_fixture("gerapy-samples/samples/list/netease_rolling_news.html").read_text(encoding="utf-8")
    selectors = {"item": ["#instantPanel ul.list_txt > li"], "link": ["a:not(.cBlue)"], "date": ["span.right"]}

    items = parse_listing(html, "https://news.163.com/latest/", SHANGHAI, selectors)

    assert len(items) == 40
    assert items[0].title == "一图读懂 | 深圳盒马员工确诊，2地6人感染始末"
    assert items[0].url == "https://news.163.com/20/0816/22/FK6F0U6D0001899O.html"
    assert items[0].published == datetime(2020, 8, 16, 22, 26, 38, tzinfo=SHANGHAI)
    assert not [item for item in items if item.title.startswith("[")]  # no "[社会]" channel links


def test_zero_items_is_an_error_with_selectors():
    with pytest.raises(ParseError) as caught:
        parse_listing(MOFCOM_LIST, BASE, SHANGHAI, {"item": [".txtList_01 li", "div.listCon li"]})

    assert caught.value.code == "parse.no_items"
    assert ".txtList_01 li" in str(caught.value)


def test_zero_items_is_an_error_with_discovery():
    html = shared_fixture("gerapy-samples/samples/list/hsqhfunds_announcement.html").read_text(encoding="utf-8")

    with pytest.raises(ParseError) as caught:  # a list of PDF attachments: no article pages
        parse_listing(html, "https://www.hsqhfunds.com/zh-cn/xxpl/gsgg/", SHANGHAI)

    assert caught.value.code == "parse.no_items"
    assert "automatic link discovery" in str(caught.value)


def test_discovery_on_the_mofcom_like_list_skips_header_pager_and_footer():
    items = parse_listing(MOFCOM_LIST, BASE, SHANGHAI)

    assert {item.url.rsplit("/", 1)[1] for item in items} == {
        "art_3f2a9c0d5e6b4a7c8d9e0f1a2b3c4d5e.html",
        "art_0a1b2c3d4e5f60718293a4b5c6d7e8f9.html",
        "art_9e8d7c6b5a4f30211203f4e5d6c7b8a9.html",
    }
    assert items[0].published == datetime(2024, 6, 11, tzinfo=SHANGHAI)


def test_html5_article_headers_are_content_but_the_page_header_is_not():
    """WordPress-style cards put the headline in <article><header><h2><a>; the page's own
    <header> / <nav> / <footer> links are navigation even when their paths look like articles."""
    html = """<html><body>
    <header class="site-header">
      <a href="/2024/06/10/welcome-to-our-new-website-2024/">欢迎访问我们的新网站首页</a></header>
    <nav class="topnav"><a href="/2024/06/09/about-this-site-and-its-team/">关于本站及编辑团队介绍</a></nav>
    <main>
      <article class="post"><header class="entry-header"><h2 class="entry-title">
        <a href="/2024/06/11/digital-trade-policy/">商务部发布数字贸易政策解读</a></h2></header>
        <footer class="entry-footer">
          <a href="/2024/06/11/digital-trade-policy/#comments">查看全部评论和读者留言</a></footer></article>
      <article class="post"><header class="entry-header"><h2 class="entry-title">
        <a href="/2024/06/12/cross-border-ecommerce/">跨境电商出口海外仓建设提速</a></h2></header></article>
    </main>
    <footer><a href="/2024/01/01/privacy-policy-and-terms/">隐私政策和使用条款说明</a></footer>
    </body></html>"""

    items = parse_listing(html, "https://blog.example.cn/", SHANGHAI)

    assert [(item.title, item.url) for item in items] == [
        ("商务部发布数字贸易政策解读", "https://blog.example.cn/2024/06/11/digital-trade-policy/"),
        ("跨境电商出口海外仓建设提速", "https://blog.example.cn/2024/06/12/cross-border-ecommerce/"),
    ]
    assert items[1].published == datetime(2024, 6, 12, tzinfo=SHANGHAI)  # from the path


def test_a_row_without_a_link_selector_takes_its_first_headline_like_link():
    """A thumbnail link or a channel tag before the headline is passed over (it has no headline text)."""
    html = ("<ul class='news'><li><a href='/a/20240611/1.html'><img src='t.jpg'></a> <a href='/world/'>[国际]</a> "
            "<a href='/a/20240611/1.html'>商务部发布数字贸易发展报告</a><span>2024-06-11</span></li>"
            "<li><a href='/a/20240612/2.html' title='跨境电商综试区名单公布'><img src='u.jpg'></a></li></ul>")
    items = parse_listing(html, "https://www.example.gov.cn/list/", SHANGHAI, {"item": ["ul.news li"]})
    assert [(i.url, i.title) for i in items] == [
        ("https://www.example.gov.cn/a/20240611/1.html", "商务部发布数字贸易发展报告"),
        ("https://www.example.gov.cn/a/20240612/2.html", "跨境电商综试区名单公布"),  # the link's title attribute
    ]
