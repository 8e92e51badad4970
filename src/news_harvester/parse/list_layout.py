"""Work out the layout of an HTML list page: CSS selectors for its rows, link and date, and its pagination.

``sources discover`` needs a ready ``selectors`` entry an admin can read and edit, not only the items
automatic discovery finds at harvest time. A list is recognised the way a person sees it: several sibling
rows of the same shape, each holding one link to a headline on the same site (an article-like path, or a
date printed in the row), outside the page's navigation. Rows are grouped by the CSS selector that
describes them, so a list cut into several ``<ul>`` blocks of five (gov CMSs) is one list. A page with
several lists (a portal's news blocks) keeps every list at least a quarter the size of the largest: the
selector is a group (``a > li, b > li``), which matches the union.

Nothing here fetches: values in, a :class:`ListLayout` out.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import tzinfo
from urllib.parse import urldefrag, urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

from news_harvester.parse.dates import parse_date
from news_harvester.parse.listing import (
    MAX_ROW_CHARS,
    headline_like,
    in_navigation,
    is_article_path,
    row_link,
    site_of,
)

MIN_ROWS = 3
"""Fewer rows of one shape are a teaser block, not a list."""
KEEP_RATIO = 0.25
"""A second list is kept when it has at least this share of the largest list's rows."""
MIN_SHAPED = 0.5
"""Share of a list's rows that must look like news rows (an article path, or a date printed in the row)."""
MIN_CONSISTENT = 0.6
"""Share of rows a link or date sub-selector must fit to be written down."""
MAX_LISTS = 6
MAX_SELECTOR_LEVELS = 4
MAX_DATE_CHARS = 40
_CLASS_OK_RE = re.compile(r"^[A-Za-z_][\w-]*$")
# Classes that say "this one is different" (current, first, odd row …) do not describe a row's shape.
_STATE_CLASS_RE = re.compile(r"^(?:on|active|current|cur|selected|first|last|odd|even|hover|clearfix|fl|fr)$", re.I)
_PAGER_TEXT_RE = re.compile(r"^(?:下一?页|下页|后一?页|next|next page|›|»|>)$", re.I)
# The TRS / gov-CMS pager script: createPageHTML(total, current, "index", "html").
_CREATE_PAGE_RE = re.compile(
    r"createPageHTML\(\s*['\"]?(\d+)['\"]?\s*,\s*['\"]?(\d+)['\"]?\s*,\s*['\"](\w+)['\"]\s*,\s*['\"](\w+)['\"]"
)
_NUMBERED_LEAF_RE = re.compile(r"^(?P<stem>[A-Za-z]\w*?)[_-](?P<n>\d{1,3})\.(?P<ext>s?html?|jhtml)$", re.I)
_PAGE_QUERY_RE = re.compile(r"(?P<key>(?:page|pageno|pagenum|pagenumber|p|pn|pg|curpage))=(?P<n>\d{1,3})$", re.I)


@dataclass(frozen=True, slots=True)
class Pagination:
    """Later list pages: ``page_url`` with ``{n}`` from ``start``, resolved against the list URL."""

    page_url: str
    start: int
    evidence: str
    """What it was read from: a link to the next page, or the gov-CMS pager script."""


@dataclass(frozen=True, slots=True)
class ListLayout:
    """Selectors for ``sources.yaml`` (keys item / link / date, each a list of one selector) and what
    they rest on."""

    selectors: dict[str, list[str]]
    rows: int
    """Rows the item selector matches that hold a headline link."""
    lists: int
    """How many separate lists the item selector joins."""
    dated_share: float
    """Share of rows with a date (printed in the row, its link's title, or the link's path)."""
    article_path_share: float
    pagination: Pagination | None = None
    skipped_lists: list[str] = field(default_factory=list)
    """Selectors of smaller lists left out (sidebars, teasers), for the admin to add if wanted."""


@dataclass(slots=True)
class _Row:
    row: Tag
    anchor: Tag
    url: str
    dated: bool
    article_path: bool


