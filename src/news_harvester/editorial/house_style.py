"""The house-style check of 行业资讯 summaries (:func:`style_check`), and what drafting shares with it: the
default window and date format, the length measure (:func:`summary_length`), the date patterns, the headline
comparison and punctuation width (half-width marks next to Chinese text, found and made full-width).

Pure and read-only: a summary in, its :class:`StyleProblem` list out. The house style itself is described in
:mod:`news_harvester.editorial.summary`, which drafts summaries to it.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

from news_harvester.editorial.sentences import (
    CJK_RE,
    HAN,
    HAN_RE,
    is_complete,
    next_visible,
    pair_spans,
    prev_visible,
    split_sentences,
)

DEFAULT_DATE_FORMAT = "{month} 月 {day} 日，"
DEFAULT_MIN_CHARS = 150
DEFAULT_MAX_CHARS = 400
TITLE_SIMILARITY = 0.8
"""difflib ratio at or above which a leading paragraph counts as a copy of the headline."""

TOD = r"(?P<tod>上午|下午|中午|晚上|晚间|晚間|傍晚|凌晨|早上|早间|早間|清晨|夜间|夜間|晚|早|起)?"
"""A time of day, or 起 ("6月10日起，新规施行"), kept between the date and its comma."""
DAY = r"3[01]|[12]\d|0?[1-9]"
"""A day of the month (regex source)."""
DATE = (
    r"(?:(?P<y>(?:19|20)\d{2})\s*年\s*)?(?P<m>1[0-2]|0?[1-9])\s*月\s*"
    rf"(?P<d>{DAY})\s*(?:日|号)?\s*(?:(?P<sep>[-—–~～至])\s*(?P<d2>{DAY})\s*)?(?:日|号)"
)
"""A Chinese date, ``2024年6月11日`` or ``5月10-12日`` (regex source: groups y, m, d, sep, d2)."""
LEAD_DATE_RE = re.compile(rf"^(?:当地时间|北京时间|美东时间)?\s*{DATE}\s*{TOD}\s*(?P<comma>[，,]\s*)?")
"""The date a lead states at its start (``当地时间6月4日``, ``6月11日下午，``)."""
MONTHS = {
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
"""English month names and abbreviations → month number."""
MONTH_ALT = "|".join(sorted(MONTHS, key=len, reverse=True))
"""The English month names as a regex alternation, longest first."""
RELATIVE_DAY = r"今天|今日|今|昨天|昨日|周[一二三四五六日天]|星期[一二三四五六日天]|礼拜[一二三四五六日天]"
"""Words a lead puts before a parenthesised date (``今日（23日）``, ``周二(10月30日)``)."""


def date_mention(p: str = "") -> str:
    """Regex source of a date mentioned inside a sentence: ``24日``, ``9月29日``, ``2024年6月11日``, ``今日（23日）``,
    ``周二(10月30日)``, ``今(6日)``, ``周四（16）日``, with an optional time of day. Groups (prefixed by ``p``, so
    two mentions fit one pattern): y, m, d, tod; ``号`` is not a day unit here (``3号线``, ``5号楼``)."""
    year = rf"(?:(?P<{p}y>(?:19|20)\d{{2}})\s*年\s*)?"
    month = rf"(?:(?P<{p}m>1[0-2]|0?[1-9])\s*月\s*)?"
    inner = rf"(?:(?P<{p}py>(?:19|20)\d{{2}})\s*年\s*)?(?:(?P<{p}pm>1[0-2]|0?[1-9])\s*月\s*)?(?P<{p}pd>{DAY})"
    return (
        rf"(?:(?:{RELATIVE_DAY})\s*[（(]\s*{inner}\s*日?\s*[）)]\s*日?|{year}{month}(?P<{p}d>{DAY})\s*日)"
        rf"(?P<{p}tod>上午|下午|中午|晚上|晚间|晚間|傍晚|凌晨|早上|早间|早間|清晨|夜间|夜間|晚(?!些))?"
    )


def mention_fields(m: re.Match[str], p: str = "") -> tuple[int | None, int | None, int]:
    """(year, month, day) of a :func:`date_mention` match; year and month None when the text leaves them out."""
    y, mo, d = m[f"{p}y"] or m[f"{p}py"], m[f"{p}m"] or m[f"{p}pm"], m[f"{p}d"] or m[f"{p}pd"]
    return (int(y) if y else None), (int(mo) if mo else None), int(d)


MENTION_RE = re.compile(
    rf"(?P<pre>[于於]\s*)?(?:(?:当地时间|北京时间|美东时间|當地時間|北京時間|美東時間)\s*)?{date_mention()}"
)
"""A date inside a sentence, with the 于 and the time zone that may introduce it (``总局于24日联合公布``,
``联合国大会当地时间1日协商``)."""
# A mention is the time of the clause's verb only between a subject and a verb: these before it make it part
# of a phrase (在24日举行的, 截至24日, 连续14日, 第24日, 2026年1月21日) or a plan (将于21日), these after it a
# span, a list, a noun or a dateline (24日起, 24日的, 24日以来, 24日、25日, 24日元, 9日游, 8日电).
_NOT_BEFORE = frozenset(
    "在至到从從自截及和与與同对對向比由距离離近达達超过過约約共历歷满滿逾仅僅需第每这這那该該前后後长長连連续續或"
    "年月号號日将將拟擬定"
)
_NOT_AFTER = frozenset("起前后後至到之的、和与與及或元圆圓游遊内內间間止电電讯訊")
_NOT_AFTER_WORDS = (
    *("以来", "以來", "以前", "以后", "以後", "以内", "开始"),
    *("開始", "当天", "當天", "当日", "當日", "晚些"),
)
REPORTER_RE = re.compile(
    r"(?:(?P<who>[^，,。；;：:！？!?\s“”「」（）()]{0,16}?(?:记者|記者|本报|本報|本台|本网|本網|笔者|筆者))\s*)?"
    rf"(?:(?P<when>{date_mention('w')}|今天|今日|昨天|昨日|近日|日前|近期)\s*)?"
    r"(?:(?P<prep>从|從|自|在)\s*(?P<src>[^，,。；;：:！？!?]{1,40}?)\s*)?"
    r"(?P<verb>获悉|獲悉|了解到|瞭解到|获知|獲知|得知)\s*(?:[，,：:]\s*)?"
)
"""A reporter's sourcing phrase: ``记者21日从工业和信息化部获悉，``, ``本报记者从商务部了解到：``, ``记者获悉，``,
``今日从交通运输部新闻发布会获悉，``. Counts only with ``who`` or ``prep`` (:func:`reporter_phrase`)."""
DAY_RANGE_RE = re.compile(rf"(?<![\d.])(?P<d>{DAY})\s*日?\s*[-–~～]\s*(?P<d2>{DAY})\s*日")
"""A day range with a half-width hyphen, en dash or tilde (``8-9 日``, ``19-26日``); the house writes
``8 日至 9 日`` as the sample writes ``2023 年至 2028 年间``."""


def is_event_time(text: str, m: re.Match[str]) -> bool:
    """Whether the :data:`MENTION_RE` match ``m`` is the time of its clause's verb (``总局24日联合公布``,
    ``美国商务部9月29日发布``), so that it can move to or merge with the date prefix without changing the
    sentence: a subject (a Han character, a letter or a closing bracket) before it, a verb after it."""
    j = m.start() - 1
    while j >= 0 and text[j].isspace():
        j -= 1
    before = text[j] if j >= 0 else ""
    after_at = m.end()
    while after_at < len(text) and text[after_at].isspace():
        after_at += 1
    after = text[after_at : after_at + 2]
    if not before or not after or before in _NOT_BEFORE or after[0] in _NOT_AFTER:
        return False
    if pair_spans(text[: m.start()])[1]:
        return False  # inside an open bracket or quote: 《經濟通通訊社12日專訊》, （记者 7日）
    if after.startswith(_NOT_AFTER_WORDS) or not HAN_RE.match(after[0]):
        return False
    return bool(HAN_RE.match(before) or (before.isascii() and before.isalpha()) or before in "）)”」》")


def reporter_phrase(text: str, *, at_start: bool) -> re.Match[str] | None:
    """The reporter's sourcing phrase at the start of ``text`` (``at_start``) or anywhere in it; at the start
    a bare ``从X获悉`` counts, elsewhere it needs the reporter (``从中了解到`` is ordinary text)."""
    if at_start:
        m = REPORTER_RE.match(text)
        return m if m and (m["who"] or (m["prep"] and m["src"] not in ("中", "此"))) else None
    for m in REPORTER_RE.finditer(text):
        if m["who"] and re.search("记者|記者|笔者|筆者|本报|本報|本台|本网|本網", m["who"]):
            return m
    return None


LINK_RE = re.compile(r"https?://\S+", re.I)
"""A link: left in a summary, it is a leftover marker; a sentence carrying one is never drafted."""
_MARKER_RES = (
    re.compile(r"原标题"),
    re.compile(r"责任编辑|责编[:：]"),
    re.compile(r"(?:记者|通讯员|编辑|作者|摄影|来源)\s*[:：]"),
    re.compile(r"[（(【\[][^（）()【】\[\]]{0,15}(?:记者|通讯员|摄)[^（）()【】\[\]]{0,20}[）)】\]]"),
    re.compile(rf"记者\s+[{HAN}]{{2,4}}(?=\s|$|[）)，,])"),
    re.compile(rf"(?:社|报|网|台)[{HAN}]{{0,6}}\d{{1,2}}月\d{{1,2}}日电|\d{{1,2}}月\d{{1,2}}日电[（(]"),
    LINK_RE,
)
_ATTRIBUTION_RE = re.compile(r"^（来源：[^\s（）()：:][^（）()\n]*）$")
_TRAILING_ATTRIBUTION_RE = re.compile(r"\s*([（(]\s*来源\s*[:：][^（）()\n]*[）)])\s*$")
_ANY_DATE_START_RE = re.compile(
    rf"^\s*(?:(?:19|20)\d{{2}}\s*年\s*)?\d{{1,2}}\s*月\s*\d{{1,2}}\s*(?:日|号)"
    rf"|^\s*(?:{MONTH_ALT})\.?\s+\d{{1,2}}\b",
    re.I,
)


@dataclass(frozen=True, slots=True)
class StyleProblem:
    """One way a summary breaks the house style: a stable dotted ``code`` (``style.too_long``) and a message
    in Simplified Chinese for the editor."""

    code: str
    message: str


def summary_length(text: str) -> int:
    """Characters counted against the window: all but whitespace (see :mod:`news_harvester.editorial.summary`)."""
    return sum(1 for ch in text if not ch.isspace())


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
    :attr:`~news_harvester.editorial.summary.SummaryDraft.full` form can be checked as it is). A missing one
    is ``style.no_source``.
    """
    check_window(min_chars, max_chars)
    fields = format_fields(date_format)
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
        problems.extend(_lead_fragment_problems(text, date_format, fields))
        problems.extend(_halfwidth_problems(text))
    problems.extend(_attribution_problems(attribution.strip()))
    return tuple(problems)


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
            parts.append(r"(?P<year>(?:19|20)\d{2})")
        elif field == "month":
            parts.append(r"(?P<month>1[0-2]|[1-9])")
        elif field == "day":
            day = r"(?:3[01]|[12]\d|[1-9])"
            parts.append(rf"(?P<day>{day})(?P<range>\s*[-—–~～至]\s*{day}|\s*[日号]\s*至\s*{day})?")
    if trailing_comma:
        parts.append(TOD.replace("?P<tod>", "?:") + re.escape(date_format[-1]))
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
        stray.extend(start + i for i in pair_spans(line)[1])
        start += len(line) + 1
    if stray:
        i = min(stray)
        problems.append(StyleProblem("style.unbalanced", f"引号或括号不成对：第 {i + 1} 字“{text[i]}”没有对应的另一半"))
    if not is_complete(text):
        problems.append(StyleProblem("style.no_end_punct", "摘要未以句末标点（。！？）结尾"))
    return problems


