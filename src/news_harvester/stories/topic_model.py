"""The learned topic model: trained from editors' labels, blended with the keyword rules by ``topics.classify``.

Pure: no DB, no network, no clock (the caller stores the bytes and the training time). scikit-learn and joblib
are imported only here.

Design:

* Input text: the normalised title (``topics.normalise_text``: folded as for keywords, casefolded)
  written three times, so a headline weighs as much as a paragraph, then the first ``MODEL_BODY_CHARS``
  characters of the normalised body.
* Features: TF-IDF over character 1-3-grams inside words (``analyzer="char_wb"``, sublinear tf, terms in at
  least 2 stories, at most 200,000 features). Chinese needs no segmenter this way, and English words still
  contribute their own n-grams.
* One logistic regression per topic (one-vs-rest, liblinear, ``C=4``, fixed ``random_state``): a story may
  have several topics, a story confirmed as off-topic is a negative for all (one whose topics nobody
  confirmed, ``topics_known=False``, is neither), and each topic's probability stands on its own, which is
  what the blend with the rule confidence needs. A topic is trained when it has at least
  ``min_per_topic`` positive and as many negative stories; the others are listed in ``info["skipped"]``.
* Relevance: when editors accepted and rejected at least ``min_per_topic`` stories each, a second logistic
  regression gives P(accepted) (:meth:`TopicModel.relevance`); the ranking may use it.
* Blend weight w = ``MAX_BLEND`` × n / (n + ``BLEND_HALF``), n = stories with known topics: 0.10 at 30, 0.30 at
  150, 0.46 at 500, 0.56 at 2,000, never above 0.6, so the explainable rules always keep at least 40 % of
  the say and a young model only nudges them.
* ``info`` (JSON-serialisable): counts per topic, skipped topics, relevance counts, features, blend weight and
  the k-fold cross-validated macro-F1 of the topics when there are enough labels (``cv_folds`` ≥ 2).

Measured (``python tests/topics_eval.py``): trained on THUCNews headlines (16,000 of the 20,000 in
../shared/fixtures, 10 general news topics, 80/20 split with a fixed seed), held-out accuracy 0.869 and
macro-F1 0.869 (argmax over the per-topic probabilities), 63,000 features, about 10 s of CPU. Alternatives
measured on the same split: char_wb 1-2-grams 0.864, 2-3-grams 0.853, 1-4-grams 0.870 (+40 % time);
C = 2 / 4 / 10: 0.862 / 0.869 / 0.872 (C = 10 trains slower for +0.003). 4,000 headlines give 0.817.

Serialisation: :meth:`TopicModel.to_bytes` is joblib (pickle) of a dict with a format tag and the
scikit-learn version; :meth:`TopicModel.from_bytes` raises ValueError on anything else or on another
scikit-learn minor version (retrain instead of trusting an old pickle). Unpickling runs code: only load bytes
this program wrote to its own database.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import joblib  # type: ignore[import-untyped]
import numpy as np
import sklearn  # type: ignore[import-untyped]
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.model_selection import KFold  # type: ignore[import-untyped]

from news_harvester.stories.textfold import normalise_text
from news_harvester.stories.topics import BODY_CHARS

__all__ = ["LabelledStory", "NotEnoughLabels", "TopicModel"]

FORMAT = "news_harvester.topic_model"  # a file-format name, not the module path: stored models keep it
VERSION = 1
MODEL_BODY_CHARS = 1000
TITLE_REPEAT = 3
MAX_BLEND = 0.6
BLEND_HALF = 150
TOPIC_HALF = 30.0
C = 4.0
RANDOM_STATE = 0


@dataclass(frozen=True, slots=True)
class LabelledStory:
    """An editor's labels for one story: the confirmed or corrected topic ids (empty: off-topic), and whether
    the story was accepted (True), rejected (False) or not judged (None).

    ``topics_known=False``: nobody confirmed the topics (a story accepted or rejected as it stood); it teaches
    relevance only, and is neither a positive nor a negative example for any topic."""

    title: str
    body: str
    topics: frozenset[str]
    accepted: bool | None
    topics_known: bool = True


@dataclass(frozen=True, slots=True)
class EditorsVerdict:
    """What the editors' model says of one story (see :meth:`TopicModel.assess`)."""

    topics: dict[str, float]
    accept: float | None
    primary: dict[str, float] | None


