"""Already-extracted articles from a JSON-lines file, for imports and evaluation (``news-harvester ingest``).

One JSON object a line with keys ``title``, ``url``, ``body``, ``published_at``, ``source`` (the outlet's
display name) and optionally ``weight``, ``attribution``, ``author``, ``summary``, ``language``. Each line
becomes an :class:`~news_harvester.models.Article` that then takes the harvester's own path (clean → dedupe →
classify → queue), so an import is clustered with harvested articles and with itself.

The body (text or HTML) is cleaned as an extracted article page's body is
(:func:`news_harvester.parse.article.extract_page`): plain text with one paragraph a line, then
:func:`~news_harvester.parse.clean.drop_boilerplate`, so page furniture an export kept (``【字体：大 中 小】``,
``打印本页``, ``关闭窗口``, ``分享到``, ``责任编辑：…``) never reaches the stored body, the queue's snippet or a
summary draft. The same function, not a copy: a rule added for harvested pages applies to imports too.

Pure parsing: a bad line is an :class:`IngestError` naming the line, never the end of the import.
A ``source`` equal to a configured source's ``name`` is stored under that source's id (its weight and outlet
identity apply); any other name is stored under the id ``import`` with its own display name and ``weight``
(default 1.0, like an unknown source).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from news_harvester.models import Article
from news_harvester.parse.clean import canonical_url, clean_title, content_hash, drop_boilerplate, html_to_text
from news_harvester.parse.dates import parse_date

IMPORT_SOURCE_ID = "import"
MAX_LINE_BYTES = 20_000_000
"""A longer line is refused (an enormous body is almost certainly a mistake in the export)."""
MAX_BODY_CHARS = 1_000_000
"""Bodies are cut here; dedupe and classification read far less."""
_HTML_TAG = re.compile(r"<\s*/?\s*(p|div|br|table|tr|td|span|a|section|article|h[1-6]|ul|li|img|strong|em)\b", re.I)
_CJK = re.compile(r"[\u3400-\u9fff]")


class IngestRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    title: str = Field(min_length=1)
    url: str
    body: str = ""
    published_at: str | None = None
    source: str = Field(min_length=1)
    weight: float | None = Field(None, ge=0, le=100)
    attribution: str | None = None
    author: str | None = None
    summary: str | None = None
    language: str | None = None
    timezone: str = "Asia/Shanghai"

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an absolute http:// or https:// URL")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


@dataclass(frozen=True, slots=True)
class IngestError:
    line: int
    message: str

    def to_json(self) -> dict[str, object]:
        return {"line": self.line, "error": self.message}


def parse_record(
    text: str, line: int, *, fetched_at: datetime, sources_by_name: Mapping[str, tuple[str, float]]
) -> Article | IngestError:
    """One JSON line → Article, or the reason it cannot be one. ``sources_by_name`` maps a configured
    source's display name to ``(id, weight)``."""
    if len(text.encode("utf-8", "replace")) > MAX_LINE_BYTES:
        return IngestError(line, f"line longer than {MAX_LINE_BYTES:,} bytes refused")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return IngestError(line, f"not JSON: {exc.msg} at column {exc.colno}")
    if not isinstance(data, dict):
        return IngestError(line, "expected a JSON object")
    try:
        record = IngestRecord.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in exc.errors())
        return IngestError(line, problems)
    zone = ZoneInfo(record.timezone)
    published = None
    if record.published_at:
        published = parse_date(record.published_at, zone)
        if published is None:
            return IngestError(line, f"published_at: cannot read a date from {record.published_at!r}")
    body_text = clean_body(record.body[:MAX_BODY_CHARS])
    title = clean_title(record.title)
    if not title:
        return IngestError(line, "title: empty after cleaning")
    known = sources_by_name.get(record.source)
    source_id, weight = (known[0], record.weight) if known else (IMPORT_SOURCE_ID, record.weight or 1.0)
    language = record.language or ("zh" if _CJK.search(title + body_text[:500]) else "en")
    return Article(
        url=canonical_url(record.url),
        source_id=source_id,
        title=title,
        published_at=published,
        fetched_at=fetched_at,
        author=record.author or None,
        attribution=record.attribution or record.source,
        summary=html_to_text(record.summary) or None if record.summary else None,
        body_text=body_text,
        content_hash=content_hash(body_text or title),
        language=language,
        date_origin="import" if published else None,
        source_name=record.source,
        source_weight=weight,
    )


def clean_body(body: str) -> str:
    """An imported body as stored: HTML (when it has block or inline tags) or text → one paragraph a line →
    the harvest path's furniture removal (:func:`~news_harvester.parse.clean.drop_boilerplate`)."""
    text = html_to_text(body) if _HTML_TAG.search(body) else html_to_text(html.escape(body, quote=False))
    return "\n".join(drop_boilerplate(text.split("\n")))


def read_records(
    lines: Iterable[str], *, fetched_at: datetime, sources_by_name: Mapping[str, tuple[str, float]]
) -> Iterator[Article | IngestError]:
    """Parse a JSON-lines stream; blank lines are skipped, line numbers start at 1."""
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text:
            continue
        yield parse_record(text, number, fetched_at=fetched_at, sources_by_name=sources_by_name)
