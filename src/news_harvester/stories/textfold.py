"""Text folding shared by the keyword rules and the learned models: one definition of "the same words".

Pure and cheap for the common case (ASCII text is returned as it is). A text is folded by NFKC where a
compatibility character such as ＡＩ is present, Taiwan / Hong Kong wording turned into mainland wording phrase by
phrase where it has traditional characters (OpenCC ``tw2sp``: 個人資料 → 个人数据, 晶片 → 芯片, 人工智慧 → 人工智能),
then traditional → simplified character by character with the table read off
:func:`news_harvester.stories.dedupe.normalise_for_dedupe` (so dedupe and classification agree), and whitespace next to
CJK characters dropped ("5G 基站" = "5G基站").

Imports nothing of the story stages but dedupe's normaliser: topics.py (the rules), topic_model.py and
prior_model.py (the models) all read text through here, and none of them imports another for it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from typing import Any

from news_harvester.stories.dedupe import normalise_for_dedupe

__all__ = ["canonical", "char_class", "fold", "normalise_text"]

CJK = r"\u2e80-\u2fff\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_HAS_CJK = re.compile(rf"[{CJK}]")
_SPACE_AFTER_CJK = re.compile(rf"([{CJK}])\s+")
_SPACE_BEFORE_CJK = re.compile(rf"\s+([{CJK}])")
NOT_WORD = re.compile(r"[\W_]+")


def char_class(chars: Iterable[str], negate: bool = False) -> str:
    """A regular-expression character class of ``chars`` (escaped, sorted, deduplicated)."""
    return "[" + ("^" if negate else "") + "".join(re.escape(c) for c in sorted(set(chars))) + "]"


@cache
def _fold_table() -> dict[int, str]:
    """Traditional → simplified for the CJK blocks, read off dedupe's public normaliser (one definition)."""
    table: dict[int, str] = {}
    for cp in range(0x3400, 0xA000):
        folded = normalise_for_dedupe(chr(cp))
        if len(folded) == 1 and folded != chr(cp):
            table[cp] = folded
    return table


@cache
def _traditional() -> re.Pattern[str]:
    return re.compile(char_class(chr(cp) for cp in _fold_table()))


@cache
def _compatibility() -> re.Pattern[str]:
    """Characters whose NFKC form has a letter or digit (full-width ＡＩ５Ｇ, ligatures, compatibility
    ideographs, circled numbers): only these change what a keyword can match, so NFKC runs only when one
    is present (5 of the 188 evaluation texts; it costs more than the rest of the folding together)."""
    chars = []
    for cp in range(0x80, 0x10000):
        if not 0xD800 <= cp < 0xE000:
            folded = unicodedata.normalize("NFKC", chr(cp))
            if folded != chr(cp) and any(c.isalnum() for c in folded):
                chars.append(chr(cp))
    return re.compile(char_class(chars))


def fold(text: str) -> str:
    """NFKC, traditional → simplified, no whitespace next to CJK. Case and punctuation kept (keys match
    across any punctuation where they have a space). ASCII text is already in this form."""
    if text.isascii():
        return text
    if _compatibility().search(text):
        text = unicodedata.normalize("NFKC", text)
    if _traditional().search(text):
        text = _regional_phrases(text).translate(_fold_table())
    if _HAS_CJK.search(text):
        text = _SPACE_BEFORE_CJK.sub(r"\1", _SPACE_AFTER_CJK.sub(r"\1", text))
    return text


def _regional_phrases(text: str) -> str:
    """Taiwan and Hong Kong wording → mainland wording, phrase by phrase, before the character fold: 個人資料 is
    个人数据, 晶片 芯片, 人工智慧 人工智能, 軟體 软件, 數位 数字 (OpenCC's ``tw2sp`` dictionaries, as shipped by
    opencc-python-reimplemented). Only text with traditional characters pays for it; the result is simplified."""
    return _tw2sp().convert(text)  # type: ignore[no-any-return]


@cache
def _tw2sp() -> Any:
    import opencc  # type: ignore[import-untyped]

    return opencc.OpenCC("tw2sp")


def canonical(text: str) -> str:
    """A phrase's lookup form: folded, every run of punctuation or whitespace one space. Case kept."""
    return NOT_WORD.sub(" ", fold(text)).strip()


def normalise_text(text: str) -> str:
    """Folded, punctuation as single spaces, case-folded: the learned model's input."""
    return canonical(text).casefold()
