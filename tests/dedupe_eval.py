"""Evaluation set for dedupe: real article bodies from ../shared/fixtures, reprint variants, real negatives.

Stories (ground truth):

* **Articles.** Each fixture listed in tests/expected/extract/ is extracted with ``extract_page``; bodies with at
  least 300 normalised characters are kept (identical bodies are merged into one story). Each article yields
  reprint variants by general transformations, all members of its story: a new headline with added 来源/编辑
  lines; the body wrapped in generic site boilerplate (navigation, share bar, copyright); trimmed (the last
  ~30 % of paragraphs dropped); an excerpt (the first half, with 据…报道 and 来源); reordered paragraphs;
  traditional characters; full-width letters and digits with punctuation and spacing changes; a combination
  (traditional + boilerplate + trimmed); and the body inside a *site template* shared by all pages of the same
  fixture site. One pair of fixtures is the same page saved twice (``SAME_ARTICLE``): a real reprint pair.
* **Negatives** are every pair of different stories: different articles from the same site (gne's 163, sina,
  thepaper ... pages), and, through the site-template variants, the same template around different text.
* **Flashes** (short items, title layer): THUCNews headlines, one story per headline with a flash body under
  200 characters, plus re-titled variants (prefix 快讯, suffix, punctuation and width changes, traditional) a few
  hours apart. Negatives: other headlines of the same THUCNews topic published in the same 24 hours.

Metric: docs are fed in a fixed shuffled order to ``StoryIndex.assign`` (match, then add), as the pipeline will;
pairwise precision and recall of "same story" over the resulting clusters.

``python tests/dedupe_eval.py`` prints the parameter sweep behind the module docstring's numbers.
"""

from __future__ import annotations

import functools
import json
import random
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from news_harvester.stories.dedupe import DedupeDoc, DedupeParams, StoryIndex, normalise_for_dedupe  # noqa: E402

EXPECTED = ROOT / "tests" / "expected" / "extract"
BEIJING = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

OUTLETS = ["新华网", "人民网", "中国新闻网", "央视新闻客户端", "经济日报", "澎湃新闻", "商务部网站", "环球时报"]
EDITORS = ["王晓明", "李娜", "张伟", "刘洋", "陈静", "杨帆"]
HEADER = [
    "首页 | 新闻 | 财经 | 科技 | 体育 | 娱乐 | 更多",
    "当前位置：首页 > 新闻中心 > 正文",
    "字号：大 中 小　打印本页　关闭窗口",
]
FOOTER = [
    "分享到：微信 微博 QQ空间",
    "扫一扫在手机打开当前页",
    "版权所有 未经授权禁止转载、摘编、复制或建立镜像。如有违反，追究法律责任。",
    "【纠错】 【责任编辑：{editor}】",
]
# The same page saved twice in the fixtures (same title, 1,905 vs 1,944 body characters): a real reprint pair.
SAME_ARTICLE = {"gerapy-ifeng_news1_detail_20220630": "gerapy-ifeng_news1"}
BANNER_PREFIXES = ["【权威发布】", "快讯：", "关注｜", "独家：", "聚焦："]


@dataclass(frozen=True)
class EvalDoc:
    doc: DedupeDoc
    story: str
    kind: str  # "original", a variant name, "flash" or "flash-variant"


def to_traditional(text: str) -> str:
    """A 繁體 reprint, made by OpenCC's phrase-level s2t converter — independent of the product's
    character-level fold, so the test is not the product checking itself."""
    return str(_s2t().convert(text))


@functools.cache
def _s2t() -> Any:
    """One converter: building OpenCC's dictionaries takes ~0.06 s, and the set converts ~500 texts."""
    from opencc import OpenCC

    return OpenCC("s2t")

FULLWIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


def shared_fixtures() -> Path:
    import os

    return Path(os.environ.get("NEWS_HARVESTER_FIXTURES", ROOT.parent / "shared" / "fixtures"))


def load_articles(fixtures: Path) -> list[tuple[str, str, list[str]]]:
    """(fixture id, title, paragraphs) for each golden fixture with a usable body, identical bodies merged."""
    from news_harvester.harvest.decode import decode_body
    from news_harvester.parse.article import extract_page

    out: list[tuple[str, str, list[str]]] = []
    seen: set[str] = set()
    for path in sorted(EXPECTED.glob("*.json")):
        expected = json.loads(path.read_text(encoding="utf-8"))
        html = decode_body((fixtures / expected["fixture"]).read_bytes(), "text/html").text
        page = extract_page(html, f"https://fixture.invalid/{path.stem}.html", BEIJING)
        paragraphs = [p for p in (page.paragraphs or tuple(page.body_text.split("\n"))) if p.strip()]
        norm = normalise_for_dedupe("".join(paragraphs))
        if len(norm) < 300 or norm in seen:
            continue
        seen.add(norm)
        out.append((path.stem, page.title or expected["title"], paragraphs))
    return out


