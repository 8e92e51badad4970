"""Summary drafts for the brief's 行业资讯 items in the house style, and a style check for edited summaries.

Pure: values in, values out; no DB, no network, no clock (the publication time comes in). It never changes a
summary an editor wrote: :func:`draft_summary` runs only when a story is accepted or a regeneration is asked
for explicitly; :func:`style_check` only reads.

House style, read from the reference issue (``shared/design/sample-issue.md``, 2024 年第 6 期, 8 行业资讯 items):

* The paragraph opens with the event date, ``"6 月 11 日，"`` (``DEFAULT_DATE_FORMAT``; configurable, with
  ``{year}``, ``{month}`` and ``{day}`` fields). A time of day stated by the source stays before the comma
  (``"6 月 17 日下午，"``, as in the sample's 协会动态). The date is the one the lead states (its first clause,
  or a dateline such as ``新华社北京6月11日电``), else the publication day in the source's timezone. Sample
  items 3 and 6 write ``"6月13日"`` without the spaces and item 7 opens with ``据阿通社 6月4日消息``: the check
  flags those (``style.date_format``, ``style.no_date``) so that an issue reads uniformly.
* Then the lead sentences of the canonical article, whole sentences only. Length: **non-whitespace characters
  of the paragraph, date prefix included, attribution excluded** (:func:`summary_length`). Whitespace is not
  counted because the sample's spacing between Chinese and digits or Latin ("商务部等 9 部门") is typography:
  item 4 is 341 characters with its spaces and 302 without. The 8 sample paragraphs measure 334, 337, 199,
  302, 323, 224, 251 and 205 (with whitespace: 339, 343, 199, 341, 328, 229, 276, 224), all inside the
  150–400 window.
* Then ``"（来源：商务部网站）"`` with the canonical source's display name, full-width, on its own line under
  the paragraph (:attr:`SummaryDraft.full` joins them with one newline). The sample also has ``"(来源:财联社)"``
  and ``"(来源：新华社)"``; the check flags those (``style.attribution_format``).

Drafting (:func:`draft_summary`):

1. Only the first ``MAX_SCAN_CHARS`` of the body are read (a lead never needs more), so a huge body is cheap.
   Lines ending in "，" or "、" are joined with the next (sites break sentences across lines).
2. Page furniture is dropped: 原标题 lines, editor's notes (编者按, 编前语), bylines (``澎湃新闻记者 段彦超``,
   ``执笔/…``), photo captions (``图为…``, ``…供图``, ``（刘通摄）``), 来源/责任编辑 lines, lone ``【…】`` tags.
   A paragraph without sentence punctuation and without a clause mark is a heading and is skipped; one with a
   clause mark but no final stop gets "。" (a site that drops its full stops).
3. A dateline among the first paragraphs starts the lead (what comes before it is site furniture): ``新华社北京
   6月11日电（记者 王某）``, ``本报讯（记者…）``, ``新浪科技讯``, ``【财联社6月11日讯】``, ``IT之家9月30日消息``,
   English ``BEIJING, June 11 (Xinhua) --``. Its date is used unless the lead states its own.
4. The lead's own date, at its start: ``6月11日，``, ``2024年6月11日下午，``, ``5月10-12日，``, ``当地时间6月4日``,
   ``今天(9月7日)下午``, ``今（9）日``, ``On June 11,``; or after a ``据商务部网站消息，`` opener, which is kept
   as ``据X消息，`` after the date unless X is the source itself (the attribution names it already). A year the
   lead omits is the one nearest the publication date (so 12月30日 read on 2 January is last year's).
   ``近日，``/``日前，`` give no day: the publication day is used and ``style.vague_date`` asks to verify.
5. The headline. A leading paragraph that is (nearly: ``TITLE_SIMILARITY``) the headline, a copied headline or
   subtitle, is skipped unless it is needed to reach ``min_chars``. A lead sentence that restates the headline
   within its paragraph is kept: the sentences after it lean on it, and the sample does exactly that (item 1:
   "…联合印发《关于…的意见》。《意见》明确，…"; without the first sentence 《意见》 would be unintroduced).
   The check flags a sentence that is the headline verbatim (folding width, spacing and punctuation:
   ``style.repeats_title``), so such a draft reaches the editor with that warning.
   Sentences come from :func:`split_sentences` (never split inside quotes or brackets); one whose quotes or
   brackets do not pair up in the source, or that carries a link, is left out.
6. Whole sentences are taken until the next would pass ``max_chars``; the lead stops at a subheading once
   ``min_chars`` is reached. A first sentence longer than the window is cut at its last "；" or "，" (outside
   any quote or bracket) that fits, ending in "。" (``style.cut_clause``). Half-width punctuation next to
   Chinese text becomes full-width (``"消息,迪拜"`` → ``"消息，迪拜"``, ``"人工智能 (AI) 技术"`` →
   ``"人工智能（AI）技术"``).

English bodies follow the same rules with English sentence splitting (abbreviations such as "U.S." do not end
a sentence); the date prefix stays Chinese because the brief is Chinese, and the window counts characters, so
an English draft holds fewer words.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from difflib import SequenceMatcher
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_DATE_FORMAT = "{month} 月 {day} 日，"
DEFAULT_MIN_CHARS = 150
DEFAULT_MAX_CHARS = 400
MAX_SCAN_CHARS = 20_000
"""Only this much of a body is read: a lead of at most a few hundred characters lies well inside it."""
DATELINE_PARAGRAPHS = 5
"""A dateline found among this many leading paragraphs starts the lead."""
TITLE_SIMILARITY = 0.8
"""difflib ratio at or above which a leading paragraph counts as a copy of the headline."""

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{_HAN}\u3000-\u303f\uff00-\uffef]")
_HAN_RE = re.compile(f"[{_HAN}]")
_PAIRS = {
    "“": "”",
    "‘": "’",
    "《": "》",
    "（": "）",
    "(": ")",
    "【": "】",
    "[": "]",
    "「": "」",
    "『": "』",
    "〈": "〉",
}
_CLOSERS = {v: k for k, v in _PAIRS.items()}
_QUOTE_CLOSERS = frozenset('”’」』"')
_STOPS = frozenset("。！？!?…")
_CLAUSE_MARKS = "，；,;"
_TOD = r"(?P<tod>上午|下午|中午|晚上|晚间|傍晚|凌晨|早上|早间|清晨|夜间|晚|早|起)?"
"""A time of day, or 起 ("6月10日起，新规施行"), kept between the date and its comma."""
_DAY = r"3[01]|[12]\d|0?[1-9]"
_DATE = (
    r"(?:(?P<y>(?:19|20)\d{2})\s*年\s*)?(?P<m>1[0-2]|0?[1-9])\s*月\s*"
    rf"(?P<d>{_DAY})\s*(?:日|号)?\s*(?:(?P<sep>[-—–~～至])\s*(?P<d2>{_DAY})\s*)?(?:日|号)"
)
_DATELINE_RE = re.compile(
    rf"^(?P<outlet>[{_HAN}A-Za-z0-9·\-－—]{{0,24}}?)\s*(?:{_DATE}\s*{_TOD})?\s*(?P<kind>电|快讯|讯|消息|报道)"
    r"\s*(?P<credit>[（(][^（）()]{0,40}[）)])?\s*[，,：:]?\s*"
)
_JU_RE = re.compile(
    rf"^据\s*(?P<outlet>[^，,。；;：:\s\d]{{1,20}}?)\s*(?:{_DATE}\s*{_TOD})?\s*(?P<kind>电|讯|消息|报道)\s*[，,：:]?\s*"
)
_LEAD_DATE_RE = re.compile(rf"^(?:当地时间|北京时间|美东时间)?\s*{_DATE}\s*{_TOD}\s*(?P<comma>[，,]\s*)?")
_NOT_EVENT_AFTER = tuple("起前后至到以之的开截")
_REL_DAY_RE = re.compile(
    r"^(?P<word>今天|今日|昨天|昨日|今)\s*(?:[（(]\s*(?:(?P<m>1[0-2]|0?[1-9])\s*月\s*)?"
    rf"(?P<d>{_DAY})\s*日?\s*[）)]\s*日?)?\s*{_TOD}\s*(?P<comma>[，,]\s*)?"
)
_VAGUE_RE = re.compile(r"^(?P<word>近日|日前|近期|前不久|不久前|最近|近来)\s*[，,]\s*")
_GENERAL_OPENER_RE = re.compile(r"^(?:综合消息|综合报道|综合媒体报道)\s*[，,：:]\s*")
_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            "jan january",
            "feb february",
            "mar march",
            "apr april",
            "may",
            "jun june",
            "jul july",
            "aug august",
            "sep sept september",
            "oct october",
            "nov november",
            "dec december",
        ],
        start=1,
    )
    for m in names.split()
}
_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))
_EN_DATELINE_RE = re.compile(
    r"^(?:(?P<city>[A-Z][A-Z .'\-]{1,30}[A-Z])(?:,\s*[A-Z][a-zA-Z.]{1,15})?,?\s+)?"
    rf"(?:(?P<mon>{_MONTH_ALT})\.?\s+(?P<d>\d{{1,2}})(?:,\s*(?P<y>\d{{4}}))?\s*)?"
    r"(?:\((?P<agency>[A-Za-z ]{2,30})\)\s*)?(?:--|—|–|-)\s*",
    re.I,
)
_EN_LEAD_DATE_RE = re.compile(rf"^On\s+(?P<mon>{_MONTH_ALT})\.?\s+(?P<d>\d{{1,2}})(?:,\s*(?P<y>\d{{4}}))?,\s*", re.I)
_TAG_RE = re.compile(r"^【(?P<inner>[^【】]{1,30})】\s*")
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
_INLINE_CREDIT_RE = re.compile(
    r"\s*[（(][^（）()]{0,20}?(?:记者|通讯员|摄影|摄|供图|图片来源|图源|视频截图|截图|资料图)[^（）()]{0,20}?[）)]"
)
_LINK_RE = re.compile(r"https?://\S+", re.I)
_MARKER_RES = (
    re.compile(r"原标题"),
    re.compile(r"责任编辑|责编[:：]"),
    re.compile(r"(?:记者|通讯员|编辑|作者|摄影|来源)\s*[:：]"),
    re.compile(r"[（(【\[][^（）()【】\[\]]{0,15}(?:记者|通讯员|摄)[^（）()【】\[\]]{0,20}[）)】\]]"),
    re.compile(rf"记者\s+[{_HAN}]{{2,4}}(?=\s|$|[）)，,])"),
    re.compile(rf"(?:社|报|网|台)[{_HAN}]{{0,6}}\d{{1,2}}月\d{{1,2}}日电|\d{{1,2}}月\d{{1,2}}日电[（(]"),
    _LINK_RE,
)
_ATTRIBUTION_RE = re.compile(r"^（来源：[^\s（）()：:][^（）()\n]*）$")
_TRAILING_ATTRIBUTION_RE = re.compile(r"\s*([（(]\s*来源\s*[:：][^（）()\n]*[）)])\s*$")
_ANY_DATE_START_RE = re.compile(
    rf"^\s*(?:(?:19|20)\d{{2}}\s*年\s*)?\d{{1,2}}\s*月\s*\d{{1,2}}\s*(?:日|号)"
    rf"|^\s*(?:{_MONTH_ALT})\.?\s+\d{{1,2}}\b",
    re.I,
)
_EN_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "inc", "ltd", "co", "corp", "no", "vs", "etc", "e.g"}
    | {"i.e", "u.s", "u.k", "u.n", "e.u", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct"}
    | {"nov", "dec", "gov", "sen", "rep", "gen", "col", "lt", "mt", "ft", "approx", "dept", "est", "fig"}
)


@dataclass(frozen=True, slots=True)
class StyleProblem:
    """One way a summary breaks the house style: a stable dotted ``code`` (``style.too_long``) and a message
    in Simplified Chinese for the editor."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class SummaryDraft:
    """A drafted summary. ``text`` is the paragraph (date prefix + lead sentences); ``attribution`` is
    ``"（来源：X）"`` or ``""`` when the source has no display name. ``date_origin`` says where the date came
    from: ``"body"`` (the lead or its dateline stated it), ``"published"`` or ``"none"``. ``event_date`` is
    None when there is no date, or when the body gives a month and day but no year can be known (no
    publication time): the prefix is still written then. ``warnings`` are the drafting notes and the
    :func:`style_check` problems of the draft."""

    text: str
    attribution: str
    event_date: date | None
    date_origin: str
    warnings: tuple[StyleProblem, ...]

    @property
    def full(self) -> str:
        """The item as it appears in the issue: the paragraph, then the attribution on its own line (one
        newline between them; a Markdown renderer doubles it to make a paragraph, as the sample shows)."""
        return "\n".join(part for part in (self.text, self.attribution) if part)


