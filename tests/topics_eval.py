"""Evaluation set for topics: real pages from ../shared/fixtures and the brief's own items, labelled by hand.

* **Labelled texts** (tests/fixtures/topics/labels.tsv): every page is read from ../shared/fixtures and
  extracted with the project's extractor (``decode_body`` + ``parse.article.extract_page``, as a harvest
  does); ``sample-issue#0`` (数据月报) and ``#1``–``#8`` (行业资讯) are cut from ../shared/design/sample-issue.md
  at run time, headline + paragraphs, without the "（来源：…）" line, which the pipeline keeps apart as the
  attribution. Most fixtures are general news: they are the negatives that must stay off-topic (sports,
  entertainment, crime, weather, politics, English, German, Japanese, Thai, Arabic pages).
* **Metrics** over the taxonomy's topics: per-topic precision / recall, micro and macro averages (macro over
  topics with at least one true or predicted story), exact-set accuracy, off-topic accuracy on the ``none``
  texts, and the topic confusion: for each true topic (or none) that was not predicted, which topics were
  predicted instead (or none).
* **Learned path at scale**: TopicModel trained on THUCNews headlines (../shared/fixtures/thucnews-titles,
  20,000 ``title<TAB>label``, 10 general news topics used as topic ids), 80/20 split with a fixed seed,
  held-out accuracy (argmax over the per-topic probabilities) and macro-F1.

``python tests/topics_eval.py`` prints all of it; tests/test_topics.py and tests/test_topic_model.py assert
floors below these measurements. Last run (config/topics.yaml as shipped):

========================  ====  ===  ===  ===  =====  =====
topic                     true   tp   fp   fn      P      R
========================  ====  ===  ===  ===  =====  =====
digital-trade                2    2    0    0  1.000  1.000
cross-border-ecommerce       2    2    0    0  1.000  1.000
ai                           8    8    1    0  0.889  1.000
trade-policy                 6    5    0    1  1.000  0.833
digital-infrastructure       4    4    1    0  0.800  1.000
data-security                6    4    0    2  1.000  0.667
fintech                      2    2    0    0  1.000  1.000
creative-content             1    1    0    0  1.000  1.000
statistics                   3    3    0    0  1.000  1.000
international                7    5    0    2  1.000  0.714
semiconductors               4    4    0    0  1.000  1.000
digital-economy              3    3    0    0  1.000  1.000
========================  ====  ===  ===  ===  =====  =====

micro P 0.956 R 0.896, macro P 0.974 R 0.935, exact topic set 0.968 (182 / 188), all 158 none texts off-topic.
Confusion: every miss went to none (data-security 2, international 2, trade-policy 1); the two false alarms
are a third topic on multi-topic stories (ai on a 5G-chip story, digital-infrastructure on a digital-agriculture
story). THUCNews headlines tagged by the rules: sports 0.10 %, entertainment 0.05 %, game 0.15 %, science
1.2 %. Learned model on THUCNews: accuracy 0.869, macro-F1 0.869.
"""

from __future__ import annotations

import os
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from news_harvester.stories.topics import Classification, Taxonomy, classify, load_taxonomy  # noqa: E402

LABELS = ROOT / "tests" / "fixtures" / "topics" / "labels.tsv"
TOPICS_YAML = ROOT / "config" / "topics.yaml"
NONE = "none"
BEIJING = ZoneInfo("Asia/Shanghai")


def shared_fixtures() -> Path:
    return Path(os.environ.get("NEWS_HARVESTER_FIXTURES", Path(__file__).resolve().parents[2] / "shared" / "fixtures"))


def sample_issue_path(fixtures: Path) -> Path:
    return fixtures.parent / "design" / "sample-issue.md"


@dataclass(frozen=True)
class LabelledText:
    ref: str
    title: str
    body: str
    topics: frozenset[str]