def infer_layout(html: str, base_url: str, zone: tzinfo) -> ListLayout | None:
    """The list(s) of an HTML page as selectors, or None when the page shows no list of headlines."""
    soup = BeautifulSoup(html, "lxml")
    rows = _headline_rows(soup, base_url, zone)
    groups: dict[str, list[_Row]] = {}
    for row in rows:
        groups.setdefault(_row_selector(row.row), []).append(row)
    lists = [
        (selector, members)
        for selector, members in groups.items()
        if len({m.url for m in members}) >= MIN_ROWS
        and sum(m.dated or m.article_path for m in members) >= MIN_SHAPED * len(members)
    ]
    if not lists:
        return None
    lists.sort(key=lambda pair: -len(pair[1]))
    largest = len(lists[0][1])
    kept = [pair for pair in lists if len(pair[1]) >= KEEP_RATIO * largest][:MAX_LISTS]
    skipped = [selector for selector, _ in lists if all(selector != k for k, _ in kept)]
    members = [m for _, group in kept for m in group]
    selectors: dict[str, list[str]] = {"item": [", ".join(selector for selector, _ in kept)]}
    if (link := _link_selector(members)) is not None:
        selectors["link"] = [link]
    dates = [(m.row, d) for m in members if (d := _date_element(m.row, m.anchor, zone)) is not None]
    if len(dates) >= MIN_CONSISTENT * len(members) and (date := _fitting_selector(dates)) is not None:
        selectors["date"] = [date]
    return ListLayout(
        selectors=selectors,
        rows=len(members),
        lists=len(kept),
        dated_share=sum(m.dated for m in members) / len(members),
        article_path_share=sum(m.article_path for m in members) / len(members),
        pagination=find_pagination(soup, base_url),
        skipped_lists=skipped,
    )


def find_pagination(soup: BeautifulSoup, base_url: str) -> Pagination | None:
    """How to reach page 2 …: the gov-CMS pager script, a numbered sibling page (index_1.html), or a
    ``page=`` query, as the template :class:`~news_harvester.source_spec.PaginationSpec` takes."""
    for script in soup.find_all("script"):
        if match := _CREATE_PAGE_RE.search(script.get_text()):
            total, stem, ext = int(match[1]), match[3], match[4]
            if total > 1:
                return Pagination(f"{stem}_{{n}}.{ext}", 1, f"分页脚本 createPageHTML（共 {total} 页）")
    base_dir = base_url.rsplit("/", 1)[0] + "/"
    base_query = urlsplit(base_url).query
    for anchor in soup.find_all("a", href=True):
        href = str(anchor["href"]).strip()
        url = urldefrag(urljoin(base_url, href)).url
        text = " ".join(anchor.get_text(" ", strip=True).split())
        numbered = _NUMBERED_LEAF_RE.match(url.rsplit("/", 1)[-1]) if url.startswith(base_dir) else None
        if numbered and "/" not in url[len(base_dir) :]:
            n = int(numbered["n"])
            if _PAGER_TEXT_RE.match(text) or text in {str(n), str(n + 1)}:
                # index_1.html is page 2 on gov CMSs (start 1); page_2.html after page 1 names itself.
                start = n if _PAGER_TEXT_RE.match(text) or text == str(n + 1) else n - 1
                template = f"{numbered['stem']}_{{n}}.{numbered['ext']}"
                return Pagination(template, max(start, 0), f"下一页链接 {href}")
        parts = urlsplit(url)
        query = _PAGE_QUERY_RE.search(parts.query)
        if query and parts.path == urlsplit(base_url).path and _PAGER_TEXT_RE.match(text):
            rest = parts.query[: query.start()]
            if rest and not base_query.startswith(rest.rstrip("&")):
                continue
            template = f"?{rest}{query['key']}={{n}}"
            return Pagination(template, int(query["n"]), f"下一页链接 {href}")
    return None


# --------------------------------------------------------------------------- rows


def _headline_rows(soup: BeautifulSoup, base: str, zone: tzinfo) -> list[_Row]:
    """Every headline link on the same site outside navigation, with the row that holds it alone."""
    site = site_of(base)
    anchors: list[tuple[Tag, str]] = []
    for anchor in soup.find_all("a", href=True):
        url = urldefrag(urljoin(base, str(anchor["href"]).strip())).url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or site_of(url) != site:
            continue
        if url.rstrip("/") == base.rstrip("/") or (not parts.path.strip("/") and not parts.query):
            continue
        title = str(anchor.get("title") or "").strip() or " ".join(anchor.get_text(" ", strip=True).split())
        if not headline_like(title) or in_navigation(anchor):
            continue
        anchors.append((anchor, url))
    # For every element, the headline URLs below it (two are enough to know it holds more than one row). A link
    # to an article-like address climbs past plainer links (a topic tag, a channel) to the row that holds it;
    # a plain link stops at any other headline link.
    below_any = _urls_below(anchors)
    below_articles = _urls_below([(a, u) for a, u in anchors if is_article_path(urlsplit(u).path)])
    rows: list[_Row] = []
    for anchor, url in anchors:
        article_path = is_article_path(urlsplit(url).path)
        below = below_articles if article_path else below_any
        row: Tag = anchor
        for parent in anchor.parents:
            if parent.name in ("body", "html", "[document]") or len(below.get(id(parent), ())) > 1:
                break
            if len(parent.get_text(" ", strip=True)) > MAX_ROW_CHARS:
                break
            row = parent
        text = " ".join(row.get_text(" ", strip=True).split())
        dated = parse_date(text, zone) is not None or parse_date(str(anchor.get("title") or ""), zone) is not None
        rows.append(_Row(row, anchor, url, dated or _path_dated(url), article_path))
    return rows