class NotEnoughLabels(Exception):
    """Too few labelled stories to train on; ``needed`` and ``have`` say how far off."""

    def __init__(self, message: str, *, needed: int, have: int) -> None:
        super().__init__(message)
        self.needed = needed
        self.have = have


def model_text(title: str, body: str) -> str:
    """What the vectoriser reads: the normalised title three times, then the body lead."""
    head = normalise_text(title or "")
    lead = normalise_text((body or "")[: min(BODY_CHARS, MODEL_BODY_CHARS * 2)])[:MODEL_BODY_CHARS]
    return " ".join([head] * TITLE_REPEAT + [lead])


def blend_weight_for(n_examples: int) -> float:
    """The model's share in ``classify``: MAX_BLEND × n / (n + BLEND_HALF)."""
    return MAX_BLEND * n_examples / (n_examples + BLEND_HALF) if n_examples > 0 else 0.0


def _vectoriser() -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(1, 3),
        min_df=2,
        sublinear_tf=True,
        max_features=200_000,
        dtype=np.float32,
    )


def _fit_linear(x: Any, y: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], float]:
    # Balanced classes: a topic has a few dozen stories among hundreds, and unbalanced fits put even its clear
    # positives below 0.5, so blending pulled the rules' confident topics down instead of confirming them.
    clf = LogisticRegression(C=C, solver="liblinear", random_state=RANDOM_STATE, max_iter=200, class_weight="balanced")
    clf.fit(x, y)
    return clf.coef_[0].astype(np.float32), float(clf.intercept_[0])


def _sigmoid(z: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0))), dtype=np.float64)


