"""HTTP fetching for every source: with harvest.body (the body's size cap), the only importer of httpx.

One shared ``httpx.AsyncClient``; a global and a per-host concurrency cap plus a minimum delay
between request starts to one host; connect/read/total timeouts; bounded retries with exponential
backoff and jitter on connect errors, 429 and 5xx (honouring Retry-After); conditional GET; a
streamed size cap applied to the *decompressed* body (so a gzip bomb stops early: ``body``); a
redirect cap with loop detection; robots.txt per origin. Decoding of the body is delegated to
``decode``; a body that is plainly a binary file (PDF, image, archive, Office document) by its
leading bytes fails as ``decode.binary`` instead of being decoded into noise. Never parses
documents, except an error page's body, checked for a WAF challenge (``fetch.challenge`` then
says more than the status).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import socket
import time
import urllib.robotparser
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from news_harvester.errors import DecodeError, FetchError
from news_harvester.harvest.body import describe, read_capped
from news_harvester.harvest.decode import decode_body
from news_harvester.models import FetchResult, FetchState, NotModified
from news_harvester.parse.traps import challenge_reason

log = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
ROBOTS_TTL = 24 * 3600.0
ROBOTS_MAX_BYTES = 512_000
ROBOTS_MAX_REDIRECTS = 5
# Leading bytes of binary files that sites serve where a page was linked (often as text/html).
_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive or Office document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Office (OLE) document"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x1f\x8b", "gzip data"),
    (b"\x7fELF", "an ELF executable"),
)


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    user_agent: str = "news-harvester"
    concurrency: int = 16
    per_host_concurrency: int = 2
    per_host_delay: float = 0.5
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    max_body_bytes: int = 10_000_000
    max_redirects: int = 5
    retries: int = 2
    retry_base_delay: float = 1.0
    max_retry_after: float = 30.0
    respect_robots: bool = True
    robots_retry_after: float = 600.0
    """Seconds before a robots.txt that could not be fetched (network error, timeout, 5xx) is asked for
    again; meanwhile the origin counts as unrestricted. A missing (4xx) or readable one is kept ROBOTS_TTL."""


@dataclass(slots=True)
class _HostGate:
    """Caps requests in flight to one host and spaces their starts by ``delay`` seconds."""

    semaphore: asyncio.Semaphore
    delay: float
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_start: float = 0.0

    async def wait_turn(self) -> None:
        async with self.lock:
            now = time.monotonic()
            if self.next_start > now:
                await asyncio.sleep(self.next_start - now)
            self.next_start = max(now, self.next_start) + self.delay


@dataclass(frozen=True, slots=True)
class _Raw:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str


@dataclass(frozen=True, slots=True)
class _Retry:
    delay: float
    reason: FetchError


class PageGetter(Protocol):
    """What reading a source asks of a fetcher: :meth:`Fetcher.get`. A discovery hands the reader a wrapper that
    fetches each address once (news_harvester.sources.discover)."""

    async def get(
        self,
        url: str,
        *,
        state: FetchState | None = None,
        headers: dict[str, str] | None = None,
        encoding: str | None = None,
        respect_robots: bool | None = None,
    ) -> FetchResult | NotModified: ...


class Fetcher:
    """Fetch documents politely; create one per process and ``aclose()`` it at shutdown."""

    def __init__(self, policy: FetchPolicy, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.policy = policy
        timeout = httpx.Timeout(
            connect=policy.connect_timeout, read=policy.read_timeout, write=policy.read_timeout, pool=None
        )
        self._client = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": policy.user_agent, "Accept-Encoding": "gzip, deflate"},
            limits=httpx.Limits(max_connections=policy.concurrency * 2, max_keepalive_connections=64),
            transport=transport,
            trust_env=False,
        )
        self._global = asyncio.Semaphore(policy.concurrency)
        self._hosts: dict[str, _HostGate] = {}
        self._robots: dict[str, tuple[urllib.robotparser.RobotFileParser | None, float]] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(
        self,
        url: str,
        *,
        state: FetchState | None = None,
        headers: dict[str, str] | None = None,
        encoding: str | None = None,
        respect_robots: bool | None = None,
    ) -> FetchResult | NotModified:
        """GET ``url`` following redirects; raise FetchError / DecodeError with a stable code."""
        started = time.monotonic()
        request_headers = dict(headers or {})
        if state and state.etag:
            request_headers["If-None-Match"] = state.etag
        if state and state.last_modified:
            request_headers["If-Modified-Since"] = state.last_modified
        obey = self.policy.respect_robots if respect_robots is None else respect_robots
        current, permanent, visited = url, None, {url}
        for hop in range(self.policy.max_redirects + 1):
            _check_url(current)
            if obey and not await self._allowed_by_robots(current):
                raise FetchError(f"robots.txt of {_origin(current)} disallows {current}", code="fetch.robots_denied")
            raw = await self._get_with_retries(current, request_headers, self.policy.max_body_bytes)
            if raw.status in REDIRECT_STATUSES and "location" in raw.headers:
                target = urljoin(current, raw.headers["location"])
                if raw.status in (301, 308) and hop == 0:
                    permanent = target
                if target in visited:
                    raise FetchError(f"redirect loop at {target}", code="fetch.redirect_loop", http_status=raw.status)
                visited.add(target)
                current = target
                continue
            elapsed = int((time.monotonic() - started) * 1000)
            if raw.status == 304:
                return NotModified(url=url, elapsed_ms=elapsed)
            if raw.status in REDIRECT_STATUSES:
                raise FetchError(
                    f"HTTP {raw.status} redirect without a Location header from {current}",
                    code="fetch.http_status",
                    http_status=raw.status,
                )
            if raw.status >= 400 or raw.status < 200:
                raise _status_error(raw)
            if (kind := binary_kind(raw.body)) is not None:
                raise DecodeError(
                    f"{kind} ({len(raw.body)} bytes, Content-Type {raw.headers.get('content-type') or 'none'}) "
                    f"where a text document was expected, from {current}",
                    code="decode.binary",
                    http_status=raw.status,
                )
            try:
                decoded = decode_body(raw.body, raw.headers.get("content-type"), encoding)
            except DecodeError as exc:
                raise DecodeError(f"{exc.message} (from {current})", code=exc.code, http_status=raw.status) from None
            return FetchResult(
                url=url,
                final_url=current,
                status=raw.status,
                headers=raw.headers,
                content=raw.body,
                text=decoded.text,
                charset_declared=decoded.charset_declared,
                charset_used=decoded.charset_used,
                permanent_redirect=permanent if permanent != url else None,
                elapsed_ms=elapsed,
            )
        raise FetchError(
            f"more than {self.policy.max_redirects} redirects starting at {url}", code="fetch.redirect_loop"
        )

    async def _get_with_retries(self, url: str, headers: dict[str, str], cap: int) -> _Raw:
        for attempt in range(self.policy.retries + 1):
            outcome = await self._attempt(url, headers, cap, attempt=attempt, last=attempt == self.policy.retries)
            if isinstance(outcome, _Raw):
                return outcome
            log.info(
                "retrying %s in %.1fs: %s",
                url,
                outcome.delay,
                outcome.reason.message,
                extra={"url": url, "stage": "fetch", "code": outcome.reason.code},
            )
            await asyncio.sleep(outcome.delay)
        raise AssertionError("unreachable: the last attempt never asks for a retry")

    async def _attempt(
        self, url: str, headers: dict[str, str], cap: int, *, attempt: int = 0, last: bool
    ) -> _Raw | _Retry:
        gate = self._gate(urlsplit(url).netloc.lower())
        async with gate.semaphore, self._global:
            await gate.wait_turn()
            try:
                async with asyncio.timeout(self.policy.total_timeout):
                    raw = await self._stream(url, headers, cap)
            except TimeoutError:
                raise FetchError(
                    f"no complete response within {self.policy.total_timeout:g}s", code="fetch.timeout"
                ) from None
            except httpx.ConnectError as exc:
                error = _connect_error(url, exc)
                if last or error.code == "fetch.dns":
                    raise error from exc
                return _Retry(self._backoff_delay(attempt), error)
            except httpx.ConnectTimeout as exc:
                error = FetchError(
                    f"connect timeout: no connection to {urlsplit(url).netloc} within {self.policy.connect_timeout:g}s",
                    code="fetch.timeout",
                )
                if last:
                    raise error from exc
                return _Retry(self._backoff_delay(attempt), error)
            except httpx.TimeoutException as exc:
                raise FetchError(
                    f"read timeout: no bytes for {self.policy.read_timeout:g}s", code="fetch.timeout"
                ) from exc
            except httpx.RemoteProtocolError as exc:
                # No status line at all: typically a keep-alive connection the server had already
                # closed, so one more attempt on a fresh connection is worth it.
                error = FetchError(
                    f"server closed the connection without a response: {describe(exc)}", code="fetch.truncated"
                )
                if last:
                    raise error from exc
                return _Retry(self._backoff_delay(attempt), error)
            except httpx.InvalidURL as exc:
                raise FetchError(f"invalid URL {url!r}: {exc}", code="fetch.invalid_url") from exc
            except httpx.HTTPError as exc:
                raise FetchError(f"{type(exc).__name__}: {describe(exc)}", code="fetch.network") from exc
        if raw.status >= 400 and raw.status != 429 and (challenge := _challenge_error(raw)) is not None:
            raise challenge  # a WAF answering 403 / 503 with its challenge page: retrying cannot pass it
        if raw.status in RETRY_STATUSES:
            retry_after = _retry_after(raw.headers.get("retry-after"))
            error = _status_error(raw, retry_after)
            if last or (retry_after is not None and retry_after > self.policy.max_retry_after):
                raise error
            delay = self._backoff_delay(attempt) if retry_after is None else retry_after
            return _Retry(delay, error)
        return raw

    def _backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter around the doubling base."""
        return self.policy.retry_base_delay * (2.0**attempt) * random.uniform(0.5, 1.5)

    async def _stream(self, url: str, headers: dict[str, str], cap: int) -> _Raw:
        async with self._client.stream("GET", url, headers=headers) as response:
            response_headers = {k.lower(): v for k, v in response.headers.items()}
            if response.status_code in REDIRECT_STATUSES or response.status_code == 304:
                await _drain(response)
                return _Raw(response.status_code, response_headers, b"", str(response.url))
            body = await read_capped(response, response_headers, cap)
            return _Raw(response.status_code, response_headers, body, str(response.url))

    def _gate(self, host: str) -> _HostGate:
        gate = self._hosts.get(host)
        if gate is None:
            gate = _HostGate(asyncio.Semaphore(self.policy.per_host_concurrency), self.policy.per_host_delay)
            self._hosts[host] = gate
        return gate

    async def _allowed_by_robots(self, url: str) -> bool:
        origin = _origin(url)
        lock = self._robots_locks.setdefault(origin, asyncio.Lock())
        async with lock:
            parser, expires = self._robots.get(origin, (None, 0.0))
            if expires < time.monotonic():
                parser, ttl = await self._load_robots(origin)
                self._robots[origin] = (parser, time.monotonic() + ttl)
        return parser is None or parser.can_fetch(self.policy.user_agent, url)

    async def _load_robots(self, origin: str) -> tuple[urllib.robotparser.RobotFileParser | None, float]:
        """The origin's robots.txt rules (None: unrestricted) and how many seconds to keep them.

        Only a readable 200 robots.txt restricts us; a missing or failing one allows all. A failing one
        (the site down at that moment) is kept only ``robots_retry_after`` seconds, not ROBOTS_TTL, so
        that one outage does not switch robots.txt off for that site for a day.

        Redirects are followed (RFC 9309 §2.3.1.2: at least five, even to another host), since sites
        commonly send /robots.txt from http:// to https:// or to a canonical host.
        Deviation from RFC 9309 §2.3.1.4 (which asks to assume "disallow" on 5xx): the real request
        that follows then reports the site's actual error, which is what an admin needs to see.
        """
        target, visited = origin + "/robots.txt", set()
        try:
            for _ in range(ROBOTS_MAX_REDIRECTS + 1):
                _check_url(target)
                visited.add(target)
                raw = await self._attempt(target, {}, ROBOTS_MAX_BYTES, last=True)
                if not isinstance(raw, _Raw) or raw.status not in REDIRECT_STATUSES or "location" not in raw.headers:
                    break
                target = urljoin(target, raw.headers["location"])
                if target in visited:
                    return None, ROBOTS_TTL
        except FetchError as exc:
            log.debug("robots.txt of %s unavailable: %s", origin, exc.message)
            return None, self.policy.robots_retry_after
        if not isinstance(raw, _Raw) or raw.status >= 500:  # (a _Retry never comes back from a last attempt)
            return None, self.policy.robots_retry_after
        if raw.status != 200:
            return None, ROBOTS_TTL
        parser = urllib.robotparser.RobotFileParser()
        parser.parse(raw.body.decode("utf-8", "replace").splitlines())
        return parser, ROBOTS_TTL


