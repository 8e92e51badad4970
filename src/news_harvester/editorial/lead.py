"""Reading the lead of an article body for a summary draft: the body's paragraphs without page furniture
(bylines, captions, editor's notes, 原标题 lines), the dateline or ``据…消息`` opener that starts the lead, and
the date the lead states (or the publication day), rendered as the summary's date prefix.

Pure: values in, values out; the publication day comes in. Steps 1–4 of drafting as described, with the house
style, in :mod:`news_harvester.editorial.summary`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from news_harvester.editorial.house_style import (
    DATE,
    DAY,
    LEAD_DATE_RE,
    MONTH_ALT,
    MONTHS,
    TOD,
    StyleProblem,
    fold,
    format_fields,
)
from news_harvester.editorial.sentences import HAN, is_complete

MAX_SCAN_CHARS = 20_000
"""Only this much of a body is read: a lead of at most a few hundred characters lies well inside it."""
DATELINE_PARAGRAPHS = 5
"""A dateline found among this many leading paragraphs starts the lead."""

_DATELINE_RE = re.compile(
    rf"^(?P<outlet>[{HAN}A-Za-z0-9·\-－—]{{0,24}}?)\s*(?:{DATE}\s*{TOD})?\s*(?P<kind>电|快讯|讯|消息|报道)"
    r"\s*(?P<credit>[（(][^（）()]{0,40}[）)])?\s*[，,：:]?\s*"
)
_JU_RE = re.compile(
    rf"^据\s*(?P<outlet>[^，,。；;：:\s\d]{{1,20}}?)\s*(?:{DATE}\s*{TOD})?\s*(?P<kind>电|讯|消息|报道)\s*[，,：:]?\s*"
)
_NOT_EVENT_AFTER = tuple("起前后至到以之的开截")
_REL_DAY_RE = re.compile(
    r"^(?P<word>今天|今日|昨天|昨日|今)\s*(?:[（(]\s*(?:(?P<m>1[0-2]|0?[1-9])\s*月\s*)?"
    rf"(?P<d>{DAY})\s*日?\s*[）)]\s*日?)?\s*{TOD}\s*(?P<comma>[，,]\s*)?"
)
_VAGUE_RE = re.compile(r"^(?P<word>近日|日前|近期|前不久|不久前|最近|近来)\s*[，,]\s*")
_GENERAL_OPENER_RE = re.compile(r"^(?:综合消息|综合报道|综合媒体报道)\s*[，,：:]\s*")
_EN_DATELINE_RE = re.compile(
    r"^(?:(?P<city>[A-Z][A-Z .'\-]{1,30}[A-Z])(?:,\s*[A-Z][a-zA-Z.]{1,15})?,?\s+)?"
    rf"(?:(?P<mon>{MONTH_ALT})\.?\s+(?P<d>\d{{1,2}})(?:,\s*(?P<y>\d{{4}}))?\s*)?"
    r"(?:\((?P<agency>[A-Za-z ]{2,30})\)\s*)?(?:--|—|–|-)\s*",
    re.I,
)
_EN_LEAD_DATE_RE = re.compile(rf"^On\s+(?P<mon>{MONTH_ALT})\.?\s+(?P<d>\d{{1,2}})(?:,\s*(?P<y>\d{{4}}))?,\s*", re.I)
TAG_RE = re.compile(r"^【(?P<inner>[^【】]{1,30})】\s*")
"""A lone ``【…】`` tag at the start of a paragraph (``【财联社6月11日讯】``)."""
_NOTE_RE = re.compile(r"^(?:[【\[]?\s*(?:编者按|编前语|编者的话|编者注|编辑推荐)|(?:本文)?原标题|[（(]原标题)")
_LABEL_RE = re.compile(r"^(?:内容摘要|内容提要|摘要|导读|核心提示)\s*[:：]\s*")
_CREDIT_RE = re.compile(
    r"^.{0,15}?(?:记者|通讯员|实习生|作者|责任编辑|责编|编辑|摄影|执笔|编译|原创|来源|出品|策划|撰文|文|图)"
    r"\s*[:：/｜|\s]\s*\S"
)
_EN_CREDIT_RE = re.compile(r"^(?:By|Reporting by|Editing by|Photo|Image|Source|Caption|File photo)\b[:\s]", re.I)
_CAPTION_START_RE = re.compile(r"^(?:图为|图片为|图片来源|图源|图注|资料图|图[:：/]|[△▲▼]|[（(]图|视频截图)")
_CAPTION_END_RE = re.compile(
    r"(?:供图|截图|资料照片|资料图|视觉中国|东方IC|新华社发|中新社发)[^。！？]{0,12}[）)]?。?\s*$"
    r"|(?:摄影|摄)[^。！？]{0,12}[）)]?\s*$"
    r"|(?:图片来源|图源|摄影)[:：]"
)


@dataclass(frozen=True, slots=True)
class LeadDate:
    """A date as the lead states it (``day_end`` for a range, ``tod`` a time of day kept before the comma);
    ``origin`` is ``"body"`` or ``"published"``."""

    month: int
    day: int
    year: int | None = None
    day_end: int | None = None
    tod: str = ""
    origin: str = "body"


@dataclass(frozen=True, slots=True)
class LeadOpening:
    """The paragraphs with the dateline and openers stripped from the first, the lead's date, and the
    drafting notes (``style.vague_date``)."""

    paragraphs: list[str]
    date: LeadDate | None
    warnings: tuple[StyleProblem, ...]


# --- body → paragraphs --------------------------------------------------------------------------------------


def body_paragraphs(body: str) -> list[str]:
    """The paragraphs of the body's first ``MAX_SCAN_CHARS`` without page furniture, starting at a dateline
    when one is found among the first ``DATELINE_PARAGRAPHS``."""
    lines = [_squeeze(line) for line in body[:MAX_SCAN_CHARS].splitlines()]
    joined: list[str] = []
    for line in filter(None, lines):
        if joined and joined[-1][-1] in "，、,":
            joined[-1] += line
        else:
            joined.append(line)
    paragraphs = [p for p in (_LABEL_RE.sub("", line) for line in joined if not _is_furniture(line)) if p]
    for i, paragraph in enumerate(paragraphs[:DATELINE_PARAGRAPHS]):
        if find_dateline(TAG_RE.sub("", paragraph)) is not None or _tag_date(paragraph) is not None:
            return paragraphs[i:]
    return paragraphs


def _squeeze(line: str) -> str:
    """Trim, collapse runs of spaces, drop spaces that touch Chinese punctuation."""
    line = " ".join(line.replace("\u3000", " ").split())
    return re.sub(r"\s*([，。、；：？！“”‘’《》（）【】])\s*", r"\1", line)


def _is_furniture(line: str) -> bool:
    if _NOTE_RE.match(line) or _CAPTION_START_RE.match(line) or re.fullmatch(r"【[^【】]*】", line):
        return True
    if re.match(r"^[（(]?(?:来源|稿源|责任编辑|编辑|作者)\s*[:：]", line):
        return True
    short = len(line) <= 60 and not is_complete(line)
    if short and (_CREDIT_RE.match(line) or _EN_CREDIT_RE.match(line)):
        return True
    return len(line) <= 100 and bool(_CAPTION_END_RE.search(line))


# --- the lead's opening: dateline, opener, date -------------------------------------------------------------


def find_dateline(text: str) -> tuple[re.Match[str], LeadDate | None] | None:
    """A Chinese or English dateline at the start of ``text`` and the date it gives."""
    m = _DATELINE_RE.match(text)
    if m and not m["outlet"].startswith("据") and _plausible_dateline(text, m):
        found = LeadDate(int(m["m"]), int(m["d"]), _int(m["y"]), _int(m["d2"]), m["tod"] or "") if m["m"] else None
        return m, found
    m = _EN_DATELINE_RE.match(text)
    if m and (m["city"] or m["agency"]) and (m["city"] is None or m["city"].isupper()):
        return m, LeadDate(MONTHS[m["mon"].lower()], int(m["d"]), _int(m["y"])) if m["mon"] else None
    return None


def _plausible_dateline(text: str, m: re.Match[str]) -> bool:
    outlet, kind = m["outlet"], m["kind"]
    if m["m"]:
        return bool(outlet) or kind in ("电", "讯")
    # Without a date only "…讯" / "…社电" count, and only when a credit, a space, a comma or a digit follows:
    # 通讯, 资讯, 腾讯 and the like are words.
    if not 2 <= len(outlet) <= 16 or outlet[-1] in "通资音简喜审问视短腾" or kind in ("消息", "报道"):
        return False
    if kind == "电" and not outlet.endswith("社"):
        return False
    after = text[m.end("kind") : m.end("kind") + 1]
    return after == "" or after.isspace() or after.isdigit() or after in "（(，,：:"


def _tag_date(paragraph: str) -> LeadDate | None:
    tag = TAG_RE.match(paragraph)
    found = find_dateline(tag["inner"]) if tag else None
    return found[1] if found else None


def open_lead(paragraphs: list[str], published: date | None, source: str) -> LeadOpening:
    """Strip the dateline and openers from the first paragraph and read the lead's date."""
    paragraphs = list(paragraphs)
    found: LeadDate | None = None
    while paragraphs:
        first = paragraphs[0]
        found = _tag_date(first) or found
        first = TAG_RE.sub("", first)
        for _ in range(2):  # 新浪科技讯 北京时间9月11日凌晨消息，…
            dateline = find_dateline(first)
            if dateline is None:
                break
            found = dateline[1] or found
            first = first[dateline[0].end() :]
        first = _GENERAL_OPENER_RE.sub("", first).strip()
        if first:
            paragraphs[0] = first
            break
        paragraphs.pop(0)  # a dateline on a line of its own
    if not paragraphs:
        return LeadOpening([], found, ())
    first, opener = paragraphs[0], ""
    ju = _JU_RE.match(first)
    if ju:
        opener = f"据{ju['outlet']}{ju['kind']}，"
        if ju["m"]:
            found = LeadDate(int(ju["m"]), int(ju["d"]), _int(ju["y"]), _int(ju["d2"]), ju["tod"] or "")
        first = first[ju.end() :]
    own, first = _own_date(first, published)
    warnings: tuple[StyleProblem, ...] = ()
    if own is None and (found or published):
        vague = _VAGUE_RE.match(first)
        if vague:
            first = first[vague.end() :]
            where = "电头" if found else "发布日期"
            message = f"导语只说“{vague['word']}”，日期取自{where}，请核实"
            warnings = (StyleProblem("style.vague_date", message),)
    if ju and not (own or ju["m"]):
        first, opener = ju.group(0) + first, ""  # no date in or after the opener: leave the sentence alone
    if opener and fold(ju["outlet"] if ju else "") == fold(source):
        opener = ""  # the attribution names it already
    paragraphs[0] = opener + _capitalise(first)
    return LeadOpening(paragraphs, own or found, warnings)


