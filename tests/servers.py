"""A catalogue of misbehaving HTTP routes, each named for how it misbehaves (after Scrapy's mockserver).

Everything listens on 127.0.0.1 only. Two kinds of server:

* werkzeug routes (pytest-httpserver's ``httpserver``), for misbehaviour that is still well-formed HTTP:
  bad statuses, Retry-After, redirect loops, lying charsets, gzip bombs, documents that are not feeds.
  Each installer below registers its route at a path named after the misbehaviour and returns it.
* ``RawServer``: a tiny HTTP/1.1 server on raw asyncio streams running in a thread, for what werkzeug
  cannot do: drip a body one byte per second, promise a Content-Length and hang up early, drop a
  chunked body mid-chunk, reset the connection mid-body, stream a chunked body that never ends,
  accept a request and then say nothing (before or after the headers).
* ``FullBacklog``: a listening socket whose accept queue is full, so a new connection never
  completes (a connect timeout on 127.0.0.1). ``refused_url()`` names a port nobody listens on,
  ``unresolvable_url()`` a host under the reserved ``.invalid`` TLD (RFC 6761), which never resolves.

``CATALOGUE`` maps every route name to one line saying how it misbehaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import socket
import struct
import threading
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import feeds

RSS = "application/rss+xml; charset=utf-8"

CATALOGUE: dict[str, str] = {
    # RawServer
    "/drip": "sends headers, then the body one byte per second (never trips a read timeout)",
    "/truncated": "declares Content-Length, sends half the body, closes the connection cleanly",
    "/dropped-mid-chunk": "chunked body; the connection closes in the middle of a chunk",
    "/reset-mid-body": "declares Content-Length, sends half the body, then resets the connection (RST)",
    "/huge-chunked": "chunked body with no Content-Length that goes on far past any sane size",
    "/hang-up": "reads the request and closes the connection without any response",
    "/silent": "reads the request, then sends nothing at all and keeps the connection open",
    "/stall-after-headers": "sends the status line and headers, then nothing, keeping the connection open",
    "refused": "a port on 127.0.0.1 where nothing listens",
    "unresolvable": "a host name under the reserved .invalid TLD: DNS resolution fails",
    "full-backlog": "a listening socket whose accept queue is full: the TCP handshake never completes",
    # werkzeug
    "/huge-content-length": "honest Content-Length far above the size cap",
    "/gzip-bomb": "a small gzip body (Content-Encoding: gzip) that inflates to hundreds of MB",
    "/etag": "200 with an ETag, then 304 Not Modified to a matching If-None-Match",
    "/rate-limited": "429 Too Many Requests with a Retry-After, optionally followed by a 200",
    "/status-burst": "a run of 5xx answers, then a 200",
    "/flapping": "answers an error status until switched back on, then a feed",
    "/redirect-loop/a": "302 to /redirect-loop/b, which 302s back to /redirect-loop/a",
    "/redirect-chain/0": "302 to /redirect-chain/1, to /2, ... without end and without repeating",
    "/moved-permanently": "301 to /new-home.xml, which serves the feed",
    "/not-found": "404 Not Found",
    "/forbidden": "403 Forbidden with a short HTML error page",
    "/waf-challenge": "200 text/html: a bot-challenge page (acw_sc__v2 cookie script, 安全验证) instead of content",
    "/waf-challenge-403": "403 text/html: Cloudflare's 'Just a moment...' interstitial",
    "/cross-host": "302 to the same server under another host name (localhost), which serves the feed",
    "/vanished/list.html": "an HTML list of 3 articles whose second article page answers 404",
    "/feed-as-html": "a valid RSS feed served as text/html",
    "/invalid-utf8.xml": "RSS declared UTF-8 (header and prolog) with a few invalid byte sequences in it",
    "/mostly-invalid-utf8.xml": "RSS declared UTF-8 whose non-ASCII text is half invalid byte sequences",
    "/malformed.xml": "RSS cut off inside its first item: not well-formed, no item recoverable",
    "/php-warning.xml": "RSS preceded by a PHP warning in HTML (XML declaration not at the start)",
    "/not-a-feed.xml": "200 application/xml: a well-formed XML error document, not RSS/Atom",
    "/redirect-without-location": "302 Found with no Location header",
    "/malformed-recoverable.xml": "RSS with an unescaped '&' and a mismatched closing tag",
    "/garbage": "200 application/rss+xml whose body is a JSON error message",
    "/html-as-feed": "200 application/rss+xml whose body is an HTML portal page",
    "/empty": "200 application/rss+xml with an empty body",
    "/lying-charset.xml": "GB18030 feed bytes, header says charset=utf-8, XML prolog says gbk",
    "/lying-charset/list.html": "GB18030 list page, header says charset=utf-8, <meta charset=gbk>",
    "/robots.txt": "disallows /private/ to every user agent",
    "/robots.txt (301)": "301 to /robots/moved.txt, which disallows /private/ to every user agent",
}


def feed_body(base: str, n: int, *, prefix: str = "a") -> bytes:
    return feeds.rss(feeds.items(base, n, prefix=prefix)).encode("utf-8")


# --------------------------------------------------------------------------- werkzeug routes


def _base(server: HTTPServer) -> str:
    return server.url_for("").rstrip("/")


def well_behaved_feed(server: HTTPServer, path: str = "/good.xml", *, n: int = 3, prefix: str = "good") -> str:
    """Not a fault: the healthy neighbour whose articles must land whatever the others do."""
    server.expect_request(path).respond_with_data(feed_body(_base(server), n, prefix=prefix), content_type=RSS)
    return path


def huge_with_content_length(server: HTTPServer, size: int, path: str = "/huge-content-length") -> str:
    server.expect_request(path).respond_with_data(b" " * size, content_type=RSS)
    return path


@functools.cache
def gzip_bomb_bytes(expanded: int) -> bytes:
    """An RSS prologue followed by ``expanded`` bytes of spaces, gzip-compressed ~1000:1."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>')]
    block = b" " * (1 << 20)
    for _ in range(expanded // len(block)):
        parts.append(compressor.compress(block))
    parts.append(compressor.flush())
    return b"".join(parts)


def gzip_bomb(server: HTTPServer, expanded: int, path: str = "/gzip-bomb") -> str:
    server.expect_request(path).respond_with_data(
        gzip_bomb_bytes(expanded), content_type=RSS, headers={"Content-Encoding": "gzip"}
    )
    return path


def etag(server: HTTPServer, tag: str = '"v1"', *, n: int = 3, path: str = "/etag") -> str:
    """200 with ``ETag: tag``; 304 (no body) when the request carries ``If-None-Match: tag``."""
    body = feed_body(_base(server), n, prefix="etag")

    def respond(request: Request) -> Response:
        if request.headers.get("If-None-Match") == tag:
            return Response(status=304, headers={"ETag": tag})
        return Response(body, content_type=RSS, headers={"ETag": tag})

    server.expect_request(path).respond_with_handler(respond)
    return path


def rate_limited(server: HTTPServer, retry_after: str, *, then_ok: bool = False, path: str = "/rate-limited") -> str:
    """429 with ``Retry-After: retry_after``; with ``then_ok`` only once, then a feed."""
    if then_ok:
        server.expect_oneshot_request(path).respond_with_data(
            "slow down", status=429, headers={"Retry-After": retry_after}
        )
        server.expect_request(path).respond_with_data(feed_body(_base(server), 3, prefix="rl"), content_type=RSS)
    else:
        server.expect_request(path).respond_with_data("slow down", status=429, headers={"Retry-After": retry_after})
    return path


def status_burst(server: HTTPServer, statuses: list[int], path: str = "/status-burst") -> str:
    """Answer each of ``statuses`` once, in order, then serve a feed."""
    for status in statuses:
        server.expect_oneshot_request(path).respond_with_data(f"upstream says {status}", status=status)
    server.expect_request(path).respond_with_data(feed_body(_base(server), 3, prefix="burst"), content_type=RSS)
    return path


class Flapping:
    """A route answering ``status`` while ``down`` is set, a feed otherwise; flip ``down`` between runs."""

    def __init__(self, server: HTTPServer, status: int = 503, path: str = "/flapping") -> None:
        self.down = True
        self.status = status
        self.path = path
        body = feed_body(_base(server), 3, prefix="flap")

        def respond(_request: Request) -> Response:
            if self.down:
                return Response(f"down for maintenance ({self.status})", status=self.status)
            return Response(body, content_type=RSS)

        server.expect_request(path).respond_with_handler(respond)


def redirect_loop(server: HTTPServer, path: str = "/redirect-loop/a") -> str:
    other = "/redirect-loop/b"
    server.expect_request(path).respond_with_data("", status=302, headers={"Location": other})
    server.expect_request(other).respond_with_data("", status=302, headers={"Location": path})
    return path


def endless_redirects(server: HTTPServer, path: str = "/redirect-chain/0") -> str:
    prefix = path.rsplit("/", 1)[0]

    def respond(request: Request) -> Response:
        hop = int(request.path.rsplit("/", 1)[1])
        return Response("", status=302, headers={"Location": f"{prefix}/{hop + 1}"})

    server.expect_request(re.compile(rf"^{re.escape(prefix)}/\d+$")).respond_with_handler(respond)
    return path


def moved_permanently(server: HTTPServer, path: str = "/moved-permanently", new_path: str = "/new-home.xml") -> str:
    server.expect_request(path).respond_with_data("", status=301, headers={"Location": new_path})
    server.expect_request(new_path).respond_with_data(feed_body(_base(server), 3, prefix="moved"), content_type=RSS)
    return path


def redirect_without_location(server: HTTPServer, path: str = "/redirect-without-location") -> str:
    server.expect_request(path).respond_with_data("", status=302)
    return path


def not_found(server: HTTPServer, path: str = "/not-found") -> str:
    server.expect_request(path).respond_with_data("<h1>404</h1>", status=404, content_type="text/html")
    return path


def forbidden(server: HTTPServer, path: str = "/forbidden") -> str:
    page = "<html><head><title>403 Forbidden</title></head><body><h1>403 Forbidden</h1><hr>nginx</body></html>"
    server.expect_request(path).respond_with_data(page, status=403, content_type="text/html")
    return path


CHALLENGE_PAGE = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>安全验证</title></head><body>"
    "<noscript>请开启JavaScript并刷新该页</noscript>"
    "<script>var arg1='3B2A7F';document.cookie='acw_sc__v2='+arg1;location.reload();</script></body></html>"
)
CLOUDFLARE_PAGE = (
    "<!DOCTYPE html><html lang='en-US'><head><title>Just a moment...</title></head><body>"
    "<div id='cf-challenge-running'>Checking if the site connection is secure</div>"
    "<script src='/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray=8a1b2c3d'></script></body></html>"
)


