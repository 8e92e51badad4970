"""Sentence splitting for the 行业资讯 summaries: Chinese and English sentences, never split inside a pair of
quotes or brackets, and that pairing itself (which also tells the style check about a mark without its partner).

Pure: text in, sentences out. The house style these sentences serve is described in
:mod:`news_harvester.editorial.summary`.
"""

from __future__ import annotations

import re

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
"""The Han ideographs, as the inside of a regex character class."""
CJK_RE = re.compile(f"[{HAN}\u3000-\u303f\uff00-\uffef]")
HAN_RE = re.compile(f"[{HAN}]")
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
_EN_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "inc", "ltd", "co", "corp", "no", "vs", "etc", "e.g"}
    | {"i.e", "u.s", "u.k", "u.n", "e.u", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct"}
    | {"nov", "dec", "gov", "sen", "rep", "gen", "col", "lt", "mt", "ft", "approx", "dept", "est", "fig"}
)


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


def pair_spans(line: str) -> tuple[dict[int, int], set[int]]:
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
    spans, _ = pair_spans(line)
    out: list[str] = []
    start, i, n = 0, 0, len(line)
    while i < n:
        if i in spans:
            end = spans[i]
            at_start = next_visible(line, start - 1)[1] == i
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
    last = prev_visible(line, end)
    if last in _STOPS:
        return True
    following = next_visible(line, end)[0]
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
        return nxt == "" or nxt.isspace() or nxt in _CLOSERS or bool(CJK_RE.match(nxt))
    if ch != ".":
        return False
    if nxt and not nxt.isspace() and not HAN_RE.match(nxt):
        return False  # 3.5, example.com, U.S
    j = i
    while j > 0 and i - j < 12 and ((line[j - 1].isascii() and line[j - 1].isalpha()) or line[j - 1] == "."):
        j -= 1
    word = line[j:i]
    if word.lower() in _EN_ABBREVIATIONS or (len(word) == 1 and word.isupper()):
        return False  # Mr. Smith, U.S. officials, J. Smith
    if nxt.isspace():
        following = next_visible(line, i)[0]
        return following == "" or not following.islower()
    return True


def _absorb(line: str, i: int) -> int:
    """Past further stops and closing marks after a sentence end (？！, 。”, ……)."""
    while i < len(line) and (line[i] in _STOPS or line[i] in _CLOSERS or line[i] == '"'):
        i += 1
    return i


def is_complete(sentence: str) -> bool:
    core = sentence.rstrip().rstrip("".join(_CLOSERS) + '"')
    return bool(core) and (core[-1] in _STOPS or core[-1] == ".")


def prev_visible(text: str, i: int) -> str:
    """The nearest non-space character before index ``i`` ("" at the start)."""
    j = i - 1
    while j >= 0 and text[j].isspace():
        j -= 1
    return text[j] if j >= 0 else ""


def next_visible(text: str, i: int) -> tuple[str, int]:
    """The nearest non-space character after index ``i`` ("" at the end) and its index."""
    j = i + 1
    while j < len(text) and text[j].isspace():
        j += 1
    return (text[j] if j < len(text) else ""), j
