"""extract_page: real Chinese article pages (government-CMS meta read as Beijing time, Open Graph,
dates under the headline, annotated body text), pages rebuilt from the MOFCOM / Xinhua markup in
../shared/design/sources.md, the order of trust between meta, JSON-LD, selectors and the page,
date formats, attribution, author, attachments, body cleaning, and input that must not raise.

Quality over the whole fixture set is measured in test_extract_quality.py."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conftest import shared_fixture
from news_harvester.harvest.decode import decode_body
from news_harvester.parse.article import MIN_BODY_CHARS, ExtractedPage, ExtractHints, extract_page
from news_harvester.parse.clean import drop_boilerplate, is_boilerplate_line, normalize_line
from news_harvester.parse.dates import date_from_url, find_month_day

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
            "女儿出嫁，郑板桥画了几笔兰花当嫁妆",  # no title meta: the <h1> the <title> starts with
            # <meta name="publishdate" content="2019-06-15">; the time of day from "2019年06月15日08:18" below the title
            datetime(2019, 6, 15, 8, 18, tzinfo=SHANGHAI),
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
    assert page.published_at == datetime(2023, 11, 17, 15, 13, tzinfo=SHANGHAI)  # meta day, visible "15:13"
    assert page.date_origin == "meta"
    assert page.attribution == "中国日报网"
    assert page.author == "严玉洁"


def test_xinhua_2023_page_without_date_meta_takes_the_line_under_the_headline():
    page = extract_page(
        _page(f"{NEWSPAPER}/html/chinese_article_002.html"),
        "http://www.news.cn/fortune/2023-11/17/c_1129981476.htm",
        SHANGHAI,
    )

    assert page.title == "短缺药品保供稳价 全力保障临床用药需求"
    assert page.body_text.startswith("新华社北京11月17日电 记者17日从国家卫生健康委获悉")
    assert page.attribution == "新华社"
    assert page.published_at == datetime(2023, 11, 17, 20, 52, 15, tzinfo=SHANGHAI)  # "2023-11-17 20:52:15"
    assert page.date_origin == "body"
    assert "【纠错】" not in page.body_text and "责任编辑" not in page.body_text


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


def test_page_without_readable_text_gives_an_empty_body_and_a_reason():
    html = "<html><head><title>404</title></head><body><div id='nav'></div></body></html>"

    page = extract_page(html, "http://x.cn/", SHANGHAI)

    assert page.body_text == ""
    assert page.paragraphs == ()
    assert page.rejected_reason == "no article text found"
    assert page.published_at is None and page.attribution is None


# --------------------------------------------------------------------------- pages rebuilt from sources.md

MOFCOM_URL = "https://www.mofcom.gov.cn/zcfb/zcwg/art/2024/art_8f1d2c3b4a5968778695a4b3c2d1e0f9.html"
MOFCOM_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<title>商务部关于促进数字贸易发展的若干意见_中华人民共和国商务部</title>
<meta name="SiteName" content="中华人民共和国商务部">
<meta name="ColumnName" content="政策发布">
<meta name="ArticleTitle" content="商务部关于促进数字贸易发展的若干意见">
<meta name="PubDate" content="2024-06-11 10:30">
<meta name="ContentSource" content="商务部服贸司">
<meta name="author" content="104363">
</head><body>
<div class="header"><ul class="nav"><li><a href="/">首页</a></li><li><a href="/zcfb/">政策发布</a></li></ul></div>
<div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/zcfb/">政策发布</a></div>
<h1>商务部关于促进数字贸易发展的若干意见</h1>
<div class="art-info">发布时间：2024-06-12 09:00　来源：商务部网站　【字体：大 中 小】　<a href="#">打印本页</a></div>
<div class="art-con art-con-bottonmLine">
<p>　　各省、自治区、直辖市商务主管部门：</p>
<p>　　为贯彻落实党中央、国务院决策部署，推动数字贸易高质量发展，现提出以下意见。</p>
<p>　　一、夯实数字贸易发展基础。加快数字基础设施建设，支持企业开展跨境数据流动合规试点。</p>
<p>　　二、培育数字贸易经营主体。鼓励数字服务出口，支持服务外包企业数字化转型。</p>
<table><tr><td>指标</td><td>2023年</td><td>2024年</td></tr><tr><td>数字服务出口（亿美元）</td><td>2190</td><td>2400</td></tr></table>
<p>　　发文日期：2024年6月11日</p>
<p>附件：<a href="./P020240611123456.pdf">1.数字贸易重点任务清单</a>
<a href="/cms/download.jsp?file=name.docx">2.申报表</a> <a href="P020240611999.xlsx" title="统计表"></a></p>
<p>责任编辑：王五</p>
</div>
<div class="share">分享到：<a href="#">微信</a><a href="#">微博</a></div>
<div class="related"><h3>相关新闻</h3><ul>
<li><a href="/a.html">商务部召开例行新闻发布会，介绍一季度商务运行情况</a></li></ul></div>
<div class="footer">版权所有：中华人民共和国商务部　京ICP备05004419号　<a href="/xxgk.pdf">网站年报</a></div>
</body></html>"""


