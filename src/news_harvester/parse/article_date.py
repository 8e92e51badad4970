"""Article page -> its publication time, and where it came from (meta / jsonld / selector / body /
url / list).

Pure functions: no network, and no clock of our own — a caller's ``now`` only completes a date
printed without its year, when neither the page nor its URL gives one. Order of trust:
government-CMS meta (PubDate, publishdate, firstpublishedtime …), JSON-LD datePublished, Open Graph
and ``article:*`` meta, the source's date selector, the date line next to the title, the date in
the URL, the list page's date. Times printed without a zone are wall-clock times in the source's
zone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime, tzinfo
from urllib.parse import urljoin

from news_harvester.parse.article_meta import HEADER_WINDOW, MAX_DATE_LINE_CHARS, SENTENCE_RE, PageFacts
from news_harvester.parse.blocks import Block
from news_harvester.parse.dates import FoundDate, date_from_url, find_date, find_month_day, parse_date

ORIGIN_META, ORIGIN_JSONLD, ORIGIN_SELECTOR, ORIGIN_BODY, ORIGIN_URL, ORIGIN_LIST = (
    "meta",
    "jsonld",
    "selector",
    "body",
    "url",
    "list",
)

# Meta names, lower-cased. Government CMS first: they come from the editor's record.
_GOV_DATE_METAS = ("pubdate", "publishdate", "firstpublishedtime", "publishtime", "publish_time", "publish-date")
_OPEN_DATE_METAS = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "article:published",
    "og:release_date",
    "og:time",
    "datepublished",
    "dc.date.issued",
    "dcterms.issued",
    "dcterms.created",
    "dc.date",
    "date",
    "apub:time",
    "release_date",
    "pub_date",
    "publication_date",
    "sailthru.date",
    "parsely-pub-date",
)
# Modification times are not publication times; they only tell the year of a date printed without one.
_MODIFIED_METAS = ("dateupdate", "lastmodifiedtime", "article:modified_time", "og:updated_time", "dcterms.modified")
_DATE_LABEL_RE = re.compile(
    r"(?:发布|发表|发稿|刊发|公布|上线|成文|印发|出版)(?:时间|日期|于)|(?:时间|日期|时 间|日 期)\s*[:：]|发表于|"
    r"\b(?:published|posted)\b",
    re.I,
)
_PUBLICATION_META_RE = re.compile(
    r"(?:pub|publish|published|publication|original|release|issued|posted|created)[\w.:-]*(?:date|time|timestamp)"
    r"|(?:date|time)[\w.:-]*(?:pub|publish|published|original|release|issued|posted|created)",
    re.I,
)
_NOT_PUBLICATION_RE = re.compile(r"updat|modif|expir|revis|edit", re.I)
_UPDATE_LABEL_RE = re.compile(r"更新|修改|最后|\b(?:updated|modified)\b", re.I)
_LONE_YEAR_RE = re.compile(r"(?<![\w.:/-])(?:19|20)\d{2}(?![\w.:/-])")


def pick_date(
    facts: PageFacts,
    title_index: int,
    body_start: int,
    *,
    selected: str | None,
    list_date: datetime | None,
    now: datetime | None,
) -> tuple[datetime | None, str | None]:
    """The publication time and where it came from (meta / jsonld / selector / body / url / list).
    A date-only value takes its time of day from a later candidate naming the same day (a
    publishdate of 2024-06-11 and a "2024-06-11 10:30" line under the title)."""
    zone = facts.zone
    reference = _reference_date(facts, now)
    url_date = date_from_url(facts.url, zone) or _canonical_url_date(facts)
    candidates: list[tuple[FoundDate | None, str]] = [
        (_meta_date(facts.metas, _GOV_DATE_METAS, zone), ORIGIN_META),
        (_text_date(facts.linked.get("date"), zone), ORIGIN_JSONLD),
        (_meta_date(facts.metas, _OPEN_DATE_METAS, zone), ORIGIN_META),
        (_first_date(_other_publication_values(facts.metas), zone), ORIGIN_META),
        (_line_date(selected, zone, reference, labelled=True) if selected else None, ORIGIN_SELECTOR),
        (_body_date(facts, title_index, body_start, reference), ORIGIN_BODY),
        (FoundDate(url_date, False, 0, 0) if url_date else None, ORIGIN_URL),
        (FoundDate(list_date, True, 0, 0) if list_date else None, ORIGIN_LIST),
    ]
    found = [(candidate, origin) for candidate, origin in candidates if candidate is not None]
    if not found:
        return None, None
    best, origin = found[0]
    if not best.has_time:
        for other, _ in found[1:]:
            if other.has_time and (value := other.value.astimezone(best.value.tzinfo)).date() == best.value.date():
                return value, origin
    return best.value, origin


def _meta_date(metas: dict[str, str], names: Sequence[str], zone: tzinfo) -> FoundDate | None:
    for name in names:
        if (found := _text_date(metas.get(name), zone)) is not None:
            return found
    return None


def _other_publication_values(metas: dict[str, str]) -> list[str]:
    """Values of meta names, beyond the known lists, that say they hold the publication time
    ("article_date_original", "sailthru.pubdate", "publish-timestamp"), never an update time; then the
    publication time of JSON carried in a meta (Parse.ly's ``parsely-page``: {"pub_date": …})."""
    values = [v for n, v in metas.items() if _PUBLICATION_META_RE.search(n) and not _NOT_PUBLICATION_RE.search(n)]
    return values + [found for v in metas.values() if v.startswith("{") and (found := _json_meta_date(v))]


def _first_date(values: Sequence[str], zone: tzinfo) -> FoundDate | None:
    for value in values:
        if (found := _text_date(value, zone)) is not None:
            return found
    return None


def _json_meta_date(value: str) -> str | None:
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for key in ("pub_date", "pubDate", "datePublished", "published_at", "publish_date"):
        if isinstance(data.get(key), str):
            return str(data[key])
    return None


def _text_date(text: str | None, zone: tzinfo) -> FoundDate | None:
    if not text:
        return None
    if (found := find_date(text, zone)) is not None:
        return found
    value = parse_date(text, zone)  # RFC 822 forms
    return FoundDate(value, True, 0, len(text)) if value else None


def _reference_date(facts: PageFacts, now: datetime | None) -> datetime | None:
    """A date that tells the year of a date printed without one: the URL's, a modification time in
    the meta tags, else the caller's clock (never our own)."""
    if (url_date := date_from_url(facts.url, facts.zone) or _canonical_url_date(facts)) is not None:
        return url_date
    if (found := _meta_date(facts.metas, _MODIFIED_METAS, facts.zone)) is not None:
        return found.value
    return now


def _canonical_url_date(facts: PageFacts) -> datetime | None:
    """The date in the URL the page gives for itself (og:url, the gov CMS's url meta)."""
    for name in ("og:url", "url", "twitter:url"):
        if (value := facts.metas.get(name)) and (found := date_from_url(urljoin(facts.url, value), facts.zone)):
            return found
    return None


def _body_date(facts: PageFacts, title_index: int, body_start: int, reference: datetime | None) -> FoundDate | None:
    """The page's date line: next to the title (after it first), else just above the body, else
    any labelled date ("发布日期：…"). Link lists, update times and long sentences never count."""
    blocks = facts.blocks
    order: list[Block] = []
    if title_index >= 0:
        order += blocks[title_index + 1 : title_index + 1 + HEADER_WINDOW]
        order += reversed(blocks[max(0, title_index - HEADER_WINDOW // 4) : title_index])
    if body_start >= 0:  # just above the body, then the top of the body's own block
        order += reversed(blocks[max(0, body_start - HEADER_WINDOW // 2) : body_start])
        order += blocks[body_start : body_start + HEADER_WINDOW // 2]
    order += [b for b in blocks if _DATE_LABEL_RE.search(b.spaced)]
    seen: set[int] = set()
    for block in order:
        if block.index in seen or block.link_ratio > 0.5:
            continue
        seen.add(block.index)
        text = block.spaced
        if text.endswith((":", "：")) and block.index + 1 < len(blocks):  # "发布日期：" | "2019-03-06"
            text = f"{text} {blocks[block.index + 1].spaced}"
        labelled = bool(_DATE_LABEL_RE.search(text))
        if _UPDATE_LABEL_RE.search(text) and not labelled:
            continue
        if not labelled and (len(text) > MAX_DATE_LINE_CHARS or SENTENCE_RE.search(text)):
            continue
        if (found := _line_date(text, facts.zone, reference, labelled=labelled)) is not None:
            return found
    return None


def _line_date(text: str, zone: tzinfo, reference: datetime | None, *, labelled: bool) -> FoundDate | None:
    """The date a short line shows: a complete one, else month and day completed with a year
    printed apart in the same line ("<span>2024</span><span>06/11</span>"), the reference date's
    year, or — after a date label — a two-digit year ("18-03-08")."""
    if (found := find_date(text, zone)) is not None:
        return found
    if year := _LONE_YEAR_RE.search(text):
        reference = datetime(int(year.group()), 7, 1, tzinfo=zone)
        text = text[: year.start()] + " " * len(year.group()) + text[year.end() :]
    if reference is None:
        return None
    found = find_month_day(text, zone, reference, short_year=labelled)
    if found is None:
        return None
    if not labelled and len(text.strip()) - (found.end - found.start) > 12:  # a partial date must be the line
        return None
    return found