def _own_date(text: str, published: date | None) -> tuple[LeadDate | None, str]:
    """A date the lead states at its very start, and the text after it."""
    m = LEAD_DATE_RE.match(text)
    if m and (m["comma"] or (m["tod"] != "起" and not text[m.end() :].startswith(_NOT_EVENT_AFTER))):
        return LeadDate(int(m["m"]), int(m["d"]), _int(m["y"]), _int(m["d2"]), m["tod"] or ""), text[m.end() :]
    m = _EN_LEAD_DATE_RE.match(text)
    if m:
        return LeadDate(MONTHS[m["mon"].lower()], int(m["d"]), _int(m["y"])), text[m.end() :]
    m = _REL_DAY_RE.match(text)
    if m and (m["d"] or (m["word"] != "今" and (m["tod"] or m["comma"]))):
        rest = text[m.end() :]
        if m["m"]:
            return LeadDate(int(m["m"]), int(m["d"]), tod=m["tod"] or ""), rest
        if published is None:
            return None, text
        day = published - timedelta(days=1) if m["word"].startswith("昨") else published
        if m["d"]:
            day = day.replace(day=1) - timedelta(days=1) if int(m["d"]) > day.day else day
            day = _safe_date(day.year, day.month, int(m["d"])) or day
        return LeadDate(day.month, day.day, day.year, tod=m["tod"] or ""), rest
    return None, text


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:] if text[:1].isascii() else text


def render_prefix(date_format: str, found: LeadDate) -> str:
    """The date prefix (``"6 月 11 日下午，"``); "" when ``date_format`` needs a year that is not known."""
    year = found.year
    if "year" in format_fields(date_format) and year is None:
        return ""
    day = f"{found.day}-{found.day_end}" if found.day_end else str(found.day)
    prefix = date_format.format(year=year or "", month=found.month, day=day)
    if found.tod and prefix.endswith(("，", ",")):
        prefix = prefix[:-1] + found.tod + "，"
    return prefix


def resolve_date(found: LeadDate, published: date | None) -> date | None:
    """The calendar date: the stated year, else the year nearest the publication day (Dec/Jan wrap)."""
    if found.year is not None:
        return _safe_date(found.year, found.month, found.day)
    if published is None:
        return None
    candidates = [d for k in (-1, 0, 1) if (d := _safe_date(published.year + k, found.month, found.day))]
    return min(candidates, key=lambda d: abs((d - published).days), default=None)


def _int(value: str | None) -> int | None:
    return int(value) if value else None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