def _units(paragraphs: list[str]) -> list[str]:
    """Paragraphs, or sentences when the body is one block (so trimming and reordering have something to move)."""
    if len(paragraphs) >= 3:
        return list(paragraphs)
    text = "".join(paragraphs)
    parts = [s + "。" for s in text.split("。") if s.strip()]
    return parts if len(parts) >= 3 else list(paragraphs)


def _site(fixture_id: str) -> str:
    parts = fixture_id.split("-")
    return "-".join(parts[:2])


def _template(site: str) -> tuple[list[str], list[str]]:
    rng = random.Random(site)
    header = [f"{site}频道 首页 要闻 国内 国际 财经 评论 图片 视频 专题", *rng.sample(HEADER, 2)]
    footer = [
        f"关于我们 | 联系我们 | 广告服务 | 网站地图 | {site} 版权所有",
        "违法和不良信息举报电话：12377 举报邮箱：jubao@fixture.invalid",
        *rng.sample(FOOTER[:3], 2),
    ]
    return header, footer


def article_variants(fid: str, title: str, paragraphs: list[str], rng: random.Random) -> list[tuple[str, str, str]]:
    """(variant name, title, body) reprints of one article."""
    units = _units(paragraphs)
    body = "\n".join(paragraphs)
    outlet, editor = rng.choice(OUTLETS), rng.choice(EDITORS)
    variants: list[tuple[str, str, str]] = []
    first = units[0][:24]
    variants.append(
        (
            "retitled",
            rng.choice(BANNER_PREFIXES) + first,
            f"来源：{outlet}　编辑：{editor}\n{body}\n（责任编辑：{editor}）",
        )
    )
    header, footer = rng.sample(HEADER, 2), [f.format(editor=editor) for f in rng.sample(FOOTER, 3)]
    variants.append(("boilerplate", title, "\n".join([*header, body, *footer])))
    keep = max(1, round(len(units) * 0.7))
    variants.append(("trimmed", title, "\n".join(units[:keep])))
    half = max(1, len(units) // 2)
    variants.append(("excerpt", title, f"据{outlet}报道，" + "\n".join(units[:half]) + f"\n（来源：{outlet}）"))
    reordered = list(units)
    i = rng.randrange(len(reordered) - 1) if len(reordered) > 1 else 0
    reordered[i : i + 2] = reordered[i : i + 2][::-1]
    reordered = reordered[-1:] + reordered[:-1]
    variants.append(("reordered", title, "\n".join(reordered)))
    variants.append(("traditional", to_traditional(title), to_traditional(body)))
    width = body.translate(FULLWIDTH).replace("，", ", ").replace("。", ". ").replace("\n", "\n\n  ")
    variants.append(("width", title.translate(FULLWIDTH), width))
    combo = to_traditional("\n".join([*header, *units[: max(1, round(len(units) * 0.8))], *footer]))
    variants.append(("combo", to_traditional(title), combo))
    t_header, t_footer = _template(_site(fid))
    variants.append(("site-template", title, "\n".join([*t_header, body, *t_footer])))
    return variants


def load_titles(fixtures: Path) -> dict[str, list[str]]:
    by_label: dict[str, list[str]] = defaultdict(list)
    path = fixtures / "thucnews-titles" / "THUCNews" / "data" / "test.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        title, _, label = line.rpartition("\t")
        if title:
            by_label[label].append(title)
    return by_label


def flash_docs(fixtures: Path, rng: random.Random, per_label: int = 20) -> list[tuple[str, str, str, datetime, str]]:
    """(story, title, body, published_at, kind) for flashes and their re-titled variants."""
    out: list[tuple[str, str, str, datetime, str]] = []
    for label, titles in sorted(load_titles(fixtures).items()):
        for n, title in enumerate(rng.sample(titles, min(per_label, len(titles)))):
            story = f"flash-{label}-{n}"
            when = T0 + timedelta(minutes=rng.randrange(24 * 60))
            outlet = rng.choice(OUTLETS)
            out.append((story, title, f"{title}。（{outlet}）", when, "flash"))
            alt = rng.choice(
                [
                    "快讯：" + title,
                    title + "——" + rng.choice(OUTLETS),
                    title.translate(FULLWIDTH).replace(" ", "，"),
                    to_traditional(title),
                    "【" + title + "】",
                ]
            )
            later = when + timedelta(hours=rng.randrange(1, 12))
            out.append((story, alt, f"{alt}。详情见{rng.choice(OUTLETS)}。", later, "flash-variant"))
    return out


def build(fixtures: Path | None = None, seed: int = 7) -> list[EvalDoc]:
    fixtures = fixtures or shared_fixtures()
    rng = random.Random(seed)
    docs: list[EvalDoc] = []

    def add(story: str, title: str, body: str, when: datetime, kind: str) -> None:
        doc_id = len(docs) + 1
        docs.append(
            EvalDoc(DedupeDoc(doc_id, f"https://site{doc_id}.invalid/{doc_id}.html", title, body, when), story, kind)
        )

    for fid, title, paragraphs in load_articles(fixtures):
        when = T0 + timedelta(hours=rng.randrange(72))
        story = SAME_ARTICLE.get(fid, fid)
        add(story, title, "\n".join(paragraphs), when, "original")
        for name, v_title, v_body in article_variants(fid, title, paragraphs, rng):
            add(story, v_title, v_body, when + timedelta(hours=rng.randrange(1, 48)), name)
    for story, title, body, when, kind in flash_docs(fixtures, rng):
        add(story, title, body, when, kind)
    order = list(range(len(docs)))
    rng.shuffle(order)
    return [docs[i] for i in order]


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    true_pairs: int
    predicted_pairs: int
    missed: tuple[tuple[str, str], ...]
    false: tuple[tuple[str, str], ...]


def _pairs(labels: dict[int, str]) -> set[tuple[int, int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for doc_id, label in labels.items():
        groups[label].append(doc_id)
    return {pair for members in groups.values() for pair in combinations(sorted(members), 2)}


def evaluate(docs: list[EvalDoc], params: DedupeParams | None = None, only: str | None = None) -> Score:
    """Pairwise precision/recall of the clusters StoryIndex builds; ``only`` = "long" or "short" restricts."""
    index = StoryIndex(params or DedupeParams())
    predicted: dict[int, str] = {}
    for next_story, item in enumerate(docs, start=1):
        decision = index.assign(item.doc, next_story)
        predicted[item.doc.id] = str(decision.story_id if decision.story_id is not None else next_story)
    truth = {item.doc.id: item.story for item in docs}
    if only is not None:
        keep = {item.doc.id for item in docs if item.kind.startswith("flash") == (only == "short")}
        truth = {k: v for k, v in truth.items() if k in keep}
        predicted = {k: v for k, v in predicted.items() if k in keep}
    t, p = _pairs(truth), _pairs(predicted)
    kinds = {item.doc.id: f"{item.story}/{item.kind}" for item in docs}
    return Score(
        precision=len(t & p) / len(p) if p else 1.0,
        recall=len(t & p) / len(t) if t else 1.0,
        true_pairs=len(t),
        predicted_pairs=len(p),
        missed=tuple((kinds[a], kinds[b]) for a, b in sorted(t - p)),
        false=tuple((kinds[a], kinds[b]) for a, b in sorted(p - t)),
    )


def sweep(docs: list[EvalDoc]) -> None:  # pragma: no cover - a measurement tool
    print(f"{len(docs)} docs, {Counter(d.kind for d in docs)}")
    print("long articles (minhash layer): k, lsh_threshold, accept_threshold -> precision recall")
    for k in (3, 4, 5, 6, 8):
        for lsh in (0.2, 0.3, 0.4, 0.5):
            for accept in (0.3, 0.4, 0.5, 0.6):
                if accept < lsh:
                    continue
                s = evaluate(docs, DedupeParams(shingle_size=k, lsh_threshold=lsh, accept_threshold=accept), "long")
                print(f"k={k} lsh={lsh:.1f} accept={accept:.1f}  P={s.precision:.4f} R={s.recall:.4f}")
    print("flashes (title layer): title_threshold -> precision recall")
    for tt in (0.3, 0.4, 0.5, 0.6, 0.7):
        s = evaluate(docs, DedupeParams(title_threshold=tt), "short")
        print(f"title={tt:.1f}  P={s.precision:.4f} R={s.recall:.4f}")


if __name__ == "__main__":  # pragma: no cover
    all_docs = build()
    if "--misses" in sys.argv:
        score = evaluate(all_docs)
        print(score.precision, score.recall, score.true_pairs, score.predicted_pairs)
        for pair in score.missed[:60]:
            print("missed", pair)
        for pair in score.false[:60]:
            print("false", pair)
    else:
        sweep(all_docs)