def waf_challenge(server: HTTPServer, *, status: int = 200, path: str | None = None) -> str:
    """A bot challenge where the document was due: an acw_sc__v2 script page (200) or Cloudflare's (403)."""
    path = path or ("/waf-challenge" if status == 200 else f"/waf-challenge-{status}")
    page = CHALLENGE_PAGE if status == 200 else CLOUDFLARE_PAGE
    server.expect_request(path).respond_with_data(page, status=status, content_type="text/html; charset=utf-8")
    return path


def cross_host_redirect(server: HTTPServer, path: str = "/cross-host", new_path: str = "/elsewhere.xml") -> str:
    """302 from 127.0.0.1 to ``localhost`` (the same server under another host name), serving the feed."""
    port = server.port
    target = f"http://localhost:{port}{new_path}"
    server.expect_request(path).respond_with_data("", status=302, headers={"Location": target})
    body = feeds.rss(feeds.items(f"http://localhost:{port}", 3, prefix="elsewhere")).encode("utf-8")
    server.expect_request(new_path).respond_with_data(body, content_type=RSS)
    return path


ARTICLE_TEXT = "商务部等九部门联合印发通知，推动数字贸易高质量发展，优化跨境服务贸易，扩大电信和数字领域开放。"


def vanished_article_listing(
    server: HTTPServer, titles: list[str], missing: int, path: str = "/vanished/list.html"
) -> tuple[str, list[str]]:
    """An HTML list page linking one article per title; article ``missing`` answers 404.

    Returns the list path and the article paths in list order."""
    articles = []
    rows = []
    for k, title in enumerate(titles):
        article = f"/vanished/20240611/{k}.html"
        articles.append(article)
        rows.append(f'<li><a href="{article}">{title}</a> <span>2024-06-11</span></li>')
        if k == missing:
            server.expect_request(article).respond_with_data(
                "<html><body><h1>404 Not Found</h1></body></html>", status=404, content_type="text/html"
            )
            continue
        page = (
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
            f"<meta name='ArticleTitle' content='{title}'><meta name='PubDate' content='2024-06-11 10:00'></head>"
            f"<body><div class='art-con'><h1>{title}</h1>"
            + "".join(f"<p>第{p}段：{ARTICLE_TEXT}</p>" for p in range(5))
            + "</div></body></html>"
        )
        server.expect_request(article).respond_with_data(page.encode("utf-8"), content_type="text/html; charset=utf-8")
    listing = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>政策发布</title></head>"
        f"<body><ul class='list'>{''.join(rows)}</ul></body></html>"
    )
    server.expect_request(path).respond_with_data(listing.encode("utf-8"), content_type="text/html; charset=utf-8")
    return path, articles