def read_labels(path: Path = LABELS) -> list[tuple[str, frozenset[str]]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        ref, topics, *_ = line.split("\t")
        ids = frozenset(t.strip() for t in topics.split(",") if t.strip() and t.strip() != NONE)
        out.append((ref, ids))
    return out


# --------------------------------------------------------------------------- sample-issue.md

_SECTION = re.compile(r"^【(.+?)】\s*$")
_SOURCE_LINE = re.compile(r"^[（(]来源[:：].*[）)]\s*$")
_ITEM = re.compile(r"^(?:[●•]|-)\s*(?:\*\*)?(.+?)(?:\*\*)?\s*$")


def sample_issue_items(path: Path) -> dict[int, tuple[str, str]]:
    """``{0: 数据月报, 1..8: 行业资讯 items}`` as (headline, body) from the issue's text (its second half; the
    first half is the table of contents, whose 数据月报 line gives item 0's headline)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    sections: dict[str, list[list[str]]] = defaultdict(list)
    current: list[str] | None = None
    for line in lines:
        match = _SECTION.match(line.strip())
        if match:
            current = []
            sections[match.group(1)].append(current)
        elif current is not None:
            current.append(line.strip())
    toc_report, report = sections["数据月报"][0], sections["数据月报"][1]
    headline = next(_ITEM.match(x).group(1) for x in toc_report if _ITEM.match(x))  # type: ignore[union-attr]
    items: dict[int, tuple[str, str]] = {0: (headline, "\n".join(x for x in report if x))}
    news = sections["行业资讯"][1]
    title: str | None = None
    body: list[str] = []
    for line in [*news, "● END"]:
        match = _ITEM.match(line)
        if match and (line.startswith(("●", "•")) or line.startswith("- **")):
            if title is not None:
                items[len(items)] = (title, "\n".join(body))
            title, body = match.group(1).strip("* "), []
        elif line and not _SOURCE_LINE.match(line):
            body.append(line)
    return items


# --------------------------------------------------------------------------- loading


def extract(fixtures: Path, relative: str) -> tuple[str, str]:
    """(title, body) of a fixture page as a harvest would read it."""
    from news_harvester.harvest.decode import decode_body
    from news_harvester.parse.article import extract_page

    html = decode_body((fixtures / relative).read_bytes(), "text/html").text
    page = extract_page(html, f"https://fixture.invalid/{relative}", BEIJING)
    return page.title or "", page.body_text


def load_texts(fixtures: Path | None = None, labels: Path = LABELS) -> list[LabelledText]:
    fixtures = fixtures or shared_fixtures()
    issue = sample_issue_items(sample_issue_path(fixtures))
    out = []
    for ref, topics in read_labels(labels):
        if ref.startswith("sample-issue#"):
            title, body = issue[int(ref.partition("#")[2])]
        else:
            title, body = extract(fixtures, ref)
        out.append(LabelledText(ref, title, body, topics))
    return out


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class Report:
    per_topic: dict[str, tuple[int, int, int]]  # tp, fp, fn
    confusion: Counter[tuple[str, str]]  # (true, predicted) for misses and false alarms
    exact: float
    none_accuracy: float
    n: int
    wrong: list[tuple[str, frozenset[str], frozenset[str]]]

    def precision(self, topic: str) -> float:
        tp, fp, _ = self.per_topic[topic]
        return tp / (tp + fp) if tp + fp else 1.0

    def recall(self, topic: str) -> float:
        tp, _, fn = self.per_topic[topic]
        return tp / (tp + fn) if tp + fn else 1.0

    @property
    def active(self) -> list[str]:
        return [t for t, (tp, fp, fn) in self.per_topic.items() if tp + fp + fn]

    @property
    def macro_precision(self) -> float:
        return sum(self.precision(t) for t in self.active) / len(self.active)

    @property
    def macro_recall(self) -> float:
        return sum(self.recall(t) for t in self.active) / len(self.active)

    @property
    def micro(self) -> tuple[float, float]:
        tp = sum(v[0] for v in self.per_topic.values())
        fp = sum(v[1] for v in self.per_topic.values())
        fn = sum(v[2] for v in self.per_topic.values())
        return tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0


def predicted_topics(result: Classification) -> frozenset[str]:
    return frozenset(s.topic_id for s in result.topics)


def evaluate(taxonomy: Taxonomy, texts: Sequence[LabelledText]) -> Report:
    per_topic = {t.id: [0, 0, 0] for t in taxonomy.topics}
    confusion: Counter[tuple[str, str]] = Counter()
    exact = none_total = none_right = 0
    wrong = []
    for text in texts:
        truth = text.topics
        got = predicted_topics(classify(taxonomy, text.title, text.body))
        for topic in per_topic:
            if topic in truth and topic in got:
                per_topic[topic][0] += 1
            elif topic in got:
                per_topic[topic][1] += 1
            elif topic in truth:
                per_topic[topic][2] += 1
        extra = got - truth
        for topic in truth - got:
            for instead in sorted(extra) or [NONE]:
                confusion[(topic, instead)] += 1
        if not truth:
            for instead in sorted(extra):
                confusion[(NONE, instead)] += 1
            none_total += 1
            none_right += not got
        exact += truth == got
        if truth != got:
            wrong.append((text.ref, truth, got))
    return Report(
        {t: (v[0], v[1], v[2]) for t, v in per_topic.items()},
        confusion,
        exact / len(texts),
        none_right / none_total if none_total else 1.0,
        len(texts),
        wrong,
    )


# --------------------------------------------------------------------------- THUCNews


def thucnews(fixtures: Path) -> list[tuple[str, str]]:
    """(headline, label name) for the 20,000 headlines of dev.txt + test.txt."""
    base = fixtures / "thucnews-titles" / "THUCNews" / "data"
    names = base.joinpath("class.txt").read_text(encoding="utf-8").split()
    out = []
    for name in ("dev.txt", "test.txt"):
        for line in base.joinpath(name).read_text(encoding="utf-8").splitlines():
            title, _, label = line.rpartition("\t")
            if title:
                out.append((title, names[int(label)]))
    return out


def thucnews_split(
    fixtures: Path, n_train: int | None = None, n_test: int | None = None, seed: int = 0
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[str]]:
    rows = thucnews(fixtures)
    random.Random(seed).shuffle(rows)
    cut = int(len(rows) * 0.8)
    train, test = rows[:cut], rows[cut:]
    labels = sorted({label for _, label in rows})
    return train[:n_train] if n_train else train, test[:n_test] if n_test else test, labels


def thucnews_check(fixtures: Path, n_train: int | None = None, n_test: int | None = None) -> dict[str, float]:
    """Train on THUCNews headlines (topic ids = its labels), report held-out accuracy and macro-F1."""
    from news_harvester.stories.topic_model import LabelledStory, TopicModel

    train, test, labels = thucnews_split(fixtures, n_train, n_test)
    started = time.perf_counter()
    model = TopicModel.train(
        [LabelledStory(title, "", frozenset({label}), None) for title, label in train], labels, cv_folds=0
    )
    trained_in = time.perf_counter() - started
    probabilities = model.predict_many([(title, "") for title, _ in test])
    guesses = [model.topic_ids[i] for i in probabilities.argmax(axis=1)]
    truth = [label for _, label in test]
    accuracy = sum(g == t for g, t in zip(guesses, truth, strict=True)) / len(test)
    f1 = []
    for label in labels:
        tp = sum(g == t == label for g, t in zip(guesses, truth, strict=True))
        fp = sum(g == label != t for g, t in zip(guesses, truth, strict=True))
        fn = sum(t == label != g for g, t in zip(guesses, truth, strict=True))
        f1.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0)
    return {
        "train": len(train),
        "test": len(test),
        "accuracy": accuracy,
        "macro_f1": sum(f1) / len(f1),
        "train_seconds": trained_in,
        "blend_weight": model.blend_weight,
    }


# --------------------------------------------------------------------------- report


def print_report(taxonomy: Taxonomy, texts: Sequence[LabelledText]) -> None:  # pragma: no cover - a tool
    report = evaluate(taxonomy, texts)
    positives = Counter(t for x in texts for t in x.topics)
    print(f"{report.n} labelled texts, {sum(1 for x in texts if not x.topics)} none; positives per topic:")
    print(f"{'topic':24} {'true':>4} {'tp':>3} {'fp':>3} {'fn':>3} {'P':>6} {'R':>6}")
    for topic, (tp, fp, fn) in report.per_topic.items():
        print(
            f"{topic:24} {positives[topic]:4d} {tp:3d} {fp:3d} {fn:3d} "
            f"{report.precision(topic):6.3f} {report.recall(topic):6.3f}"
        )
    micro_p, micro_r = report.micro
    print(f"micro P {micro_p:.3f} R {micro_r:.3f}; macro P {report.macro_precision:.3f} R {report.macro_recall:.3f}")
    print(f"exact topic set {report.exact:.3f}; none texts kept off-topic {report.none_accuracy:.3f}")
    print("confusion (true -> predicted instead), count:")
    for (truth, got), count in sorted(report.confusion.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {truth:24} -> {got:24} {count}")
    print("texts whose topic set differs:")
    for ref, truth, got in report.wrong:
        print(f"  {ref}: true {sorted(truth) or [NONE]} got {sorted(got) or [NONE]}")


def thucnews_rules(taxonomy: Taxonomy, fixtures: Path) -> dict[str, tuple[int, int, Counter[str]]]:
    """Rules on THUCNews headlines (title only): per category, (headlines, tagged with any topic, topics).
    Sports, entertainment and game headlines are real negatives the keyword lists were not built from."""
    out: dict[str, tuple[int, int, Counter[str]]] = {}
    for title, label in thucnews(fixtures):
        n, tagged, topics = out.get(label, (0, 0, Counter()))
        got = predicted_topics(classify(taxonomy, title, ""))
        topics.update(got)
        out[label] = (n + 1, tagged + bool(got), topics)
    return out


def throughput(taxonomy: Taxonomy, texts: Sequence[LabelledText], rounds: int = 5) -> float:
    """Stories classified per second of CPU time (a busy machine does not distort it)."""
    started = time.process_time()
    for _ in range(rounds):
        for text in texts:
            classify(taxonomy, text.title, text.body)
    return rounds * len(texts) / (time.process_time() - started)


if __name__ == "__main__":  # pragma: no cover
    fixtures = shared_fixtures()
    taxonomy = load_taxonomy(TOPICS_YAML)
    texts = load_texts(fixtures)
    print_report(taxonomy, texts)
    print(f"rules throughput: {throughput(taxonomy, texts):.0f} stories per CPU second")
    print("rules on THUCNews headlines (title only): share tagged with any topic, per category")
    for label, (n, tagged, topics) in sorted(thucnews_rules(taxonomy, fixtures).items()):
        print(f"  {label:14} {tagged:4d}/{n} = {tagged / n:.4f}  {dict(topics.most_common(4))}")
    result = thucnews_check(fixtures)
    print(
        f"THUCNews learned model: train {result['train']:.0f}, test {result['test']:.0f}, "
        f"accuracy {result['accuracy']:.4f}, macro-F1 {result['macro_f1']:.4f}, "
        f"trained in {result['train_seconds']:.1f} s"
    )
