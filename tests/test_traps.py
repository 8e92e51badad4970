"""Pages that are not what they claim: JavaScript redirects, WAF challenges, iframed tables.

Unit tests of the pure helpers in ``parse/traps.py``, then the pipeline against a real local server:
redirect pages are followed exactly once with the original link as Referer, a challenge page fails
its source with ``fetch.challenge`` (or costs only its item), and same-site iframed tables end up in
the stored body.
"""

from __future__ import annotations

import json

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Request, Response

import feeds
from conftest import source
from news_harvester.models import Outcome
from news_harvester.parse.traps import challenge_reason, iframe_urls, redirect_target, table_html
from news_harvester.store.schema import fetch_runs

PAGE = "https://www.mofcom.gov.cn/xwfb/xwlxfbh/202406/20240611123456.shtml"
HTML = "text/html; charset=utf-8"
LONG_TEXT = "商务部新闻发言人就数字贸易发展情况答记者问，介绍了跨境数据流动、服务外包和跨境电商的最新进展。" * 8


def _page(head: str = "", body: str = "") -> str:
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>"


# --------------------------------------------------------------------------- redirect_target


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (_page(body="<script>window.location.href='/xwfb/xwztfbh/202406/20240611.shtml';</script>"),
         "https://www.mofcom.gov.cn/xwfb/xwztfbh/202406/20240611.shtml"),
        (_page(body='<script type="text/javascript">location.replace("http://fbh.mofcom.gov.cn/a/1.html")</script>'),
         "http://fbh.mofcom.gov.cn/a/1.html"),
        (_page(body="<script>top.location = 'next.shtml'</script>"),
         "https://www.mofcom.gov.cn/xwfb/xwlxfbh/202406/next.shtml"),
        (_page(body=f"<p>{LONG_TEXT}</p><script>var _cofing1={{href:\"http://fbh.mofcom.gov.cn/x/2.shtml\",type:1}};</script>"),
         "http://fbh.mofcom.gov.cn/x/2.shtml"),
        (_page(head='<meta http-equiv="refresh" content="0;url=/new/place.html">'),
         "https://www.mofcom.gov.cn/new/place.html"),
        (_page(head="<meta http-equiv='Refresh' content=\"0; URL='https://www.news.cn/tech/c.html'\">"),
         "https://www.news.cn/tech/c.html"),
        (_page(head='<meta http-equiv="refresh" content="0;url=/a.html?x=1&amp;y=2">'),
         "https://www.mofcom.gov.cn/a.html?x=1&y=2"),
    ],
    ids=["window.location.href on an empty page", "location.replace", "top.location = relative",
         "MOFCOM _cofing1 even beside text", "meta refresh 0;url=", "meta Refresh with quoted URL",
         "entities in the refresh URL"],
)
def test_redirect_pages_name_their_target(html, expected):
    assert redirect_target(html, PAGE) == expected


@pytest.mark.parametrize(
    "html",
    [
        _page(body=f"<div class='art-con'><p>{LONG_TEXT}</p></div><script>if (/Mobile/.test(navigator.userAgent))"
                   " { window.location.href = 'https://m.mofcom.gov.cn/a.html'; }</script>"),
        _page(body="<script>location.href = '/search?q=' + encodeURIComponent(q);</script>"),
        _page(body="<script>if (location.href == 'https://x.org/') {}</script>"),
        _page(head='<meta http-equiv="refresh" content="300">', body=f"<p>{LONG_TEXT}</p>"),
        _page(head='<meta http-equiv="refresh" content="600;url=/index.html">'),
        _page(head=f'<meta http-equiv="refresh" content="0;url={PAGE}#top">'),
        _page(body="<script>window.location.href='javascript:void(0)';</script>"),
        '{"location": "window.location.href=\'/x.html\'"}',
        feeds.rss([{"title": "t", "link": "https://x.org/1", "description": "<script>location.href='/x'</script>"}]),
    ],
    ids=["mobile redirect inside a real article", "concatenated target", "comparison, not assignment",
         "auto-reload refresh without URL", "refresh after 10 minutes", "refresh to the page itself",
         "javascript: target", "JSON text", "RSS feed"],
)
def test_pages_that_are_not_redirects(html):
    assert redirect_target(html, PAGE) is None


# --------------------------------------------------------------------------- challenge_reason


def _reason(html: str) -> str | None:
    return challenge_reason(html, len(html.encode("utf-8")))


