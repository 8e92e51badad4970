"""Story index benchmark: the index in the database vs the in-memory MinHash-LSH index it replaced.

Run:  .venv/bin/python bench/story_index.py                 (about 13 minutes on 2 vCPU, SQLite only)
      .venv/bin/python bench/story_index.py --docs 3000 --sizes 20000 --repeat 1 --batch 10   (about a minute)

Two measurements, each printed as it finishes:

1. **Insert+match throughput** on one stream of documents (bench/dedup.py's generator: clauses of the real
   fixture bodies and THUCNews headlines recombined, ~15 % reprint variants of tests/dedupe_eval.py, ~10 %
   flashes and their re-titled copies). Each side runs in a child process of its own, so peak RSS is its own:
   - peer: an in-memory datasketch ``MinHashLSH`` with dicts for URLs, body hashes and title bigrams, as every
     process of the product kept until migration 0010 (fingerprint, exact layers, LSH query, verify, insert);
   - ours: the product's stored index on a real SQLite file migrated by the product (and on PostgreSQL when
     ``NEWS_HARVESTER_TEST_PG`` is set), in two transaction shapes (``--batch``): 10 documents per transaction,
     as one harvest run's articles, and 200, the most the harvest's writer puts in one transaction
     (news_harvester.harvest.writer.MAX_BATCH_ARTICLES) when runs finish faster than it commits; in each:
     article rows inserted, ``StoryBatch.decide`` over ``StoredStoryLookup`` (plus the batch's own articles),
     a ``stories`` row per new story, the article's story written, ``StoryIndexStore.add``.
   Prints docs/s, peak RSS, the ratio ours/peer and how often both sides decided the same story.
2. **Daemon start-up** with N articles stored in the story window (``--sizes``, default 20,000 and 200,000,
   side by side): a SQLite database migrated by the product and filled with SQL (articles over the last 80
   days, one story each, their index rows computed by the product's key functions from random MinHash values),
   then ``news-harvester run`` started: seconds until ``/readyz`` answers 200, and the daemon's RSS then.

Only 127.0.0.1. Results also go to bench/results/story-index-<timestamp>.json (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402

import dedup  # noqa: E402
import dedupe_eval  # noqa: E402

BATCHES = "10,200"
"""Documents per transaction: what one harvest run of a feed typically stores."""


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- 1. throughput


class PeerIndex:
    """The in-memory index as every process kept it until migration 0010: a datasketch MinHashLSH plus dicts for
    URLs, normalised-body hashes and title bigrams, filled after each transaction committed."""

    def __init__(self) -> None:
        from datasketch import MinHashLSH  # type: ignore[import-untyped]

        from news_harvester.stories.dedupe import DedupeParams
        from news_harvester.stories.minhash import _hasher, _lsh_bands

        self.params = params = DedupeParams()
        self.hasher = _hasher(params.num_perm, params.seed)
        self.lsh = MinHashLSH(num_perm=params.num_perm, params=_lsh_bands(params.lsh_threshold, params.num_perm))
        self.minhashes: dict[int, np.ndarray] = {}
        self.stories: dict[int, int] = {}
        self.by_url: dict[str, int] = {}
        self.by_hash: dict[str, int] = {}
        self.grams_of: dict[int, frozenset[str]] = {}
        self.when_of: dict[int, datetime] = {}
        self.by_gram: defaultdict[str, set[int]] = defaultdict(set)

    def fingerprint(self, doc: Any) -> tuple[str | None, np.ndarray | None, frozenset[str]]:
        from news_harvester.stories.dedupe import content_hash, normalise_for_dedupe, shingle_hashes, title_bigrams

        body = normalise_for_dedupe(doc.body)
        values = None
        if len(body) >= self.params.short_body_chars:
            values = self.hasher.values(shingle_hashes(body, self.params.shingle_size))
        return content_hash(body), values, title_bigrams(doc.title)

    def _minhash(self, values: np.ndarray) -> Any:
        from datasketch import MinHash  # type: ignore[import-untyped]

        return MinHash(
            seed=self.params.seed, hashvalues=values, permutations=(self.hasher.a, self.hasher.b), scheme="affine32"
        )

    def match(self, doc: Any, fp: tuple[str | None, np.ndarray | None, frozenset[str]]) -> int | None:
        digest, values, grams = fp
        if (other := self.by_url.get(doc.url)) is not None or (digest and (other := self.by_hash.get(digest))):
            return self.stories[other]
        best: tuple[float, int] | None = None
        if values is not None:
            for key in self.lsh.query(self._minhash(values)):
                sim = float(np.count_nonzero(self.minhashes[key] == values)) / len(values)
                if best is None or sim > best[0] or (sim == best[0] and key < best[1]):
                    best = (sim, key)
            ok = best is not None and best[0] >= self.params.accept_threshold
            return self.stories[best[1]] if ok and best is not None else None
        counts: dict[int, int] = defaultdict(int)
        for gram in grams:
            for key in self.by_gram.get(gram, ()):
                counts[key] += 1
        for key, inter in counts.items():
            sim = inter / (len(grams) + len(self.grams_of[key]) - inter)
            near = abs(self.when_of[key] - doc.published_at) <= self.params.title_window
            if (
                sim >= self.params.title_threshold
                and near
                and (best is None or sim > best[0] or (sim == best[0] and key < best[1]))
            ):
                best = (sim, key)
        return self.stories[best[1]] if best is not None else None

    def add(self, doc: Any, story: int, fp: tuple[str | None, np.ndarray | None, frozenset[str]]) -> None:
        digest, values, grams = fp
        self.stories[doc.id] = story
        self.by_url.setdefault(doc.url, doc.id)
        if digest:
            self.by_hash.setdefault(digest, doc.id)
        if values is not None:
            self.minhashes[doc.id] = values
            self.lsh.insert(doc.id, self._minhash(values), check_duplication=False)
        self.grams_of[doc.id] = grams
        self.when_of[doc.id] = doc.published_at
        for gram in grams:
            self.by_gram[gram].add(doc.id)


def run_store(
    items: list[dedup.Item], database_url: str, stored_index: bool, per_transaction: int = 10
) -> dict[str, Any]:
    """The store step of harvest runs, one transaction per ``per_transaction`` documents: article rows
    inserted, each article's story decided, a ``stories`` row per new story, the article's story written.
    ``stored_index``: decided by the product's stored index (``StoryBatch.decide`` over ``StoredStoryLookup``,
    ``StoryIndexStore.add`` in the same transaction); otherwise by the in-memory :class:`PeerIndex`, filled after
    the commit."""
    from sqlalchemy import bindparam, insert, update

    from news_harvester.store.engine import make_engine, upgrade
    from news_harvester.store.schema import articles, stories
    from news_harvester.store.story_index import StoredStoryLookup, StoryIndexStore
    from news_harvester.store.story_store import index_entry
    from news_harvester.stories.assign import StoryBatch
    from news_harvester.stories.dedupe import DedupeDoc, DedupeParams

    engine = make_engine(database_url)
    upgrade(engine)
    params = DedupeParams()
    window = timedelta(days=90)
    peer = None if stored_index else PeerIndex()
    decided: dict[int, int] = {}
    founder: dict[int, int] = {}  # stories.id -> bench doc id that started it
    StoryBatch(params, window, {})  # loads datasketch's permutations outside the timing, as the daemon does at start
    rss_before = peak_rss_mib()
    started = time.perf_counter()
    now = dedup.T0 + timedelta(days=80)
    for start in range(0, len(items), per_transaction):
        chunk = items[start : start + per_transaction]
        batch = StoryBatch(params, window, {})
        later: list[tuple[Any, int, Any]] = []
        with engine.begin() as conn:
            fps: dict[int, Any]
            if peer is None:
                fps = {it.doc.id: batch.fingerprint(it.doc) for it in chunk}
                StoryIndexStore.lock_keys(
                    conn,
                    (k for fp in fps.values() for k in fp.band_keys),
                    (k for fp in fps.values() for k in fp.title_keys),
                )
            else:
                fps = {it.doc.id: peer.fingerprint(it.doc) for it in chunk}
            rows = conn.execute(
                insert(articles).returning(articles.c.id, articles.c.url),
                [
                    {
                        "url": it.doc.url,
                        "source_id": "bench",
                        "title": it.doc.title,
                        "published_at": it.doc.published_at,
                        "fetched_at": it.doc.published_at,
                        "body_text": it.doc.body,
                        "content_hash": uuid.uuid4().hex,
                    }
                    for it in chunk
                ],
            ).all()
            by_url = {r.url: int(r.id) for r in rows}
            stored = StoredStoryLookup(conn, batch.version, now - window, fresh={i: u for u, i in by_url.items()})
            if peer is None:
                stored.prefetch(
                    (fp.content_hash for fp in fps.values()), (k for fp in fps.values() for k in fp.band_keys)
                )
            placed, entries = [], []
            pending = PeerIndex() if peer is not None else None  # the old StoryBatch's own index
            for it in chunk:
                article_id = by_url[it.doc.url]
                doc = DedupeDoc(article_id, it.doc.url, it.doc.title, it.doc.body, it.doc.published_at)
                fp = fps[it.doc.id]
                if peer is None:
                    decision, _ = batch.decide(doc, stored, fp)
                    story = decision.story_id
                else:
                    assert pending is not None
                    story = peer.match(doc, fp)
                    if story is None:
                        story = pending.match(doc, fp)
                if story is None:
                    story = int(
                        conn.execute(
                            insert(stories).values(created_at=now, updated_at=now).returning(stories.c.id)
                        ).scalar_one()
                    )
                    founder[story] = it.doc.id
                decided[it.doc.id] = founder[story]
                placed.append({"aid": article_id, "sid": story})
                if peer is None:
                    batch.record(doc, story, fp)
                    entries.append(index_entry(article_id, fp, batch.version, it.doc.published_at))
                else:
                    assert pending is not None
                    pending.add(doc, story, fp)
                    later.append((doc, story, fp))
            conn.execute(
                update(articles).where(articles.c.id == bindparam("aid")).values(story_id=bindparam("sid")), placed
            )
            StoryIndexStore.add(conn, entries)
        if peer is not None:
            for doc, story, fp in later:
                peer.add(doc, story, fp)
        if start and start % 5000 < per_transaction:
            side = "peer" if peer is not None else "ours"
            print(f"    {side}: {start:,} of {len(items):,} docs", flush=True)
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"seconds": seconds, "peak_rss_mib": peak_rss_mib(), "rss_before_mib": rss_before, "decided": decided}


def _child(target: Any, conn: Any, *args: Any) -> None:
    conn.send(target(*args))


def in_child(target: Any, *args: Any) -> dict[str, Any]:
    parent, child = mp.Pipe()
    proc = mp.get_context("fork").Process(target=_child, args=(target, child, *args))
    proc.start()
    result = parent.recv()
    proc.join()
    return result


def throughput(items: list[dedup.Item], pg_url: str | None, batch: int, repeat: int = 1) -> dict[str, Any]:
    """Peer and ours alternately, ``repeat`` pairs per database engine (each on a fresh database): on a shared
    machine one pair can be ±15 % off, so the median of the pairs' ratios is the figure."""
    print(f"1. insert+match, {len(items):,} docs, {batch} per transaction, {repeat} pair(s)", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="nh-story-index-"))
    results: dict[str, Any] = {"docs": len(items), "batch": batch, "repeat": repeat}
    backends = [("sqlite", lambda side: f"sqlite:///{tmp / f'{side}-{uuid.uuid4().hex[:6]}.db'}")]
    if pg_url:
        backends.append(("postgresql", lambda side: fresh_pg_schema(pg_url)))
    try:
        for name, url_for in backends:
            pairs = []
            for _ in range(repeat):
                peer = in_child(run_store, items, url_for("peer"), False, batch)
                print(
                    f"  {name}: peer (in-memory datasketch MinHashLSH): {len(items) / peer['seconds']:,.0f} docs/s, "
                    f"peak RSS {peer['peak_rss_mib']:.0f} MiB (+{peak_growth(peer):.0f} MiB while indexing)",
                    flush=True,
                )
                ours = in_child(run_store, items, url_for("ours"), True, batch)
                same = sum(ours["decided"][k] == peer["decided"][k] for k in peer["decided"]) / len(peer["decided"])
                ratio = peer["seconds"] / ours["seconds"]
                print(
                    f"  {name}: ours (stored index): {len(items) / ours['seconds']:,.0f} docs/s = x{ratio:.2f} the "
                    f"peer; peak RSS {ours['peak_rss_mib']:.0f} MiB (+{peak_growth(ours):.0f} MiB while indexing); "
                    f"same story as the peer for {same:.2%} of the docs",
                    flush=True,
                )
                pairs.append({"peer": strip(peer), "ours": strip(ours), "ratio_over_peer": ratio, "same": same})
            ratios = sorted(p["ratio_over_peer"] for p in pairs)
            median = statistics.median(ratios)
            if repeat > 1:
                listed = ", ".join(f"x{r:.2f}" for r in ratios)
                print(f"  {name}, {batch} per transaction: median ours/peer x{median:.2f} ({listed})", flush=True)
            results[name] = {"pairs": pairs, "median_ratio_over_peer": median}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def peak_growth(result: dict[str, Any]) -> float:
    return float(result["peak_rss_mib"] - result["rss_before_mib"])