def binary_kind(body: bytes) -> str | None:
    """What binary file ``body`` is by its leading bytes (after leading whitespace), or None."""
    head = body[:16].lstrip(b" \t\r\n")
    for signature, kind in _BINARY_SIGNATURES:
        if head.startswith(signature):
            return kind
    return None


DRAIN_BYTES = 64 * 1024
"""A 304's or a redirect's body (usually empty or a line of HTML) is read up to this size before the response is
closed, so that its connection goes back to the pool: closing an unread response, even an empty one, closes the
connection, and every later request to the host would pay a new TCP (and TLS) handshake."""


async def _drain(response: httpx.Response) -> None:
    received = 0
    try:
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received > DRAIN_BYTES:
                return  # a big body: dropping the connection is cheaper than reading it
    except httpx.HTTPError:
        return  # the status is what counts; the connection is not reused


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FetchError(f"not an http(s) URL: {url!r}", code="fetch.invalid_url")


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date, RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _status_error(raw: _Raw, retry_after: float | None = None) -> FetchError:
    if raw.status == 429:
        suffix = f", Retry-After {retry_after:g}s" if retry_after is not None else ""
        return FetchError(
            f"HTTP 429 Too Many Requests{suffix}", code="fetch.rate_limited", http_status=429, retry_after=retry_after
        )
    reason = httpx.codes.get_reason_phrase(raw.status) or "unexpected status"
    return FetchError(
        f"HTTP {raw.status} {reason} from {raw.url}",
        code="fetch.http_status",
        http_status=raw.status,
        retry_after=retry_after,
    )