@pytest.mark.parametrize(
    ("html", "marker"),
    [
        (_page(body="<p>为了您的访问安全，请完成安全验证后继续访问。</p>"), "安全验证"),
        (_page(body="<noscript>请开启JavaScript并刷新该页</noscript><script src='/waf.js'></script>"),
         "请开启JavaScript"),
        (_page(body="<h2>访问验证</h2><div id='slider'></div>"), "访问验证"),
        (_page(body="<script>document.cookie=('__jsl_clearance=1620000000.1|0|'+'abc');location.href=location.pathname"
                    "+location.search</script>"), "__jsl_clearance"),
        (_page(body="<script>var arg1='3B2A';function setCookie(){document.cookie='acw_sc__v2='+x;}"
                    "reload(arg2);</script>"), "acw_sc__v2"),
        (_page(body="<script src='/_waf_/verify.js'></script><p>Loading</p>"), "_waf_"),
        (_page(head="<title>Just a moment...</title>",
               body="<div id='cf-challenge'></div><script src='/cdn-cgi/challenge-platform/h/b/orchestrate/"
                    "chl_page/v1'></script>"), "just a moment..."),
        (_page(head="<title>Access Denied</title>", body="<h1>Access Denied</h1>You don't have permission. "
               "Reference #18.2f3c1402.1718073000.1a2b3c <p>https://errors.edgesuite.net/18.2f3c1402</p>"),
         "errors.edgesuite.net"),
        (_page(body="<noscript>Please enable JavaScript</noscript><script>eval(function(p,a,c,k){})</script>"),
         "please enable javascript"),
    ],
    ids=["安全验证", "请开启JavaScript", "访问验证", "__jsl_clearance", "acw_sc__v2", "_waf_",
         "Cloudflare interstitial", "Akamai access denied", "noscript + packed script"],
)
def test_small_challenge_pages_are_recognised(html, marker):
    reason = _reason(html)
    assert reason is not None and marker in reason


def test_script_only_body_is_a_challenge_even_without_markers():
    html = _page(body="<noscript></noscript>"
                      "<script>var _0x1=['\\x63'];(function(){document.cookie=_0x1[0]})()</script>")
    reason = _reason(html)
    assert reason is not None and reason.startswith("script-only page with <noscript>")


def test_a_vendor_challenge_above_4kb_counts_when_the_page_has_no_content():
    html = _page(head="<title>Just a moment...</title>",
                 body="<script>window._cf_chl_opt={cvId:'3'};" + "a" * 9000 + "</script>")
    assert len(html) > 4096
    assert "cf_chl_" in (_reason(html) or "")


@pytest.mark.parametrize(
    "html",
    [
        _page(body="<p>商务部：2024年1-5月全国吸收外资情况。</p>"),
        _page(body=f"<div class='art-con'><p>{LONG_TEXT}</p><p>网站已开启安全验证。</p></div>"),
        _page(body=f"<p>{LONG_TEXT}</p><script src='/cdn-cgi/challenge-platform/scripts/jsd/main.js'></script>"),
        _page(body="<p>安全验证</p>" + f"<p>{LONG_TEXT}</p>" * 10),
        '{"code": 403, "msg": "安全验证失败"}',
        feeds.rss([{"title": "访问验证新规", "link": "https://x.org/1", "description": "请开启JavaScript"}]),
        _page(),
    ],
    ids=["short real article", "article mentioning 安全验证", "Cloudflare script on a normal page",
         "large page", "JSON error body", "RSS feed", "empty page without scripts"],
)
def test_pages_with_content_are_not_challenges(html):
    assert _reason(html) is None


# --------------------------------------------------------------------------- iframes and tables


def test_iframes_inside_the_body_container_only_same_site_and_at_most_three():
    html = _page(body=(
        "<iframe src='/static/header.html'></iframe>"
        "<div class='art-con'><p>表格见下</p>"
        "<iframe src='/tj/table1.html'></iframe>"
        "<iframe src='https://player.youku.com/embed/x'></iframe>"
        "<iframe src='http://data.mofcom.gov.cn/t2.html#frag'></iframe>"
        "<iframe src='/files/notice.pdf'></iframe>"
        "<iframe src='/tj/table1.html'></iframe>"
        "<iframe src='/tj/table3.html'></iframe><iframe src='/tj/table4.html'></iframe></div>"
    ))
    assert iframe_urls(html, PAGE) == [
        "https://www.mofcom.gov.cn/tj/table1.html",
        "http://data.mofcom.gov.cn/t2.html",
        "https://www.mofcom.gov.cn/tj/table3.html",
    ]


def test_without_a_known_container_iframes_outside_page_chrome_count_and_a_source_selector_wins():
    html = _page(body=(
        "<div class='top-nav'><iframe src='/nav.html'></iframe></div>"
        "<div class='main'><iframe src='/data/t.html'></iframe></div>"
        "<footer><iframe src='/foot.html'></iframe></footer>"
        "<div class='news-text'><iframe src='/data/own.html'></iframe></div>"
    ))
    assert iframe_urls(html, PAGE) == ["https://www.mofcom.gov.cn/data/t.html", "https://www.mofcom.gov.cn/data/own.html"]
    assert iframe_urls(html, PAGE, [".news-text"]) == ["https://www.mofcom.gov.cn/data/own.html"]
    assert iframe_urls(_page(body="<p>没有表格</p>"), PAGE) == []