def test_mofcom_policy_page_reads_the_cms_meta_and_cleans_the_body():
    page = extract_page(MOFCOM_PAGE, MOFCOM_URL, SHANGHAI)

    assert page.title == "商务部关于促进数字贸易发展的若干意见"
    assert page.published_at == datetime(2024, 6, 11, 10, 30, tzinfo=SHANGHAI)  # PubDate beats the visible line
    assert page.date_origin == "meta"
    assert page.attribution == "商务部服贸司"
    assert page.author is None  # meta author "104363" is a user id, not a name
    assert (page.site_name, page.column_name) == ("中华人民共和国商务部", "政策发布")
    assert page.paragraphs == (
        "各省、自治区、直辖市商务主管部门：",
        "为贯彻落实党中央、国务院决策部署，推动数字贸易高质量发展，现提出以下意见。",
        "一、夯实数字贸易发展基础。加快数字基础设施建设，支持企业开展跨境数据流动合规试点。",
        "二、培育数字贸易经营主体。鼓励数字服务出口，支持服务外包企业数字化转型。",
        "指标\t2023年\t2024年",  # tables stay text, one row per line
        "数字服务出口（亿美元）\t2190\t2400",
        "发文日期：2024年6月11日",
    )  # the attachment line is mostly links: the documents are in page.attachments
    assert page.body_text == "\n".join(page.paragraphs)
    assert page.rejected_reason is None


def test_attachments_are_absolute_with_their_link_text_and_kind():
    page = extract_page(MOFCOM_PAGE, MOFCOM_URL, SHANGHAI)

    assert [(a.url, a.text, a.kind) for a in page.attachments] == [
        ("https://www.mofcom.gov.cn/zcfb/zcwg/art/2024/P020240611123456.pdf", "1.数字贸易重点任务清单", "pdf"),
        ("https://www.mofcom.gov.cn/cms/download.jsp?file=name.docx", "2.申报表", "docx"),
        ("https://www.mofcom.gov.cn/zcfb/zcwg/art/2024/P020240611999.xlsx", "统计表", "xlsx"),  # title attribute
        ("https://www.mofcom.gov.cn/xxgk.pdf", "网站年报", "pdf"),
    ]


def test_attachments_resolve_against_the_base_element():
    html = (
        '<html><head><base href="https://files.example.cn/docs/"></head><body>'
        '<p>通知全文见附件。</p><a href="a.WPS">通知</a><a href="b.html">页面</a></body></html>'
    )

    page = extract_page(html, "https://www.example.cn/news/1.html", SHANGHAI)

    assert [(a.url, a.kind) for a in page.attachments] == [("https://files.example.cn/docs/a.WPS", "wps")]


def test_attachment_links_in_other_schemes_are_dropped_whatever_their_case():
    html = (
        "<html><body><p>通知全文见附件，请下载后填写并按时报送至指定邮箱。</p>"
        '<a href="JavaScript:alert(1)//a.pdf">附件一</a><a href="VBScript:x//b.docx">附件二</a>'
        '<a href="data:application/pdf;base64,AAAA//c.pdf">附件三</a><a href="mailto:x@example.cn?f=d.pdf">附件四</a>'
        '<a href="//files.example.cn/e.pdf">附件五</a></body></html>'
    )

    page = extract_page(html, "https://www.example.cn/news/1.html", SHANGHAI)

    assert [(a.url, a.kind) for a in page.attachments] == [("https://files.example.cn/e.pdf", "pdf")]


XINHUA_URL = "https://www.news.cn/fortune/20240611/3f8e2d1c0b9a48f7a6e5d4c3b2a19087/c.html"
XINHUA_PAGE = """<html><head><meta charset="utf-8"><title>我国数字贸易规模持续扩大-新华网</title></head><body>
<div class="nav"><a href="https://www.news.cn/">新华网</a> &gt;
<a href="https://www.news.cn/fortune/">财经</a> &gt; 正文</div>
<div class="header">
  <div class="head-line"><span class="title">我国数字贸易规模持续扩大</span></div>
  <div class="header-time"><span class="year"><em>2024</em></span><span class="day"><em>06</em>/<em>11</em></span>
  <span class="time">10:30:00</span></div>
  <div class="source">来源：新华网</div>
</div>
<div id="detailContent">
<p>新华社北京6月11日电（记者 张三、李四）记者11日从商务部获悉，今年前5个月，我国可数字化交付的服务进出口额同比增长。</p>
<p>商务部有关负责人表示，将继续推进数字贸易改革创新发展，打造数字贸易示范区。</p>
<p>【纠错】</p><p>责任编辑：赵六</p>
</div>
<div class="bottom"><a href="https://www.news.cn/a.html">下一篇：其他新闻标题在这里</a></div>
</body></html>"""


def test_xinhua_page_date_from_split_spans_and_title_from_the_heading():
    page = extract_page(XINHUA_PAGE, XINHUA_URL, SHANGHAI)

    assert page.title == "我国数字贸易规模持续扩大"  # "-新华网" is the site, not the title
    assert page.published_at == datetime(2024, 6, 11, 10, 30, tzinfo=SHANGHAI)  # year, "06/11", time in spans
    assert page.date_origin == "body"
    assert page.attribution == "新华网"
    assert page.author == "张三、李四"
    assert page.site_name == "新华网"
    assert page.paragraphs == (
        "新华社北京6月11日电（记者 张三、李四）记者11日从商务部获悉，"
        "今年前5个月，我国可数字化交付的服务进出口额同比增长。",
        "商务部有关负责人表示，将继续推进数字贸易改革创新发展，打造数字贸易示范区。",
    )