def _title_problems(title: str, text: str, date_format: str, fields: set[str]) -> list[StyleProblem]:
    sentences = split_sentences(text)
    if sentences:
        sentences[0] = _prefix_re(date_format, fields).sub("", sentences[0], count=1)
        sentences[0] = LEAD_DATE_RE.sub("", sentences[0], count=1)
    for sentence in sentences:
        if repeats(title, sentence, near=False):
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


def _lead_fragment_problems(text: str, date_format: str, fields: set[str]) -> list[StyleProblem]:
    """What the date prefix makes redundant or a news lead leaves behind (drafting removes the same:
    :func:`news_harvester.editorial.lead.tidy_sentence`): the reporter's sourcing phrase, the prefix's date
    restated as the time of a verb, a day range with a half-width hyphen."""
    problems = []
    starts = [m for s in split_sentences(text) if (m := reporter_phrase(s, at_start=True))]
    found = starts[0] if starts else reporter_phrase(text, at_start=False)
    if found:
        quoted = found.group(0).rstrip("，,：: ")
        message = f"摘要中残留了记者获取消息的说法“{quoted[:30]}”，日期已在开头，请改写为“据…消息”或删去"
        problems.append(StyleProblem("style.reporter_phrase", message))
    prefix = _prefix_re(date_format, fields).match(text)
    fixed = prefix.groupdict() if prefix else {}
    if prefix and fixed.get("day") and not fixed.get("range"):
        year, month, day = (int(v) if v else None for v in (fixed.get("year"), fixed.get("month"), fixed["day"]))
        rest = text[prefix.end() :]
        for m in MENTION_RE.finditer(rest):
            y, mo, d = mention_fields(m)
            if d == day and mo in (None, month) and y in (None, year) and is_event_time(rest, m):
                message = f"开头已写明日期，句中的“{m.group(0).strip()}”重复了它，请删去"
                problems.append(StyleProblem("style.repeated_date", message))
                break
    if m := DAY_RANGE_RE.search(text):
        message = f"日期范围“{m.group(0)}”应写作“{m['d']} 日至 {m['d2']} 日”，不用半角连字符"
        problems.append(StyleProblem("style.date_range", message))
    return problems


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


