"""Article page facts besides the body and the date: title, attribution, author, site, column.

Pure functions over a parsed page: no network, no clock. (:mod:`.article_date` reads the
publication time with the same order of trust.) Order of trust, field by field:

1. government-CMS meta tags (ArticleTitle, ContentSource, SiteName, ColumnName), which these
   CMSs fill from the editor's own record;
2. JSON-LD (NewsArticle / Article: headline, author, publisher), then Open Graph and ``article:*``
   meta — a claimed title is checked against the visible heading, because og:title is often cut
   at a quotation mark or carries the site name;
3. the source's CSS selectors (the caller passes what they matched);
4. the page itself: the visible heading the <title> was built from (else the headline above the
   first date line, the list page's title, the <h1>, the longest part of the <title>); "来源：…" /
   "作者：…" / "记者 XXX" lines for attribution and author, those near the title first.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from news_harvester.parse.blocks import Block
from news_harvester.parse.clean import normalize_line
from news_harvester.parse.dates import find_date

HEADER_WINDOW = 25
"""Blocks after the title searched for the date, source and author lines (before it: a quarter)."""
MAX_DATE_LINE_CHARS = 60
"""A date line is short; a longer block is a sentence that merely mentions a date (unless labelled)."""

# Meta names, lower-cased.
_SOURCE_METAS = ("contentsource", "source", "article:source", "og:source")
_AUTHOR_METAS = ("author", "article:author", "og:article:author", "dc.creator", "byline", "sailthru.author")
_SITE_METAS = ("sitename", "og:site_name", "application-name", "twitter:site")
_COLUMN_METAS = ("columnname", "article:section", "og:category", "lanmu")
_ARTICLE_TYPES = re.compile(r"article|posting|report", re.I)
_JSON_FIELD_RE = re.compile(r'"(headline|title|datePublished|pubDate|dateCreated)"\s*:\s*"([^"]{4,300})"')

# <title> separators: "_", "|", "｜", "--", "::", " - ", and a bare "-" next to a CJK character
# ("需求-新华网"), but never inside "1-10月" or "Wi-Fi".
_TITLE_SEP_RE = re.compile(
    r"\s+[-|–—·•]\s+|\s*(?:_+|\|+|｜|-{2,}|—{2}|::|»|«)\s*|(?<=[\u3400-\u9fff])\s*-\s*|\s*-\s*(?=[\u3400-\u9fff])"
)
_TITLE_BREAK_RE = re.compile(r"\s+|[（(<＜《【\[]")
SENTENCE_RE = re.compile(r"[。，；！？]|\.\s")
_SOURCE_RE = re.compile(r"(?<![图片像照频画据])(?:文章|稿件|信息|新闻|本文|内容)?(?:来源|來源|出处|稿源)于?\s*[:：]\s*")
_SOURCE_STOP_RE = re.compile(
    r"\s{2,}|\t|(?<=[\u3400-\u9fff])\s|\s*[|｜/【\[（(]|\s*(?:19|20)\d{2}\s*[-/.年]|\s+\S{1,6}\s*[:：]"
    r"|\s*(?:作者|责任编辑|编辑|责编|记者|发布|时间|日期|点击|浏览|阅读|字号|分享|打印)"
)
_AUTHOR_LABEL_RE = re.compile(r"(?:作者|撰文|撰稿|文)\s*[:：/|]\s*|(?<![a-z])by\s+", re.I)
# "（记者 陆一夫）", "记者王敬照 编辑…": a 2–4 character name that ends at a space, a bracket or the line.
_REPORTER_RE = re.compile(
    r"(?:^|[\s（(【\[])(?:本报|本台|本网|新华社|中新社|见习)?记者\s*"
    r"(?P<v>[\u4e00-\u9fff·]{2,4}(?:[ 、][\u4e00-\u9fff·]{2,4})*)(?=$|[\s）)】\]/|])"
)
_AUTHOR_STOP_RE = re.compile(
    r"\s{2,}|\t|\s*[|｜,，、;；（(【\[】\]）)]|\s+\S{1,6}\s*[:：]|\s*(?:19|20)\d{2}\s*[-/.年]|\s+(?:at|on|in)\s"
)
_AUTHOR_SHAPE_RE = re.compile(r"^(?:[\u4e00-\u9fff·]{2,5}(?:[ 、][\u4e00-\u9fff·]{2,5}){0,3}|[A-Za-z][\w .'-]{1,40})$")
_BAD_NAME_RE = re.compile(r"^\d+$|https?:|www\.|@|\.(?:com|cn|net)\b|[<>{}=]", re.I)
_HAS_LETTER_RE = re.compile(r"[^\W\d_]")
_CJK_RE = re.compile(r"[\u3400-\u9fff]")
MAX_CJK_NAME_CHARS = 20
"""An author field in Chinese longer than this is a phrase, not names ("本报记者 张三 李四" fits)."""


@dataclass(slots=True)
class PageFacts:
    """What the field pickers read: the page's meta tags (lower-case names), JSON-LD fields, its
    <title>, and its text blocks."""

    url: str
    zone: tzinfo
    metas: dict[str, str]
    linked: dict[str, str]
    doc_title: str
    blocks: list[Block]


def read_facts(root: Any, url: str, zone: tzinfo, blocks: list[Block]) -> PageFacts:
    title_tag = root.find(".//title")
    doc_title = normalize_line(title_tag.text_content()) if title_tag is not None else ""
    return PageFacts(url, zone, _read_metas(root), _linked_data(root), doc_title, blocks)


def title_key(text: str) -> str:
    """Text compared without spacing, case or full-/half-width differences."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