# --------------------------------------------------------------------------- order of trust


def _article(head: str = "", header: str = "", title: str = "", body: str | None = None) -> str:
    body = body or (
        "<p>商务部新闻发言人今天在例行新闻发布会上表示，中国将继续扩大高水平对外开放。</p>"
        "<p>发言人介绍，前五个月服务贸易进出口总额同比增长，知识密集型服务贸易表现亮眼。</p>"
    )
    return (
        f"<html><head><meta charset='utf-8'><title>{title}</title>{head}</head><body>"
        f"<div class='top'>{header}</div><div class='content'>{body}</div></body></html>"
    )


def test_json_ld_headline_date_author_and_publisher():
    head = (
        '<script type="application/ld+json">{"@context": "https://schema.org", "@graph": [{"@type": "NewsArticle",'
        ' "headline": "服务贸易创新发展试点扩围", "datePublished": "2024-06-11T10:30:00+08:00",'
        ' "author": [{"@type": "Person", "name": "张三"}],'
        ' "publisher": {"@type": "Organization", "name": "经济日报"}}]}'
        "</script>"
    )
    page = extract_page(
        _article(head, "<p>2024-06-12 08:00</p>", "服务贸易创新发展试点扩围 - 经济日报"), "http://x.cn/a", SHANGHAI
    )

    assert page.title == "服务贸易创新发展试点扩围"
    assert page.published_at == datetime(2024, 6, 11, 2, 30, tzinfo=UTC)
    assert page.date_origin == "jsonld"
    assert page.author == "张三"
    assert page.site_name == "经济日报"


def test_malformed_json_ld_is_still_read_for_its_date():
    head = '<script type="application/ld+json">{"title": "标题", "pubDate": "2019-09-05T11:10:52",}</script>'

    page = extract_page(_article(head), "http://x.cn/a", SHANGHAI)

    assert page.published_at == datetime(2019, 9, 5, 11, 10, 52, tzinfo=SHANGHAI)
    assert page.date_origin == "jsonld"


def test_og_title_cut_at_a_quote_gives_way_to_the_visible_heading():
    """A content attribute broken by an unescaped quote: og:title keeps only the start."""
    page = extract_page(_page("gne/tests/163/1.html"), "https://www.163.com/money/article/x.html", SHANGHAI)

    assert page.title == '多地项目连环爆雷 狂奔的龙湖集团"暗伤"曝露？'


def test_og_title_carrying_the_site_name_gives_way_to_the_heading():
    head = '<meta property="og:title" content="港口吞吐量稳中有升 | 经济参考报">'

    page = extract_page(
        _article(head, "<h1>港口吞吐量稳中有升</h1>", "港口吞吐量稳中有升 | 经济参考报"), "http://x.cn/a", SHANGHAI
    )

    assert page.title == "港口吞吐量稳中有升"


@pytest.mark.parametrize(
    ("doc_title", "expected"),
    [
        ("我国数字贸易规模持续扩大_新华网", "我国数字贸易规模持续扩大"),
        ("商务部召开例行新闻发布会 - 商务部", "商务部召开例行新闻发布会"),
        ("1-10月全省外贸进出口稳中向好--省商务厅", "1-10月全省外贸进出口稳中向好"),
        ("海外留学生看两会：出国前后关注点大不同_教育频道_中国青年网", "海外留学生看两会：出国前后关注点大不同"),
    ],
)
def test_title_from_the_title_tag_without_the_site_name(doc_title, expected):
    assert extract_page(_article(title=doc_title), "http://x.cn/a", SHANGHAI).title == expected


def test_title_tag_naming_only_the_column_gives_way_to_the_headline_above_the_date():
    header = (
        "<div>首页 - 新闻动态</div><div>2019年中国人文地理学术年会在重庆成功举行！</div><div>发布时间：2019-05-18</div>"
    )

    page = extract_page(_article(header=header, title="新闻动态--中国地理学会官网"), "http://x.cn/a", SHANGHAI)

    assert page.title == "2019年中国人文地理学术年会在重庆成功举行！"
    assert page.published_at == datetime(2019, 5, 18, tzinfo=SHANGHAI)


def test_site_and_column_from_the_title_parts():
    page = extract_page(_article(title="数字贸易试点成效显著_财经频道_中国网"), "http://x.cn/a", SHANGHAI)

    assert (page.site_name, page.column_name) == ("中国网", "财经频道")


