"""``news-harvester extract`` and ``news-harvester sources test``, run as the real command.

``extract`` reads a saved page (decoded like a fetched one) or a URL on a local server, as a source
would read it with ``--source``; ``sources test`` shows what a harvest would take and stores
nothing, which is proved by the database's row counts before and after.
"""

from __future__ import annotations

import json
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import feeds
from procs import db_rows, run_cli
from yaml_writer import dump

HTML = "text/html; charset=utf-8"
TABLES = ("articles", "candidates", "fetch_runs", "source_state")


def _page(body: str, head: str = "", charset: str = "utf-8") -> str:
    return f"<!DOCTYPE html><html><head><meta charset='{charset}'>{head}</head><body>{body}</body></html>"


GOV_HEAD = ("<meta name='ArticleTitle' content='商务部关于促进数字贸易发展的通知'>"
            "<meta name='PubDate' content='2024-06-11 10:00'>"
            "<meta name='ContentSource' content='来源：商务部新闻办公室'><meta name='author' content='王明'>")
GOV_BODY = ("<div class='art-con'><p>商务部等九部门联合印发关于促进数字贸易发展的通知，"
            "提出到2029年数字贸易规模显著扩大。</p>"
            "<p>通知明确了跨境数据流动、数字基础设施和服务外包等方面的重点任务与保障措施。</p></div>"
            "<div class='note'><p>编辑提示：本文数据截至五月底，后续更新见专题页面。</p></div>")


def _write_sources(tmp_path: Path, *entries: dict) -> None:
    dump({"sources": list(entries)}, tmp_path / "sources.yaml")


def _counts(db: Path) -> dict[str, int]:
    return {t: db_rows(db, f"SELECT COUNT(*) FROM {t}")[0][0] for t in TABLES}


# --------------------------------------------------------------------------- extract


def test_extract_a_saved_gb18030_page_as_json(tmp_path):
    page = tmp_path / "notice.html"
    page.write_bytes(_page(GOV_BODY, GOV_HEAD, charset="gbk").encode("gb18030"))

    result = run_cli(tmp_path, "extract", str(page), "--json")

    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["title"] == "商务部关于促进数字贸易发展的通知"
    assert record["published_at"] == "2024-06-11T10:00:00+08:00"  # Beijing time by default
    assert record["date_source"] == "meta"
    assert (record["author"], record["attribution"]) == ("王明", "商务部新闻办公室")
    assert "九部门联合印发" in record["body"] and "重点任务与保障措施" in record["body"]
    assert record["attachments"] == []
    assert record["url"] == page.resolve().as_uri()
    assert record["charset"] == "gb18030"
    assert not (tmp_path / "data" / "news_harvester.db").exists()  # nothing opened, nothing stored


