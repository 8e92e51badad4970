"""JSON list documents -> RawItem list, by a declarative field mapping from sources.yaml.

A mapping names dotted paths (``data.roll_data``, ``shareImages.0.imageUrl``); ``a|b`` tries
``a`` then ``b``. ``items`` locates the array (empty or ``.`` for a top-level array); ``title``
and ``url`` are required per item; ``date``, ``summary``, ``id``, ``author`` are optional.
Relative URLs resolve against the JSON document's URL. Numeric dates are Unix time (seconds, or
milliseconds when too large for seconds); strings are parsed in the source's zone.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import urljoin

from news_harvester.errors import ParseError
from news_harvester.models import RawItem
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
                title=str(title).strip(),
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