class TopicModel:
    """TF-IDF character n-grams + one logistic regression per topic (and one for acceptance)."""

    def __init__(
        self,
        vectoriser: TfidfVectorizer,
        topic_ids: tuple[str, ...],
        coef: np.ndarray[Any, Any],
        intercept: np.ndarray[Any, Any],
        relevance_coef: tuple[np.ndarray[Any, Any], float] | None,
        info: dict[str, Any],
        primary: tuple[tuple[str, ...], np.ndarray[Any, Any], np.ndarray[Any, Any]] | None = None,
    ) -> None:
        self._vectoriser = vectoriser
        self.topic_ids = topic_ids
        self._coef = coef
        self._intercept = intercept
        self._relevance = relevance_coef
        self.info = info
        self.blend_weight: float = float(info["blend_weight"])
        self._primary = primary

    # ------------------------------------------------------------------ training

    @classmethod
    def train(
        cls,
        examples: Sequence[LabelledStory],
        topic_ids: Sequence[str],
        *,
        min_examples: int = 30,
        min_per_topic: int = 5,
        cv_folds: int = 3,
    ) -> TopicModel:
        """Fit on editors' labels; NotEnoughLabels when fewer than ``min_examples`` stories are given or no
        topic (nor acceptance) has ``min_per_topic`` positive and negative stories.

        Topics are learned from the stories whose topics are known, relevance from the accepted and rejected
        ones; the blend weight follows the number of stories with known topics."""
        n = len(examples)
        if n < min_examples:
            raise NotEnoughLabels(
                f"need at least {min_examples} labelled stories to train a topic model, have {n}",
                needed=min_examples,
                have=n,
            )
        known = list(dict.fromkeys(topic_ids))
        labelled = [i for i, e in enumerate(examples) if e.topics_known]
        counts = Counter(t for i in labelled for t in examples[i].topics if t in known)
        trained = tuple(t for t in known if min_per_topic <= counts[t] <= len(labelled) - min_per_topic)
        judged = [i for i, e in enumerate(examples) if e.accepted is not None]
        verdicts = Counter(bool(examples[i].accepted) for i in judged)
        relevance_ok = min(verdicts[True], verdicts[False]) >= min_per_topic
        if not trained and not relevance_ok:
            best = max(known, key=lambda t: counts[t], default=None)
            have = counts[best] if best else 0
            raise NotEnoughLabels(
                f"no topic has {min_per_topic} labelled stories (most: {best or '-'} with {have}) and fewer than "
                f"{min_per_topic} accepted and rejected stories each ({verdicts[True]} / {verdicts[False]})",
                needed=min_per_topic,
                have=have,
            )
        vectoriser = _vectoriser()
        x = vectoriser.fit_transform([model_text(e.title, e.body) for e in examples])
        coef = np.zeros((x.shape[1], len(trained)), dtype=np.float32)
        intercept = np.zeros(len(trained), dtype=np.float32)
        for j, topic in enumerate(trained):
            y = np.array([topic in examples[i].topics for i in labelled], dtype=np.int8)
            coef[:, j], intercept[j] = _fit_linear(x[labelled], y)
        relevance = None
        if relevance_ok:
            relevance = _fit_linear(x[judged], np.array([bool(examples[i].accepted) for i in judged], dtype=np.int8))
        primary = _fit_primary(x, [examples[i] for i in labelled], labelled, known, min_per_topic)
        topic_examples = [examples[i] for i in labelled]
        info: dict[str, Any] = {
            "n_examples": n,
            "n_topic_examples": len(labelled),
            "topics": {t: counts[t] for t in trained},
            "skipped": {t: counts[t] for t in known if t not in trained},
            "unknown_topics": sorted({t for e in topic_examples for t in e.topics} - set(known)),
            "relevance": {"accepted": verdicts[True], "rejected": verdicts[False]} if relevance_ok else None,
            "primary": list(primary[0]) if primary is not None else None,
            "features": int(x.shape[1]),
            "blend_weight": round(blend_weight_for(len(labelled)), 4),
            "cv_folds": cv_folds,
            "cv_macro_f1": _cross_validate(topic_examples, trained, cv_folds) if cv_folds >= 2 else None,
            "sklearn": sklearn.__version__,
        }
        return cls(vectoriser, trained, coef, intercept, relevance, info, primary)

    def topic_weight(self, topic_id: str) -> float:
        """The model's share in one topic's confidence: the overall blend weight, scaled down for a topic with few
        labelled stories (n / (n + ``TOPIC_HALF``)), so that a topic the editors barely touched keeps what the
        rules and the cold-start model say instead of being averaged towards an uninformed guess."""
        n = int(self.info.get("topics", {}).get(topic_id, 0))
        return self.blend_weight * n / (n + TOPIC_HALF) if n > 0 else 0.0

    # ------------------------------------------------------------------ prediction

    def _features(self, title: str, body: str) -> Any:
        return self._vectoriser.transform([model_text(title, body)])

    def assess(self, title: str, body: str) -> EditorsVerdict:
        """Everything the model says of one story from one feature vector: the text is vectorised once."""
        x = self._features(title, body)
        return EditorsVerdict(self._topics(x), self._accept(x), self._first(x))

    def predict(self, title: str, body: str) -> dict[str, float]:
        """topic id → probability, for the topics the model was trained on."""
        return self._topics(self._features(title, body))

    def predict_many(self, texts: Sequence[tuple[str, str]]) -> np.ndarray[Any, Any]:
        """Probabilities for many (title, body) pairs: rows follow ``texts``, columns ``topic_ids``."""
        x = self._vectoriser.transform([model_text(t, b) for t, b in texts])
        return _sigmoid(np.asarray(x @ self._coef) + self._intercept)

    def primary(self, title: str, body: str) -> dict[str, float] | None:
        """P(editors file the story under this topic first), a softmax over the topics that single-topic labels
        taught; None when there were too few."""
        return self._first(self._features(title, body))

    def relevance(self, title: str, body: str) -> float | None:
        """P(an editor accepts the story), or None when the model was not trained on accept/reject labels."""
        return self._accept(self._features(title, body))

    def _topics(self, x: Any) -> dict[str, float]:
        if not self.topic_ids:
            return {}
        scores = _sigmoid(np.asarray(x @ self._coef).ravel() + self._intercept)
        return {t: float(p) for t, p in zip(self.topic_ids, scores, strict=True)}

    def _first(self, x: Any) -> dict[str, float] | None:
        if self._primary is None:
            return None
        classes, coef, intercept = self._primary
        z = np.asarray(x @ coef).ravel() + intercept
        e = np.exp(z - z.max())
        return {t: float(p) for t, p in zip(classes, e / e.sum(), strict=True)}

    def _accept(self, x: Any) -> float | None:
        if self._relevance is None:
            return None
        coef, intercept = self._relevance
        z = float(np.asarray(x @ coef).ravel()[0]) + intercept
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))

    # ------------------------------------------------------------------ bytes

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        state = {
            "format": FORMAT,
            "version": VERSION,
            "sklearn": sklearn.__version__,
            "vectoriser": self._vectoriser,
            "topic_ids": list(self.topic_ids),
            "coef": self._coef,
            "intercept": self._intercept,
            "relevance": self._relevance,
            "info": self.info,
            "primary": self._primary,
        }
        joblib.dump(state, buffer, compress=3)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TopicModel:
        """The model :meth:`to_bytes` wrote; ValueError for anything else (see the module docstring)."""
        try:
            state = joblib.load(io.BytesIO(data))
        except Exception as exc:  # joblib/pickle raise many types on junk
            raise ValueError(f"not a stored topic model ({type(exc).__name__}: {exc})") from exc
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError("not a stored topic model (no news_harvester.stories.topic_model format tag)")
        if state.get("version") != VERSION:
            raise ValueError(f"topic model format version {state.get('version')!r}, expected {VERSION}: retrain")
        if _minor(str(state.get("sklearn"))) != _minor(sklearn.__version__):
            raise ValueError(
                f"topic model trained with scikit-learn {state.get('sklearn')}, this is {sklearn.__version__}: retrain"
            )
        return cls(
            state["vectoriser"],
            tuple(state["topic_ids"]),
            state["coef"],
            state["intercept"],
            state["relevance"],
            state["info"],
            state.get("primary"),
        )