def feed_as_html(server: HTTPServer, path: str = "/feed-as-html") -> str:
    server.expect_request(path).respond_with_data(
        feed_body(_base(server), 3, prefix="as-html"), content_type="text/html; charset=utf-8"
    )
    return path


def invalid_utf8_feed(server: HTTPServer, *, mostly: bool = False, path: str | None = None) -> str:
    """RSS declared UTF-8 in the header and the prolog, with invalid byte sequences in the descriptions.

    A few (``mostly=False``): a Latin-1 'é' and a 3-byte character cut after its first 2 bytes, the way
    a CMS truncating summaries by bytes leaves them. ``mostly=True``: every other Chinese character of
    the descriptions and titles has its second byte overwritten, so half the non-ASCII text is invalid.
    """
    path = path or ("/mostly-invalid-utf8.xml" if mostly else "/invalid-utf8.xml")
    entries = feeds.items(_base(server), 3, prefix="mostly-bad" if mostly else "bad-utf8")
    for entry in entries:
        entry["description"] = "<p>caf\u00e9 " + entry["description"][3:]
    body = feeds.rss(entries).encode("utf-8")
    if mostly:
        corrupt = bytearray(body)
        starts = [i for i, b in enumerate(corrupt) if b >= 0xE0]
        for i in starts[::2]:
            corrupt[i + 1] = ord("?")
        body = bytes(corrupt)
    else:
        cut = "推动".encode()
        body = body.replace("caf\u00e9".encode(), b"caf\xe9").replace(cut, cut[:-1], 1)
    server.expect_request(path).respond_with_data(body, content_type=RSS)
    return path