def test_source_selectors_pick_title_date_and_body():
    html = (
        "<html><head><title>站点首页</title></head><body>"
        "<div class='bt'>数字贸易示范区建设启动</div><span id='pubtime'>2024年06月11日</span>"
        "<div class='TRS_Editor'><p>示范区将围绕跨境数据流动开展先行先试，形成可复制的经验。</p></div>"
        "<div class='lt'>" + "<p>这里是很长的留言板内容，网友们纷纷发表看法，讨论十分热烈。</p>" * 8 + "</div>"
        "</body></html>"
    )
    hints = ExtractHints(
        title_selectors=("h1.nope", ".bt"),
        date_selectors=("div[", "#pubtime"),  # a selector soupsieve cannot parse is skipped
        body_selectors=(".TRS_Editor",),
    )

    page = extract_page(html, "http://x.cn/a", SHANGHAI, hints)

    assert page.title == "数字贸易示范区建设启动"
    assert page.published_at == datetime(2024, 6, 11, tzinfo=SHANGHAI)
    assert page.date_origin == "selector"
    assert page.body_text == "示范区将围绕跨境数据流动开展先行先试，形成可复制的经验。"


def test_list_page_title_and_date_are_the_last_resort():
    hints = ExtractHints(list_title="列表页上的标题", list_date=datetime(2024, 6, 11, 9, 0, tzinfo=SHANGHAI))

    page = extract_page(_article(), "http://x.cn/a", SHANGHAI, hints)
    dated = extract_page(_article(header="<p>2024-06-10 16:00</p>"), "http://x.cn/a", SHANGHAI, hints)

    assert (page.title, page.published_at, page.date_origin) == ("列表页上的标题", hints.list_date, "list")
    assert (dated.published_at, dated.date_origin) == (datetime(2024, 6, 10, 16, 0, tzinfo=SHANGHAI), "body")


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("header", "url", "published", "origin"),
    [
        ("<p>发布时间：2024年6月11日 10:30</p>", "http://x.cn/a", datetime(2024, 6, 11, 10, 30), "body"),
        ("<p>来源：商务部网站 2024-06-11</p>", "http://x.cn/a", datetime(2024, 6, 11), "body"),
        ("<p>2024/06/11 09:05:30</p>", "http://x.cn/a", datetime(2024, 6, 11, 9, 5, 30), "body"),
        ("<p>[ 2024-06-11 ]</p>", "http://x.cn/a", datetime(2024, 6, 11), "body"),
        ("<p>发布日期：</p><p>2024-06-11</p>", "http://x.cn/a", datetime(2024, 6, 11), "body"),  # label, value apart
        ("<p>发布时间：06-11 10:30</p>", "http://x.cn/2024/0611/c1.html", datetime(2024, 6, 11, 10, 30), "body"),
        ("<p>发布时间：18-03-08</p>", "http://x.cn/a?d=20180308", datetime(2018, 3, 8), "body"),
        ("<p>Posted on July 28, 2011</p>", "http://x.cn/a", datetime(2011, 7, 28), "body"),
        ("<p>最后更新：2024-06-12</p>", "http://x.cn/20240611/c.html", datetime(2024, 6, 11), "url"),
        ("<p>2024年1-5月服务贸易数据</p>", "http://x.cn/a", None, None),  # months 1 to 5, not 5 January
        ("<p>昨天 10:30</p>", "http://x.cn/a", None, None),
    ],
)
def test_visible_date_formats(header, url, published, origin):
    page = extract_page(_article(header=header), url, SHANGHAI)

    assert page.published_at == (published.replace(tzinfo=SHANGHAI) if published else None)
    assert page.date_origin == origin


@pytest.mark.parametrize(
    "url",
    [
        "https://www.news.cn/fortune/20240611/3f8e2d1c/c.html",
        "http://www.xinhuanet.com/fortune/2024-06/11/c_1129981476.htm",
        "http://www.gov.cn/zhengce/content/202406/t20240611_123456.htm",
        "http://fgw.zj.gov.cn/art/2024/6/11/art_1599546_123.html",
        "https://www.guancha.cn/economy/2024_06_11_738213.shtml",
        "https://china.chinadaily.com.cn/a/202406/11/WS6667a1b2.html",
        "http://culture.people.com.cn/n1/2024/0611/c1013-40254566.html",
        "https://news.sina.com.cn/c/2024-06-11/doc-inaybxyz1234567.shtml",
    ],
)
def test_date_from_the_url_when_the_page_shows_none(url):
    page = extract_page(_article(), url, SHANGHAI)

    assert page.published_at == datetime(2024, 6, 11, tzinfo=SHANGHAI)
    assert page.date_origin == "url"


def test_year_less_date_takes_the_year_from_the_callers_clock_only_when_given():
    html = _article(header="<p>[06月11日 10:30]</p>")

    without = extract_page(html, "http://x.cn/a", SHANGHAI)
    with_now = extract_page(html, "http://x.cn/a", SHANGHAI, ExtractHints(now=datetime(2025, 1, 3, tzinfo=SHANGHAI)))

    assert without.published_at is None  # never our own clock
    assert with_now.published_at == datetime(2024, 6, 11, 10, 30, tzinfo=SHANGHAI)  # the nearest 06-11


def test_body_date_is_wall_time_in_the_source_zone():
    page = extract_page(_article(header="<p>2024-06-11 10:30</p>"), "http://x.eu/a", ZoneInfo("Europe/Brussels"))

    assert page.published_at == datetime(2024, 6, 11, 8, 30, tzinfo=UTC)


