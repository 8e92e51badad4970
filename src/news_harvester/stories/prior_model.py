"""The shipped cold-start model: how likely a story belongs in the brief, and which topic, before any editor label.

The keyword rules of topics.yaml are precise but only know the words they name: a story about a trade fair, a
game market or an app ban that uses none of them is "off-topic" on a fresh install. This model generalizes past
the lists. It was trained offline (``tools/train_prior_model.py``) by weak supervision: the rules labelled a
large unlabelled stream of real Chinese news (whole articles, so the labels use every word), and a linear model
learned from the first few hundred characters of the same articles which character n-grams go with each
topic. It therefore recognises vocabulary the rules never named that co-occurs with what they did name. Data
and figures are in ``tools/README.md``; the weights ship inside the package (``data/prior_model.npz``), so
nothing is downloaded at run time.

Pure and version-independent: the featuriser is written here (character 1-3-grams inside space-separated
tokens of ``topics.normalise_text``, sublinear tf × idf, L2 norm) and the file holds plain arrays, so an
upgrade of scikit-learn never invalidates it. scikit-learn is only used to train.

Outputs, each a calibrated probability (Platt scaling on the training stream's held-out part):

* ``relevance``: P(the story belongs in the brief at all);
* ``topics``: P(topic) for each topic id it was trained on (one-vs-rest).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import IO, Any

import numpy as np

from news_harvester.stories.textfold import normalise_text

log = logging.getLogger(__name__)

__all__ = ["FORMAT", "PriorModel", "PriorPrediction", "featurise_text", "load_shipped", "model_input"]

FORMAT = "news_harvester.prior_model/1"  # a file-format name, not the module path: the shipped file keeps it
TITLE_REPEAT = 2
LEAD_CHARS = 600
"""Characters of the body the model reads: trained on leads, it judges a story by its opening, as editors do."""
NGRAMS = (1, 2, 3)
PRIMARY = "primary:"


def model_input(title: str, body: str) -> str:
    """The normalised text the featuriser reads: the title twice, then the body lead."""
    head = normalise_text(title or "")
    lead = normalise_text((body or "")[: LEAD_CHARS * 2])[:LEAD_CHARS]
    return " ".join([head] * TITLE_REPEAT + [lead])


def featurise_text(text: str) -> Counter[str]:
    """Character n-grams inside space-padded tokens (scikit-learn's ``char_wb`` analyser, written out so the
    shipped model does not depend on its version)."""
    grams: list[str] = []
    for token in text.split():
        padded = f" {token} "
        size = len(padded)
        for n in NGRAMS:
            grams += [padded[i : i + n] for i in range(size - n + 1)]
    return Counter(grams)


def gram_codes(text: str) -> np.ndarray[Any, Any]:
    """The n-grams :func:`featurise_text` counts, as 64-bit codes (one per occurrence): characters + 1 in 21-bit
    fields, so a code names its n-gram exactly. Vectorised: the per-character Python loop and ~1,000 dict lookups
    of a story were a third of the harvest's classification time."""
    tokens = text.split()
    if not tokens:
        return np.zeros(0, dtype=np.int64)
    joined = "\x00".join(f" {token} " for token in tokens)  # NUL between padded tokens: no n-gram spans two
    chars = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    inside = chars != 0
    shifted = chars + 1
    parts = [shifted[inside]]
    if len(chars) >= 2:
        pair = inside[:-1] & inside[1:]
        parts.append((shifted[:-1] | (shifted[1:] << 21))[pair])
    if len(chars) >= 3:
        triple = inside[:-2] & inside[1:-1] & inside[2:]
        parts.append((shifted[:-2] | (shifted[1:-1] << 21) | (shifted[2:] << 42))[triple])
    return np.concatenate(parts)


def analyse(text: str) -> list[str]:
    """The n-grams of ``text`` as a list with repeats (the analyser given to scikit-learn when training)."""
    return list(featurise_text(text).elements())


@dataclass(frozen=True, slots=True)
class PriorPrediction:
    relevance: float
    topics: dict[str, float]
    contributions: tuple[tuple[str, float], ...] = ()
    """The n-grams that raised the relevance score most (for the explanation)."""
    primary: dict[str, float] = field(default_factory=dict)
    """P(an editor files the story under this topic first | it belongs), a softmax over the topics."""