@dataclass(frozen=True, slots=True)
class _Date:
    month: int
    day: int
    year: int | None = None
    day_end: int | None = None
    tod: str = ""
    origin: str = "body"


@dataclass(frozen=True, slots=True)
class _Opening:
    paragraphs: list[str]
    date: _Date | None
    warnings: tuple[StyleProblem, ...]


def summary_length(text: str) -> int:
    """Characters counted against the window: all but whitespace (see the module docstring)."""
    return sum(1 for ch in text if not ch.isspace())


def draft_summary(
    title: str,
    body: str,
    *,
    published_at: datetime | None,
    source_name: str | None,
    tz: str = "Asia/Shanghai",
    min_chars: int = DEFAULT_MIN_CHARS,
    max_chars: int = DEFAULT_MAX_CHARS,
    date_format: str = DEFAULT_DATE_FORMAT,
) -> SummaryDraft:
    """A house-style summary draft of one article: date prefix, lead sentences, attribution.

    ``published_at`` must be timezone-aware (a naive time is ambiguous: ValueError); its calendar day in
    ``tz`` (the source's timezone) is the fallback date. Raises ValueError for an unknown ``tz``, a bad
    ``date_format`` or a window with ``min_chars > max_chars``. Never raises on odd body text.
    """
    _check_window(min_chars, max_chars)
    _format_fields(date_format)
    zone = _zone(tz)
    if published_at is not None and published_at.utcoffset() is None:
        raise ValueError(f"published_at must be timezone-aware, got naive {published_at.isoformat()}")
    published = published_at.astimezone(zone).date() if published_at is not None else None
    name = " ".join((source_name or "").split())
    attribution = f"（来源：{name}）" if name else ""
    notes: list[StyleProblem] = []
    paragraphs = _body_paragraphs(body)
    copy = paragraphs.pop(0) if paragraphs and _is_headline_copy(title, paragraphs[0]) else None
    opening = _open_lead(paragraphs, published, name)
    notes.extend(opening.warnings)
    lead_date = opening.date
    if lead_date is None and published is not None:
        lead_date = _Date(published.month, published.day, published.year, origin="published")
    prefix = _render_prefix(date_format, lead_date) if lead_date else ""
    if not prefix:
        lead_date = None
        notes.append(StyleProblem("style.no_date", "正文和发布时间中都没有可用的日期，摘要缺少日期开头，请补写"))
    trial: list[StyleProblem] = []
    lead = _take(_units(opening.paragraphs), prefix, min_chars, max_chars, trial)
    if copy is not None and summary_length(prefix + lead) < min_chars:
        trial = []  # the headline copy is needed to reach the minimum after all
        lead = _take(_units([copy, *opening.paragraphs]), prefix, min_chars, max_chars, trial)
    notes.extend(trial)
    if not lead:
        reason = "正文为空" if not body.strip() else "正文中没有可用作导语的完整句子"
        notes.append(StyleProblem("style.empty", f"{reason}，无法生成摘要草稿，请手写摘要"))
        text = ""
    else:
        text = prefix + lead
    event = _resolve(lead_date, published) if lead_date else None
    origin = lead_date.origin if lead_date else "none"
    checks = style_check(title, text, attribution, min_chars=min_chars, max_chars=max_chars, date_format=date_format)
    return SummaryDraft(text, attribution, event, origin, _dedupe([*notes, *checks]))