def test_a_date_inside_a_sentence_is_not_the_publication_date():
    body = "<p>2024年3月20日，第十四届全国人大二次会议表决通过了这部法律，自公布之日起施行。</p>" * 2

    assert extract_page(_article(body=body), "http://x.cn/a", SHANGHAI).published_at is None


# --------------------------------------------------------------------------- attribution and author


@pytest.mark.parametrize(
    ("header", "attribution", "author"),
    [
        ("<p>来源：中国日报网 作者：张三 责任编辑：李四</p>", "中国日报网", "张三"),
        ("<p>2024-06-11 10:30　文章来源：商务部网站　　浏览次数：12</p>", "商务部网站", None),
        ("<p>稿件来源：<a href='/'>经济日报</a></p>", "经济日报", None),
        ("<p>来源：</p><p>新华网</p>", "新华网", None),
        ("<p>图片来源：视觉中国</p><p>（记者 王五）</p>", None, "王五"),
        ("<p>记者了解到，相关工作正在推进。</p>", None, None),  # "了解到" is no name
    ],
)
def test_attribution_and_author_lines(header, attribution, author):
    page = extract_page(_article(header=header), "http://x.cn/a", SHANGHAI)

    assert page.attribution == attribution
    assert page.author == author


@pytest.mark.parametrize(
    "claimed",
    [
        "104363",
        "https://weibo.com/u/123",
        "name, email@gmail.com",
        "这是一个非常长的作者字段内容肯定不是一个人的名字而是别的东西",
    ],
)
def test_junk_author_meta_is_rejected(claimed):
    page = extract_page(_article(head=f'<meta name="author" content="{claimed}">'), "http://x.cn/a", SHANGHAI)

    assert page.author is None


def test_author_meta_naming_the_site_is_not_an_author():
    page = extract_page(
        _article(head='<meta name="author" content="网易">', title="标题_网易财经"), "http://x.cn/a", SHANGHAI
    )

    assert page.author is None


# --------------------------------------------------------------------------- body cleaning


def test_full_width_spaces_and_boilerplate_lines_are_cleaned():
    body = (
        "<p>　　商务部新闻发言人今天表示，中国将继续扩大高水平对外开放。</p>"
        "<p>分享到：</p><p>【字体：大 中 小】</p><p>扫一扫在手机打开当前页</p>"
        "<p>发言人介绍，前五个月服务贸易进出口总额同比增长，知识密集型服务贸易表现亮眼。</p>"
        "<p>[责任编辑：王五]</p><p>上一篇：另一条新闻的标题</p><p>打印本页</p><p>关闭窗口</p>"
        "<p>Copyright © 2024 商务部 版权所有</p>"
    )

    page = extract_page(_article(body=body), "http://x.cn/a", SHANGHAI)

    assert page.paragraphs == (
        "商务部新闻发言人今天表示，中国将继续扩大高水平对外开放。",
        "发言人介绍，前五个月服务贸易进出口总额同比增长，知识密集型服务贸易表现亮眼。",
    )


def test_comments_after_the_article_are_cut_off():
    body = (
        "<p>商务部新闻发言人今天表示，中国将继续扩大高水平对外开放，推动服务贸易创新发展。</p>"
        "<p>发言人介绍，前五个月服务贸易进出口总额同比增长，知识密集型服务贸易表现亮眼。</p>"
        "<p>微软小冰[网易北京网友]2019-05-17 20:33:49</p><p>说得好，支持！</p>"
    )

    page = extract_page(_article(body=body), "http://x.cn/a", SHANGHAI)

    assert page.paragraphs[-1].startswith("发言人介绍")


def test_a_meeting_time_at_the_end_of_a_notice_is_text():
    body = (
        "<p>为做好服务贸易统计工作，定于近期召开培训会议。现将有关事项通知如下。</p>"
        "<p>一、参会人员：各地商务主管部门统计工作负责同志，每单位一人。</p>"
        "<p>会议时间：2024年6月20日 9:30</p><p>会议地点：商务部多功能厅</p>"
    )

    page = extract_page(_article(body=body), "http://x.cn/a", SHANGHAI)

    assert page.paragraphs[-2:] == ("会议时间：2024年6月20日 9:30", "会议地点：商务部多功能厅")


@pytest.mark.parametrize(
    "data",
    [
        "<pre>status │ period\n200 │ 2020-08-01 18:00:00+00\n404 │ 2020-08-01 17:59:00+00</pre>",
        "<table><tr><td>张三</td><td>2019-05-17 20:33:49</td></tr>"
        "<tr><td>李四</td><td>2019-05-18 08:10:00</td></tr></table>",
    ],
    ids=["code output", "table rows"],
)
def test_timestamps_in_code_output_or_table_rows_are_not_comments(data):
    body = (
        "<p>商务部新闻发言人今天表示，中国将继续扩大高水平对外开放，推动服务贸易创新发展。</p>"
        "<p>发言人介绍，前五个月服务贸易进出口总额同比增长，知识密集型服务贸易表现亮眼。</p>"
        f"{data}<p>以上数据显示，各项指标运行平稳，服务贸易继续保持良好发展势头。</p>"
    )

    page = extract_page(_article(body=body), "http://x.cn/a", SHANGHAI)

    assert page.paragraphs[-1].startswith("以上数据显示")


