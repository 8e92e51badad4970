"""Relevance benchmark: does the queue find the brief's news on text nobody tuned for?

    .venv/bin/python bench/relevance.py [--split test|dev|all] [--curve] [--misses]

Reads the frozen evaluation set (bench/relevance_set/*.jsonl: real news excerpts with URL and outlet, labelled
by people who had not read the rules or the model; see bench/relevance_set/README.md) and scores, in one run:

* **ours**: the product as shipped on a fresh install: config/topics.yaml + the packaged cold-start model,
  no editor labels (``topics.classify`` with ``prior=load_shipped()``, scored by ``ranking.score_story``);
* **rules**: the keyword rules alone (the product before the cold-start model);
* **keyword count**: a plain baseline: a story's score is how many of the taxonomy's keywords occur in it,
  its topic the one with most keywords, a topic whenever one keyword occurs.

Figures (the aims of issue 15 in brackets): recall of relevant items (an item gets ≥ 1 topic) [≥ 0.95],
precision (items given a topic that are relevant) [≥ 0.90], ROC AUC of the story score relevant vs not
[≥ 0.95], first topic = editor's label on relevant items [≥ 0.85] (and lenient: first topic among the labels
the editor would also accept), each also for traditional-script items; ties among the items without a topic.

``--curve`` simulates editors: the items (dev and test) are shuffled with a fixed seed, the last 150 are the
evaluation tail, and after k = 0, 25, 100, 300 decisions on the others (accept = relevant, topic = label) the
editors' model is trained exactly as ``news-harvester topics train`` does and blended in; prints AUC and topic
agreement on the tail, then corrections of a single topic only, to show the other topics do not degrade.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from news_harvester.stories.prior_model import PriorModel, load_shipped  # noqa: E402
from news_harvester.stories.ranking import StoryFacts, score_story  # noqa: E402
from news_harvester.stories.textfold import fold  # noqa: E402
from news_harvester.stories.topic_model import LabelledStory, NotEnoughLabels, TopicModel  # noqa: E402
from news_harvester.stories.topics import Taxonomy, classify, load_taxonomy  # noqa: E402

SET_DIR = ROOT / "bench" / "relevance_set"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Item:
    id: str
    split: str
    label: str
    also: frozenset[str]
    title: str
    text: str
    script: str
    hard_negative: bool

    @property
    def relevant(self) -> bool:
        return self.label != "none"


@dataclass(frozen=True)
class Verdict:
    topics: tuple[str, ...]
    score: float


def load_items(split: str = "test") -> list[Item]:
    items = []
    for path in sorted(SET_DIR.glob("part-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            d = json.loads(line)
            if split != "all" and d["split"] != split:
                continue
            items.append(
                Item(
                    d["id"],
                    d["split"],
                    d["label"],
                    frozenset(d.get("also") or ()),
                    d["title"],
                    d["text"],
                    d.get("script", "hans"),
                    bool(d.get("hard_negative")),
                )
            )
    return items


# --------------------------------------------------------------------------- systems


def story_score(topic_confidence: float, off_topic: bool, brief: float | None, relevance: float | None = None) -> float:
    """The queue's score with every other fact equal (same source weight, one outlet, published now)."""
    facts = StoryFacts(topic_confidence, off_topic, 5.0, 1, NOW, relevance=relevance, brief_probability=brief)
    return score_story(facts, NOW).total


def ours(taxonomy: Taxonomy, prior: PriorModel | None, model: TopicModel | None = None) -> Callable[[Item], Verdict]:
    def judge(item: Item) -> Verdict:
        result = classify(taxonomy, item.title, item.text, model, prior)
        topics = tuple(s.topic_id for s in result.topics)
        accept = model.relevance(item.title, item.text) if model is not None else None
        return Verdict(topics, story_score(result.confidence, not topics, result.relevance, accept))

    return judge