# --------------------------------------------------------------------------- meta tags and JSON-LD


def _read_metas(root: Any) -> dict[str, str]:
    """First non-empty content of each <meta name|property|itemprop>, names lower-cased and
    stripped ("og:time " occurs); a <time pubdate> or itemprop=datePublished as "datepublished"."""
    found: dict[str, str] = {}
    for tag in root.iter("meta"):
        key = tag.get("name") or tag.get("property") or tag.get("itemprop")
        value = tag.get("content")
        if key and value and (value := normalize_line(value)):
            found.setdefault(key.strip().lower(), value)
    for tag in root.iter("time"):
        if tag.get("datetime") and (tag.get("pubdate") is not None or tag.get("itemprop") == "datePublished"):
            found.setdefault("datepublished", tag.get("datetime"))
    return found


def _linked_data(root: Any) -> dict[str, str]:
    """headline / date / author / publisher / section from JSON-LD, article types first (Baidu's
    "cambrian" blocks name them title / pubDate); a malformed block is read by pattern."""
    found: dict[str, str] = {}
    for script in root.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text, strict=False)
        except ValueError:
            for key, value in _JSON_FIELD_RE.findall(script.text):
                found.setdefault("headline" if key in ("headline", "title") else "date", value)
            continue
        for obj in sorted(_json_objects(data), key=lambda o: not _ARTICLE_TYPES.search(str(o.get("@type", "")))):
            _take_linked(obj, found)
    return found