def style_check(
    title: str,
    text: str,
    attribution: str | None = None,
    *,
    min_chars: int = DEFAULT_MIN_CHARS,
    max_chars: int = DEFAULT_MAX_CHARS,
    date_format: str = DEFAULT_DATE_FORMAT,
) -> tuple[StyleProblem, ...]:
    """The ways ``text`` (a summary paragraph, drafted or edited) breaks the house style; empty when none.

    ``attribution`` is the "（来源：…）" line; when None it is looked for at the end of ``text`` (so the
    :attr:`SummaryDraft.full` form can be checked as it is). A missing one is ``style.no_source``.
    """
    _check_window(min_chars, max_chars)
    fields = _format_fields(date_format)
    if attribution is None:
        found = _TRAILING_ATTRIBUTION_RE.search(text)
        attribution = found.group(1) if found else ""
        text = text[: found.start()] if found else text
    text = text.strip()
    problems = [] if text else [StyleProblem("style.empty", "摘要为空")]
    if text:
        problems.extend(_date_problems(text, date_format, fields))
        problems.extend(_length_problems(text, min_chars, max_chars))
        problems.extend(_shape_problems(text))
        problems.extend(_title_problems(title, text, date_format, fields))
        problems.extend(_marker_problems(text))
        problems.extend(_halfwidth_problems(text))
    problems.extend(_attribution_problems(attribution.strip()))
    return tuple(problems)


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, stripped, in order. Chinese and English: a sentence ends at 。！？!? (and a
    "……" at the end of a line), at an English "." that is not an abbreviation, initial or decimal point, and at
    every line break. Never inside a pair of quotes or brackets (“…” ‘…’ 《…》 （…） (…) 【…】 "…"); a closing
    quote right after a stop ends the sentence with it. A mark without its partner on the same line is read
    as ordinary text, so a lost closing quote cannot swallow the rest of the paragraph."""
    sentences: list[str] = []
    for line in text.splitlines():
        sentences.extend(_split_line(line))
    return sentences


# --- sentences -------------------------------------------------------------------------------------------------


def _pair_spans(line: str) -> tuple[dict[int, int], set[int]]:
    """Matched pairs (opener index → closer index) and the indexes of marks without a partner."""
    stack: list[tuple[str, int]] = []
    spans: dict[int, int] = {}
    stray: set[int] = set()
    for i, ch in enumerate(line):
        if ch == '"':
            depth = next((k for k in range(len(stack) - 1, -1, -1) if stack[k][0] == '"'), None)
            if depth is None:
                stack.append((ch, i))
                continue
            stray.update(j for _, j in stack[depth + 1 :])
            spans[stack[depth][1]] = i
            del stack[depth:]
        elif ch in _PAIRS:
            stack.append((ch, i))
        elif ch in _CLOSERS:
            if ch == "’" and 0 < i < len(line) - 1 and line[i - 1].isalnum() and line[i + 1].isalnum():
                continue  # an apostrophe: King’s
            opener = _CLOSERS[ch]
            depth = next((k for k in range(len(stack) - 1, -1, -1) if stack[k][0] == opener), None)
            if depth is None:
                stray.add(i)
                continue
            stray.update(j for _, j in stack[depth + 1 :])
            spans[stack[depth][1]] = i
            del stack[depth:]
    stray.update(j for _, j in stack)
    return spans, stray


def _split_line(line: str) -> list[str]:
    line = line.strip()
    spans, _ = _pair_spans(line)
    out: list[str] = []
    start, i, n = 0, 0, len(line)
    while i < n:
        if i in spans:
            end = spans[i]
            at_start = _next_visible(line, start - 1)[1] == i
            i = end + 1
            if _closes_sentence(line, end, at_start=at_start):
                i = _absorb(line, i)
                out.append(line[start:i])
                start = i
            continue
        if _ends_sentence(line, i):
            i = _absorb(line, i + 1)
            out.append(line[start:i])
            start = i
            continue
        i += 1
    out.append(line[start:])
    return [s.strip() for s in out if s.strip()]


def _closes_sentence(line: str, end: int, *, at_start: bool) -> bool:
    """Whether the pair closing at ``end`` ends a sentence: 。” does, 。） only for a bracketed sentence of its
    own (not an aside inside one), and an English "Now." followed by a capital or the end of the line."""
    if line[end] not in _QUOTE_CLOSERS and not (line[end] in "）)" and at_start):
        return False
    last = _prev_visible(line, end)
    if last in _STOPS:
        return True
    following = _next_visible(line, end)[0]
    return last == "." and (following == "" or following.isupper())


def _ends_sentence(line: str, i: int) -> bool:
    ch = line[i]
    nxt = line[i + 1] if i + 1 < len(line) else ""
    if ch in "。！？":
        return True
    if ch == "…":
        j = i
        while j < len(line) and (line[j] == "…" or line[j] in _CLOSERS or line[j].isspace()):
            j += 1
        return j == len(line)
    if ch in "!?":
        return nxt == "" or nxt.isspace() or nxt in _CLOSERS or bool(_CJK_RE.match(nxt))
    if ch != ".":
        return False
    if nxt and not nxt.isspace() and not _HAN_RE.match(nxt):
        return False  # 3.5, example.com, U.S
    j = i
    while j > 0 and i - j < 12 and ((line[j - 1].isascii() and line[j - 1].isalpha()) or line[j - 1] == "."):
        j -= 1
    word = line[j:i]
    if word.lower() in _EN_ABBREVIATIONS or (len(word) == 1 and word.isupper()):
        return False  # Mr. Smith, U.S. officials, J. Smith
    if nxt.isspace():
        following = _next_visible(line, i)[0]
        return following == "" or not following.islower()
    return True


def _absorb(line: str, i: int) -> int:
    """Past further stops and closing marks after a sentence end (？！, 。”, ……)."""
    while i < len(line) and (line[i] in _STOPS or line[i] in _CLOSERS or line[i] == '"'):
        i += 1
    return i


def _is_complete(sentence: str) -> bool:
    core = sentence.rstrip().rstrip("".join(_CLOSERS) + '"')
    return bool(core) and (core[-1] in _STOPS or core[-1] == ".")


# --- body → paragraphs --------------------------------------------------------------------------------------


def _body_paragraphs(body: str) -> list[str]:
    lines = [_squeeze(line) for line in body[:MAX_SCAN_CHARS].splitlines()]
    joined: list[str] = []
    for line in filter(None, lines):
        if joined and joined[-1][-1] in "，、,":
            joined[-1] += line
        else:
            joined.append(line)
    paragraphs = [p for p in (_LABEL_RE.sub("", line) for line in joined if not _is_furniture(line)) if p]
    for i, paragraph in enumerate(paragraphs[:DATELINE_PARAGRAPHS]):
        if _dateline(_TAG_RE.sub("", paragraph)) is not None or _tag_date(paragraph) is not None:
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
    short = len(line) <= 60 and not _is_complete(line)
    if short and (_CREDIT_RE.match(line) or _EN_CREDIT_RE.match(line)):
        return True
    return len(line) <= 100 and bool(_CAPTION_END_RE.search(line))


# --- the lead's opening: dateline, opener, date -------------------------------------------------------------


def _dateline(text: str) -> tuple[re.Match[str], _Date | None] | None:
    """A Chinese or English dateline at the start of ``text`` and the date it gives."""
    m = _DATELINE_RE.match(text)
    if m and not m["outlet"].startswith("据") and _plausible_dateline(text, m):
        found = _Date(int(m["m"]), int(m["d"]), _int(m["y"]), _int(m["d2"]), m["tod"] or "") if m["m"] else None
        return m, found
    m = _EN_DATELINE_RE.match(text)
    if m and (m["city"] or m["agency"]) and (m["city"] is None or m["city"].isupper()):
        return m, _Date(_MONTHS[m["mon"].lower()], int(m["d"]), _int(m["y"])) if m["mon"] else None
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


def _tag_date(paragraph: str) -> _Date | None:
    tag = _TAG_RE.match(paragraph)
    found = _dateline(tag["inner"]) if tag else None
    return found[1] if found else None


def _open_lead(paragraphs: list[str], published: date | None, source: str) -> _Opening:
    """Strip the dateline and openers from the first paragraph and read the lead's date."""
    paragraphs = list(paragraphs)
    found: _Date | None = None
    while paragraphs:
        first = paragraphs[0]
        found = _tag_date(first) or found
        first = _TAG_RE.sub("", first)
        for _ in range(2):  # 新浪科技讯 北京时间9月11日凌晨消息，…
            dateline = _dateline(first)
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
        return _Opening([], found, ())
    first, opener = paragraphs[0], ""
    ju = _JU_RE.match(first)
    if ju:
        opener = f"据{ju['outlet']}{ju['kind']}，"
        if ju["m"]:
            found = _Date(int(ju["m"]), int(ju["d"]), _int(ju["y"]), _int(ju["d2"]), ju["tod"] or "")
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
    if opener and _fold(ju["outlet"] if ju else "") == _fold(source):
        opener = ""  # the attribution names it already
    paragraphs[0] = opener + _capitalise(first)
    return _Opening(paragraphs, own or found, warnings)