# --- the headline --------------------------------------------------------------------------------------------


def repeats(title: str, sentence: str, *, near: bool) -> bool:
    """Whether ``sentence`` is the headline ``title`` (folded: width, case, spacing and punctuation aside), or
    with ``near`` nearly so (``TITLE_SIMILARITY``)."""
    head, body = fold(title), fold(sentence)
    if not head or not body:
        return False
    if body == head or (body in head and len(body) >= 0.8 * len(head)):
        return True
    if head in body and len(body) <= len(head) + 4:
        return True
    return near and SequenceMatcher(None, head, body, autojunk=False).ratio() >= TITLE_SIMILARITY


def fold(text: str) -> str:
    """For comparison: NFKC, casefold, letters and digits only."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


# --- punctuation width ---------------------------------------------------------------------------------------


def fullwidth(text: str) -> str:
    """Half-width , ; : ! ? ( ) " next to Chinese text → full-width, in pairs for brackets and quotes."""

    def bracket(m: re.Match[str]) -> str:
        inner = m.group(2).strip()
        outside = (prev_visible(m.string, m.start()), next_visible(m.string, m.end() - 1)[0])
        if not (HAN_RE.search(inner) or any(CJK_RE.match(c) for c in outside if c)):
            return m.group(0)
        return f"{m.group(1)}（{inner}）{m.group(3)}"

    text = re.sub(r"(\s*)\(([^()\n]{0,200})\)(\s*)", lambda m: _spaced(bracket(m), m), text)
    quotes = [i for i, ch in enumerate(text) if ch == '"']
    if quotes and len(quotes) % 2 == 0 and HAN_RE.search(text):
        chars = list(text)
        for k, i in enumerate(quotes):
            chars[i] = "“" if k % 2 == 0 else "”"
        text = "".join(chars)
    return fullwidth_spots(text)


