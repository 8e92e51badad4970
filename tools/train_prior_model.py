"""Train the shipped cold-start model (src/news_harvester/data/prior_model.npz) by weak supervision.

    python tools/train_prior_model.py --xwlb DIR [--thucnews DIR] [--examples FILE] [--exclude FILE]...

* **Stream** (unlabelled real news): the detailed stories of 新闻联播 transcripts, 2022-09 to 2026-08
  (``--xwlb``: the ``news/`` folder of github.com/DuckBurnIncense/xin-wen-lian-bo, MIT licence, one Markdown
  file a day, ``### headline`` then the story's paragraphs), and THUCNews headlines (``--thucnews``:
  ../shared/fixtures/thucnews-titles, Sina 2005-2011, research use). Neither is copied into the repository;
  only the weights derived from them ship.
* **Labels**: the keyword rules of config/topics.yaml, applied to the *whole* article (every mention counts),
  give each story its topics; a story with no topic and no topic above ``--unsure`` is a negative; stories in
  between are left out (the rules are unsure). THUCNews headlines of sports, entertainment, realty, stocks,
  education, society, politics, game and finance are negatives unless the rules give them a topic; science
  headlines only count as positives. Exemplars (``--examples``: topic → "headline｜lead" lists, ``none`` for
  look-alike negatives) are labelled by hand and weigh ``--example-weight`` times.
* **Learning**: the model sees only the title and the first 600 characters of the body (what it will see of
  a new story's lead), so it must learn which other words go with a topic. Character 1-3-grams inside tokens,
  sublinear tf-idf, one logistic regression per output (relevance = any topic; each topic one-vs-rest).
* **Calibration**: out-of-fold scores (3 folds) against the labels, Platt scaling: each output a probability.
* **Held-out evaluation data is excluded**: any stream story whose headline overlaps an item of the files
  given with ``--exclude`` (bench/relevance_set/*.jsonl) is dropped before training.

Prints counts, held-out figures against the pseudo-labels, and the file size.
"""

from __future__ import annotations

import argparse
import html
import json
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from ruamel.yaml import YAML
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from news_harvester.stories.prior_model import PriorModel, analyse, model_input  # noqa: E402
from news_harvester.stories.textfold import normalise_text  # noqa: E402
from news_harvester.stories.topics import Taxonomy, classify, load_taxonomy  # noqa: E402

THUC_LABELS = [
    "finance",
    "realty",
    "stocks",
    "education",
    "science",
    "society",
    "politics",
    "sports",
    "game",
    "entertainment",
]
THUC_NEGATIVE = {"finance", "realty", "stocks", "education", "society", "politics", "sports", "game", "entertainment"}


def read_xwlb(folder: Path) -> list[dict[str, str]]:
    docs = []
    for path in sorted(folder.glob("2*.md")):
        text = path.read_text(encoding="utf-8")
        _, _, detail = text.partition("## 详细新闻")
        for part in re.split(r"\n### ", detail)[1:]:
            title, _, body = part.partition("\n")
            body = html.unescape(re.sub(r"<[^>]+>", "\n", body))
            body = re.sub(r"\[查看原文\]\([^)]*\)", "", body)
            body = re.sub(r"央视网消息\s*（新闻联播）：", "", body)
            body = re.sub(r"\n\s*\n+", "\n", body).strip()
            if len(body) >= 40:
                docs.append({"title": title.strip(), "body": body[:3000], "origin": "xwlb"})
    return docs


def read_thucnews(folder: Path) -> list[dict[str, str]]:
    rows = []
    for name in ("dev.txt", "test.txt"):
        for line in (folder / "THUCNews" / "data" / name).read_text(encoding="utf-8").splitlines():
            title, _, label = line.rpartition("\t")
            if title:
                rows.append({"title": title, "body": "", "origin": "thuc:" + THUC_LABELS[int(label)]})
    return rows


def read_examples(path: Path) -> list[tuple[str, str, str]]:
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    out = []
    for topic, items in data.items():
        for item in items or []:
            title, _, lead = str(item).partition("｜")
            out.append((str(topic), title.strip(), lead.strip()))
    return out


def bigrams(text: str) -> set[str]:
    t = normalise_text(text).replace(" ", "")
    return {t[i : i + 2] for i in range(len(t) - 1)}


def excluded_titles(files: list[Path]) -> list[set[str]]:
    out = []
    for f in files:
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                out.append(bigrams(item.get("title", "")))
    return out


def overlaps(doc: dict[str, str], held_out: list[set[str]], index: dict[str, list[int]]) -> bool:
    grams = bigrams(doc["title"])
    candidates = {i for g in grams for i in index.get(g, ())}
    for i in candidates:
        other = held_out[i]
        if other and len(grams & other) / max(1, min(len(grams), len(other))) >= 0.6:
            return True
    return False


