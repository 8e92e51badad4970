"""Summary drafts for the brief's 行业资讯 items in the house style described here, which the style check
(:mod:`news_harvester.editorial.house_style`) holds edited summaries to.

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

The work is split along its jobs, each module importing only the ones listed after it: this module (the draft:
the headline copy, whole sentences taken into the window, the attribution); :mod:`.lead` (steps 1–4: the
body's paragraphs without furniture, the dateline and opener, the lead's date and the date prefix;
``MAX_SCAN_CHARS``, ``DATELINE_PARAGRAPHS``); :mod:`.house_style` (:func:`style_check`, :func:`summary_length`,
the defaults such as ``DEFAULT_DATE_FORMAT``, ``TITLE_SIMILARITY``, punctuation width); :mod:`.sentences`
(:func:`split_sentences`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from news_harvester.editorial.house_style import (
    DEFAULT_DATE_FORMAT,
    DEFAULT_MAX_CHARS,
    DEFAULT_MIN_CHARS,
    LEAD_DATE_RE,
    LINK_RE,
    StyleProblem,
    check_window,
    format_fields,
    fullwidth,
    fullwidth_spots,
    repeats,
    style_check,
    summary_length,
)
from news_harvester.editorial.lead import (
    TAG_RE,
    LeadDate,
    body_paragraphs,
    find_dateline,
    open_lead,
    render_prefix,
    resolve_date,
    tidy_sentence,
)
from news_harvester.editorial.sentences import is_complete, pair_spans, split_sentences

_CLAUSE_MARKS = "，；,;"
_INLINE_CREDIT_RE = re.compile(
    r"\s*[（(][^（）()]{0,20}?(?:记者|通讯员|摄影|摄|供图|图片来源|图源|视频截图|截图|资料图)[^（）()]{0,20}?[）)]"
)


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
    check_window(min_chars, max_chars)
    format_fields(date_format)
    zone = _zone(tz)
    if published_at is not None and published_at.utcoffset() is None:
        raise ValueError(f"published_at must be timezone-aware, got naive {published_at.isoformat()}")
    published = published_at.astimezone(zone).date() if published_at is not None else None
    name = " ".join((source_name or "").split())
    attribution = f"（来源：{name}）" if name else ""
    notes: list[StyleProblem] = []
    paragraphs = body_paragraphs(body)
    copy = paragraphs.pop(0) if paragraphs and _is_headline_copy(title, paragraphs[0]) else None
    opening = open_lead(paragraphs, published, name)
    notes.extend(opening.warnings)
    lead_date = opening.date
    if lead_date is None and published is not None:
        lead_date = LeadDate(published.month, published.day, published.year, origin="published")
    prefix = render_prefix(date_format, lead_date) if lead_date else ""
    if not prefix:
        lead_date = None
        notes.append(StyleProblem("style.no_date", "正文和发布时间中都没有可用的日期，摘要缺少日期开头，请补写"))
    trial: list[StyleProblem] = []
    lead = _take(_units(opening.paragraphs, lead_date), prefix, min_chars, max_chars, trial)
    if copy is not None and summary_length(prefix + lead) < min_chars:
        trial = []  # the headline copy is needed to reach the minimum after all
        lead = _take(_units([copy, *opening.paragraphs], lead_date), prefix, min_chars, max_chars, trial)
    notes.extend(trial)
    if not lead:
        reason = "正文为空" if not body.strip() else "正文中没有可用作导语的完整句子"
        notes.append(StyleProblem("style.empty", f"{reason}，无法生成摘要草稿，请手写摘要"))
        text = ""
    else:
        text = prefix + lead
    event = resolve_date(lead_date, published) if lead_date else None
    origin = lead_date.origin if lead_date else "none"
    checks = style_check(title, text, attribution, min_chars=min_chars, max_chars=max_chars, date_format=date_format)
    return SummaryDraft(text, attribution, event, origin, _dedupe([*notes, *checks]))


# --- sentences → the lead -------------------------------------------------------------------------------------


_HEADING = ""  # a unit that is a subheading or skipped line: the lead may stop there


def _units(paragraphs: Iterable[str], lead_date: LeadDate | None) -> list[str]:
    """Candidate sentences in order, with ``_HEADING`` where a heading or caption interrupts the text; each
    without what repeats the prefix's date or is the reporter's sourcing (:func:`tidy_sentence`)."""
    units: list[str] = []
    for paragraph in paragraphs:
        text = fullwidth(_INLINE_CREDIT_RE.sub("", TAG_RE.sub("", paragraph))).strip()
        sentences = split_sentences(text)
        if not sentences or (len(sentences) == 1 and not is_complete(sentences[0]) and not _prose_fragment(text)):
            units.append(_HEADING)
            continue
        for sentence in (tidy_sentence(s, lead_date) for s in sentences):
            if is_complete(sentence):
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
        if unit == _HEADING or LINK_RE.search(unit) or pair_spans(unit)[1]:
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
    return fullwidth_spots(lead)  # joining paragraphs can put "cool!" next to Chinese text


def _cut_clause(sentence: str, budget: int) -> str | None:
    """The sentence up to its last clause mark (outside quotes and brackets) that fits ``budget``, ending in a
    stop; None when no such mark exists."""
    spans, _ = pair_spans(sentence)
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


# --- the headline ------------------------------------------------------------------------------------------------


def _is_headline_copy(title: str, paragraph: str) -> bool:
    """A leading paragraph that repeats the headline: nearly the same text, with no date of its own and no
    final "。" (a lead sentence that restates the headline has those; sample item 1)."""
    core = paragraph.rstrip('”’」』"）)')
    if core.endswith(("。", ".")) or LEAD_DATE_RE.match(paragraph) or find_dateline(paragraph):
        return False
    return repeats(title, paragraph, near=True)


# --- small helpers -----------------------------------------------------------------------------------------------


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {tz!r}") from exc


def _dedupe(problems: Iterable[StyleProblem]) -> tuple[StyleProblem, ...]:
    """One problem per code, the first (drafting notes come before the generic check)."""
    seen: dict[str, StyleProblem] = {}
    for problem in problems:
        seen.setdefault(problem.code, problem)
    return tuple(seen.values())