def test_too_short_body_is_kept_with_a_reason():
    page = extract_page(_article(body="<p>详见附件。</p>"), "http://x.cn/a", SHANGHAI)

    assert page.body_text == "详见附件。"
    assert page.rejected_reason == "body too short (5 characters < 50)"


# --------------------------------------------------------------------------- input that must not raise


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("", "empty page"),
        (" \n\t ", "empty page"),
        ("plain text, no markup at all", "not an HTML page"),
        (bytes(range(256)).decode("latin-1") * 40, "not a text page (binary content)"),
        ("<!-- a comment and nothing else -->", "unparseable HTML"),
        ("<html><body>" + "<div>" * 50_000 + "</body></html>", "no article text found"),
        ('<?xml version="1.0" encoding="gbk"?><frameset><frame src="a.html"></frameset>', "no article text found"),
        ("<p>\ud800\x00&#0;&#xD800;&bogus;</p>", None),
    ],
    ids=["empty", "whitespace", "text", "binary", "comment", "deep nesting", "xml prolog frameset", "bad characters"],
)
def test_garbage_gives_an_empty_page_with_a_reason(html, reason):
    page = extract_page(html, "http://x.cn/a", SHANGHAI)

    assert isinstance(page, ExtractedPage)
    assert len(page.body_text) < MIN_BODY_CHARS
    assert page.rejected_reason is not None
    if reason is not None:
        assert page.rejected_reason == reason


def test_random_tag_soup_never_raises():
    rng = random.Random(20240611)
    for _ in range(200):
        soup = "".join(
            rng.choice(["<", ">", "/", "=", '"', "'", " ", "p", "div", "a", "&#", ";", "中", "。", "\n"])
            for _ in range(rng.randint(0, 3000))
        )
        assert isinstance(extract_page(soup, "http://x.cn/a", SHANGHAI), ExtractedPage)


def test_a_20_megabyte_page_is_read_only_up_to_the_cap():
    paragraphs = "".join(f"<p>第{i}段：商务部今天发布第{i}号公告，对相关事项作出规定。</p>" for i in range(30))
    navigation = "<div class='nav'><a href='/x'>导航链接</a><a href='/y'>更多</a></div>" * 300_000
    html = (
        f"<html><head><title>大页面</title></head><body><div>{paragraphs}</div>{navigation}"
        "<p>页尾之后的正文</p></body></html>"
    )
    assert len(html) > 18_000_000

    page = extract_page(html, "http://x.cn/a", SHANGHAI)
    junk = extract_page(f"<html><body>{navigation}</body></html>", "http://x.cn/a", SHANGHAI)

    assert page.paragraphs[0] == "第0段：商务部今天发布第0号公告，对相关事项作出规定。"
    assert "页尾之后的正文" not in page.body_text  # beyond MAX_HTML_CHARS: never parsed
    assert (junk.body_text, junk.rejected_reason) == ("", "no article text found")


# --------------------------------------------------------------------------- helpers the extractor relies on
# clean.drop_boilerplate / normalize_line and parse.dates.find_month_day / date_from_url are pure
# helpers written for extract_page; they are tested here, beside their one caller.


@pytest.mark.parametrize(
    "line",
    [
        "责任编辑：杨倩_NF4425",
        "[责任编辑：刘斌]",
        "【纠错】 责任编辑： 焦鹏",
        "发布日期：2019-03-06 责任编辑：龙慧",
        "分享到：",
        "【字体：大 中 小】",
        "字号：大 中 小",
        "扫一扫在手机打开当前页",
        "用微信扫描二维码",
        "打印本页",
        "关闭窗口",
        "【上一篇】 财政部又发大消息！",
        "下一篇：国庆小长假如何躺着赚钱",
        "Copyright © 2014~2019 The Paper All rights reserved.",
        "版权所有：中华人民共和国商务部",
        "沪ICP备14003370号",
        "【美国The Next Web作品的中文相关权益归腾讯公司独家所有。未经授权，不得转载、摘编等。】",
        "本文来源：证券市场红周刊",
        "（来源：梨视频）",  # the source of a clip: page.attribution's business, not the text's
        "编辑 刘晓阳 校对 李铭",
        "评论（0）",
        "2168",
        "A- A A+",
        "（原标题：民警电话遭停机，靠拨打频次识别诈骗）",
        "本文原标题：《定了！广州南沙邮轮母港即将开通！》",
        "作者：上官云 宋宇晟",
        "文｜王五",
        "原创： 路闻卓立编译 人民币交易与研究",
        "安装新浪财经客户端第一时间接收最全面的市场资讯→【下载地址】",
        "扫描下方二维码解锁更多技能",
        "3、回复【社保】查询广州社保缴纳记录",
        "看都看完了，点【在看】试试",
        "点击菜单栏【便民服务】解锁更多服务！",
        "20190926|国贸|增长率|全球经济",
        "Share this:",
        "Teilen Sie dies mit:",
        "Tweet Share Email",
        "Facebook | Twitter | 微博",
        "Rezept drucken Bei Pinterest speichern",
        "Sign up for our newsletter and get the week's news",
        "Advertisement",
        "Most Popular",
    ],
)
def test_boilerplate_lines(line):
    assert is_boilerplate_line(line)