def strip(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "decided"}


def fresh_pg_schema(url: str) -> str:
    """A schema of its own on the PostgreSQL server (dropped by nobody: the name says it is a bench)."""
    import sqlalchemy

    from news_harvester.store.engine import normalize_database_url

    schema = f"nh_bench_{uuid.uuid4().hex[:8]}"
    engine = sqlalchemy.create_engine(normalize_database_url(url))
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


# --------------------------------------------------------------------------- 2. start-up


def fill(db: Path, n: int, now: datetime) -> float:
    """A migrated SQLite database with ``n`` articles stored over the last 80 days, each its own story and
    indexed (keys from the product's key functions over random MinHash values); returns seconds taken."""
    import sqlite3

    from news_harvester.store.engine import make_engine, upgrade
    from news_harvester.stories.dedupe import DedupeParams, index_version, normalise_for_dedupe
    from news_harvester.stories.minhash import _lsh_bands, band_keys, title_keys

    started = time.perf_counter()
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    engine.dispose()
    params = DedupeParams()
    version = index_version(params)
    bands, rows = _lsh_bands(params.lsh_threshold, params.num_perm)
    rng = np.random.default_rng(7)
    words = random.Random(7)
    pool = "数字贸易服务外包跨境电商平台经济人工智能数据要素出口进口政策会议发布增长企业市场国际合作规则标准"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    step = 20_000
    for start in range(0, n, step):
        ids = range(start + 1, min(n, start + step) + 1)
        story_rows, article_rows, fp_rows, band_rows, title_rows = [], [], [], [], []
        for i in ids:
            when = now - timedelta(seconds=int(80 * 86400 * (n - i) / n))
            stamp = when.strftime("%Y-%m-%d %H:%M:%S.%f")
            title = "".join(words.choice(pool) for _ in range(14)) + str(i)
            body = "".join(words.choice(pool) for _ in range(300))
            story_rows.append((i, stamp, stamp, i))
            article_rows.append(
                (i, f"https://bench.invalid/{i}.html", "bench", title, stamp, stamp, body, uuid.uuid4().hex, i, "new")
            )
            values = rng.integers(0, 2**32, size=params.num_perm, dtype=np.uint32)
            bkeys = band_keys(values, bands, rows, version)
            tkeys = title_keys(normalise_for_dedupe(title), version)
            epoch = int(when.timestamp())
            fp_rows.append(
                (
                    i,
                    epoch,
                    epoch,
                    uuid.uuid4().hex + uuid.uuid4().hex,
                    values.astype("<u4").tobytes(),
                    np.array(bkeys, dtype="<i8").tobytes(),
                    np.array(sorted(tkeys), dtype="<i8").tobytes(),
                    version,
                )
            )
            band_rows.extend((k, i) for k in set(bkeys))
            title_rows.extend((k, epoch, i) for k in tkeys)
        with conn:
            conn.executemany(
                "INSERT INTO stories (id, created_at, updated_at, canonical_article_id) VALUES (?,?,?,?)", story_rows
            )
            conn.executemany(
                "INSERT INTO articles (id, url, source_id, title, published_at, fetched_at, body_text, content_hash, "
                "story_id, story_layer) VALUES (?,?,?,?,?,?,?,?,?,?)",
                article_rows,
            )
            conn.executemany(
                "INSERT INTO candidates (article_id, story_id, state, created_at) VALUES (?,?,'new',?)",
                [(a[0], a[0], a[4]) for a in article_rows],
            )
            conn.executemany("INSERT INTO story_fingerprints VALUES (?,?,?,?,?,?,?,?)", fp_rows)
            conn.executemany("INSERT OR IGNORE INTO story_bands VALUES (?,?)", band_rows)
            conn.executemany("INSERT OR IGNORE INTO story_title_keys VALUES (?,?,?)", title_rows)
        print(f"    filled {min(n, start + step):,} of {n:,} articles", flush=True)
    conn.close()
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_daemon(home: Path) -> dict[str, float]:
    import httpx

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_HARVESTER_")} | {
        "NEWS_HARVESTER_DATA_DIR": str(home / "data"),
        "NEWS_HARVESTER_SOURCES": str(home / "sources.yaml"),
        "NEWS_HARVESTER_TOPICS": str(ROOT / "config" / "topics.yaml"),
        "NEWS_HARVESTER_LOG_LEVEL": "WARNING",
    }
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "news_harvester", "run", "--bind", f"127.0.0.1:{port}"],
        env=env,
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = None
        while ready is None and proc.poll() is None and time.perf_counter() - started < 300:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    ready = time.perf_counter() - started
            except httpx.HTTPError:
                time.sleep(0.02)
        if ready is None:
            raise RuntimeError(
                f"the daemon never became ready: {proc.stderr.read() if proc.poll() is not None else ''}"
            )
        time.sleep(1.0)
        return {"ready_seconds": ready, "rss_mib": rss_mib(proc.pid)}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def startup(sizes: list[int]) -> list[dict[str, Any]]:
    print(f"2. daemon start-up with {', '.join(f'{n:,}' for n in sizes)} stored articles in the window", flush=True)
    out = []
    now = datetime.now(UTC)
    for n in sizes:
        home = Path(tempfile.mkdtemp(prefix="nh-start-"))
        try:
            (home / "data").mkdir()
            (home / "sources.yaml").write_text(
                "sources:\n  - {id: closed, name: 关闭的端口, kind: feed, "
                "url: 'http://127.0.0.1:9/feed.xml', schedule: 1h}\n",
                encoding="utf-8",
            )
            db = home / "data" / "news_harvester.db"
            fill_s = fill(db, n, now)
            size = db.stat().st_size / 2**20
            result = start_daemon(home) | {"articles": n, "fill_seconds": fill_s, "database_mib": size}
            print(
                f"  {n:>7,} articles (database {size:,.0f} MiB, filled in {fill_s:.0f} s): /readyz after "
                f"{result['ready_seconds']:.2f} s, RSS {result['rss_mib']:.0f} MiB",
                flush=True,
            )
            out.append(result)
        finally:
            shutil.rmtree(home, ignore_errors=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20_000, help="documents of the throughput stream")
    parser.add_argument("--sizes", default="20000,200000", help="stored articles for the start-up runs")
    parser.add_argument("--batch", default=BATCHES, help="documents per transaction (comma-separated: each shape)")
    parser.add_argument("--repeat", type=int, default=3, help="peer/ours pairs per shape and engine (median ratio)")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    fixtures = dedupe_eval.shared_fixtures()
    if not (fixtures / "gne").exists():
        print(f"FAIL: shared fixtures not found at {fixtures}")
        return 1
    result: dict[str, Any] = {"cpus": os.cpu_count()}
    if not args.skip_throughput:
        started = time.perf_counter()
        items = dedup.generate(args.docs, fixtures)
        print(f"generated {len(items):,} docs in {time.perf_counter() - started:.1f} s", flush=True)
        result["throughput"] = [
            throughput(items, os.environ.get("NEWS_HARVESTER_TEST_PG"), int(b), args.repeat)
            for b in args.batch.split(",")
            if b
        ]
    result["startup"] = startup([int(s) for s in args.sizes.split(",") if s])
    out = ROOT / "bench" / "results" / f"story-index-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"written {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