def label(taxonomy: Taxonomy, doc: dict[str, str], unsure: float) -> tuple[set[str], bool, str | None] | None:
    """(topics, relevant, primary) from the rules, or None when the rules are unsure. ``primary`` is the rules'
    clear first topic (twice the raw score of the next subject topic), else None."""
    result = classify(taxonomy, doc["title"], doc["body"])
    topics = {s.topic_id for s in result.topics}
    context = {t.id for t in taxonomy.topics if t.requires}
    if topics - context:
        subjects = sorted((s for s in result.topics if s.topic_id not in context), key=lambda s: -s.raw_score)
        clear = len(subjects) == 1 or subjects[0].raw_score >= 2 * subjects[1].raw_score
        return topics, True, subjects[0].topic_id if clear else None
    best = max((s.confidence for s in result.scores if s.topic_id not in context), default=0.0)
    if best >= unsure:
        return None
    return set(), False, None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--xwlb", type=Path, required=True)
    ap.add_argument("--thucnews", type=Path, default=ROOT.parent / "shared" / "fixtures" / "thucnews-titles")
    ap.add_argument(
        "--examples",
        type=Path,
        action="append",
        default=None,
        help="exemplar files (default: tools/prior_examples*.yaml)",
    )
    ap.add_argument("--exclude", type=Path, action="append", default=[])
    ap.add_argument("--topics", type=Path, default=ROOT / "config" / "topics.yaml")
    ap.add_argument("--unsure", type=float, default=0.25)
    ap.add_argument("--example-weight", type=float, default=3.0)
    ap.add_argument("--C", type=float, default=2.0)
    ap.add_argument("--min-coef", type=float, default=0.1)
    ap.add_argument(
        "--primary-from",
        choices=["examples", "all"],
        default="examples",
        help="what teaches the primary-topic head: the exemplars only, or also the rules' clear cases",
    )
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "src" / "news_harvester" / "data" / "prior_model.npz")
    args = ap.parse_args(argv)
    t0 = time.time()
    taxonomy = load_taxonomy(args.topics)
    topic_ids = [t.id for t in taxonomy.topics]
    held_out = excluded_titles(args.exclude) if args.exclude else []
    index: dict[str, list[int]] = {}
    for i, grams in enumerate(held_out):
        for g in grams:
            index.setdefault(g, []).append(i)

    stream = read_xwlb(args.xwlb) + (read_thucnews(args.thucnews) if args.thucnews.exists() else [])
    dropped = 0
    texts: list[str] = []
    labels: list[tuple[set[str], bool]] = []
    primaries: list[str | None] = []
    weights: list[float] = []
    origins: list[str] = []
    unsure = 0
    for doc in stream:
        if held_out and overlaps(doc, held_out, index):
            dropped += 1
            continue
        verdict = label(taxonomy, doc, args.unsure)
        origin = doc["origin"]
        if verdict is None:
            unsure += 1
            continue
        topics, relevant, primary = verdict
        if origin.startswith("thuc:"):
            category = origin[5:]
            if not relevant and category not in THUC_NEGATIVE:
                continue
        texts.append(model_input(doc["title"], doc["body"]))
        labels.append((topics, relevant))
        primaries.append(primary)
        weights.append(1.0)
        origins.append(origin)
    n_stream = len(texts)
    example_files = args.examples or sorted((ROOT / "tools").glob("prior_examples*.yaml"))
    for topic, title, lead in (e for f in example_files for e in read_examples(f)):
        if topic != "none" and topic not in topic_ids:
            continue
        texts.append(model_input(title, lead))
        labels.append(({topic} if topic != "none" else set(), topic != "none"))
        primaries.append(topic if topic != "none" else None)
        weights.append(args.example_weight)
        origins.append("example")
    print(
        f"stream {len(stream)}, dropped as held-out overlaps {dropped}, unsure {unsure}, "
        f"used {n_stream}; examples {len(texts) - n_stream}",
        file=sys.stderr,
    )
    positives = sum(1 for _, r in labels if r)
    print(f"relevant {positives} / {len(labels)}", file=sys.stderr)

    # Calibration: out-of-fold decision values (3 folds over everything, exemplars included) fitted by Platt
    # scaling; the final weights are then fitted on all of it.
    folds = 3
    fold_of = np.array([random.Random(i).randrange(folds) for i in range(len(texts))])
    vectoriser = TfidfVectorizer(analyzer=analyse, sublinear_tf=True, min_df=3, max_features=200_000, dtype=np.float32)
    x = vectoriser.fit_transform(texts)
    w = np.asarray(weights)
    outputs = ["relevance", *topic_ids]
    coef = np.zeros((x.shape[1], len(outputs)), dtype=np.float32)
    intercept = np.zeros(len(outputs), dtype=np.float32)
    calibration = np.zeros((len(outputs), 2), dtype=np.float64)
    report: dict[str, Any] = {}

    def fit(rows: np.ndarray, y: np.ndarray) -> LogisticRegression:
        clf = LogisticRegression(C=args.C, solver="liblinear", class_weight="balanced", max_iter=300)
        clf.fit(x[rows], y[rows], sample_weight=w[rows])
        return clf

    for j, out in enumerate(outputs):
        y = np.array([r if out == "relevance" else (out in t) for t, r in labels], dtype=np.int8)
        if y.sum() < 10:
            calibration[j] = (1.0, -10.0)
            report[out] = {"positives": int(y.sum()), "skipped": True}
            continue
        z = np.zeros(len(y))
        for k in range(folds):
            train_rows = np.where(fold_of != k)[0]
            test_rows = np.where(fold_of == k)[0]
            clf = fit(train_rows, y)
            z[test_rows] = clf.decision_function(x[test_rows])
        platt = LogisticRegression(C=1e4, solver="lbfgs")
        platt.fit(z.reshape(-1, 1), y, sample_weight=w)
        calibration[j] = (float(platt.coef_[0][0]), float(platt.intercept_[0]))
        p = 1 / (1 + np.exp(-(calibration[j, 0] * z + calibration[j, 1])))
        tp = int(((p >= 0.5) & (y == 1)).sum())
        fp = int(((p >= 0.5) & (y == 0)).sum())
        fn = int(((p < 0.5) & (y == 1)).sum())
        report[out] = {
            "positives": int(y.sum()),
            "oof_precision": round(tp / max(1, tp + fp), 3),
            "oof_recall": round(tp / max(1, tp + fn), 3),
        }
        clf = fit(np.arange(len(y)), y)
        coef[:, j] = clf.coef_[0]
        intercept[j] = clf.intercept_[0]
        print(out, report[out], file=sys.stderr)
    # Primary topic: which one topic an editor files the story under (softmax over the topics), learned from
    # the exemplars (each written for one topic); --primary-from all adds the stream stories whose rules name
    # one topic clearly (measured worse: it teaches the rules' view of a story again).
    rows = np.array(
        [
            i
            for i, p in enumerate(primaries)
            if p is not None and (args.primary_from == "all" or origins[i] == "example")
        ]
    )
    classes = [t for t in topic_ids if any(primaries[i] == t for i in rows)]
    primary = LogisticRegression(C=args.C, max_iter=1000, class_weight="balanced")
    primary.fit(x[rows], [primaries[i] for i in rows], sample_weight=w[rows])
    p_coef = np.zeros((x.shape[1], len(classes)), dtype=np.float32)
    for k, cls in enumerate(primary.classes_):
        p_coef[:, classes.index(cls)] = primary.coef_[k]
    p_intercept = np.array([primary.intercept_[list(primary.classes_).index(c)] for c in classes], dtype=np.float32)
    coef = np.hstack([coef, p_coef])
    intercept = np.concatenate([intercept, p_intercept])
    calibration = np.vstack([calibration, np.tile([1.0, 0.0], (len(classes), 1))])
    outputs += [f"primary:{c}" for c in classes]
    report["primary"] = {c: sum(1 for i in rows if primaries[i] == c) for c in classes}
    print("primary", report["primary"], file=sys.stderr)
    keep = np.where(np.abs(coef).max(axis=1) >= args.min_coef)[0]
    vocab_items = sorted(vectoriser.vocabulary_.items(), key=lambda kv: kv[1])
    grams = [g for g, _ in vocab_items]
    vocabulary = {grams[c]: i for i, c in enumerate(keep)}
    info = {
        "trained": time.strftime("%Y-%m-%d"),
        "stream": {
            "xwlb": sum(1 for o in origins if o == "xwlb"),
            "thucnews": sum(1 for o in origins if o.startswith("thuc:")),
            "examples": sum(1 for o in origins if o == "example"),
        },
        "excluded_overlaps": dropped,
        "unsure_dropped": unsure,
        "features": len(keep),
        "taxonomy_digest": taxonomy.digest,
        "outputs": report,
        "C": args.C,
    }
    model = PriorModel(vocabulary, vectoriser.idf_[keep], tuple(outputs), coef[keep], intercept, calibration, info)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.output)
    print(
        f"features {x.shape[1]} -> kept {len(keep)}; wrote {args.output} "
        f"({args.output.stat().st_size / 1e6:.1f} MB) in {time.time() - t0:.0f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