@pytest.mark.parametrize(
    "line",
    [
        "他分享了一个故事，说得很好。",
        "编辑说这件事很重要。",
        "2018年3月20日，第十三届全国人大一次会议表决通过了《中华人民共和国监察法》。",
        "第一章 总 则",
        "相关部门持续依托短缺药品供应保障工作会商联动机制。",
        "记者：您如何看待今年的服务贸易形势？",  # an interviewer's question, not a byline
        "作者：张三，中国信通院研究员。",
        "用户下载客户端后可在首页查看，截至6月底该应用累计下载量超过1亿次，第一时间收到推送的用户占比过半，"
        "平台表示将继续优化体验。",  # a sentence about an app, longer than a promotion line
        "收入|支出",
        "Share prices fell sharply after the announcement.",
        "参会代表请于6月20日前扫描二维码报名。",
        "对此，该公司回复“正在核实相关情况”。",
        "Print and email remain the agency's main channels, the report says.",
    ],
)
def test_article_lines_are_not_boilerplate(line):
    assert not is_boilerplate_line(line)


def test_normalize_line_reads_every_space_as_one_and_drops_invisible_characters():
    assert normalize_line("\u3000\u3000第一章\u3000总\u00a0\u00a0则\u200b\ue609 ") == "第一章 总 则"


def test_drop_boilerplate_cuts_at_a_trailing_related_heading_and_menus():
    lines = [
        "商务部新闻发言人今天表示，中国将继续扩大高水平对外开放，推动服务贸易创新发展。",
        "发言人介绍，前五个月服务贸易进出口总额同比增长，知识密集型服务贸易表现亮眼。",
        "相关新闻",
        "商务部召开例行新闻发布会，介绍一季度商务运行情况。",
    ]
    menu = ["低俗色情", "欺诈或恶意营销", "疑似抄袭", "与事实不符", "投诉"]

    assert drop_boilerplate(lines) == lines[:2]
    assert drop_boilerplate(lines[:2] + menu) == lines[:2]
    assert drop_boilerplate(["相关新闻", *lines[:2]]) == lines[:2]  # a heading at the top does not end the body
    assert drop_boilerplate([*lines[:2], "推荐0", "图集"]) == lines[:2]
    assert drop_boilerplate([*lines[:2], "商务部", "2024年6月11日"]) == [*lines[:2], "商务部", "2024年6月11日"]


def test_drop_boilerplate_keeps_a_chorus_and_drops_a_caption_on_every_slide():
    verse = ["就放心去吧", "祝你幸福和快乐", "就放心去吧", "有天使在你身旁", "就放心去吧"]
    gallery = ["天气影响假期出行"] * 6 + ["暴风雪导致多个机场航班延误，旅客滞留。"]

    assert drop_boilerplate(verse) == verse
    assert drop_boilerplate(gallery) == ["暴风雪导致多个机场航班延误，旅客滞留。"]


def test_drop_boilerplate_cuts_at_a_related_heading_in_english_only_late():
    text = [
        "The Commission adopted its opinion on the draft adequacy decision on Tuesday.",
        "It asks the Commission to clarify how onward transfers will be supervised.",
    ]
    related = ["Related articles", "EDPS publishes annual report"]

    assert drop_boilerplate([*text, *related]) == text
    assert drop_boilerplate([*related, *text])[-2:] == text  # a box at the top does not end the body


def test_drop_boilerplate_keeps_the_questions_put_to_every_guest():
    questions = ["债券市场存在泡沫吗？", "央行现在应该做什么？"]
    answers = [f"第{n}位受访者认为，当前债券市场估值偏高，但出现破坏性崩盘的可能性不大。" for n in range(5)]
    interview = [line for answer in answers for line in (*questions, answer)]

    assert drop_boilerplate(interview) == interview


def test_drop_boilerplate_cuts_at_a_dotted_related_heading():
    text = ["近日，四川江油一社区女民警在开展辖区实有人口核查工作时，平均每天拨打一百余个电话。"] * 2
    text[1] = text[1].replace("近日", "随后")
    teaser = ["延伸 · 推荐", "江油电信客服人员已核实情况，为民警恢复通话。"]

    assert drop_boilerplate([*text, *teaser]) == text


@pytest.mark.parametrize(
    ("text", "reference", "expected"),
    [
        ("06-11 10:30", datetime(2024, 6, 11), datetime(2024, 6, 11, 10, 30)),  # the URL's day
        ("06-11", datetime(2025, 1, 3), datetime(2024, 6, 11)),  # the latest 06-11 not after the clock
        ("12月30日", datetime(2025, 1, 2), datetime(2024, 12, 30)),
        ("[06月24日 11時30分]", datetime(2019, 7, 1), datetime(2019, 6, 24, 11, 30)),
    ],
)
def test_month_day_takes_the_latest_year_not_after_the_reference(text, reference, expected):
    found = find_month_day(text, SHANGHAI, reference.replace(tzinfo=SHANGHAI))

    assert found is not None and found.value == expected.replace(tzinfo=SHANGHAI)