def test_table_html_keeps_data_tables_not_layout_wrappers():
    html = _page(body=(
        "<table><tr><td><table><tr><th>指标</th><th>金额</th></tr><tr><td>出口</td><td>1.2万亿</td></tr></table>"
        "</td></tr></table><table><tr><td>单格</td></tr></table>"
    ))
    [table] = table_html(html)
    assert "出口" in table and "单格" not in table and table.count("<table") == 1


# --------------------------------------------------------------------------- through the pipeline


def _article(title: str, text: str, extra: str = "") -> str:
    return _page(head=f"<meta name='ArticleTitle' content='{title}'><meta name='PubDate' content='2024-06-11 10:00'>",
                 body=f"<div class='art-con'><p>{text}</p>{extra}</div>")


def _list(base: str, links: list[tuple[str, str]]) -> str:
    rows = "".join(f"<li><a href='{base}{href}' title='{title}'>{title}</a><span>2024-06-11</span></li>"
                   for href, title in links)
    return _page(body=f"<ul class='txtList_01'>{rows}</ul>")


HTML_SOURCE = {"kind": "html", "selectors": {"item": [".txtList_01 li"], "date": ["span"]}}


def test_article_redirect_pages_are_followed_once_with_the_original_link_as_referer(
    httpserver: HTTPServer, write_sources, run_harvest, repository
):
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/list/index.html").respond_with_data(_list(base, [
        ("/xwfb/xwlxfbh/202406/1.shtml", "商务部例行新闻发布会（2024年6月11日）"),
        ("/xwfb/xwztfbh/202406/2.shtml", "商务部专题新闻发布会实录"),
        ("/xwfb/a/202406/3.shtml", "连续两次跳转的页面不会被追踪"),
    ]), content_type=HTML)
    httpserver.expect_request("/xwfb/xwlxfbh/202406/1.shtml").respond_with_data(
        _page(body='<script>var _cofing1={href:"/fbh/live/1.html",type:2};'
                   "window.location.href=_cofing1.href;</script>"), content_type=HTML)
    httpserver.expect_request("/xwfb/xwztfbh/202406/2.shtml").respond_with_data(
        _page(head='<meta http-equiv="refresh" content="0;url=/fbh/live/2.html">'), content_type=HTML)
    referers: dict[str, str | None] = {}

    def live(request: Request) -> Response:
        referers[request.path] = request.headers.get("Referer")
        n = request.path.rsplit("/", 1)[1][0]
        text = f"发布会{n}实录：商务部新闻发言人介绍数字贸易和服务外包最新进展，回答记者提问。"
        return Response(_article(f"发布会{n}", text), content_type=HTML)

    httpserver.expect_request("/fbh/live/1.html").respond_with_handler(live)
    httpserver.expect_request("/fbh/live/2.html").respond_with_handler(live)
    httpserver.expect_request("/xwfb/a/202406/3.shtml").respond_with_data(
        _page(body="<script>location.replace('/hop/b.html')</script>"), content_type=HTML)
    httpserver.expect_request("/hop/b.html").respond_with_data(
        _page(body="<script>location.replace('/hop/c.html')</script>"), content_type=HTML)
    config = write_sources([source(httpserver, "/list/index.html", id="mofcom-fbh", name="商务部网站", **HTML_SOURCE)])

    [summary] = run_harvest(list(config.sources))

    assert summary.outcome == Outcome.OK, summary
    assert referers == {"/fbh/live/1.html": f"{base}/xwfb/xwlxfbh/202406/1.shtml",
                        "/fbh/live/2.html": f"{base}/xwfb/xwztfbh/202406/2.shtml"}
    stored = {a.url: a for a in repository.list_articles()}
    assert set(stored) == {f"{base}/xwfb/xwlxfbh/202406/1.shtml", f"{base}/xwfb/xwztfbh/202406/2.shtml"}
    first = stored[f"{base}/xwfb/xwlxfbh/202406/1.shtml"]  # stored under the list's link, read from the target
    assert "发布会1实录" in first.body_text and first.date_origin == "meta"
    assert "/hop/c.html" not in [r.path for r, _ in httpserver.log]
    [chain] = [w for w in summary.warnings if "/xwfb/a/202406/3.shtml" in w]
    assert chain.startswith("fetch.redirect_loop for article") and "only one hop" in chain


