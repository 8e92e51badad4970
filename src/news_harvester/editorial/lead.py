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
    DAY_RANGE_RE,
    LEAD_DATE_RE,
    MENTION_RE,
    MONTH_ALT,
    MONTHS,
    TOD,
    StyleProblem,
    fold,
    format_fields,
    is_event_time,
    mention_fields,
    reporter_phrase,
)
from news_harvester.editorial.sentences import HAN, is_complete

MAX_SCAN_CHARS = 20_000
"""Only this much of a body is read: a lead of at most a few hundred characters lies well inside it."""
DATELINE_PARAGRAPHS = 5
"""A dateline found among this many leading paragraphs starts the lead."""
AHEAD_DAYS = 10
"""A day of the month without its month (``21日``) is read up to this many days after the reference day."""

_ZONE = r"(?P<zone>当地时间|北京时间|美东时间|當地時間|北京時間)?"
_BARE_DAY = rf"(?P<bd>{DAY})\s*日"
"""A day without its month (``新华社北京21日电``, ``据路透社21日消息``): the month is the reference date's."""
_WORD_ENDS = "通资音简喜审问视短腾資簡審問視騰"
"""Last characters of words ending in 讯 or 电 (通讯, 资讯, 腾讯, 视讯, 短讯): not an outlet's dateline."""
_KINDS = r"电|電|快讯|快訊|专讯|專訊|讯|訊|消息|报道|報道|報導"
_DATELINE = (
    rf"^(?P<outlet>[{HAN}A-Za-z0-9·\-－—]{{0,24}}?(?:\s[{HAN}]{{2,6}}?)?)\s*(?:{_ZONE}\s*(?:{DATE}|{_BARE_DAY})\s*{TOD})%s\s*"
    rf"(?P<kind>{_KINDS})\s*(?P<credit>[（(][^（）()]{{0,40}}[）)])?\s*[，,：:／/]?\s*"
)
_DATELINE_RE = re.compile(_DATELINE % "?")
_DATED_DATELINE_RE = re.compile(_DATELINE % "")
"""The same with the date required: ``經濟通通訊社11日專訊`` is not the outlet ``經濟通通`` and the word 通訊."""
_JU_RE = re.compile(
    rf"^[据據]\s*(?P<outlet>[^，,。；;：:\s\d]{{1,20}}?)\s*(?:{_ZONE}\s*(?:{DATE}|{_BARE_DAY})\s*{TOD})?\s*"
    rf"(?P<kind>{_KINDS})\s*(?P<credit>[（(][^（）()]{{0,40}}[）)])?\s*[，,：:]?\s*"
)
_BARE_LEAD_DATE_RE = re.compile(
    rf"^(?:当地时间|北京时间|美东时间|當地時間|北京時間)?\s*(?P<d>{DAY})\s*日(?:\s*[-—–~～至]\s*(?P<d2>{DAY})\s*日?)?\s*{TOD}\s*(?P<comma>[，,]\s*)?"
)
_NOT_A_SOURCE_RE = re.compile(
    r"的|[上中里内內]$|(?:[发發]布|大|峰|博[览覽]|交易|研[讨討]|座[谈談]|通[气氣]|[见見]面|年|例)[会會]$|[会會][议議]$|[论論]坛$|[论論]壇$"
)
"""A place or an event (``发布会上``, ``在采访中``) rather than who told the reporter: no ``据X消息`` for it."""
_NOT_EVENT_AFTER = tuple("起前后至到以之的开截")
_REL_DAY_RE = re.compile(
    r"^(?P<word>今天|今日|昨天|昨日|今)\s*(?:[（(]\s*(?:(?P<m>1[0-2]|0?[1-9])\s*月\s*)?"
    rf"(?P<d>{DAY})\s*日?\s*[）)]\s*日?)?\s*{TOD}\s*(?P<comma>[，,]\s*)?"
)
_VAGUE_RE = re.compile(r"^(?P<word>近日|日前|近期|前不久|不久前|最近|近来)\s*[，,]\s*")
_GENERAL_OPENER_RE = re.compile(r"^(?:综合消息|综合报道|综合媒体报道)\s*[，,：:]\s*")
_BYLINE_RE = re.compile(
    rf"^(?:[{HAN}]{{0,10}}?(?:记者|記者|通讯员|通訊員|实习生|實習生|见习记者|見習記者)\s*(?:[{HAN}·]{{2,4}}\s+)+)+(?=\d)"
)
"""A byline run into the lead, names spaced, before its date (``极目新闻记者 陈勇 通讯员 祝赟 10月14日，``)."""
_EN_DATELINE_RE = re.compile(
    r"^(?:(?P<city>[A-Z][A-Z .'\-]{1,30}[A-Z])(?:,\s*[A-Z][a-zA-Z.]{1,15})?,?\s+)?"
    rf"(?:(?P<mon>{MONTH_ALT})\.?\s+(?P<d>\d{{1,2}})(?:,\s*(?P<y>\d{{4}}))?\s*)?"
    r"(?:\((?P<agency>[A-Za-z ]{2,30})\)\s*)?(?:--|—|–|-)\s*",
    re.I,
)
_EN_LEAD_DATE_RE = re.compile(rf"^On\s+(?P<mon>{MONTH_ALT})\.?\s+(?P<d>\d{{1,2}})(?:,\s*(?P<y>\d{{4}}))?,\s*", re.I)
TAG_RE = re.compile(r"^(?:【(?P<inner>[^【】]{1,30})】|《(?P<wire>[^《》]{1,28}(?:讯|訊|电|電))》)\s*")
"""A lone ``【…】`` tag at the start of a paragraph (``【财联社6月11日讯】``), or a wire tag in book-title marks
(``《經濟通通訊社12日專訊》``)."""
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