def malformed_xml(server: HTTPServer, path: str = "/malformed.xml") -> str:
    """A feed cut off inside its first item's title: not well-formed, and no item is recoverable."""
    text = feeds.rss(feeds.items(_base(server), 3, prefix="cut"))
    cut = text.index("<title>", text.index("<item>")) + len("<title>") + 6
    server.expect_request(path).respond_with_data(text[:cut].encode("utf-8"), content_type=RSS)
    return path


def php_warning_feed(server: HTTPServer, path: str = "/php-warning.xml") -> str:
    """A feed script that printed a PHP warning before the feed, as CMS feeds on old PHP do."""
    warning = (
        "<br />\n<b>Warning</b>:  date(): It is not safe to rely on the system's timezone settings in "
        "<b>/var/www/html/rss.php</b> on line <b>12</b><br />\n"
    )
    body = warning + feeds.rss(feeds.items(_base(server), 3, prefix="php"))
    server.expect_request(path).respond_with_data(body.encode("utf-8"), content_type=RSS)
    return path


def xml_not_a_feed(server: HTTPServer, path: str = "/not-a-feed.xml") -> str:
    body = '<?xml version="1.0" encoding="utf-8"?><error><code>503</code><message>服务暂不可用</message></error>'
    server.expect_request(path).respond_with_data(body.encode("utf-8"), content_type="application/xml")
    return path


def malformed_recoverable(server: HTTPServer, path: str = "/malformed-recoverable.xml") -> str:
    """Three items; an unescaped '&' in the channel title, and item 0's title closed by ``</titel>``."""
    entries = feeds.items(_base(server), 3, prefix="bozo")
    text = feeds.rss(entries, title="商务 & 贸易").replace("&amp;", "&", 1)
    first = entries[0]["title"]
    text = text.replace(f"{first}</title>", f"{first}</titel>", 1)
    server.expect_request(path).respond_with_data(text.encode("utf-8"), content_type=RSS)
    return path


def garbage(server: HTTPServer, path: str = "/garbage") -> str:
    server.expect_request(path).respond_with_data(
        '{"error": "upstream timeout", "code": 504}', content_type=RSS
    )
    return path


