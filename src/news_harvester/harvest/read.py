"""Read sources and article pages with the traps handled, and store nothing.

Stages 1, 2 and 4 of a harvest (see ``pipeline``): fetch the list (conditional GET, redirect
pages followed once, challenges detected, two-step data sources, static pagination), parse it
into items by kind, and read article pages (extraction, iframed tables). ``pipeline.Harvester``
stores what it reads; the CLI's ``extract`` and ``sources test`` only print it, so they see
exactly what a harvest would.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from news_harvester.config import SourceSpec
from news_harvester.errors import FetchError, ParseError, SourceError
from news_harvester.harvest.decode import decode_body, invalid_sequences
from news_harvester.harvest.fetch import PageGetter
from news_harvester.models import (
    Article,
    FetchResult,
    FetchState,
    NotModified,
    RawItem,
)
from news_harvester.parse.article import ExtractedPage, ExtractHints, extract_page
from news_harvester.parse.clean import build_article, canonical_url, html_to_text
from news_harvester.parse.feeds import parse_feed
from news_harvester.parse.jsonlist import datasource_url, html_fragment, parse_json_list
from news_harvester.parse.listing import page_urls, parse_listing
from news_harvester.parse.traps import challenge_reason, iframe_urls, redirect_target, table_html

log = logging.getLogger(__name__)

PREVIEW_ARTICLE_TRIES = 3
"""``sources test`` tries this many items for its sample article before giving up."""


@dataclass(frozen=True, slots=True)
class Listing:
    """Stages 1–2 for one source: its items (deduplicated across pages, in page order)."""

    items: list[RawItem]
    fetched: FetchResult
    """The document the items came from (the JSON of a two-step source, the first list page)."""
    fetch_state: FetchState
    """What a conditional GET sends next run; empty after a followed JavaScript redirect."""
    warnings: list[str]
    pages: int = 1


@dataclass(frozen=True, slots=True)
class ArticlePage:
    """An article page as read: the page itself, what the extractor found, and the final body."""

    url: str
    """The URL actually read (after HTTP and JavaScript redirects)."""
    fetched: FetchResult
    extracted: ExtractedPage
    body_text: str
    """The extractor's body (or the source's ``selectors.body``), plus the text of iframed tables."""
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Page:
    result: FetchResult
    redirected_to: str | None = None


class Reader:
    """Fetch and read sources and article pages with the traps handled; stores nothing.

    Used by ``Harvester`` (which stores what it reads) and by the CLI's ``extract`` and
    ``sources test`` (which only print it).
    """

    def __init__(self, fetcher: PageGetter) -> None:
        self.fetcher = fetcher

    async def read_listing(self, spec: SourceSpec, state: FetchState | None = None) -> Listing | None:
        """Items of one source; None when nothing changed: a conditional GET said so, or the listing's bytes are
        those of the last listing whose items were all handled (``FetchState.listing_digest``)."""
        warnings: list[str] = []
        pages = 1
        digest: str | None
        if spec.datasource is not None:
            shell = await self._page(spec, spec.url, what="source page")
            assert shell is not None  # unconditional
            ds = spec.datasource
            json_url = datasource_url(
                shell.result.text,
                shell.result.final_url,
                url=ds.url,
                from_page=ds.from_page,
                attribute=ds.attribute,
                pattern=ds.pattern,
            )
            response = await self._get(spec, json_url, state=state, referer=shell.result.final_url)
            if isinstance(response, NotModified):
                return None
            digest = listing_digest(spec, response.content)
            if state is not None and state.listing_digest == digest:
                return None
            _check_challenge(response, "JSON data source")
            _note_invalid_bytes(response, "JSON data source", warnings)
            fetched = dataclasses.replace(response, permanent_redirect=shell.result.permanent_redirect)
            fetch_state = FetchState(response.etag, response.last_modified, digest)
            items = self._parse(spec, fetched, warnings)
        else:
            page = await self._page(spec, spec.url, state=state, what="source page")
            if page is None:
                return None
            fetched = page.result
            paginated = spec.pagination is not None and spec.pagination.pages > 1  # later pages may change alone
            digest = None if page.redirected_to or paginated else listing_digest(spec, fetched.content)
            if digest is not None and state is not None and state.listing_digest == digest:
                return None
            if page.redirected_to:
                warnings.append(f"source page is a JavaScript redirect to {page.redirected_to}; update sources.yaml")
                fetch_state = FetchState()  # the shell's ETag says nothing about the page behind it
            else:
                fetch_state = FetchState(fetched.etag, fetched.last_modified, digest)
                if not fetched.permanent_redirect and _host(fetched.final_url) != _host(spec.url):
                    # Followed (normal on the web), but said: the items now come from another host.
                    warnings.append(
                        f"source URL redirects (temporarily) to another host: {fetched.final_url}; check sources.yaml"
                    )
            _note_invalid_bytes(fetched, "source page", warnings)
            items = self._parse(spec, fetched, warnings)
            if spec.pagination is not None and spec.pagination.pages > 1:
                items, pages = await self._later_pages(spec, fetched.final_url, items, warnings)
        if fetched.permanent_redirect:
            warnings.append(f"source URL moved permanently to {fetched.permanent_redirect}; update sources.yaml")
        return Listing(items, fetched, fetch_state, warnings, pages)

    async def read_article(
        self, spec: SourceSpec, url: str, item: RawItem | None = None, now: datetime | None = None
    ) -> ArticlePage:
        """Fetch and extract one article page; raises SourceError when the page is unusable.

        ``item`` (the list's title and date) and ``now`` are hints for the extractor."""
        warnings: list[str] = []
        page = await self._page(spec, url, what="article page")
        assert page is not None  # unconditional
        _note_invalid_bytes(page.result, "article page", warnings)
        extracted, body = extract_article(spec, page.result, item, now)
        tables = await self._iframe_tables(spec, page.result, warnings)
        if tables and tables not in body:
            body = f"{body}\n{tables}" if body else tables
        return ArticlePage(page.result.final_url, page.result, extracted, body, tuple(warnings))

    # ------------------------------------------------------------------ internals

    async def _get(
        self, spec: SourceSpec, url: str, *, state: FetchState | None = None, referer: str | None = None
    ) -> FetchResult | NotModified:
        headers = dict(spec.headers)
        if referer:
            headers["Referer"] = referer
        return await self.fetcher.get(
            url, state=state, headers=headers, encoding=spec.encoding, respect_robots=spec.respect_robots
        )

    async def _page(self, spec: SourceSpec, url: str, *, state: FetchState | None = None, what: str) -> _Page | None:
        """GET ``url``; follow a JavaScript / meta-refresh redirect page once (Referer: ``url``);
        raise ``fetch.challenge`` for a WAF challenge. None only for 304 to a conditional GET."""
        response = await self._get(spec, url, state=state)
        if isinstance(response, NotModified):
            return None
        target = redirect_target(response.text, response.final_url)
        if target is None:
            _check_challenge(response, what)
            return _Page(response)
        log.info(
            "%s %s is a JavaScript redirect to %s",
            what,
            url,
            target,
            extra={"source_id": spec.id, "url": url, "stage": "fetch"},
        )
        followed = await self._get(spec, target, referer=url)
        if isinstance(followed, NotModified):
            raise FetchError(f"unexpected 304 for an unconditional request to {target}", code="fetch.http_status")
        if (again := redirect_target(followed.text, followed.final_url)) is not None:
            raise FetchError(
                f"JavaScript redirect chain {url} → {target} → {again}; only one hop is followed",
                code="fetch.redirect_loop",
                http_status=followed.status,
            )
        _check_challenge(followed, what)
        return _Page(
            dataclasses.replace(followed, url=response.url, permanent_redirect=response.permanent_redirect), target
        )

    async def _later_pages(
        self, spec: SourceSpec, list_url: str, items: list[RawItem], warnings: list[str]
    ) -> tuple[list[RawItem], int]:
        """Append the items of list pages 2 … N (in order, new URLs only) to ``items``.

        A later page that is missing (404), fails, parses to nothing or repeats earlier items only
        ends pagination with a warning; the pages already read still count.
        """
        pagination = spec.pagination
        assert pagination is not None
        seen = {canonical_url(i.url) for i in items}
        items = list(items)
        read = 1
        for number, url in enumerate(page_urls(list_url, pagination.pages, pagination.page_url, pagination.start), 2):
            try:
                page = await self._page(spec, url, what=f"list page {number}")
                assert page is not None  # unconditional
                _note_invalid_bytes(page.result, f"list page {number}", warnings)
                more = self._parse(spec, page.result, warnings)
            except SourceError as exc:
                warnings.append(
                    f"{exc.code} for list page {number} {url}: {exc.message}; pagination ended after page {read}"
                )
                log.warning(
                    "pagination ended at list page %d: %s",
                    number,
                    exc.message,
                    extra={"source_id": spec.id, "url": url, "stage": "listing", "code": exc.code},
                )
                break
            read = number
            fresh = [item for item in unique_items(more) if canonical_url(item.url) not in seen]
            if not fresh:  # e.g. a CMS answering an unknown index_<n>.html with the first page
                warnings.append(f"list page {number} {url} repeats earlier items only; pagination ended there")
                break
            seen.update(canonical_url(item.url) for item in fresh)
            items.extend(fresh)
        return items, read

    def _parse(self, spec: SourceSpec, response: FetchResult, warnings: list[str]) -> list[RawItem]:
        if spec.kind == "feed":
            parsed = parse_feed(response.text, response.final_url, spec.zone)
            warnings.extend(parsed.warnings)
            return list(parsed.items)
        if spec.kind == "html":
            selectors = spec.selectors.model_dump() if spec.selectors else None
            text = html_fragment(response.text, spec.html_path) if spec.html_path else response.text
            return parse_listing(text, response.final_url, spec.zone, selectors)
        if spec.kind == "json" and spec.fields:
            return parse_json_list(response.text, response.final_url, spec.zone, spec.fields)
        raise ParseError(f"source kind {spec.kind!r} cannot be parsed", code="parse.unsupported")

    async def _iframe_tables(self, spec: SourceSpec, page: FetchResult, warnings: list[str]) -> str:
        """Text of the data tables in the article's same-site iframes (at most MAX_IFRAMES)."""
        containers = spec.selectors.body if spec.selectors else []
        urls = iframe_urls(page.text, page.final_url, containers)
        texts = await asyncio.gather(*(self._iframe_table(spec, u, page.final_url, warnings) for u in urls))
        return "\n".join(t for t in texts if t)

    async def _iframe_table(self, spec: SourceSpec, url: str, page_url: str, warnings: list[str]) -> str:
        try:
            frame = await self._get(spec, url, referer=page_url)
            if isinstance(frame, NotModified):
                return ""
            _check_challenge(frame, "iframe")
        except SourceError as exc:
            warnings.append(f"{exc.code} for iframe {url} of article {page_url}: {exc.message}")
            return ""
        return "\n".join(text for table in table_html(frame.text) if (text := html_to_text(table)))


def extract_article(
    spec: SourceSpec, page: FetchResult, item: RawItem | None = None, now: datetime | None = None
) -> tuple[ExtractedPage, str]:
    """The extractor's fields for one page and its body. The source's ``selectors.body`` (tried in
    order), the list's title and date, and ``now`` (for year-less dates) go in as hints."""
    hints = ExtractHints(
        body_selectors=tuple(spec.selectors.body) if spec.selectors else (),
        list_title=item.title if item else None,
        list_date=item.published if item else None,
        now=now,
    )
    extracted = extract_page(page.text, page.final_url, spec.zone, hints)
    return extracted, extracted.body_text


def read_article_file(content: bytes, url: str, spec: SourceSpec) -> ArticlePage:
    """Extract a saved page (``url`` names it, e.g. a file:// URI). Nothing is fetched: a
    redirect or challenge page is reported as a warning and extracted as it is."""
    decoded = decode_body(content, None, spec.encoding)
    page = FetchResult(
        url=url,
        final_url=url,
        status=200,
        headers={},
        content=content,
        text=decoded.text,
        charset_declared=decoded.charset_declared,
        charset_used=decoded.charset_used,
    )
    warnings = []
    if (target := redirect_target(page.text, url)) is not None:
        warnings.append(f"the page is a JavaScript redirect to {target} (not followed for a saved file)")
    elif (reason := challenge_reason(page.text, len(content))) is not None:
        warnings.append(f"fetch.challenge: {reason}")
    extracted, body = extract_article(spec, page)
    return ArticlePage(url, page, extracted, body, tuple(warnings))


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _note_invalid_bytes(page: FetchResult, what: str, warnings: list[str]) -> None:
    """Warn when ``decode`` had to replace invalid byte sequences (a page that is UTF-8 but for a
    few corrupt bytes is read with U+FFFD for them: losing a character beats losing the page)."""
    if "\ufffd" not in page.text:
        return
    count = invalid_sequences(page.content, page.charset_used)
    if count:
        warnings.append(
            f"{count} invalid byte sequence{'s' if count > 1 else ''} under {page.charset_used} in the {what} "
            f"{page.final_url} replaced with U+FFFD"
        )


def _check_challenge(response: FetchResult, what: str) -> None:
    reason = challenge_reason(response.text, len(response.content))
    if reason is not None:
        raise FetchError(
            f"{reason} instead of the {what} {response.final_url}", code="fetch.challenge", http_status=response.status
        )


def listing_digest(spec: SourceSpec, content: bytes) -> str:
    """A hash of the source's settings and of a listing's bytes. The same bytes read with the same settings name
    the same items, so once they were all handled there is nothing to do (servers without ETag or Last-Modified
    often send the same bytes until something changes). Settings count: after an edit of sources.yaml (selectors,
    filters) the same page must be read again."""
    digest = hashlib.sha256(spec.model_dump_json().encode("utf-8"))
    digest.update(b"\0")
    digest.update(content)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """One item read into an Article (or not), with the article page when one was read."""

    article: Article | None
    page: ArticlePage | None = None


async def read_item(
    reader: Reader, spec: SourceSpec, item: RawItem, warnings: list[str], fetched_at: datetime
) -> ItemOutcome:
    """Build one article, fetching its page when the source needs full text.

    An HTML list only gives headlines, so an unusable page (HTTP error, challenge, binary file,
    oversized, no readable text) drops the item with a warning: it is retried next run, since its
    URL was not stored. A feed or JSON item keeps its own text instead.
    """
    needs_page = spec.full_text or spec.kind == "html"  # a list page carries headlines only
    if not needs_page:
        evidence = (item.content_html or item.summary_html or "").encode("utf-8") or None
        return ItemOutcome(
            build_article(
                item,
                source_id=spec.id,
                source_name=spec.name,
                language=spec.language,
                fetched_at=fetched_at,
                raw_page=evidence,
            )
        )
    try:
        page = await reader.read_article(spec, item.url, item, fetched_at)
    except SourceError as exc:
        return _item_failed(spec, item, exc.code, exc.message, warnings, fetched_at)
    except Exception as exc:  # an item is a unit of work: one odd page never costs the source
        log.exception("unexpected error reading article %s", item.url, extra={"source_id": spec.id, "url": item.url})
        return _item_failed(spec, item, "internal.error", f"{type(exc).__name__}: {exc}", warnings, fetched_at)
    warnings.extend(page.warnings)
    if not page.body_text.strip() and not page.extracted.attachments:
        reason = page.extracted.rejected_reason
        message = f"no readable text in the page ({len(page.fetched.content)} bytes{f': {reason}' if reason else ''})"
        return _item_failed(spec, item, "parse.empty_article", message, warnings, fetched_at)
    extracted = page.extracted
    article = build_article(
        item,
        source_id=spec.id,
        source_name=spec.name,
        language=spec.language,
        fetched_at=fetched_at,
        body_text=page.body_text or None,
        attribution=extracted.attribution if spec.attribution == "page" else None,
        published_at=extracted.published_at,
        date_origin=extracted.date_origin,
        raw_page=page.fetched.content,
        attachments=tuple((a.url, a.text, a.kind) for a in extracted.attachments),
    )
    return ItemOutcome(article, page)


def _item_failed(
    spec: SourceSpec, item: RawItem, code: str, message: str, warnings: list[str], fetched_at: datetime
) -> ItemOutcome:
    kept = spec.kind != "html"
    warnings.append(f"{code} for article {item.url}: {message}" + ("; kept the list's own text" if kept else ""))
    log.warning(
        "article page failed: %s",
        message,
        extra={"source_id": spec.id, "url": item.url, "stage": "article", "code": code},
    )
    if not kept:
        return ItemOutcome(None)
    return ItemOutcome(
        build_article(item, source_id=spec.id, source_name=spec.name, language=spec.language, fetched_at=fetched_at)
    )


@dataclass(frozen=True, slots=True)
class Preview:
    """What a harvest of one source would take now (``sources test``); nothing is stored."""

    listing: Listing
    items: list[RawItem]
    article: Article | None
    page: ArticlePage | None
    warnings: list[str]


async def preview_source(reader: Reader, spec: SourceSpec, now: datetime) -> Preview:
    """Read the source unconditionally and build its first readable article; store nothing."""
    listing = await reader.read_listing(spec)
    assert listing is not None  # unconditional
    items = unique_items(listing.items)[: spec.max_items]
    warnings = list(listing.warnings)
    for item in items[:PREVIEW_ARTICLE_TRIES]:
        outcome = await read_item(reader, spec, item, warnings, now)
        if outcome.article is not None:
            return Preview(listing, items, outcome.article, outcome.page, warnings)
    return Preview(listing, items, None, None, warnings)


def unique_items(items: Sequence[RawItem]) -> list[RawItem]:
    """Items with distinct canonical URLs, first occurrence kept."""
    seen: set[str] = set()
    out = []
    for item in items:
        key = canonical_url(item.url)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
