"""JSON list documents -> RawItem list, by a declarative field mapping from sources.yaml.

A mapping names dotted paths (``data.roll_data``, ``shareImages.0.imageUrl``); ``a|b`` tries
``a`` then ``b``. ``items`` locates the array (empty or ``.`` for a top-level array); ``title``
and ``url`` are required per item; ``date``, ``summary``, ``id``, ``author`` are optional.
Relative URLs resolve against the JSON document's URL. Numeric dates are Unix time (seconds, or
milliseconds when too large for seconds); strings are parsed in the source's zone.

Two-step lists (Xinhua-built CMSs): ``datasource_url`` reads the data-source id from the HTML
shell page (an element's attribute or text, and/or a regex) and builds the JSON URL from it.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import quote, urljoin

from bs4 import BeautifulSoup
from soupsieve import SelectorSyntaxError

from news_harvester.errors import ParseError
from news_harvester.models import RawItem
from news_harvester.parse.clean import headline
from news_harvester.parse.dates import parse_date

FIELD_NAMES = frozenset({"items", "title", "url", "date", "summary", "id", "author"})
_MS_THRESHOLD = 100_000_000_000  # 5138 AD in seconds, 1973 in milliseconds


def parse_json_list(text: str, base_url: str, zone: tzinfo, fields: dict[str, str]) -> list[RawItem]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON: {exc}", code="parse.malformed") from None
    rows = lookup(document, fields.get("items", ""))
    if not isinstance(rows, list):
        raise ParseError(f"items path {fields.get('items')!r} is not a list in the JSON", code="parse.no_items")
    items: list[RawItem] = []
    for row in rows:
        url, title = lookup(row, fields["url"]), lookup(row, fields["title"])
        if not isinstance(url, str) or not url.strip() or title in (None, ""):
            continue
        raw_date = lookup(row, fields["date"]) if "date" in fields else None
        summary = lookup(row, fields["summary"]) if "summary" in fields else None
        items.append(
            RawItem(
                url=urljoin(base_url, url.strip()),
                title=headline(str(title)),  # "title|content": a flash's whole text is no headline
                published=_date(raw_date, zone),
                published_raw=None if raw_date is None else str(raw_date),
                author=_text(lookup(row, fields["author"])) if "author" in fields else None,
                summary_html=_text(summary),
                guid=_text(lookup(row, fields["id"])) if "id" in fields else None,
            )
        )
    if not items:
        raise ParseError(f"JSON list has {len(rows)} rows and none with a title and url", code="parse.no_items")
    return items


def html_fragment(text: str, path: str) -> str:
    """The HTML list fragment some gateway CMSs wrap in JSON (``{"data": {"html": "<ul>…"}}``)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"expected JSON carrying an HTML fragment: {exc}", code="parse.malformed") from None
    fragment = lookup(document, path)
    if not isinstance(fragment, str) or not fragment.strip():
        raise ParseError(f"no HTML fragment at {path!r} in the JSON", code="parse.no_items")
    return fragment


def lookup(document: Any, path: str) -> Any:
    """Value at a dotted path (alternatives separated by ``|``); None when absent."""
    for alternative in path.split("|"):
        value = document
        for part in (p for p in alternative.strip().split(".") if p):
            if isinstance(value, dict):
                value = value.get(part)
            elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
                value = value[int(part)]
            else:
                value = None
            if value is None:
                break
        if value not in (None, ""):
            return value
    return None


def _date(value: Any, zone: tzinfo) -> datetime | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        number = float(value)
        if number > _MS_THRESHOLD:
            number /= 1000
        try:
            return datetime.fromtimestamp(number, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return parse_date(str(value), zone)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value if v is not None) or None
    return str(value)


def datasource_url(
    html: str,
    page_url: str,
    *,
    url: str,
    from_page: str | None = None,
    attribute: str | None = None,
    pattern: str | None = None,
) -> str:
    """The JSON URL named by an HTML shell page, resolved against ``page_url``.

    Candidates are the ``attribute`` (else the text) of every element matching the CSS selector
    ``from_page``, or the whole page when there is no selector. The first candidate that matches
    ``pattern`` gives the id: its group ``id``, else its only group, else the whole match; without
    a pattern the candidate itself is the id. ``{id}`` (and ``{name}`` for other named groups) in
    the ``url`` template are replaced, percent-encoded. Raises ParseError ``parse.no_datasource``.
    """
    candidates: list[str]
    if from_page:
        try:
            elements = BeautifulSoup(html, "lxml").select(from_page)
        except SelectorSyntaxError as exc:
            raise ParseError(
                f"datasource from_page {from_page!r} is not a CSS selector: {exc}", code="parse.no_datasource"
            ) from None
        values = [element.get(attribute) if attribute else element.get_text(" ", strip=True) for element in elements]
        candidates = [" ".join(v) if isinstance(v, list) else v for v in values if v]
    else:
        candidates = [html]
    regex = re.compile(pattern) if pattern else None
    for candidate in candidates:
        groups: dict[str, str] = {}
        if regex is None:
            found = candidate.strip()
        else:
            match = regex.search(candidate)
            if match is None:
                continue
            groups = {k: v for k, v in match.groupdict().items() if v is not None}
            found = groups.get("id") or (match.group(1) if regex.groups == 1 else match.group(0))
        if not found:
            continue
        built = url
        for name, value in {**groups, "id": found}.items():
            built = built.replace("{" + name + "}", quote(value, safe=""))
        return urljoin(page_url, built)
    where = (
        f"elements {from_page!r}" + (f" (attribute {attribute!r})" if attribute else "") if from_page else "the page"
    )
    how = f" matching the pattern {pattern}" if pattern else ""
    seen = f"{len(candidates)} candidates" if from_page else "no match"
    raise ParseError(
        f"no data-source id in {where}{how} on {page_url} ({seen}); the layout may have changed",
        code="parse.no_datasource",
    )
