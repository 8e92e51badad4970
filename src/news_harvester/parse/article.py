"""Article page -> the fields a feed item lacks: body text, publication time, attribution.

Order of trust: government CMS meta tags (ArticleTitle, PubDate, ContentSource), then Open Graph
/ article meta, then the generic extractor (trafilatura) for the body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

import trafilatura
from bs4 import BeautifulSoup

from news_harvester.parse.dates import parse_date

_DATE_METAS = ("PubDate", "pubdate", "publishdate", "article:published_time", "og:article:published_time")
_SOURCE_METAS = ("ContentSource", "source")
_SOURCE_LABEL_RE = re.compile(r"^\s*(?:来源|來源|稿源|source)\s*[:：]\s*", re.I)


@dataclass(frozen=True, slots=True)
class ExtractedPage:
    title: str | None
    body_text: str
    published_at: datetime | None
    date_origin: str | None
    attribution: str | None
    author: str | None


def extract_page(html: str, url: str, zone: tzinfo) -> ExtractedPage:
    """Fields of one article page; an empty ``body_text`` means nothing readable was found."""
    soup = BeautifulSoup(html[:2_000_000], "lxml")
    metas = _metas(soup)
    published = None
    origin = None
    for name in _DATE_METAS:
        if (published := parse_date(metas.get(name.lower()), zone)) is not None:
            origin = "meta"
            break
    body = (
        trafilatura.extract(
            html, url=url, include_tables=True, include_comments=False, favor_precision=True, deduplicate=True
        )
        or ""
    )
    title = metas.get("articletitle") or metas.get("og:title")
    attribution = next((metas[n.lower()] for n in _SOURCE_METAS if metas.get(n.lower())), None)
    if attribution:  # "来源：人民网" → "人民网": the brief prints "（来源：…）" itself
        attribution = _SOURCE_LABEL_RE.sub("", attribution) or None
    return ExtractedPage(
        title=title,
        body_text=body.strip(),
        published_at=published,
        date_origin=origin,
        attribution=attribution,
        author=metas.get("author"),
    )


def _metas(soup: BeautifulSoup) -> dict[str, str]:
    found: dict[str, str] = {}
    for tag in soup.find_all("meta"):
        key = tag.get("name") or tag.get("property") or tag.get("itemprop")
        value = tag.get("content")
        if isinstance(key, str) and isinstance(value, str) and value.strip():
            found.setdefault(key.strip().lower(), value.strip())
    return found
