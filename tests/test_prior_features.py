"""The cold-start model's n-grams are found vectorised (prior_model.gram_codes and a sorted code table) instead
of a Counter and a dict lookup per n-gram; these tests pin the fast path to the reference featuriser that the
model was trained with (``featurise_text``, scikit-learn's char_wb analyser written out)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from news_harvester.stories.prior_model import featurise_text, gram_codes, load_shipped, model_input

TEXTS = [
    "",
    " ",
    "a",
    "5g",
    "人工智能 ai 赋能 数字贸易",
    "商务部等九部门联合印发 关于推进 跨境电商 高质量发展的意见",
    "wto e commerce moratorium extended to 2026 ministers agree",
    "数据 出境 安全评估办法 第1条 x ab abc abcd",
    "𠀀𠀁 emoji 😀 and combining é",  # characters beyond the BMP and combining marks
]


def _code(gram: str) -> int:
    shifted = [ord(c) + 1 for c in gram] + [0, 0]
    return shifted[0] | (shifted[1] << 21) | (shifted[2] << 42)


@pytest.mark.parametrize("text", TEXTS)
def test_codes_name_exactly_the_reference_n_grams_with_their_counts(text):
    codes, counts = np.unique(gram_codes(text), return_counts=True)
    expected = Counter({_code(gram): n for gram, n in featurise_text(text).items()})
    assert dict(zip(codes.tolist(), counts.tolist(), strict=True)) == expected


def test_the_model_sees_the_same_features_as_through_the_vocabulary_dict():
    model = load_shipped()
    if model is None:
        pytest.skip("no shipped model in this build")
    for title, body in [("跨境电商出口增长", "海关总署数据显示，跨境电商进出口额同比增长。" * 20), ("", "")] + [
        (t, t * 10) for t in TEXTS
    ]:
        text = model_input(title, body)
        index, values = model._vector(text)
        found = {
            model.vocabulary[g]: n for g, n in featurise_text(text).items() if g in model.vocabulary
        }
        assert sorted(index.tolist()) == sorted(found)
        weights = {c: (1 + np.log(n)) * model.idf[c] for c, n in found.items()}
        norm = np.sqrt(sum(w * w for w in weights.values())) or 1.0
        got = dict(zip(index.tolist(), values.tolist(), strict=True))
        for column, weight in weights.items():
            assert got[column] == pytest.approx(weight / norm, rel=1e-5)
