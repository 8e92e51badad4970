"""A pass where nothing changed costs nearly nothing (issue 20), also on servers that send no ETag or
Last-Modified: a listing whose bytes are those of the last listing whose items were all handled is not parsed
again (the run is recorded not_modified). The bytes are compared together with the source's settings, and a
listing with an item still to retry is read again, over a real local server and a real SQLite file."""

from __future__ import annotations

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import feeds
from conftest import source
from news_harvester.models import Outcome

HTML = "text/html; charset=utf-8"


def _counting(body: str, content_type: str, hits: dict[str, int], key: str):
    def handler(_request: Request) -> Response:
        hits[key] = hits.get(key, 0) + 1
        return Response(body, content_type=content_type)  # no ETag, no Last-Modified

    return handler


def test_the_same_bytes_again_are_not_parsed_and_nothing_is_stored_twice(
    httpserver: HTTPServer, write_sources, run_harvest, repository
):
    base = httpserver.url_for("").rstrip("/")
    hits: dict[str, int] = {}
    httpserver.expect_request("/feed.xml").respond_with_handler(
        _counting(feeds.rss(feeds.items(base, 3)), "application/rss+xml", hits, "feed")
    )
    config = write_sources([source(httpserver, "/feed.xml", id="plain")])

    [first] = run_harvest(list(config.sources))
    [second] = run_harvest(list(config.sources))

    assert (first.outcome, first.items_seen, first.items_new) == (Outcome.OK, 3, 3)
    assert (second.outcome, second.items_seen, second.items_new) == (Outcome.NOT_MODIFIED, 0, 0)
    assert hits["feed"] == 2  # fetched both times: only the parsing and storing were spared
    assert repository.counts()["articles"] == 3
    state = repository.source_state("plain")
    assert state.last_success_at is not None and state.consecutive_failures == 0
    assert state.listing_digest is not None and len(state.listing_digest) == 64


def test_changed_bytes_or_changed_settings_are_read_again(
    httpserver: HTTPServer, write_sources, run_harvest, repository
):
    base = httpserver.url_for("").rstrip("/")
    feed = {"xml": feeds.rss(feeds.items(base, 3))}
    httpserver.expect_request("/feed.xml").respond_with_handler(
        lambda _r: Response(feed["xml"], content_type="application/rss+xml")
    )
    config = write_sources([source(httpserver, "/feed.xml", id="plain")])
    run_harvest(list(config.sources))

    feed["xml"] = feeds.rss(feeds.items(base, 4))  # one item more
    [grown] = run_harvest(list(config.sources))
    assert (grown.outcome, grown.items_seen, grown.items_new) == (Outcome.OK, 4, 1)

    # the same bytes, but an admin changed the source (here: at most 2 items): the page is read with the new rules
    edited = write_sources([source(httpserver, "/feed.xml", id="plain", max_items=2)])
    [reread] = run_harvest(list(edited.sources))
    assert (reread.outcome, reread.items_seen) == (Outcome.OK, 4)
    [same] = run_harvest(list(edited.sources))
    assert same.outcome == Outcome.NOT_MODIFIED
    assert repository.counts()["articles"] == 4


def test_a_listing_with_an_item_to_retry_is_read_again_until_the_item_lands(
    httpserver: HTTPServer, write_sources, run_harvest, repository
):
    def article(title: str) -> str:
        return (
            f"<html><head><meta charset='utf-8'><meta name='ArticleTitle' content='{title}'>"
            "<meta name='PubDate' content='2024-06-11 10:00'></head><body><div class='art-con'>"
            f"<h1>{title}</h1><p>{title}。商务部有关负责人表示，将持续推进数字贸易改革创新发展，完善跨境数据流动、"
            "服务外包和跨境电商相关政策措施。</p></div></body></html>"
        )

    rows = [("/a/1.html", "商务部数字贸易政策解读第一篇"), ("/a/2.html", "商务部数字贸易政策解读第二篇")]
    listing = "<html><head><meta charset='utf-8'></head><body><ul class='list'>" + "".join(
        f"<li><a href='{href}'>{title}</a><span>2024-06-11</span></li>" for href, title in rows
    ) + "</ul></body></html>"
    hits: dict[str, int] = {}
    httpserver.expect_request("/list.html").respond_with_handler(_counting(listing, HTML, hits, "list"))
    httpserver.expect_request("/a/1.html").respond_with_data(article(rows[0][1]), content_type=HTML)
    httpserver.expect_oneshot_request("/a/2.html").respond_with_data("not yet", status=404, content_type=HTML)
    httpserver.expect_request("/a/2.html").respond_with_data(article(rows[1][1]), content_type=HTML)
    selectors = {"item": [".list li"], "date": ["span"]}
    config = write_sources([source(httpserver, "/list.html", id="list", kind="html", selectors=selectors)])

    [first] = run_harvest(list(config.sources))
    assert (first.outcome, first.items_new) == (Outcome.OK, 1)  # the second article answered 404 (not published yet)
    assert repository.source_state("list").listing_digest is None  # so the same list must be read again
    [second] = run_harvest(list(config.sources))
    assert (second.outcome, second.items_new) == (Outcome.OK, 1)  # the retried item landed
    [third] = run_harvest(list(config.sources))
    assert third.outcome == Outcome.NOT_MODIFIED
    assert hits["list"] == 3
    assert len(repository.list_articles(source_id="list")) == 2
