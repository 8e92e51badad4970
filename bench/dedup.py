"""Dedupe benchmark: the in-memory StoryIndex on 100,000 docs, and brute-force pairwise Jaccard on a subset.

The product's own index lives in the database since migration 0010: bench/story_index.py measures that one
(insert+match against the in-memory peer, and daemon start-up at 20,000 and 200,000 stored articles). This one
measures the matching rules themselves at scale (the in-memory index runs the same decider).

Run:  .venv/bin/python bench/dedup.py                       (20,000 docs, 1,000-doc brute-force subset)
      .venv/bin/python bench/dedup.py --docs 5000 --subset 300 --queries 500   (quick)

Docs are synthetic but built from real text: article bodies are 24-60 clauses (split at ，。；！？) drawn from
the bodies that ``extract_page`` takes out of the ../shared/fixtures pages named in tests/expected/extract/,
titles are THUCNews headlines (flashes: one headline each; articles: two headlines spliced). Of the stream,
~75 % are new articles, ~15 % reprints of a recent article (the reprint variants of tests/dedupe_eval.py:
new headline + 来源/编辑 lines, boilerplate, trimmed, excerpt, reordered, traditional, full-width, site template),
~5 % flashes (short bodies) and ~5 % re-titled copies of a recent flash.

Measured, all in one run and one process:
  * insert+query: ``StoryIndex.assign`` (match, then add) for every doc → docs/s and peak RSS;
  * query only: ``match`` of 10,000 fresh reprints against the full index → queries/s;
  * on the first ``--subset`` long articles: the LSH index vs brute force (exact Jaccard of the same
    5-shingle sets against every earlier doc, same accept threshold, same clustering rule); pairwise recall of
    "same story" for both and the time ratio.
Only local work. Results also go to bench/results/dedup-<timestamp>-<N>.json (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

import dedupe_eval  # noqa: E402
from news_harvester.stories.dedupe import (  # noqa: E402
    DedupeDoc,
    DedupeParams,
    StoryIndex,
    normalise_for_dedupe,
    shingle_hashes,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Item:
    doc: DedupeDoc
    story: int
    long: bool


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def clause_pool(fixtures: Path) -> list[str]:
    """Clauses (split at ，。；！？) of the fixture article bodies, at least 6 characters long."""
    pool: set[str] = set()
    for _, _, paragraphs in dedupe_eval.load_articles(fixtures):
        for para in paragraphs:
            for sep in "。；！？":
                para = para.replace(sep, "，")
            pool.update(c.strip() for c in para.split("，") if len(c.strip()) >= 6)
    return sorted(pool)


def headline(rng: random.Random, titles: list[str]) -> str:
    """Two headlines spliced at their middles: ~10^8 distinct, realistic-looking headlines."""
    a, b = rng.choice(titles), rng.choice(titles)
    return a[: len(a) // 2] + b[len(b) // 2 :]


def generate(n: int, fixtures: Path, seed: int = 11) -> list[Item]:
    rng = random.Random(seed)
    pool = clause_pool(fixtures)
    titles = sorted({t for ts in dedupe_eval.load_titles(fixtures).values() for t in ts})
    rng.shuffle(titles)
    # flashes take headlines without replacement (a headline drawn twice would be a second, unlabelled copy);
    # long articles draw theirs from the other part (they are matched on the body, not the title)
    flash_titles, long_titles = titles[: len(titles) // 2], titles[len(titles) // 2 :]
    items: list[Item] = []
    longs: list[tuple[int, str, list[str]]] = []  # (story, title, paragraphs)
    flashes: list[tuple[int, str]] = []
    variants_of: dict[int, list[tuple[str, str, str]]] = {}
    stories = 0
    for i in range(n):
        if i and i % 10_000 == 0:
            print(f"  generated {i:,} of {n:,} docs", flush=True)
        when = T0 + timedelta(minutes=i)  # ~70 days for 100,000 docs
        url = f"https://site{i % 97}.invalid/{i}.html"
        r = rng.random()
        if r < 0.15 and longs:
            story, title, paragraphs = longs[-1 - min(len(longs) - 1, int(rng.expovariate(1 / 200)))]
            if story not in variants_of:  # made once per story: two OpenCC conversions each, the slow part
                variants_of[story] = dedupe_eval.article_variants(f"bench-{story}", title, paragraphs, rng)
            variants = variants_of[story]
            _, v_title, v_body = rng.choice(variants)
            items.append(Item(DedupeDoc(i, url, v_title, v_body, when), story, True))
        elif r < 0.20 and flashes:
            story, title = flashes[-1 - min(len(flashes) - 1, int(rng.expovariate(1 / 20)))]
            alt = rng.choice(
                ["快讯：" + title, title + "——新华网", "【" + title + "】", dedupe_eval.to_traditional(title)]
            )
            items.append(Item(DedupeDoc(i, url, alt, alt + "。", when), story, False))
        elif r < 0.25:
            stories += 1
            title = flash_titles[len(flashes) % len(flash_titles)]
            flashes.append((stories, title))
            items.append(
                Item(DedupeDoc(i, url, title, f"{title}。（{rng.choice(dedupe_eval.OUTLETS)}）", when), stories, False)
            )
        else:
            stories += 1
            title = headline(rng, long_titles)
            clauses = rng.sample(pool, rng.randint(24, 60))
            sentences = ["，".join(clauses[j : j + 3]) + "。" for j in range(0, len(clauses), 3)]
            paragraphs = ["".join(sentences[j : j + 3]) for j in range(0, len(sentences), 3)]
            longs.append((stories, title, paragraphs))
            items.append(Item(DedupeDoc(i, url, title, "\n".join(paragraphs), when), stories, True))
    return items


def pair_recall(truth: dict[int, int], predicted: dict[int, int]) -> tuple[float, float]:
    def pairs(labels: dict[int, int]) -> set[tuple[int, int]]:
        groups: dict[int, list[int]] = defaultdict(list)
        for key, label in labels.items():
            groups[label].append(key)
        return {p for members in groups.values() for p in combinations(sorted(members), 2)}

    t, p = pairs(truth), pairs(predicted)
    return (len(t & p) / len(p) if p else 1.0), (len(t & p) / len(t) if t else 1.0)


def subset_comparison(items: list[Item], size: int, params: DedupeParams) -> dict[str, float]:
    # long bodies only, so that both sides decide on the body alone (short reprints would use the title layer)
    subset = [it for it in items if len(normalise_for_dedupe(it.doc.body)) >= params.short_body_chars][:size]
    truth = {it.doc.id: it.story for it in subset}

    start = time.perf_counter()
    index = StoryIndex(params)
    lsh_pred: dict[int, int] = {}
    for it in subset:
        decision = index.assign(it.doc, it.doc.id)
        lsh_pred[it.doc.id] = decision.story_id if decision.story_id is not None else it.doc.id
    lsh_s = time.perf_counter() - start

    start = time.perf_counter()
    seen: list[tuple[frozenset[int], int]] = []
    brute_pred: dict[int, int] = {}
    for it in subset:
        sh = frozenset(shingle_hashes(normalise_for_dedupe(it.doc.body), params.shingle_size).tolist())
        best, best_story = 0.0, it.doc.id
        for other, story in seen:
            inter = len(sh & other)
            jac = inter / (len(sh) + len(other) - inter) if inter else 0.0
            if jac > best:
                best, best_story = jac, story
        story = best_story if best >= params.accept_threshold else it.doc.id
        brute_pred[it.doc.id] = story
        seen.append((sh, story))
    brute_s = time.perf_counter() - start

    lsh_p, lsh_r = pair_recall(truth, lsh_pred)
    brute_p, brute_r = pair_recall(truth, brute_pred)
    return {
        "subset_docs": len(subset),
        "lsh_seconds": lsh_s,
        "brute_seconds": brute_s,
        "ratio_brute_over_lsh": brute_s / lsh_s,
        "lsh_precision": lsh_p,
        "lsh_recall": lsh_r,
        "brute_precision": brute_p,
        "brute_recall": brute_r,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--subset", type=int, default=1_000)
    parser.add_argument("--queries", type=int, default=2_000)
    args = parser.parse_args()
    fixtures = dedupe_eval.shared_fixtures()
    if not (fixtures / "gne").exists():
        print(f"FAIL: shared fixtures not found at {fixtures}")
        return 1
    params = DedupeParams()

    print("loading the fixture articles and headlines (about a minute) ...", flush=True)
    start = time.perf_counter()
    items = generate(args.docs, fixtures)
    gen_s = time.perf_counter() - start
    rss_before = peak_rss_mb()
    print(
        f"generated {len(items):,} docs in {gen_s:.1f}s ({sum(it.long for it in items):,} long), "
        f"peak RSS {rss_before:.0f} MB"
    )

    start = time.perf_counter()
    index = StoryIndex(params)
    predicted: dict[int, int] = {}
    layers: dict[str, int] = defaultdict(int)
    for n, it in enumerate(items, start=1):
        decision = index.assign(it.doc, it.doc.id)
        predicted[it.doc.id] = decision.story_id if decision.story_id is not None else it.doc.id
        layers[decision.layer or "new"] += 1
        if n % 10_000 == 0:
            print(f"  indexed {n:,} of {len(items):,} docs ({time.perf_counter() - start:.0f} s)", flush=True)
    insert_s = time.perf_counter() - start
    rss_after = peak_rss_mb()
    precision, recall = pair_recall({it.doc.id: it.story for it in items}, predicted)
    print(
        f"insert+query {len(items):,} docs: {insert_s:.1f}s = {len(items) / insert_s:,.0f} docs/s; "
        f"peak RSS {rss_after:.0f} MB (index ≈ {rss_after - rss_before:.0f} MB over the generated docs)"
    )
    print(f"  decisions by layer: {dict(layers)}; pairwise P={precision:.4f} R={recall:.4f}")

    rng = random.Random(5)
    longs = [it for it in items if it.long]
    queries = []
    variants_of: dict[int, list[tuple[str, str, str]]] = {}
    for q in range(args.queries):
        it = rng.choice(longs)
        if it.doc.id not in variants_of:  # made once per document (two OpenCC conversions each)
            variants_of[it.doc.id] = dedupe_eval.article_variants(f"q{q}", it.doc.title, it.doc.body.split("\n"), rng)
        _, v_title, v_body = rng.choice(variants_of[it.doc.id])
        queries.append(DedupeDoc(10_000_000 + q, f"https://query.invalid/{q}", v_title, v_body, it.doc.published_at))
    start = time.perf_counter()
    hits = sum(index.match(doc).kind != "new_story" for doc in queries)
    query_s = time.perf_counter() - start
    print(
        f"query only {len(queries):,} reprints vs {len(index):,} docs: {len(queries) / query_s:,.0f} queries/s, "
        f"{hits / len(queries):.1%} matched"
    )

    cmp = subset_comparison(items, args.subset, params)
    print(
        f"subset {cmp['subset_docs']:,} long docs: LSH {cmp['lsh_seconds']:.2f}s (P={cmp['lsh_precision']:.4f} "
        f"R={cmp['lsh_recall']:.4f}) vs brute-force pairwise Jaccard {cmp['brute_seconds']:.2f}s "
        f"(P={cmp['brute_precision']:.4f} R={cmp['brute_recall']:.4f}): brute/LSH = {cmp['ratio_brute_over_lsh']:.1f}x"
    )
    if cmp["lsh_recall"] < cmp["brute_recall"] - 0.01:
        print("note: LSH recall is more than 1 point below brute force on the subset")

    result = {
        "docs": len(items),
        "generate_seconds": gen_s,
        "insert_query_seconds": insert_s,
        "docs_per_second": len(items) / insert_s,
        "peak_rss_mb": rss_after,
        "rss_before_index_mb": rss_before,
        "precision": precision,
        "recall": recall,
        "layers": dict(layers),
        "queries_per_second": len(queries) / query_s,
        "query_hit_rate": hits / len(queries),
        "subset": cmp,
        "params": {k: str(v) for k, v in vars(params).items()} if hasattr(params, "__dict__") else str(params),
    }
    out = ROOT / "bench" / "results" / f"dedup-{time.strftime('%Y%m%d-%H%M%S')}-{len(items)}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"written {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