def _own_date(text: str, published: date | None) -> tuple[_Date | None, str]:
    """A date the lead states at its very start, and the text after it."""
    m = _LEAD_DATE_RE.match(text)
    if m and (m["comma"] or (m["tod"] != "起" and not text[m.end() :].startswith(_NOT_EVENT_AFTER))):
        return _Date(int(m["m"]), int(m["d"]), _int(m["y"]), _int(m["d2"]), m["tod"] or ""), text[m.end() :]
    m = _EN_LEAD_DATE_RE.match(text)
    if m:
        return _Date(_MONTHS[m["mon"].lower()], int(m["d"]), _int(m["y"])), text[m.end() :]
    m = _REL_DAY_RE.match(text)
    if m and (m["d"] or (m["word"] != "今" and (m["tod"] or m["comma"]))):
        rest = text[m.end() :]
        if m["m"]:
            return _Date(int(m["m"]), int(m["d"]), tod=m["tod"] or ""), rest
        if published is None:
            return None, text
        day = published - timedelta(days=1) if m["word"].startswith("昨") else published
        if m["d"]:
            day = day.replace(day=1) - timedelta(days=1) if int(m["d"]) > day.day else day
            day = _safe_date(day.year, day.month, int(m["d"])) or day
        return _Date(day.month, day.day, day.year, tod=m["tod"] or ""), rest
    return None, text


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:] if text[:1].isascii() else text