def _json_objects(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 4:
        return
    if isinstance(data, list):
        for item in data:
            yield from _json_objects(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _json_objects(data["@graph"], depth + 1)


def _take_linked(obj: dict[str, Any], found: dict[str, str]) -> None:
    for field, keys in (
        ("headline", ("headline", "title")),
        ("date", ("datePublished", "pubDate", "dateCreated", "uploadDate")),
        ("section", ("articleSection",)),
    ):
        for key in keys:
            value = obj.get(key)
            if isinstance(value, list) and value:
                value = value[0]
            if isinstance(value, str) and (value := normalize_line(value)):
                found.setdefault(field, value)
                break
    for field in ("author", "publisher"):
        if (name := _json_name(obj.get(field))) is not None:
            found.setdefault(field, name)


def _json_name(value: Any) -> str | None:
    if isinstance(value, list):
        names = [n for v in value if (n := _json_name(v))]
        return "、".join(names) if names else None
    if isinstance(value, dict):
        value = value.get("name")
    return (normalize_line(value) or None) if isinstance(value, str) else None


# --------------------------------------------------------------------------- title


def pick_title(facts: PageFacts, *, selected: str | None, list_title: str | None) -> str | None:
    """The article's title (order of trust in the module docstring); ``selected`` is what the
    source's title selectors matched, ``list_title`` what its list page said."""
    metas = facts.metas
    if title := metas.get("articletitle"):
        return title
    site = declared_site(facts)
    visible = _visible_title(facts, site)
    for claimed in (facts.linked.get("headline"), metas.get("og:title"), metas.get("twitter:title")):
        if claimed and (title := _checked_claim(claimed, visible, site)):
            return _as_shown(facts, title)
    if selected:
        return selected
    if visible is not None:
        return visible
    if (title := _heading_before_date(facts)) is not None:
        return title
    if list_title:
        return list_title
    h1 = next((b.text for b in facts.blocks if b.path[-1].tag == "h1" and 2 <= b.chars <= 150), None)
    if h1 and title_key(h1) != title_key(site_name(facts) or ""):
        return h1
    parts = [facts.doc_title[a:b].strip() for a, b in _title_parts(facts.doc_title)]
    return max(parts, key=len) if parts else None


_QUOTE_FOLD = str.maketrans(
    {"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-"}
)


def _as_shown(facts: PageFacts, title: str) -> str:
    """The title as the page's heading prints it, when the meta / JSON-LD copy differs only in its quotes and
    dashes (a CMS writes "Heartsteel's" into og:title, the page shows "Heartsteel’s")."""
    folded = title_key(title).translate(_QUOTE_FOLD)
    for block in facts.blocks:
        shown = block.heading and block.chars <= 300 and block.text != title
        if shown and title_key(block.text).translate(_QUOTE_FOLD) == folded:
            return block.text
    return title


def find_title_block(blocks: list[Block], title: str | None) -> int:
    """Index of the block showing the title (possibly with a short badge such as "原创"), or -1."""
    if not title:
        return -1
    key = title_key(title)
    for block in blocks:
        if block.chars > 300:
            continue
        for text in _line_runs(block):
            seen = title_key(text)
            if seen == key or (len(seen) >= 8 and key.startswith(seen)):
                return block.index
            if len(seen) - len(key) <= 6 and key and (seen.endswith(key) or seen.startswith(key)):
                return block.index
    return -1


def _title_parts(doc_title: str) -> list[tuple[int, int]]:
    """Spans of the separator-delimited parts of a <title> ("标题_栏目_网站" → three spans)."""
    spans = []
    start = 0
    for match in _TITLE_SEP_RE.finditer(doc_title):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(doc_title)))
    return [(a, b) for a, b in spans if doc_title[a:b].strip()]


def _visible_title(facts: PageFacts, site: str | None) -> str | None:
    """The visible text the <title> was built from: equal to a run of its parts ("A_B_C" → A,
    A_B, B …), or a start of it that ends at a space or bracket, or a long enough start of it;
    never its last part when that is shorter than the rest (the site name). Longest wins, then
    headings."""
    doc_title = facts.doc_title
    if not doc_title:
        return None
    spans = _title_parts(doc_title)
    keys = {title_key(doc_title[spans[i][0] : spans[j][1]]) for i in range(len(spans)) for j in range(i, len(spans))}
    keys.update(title_key(doc_title[: m.start()]) for m in _TITLE_BREAK_RE.finditer(doc_title) if m.start() >= 4)
    parts = [doc_title[a:b] for a, b in spans]
    excluded = {title_key(site or "")}
    if len(parts) > 1 and len(parts[-1]) < max(len(p) for p in parts[:-1]):
        excluded.add(title_key(parts[-1]))
    whole = title_key(doc_title)
    best: tuple[int, bool, str] | None = None
    for block in facts.blocks:
        if not 2 <= block.chars <= 300 or (block.link_ratio > 0.5 and not block.heading):
            continue
        for text in _line_runs(block):
            key = title_key(text)
            if (
                2 <= len(key) <= 150
                and key not in excluded
                and (key in keys or (len(key) >= 8 and whole.startswith(key)))
            ):
                candidate = (len(key), block.heading, text)
                if best is None or candidate[:2] > best[:2]:
                    best = candidate
    return best[2] if best else None