def keyword_count(taxonomy: Taxonomy) -> Callable[[Item], Verdict]:
    keys = [(t.id, [fold(k.text).casefold() for k in t.keywords]) for t in taxonomy.topics if not t.requires]

    def judge(item: Item) -> Verdict:
        text = fold(item.title + " " + item.text).casefold()
        counts = Counter({tid: sum(1 for k in words if k in text) for tid, words in keys})
        best = [tid for tid, n in counts.most_common() if n > 0]
        return Verdict(tuple(best[:1]), float(sum(counts.values())))

    return judge


# --------------------------------------------------------------------------- metrics


def auc(pos: Sequence[float], neg: Sequence[float]) -> float:
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def metrics(items: Sequence[Item], verdicts: Sequence[Verdict]) -> dict[str, float]:
    rel = [(i, v) for i, v in zip(items, verdicts, strict=True) if i.relevant]
    irr = [(i, v) for i, v in zip(items, verdicts, strict=True) if not i.relevant]
    tagged = [(i, v) for i, v in zip(items, verdicts, strict=True) if v.topics]
    untagged_scores = [v.score for v in verdicts if not v.topics]
    return {
        "n": len(items),
        "recall": sum(1 for _, v in rel if v.topics) / max(1, len(rel)),
        "precision": sum(1 for i, _ in tagged if i.relevant) / max(1, len(tagged)),
        "auc": auc([v.score for _, v in rel], [v.score for _, v in irr]),
        "topic": sum(1 for i, v in rel if v.topics and v.topics[0] == i.label) / max(1, len(rel)),
        "topic_lenient": sum(1 for i, v in rel if v.topics and v.topics[0] in i.also | {i.label}) / max(1, len(rel)),
        "untagged": len(untagged_scores),
        "untagged_distinct": len(set(untagged_scores)),
    }


def fmt(m: dict[str, float]) -> str:
    return (
        f"recall {m['recall']:.3f}  precision {m['precision']:.3f}  AUC {m['auc']:.3f}  "
        f"first topic {m['topic']:.3f} (lenient {m['topic_lenient']:.3f})  "
        f"untagged {m['untagged']:.0f} with {m['untagged_distinct']:.0f} distinct scores"
    )


def report(
    name: str, items: Sequence[Item], judge: Callable[[Item], Verdict]
) -> tuple[dict[str, float], list[Verdict]]:
    t0 = time.perf_counter()
    verdicts = [judge(i) for i in items]
    elapsed = time.perf_counter() - t0
    m = metrics(items, verdicts)
    print(f"{name:14s} {fmt(m)}  ({len(items) / elapsed:.0f} items/s)")
    for script in ("hant",):
        sub = [(i, v) for i, v in zip(items, verdicts, strict=True) if i.script == script]
        if sub:
            ms = metrics([i for i, _ in sub], [v for _, v in sub])
            print(
                f"{'':14s} traditional script ({ms['n']:.0f}): recall {ms['recall']:.3f}  "
                f"precision {ms['precision']:.3f}  AUC {ms['auc']:.3f}  first topic {ms['topic']:.3f}"
            )
    return m, verdicts


# --------------------------------------------------------------------------- learning curve


def editor_examples(items: Sequence[Item]) -> list[LabelledStory]:
    return [
        LabelledStory(i.title, i.text, frozenset({i.label}) if i.relevant else frozenset(), i.relevant) for i in items
    ]