def test_two_digit_year_only_after_a_date_label():
    reference = datetime(2018, 3, 9, tzinfo=SHANGHAI)

    assert find_month_day("18-03-08", SHANGHAI, reference, short_year=True).value == datetime(
        2018, 3, 8, tzinfo=SHANGHAI
    )
    assert find_month_day("18-03-08", SHANGHAI, reference) is None  # "18-03" is no month-day either


@pytest.mark.parametrize(
    ("url", "day"),
    [
        ("http://headlines.yahoo.co.jp/hl?a=20170309-35097838-cnetj-sci", (2017, 3, 9)),
        ("http://www.chineselyrics4u.com/2011/07/zhi-neng.html", None),  # a month names no day
        ("http://www.gov.cn/zhengce/201930332664.htm", None),  # digits of an id, not a date
        ("http://20240611.example.cn/a.html", None),  # the host is not the path
    ],
)
def test_date_from_url(url, day):
    assert date_from_url(url, SHANGHAI) == (datetime(*day, tzinfo=SHANGHAI) if day else None)


# --------------------------------------------------------------------------- parse.blocks: furniture names


def _blocks(body: str) -> dict[str, bool]:
    """Each block's text -> whether it is flagged as furniture."""
    from news_harvester.parse.blocks import text_blocks
    from news_harvester.parse.html_tree import parse_html

    return {block.text: block.negative for block in text_blocks(parse_html(f"<html><body>{body}</body></html>"))}


def test_a_furniture_name_flags_its_own_text_and_not_the_text_around_it():
    flags = _blocks(
        "<div class='article'><p>正文第一段，商务部发布通知。</p><div class='share-box'>分享到微博 微信</div>"
        "正文第二段紧随分享栏之后，说明政策要点。<div class='banner'>广告</div></div>"
    )

    assert flags["分享到微博 微信"] is True
    assert flags["广告"] is True
    assert flags["正文第二段紧随分享栏之后，说明政策要点。"] is False  # the tail before the banner is text
    assert flags["正文第一段，商务部发布通知。"] is False


def test_machine_made_ids_and_heading_anchors_are_not_furniture_names():
    flags = _blocks(
        "<div class='entry-content'><p id='NavzzU'>Winner of the Palme d'Or, the film is a needling comedy.</p>"
        "<h2 id='ai-shines-a-light-on-cumbersome-toolchains'>AI shines a light on toolchains</h2>"
        "<p id='mainNav'>Home, News, Sports.</p></div>"
    )

    assert flags["Winner of the Palme d'Or, the film is a needling comedy."] is False
    assert flags["AI shines a light on toolchains"] is False
    assert flags["Home, News, Sports."] is True  # a camel-case word is a name people chose


def test_author_boxes_are_furniture():
    flags = _blocks(
        "<div class='artikel'><p>Die Vegetation kleidete sich nur zögerlich herbstlich, meldet der Wetterdienst.</p>"
        "<div class='cbx-Author_InfoContainer'><p>Redakteur in der Wirtschaft.</p></div>"
        "<header class='artDetailAutor__header'>Leiterin Redaktion Leben und Gesundheit</header></div>"
    )

    assert flags["Die Vegetation kleidete sich nur zögerlich herbstlich, meldet der Wetterdienst."] is False
    assert flags["Redakteur in der Wirtschaft."] is True
    assert flags["Leiterin Redaktion Leben und Gesundheit"] is True


def test_a_byline_with_a_date_does_not_pull_the_article_container_up():
    from news_harvester.parse.blocks import text_blocks
    from news_harvester.parse.html_tree import parse_html

    blocks = text_blocks(
        parse_html(
            "<html><body><div id='byline'>By National Desk on December 27, 2014 at 12:06 PM, updated 12:10 PM</div>"
            "<p>Chia seeds and goji berries are the new kale, according to the list of searches.</p>"
            "<p>发布时间：2024年6月11日，商务部等九部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》。</p>"
            "</body></html>"
        )
    )
    value = {block.text[:4]: block.value for block in blocks}

    assert value["By N"] < 0
    assert value["Chia"] > 0 and value["发布时间"] > 0  # a dated sentence is prose


def test_aria_hidden_dialogs_and_consent_banners_are_not_the_article():
    consent = (
        "Soucieux de la protection de vos données personnelles, nous vous informons que ARTE RADIO et des tiers "
        "utilisent des cookies et autres traceurs, pour établir des statistiques de fréquentation du site. "
    ) * 3
    article = "Le mouvement des gilets jaunes est analysé par un spécialiste du sujet, semaine après semaine. " * 2
    html = (
        f"<html><body><div class='micromodal-slide' aria-hidden='true'><p>{consent}</p></div>"
        f"<div class='cookie-banner'><p>{consent}</p></div><article><p>{article}</p></article></body></html>"
    )

    page = extract_page(html, "https://www.arteradio.example/son/nuls", SHANGHAI)
    # a page saved while a dialog was open: the script had marked the whole page aria-hidden
    behind_a_dialog = html.replace("<body>", "<body aria-hidden='true'>")

    assert page.body_text == article.strip()
    assert extract_page(behind_a_dialog, "https://www.arteradio.example/son/nuls", SHANGHAI).body_text == page.body_text