def test_a_list_page_that_is_a_javascript_redirect_is_followed_and_reported(
    httpserver: HTTPServer, write_sources, run_harvest, repository
):
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/old/index.html").respond_with_data(
        _page(body="<script>window.location.href='/new/index.html';</script>"), content_type=HTML,
        headers={"ETag": '"shell"'})
    seen: list[str | None] = []

    def new_list(request: Request) -> Response:
        seen.append(request.headers.get("Referer"))
        return Response(_list(base, [("/new/202406/t1.html", "新页面上的第一篇新闻稿")]), content_type=HTML,
                        headers={"ETag": '"list"'})

    httpserver.expect_request("/new/index.html").respond_with_handler(new_list)
    httpserver.expect_request("/new/202406/t1.html").respond_with_data(
        _article("新页面上的第一篇新闻稿", "新页面上的第一篇新闻稿正文，介绍跨境电商综合试验区建设进展。"),
        content_type=HTML)
    config = write_sources([source(httpserver, "/old/index.html", id="moved-js", **HTML_SOURCE)])

    [summary] = run_harvest(list(config.sources))

    assert summary.outcome == Outcome.OK and summary.items_new == 1, summary
    assert seen == [f"{base}/old/index.html"]
    assert any(f"JavaScript redirect to {base}/new/index.html" in w for w in summary.warnings)
    # The shell's ETag says nothing about the list behind it: nothing is sent conditionally next run.
    assert repository.source_state("moved-js").fetch_state.etag is None


def test_a_challenge_source_page_fails_with_fetch_challenge_while_others_land(
    httpserver: HTTPServer, write_sources, run_harvest, repository
):
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/waf/index.html").respond_with_data(
        _page(head="<title>安全验证</title>", body="<noscript>请开启JavaScript</noscript>"
              "<script>document.cookie='acw_sc__v2=5f3a';location.reload();</script>"), content_type=HTML)
    httpserver.expect_request("/good.xml").respond_with_data(feeds.rss(feeds.items(base, 2)),
                                                             content_type="application/rss+xml")
    config = write_sources([source(httpserver, "/waf/index.html", id="waf", **HTML_SOURCE),
                            source(httpserver, "/good.xml", id="good")])

    summaries = {s.source_id: s for s in run_harvest(list(config.sources))}

    waf = summaries["waf"]
    assert (waf.outcome, waf.code, waf.http_status) == (Outcome.ERROR, "fetch.challenge", 200)
    assert "安全验证" in waf.message and "acw_sc__v2" in waf.message
    assert repository.source_state("waf").last_error_code == "fetch.challenge"
    assert summaries["good"].outcome == Outcome.OK and len(repository.list_articles(source_id="good")) == 2


def test_iframed_tables_are_appended_to_the_article_body(httpserver: HTTPServer, write_sources, run_harvest,
                                                          repository):
    base = httpserver.url_for("").rstrip("/")
    other_site = base.replace("127.0.0.1", "localhost")
    httpserver.expect_request("/tj/index.html").respond_with_data(
        _list(base, [("/tj/202406/t1.html", "2024年1-5月我国服务贸易发展情况")]), content_type=HTML)
    frames = (f"<iframe src='/tj/frames/table1.html'></iframe><iframe src='{other_site}/ads.html'></iframe>"
              "<iframe src='/tj/frames/missing.html'></iframe>")
    httpserver.expect_request("/tj/202406/t1.html").respond_with_data(
        _article("2024年1-5月我国服务贸易发展情况", "1-5月，我国服务贸易保持增长态势，数据见下表。", frames),
        content_type=HTML)
    referers: list[str | None] = []

    def table(request: Request) -> Response:
        referers.append(request.headers.get("Referer"))
        return Response(_page(body="<table><tr><th>指标</th><th>金额（亿元）</th></tr><tr><td>服务进出口总额</td>"
                                   "<td>30014.6</td></tr><tr><td>知识密集型服务</td><td>11451.9</td></tr></table>"),
                        content_type=HTML)

    httpserver.expect_request("/tj/frames/table1.html").respond_with_handler(table)
    httpserver.expect_request("/tj/frames/missing.html").respond_with_data("gone", status=404)
    config = write_sources([source(httpserver, "/tj/index.html", id="mofcom-tj", **HTML_SOURCE)])

    [summary] = run_harvest(list(config.sources))

    assert summary.outcome == Outcome.OK and summary.items_new == 1, summary
    [article] = repository.list_articles()
    assert article.body_text.startswith("1-5月，我国服务贸易保持增长态势")
    assert "服务进出口总额\t30014.6" in article.body_text and "知识密集型服务\t11451.9" in article.body_text
    assert referers == [f"{base}/tj/202406/t1.html"]
    assert "/ads.html" not in [r.path for r, _ in httpserver.log]  # another site's iframe is not fetched
    assert any(w.startswith("fetch.http_status for iframe") and "missing.html" in w for w in summary.warnings)
    with repository.engine.connect() as conn:
        stored_warnings = json.loads(conn.execute(select(fetch_runs.c.warnings)).scalar_one())
    assert any("missing.html" in w for w in stored_warnings)
