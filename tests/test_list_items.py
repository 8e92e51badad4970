"""List sources item by item, over a real local server and a real SQLite file.

* One bad article page (404, garbage, a PDF served as text/html, a 20 MB page, a challenge) costs
  only its item, with a clear warning naming the code and the link, while the rest of the list is
  stored and nothing stored before is touched; a skipped item is retried and lands next run.
* Static pagination (``pagination``): later pages in order, deduplicated, a 404 ends it with a warning.
* Two-step JSON (``datasource``): the data-source id is read from the page, then the JSON is fetched.
* The new sources.yaml fields are validated with file, field and hint.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import feeds
from conftest import source
from news_harvester.config import load_sources
from news_harvester.errors import ConfigError, ParseError
from news_harvester.models import Outcome
from news_harvester.parse.jsonlist import datasource_url
from news_harvester.parse.listing import page_urls

HTML = "text/html; charset=utf-8"
SELECTORS = {"item": [".txtList_01 li"], "date": ["span"]}


def _page(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>"


def _article(title: str) -> str:
    return _page(f"<div class='art-con'><h1>{title}</h1><p>{title}。商务部有关负责人表示，"
                 "将持续推进数字贸易改革创新发展，完善跨境数据流动、服务外包和跨境电商相关政策措施。</p></div>",
                 head=f"<meta name='ArticleTitle' content='{title}'><meta name='PubDate' content='2024-06-11 10:00'>")


def _list(rows: list[tuple[str, str]]) -> str:
    return _page("<ul class='txtList_01'>" + "".join(
        f"<li><a href='{href}' title='{title}'>{title}</a><span>2024-06-11</span></li>" for href, title in rows
    ) + "</ul>")


# --------------------------------------------------------------------------- per-item failures


def _twenty_megabytes(_request: Request) -> Response:
    def body():
        yield b"<html><body><div class='art-con'>"
        for _ in range(20 * 16):
            yield b"<p>" + b"x" * 65536 + b"</p>"
        yield b"</div></body></html>"

    return Response(body(), content_type=HTML)  # streamed, no Content-Length: the cap must stop the read


BAD_PAGES = {
    "/a/404.html": ("页面已被删除的通知", "fetch.http_status"),
    "/a/garbage.html": ("服务端返回乱码的通知", "parse.empty_article"),
    "/a/binary.html": ("链接到PDF文件的通知", "decode.binary"),
    "/a/huge.html": ("体积达到二十兆的页面", "fetch.too_large"),
    "/a/waf.html": ("被防火墙拦截的页面", "fetch.challenge"),
}


def test_bad_article_pages_cost_only_their_item_and_nothing_stored_is_lost(
    httpserver: HTTPServer, write_sources, run_harvest, repository, settings
):
    good = [(f"/a/good{k}.html", f"商务部数字贸易政策解读第{k}篇") for k in range(3)]
    for path, title in good:
        httpserver.expect_request(path).respond_with_data(_article(title), content_type=HTML)
    listing = {"rows": good[:2]}
    httpserver.expect_request("/list/index.html").respond_with_handler(
        lambda _r: Response(_list(listing["rows"]), content_type=HTML))
    config = write_sources([source(httpserver, "/list/index.html", id="mofcom", kind="html", selectors=SELECTORS)])
    real_cap = settings.model_copy(update={"max_body_bytes": 10_000_000})  # the shipped default

    [first] = run_harvest(list(config.sources), settings_override=real_cap)
    assert (first.outcome, first.items_new) == (Outcome.OK, 2)
    before = {a.url: (a.title, a.body_text, a.fetched_at) for a in repository.list_articles()}

    httpserver.expect_oneshot_request("/a/404.html").respond_with_data("<h1>404</h1>", status=404, content_type=HTML)
    httpserver.expect_request("/a/garbage.html").respond_with_data('{"error": "upstream timeout", "code": 504}',
                                                                   content_type=HTML)
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 40
    httpserver.expect_request("/a/binary.html").respond_with_data(pdf, content_type=HTML)
    httpserver.expect_request("/a/huge.html").respond_with_handler(_twenty_megabytes)
    httpserver.expect_request("/a/waf.html").respond_with_data(
        _page("<noscript>请开启JavaScript</noscript><script>location.reload()</script>",
              head="<title>安全验证</title>"), content_type=HTML)
    listing["rows"] = [good[0], *((p, t) for p, (t, _) in BAD_PAGES.items()), good[1], good[2]]

    [second] = run_harvest(list(config.sources), settings_override=real_cap)

    assert second.outcome == Outcome.OK and second.code is None, second
    assert (second.items_seen, second.items_new) == (8, 1)
    base = httpserver.url_for("").rstrip("/")
    for path, (_title, code) in BAD_PAGES.items():
        [warning] = [w for w in second.warnings if f"{base}{path}" in w]
        assert warning.startswith(f"{code} for article {base}{path}: "), warning
    after = {a.url: (a.title, a.body_text, a.fetched_at) for a in repository.list_articles()}
    assert set(after) == {f"{base}{p}" for p, _ in good}
    assert {u: after[u] for u in before} == before  # untouched, not re-fetched
    assert repository.counts()["candidates"] == repository.counts()["stories"]  # one per story
    assert repository.source_state("mofcom").consecutive_failures == 0

    # Skipped items were not stored, so they are tried again; the 404 page is back and lands.
    httpserver.expect_request("/a/404.html").respond_with_data(_article("页面已被删除的通知"), content_type=HTML)
    [third] = run_harvest(list(config.sources), settings_override=real_cap)
    assert third.items_new == 1 and f"{base}/a/404.html" in {a.url for a in repository.list_articles()}


def test_a_feed_item_whose_page_has_no_text_keeps_the_feed_text(httpserver: HTTPServer, write_sources, run_harvest,
                                                                 repository):
    base = httpserver.url_for("").rstrip("/")
    entries = feeds.items(base, 2)
    httpserver.expect_request("/feed.xml").respond_with_data(feeds.rss(entries), content_type="application/rss+xml")
    httpserver.expect_request("/a/20240610/0.html").respond_with_data(_article("正文完整的新闻"), content_type=HTML)
    httpserver.expect_request("/a/20240611/1.html").respond_with_data("<html><body></body></html>", content_type=HTML)
    config = write_sources([source(httpserver, "/feed.xml", id="feed-full", full_text=True)])

    [summary] = run_harvest(list(config.sources))

    assert summary.items_new == 2
    by_url = {a.url: a for a in repository.list_articles()}
    assert "数字贸易改革创新" in by_url[f"{base}/a/20240610/0.html"].body_text
    assert by_url[f"{base}/a/20240611/1.html"].body_text.startswith("6月11日，商务部等九部门联合印发第1号文件")
    [warning] = summary.warnings
    assert warning.startswith(f"parse.empty_article for article {base}/a/20240611/1.html") and "kept" in warning


# --------------------------------------------------------------------------- pagination


@pytest.mark.parametrize(
    ("list_url", "template", "start", "expected"),
    [
        ("https://www.mofcom.gov.cn/xwfb/ldrhd/index.html", "index_{n}.html", 1,
         ["https://www.mofcom.gov.cn/xwfb/ldrhd/index_1.html", "https://www.mofcom.gov.cn/xwfb/ldrhd/index_2.html"]),
        ("http://tradeinservices.mofcom.gov.cn/article/news/gnxw/", "index_{n}.html", 1,
         ["http://tradeinservices.mofcom.gov.cn/article/news/gnxw/index_1.html",
          "http://tradeinservices.mofcom.gov.cn/article/news/gnxw/index_2.html"]),
        ("https://example.org/news/list.php?cat=3", "?cat=3&page={n}", 2,
         ["https://example.org/news/list.php?cat=3&page=2", "https://example.org/news/list.php?cat=3&page=3"]),
        ("http://www.cac.gov.cn/xxh/A0906index_1.htm", "A0906index_{n}.htm", 2,
         ["http://www.cac.gov.cn/xxh/A0906index_2.htm", "http://www.cac.gov.cn/xxh/A0906index_3.htm"]),
    ],
    ids=["gov CMS index_1, index_2", "directory list URL", "query template starting at 2", "CAC-style names"],
)
def test_page_urls(list_url, template, start, expected):
    assert page_urls(list_url, 3, template, start) == expected
    assert page_urls(list_url, 1, template, start) == []


def test_pagination_reads_pages_in_order_dedupes_and_a_missing_page_ends_it_with_a_warning(
    httpserver: HTTPServer, write_sources, run_harvest, repository
):
    pages = {
        "/xwfb/ldrhd/index.html": [("/a/p1-0.html", "第一页第一条新闻标题"),
                                   ("/a/p1-1.html", "第一页第二条新闻标题")],
        "/xwfb/ldrhd/index_1.html": [("/a/p1-1.html", "第一页第二条新闻标题"),
                                     ("/a/p2-0.html", "第二页第一条新闻标题")],
        "/xwfb/ldrhd/index_2.html": [("/a/p3-0.html", "第三页第一条新闻标题")],
    }
    for path, rows in pages.items():
        httpserver.expect_request(path).respond_with_data(_list(rows), content_type=HTML)
        for href, title in rows:
            httpserver.expect_request(href).respond_with_data(_article(title), content_type=HTML)
    httpserver.expect_request("/xwfb/ldrhd/index_3.html").respond_with_data("<h1>404</h1>", status=404)
    config = write_sources([source(httpserver, "/xwfb/ldrhd/index.html", id="mofcom-news", kind="html",
                                   selectors=SELECTORS, pagination={"pages": 5})])

    [summary] = run_harvest(list(config.sources))

    assert summary.outcome == Outcome.OK, summary
    assert (summary.items_seen, summary.items_new) == (4, 4)  # p1-1 appears on two pages, stored once
    assert repository.counts()["articles"] == 4
    list_requests = [r.path for r, _ in httpserver.log if "/xwfb/" in r.path]
    assert list_requests == ["/xwfb/ldrhd/index.html", "/xwfb/ldrhd/index_1.html", "/xwfb/ldrhd/index_2.html",
                             "/xwfb/ldrhd/index_3.html"]  # in order, and nothing after the missing page
    base = httpserver.url_for("").rstrip("/")
    [warning] = summary.warnings
    assert warning.startswith(f"fetch.http_status for list page 4 {base}/xwfb/ldrhd/index_3.html: HTTP 404")
    assert warning.endswith("pagination ended after page 3")


def test_a_later_page_that_repeats_the_first_one_ends_pagination(httpserver: HTTPServer, write_sources,
                                                                 run_harvest, repository):
    first = _list([("/a/only.html", "唯一一页上的新闻标题")])
    httpserver.expect_request("/soft/index.html").respond_with_data(first, content_type=HTML)
    httpserver.expect_request("/soft/index_1.html").respond_with_data(first, content_type=HTML)  # a soft 404
    httpserver.expect_request("/a/only.html").respond_with_data(_article("唯一一页上的新闻标题"), content_type=HTML)
    config = write_sources([source(httpserver, "/soft/index.html", id="soft", kind="html", selectors=SELECTORS,
                                   pagination={"pages": 10})])

    [summary] = run_harvest(list(config.sources))

    assert (summary.outcome, summary.items_new) == (Outcome.OK, 1)
    assert [r.path for r, _ in httpserver.log if r.path.startswith("/soft/")] == ["/soft/index.html",
                                                                                  "/soft/index_1.html"]
    assert summary.warnings == (
        f"list page 2 {httpserver.url_for('/soft/index_1.html')} repeats earlier items only; pagination ended there",
    )


def test_pagination_with_a_template_and_start_and_no_later_pages_after_304(
    httpserver: HTTPServer, write_sources, run_harvest, repository
):
    def first(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(_list([("/a/one.html", "列表第一页的唯一新闻")]), content_type=HTML, headers={"ETag": '"v1"'})

    httpserver.expect_request("/news/list.php").respond_with_handler(first)
    httpserver.expect_request("/news/list_2.php").respond_with_data(_list([("/a/two.html", "列表第二页的唯一新闻")]),
                                                                    content_type=HTML)
    for path, title in (("/a/one.html", "列表第一页的唯一新闻"), ("/a/two.html", "列表第二页的唯一新闻")):
        httpserver.expect_request(path).respond_with_data(_article(title), content_type=HTML)
    config = write_sources([source(httpserver, "/news/list.php", id="paged", kind="html", selectors=SELECTORS,
                                   pagination={"pages": 2, "page_url": "list_{n}.php", "start": 2})])

    [summary] = run_harvest(list(config.sources))
    assert (summary.outcome, summary.items_new, summary.warnings) == (Outcome.OK, 2, ())

    httpserver.clear_log()
    [again] = run_harvest(list(config.sources))
    assert again.outcome == Outcome.NOT_MODIFIED
    assert [r.path for r, _ in httpserver.log if r.path != "/robots.txt"] == ["/news/list.php"]


# --------------------------------------------------------------------------- two-step JSON (datasource)

XINHUA_FIELDS = {"items": "datasource", "title": "showTitle|title", "url": "publishUrl", "date": "publishTime",
                 "summary": "summary", "id": "contentId"}
XINHUA_DATASOURCE = {"from_page": "ul.wz-list", "attribute": "data", "pattern": r"datasource:(\w+)",
                     "url": "ds_{id}.json"}


def test_datasource_url_from_an_attribute_text_or_the_whole_page():
    shell = _page("<ul class='nav' data='datasource:nav0'></ul><ul class='wz-list' data='datasource:ab12cd34ef'></ul>")
    assert datasource_url(shell, "https://www.news.cn/xhsxw.htm", **XINHUA_DATASOURCE) == \
        "https://www.news.cn/ds_ab12cd34ef.json"
    nea = _page("<script>var cfg = {list: 'ds_0f9e8d7c', page: 1};</script>")
    assert datasource_url(nea, "https://www.nea.gov.cn/policy/", pattern=r"ds_([0-9a-f]+)",
                          url="ds_{id}.json") == "https://www.nea.gov.cn/policy/ds_0f9e8d7c.json"
    text = _page("<span id='ds'>  7766  </span>")
    assert datasource_url(text, "https://x.org/a/b.html", from_page="#ds", url="/api/{id}/list.json") == \
        "https://x.org/api/7766/list.json"
    named = _page("<div data-src='node=12&amp;kind=news'></div>")
    assert datasource_url(named, "https://x.org/", from_page="div[data-src]", attribute="data-src",
                          pattern=r"node=(?P<id>\d+)&kind=(?P<kind>\w+)", url="{kind}/ds_{id}.json") == \
        "https://x.org/news/ds_12.json"


@pytest.mark.parametrize(
    "kwargs",
    [XINHUA_DATASOURCE, {**XINHUA_DATASOURCE, "from_page": "ul[["}, {"pattern": r"ds_(\w+)", "url": "ds_{id}.json"}],
    ids=["selector matches nothing", "invalid selector", "pattern matches nothing"],
)
def test_no_datasource_id_is_parse_no_datasource(kwargs):
    with pytest.raises(ParseError) as caught:
        datasource_url(_page("<ul class='list'><li>改版后的页面</li></ul>"), "https://www.news.cn/xhsxw.htm", **kwargs)
    assert caught.value.code == "parse.no_datasource"


def _xinhua_json(n: int) -> str:
    return json.dumps({"datasource": [
        {"showTitle": f"新华社数字经济报道{k}", "publishUrl": f"/tech/2024061{k}/abc{k}/c.html", "summary": f"摘要{k}",
         "contentId": f"id{k}", "publishTime": f"2024-06-1{k} 10:3{k}:00"} for k in range(n)
    ]}, ensure_ascii=False)


def test_two_step_json_source_harvests_and_its_json_is_fetched_conditionally(
    httpserver: HTTPServer, write_sources, run_harvest, repository
):
    httpserver.expect_request("/xhsxw.htm").respond_with_data(
        _page("<div class='head'></div><ul class='wz-list' data='datasource:5d3e2a'></ul>"), content_type=HTML)
    json_requests: list[tuple[str | None, str | None]] = []

    def ds(request: Request) -> Response:
        json_requests.append((request.headers.get("Referer"), request.headers.get("If-None-Match")))
        if request.headers.get("If-None-Match") == '"j1"':
            return Response(status=304)
        return Response(_xinhua_json(3), content_type="application/json", headers={"ETag": '"j1"'})

    httpserver.expect_request("/ds_5d3e2a.json").respond_with_handler(ds)
    config = write_sources([source(httpserver, "/xhsxw.htm", id="xinhua-xhsxw", kind="json", name="新华网",
                                   fields=XINHUA_FIELDS, datasource=XINHUA_DATASOURCE)])

    [summary] = run_harvest(list(config.sources))

    assert (summary.outcome, summary.items_new) == (Outcome.OK, 3), summary
    base = httpserver.url_for("").rstrip("/")
    stored = {a.title: a for a in repository.list_articles()}
    assert stored["新华社数字经济报道1"].url == f"{base}/tech/20240611/abc1/c.html"
    assert stored["新华社数字经济报道1"].published_at.isoformat() == "2024-06-11T02:31:00+00:00"

    [again] = run_harvest(list(config.sources))
    assert again.outcome == Outcome.NOT_MODIFIED
    assert json_requests == [(f"{base}/xhsxw.htm", None), (f"{base}/xhsxw.htm", '"j1"')]
    assert [r.path for r, _ in httpserver.log].count("/xhsxw.htm") == 2  # the page itself is read every run


def test_a_page_that_no_longer_names_its_datasource_fails_the_source(httpserver: HTTPServer, write_sources,
                                                                    run_harvest, repository):
    httpserver.expect_request("/xhsxw.htm").respond_with_data(_page("<ul class='list'></ul>"), content_type=HTML)
    config = write_sources([source(httpserver, "/xhsxw.htm", id="xinhua-xhsxw", kind="json",
                                   fields=XINHUA_FIELDS, datasource=XINHUA_DATASOURCE)])
    [summary] = run_harvest(list(config.sources))
    assert (summary.outcome, summary.code) == (Outcome.ERROR, "parse.no_datasource")
    assert "ul.wz-list" in summary.message and "datasource:(\\w+)" in summary.message


# --------------------------------------------------------------------------- configuration


def _config_error(tmp_path: Path, entry: str) -> str:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n" + entry, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    return str(caught.value)


def test_new_fields_load_with_defaults(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n"
        "  - {id: m, name: 商务部网站, kind: html, url: 'https://www.mofcom.gov.cn/xwfb/ldrhd/index.html',\n"
        "     pagination: {pages: 3}}\n"
        "  - id: x\n    name: 新华网\n    kind: json\n    url: https://www.news.cn/xhsxw.htm\n"
        "    fields: {items: datasource, title: title, url: publishUrl}\n"
        "    datasource: {from_page: ul.wz-list, attribute: data, pattern: 'datasource:(\\w+)', url: 'ds_{id}.json'}\n",
        encoding="utf-8",
    )
    mofcom, xinhua = load_sources(path).sources
    assert (mofcom.pagination.pages, mofcom.pagination.page_url, mofcom.pagination.start) == (3, "index_{n}.html", 1)
    assert xinhua.datasource.pattern == r"datasource:(\w+)" and xinhua.datasource.url == "ds_{id}.json"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("  - {id: a, name: A, kind: json, url: 'https://x.org/', fields: {title: t, url: u},"
         " pagination: {pages: 2}}\n", "field pagination = "),
        ("  - {id: a, name: A, kind: html, url: 'https://x.org/', pagination: {pages: 2, page_url: 'index.html'}}\n",
         "must contain {n}"),
        ("  - {id: a, name: A, kind: html, url: 'https://x.org/', pagination: {pages: 0}}\n",
         "field pagination.pages = 0"),
        ("  - {id: a, name: A, kind: html, url: 'https://x.org/', pagination: {pagse: 2}}\n",
         "field pagination.pagse: unknown field (did you mean 'pages'?)"),
        ("  - {id: a, name: A, kind: html, url: 'https://x.org/',"
         " datasource: {pattern: 'x(\\w+)', url: 'ds_{id}.json'}}\n", "datasource applies to kind: json"),
        ("  - {id: a, name: A, kind: json, url: 'https://x.org/', fields: {title: t, url: u},"
         " datasource: {from_page: ul, url: 'ds.json'}}\n", "must contain {id}"),
        ("  - {id: a, name: A, kind: json, url: 'https://x.org/', fields: {title: t, url: u},"
         " datasource: {pattern: 'ds_(\\w+', url: 'ds_{id}.json'}}\n", "not a regular expression"),
        ("  - {id: a, name: A, kind: json, url: 'https://x.org/', fields: {title: t, url: u},"
         " datasource: {url: 'ds_{id}.json'}}\n", "give from_page"),
        ("  - {id: a, name: A, kind: json, url: 'https://x.org/', fields: {title: t, url: u},"
         " datasource: {form_page: ul, url: 'ds_{id}.json'}}\n",
         "field datasource.form_page: unknown field (did you mean 'from_page'?)"),
    ],
    ids=["pagination on a json source", "page_url without {n}", "zero pages", "misspelt pages",
         "datasource on an html source", "url without {id}", "broken regex", "neither selector nor pattern",
         "misspelt from_page"],
)
def test_invalid_new_fields_name_the_field_and_give_a_hint(tmp_path, entry, expected):
    message = _config_error(tmp_path, entry)
    assert expected in message, message
    assert "hint:" in message