def fullwidth_spots(text: str) -> str:
    """The half-width marks next to Chinese text made full-width (an unpaired straight quote is left)."""
    parts: list[str] = []
    last = 0
    for spot in _halfwidth_spots(text):
        if text[spot] == '"':
            continue  # an unpaired straight quote: left for the editor (style.unbalanced)
        parts.append(text[last:spot].rstrip())
        parts.append(
            {",": "，", ";": "；", ":": "：", "!": "！", "?": "？", ".": "。", "(": "（", ")": "）"}[text[spot]]
        )
        last = next_visible(text, spot)[1]
    parts.append(text[last:])
    return "".join(parts)


def _spaced(replacement: str, m: re.Match[str]) -> str:
    """Full-width brackets take no spaces around them; untouched ones keep theirs."""
    return replacement.strip() if replacement != m.group(0) else replacement


def _halfwidth_spots(text: str) -> list[int]:
    spots = []
    for m in re.finditer(r"[,;:!?().\"]", text):
        i, ch = m.start(), m.group()
        before, after = prev_visible(text, i), next_visible(text, i)[0]
        if ch == "." and not (HAN_RE.match(before) and (after == "" or HAN_RE.match(after))):
            continue
        if ch == ":" and before.isdigit() and after.isdigit():
            continue
        if (before and CJK_RE.match(before)) or (after and CJK_RE.match(after)):
            spots.append(i)
    return spots


# --- the window and the date format --------------------------------------------------------------------------


def check_window(min_chars: int, max_chars: int) -> None:
    """ValueError unless ``0 <= min_chars <= max_chars``."""
    if not 0 <= min_chars <= max_chars:
        raise ValueError(f"the length window needs 0 <= min_chars <= max_chars, got {min_chars} and {max_chars}")


def format_fields(date_format: str) -> set[str]:
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