def _render_prefix(date_format: str, found: _Date) -> str:
    year = found.year
    if "year" in _format_fields(date_format) and year is None:
        return ""
    day = f"{found.day}-{found.day_end}" if found.day_end else str(found.day)
    prefix = date_format.format(year=year or "", month=found.month, day=day)
    if found.tod and prefix.endswith(("，", ",")):
        prefix = prefix[:-1] + found.tod + "，"
    return prefix


def _resolve(found: _Date, published: date | None) -> date | None:
    """The calendar date: the stated year, else the year nearest the publication day (Dec/Jan wrap)."""
    if found.year is not None:
        return _safe_date(found.year, found.month, found.day)
    if published is None:
        return None
    candidates = [d for k in (-1, 0, 1) if (d := _safe_date(published.year + k, found.month, found.day))]
    return min(candidates, key=lambda d: abs((d - published).days), default=None)


# --- sentences → the lead -------------------------------------------------------------------------------------


_HEADING = ""  # a unit that is a subheading or skipped line: the lead may stop there


def _units(paragraphs: Iterable[str]) -> list[str]:
    """Candidate sentences in order, with ``_HEADING`` where a heading or caption interrupts the text."""
    units: list[str] = []
    for paragraph in paragraphs:
        text = _fullwidth(_INLINE_CREDIT_RE.sub("", _TAG_RE.sub("", paragraph))).strip()
        sentences = split_sentences(text)
        if not sentences or (len(sentences) == 1 and not _is_complete(sentences[0]) and not _prose_fragment(text)):
            units.append(_HEADING)
            continue
        for sentence in sentences:
            if _is_complete(sentence):
                units.append(sentence)
            elif _closable(sentence, alone=len(sentences) == 1):
                units.append(sentence + ("." if sentence[-1].isascii() else "。"))
    return units