def test_extract_lists_the_attachments_the_extractor_reports(tmp_path):
    """The extractor decides what an attachment is; the command prints each as {url, text, kind}."""
    from zoneinfo import ZoneInfo

    from news_harvester.parse.article import extract_page

    html = _page(GOV_BODY.replace("</div><div class='note'>", "<p>附件：<a href='/files/2024/notice.pdf'>"
                                  "关于促进数字贸易发展的通知（全文）.pdf</a></p></div><div class='note'>"), GOV_HEAD)
    page = tmp_path / "attachments.html"
    page.write_text(html, encoding="utf-8")
    url = page.resolve().as_uri()
    found = extract_page(html, url, ZoneInfo("Asia/Shanghai")).attachments
    expected = [{"url": a.url, "text": a.text, "kind": a.kind} for a in found]
    assert len(expected) == 1 and expected[0]["kind"] == "pdf" and expected[0]["url"].endswith("/files/2024/notice.pdf")
    assert "关于促进数字贸易发展的通知" in expected[0]["text"]

    result = run_cli(tmp_path, "extract", str(page), "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["attachments"] == expected
    text = run_cli(tmp_path, "extract", str(page))
    assert f"attachment   {expected[0]['url']}" in text.stdout


def test_extract_with_source_uses_its_zone_encoding_and_body_selector(tmp_path):
    page = tmp_path / "brussels.html"
    page.write_bytes(_page(GOV_BODY, GOV_HEAD, charset="utf-8").encode("gb18030"))  # the page lies about its charset
    _write_sources(tmp_path, {"id": "edps", "name": "EDPS", "kind": "html", "url": "https://edps.europa.eu/press",
                              "timezone": "Europe/Brussels", "encoding": "gb18030",
                              "selectors": {"body": [".missing", ".note"]}})

    result = run_cli(tmp_path, "extract", str(page), "--source", "edps", "--json")

    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["published_at"] == "2024-06-11T10:00:00+02:00"  # 10:00 in Brussels (CEST)
    assert record["charset"] == "gb18030" and record["title"] == "商务部关于促进数字贸易发展的通知"
    assert record["body"] == "编辑提示：本文数据截至五月底，后续更新见专题页面。"  # selectors.body, first match


def test_extract_a_url_follows_a_redirect_page_once_with_the_source_headers(tmp_path, httpserver: HTTPServer):
    requests: list[tuple[str, str | None, str | None]] = []

    def record(request: Request) -> Response:
        requests.append((request.path, request.headers.get("X-Brief"), request.headers.get("Referer")))
        if request.path == "/fbh/1.shtml":
            return Response(_page("<script>var _cofing1={href:\"/fbh/live/1.html\",type:2};</script>"),
                            content_type=HTML)
        return Response(_page(GOV_BODY, GOV_HEAD), content_type=HTML)

    httpserver.expect_request("/fbh/1.shtml").respond_with_handler(record)
    httpserver.expect_request("/fbh/live/1.html").respond_with_handler(record)
    hexed = "数字贸易".encode().hex()
    _write_sources(tmp_path, {"id": "mofcom", "name": "商务部网站", "kind": "html",
                              "url": httpserver.url_for("/index.html"), "headers": {"X-Brief": hexed}})
    url = httpserver.url_for("/fbh/1.shtml")

    as_json = run_cli(tmp_path, "extract", url, "--source", "mofcom", "--json")
    text = run_cli(tmp_path, "extract", url)

    assert as_json.returncode == 0, as_json.stderr
    record_ = json.loads(as_json.stdout)
    assert (record_["url"], record_["final_url"]) == (url, httpserver.url_for("/fbh/live/1.html"))
    assert "九部门联合印发" in record_["body"]
    assert requests[:2] == [("/fbh/1.shtml", hexed, None), ("/fbh/live/1.html", hexed, url)]
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "title        商务部关于促进数字贸易发展的通知"
    assert "published_at 2024-06-11T10:00:00+08:00 (meta)" in lines
    assert f"read from    {httpserver.url_for('/fbh/live/1.html')}" in lines
    assert "九部门联合印发" in text.stdout


def test_extract_reports_a_challenge_and_a_missing_file_as_one_line(tmp_path, httpserver: HTTPServer):
    httpserver.expect_request("/waf.html").respond_with_data(
        _page("<noscript>请开启JavaScript</noscript><script>location.reload()</script>", "<title>安全验证</title>"),
        content_type=HTML)

    challenged = run_cli(tmp_path, "extract", httpserver.url_for("/waf.html"))
    missing = run_cli(tmp_path, "extract", str(tmp_path / "nope.html"))

    assert challenged.returncode == 1 and challenged.stdout == ""
    assert challenged.stderr.startswith("error: challenge page")
    assert challenged.stderr.rstrip().endswith("[fetch.challenge]")
    assert missing.returncode == 1
    expected = f"error: no such file: {tmp_path / 'nope.html'} (give a saved page or an http(s) URL)"
    assert missing.stderr.strip() == expected


# --------------------------------------------------------------------------- sources test


def _list(rows: list[tuple[str, str]]) -> str:
    return _page("<ul class='txtList_01'>" + "".join(
        f"<li><a href='{href}' title='{title}'>{title}</a><span>2024-06-1{k}</span></li>"
        for k, (href, title) in enumerate(rows)) + "</ul>")


def test_sources_test_prints_items_and_the_first_article_and_stores_nothing(tmp_path, httpserver: HTTPServer):
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/feed.xml").respond_with_data(feeds.rss(feeds.items(base, 2)),
                                                             content_type="application/rss+xml")
    httpserver.expect_request("/zcfb/index.html").respond_with_data(
        _list([("/zcfb/a/1.html", "关于促进数字贸易发展的通知"), ("/zcfb/a/2.html", "关于服务外包的公告")]),
        content_type=HTML)
    httpserver.expect_request("/zcfb/index_1.html").respond_with_data(
        _list([("/zcfb/a/2.html", "关于服务外包的公告"), ("/zcfb/a/3.html", "第二页上的政策解读")]), content_type=HTML)
    httpserver.expect_request("/zcfb/a/1.html").respond_with_data(_page(GOV_BODY, GOV_HEAD), content_type=HTML)
    _write_sources(
        tmp_path,
        {"id": "feed", "name": "新华网", "kind": "feed", "url": f"{base}/feed.xml"},
        {"id": "mofcom-policy", "name": "商务部网站", "kind": "html", "url": f"{base}/zcfb/index.html",
         "selectors": {"item": [".txtList_01 li"], "date": ["span"]}, "pagination": {"pages": 2}},
    )
    assert run_cli(tmp_path, "harvest", "--once", "--source", "feed").returncode == 0
    db = tmp_path / "data" / "news_harvester.db"
    before = _counts(db)
    assert before["articles"] == 2 and before["fetch_runs"] == 1

    result = run_cli(tmp_path, "sources", "test", "mofcom-policy", "--json")
    text = run_cli(tmp_path, "sources", "test", "mofcom-policy")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["source"], report["pages"], report["items_seen"]) == ("mofcom-policy", 2, 3)
    assert [(i["title"], i["url"], i["published_at"]) for i in report["items"]] == [
        ("关于促进数字贸易发展的通知", f"{base}/zcfb/a/1.html", "2024-06-10T00:00:00+08:00"),
        ("关于服务外包的公告", f"{base}/zcfb/a/2.html", "2024-06-11T00:00:00+08:00"),
        ("第二页上的政策解读", f"{base}/zcfb/a/3.html", "2024-06-11T00:00:00+08:00"),
    ]
    article = report["article"]
    assert (article["title"], article["url"]) == ("关于促进数字贸易发展的通知", f"{base}/zcfb/a/1.html")
    assert (article["published_at"], article["date_source"]) == ("2024-06-11T10:00:00+08:00", "meta")
    assert article["attribution"] == "商务部新闻办公室" and "九部门联合印发" in article["body"]
    assert article["attachments"] == [] and report["warnings"] == []
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith(f"mofcom-policy: 3 items from {base}/zcfb/index.html, 2 pages\n")
    assert "第二页上的政策解读" in text.stdout and "first article:" in text.stdout

    assert _counts(db) == before  # no article, candidate, run or source state was written
    assert db_rows(db, "SELECT COUNT(*) FROM fetch_runs WHERE source_id = 'mofcom-policy'") == [(0,)]


def test_sources_test_of_a_failing_source_exits_1_with_its_code_and_stores_nothing(tmp_path, httpserver: HTTPServer):
    httpserver.expect_request("/gone/index.html").respond_with_data("<h1>404</h1>", status=404)
    _write_sources(tmp_path, {"id": "gone", "name": "商务部网站", "kind": "html",
                              "url": httpserver.url_for("/gone/index.html")})
    assert run_cli(tmp_path, "db", "upgrade").returncode == 0
    db = tmp_path / "data" / "news_harvester.db"

    failed = run_cli(tmp_path, "sources", "test", "gone")
    unknown = run_cli(tmp_path, "sources", "test", "nope")

    assert failed.returncode == 1 and "[fetch.http_status]" in failed.stderr and "HTTP 404" in failed.stderr
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: unknown source id 'nope' (see `news-harvester sources list`)"
    assert _counts(db) == dict.fromkeys(TABLES, 0)