def learning_curve(taxonomy: Taxonomy, prior: PriorModel | None) -> dict[int, dict[str, float]]:
    """Metrics on the evaluation tail after k decisions (printed, and returned by k)."""
    items = load_items("all")
    random.Random(15).shuffle(items)
    tail, pool = items[-150:], items[:-150]
    topic_ids = taxonomy.topic_ids
    curve: dict[int, dict[str, float]] = {}
    print(f"\nlearning curve: evaluation tail {len(tail)} items, decisions drawn from the other {len(pool)}")
    for k in (0, 25, 100, 300):
        model = None
        note = ""
        if k:
            try:
                model = TopicModel.train(editor_examples(pool[:k]), topic_ids, cv_folds=0)
                note = f"model on {k} decisions, blend {model.blend_weight:.2f}"
            except NotEnoughLabels as exc:
                note = f"no model yet ({exc})"
        verdicts = [ours(taxonomy, prior, model)(i) for i in tail]
        m = metrics(tail, verdicts)
        curve[k] = m
        print(
            f"  k={k:3d}  AUC {m['auc']:.3f}  first topic {m['topic']:.3f}  recall {m['recall']:.3f}  "
            f"precision {m['precision']:.3f}  {note}"
        )
    # corrections of one topic only: the others must not degrade
    by_topic = Counter(i.label for i in pool if i.relevant)
    focus = by_topic.most_common(1)[0][0]
    only = [i for i in pool if i.label == focus] + [i for i in pool if not i.relevant][:30]
    try:
        model = TopicModel.train(editor_examples(only), topic_ids, cv_folds=0)
    except NotEnoughLabels as exc:
        print(f"  single-topic corrections: no model ({exc})")
        return curve
    base = [ours(taxonomy, prior)(i) for i in tail]
    after = [ours(taxonomy, prior, model)(i) for i in tail]
    rel = [i for i in tail if i.relevant]

    def agree(vs: Sequence[Verdict], want: Callable[[Item], bool]) -> tuple[int, int]:
        pairs = [(i, v) for i, v in zip(tail, vs, strict=True) if i.relevant and want(i)]
        return sum(1 for i, v in pairs if v.topics and v.topics[0] == i.label), len(pairs)

    a0, n0 = agree(base, lambda i: i.label != focus)
    a1, _ = agree(after, lambda i: i.label != focus)
    f0, fn = agree(base, lambda i: i.label == focus)
    f1, _ = agree(after, lambda i: i.label == focus)
    print(
        f"  corrections of {focus} only ({len(only)} decisions): {focus} first-topic {f0}/{fn} -> {f1}/{fn}; "
        f"other topics {a0}/{n0} -> {a1}/{n0}  (of {len(rel)} relevant tail items)"
    )
    curve[-1] = {"focus_before": f0, "focus_after": f1, "others_before": a0, "others_after": a1, "others": n0}
    return curve


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="relevance benchmark (issue 15)")
    ap.add_argument("--split", default="test", choices=["test", "dev", "all"])
    ap.add_argument("--curve", action="store_true", help="also print the editors' learning curve")
    ap.add_argument("--misses", action="store_true", help="print the items we get wrong (dev split only)")
    ap.add_argument("--topics", type=Path, default=ROOT / "config" / "topics.yaml")
    ap.add_argument("--prior", type=Path, default=None, help="a prior model file instead of the packaged one")
    args = ap.parse_args(argv)
    taxonomy = load_taxonomy(args.topics)
    prior = PriorModel.load(args.prior) if args.prior else load_shipped()
    if prior is None:
        print("warning: no packaged cold-start model; 'ours' is the rules alone", file=sys.stderr)
    items = load_items(args.split)
    n_rel = sum(1 for i in items if i.relevant)
    print(
        f"relevance set, split {args.split}: {len(items)} items ({n_rel} relevant, {len(items) - n_rel} not, "
        f"{sum(1 for i in items if i.script == 'hant')} in traditional script)"
    )
    _, verdicts = report("ours", items, ours(taxonomy, prior))
    report("rules", items, ours(taxonomy, None))
    report("keyword count", items, keyword_count(taxonomy))
    if args.misses:
        if args.split == "test":
            print("--misses is refused on the test split: read the dev split's misses only", file=sys.stderr)
        else:
            for i, v in zip(items, verdicts, strict=True):
                wrong = (i.relevant and (not v.topics or v.topics[0] != i.label)) or (not i.relevant and v.topics)
                if wrong:
                    print(f"  {i.id} label={i.label} got={list(v.topics)} score={v.score:.1f} {i.title[:40]}")
    if args.curve:
        learning_curve(taxonomy, prior)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