def _fit_primary(
    x: Any, stories: Sequence[LabelledStory], rows: Sequence[int], known: Sequence[str], min_per_topic: int
) -> tuple[tuple[str, ...], np.ndarray[Any, Any], np.ndarray[Any, Any]] | None:
    """Which one topic editors file a story under: a multinomial fit on the stories labelled with exactly one
    topic (those say it unambiguously), over topics with at least ``min_per_topic`` of them."""
    single = [(row, next(iter(s.topics))) for row, s in zip(rows, stories, strict=True) if len(s.topics) == 1]
    counts = Counter(t for _, t in single)
    classes = tuple(t for t in known if counts[t] >= min_per_topic)
    if len(classes) < 2:
        return None
    chosen = [(row, t) for row, t in single if t in classes]
    clf = LogisticRegression(C=C, max_iter=1000, class_weight="balanced", random_state=RANDOM_STATE)
    clf.fit(x[[row for row, _ in chosen]], [t for _, t in chosen])
    order = [list(clf.classes_).index(t) for t in classes]
    if len(classes) == 2:  # scikit-learn keeps one row for two classes: rebuild both sides of the softmax
        coef = np.vstack([-clf.coef_[0] / 2, clf.coef_[0] / 2])
        intercept = np.array([-clf.intercept_[0] / 2, clf.intercept_[0] / 2])
    else:
        coef, intercept = clf.coef_[order], clf.intercept_[order]
    return classes, coef.T.astype(np.float32), intercept.astype(np.float32)


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _cross_validate(examples: Sequence[LabelledStory], trained: tuple[str, ...], folds: int) -> float | None:
    """Macro-F1 over ``trained`` topics (probability ≥ 0.5 = assigned), k-fold, or None when a fold's training
    part would lack a topic."""
    if not trained or len(examples) < folds * 2:
        return None
    truth = np.array([[t in e.topics for t in trained] for e in examples], dtype=bool)
    predicted = np.zeros_like(truth)
    texts = [model_text(e.title, e.body) for e in examples]
    for train_idx, test_idx in KFold(folds, shuffle=True, random_state=RANDOM_STATE).split(texts):
        part = truth[train_idx]
        if (part.sum(axis=0) < 1).any() or (part.sum(axis=0) == len(train_idx)).any():
            return None
        vectoriser = _vectoriser()
        x_train = vectoriser.fit_transform([texts[i] for i in train_idx])
        x_test = vectoriser.transform([texts[i] for i in test_idx])
        for j in range(len(trained)):
            coef, intercept = _fit_linear(x_train, part[:, j].astype(np.int8))
            predicted[test_idx, j] = _sigmoid(np.asarray(x_test @ coef).ravel() + intercept) >= 0.5
    f1 = []
    for j in range(len(trained)):
        tp = int((truth[:, j] & predicted[:, j]).sum())
        fp = int((~truth[:, j] & predicted[:, j]).sum())
        fn = int((truth[:, j] & ~predicted[:, j]).sum())
        f1.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0)
    return round(float(np.mean(f1)), 4)