def html_as_feed(server: HTTPServer, path: str = "/html-as-feed") -> str:
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>中华人民共和国商务部</title></head>"
        "<body><nav><a href='/zcfb/'>政策发布</a></nav><p>欢迎访问</p></body></html>"
    )
    server.expect_request(path).respond_with_data(page.encode("utf-8"), content_type=RSS)
    return path


def empty_ok(server: HTTPServer, path: str = "/empty") -> str:
    server.expect_request(path).respond_with_data(b"", content_type=RSS)
    return path


def lying_charset_feed(server: HTTPServer, title: str, path: str = "/lying-charset.xml") -> str:
    """GB18030 bytes; the header claims UTF-8, the XML prolog claims GBK."""
    item = feeds.items(_base(server), 1, prefix="gb")[0] | {"title": title}
    body = feeds.rss([item], title="数字贸易", encoding="gbk").encode("gb18030")
    server.expect_request(path).respond_with_data(body, content_type="application/rss+xml; charset=utf-8")
    return path


def lying_charset_listing(server: HTTPServer, titles: list[str], path: str = "/lying-charset/list.html") -> str:
    """A GB18030 list page and its article pages; the header claims UTF-8, ``<meta>`` claims GBK."""
    head = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk"><title>{}</title></head>'
    lying = "text/html; charset=utf-8"
    paragraph = "<p>第{}段：商务部等部门联合印发通知，推动数字贸易高质量发展，优化跨境服务贸易。</p>"
    rows = []
    for k, title in enumerate(titles):
        article = f"/lying-charset/20240611/{k}.html"
        rows.append(f'<li><a href="{article}">{title}</a> <span>2024-06-11</span></li>')
        page = (
            head.format(title) + f"<body><article><h1>{title}</h1>"
            + "".join(paragraph.format(p) for p in range(6))
            + "</article></body></html>"
        )
        server.expect_request(article).respond_with_data(page.encode("gb18030"), content_type=lying)
    listing = head.format("政策发布") + f"<body><ul class='list'>{''.join(rows)}</ul></body></html>"
    server.expect_request(path).respond_with_data(listing.encode("gb18030"), content_type=lying)
    return path


def robots_disallow(server: HTTPServer, prefix: str = "/private/", *, redirected: bool = False) -> str:
    """robots.txt disallowing ``prefix``; with ``redirected`` it is served after a 301 from /robots.txt."""
    path = "/robots/moved.txt" if redirected else "/robots.txt"
    if redirected:
        server.expect_request("/robots.txt").respond_with_data("", status=301, headers={"Location": path})
    server.expect_request(path).respond_with_data(f"User-agent: *\nDisallow: {prefix}\n", content_type="text/plain")
    return "/robots.txt"


def requests_to(server: HTTPServer, path: str) -> int:
    return sum(1 for request, _ in server.log if request.path == path)