def _closable(fragment: str, *, alone: bool) -> bool:
    """Whether a paragraph's unfinished last sentence is prose whose stop the site dropped (closed with one)
    rather than a label ("示例代码如下："), a link text ("详情>>") or a bracketed aside."""
    if re.fullmatch(r"[（(【\[].*[）)】\]]", fragment) or fragment[-1] in "：:":
        return False
    return _prose_fragment(fragment) or (not alone and len(fragment) >= 10 and fragment[-1].isalnum())


def _prose_fragment(text: str) -> bool:
    return len(text) >= 20 and any(mark in text for mark in "，；、,;") and text[-1] not in "：:"


def _take(units: list[str], prefix: str, min_chars: int, max_chars: int, notes: list[StyleProblem]) -> str:
    chosen: list[str] = []
    used = summary_length(prefix)
    for unit in units:
        if unit == _HEADING or _LINK_RE.search(unit) or _pair_spans(unit)[1]:
            if chosen and used >= min_chars:
                break
            continue
        size = summary_length(unit)
        if not chosen and used + size > max_chars:
            cut = _cut_clause(unit, max_chars - used)
            if cut is None:
                chosen.append(unit)
                break
            chosen.append(cut)
            notes.append(StyleProblem("style.cut_clause", f"首句超过 {max_chars} 字，已在分句处截断并补上句号，请核对"))
            break
        if used + size > max_chars:
            break
        chosen.append(unit)
        used += size
    lead = ""
    for sentence in chosen:
        space = " " if lead and lead[-1] in ".!?\"'" and sentence[0].isascii() else ""
        lead += space + sentence
    return _fullwidth_spots(lead)  # joining paragraphs can put "cool!" next to Chinese text