class PriorModel:
    """Weights of the shipped model: vocabulary → column, idf, one row of coefficients per output."""

    def __init__(
        self,
        vocabulary: dict[str, int],
        idf: np.ndarray[Any, Any],
        outputs: tuple[str, ...],
        coef: np.ndarray[Any, Any],
        intercept: np.ndarray[Any, Any],
        calibration: np.ndarray[Any, Any],
        info: dict[str, Any],
    ) -> None:
        self.vocabulary = vocabulary
        self.idf = idf.astype(np.float32)
        self.outputs = outputs
        # shape (features, outputs); kept in half precision (as stored): ~5 MB instead of 10, and only the rows of a
        # story's n-grams are widened for the product
        self.coef = coef.astype(np.float16)
        self.intercept = intercept.astype(np.float32)
        self.calibration = calibration.astype(np.float64)  # shape (outputs, 2): a, b of sigmoid(a * z + b)
        self.info = info
        self.topic_ids = tuple(o for o in outputs if o != "relevance" and not o.startswith(PRIMARY))
        self._primary = [i for i, o in enumerate(outputs) if o.startswith(PRIMARY)]
        self._inverse: list[str] | None = None
        self._codes: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None = None
        self.digest = ""
        """sha256 (hex) of the file it was loaded from: stories classified by another model are re-classified."""

    # ------------------------------------------------------------------ prediction

    def _vector(self, text: str) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        codes, counts = np.unique(gram_codes(text), return_counts=True)
        known_codes, columns = self._code_columns()
        at = np.minimum(np.searchsorted(known_codes, codes), len(known_codes) - 1)
        known = known_codes[at] == codes
        if not known.any():
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        index = columns[at[known]]
        values = ((1.0 + np.log(counts[known].astype(np.float32))) * self.idf[index]).astype(np.float32)
        norm = float(np.sqrt((values * values).sum())) if len(values) else 0.0
        if norm > 0:
            values /= norm
        return index, values

    def _code_columns(self) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """The vocabulary as sorted n-gram codes (:func:`gram_codes`) and their columns, built at the first
        prediction: a story's n-grams are then found with one vectorised search instead of ~1,000 dict lookups."""
        if self._codes is None:
            grams = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
            chars = np.array(grams, dtype="<U3").view(np.uint32).reshape(len(grams), 3).astype(np.int64)
            shifted = np.where(chars != 0, chars + 1, 0)  # n-grams hold no NUL: 0 is "no character here"
            codes = shifted[:, 0] | (shifted[:, 1] << 21) | (shifted[:, 2] << 42)
            order = np.argsort(codes, kind="stable")
            self._codes = (codes[order], np.arange(len(grams), dtype=np.int64)[order])
        return self._codes

    def _grams(self) -> list[str]:
        """Column → n-gram, built the first time an explanation needs it."""
        if self._inverse is None:
            self._inverse = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        return self._inverse

    def _calibrated(self, z: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        a, b = self.calibration[:, 0], self.calibration[:, 1]
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(a * z + b, -40.0, 40.0))), dtype=np.float64)

    def predict(self, title: str, body: str, explain: int = 0) -> PriorPrediction:
        """Calibrated probabilities; ``explain`` > 0 also returns that many top n-gram contributions."""
        text = model_input(title, body)
        index, values = self._vector(text)
        z = (
            np.asarray(values @ self.coef[index].astype(np.float32), dtype=np.float64) + self.intercept
            if len(index)
            else self.intercept.astype(np.float64)
        )
        p = self._calibrated(z)
        out = {o: float(x) for o, x in zip(self.outputs, p, strict=True) if not o.startswith(PRIMARY)}
        relevance = out.pop("relevance", 0.0)
        primary: dict[str, float] = {}
        if self._primary:
            zp = z[self._primary]
            e = np.exp(zp - zp.max())
            primary = {
                self.outputs[i][len(PRIMARY) :]: float(v) for i, v in zip(self._primary, e / e.sum(), strict=True)
            }
        contributions: tuple[tuple[str, float], ...] = ()
        if explain and len(index):
            r = self.outputs.index("relevance")
            parts = values * self.coef[index, r].astype(np.float32)
            order = np.argsort(-parts)[: explain * 3]
            inverse = self._grams()
            seen: list[tuple[str, float]] = []
            for i in order:
                gram = inverse[int(index[i])].strip()
                if parts[i] <= 0 or len(gram) < 2 or any(gram in g for g, _ in seen):
                    continue
                seen.append((gram, round(float(parts[i]), 4)))
                if len(seen) == explain:
                    break
            contributions = tuple(seen)
        return PriorPrediction(relevance, out, contributions, primary)

    # ------------------------------------------------------------------ file

    def save(self, path: Path) -> None:
        grams = self._grams()
        np.savez_compressed(
            path,
            format=np.array(FORMAT),
            vocabulary=np.array("\x00".join(grams)),
            idf=self.idf.astype(np.float16),
            outputs=np.array("\x00".join(self.outputs)),
            coef=self.coef.astype(np.float16),
            intercept=self.intercept,
            calibration=self.calibration,
            info=np.array(_json_dumps(self.info)),
        )

    @classmethod
    def load(cls, source: Path | str | IO[bytes]) -> PriorModel:
        """From a path or a binary file object; ValueError when it is not a prior model of this format."""
        try:
            blob = Path(source).read_bytes() if isinstance(source, str | Path) else source.read()
        except OSError as exc:
            raise ValueError(f"cannot read prior model: {exc}") from exc
        model = cls._from_bytes(blob)
        model.digest = hashlib.sha256(blob).hexdigest()
        return model

    @classmethod
    def _from_bytes(cls, blob: bytes) -> PriorModel:
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as data:
                if str(data["format"]) != FORMAT:
                    raise ValueError(f"not a {FORMAT} file")
                grams = str(data["vocabulary"]).split("\x00")
                outputs = tuple(str(data["outputs"]).split("\x00"))
                return cls(
                    {g: i for i, g in enumerate(grams)},
                    data["idf"].astype(np.float32),
                    outputs,
                    data["coef"],
                    data["intercept"],
                    data["calibration"],
                    _json_loads(str(data["info"])),
                )
        except (OSError, KeyError, EOFError, ValueError, zipfile.BadZipFile) as exc:
            raise ValueError(f"cannot read prior model: {exc}") from exc


def _json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _json_loads(text: str) -> dict[str, Any]:
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


SHIPPED = "prior_model.npz"


@cache
def load_shipped() -> PriorModel | None:
    """The model inside the package, or None when the file is absent (a build without it: rules only)."""
    try:
        ref = resources.files("news_harvester").joinpath("data", SHIPPED)
        if not ref.is_file():
            return None
        with ref.open("rb") as fh:
            return PriorModel.load(fh)
    except (ValueError, OSError, ModuleNotFoundError) as exc:
        log.error("the packaged cold-start model is unreadable, classifying with the rules alone: %s", exc)
        return None