def _challenge_error(raw: _Raw) -> FetchError | None:
    """``fetch.challenge`` for an error status whose body is a WAF / bot challenge page (Cloudflare's
    "Just a moment..." comes as 403 or 503), so the admin learns the site wants a browser rather
    than reading a bare status. Plain error pages stay ``fetch.http_status``."""
    try:
        text = decode_body(raw.body, raw.headers.get("content-type")).text
    except DecodeError:
        return None
    reason = challenge_reason(text, len(raw.body), markers_only=True)
    if reason is None:
        return None
    status = f"HTTP {raw.status} {httpx.codes.get_reason_phrase(raw.status) or ''}".rstrip()
    return FetchError(f"{status} with a {reason} from {raw.url}", code="fetch.challenge", http_status=raw.status)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything behind it: causes, contexts and members of exception groups.

    httpx reports a refused connection as ``ConnectError("All connection attempts failed")`` (anyio's
    wording); the ``ConnectionRefusedError`` is only found further down this chain.
    """
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)


def _connect_error(url: str, exc: httpx.ConnectError) -> FetchError:
    text = str(exc)
    host = urlsplit(url).netloc
    lowered = text.lower()
    causes = list(_causes(exc))
    if (
        any(isinstance(c, socket.gaierror) for c in causes)
        or "name or service not known" in lowered
        or "nodename nor servname" in lowered
        or "temporary failure in name resolution" in lowered
        or "no address associated" in lowered
    ):
        return FetchError(f"DNS lookup failed for {host}: {text}", code="fetch.dns")
    if any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in lowered:
        return FetchError(f"connection refused by {host}", code="fetch.refused")
    if "ssl" in lowered or "certificate" in lowered:
        return FetchError(f"TLS handshake with {host} failed: {text}", code="fetch.tls")
    return FetchError(f"cannot connect to {host}: {text or type(exc).__name__}", code="fetch.network")