def _cut_clause(sentence: str, budget: int) -> str | None:
    """The sentence up to its last clause mark (outside quotes and brackets) that fits ``budget``, ending in a
    stop; None when no such mark exists."""
    spans, _ = _pair_spans(sentence)
    best: int | None = None
    count, i = 0, 0
    while i < len(sentence):
        if i in spans:  # a quote or bracket is never cut: step over it whole
            count += summary_length(sentence[i : spans[i] + 1])
            i = spans[i] + 1
            if count > budget:
                break
            continue
        ch = sentence[i]
        if ch in _CLAUSE_MARKS and count + 1 <= budget and count >= 10:
            best = i
        count += 0 if ch.isspace() else 1
        if count > budget:
            break
        i += 1
    if best is None:
        return None
    return sentence[:best].rstrip() + ("." if sentence[best] in ",;" else "。")


def _is_headline_copy(title: str, paragraph: str) -> bool:
    """A leading paragraph that repeats the headline: nearly the same text, with no date of its own and no
    final "。" (a lead sentence that restates the headline has those; sample item 1)."""
    core = paragraph.rstrip('”’」』"）)')
    if core.endswith(("。", ".")) or _LEAD_DATE_RE.match(paragraph) or _dateline(paragraph):
        return False
    return _repeats(title, paragraph, near=True)


def _repeats(title: str, sentence: str, *, near: bool) -> bool:
    head, body = _fold(title), _fold(sentence)
    if not head or not body:
        return False
    if body == head or (body in head and len(body) >= 0.8 * len(head)):
        return True
    if head in body and len(body) <= len(head) + 4:
        return True
    return near and SequenceMatcher(None, head, body, autojunk=False).ratio() >= TITLE_SIMILARITY


def _fold(text: str) -> str:
    """For comparison: NFKC, casefold, letters and digits only."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def _fullwidth(text: str) -> str:
    """Half-width , ; : ! ? ( ) " next to Chinese text → full-width, in pairs for brackets and quotes."""

    def bracket(m: re.Match[str]) -> str:
        inner = m.group(2).strip()
        outside = (_prev_visible(m.string, m.start()), _next_visible(m.string, m.end() - 1)[0])
        if not (_HAN_RE.search(inner) or any(_CJK_RE.match(c) for c in outside if c)):
            return m.group(0)
        return f"{m.group(1)}（{inner}）{m.group(3)}"

    text = re.sub(r"(\s*)\(([^()\n]{0,200})\)(\s*)", lambda m: _spaced(bracket(m), m), text)
    quotes = [i for i, ch in enumerate(text) if ch == '"']
    if quotes and len(quotes) % 2 == 0 and _HAN_RE.search(text):
        chars = list(text)
        for k, i in enumerate(quotes):
            chars[i] = "“" if k % 2 == 0 else "”"
        text = "".join(chars)
    return _fullwidth_spots(text)


def _fullwidth_spots(text: str) -> str:
    parts: list[str] = []
    last = 0
    for spot in _halfwidth_spots(text):
        if text[spot] == '"':
            continue  # an unpaired straight quote: left for the editor (style.unbalanced)
        parts.append(text[last:spot].rstrip())
        parts.append(
            {",": "，", ";": "；", ":": "：", "!": "！", "?": "？", ".": "。", "(": "（", ")": "）"}[text[spot]]
        )
        last = _next_visible(text, spot)[1]
    parts.append(text[last:])
    return "".join(parts)


def _spaced(replacement: str, m: re.Match[str]) -> str:
    """Full-width brackets take no spaces around them; untouched ones keep theirs."""
    return replacement.strip() if replacement != m.group(0) else replacement


def _halfwidth_spots(text: str) -> list[int]:
    spots = []
    for m in re.finditer(r"[,;:!?().\"]", text):
        i, ch = m.start(), m.group()
        before, after = _prev_visible(text, i), _next_visible(text, i)[0]
        if ch == "." and not (_HAN_RE.match(before) and (after == "" or _HAN_RE.match(after))):
            continue
        if ch == ":" and before.isdigit() and after.isdigit():
            continue
        if (before and _CJK_RE.match(before)) or (after and _CJK_RE.match(after)):
            spots.append(i)
    return spots


# --- style checks --------------------------------------------------------------------------------------------


def _date_problems(text: str, date_format: str, fields: set[str]) -> list[StyleProblem]:
    if _prefix_re(date_format, fields).match(text):
        return []
    example = date_format.format(year=2024, month=6, day=11)
    found = _ANY_DATE_START_RE.match(text)
    if found:
        written = text[: found.end() + 1]
        return [StyleProblem("style.date_format", f"开头日期格式不符：应写作“{example}”这样的格式，实际为“{written}”")]
    return [StyleProblem("style.no_date", f"摘要未以日期开头，应以“{example}”这样的日期开头")]


def _prefix_re(date_format: str, fields: set[str]) -> re.Pattern[str]:
    parts = []
    trailing_comma = date_format.endswith(("，", ","))
    body = date_format[:-1] if trailing_comma else date_format
    for literal, field, _, _ in string.Formatter().parse(body):
        parts.append(re.escape(literal))
        if field == "year":
            parts.append(r"(?:19|20)\d{2}")
        elif field == "month":
            parts.append(r"(?:1[0-2]|[1-9])")
        elif field == "day":
            parts.append(r"(?:3[01]|[12]\d|[1-9])(?:[-—–至](?:3[01]|[12]\d|[1-9]))?")
    if trailing_comma:
        parts.append(_TOD.replace("?P<tod>", "?:") + re.escape(date_format[-1]))
    return re.compile("^" + "".join(parts))