def _line_runs(block: Block) -> list[str]:
    """The block's text and, for a block of a few lines, every run of its lines: a title broken
    over lines with <br>, or sharing its block with a date or a badge."""
    lines = block.lines
    if len(lines) == 1:
        return [block.text]
    if len(lines) > 6:
        return [block.text, *lines]
    return [" ".join(lines[i:j]) for i in range(len(lines)) for j in range(len(lines), i, -1)]


def _checked_claim(claimed: str, visible: str | None, site: str | None) -> str | None:
    """A meta / JSON-LD title, unless the visible heading shows it was cut short or padded; then
    the heading. A leading or trailing declared site name is cut off; the site name alone is no
    title."""
    if site and title_key(claimed) == title_key(site):
        return None
    if visible is not None:
        seen, said = title_key(visible), title_key(claimed)
        if seen != said and (seen.startswith(said) or said in seen or seen in said):
            return visible
    parts = _title_parts(claimed)
    if site and len(parts) > 1:  # "NEWS WEB EASY|子どもへの…", "标题 - 网站名"
        if title_key(claimed[parts[0][0] : parts[0][1]]) == title_key(site):
            return claimed[parts[1][0] :].strip()
        if title_key(claimed[parts[-1][0] : parts[-1][1]]) == title_key(site):
            return claimed[: parts[-2][1]].strip()
    return claimed


def _heading_before_date(facts: PageFacts) -> str | None:
    """The headline-like block just above the first date line, for pages whose <title> names only
    the site or the column ("新闻动态--某学会官网")."""
    blocks = facts.blocks
    for block in blocks:
        if block.link_ratio <= 0.5 and block.chars <= MAX_DATE_LINE_CHARS and find_date(block.spaced, facts.zone):
            for previous in reversed(blocks[max(0, block.index - 3) : block.index]):
                text = previous.text
                if (
                    5 <= previous.chars <= 100
                    and previous.link_ratio <= 0.5
                    and not text.endswith((":", "："))
                    and not re.search(r"[>»。]|首页|当前位置", text)
                ):
                    return text
            return None
    return None


# --------------------------------------------------------------------------- attribution, author, site


def pick_attribution(facts: PageFacts, title_index: int) -> str | None:
    """来源: the CMS's ContentSource / source meta (label removed), else the value of the first
    "来源：" / "文章来源：" / "稿件来源：" line, the header's first: up to a whitespace run or the
    next label (作者, 责任编辑 …); never an image credit ("图片来源：")."""
    for name in _SOURCE_METAS:
        if (value := facts.metas.get(name)) and (source := _source_value(value, labelled=False)):
            return source
    blocks = facts.blocks
    for block in _header_first(blocks, title_index):
        if block.link_ratio > 0.8 or block.chars > 200:
            continue
        for match in _SOURCE_RE.finditer(block.spaced):
            rest = block.spaced[match.end() :]
            if not rest.strip() and block.index + 1 < len(blocks):
                rest = blocks[block.index + 1].spaced
            if source := _source_value(rest, labelled=True):
                return source
    return None


def _source_value(text: str, *, labelled: bool) -> str | None:
    text = normalize_line(text)
    if not labelled:  # a meta value: "来源：人民网-文化频道 原创稿" keeps its inner space
        text = _SOURCE_RE.sub("", text, count=1) if _SOURCE_RE.match(text) else text
        return text if 1 < len(text) <= 40 and not _BAD_NAME_RE.search(text) else None
    value = _SOURCE_STOP_RE.split(text, maxsplit=1)[0].strip(" :：,，。")
    if not 2 <= len(value) <= 30 or _BAD_NAME_RE.search(value) or not _HAS_LETTER_RE.search(value):
        return None
    return value