def _urls_below(anchors: list[tuple[Tag, str]]) -> dict[int, set[str]]:
    below: dict[int, set[str]] = {}
    for anchor, url in anchors:
        for parent in anchor.parents:
            seen = below.setdefault(id(parent), set())
            if len(seen) > 1:
                continue
            seen.add(url)
    return below


def _path_dated(url: str) -> bool:
    return bool(re.search(r"/(?:19|20)\d{2}[-/]?\d{2}[-/]?\d{2}/", urlsplit(url).path))


def _row_selector(row: Tag) -> str:
    """``container > row``: the row's tag (and shape class), under the nearest ancestor that has an id or
    a class (more levels while the ancestors are bare), e.g. ``ul.txtList_01 > li``, ``div#list > div.item``."""
    parts = [_describe(row, with_id=False)]
    node = row.parent
    for _ in range(MAX_SELECTOR_LEVELS):
        if node is None or node.name in ("[document]",):
            break
        described = _describe(node, with_id=True)
        parts.append(described)
        if node.name in ("body", "html") or described != node.name:
            break
        node = node.parent
    return " > ".join(reversed(parts))


def _describe(tag: Tag, *, with_id: bool) -> str:
    element_id = str(tag.get("id") or "")
    if with_id and element_id and _CLASS_OK_RE.match(element_id) and not re.search(r"\d{3}", element_id):
        return f"{tag.name}#{element_id}"
    classes = [c for c in tag.get("class") or [] if _CLASS_OK_RE.match(c) and not _STATE_CLASS_RE.match(c)]
    return tag.name + "".join(f".{c}" for c in classes[:2])


def _link_selector(members: list[_Row]) -> str | None:
    """Where the headline link sits in the row, when the default (``listing.row_link``: its first headline-like
    link) would pick another one; None when the default finds the headline anyway."""
    astray = [m for m in members if row_link(m.row) is not m.anchor]
    if len(astray) <= (1 - MIN_CONSISTENT) * len(members):
        return None
    return _fitting_selector([(m.row, m.anchor) for m in members])


def _fitting_selector(pairs: list[tuple[Tag, Tag]]) -> str | None:
    """A selector relative to the row that finds the target (headline link, date) in at least
    :data:`MIN_CONSISTENT` of the rows; None when none fits."""
    votes: Counter[str] = Counter()
    for row, target in pairs:
        votes.update(dict.fromkeys(_relative(row, target), 1))
    for selector, _count in votes.most_common(8):
        if sum(_select_one(row, selector) is target for row, target in pairs) >= MIN_CONSISTENT * len(pairs):
            return selector
    return None


def _relative(row: Tag, target: Tag) -> list[str]:
    """Ways to name the target under the row, most readable first: ``a.title``, ``h3 a``, ``span.date``,
    the bare tag, then by position among its kind (a channel link ``[社会]`` before the headline)."""
    own = _describe(target, with_id=False)
    found = [own]
    for parent in target.parents:
        if parent is row or parent is None:
            break
        described = _describe(parent, with_id=False)
        if described != parent.name or parent.name in ("h1", "h2", "h3", "h4", "h5", "dt", "dd", "p", "em"):
            found.insert(0 if own == target.name else 1, f"{described} {own}")
            break
    if own != target.name:
        found.append(target.name)
    siblings = row.find_all(target.name)
    if target in siblings and len(siblings) > 1:
        others = {c for other in siblings if other is not target for c in other.get("class") or []}
        mine = set(target.get("class") or [])
        foreign = sorted(c for c in others - mine if _CLASS_OK_RE.match(c))
        if foreign:
            found.append(f"{target.name}:not(.{foreign[0]})")
        if siblings[-1] is target:
            found.append(f"{target.name}:last-of-type")
        found.append(f"{target.name}:nth-of-type({siblings.index(target) + 1})")
    return found


def _select_one(row: Tag, selector: str) -> Tag | None:
    try:
        return row.select_one(selector)
    except Exception:  # soupsieve refuses an odd class name: the selector does not fit
        return None


def _date_element(row: Tag, anchor: Tag, zone: tzinfo) -> Tag | None:
    """The smallest element of the row, outside its headline link, whose text is a date."""
    for candidate in row.find_all(True):
        if candidate is anchor or anchor in candidate.parents or candidate in anchor.parents:
            continue
        if candidate.find(True) is not None and candidate.find("a") is not None:
            continue
        text = candidate.get_text(" ", strip=True)
        if 6 <= len(text) <= MAX_DATE_CHARS and parse_date(text, zone) is not None:
            return candidate
    return None