def _length_problems(text: str, min_chars: int, max_chars: int) -> list[StyleProblem]:
    n = summary_length(text)
    if n < min_chars:
        return [StyleProblem("style.too_short", f"摘要共 {n} 字（不计空格），少于下限 {min_chars} 字")]
    if n > max_chars:
        return [StyleProblem("style.too_long", f"摘要共 {n} 字（不计空格），超过上限 {max_chars} 字")]
    return []


def _shape_problems(text: str) -> list[StyleProblem]:
    problems = []
    if "\n" in text:
        problems.append(StyleProblem("style.line_break", "摘要应为一个段落，中间不应换行"))
    stray: list[int] = []
    start = 0
    for line in text.split("\n"):  # pairs never span a line, as in split_sentences
        stray.extend(start + i for i in _pair_spans(line)[1])
        start += len(line) + 1
    if stray:
        i = min(stray)
        problems.append(StyleProblem("style.unbalanced", f"引号或括号不成对：第 {i + 1} 字“{text[i]}”没有对应的另一半"))
    if not _is_complete(text):
        problems.append(StyleProblem("style.no_end_punct", "摘要未以句末标点（。！？）结尾"))
    return problems


def _title_problems(title: str, text: str, date_format: str, fields: set[str]) -> list[StyleProblem]:
    sentences = split_sentences(text)
    if sentences:
        sentences[0] = _prefix_re(date_format, fields).sub("", sentences[0], count=1)
        sentences[0] = _LEAD_DATE_RE.sub("", sentences[0], count=1)
    for sentence in sentences:
        if _repeats(title, sentence, near=False):
            return [StyleProblem("style.repeats_title", f"摘要重复了标题：“{sentence[:40]}”")]
    return []


def _marker_problems(text: str) -> list[StyleProblem]:
    for pattern in _MARKER_RES:
        m = pattern.search(text)
        if m:
            return [
                StyleProblem(
                    "style.leftover_marker",
                    f"摘要中残留了原文标记“{m.group(0)[:30]}”（记者署名、编辑、原标题、电头或网址），请删去",
                )
            ]
    return []


def _halfwidth_problems(text: str) -> list[StyleProblem]:
    spots = _halfwidth_spots(text)
    if not spots:
        return []
    i = spots[0]
    context = text[max(0, i - 6) : i + 7]
    return [StyleProblem("style.halfwidth_punct", f"中文语句中混用了半角标点“{text[i]}”：“{context}”，应改为全角")]


def _attribution_problems(attribution: str) -> list[StyleProblem]:
    if not attribution:
        return [StyleProblem("style.no_source", "缺少来源署名，应在摘要下另起一行写“（来源：网站名称）”")]
    if not _ATTRIBUTION_RE.match(attribution):
        return [StyleProblem("style.attribution_format", f"来源署名应为全角“（来源：X）”，实际为“{attribution}”")]
    return []


# --- small helpers -------------------------------------------------------------------------------------------


def _prev_visible(text: str, i: int) -> str:
    """The nearest non-space character before index ``i`` ("" at the start)."""
    j = i - 1
    while j >= 0 and text[j].isspace():
        j -= 1
    return text[j] if j >= 0 else ""


def _next_visible(text: str, i: int) -> tuple[str, int]:
    """The nearest non-space character after index ``i`` ("" at the end) and its index."""
    j = i + 1
    while j < len(text) and text[j].isspace():
        j += 1
    return (text[j] if j < len(text) else ""), j


def _check_window(min_chars: int, max_chars: int) -> None:
    if not 0 <= min_chars <= max_chars:
        raise ValueError(f"the length window needs 0 <= min_chars <= max_chars, got {min_chars} and {max_chars}")


def _format_fields(date_format: str) -> set[str]:
    """The fields ``date_format`` uses; ValueError unless it is a str.format template over year/month/day
    that names at least the month and the day."""
    try:
        fields = {field for _, field, _, _ in string.Formatter().parse(date_format) if field is not None}
    except ValueError as exc:
        raise ValueError(f"date_format {date_format!r} is not a valid template: {exc}") from exc
    if not {"month", "day"} <= fields or not fields <= {"year", "month", "day"}:
        raise ValueError(f"date_format {date_format!r} must use {{month}} and {{day}} (and optionally {{year}})")
    try:
        date_format.format(year=2024, month=6, day=11)
    except (ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"date_format {date_format!r} is not a valid template: {exc}") from exc
    return fields


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {tz!r}") from exc


def _int(value: str | None) -> int | None:
    return int(value) if value else None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _dedupe(problems: Iterable[StyleProblem]) -> tuple[StyleProblem, ...]:
    """One problem per code, the first (drafting notes come before the generic check)."""
    seen: dict[str, StyleProblem] = {}
    for problem in problems:
        seen.setdefault(problem.code, problem)
    return tuple(seen.values())