def find_dateline(text: str, ref: date | None = None) -> tuple[re.Match[str], LeadDate | None] | None:
    """A Chinese or English dateline at the start of ``text`` and the date it gives. A dateline that gives
    only the day (``新华社北京21日电``) takes the month of ``ref``, the publication day (no date without it)."""
    for pattern in (_DATELINE_RE, _DATED_DATELINE_RE):
        m = pattern.match(text)
        if m and not m["outlet"].startswith(("据", "據")) and _plausible_dateline(text, m):
            return m, _stated(m, ref)
    m = _EN_DATELINE_RE.match(text)
    if m and (m["city"] or m["agency"]) and (m["city"] is None or m["city"].isupper()):
        return m, LeadDate(MONTHS[m["mon"].lower()], int(m["d"]), _int(m["y"])) if m["mon"] else None
    return None


def _stated(m: re.Match[str], ref: date | None) -> LeadDate | None:
    """The date of a dateline or ``据…电`` match: its month and day, or its bare day in ``ref``'s month."""
    if m["m"]:
        return LeadDate(int(m["m"]), int(m["d"]), _int(m["y"]), _int(m["d2"]), m["tod"] or "")
    return _day_in(int(m["bd"]), ref, tod=m["tod"] or "") if m["bd"] else None


def _plausible_dateline(text: str, m: re.Match[str]) -> bool:
    outlet, kind = m["outlet"], m["kind"]
    if m["m"] or m["bd"]:
        return bool(outlet or m["zone"]) or kind in ("电", "電", "讯", "訊")
    # Without a date only "…讯" / "…社电" count, and only when a credit, a space, a comma or a digit follows:
    # 通讯, 资讯, 腾讯 and the like are words.
    if not 2 <= len(outlet) <= 16 or outlet[-1] in _WORD_ENDS or kind in ("消息", "报道", "報道", "報導"):
        return False
    if kind in ("电", "電") and not outlet.endswith("社"):
        return False
    after = text[m.end("kind") : m.end("kind") + 1]
    return after == "" or after.isspace() or after.isdigit() or after in "（(，,：:"


def _tag_date(paragraph: str, ref: date | None = None) -> LeadDate | None:
    tag = TAG_RE.match(paragraph)
    found = find_dateline(tag["inner"] or tag["wire"], ref) if tag else None
    return found[1] if found else None