# --------------------------------------------------------------------------- raw asyncio server

Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def refused_url(path: str = "/feed.xml") -> str:
    """A URL on 127.0.0.1 whose port was just bound and released, so connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def unresolvable_url(path: str = "/feed.xml") -> str:
    """A URL whose host is under ``.invalid``, reserved never to resolve (RFC 6761 §6.4)."""
    return f"http://nonexistent.invalid{path}"


class FullBacklog:
    """A socket on 127.0.0.1 listening with a backlog of 0 whose accept queue is then filled, and
    never accepted from: Linux drops further SYNs, so a new connection hangs in the handshake until
    the client's connect timeout. No packet leaves the loopback interface.

    ``saturated`` says whether a probe connection really hung (it does on Linux).
    """

    def __init__(self, fillers: int = 8) -> None:
        self._fillers = fillers
        self._sockets: list[socket.socket] = []
        self.port = 0
        self.saturated = False

    def __enter__(self) -> FullBacklog:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        self._sockets.append(listener)
        self.port = listener.getsockname()[1]
        for _ in range(self._fillers):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", self.port))
            self._sockets.append(filler)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.3)
            try:
                probe.connect(("127.0.0.1", self.port))
            except TimeoutError:
                self.saturated = True
            except OSError:
                self.saturated = False
        return self

    def __exit__(self, *_exc: object) -> None:
        for sock in self._sockets:
            sock.close()

    def url_for(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


class RawServer:
    """HTTP/1.1 on raw asyncio streams, one request per connection, on 127.0.0.1 and an ephemeral port.

    Serves the raw routes of ``CATALOGUE`` plus a quick 404 for everything else (``/robots.txt``
    included, so the fetcher's robots check never waits on a misbehaving route).
    """

    def __init__(self, *, drip_interval: float = 1.0, feed_items: int = 3, huge_limit: int = 64 << 20) -> None:
        self.drip_interval = drip_interval
        self.feed_items = feed_items
        self.huge_limit = huge_limit
        self.hits: Counter[str] = Counter()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="raw-http-server", daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.routes: dict[str, Behaviour] = {
            "/drip": self._drip,
            "/truncated": self._truncated,
            "/dropped-mid-chunk": self._dropped_mid_chunk,
            "/reset-mid-body": self._reset_mid_body,
            "/huge-chunked": self._huge_chunked,
            "/hang-up": self._hang_up,
            "/silent": self._silent,
            "/stall-after-headers": self._stall_after_headers,
        }

    def __enter__(self) -> RawServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop
        ).result(5)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def url_for(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def feed(self) -> bytes:
        return feed_body(self.url_for("").rstrip("/"), self.feed_items, prefix="raw")

    # ------------------------------------------------------------------ plumbing

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            path = head.split(b" ", 2)[1].decode("latin-1").split("?", 1)[0]
            self.hits[path] += 1
            await self.routes.get(path, self._not_found)(reader, writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError, IndexError):
            pass
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    @staticmethod
    def _head(status: str, headers: dict[str, str]) -> bytes:
        lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items()), "Connection: close", "", ""]
        return "\r\n".join(lines).encode("latin-1")

    @staticmethod
    def _gone(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        return writer.is_closing() or reader.at_eof()

    # ------------------------------------------------------------------ behaviours

    async def _not_found(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(self._head("404 Not Found", {"Content-Length": "0"}))
        await writer.drain()

    async def _drip(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = self.feed
        writer.write(self._head("200 OK", {"Content-Type": RSS, "Content-Length": str(len(body))}))
        await writer.drain()
        for k in range(len(body)):
            if self._gone(reader, writer):
                return
            writer.write(body[k:k + 1])
            await writer.drain()
            await asyncio.sleep(self.drip_interval)

    async def _hang_up(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read the request, answer nothing, close: what a stale keep-alive connection looks like."""

    async def _silent(self, reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
        """Say nothing and keep the connection open until the client gives up (or 60 s pass)."""
        await asyncio.wait_for(reader.read(), 60)

    async def _stall_after_headers(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Promise a feed in the headers, then send none of it until the client gives up (or 60 s pass)."""
        body = self.feed
        writer.write(self._head("200 OK", {"Content-Type": RSS, "Content-Length": str(len(body))}))
        await writer.drain()
        await asyncio.wait_for(reader.read(), 60)

    async def _truncated(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = self.feed
        writer.write(self._head("200 OK", {"Content-Type": RSS, "Content-Length": str(len(body))}))
        writer.write(body[: len(body) // 2])
        await writer.drain()  # then close cleanly (FIN) in _handle, long before Content-Length is met

    async def _dropped_mid_chunk(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = self.feed
        half = body[: len(body) // 2]
        writer.write(self._head("200 OK", {"Content-Type": RSS, "Transfer-Encoding": "chunked"}))
        writer.write(b"%x\r\n%s\r\n" % (len(half), half))
        writer.write(b"%x\r\n%s" % (len(body) - len(half), body[len(half): len(half) + 16]))
        await writer.drain()

    async def _reset_mid_body(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = self.feed
        writer.write(self._head("200 OK", {"Content-Type": RSS, "Content-Length": str(len(body))}))
        writer.write(body[: len(body) // 2])
        await writer.drain()
        await asyncio.sleep(0.2)  # let the client read the head and half the body first
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # close with linger 0: the kernel sends RST, not FIN

    async def _huge_chunked(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(self._head("200 OK", {"Content-Type": RSS, "Transfer-Encoding": "chunked"}))
        chunk = b"<item><title>" + "填充".encode() * 8000 + b"</title></item>"
        frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
        sent = 0
        while sent < self.huge_limit and not self._gone(reader, writer):
            writer.write(frame)
            await writer.drain()
            sent += len(chunk)
        if not self._gone(reader, writer):
            writer.write(b"0\r\n\r\n")
            await writer.drain()