def pick_author(facts: PageFacts, title_index: int, site: str | None, attribution: str | None) -> str | None:
    """作者: meta or JSON-LD author, else an "作者：" / "文/" / "记者 XXX" line. Never a bare number,
    a URL, an e-mail, a long phrase, or the site's or source's own name; a name read from the page
    text must also look like names (2–5 Chinese characters each, or a Latin name)."""
    banned = {title_key(name) for name in (site, attribution) if name}
    banned.update(title_key(part) for part in _TITLE_SEP_RE.split(facts.doc_title)[1:] if part.strip())
    for claimed in [facts.metas.get(name) for name in _AUTHOR_METAS] + [facts.linked.get("author")]:
        if claimed and (name := _author_name(claimed, banned, strict=False)):
            return name
    for block in _header_first(facts.blocks, title_index):
        if block.chars > 200 or block.link_ratio > 0.8:
            continue
        found = []
        if match := _AUTHOR_LABEL_RE.search(block.spaced):
            found.append(_AUTHOR_STOP_RE.split(block.spaced[match.end() :], maxsplit=1)[0])
        if match := _REPORTER_RE.search(block.spaced):
            found.append(match["v"])
        for text in found:
            if name := _author_name(re.sub(r"^(?:本报|本台|见习)?记者\s*", "", text.strip()), banned, strict=True):
                return name
    return None


def _author_name(text: str, banned: set[str], *, strict: bool) -> str | None:
    name = normalize_line(text).strip(" :：,，。")
    longest = MAX_CJK_NAME_CHARS if _CJK_RE.search(name) else 40
    if not name or len(name) > longest or _BAD_NAME_RE.search(name) or not _HAS_LETTER_RE.search(name):
        return None
    if strict and not _AUTHOR_SHAPE_RE.match(name):
        return None
    key = title_key(name)
    if any(key == b or (len(key) >= 2 and key in b) for b in banned if b):
        return None
    return name


def _header_first(blocks: list[Block], title_index: int) -> Iterator[Block]:
    """Blocks near the title first (where bylines sit), then the rest of the page in order."""
    if title_index < 0:
        yield from blocks
        return
    near = blocks[title_index + 1 : title_index + 1 + HEADER_WINDOW]
    yield from near
    done = {b.index for b in near}
    yield from (b for b in blocks if b.index not in done)


def declared_site(facts: PageFacts) -> str | None:
    """The site name the page declares: SiteName, og:site_name …, JSON-LD publisher."""
    metas = facts.metas
    site = next((metas[n] for n in _SITE_METAS if metas.get(n) and not metas[n].startswith("@")), None)
    return site or facts.linked.get("publisher")


def site_name(facts: PageFacts) -> str | None:
    """The declared site name, else the last part of a "标题_栏目_网站" <title>."""
    if site := declared_site(facts):
        return site
    parts = [facts.doc_title[a:b].strip() for a, b in _title_parts(facts.doc_title)]
    if len(parts) >= 2 and len(parts[-1]) <= 20 and parts[-1].count("(") == parts[-1].count(")"):
        return parts[-1]
    return None


def column_name(facts: PageFacts) -> str | None:
    """ColumnName / article:section / og:category / JSON-LD articleSection, else the middle part of
    a "标题_栏目_网站" <title>."""
    metas = facts.metas
    if column := next((metas[n] for n in _COLUMN_METAS if metas.get(n)), None) or facts.linked.get("section"):
        return column
    parts = [facts.doc_title[a:b].strip() for a, b in _title_parts(facts.doc_title)]
    return parts[-2] if len(parts) >= 3 and len(parts[-2]) <= 12 else None