def open_lead(paragraphs: list[str], published: date | None, source: str) -> LeadOpening:
    """Strip the dateline, openers and the reporter's sourcing phrase from the first paragraph and read the
    lead's date: one it states at its start, else the time of the first clause's verb (``工信部24日发布``, moved
    into the prefix), else the dateline's."""
    paragraphs = list(paragraphs)
    found: LeadDate | None = None
    while paragraphs:
        first = paragraphs[0]
        found = _tag_date(first, published) or found
        first = TAG_RE.sub("", first)
        for _ in range(2):  # 新浪科技讯 北京时间9月11日凌晨消息，…
            dateline = find_dateline(first, published)
            if dateline is None:
                break
            found = dateline[1] or found
            first = first[dateline[0].end() :]
        first = _BYLINE_RE.sub("", _GENERAL_OPENER_RE.sub("", first)).strip()
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
        found = _stated(ju, _reference(found, published)) or found
        first = first[ju.end() :]
    ref = _reference(found, published)
    own, first = _own_date(first, published, ref)
    reporter = reporter_phrase(first, at_start=True)
    if reporter:  # 记者21日从工业和信息化部获悉，… : the date goes to the prefix, the source to 据X消息
        when = MENTION_RE.fullmatch(reporter["when"] or "")
        own = _mentioned(when, _reference(own or found, published)) or own
        first = first[reporter.end() :]
        opener = opener or ("" if first.startswith(("据", "據")) else _source_opener(reporter))
        later, first = _own_date(first, published, _reference(own or found, published))
        own = later or own  # 今（9）日，记者从…了解到，9月7日，… : the event's day
    ref = _reference(own or found, published)
    warnings: tuple[StyleProblem, ...] = ()
    if own is None and (found or published):
        vague = _VAGUE_RE.match(first)
        if vague:
            first = first[vague.end() :]
            where = "电头" if found else "发布日期"
            message = f"导语只说“{vague['word']}”，日期取自{where}，请核实"
            warnings = (StyleProblem("style.vague_date", message),)
        else:
            own, first = _clause_date(first, ref)
    if ju and not (own or ju["m"] or ju["bd"] or reporter):
        first, opener = ju.group(0) + first, ""  # no date in or after the opener: leave the sentence alone
    if opener and fold(ju["outlet"] if ju else opener[1:-3]) == fold(source):
        opener = ""  # the attribution names it already
    paragraphs[0] = opener + _capitalise(first)
    return LeadOpening(paragraphs, own or found, warnings)


def _source_opener(reporter: re.Match[str]) -> str:
    """``据X消息，`` for the organisation a reporter's phrase names (``从商务部获悉``); "" for a place or an event
    (``在采访中了解到``, ``从新闻发布会上获悉``): the sentence then starts after the phrase."""
    source = (reporter["src"] or "").strip()
    if reporter["prep"] not in ("从", "從", "自") or not source or _NOT_A_SOURCE_RE.search(source):
        return ""
    return f"据{source}消息，"


def _own_date(text: str, published: date | None, ref: date | None) -> tuple[LeadDate | None, str]:
    """A date the lead states at its very start, and the text after it."""
    m = LEAD_DATE_RE.match(text)
    if m and (m["comma"] or (m["tod"] != "起" and not text[m.end() :].startswith(_NOT_EVENT_AFTER))):
        return LeadDate(int(m["m"]), int(m["d"]), _int(m["y"]), _int(m["d2"]), m["tod"] or ""), text[m.end() :]
    m = _BARE_LEAD_DATE_RE.match(text)
    if m and (m["comma"] or (m["tod"] and m["tod"] != "起")):  # "21日，", "4日凌晨,"; never "13日发布的"
        bare = _day_in(int(m["d"]), ref, tod=m["tod"] or "", day_end=_int(m["d2"]))
        return (bare, text[m.end() :]) if bare else (None, text)
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


def _clause_date(text: str, ref: date | None) -> tuple[LeadDate | None, str]:
    """The date of the first clause's verb (``美国商务部9月29日发布…``, ``市场监管总局于24日联合公布``,
    ``机构周二(10月30日)表示``) taken out of the sentence: the prefix states it."""
    clause = re.split(r"[，,；;。！？!?：:]", text, maxsplit=1)[0]
    for m in MENTION_RE.finditer(clause):
        subject = clause[: m.start()].strip()
        if len(subject) < 2 or not is_event_time(text, m):
            continue
        found = _mentioned(m, ref)
        return (found, text[: m.start()].rstrip() + text[m.end() :].lstrip()) if found else (None, text)
    return None, text


def _mentioned(m: re.Match[str] | None, ref: date | None, p: str = "") -> LeadDate | None:
    if m is None:
        return None
    year, month, day = mention_fields(m, p)
    tod = m[f"{p}tod"] or ""
    return LeadDate(month, day, year, tod=tod) if month else _day_in(day, ref, tod=tod)


def _reference(found: LeadDate | None, published: date | None) -> date | None:
    """The day a bare "21日" is read against: the dateline's date, else the publication day."""
    return (resolve_date(found, published) if found else None) or published


def _day_in(day: int, ref: date | None, *, tod: str = "", day_end: int | None = None) -> LeadDate | None:
    """``day`` in ``ref``'s month when it is at most ``AHEAD_DAYS`` after ``ref`` (a lead reports the past and
    announces the coming days: ``8日`` read on the 25th, ``21日`` on the 16th), else in the month before
    (``30日`` read on the 2nd)."""
    if ref is None:
        return None
    base = ref.replace(day=1)
    if day > ref.day + AHEAD_DAYS:
        base = (base - timedelta(days=1)).replace(day=1)
    if _safe_date(base.year, base.month, day) is None:
        return None
    return LeadDate(base.month, day, base.year, day_end=day_end, tod=tod)


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:] if text[:1].isascii() else text


# --- the lead's sentences ---------------------------------------------------------------------------------------


def tidy_sentence(sentence: str, lead_date: LeadDate | None) -> str:
    """A lead sentence without what the date prefix already says or a reporter adds: a sourcing phrase at its
    start (``记者从商务部获悉，`` → ``据商务部消息，``), a mention of the prefix's own date as the time of a verb
    (``总局24日联合公布`` → ``总局联合公布``), and a day range written the house way (``19-26日`` →
    ``19日至26日``). The style check flags what is left (:func:`~.house_style.style_check`)."""
    reporter = reporter_phrase(sentence, at_start=True)
    if reporter and reporter.end() < len(sentence):
        rest = sentence[reporter.end() :]
        sentence = ("" if rest.startswith(("据", "據")) else _source_opener(reporter)) + rest
    if lead_date is not None and lead_date.day_end is None:
        for m in reversed(list(MENTION_RE.finditer(sentence))):
            year, month, day = mention_fields(m)
            same = day == lead_date.day and month in (None, lead_date.month) and year in (None, lead_date.year)
            if same and (year is None or lead_date.year is not None) and is_event_time(sentence, m):
                sentence = sentence[: m.start()].rstrip() + sentence[m.end() :].lstrip()
    return DAY_RANGE_RE.sub(lambda m: f"{m['d']}日至{m['d2']}日", sentence)


def render_prefix(date_format: str, found: LeadDate) -> str:
    """The date prefix (``"6 月 11 日下午，"``); "" when ``date_format`` needs a year that is not known. A range
    repeats the day's unit around 至 (``"6 月 10 日至 11 日，"``), as the sample writes ``2023 年至 2028 年间``."""
    year = found.year
    if "year" in format_fields(date_format) and year is None:
        return ""
    day = str(found.day)
    if found.day_end:
        unit = date_format.split("{day}", 1)[1].split("{", 1)[0].rstrip("，,")
        day = f"{found.day}{unit}至{' ' if unit[:1].isspace() else ''}{found.day_end}"
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
