"""The story index in the database: every process sees every committed article, concurrent stores of two
reprints make one story, an existing database is indexed on its first start, stale keys are rebuilt."""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from datetime import UTC, datetime

from sqlalchemy import insert, select, update

import dedupe_eval
from conftest import migrate_to
from news_harvester.store.engine import make_engine
from news_harvester.store.schema import articles, candidates, stories, story_fingerprints
from news_harvester.store.story_index import StoredStoryLookup
from news_harvester.store.story_store import DOC_COLUMNS, stored_doc
from news_harvester.stories.dedupe import DedupeDoc, DedupeParams, StoryIndex, index_version
from news_harvester.wiring import open_repository
from test_story_flow import AI_REPORT, POLICY, _ingest, _service, record

ORIGINAL = record("https://www.mofcom.gov.cn/a/1.html", "九部门印发数字贸易措施", POLICY, "商务部网站")
# a reprint with a sentence of its own (the "来源：" line alone is furniture the ingest removes, which would make
# it an exact copy: these tests are about the MinHash-LSH path)
REPRINT = record(
    "https://news.example.cn/2.html",
    "数字贸易若干措施发布",
    "来源：商务部网站\n" + POLICY + "\n多地商务主管部门表示，将结合本地实际抓好贯彻落实。",
    "新华网",
)


def test_a_reprint_stored_by_another_process_joins_its_story(any_settings):
    """The daemon started before another process (an ingest, a harvest --once) stored the original: the daemon's
    reprint still joins the original's story, because the index is read from the database."""
    daemon_repo, other_repo = open_repository(any_settings), open_repository(any_settings)
    try:
        daemon = _service(daemon_repo, any_settings)  # started first
        other = _service(other_repo, any_settings)
        [(_, _, story, layer)] = _ingest(other_repo, other, [ORIGINAL])
        assert layer == "new"
        [(_, reprint, joined, how)] = _ingest(daemon_repo, daemon, [REPRINT])
        assert (joined, how) == (story, "minhash")
        assert daemon_repo.indexed_story(reprint) == story
        [(_, _, unrelated, how)] = _ingest(
            daemon_repo, daemon, [record("https://news.example.cn/3.html", "人工智能城市排行", AI_REPORT, "新华网")]
        )
        assert unrelated != story and how == "new"
    finally:
        daemon_repo.engine.dispose()
        other_repo.engine.dispose()


def test_two_processes_storing_two_reprints_at_once_make_one_story(any_settings):
    """Both stores overlap: each waits 0.5 s between taking its story locks and assigning. Without the key locks
    (PostgreSQL) or the write lock (SQLite) both would find nothing stored and start two stories."""
    repos = [open_repository(any_settings) for _ in range(2)]
    try:
        services = [_service(repo, any_settings) for repo in repos]
        for repo in repos:
            repo.before_story_assignment = lambda conn, now: time.sleep(0.5)  # type: ignore[method-assign]
        barrier = threading.Barrier(2)
        results: dict[int, list] = {}
        errors: list[BaseException] = []

        def store(k: int) -> None:
            try:
                barrier.wait()
                results[k] = _ingest(repos[k], services[k], [(ORIGINAL, REPRINT)[k]])
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=store, args=(k,)) for k in range(2)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors, errors
        assert time.perf_counter() - started >= 0.5
        story_ids = {results[k][0][2] for k in range(2)}
        assert len(story_ids) == 1
        assert sorted(results[k][0][3] for k in range(2)) == ["minhash", "new"]
        assert repos[0].counts()["stories"] == 1
        assert repos[0].story_index_size() == 2
    finally:
        for repo in repos:
            repo.engine.dispose()


def test_an_existing_database_is_indexed_on_its_first_start_and_nothing_is_lost(any_settings, caplog):
    """Articles stored before migration 0010 keep their stories and candidates; the first start indexes them
    (with progress in the log), and a reprint harvested afterwards joins their story."""
    engine = make_engine(any_settings.resolved_database_url)
    try:
        migrate_to(engine, "0009")
        now = datetime.now(UTC)
        with engine.begin() as conn:
            new_story = insert(stories).values(created_at=now, updated_at=now).returning(stories.c.id)
            story = conn.execute(new_story).scalar()
            for n, body in enumerate([POLICY, AI_REPORT]):
                article_id = conn.execute(
                    insert(articles)
                    .values(
                        url=f"http://127.0.0.1/old/{n}.html",
                        source_id="mofcom",
                        title=f"旧文章{n}",
                        published_at=now,
                        fetched_at=now,
                        body_text=body,
                        content_hash=f"h{n}",
                        story_id=story if n == 0 else None,
                        story_layer="new" if n == 0 else None,
                    )
                    .returning(articles.c.id)
                ).scalar()
                conn.execute(
                    insert(candidates).values(
                        article_id=article_id, story_id=story if n == 0 else None, state="shortlisted", created_at=now
                    )
                )
    finally:
        engine.dispose()
    repo = open_repository(any_settings)  # migrates to head
    try:
        with caplog.at_level(logging.INFO, logger="news_harvester.store.story_store"):
            service = _service(repo, any_settings)
        assert "story index: indexing 1 stored articles of the window" in caplog.text
        assert "story index: 1 of 1 articles indexed" in caplog.text
        assert repo.story_index_size() == 2  # the one with a story, then the one given a story at start-up
        with repo.engine.connect() as conn:
            kept = conn.execute(select(candidates.c.state, candidates.c.story_id).order_by(candidates.c.id)).all()
        assert kept[0] == ("shortlisted", story)
        [(_, _, joined, how)] = _ingest(repo, service, [REPRINT])
        assert (joined, how) == (story, "minhash")
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="news_harvester.store.story_store"):
            _service(repo, any_settings)  # a second start has nothing to index
        assert "story index:" not in caplog.text
    finally:
        repo.engine.dispose()


def test_keys_of_other_parameters_are_rebuilt(any_settings, caplog):
    repo = open_repository(any_settings)
    try:
        service = _service(repo, any_settings)
        [(_, first, story, _)] = _ingest(repo, service, [ORIGINAL])
        with repo.engine.begin() as conn:  # as if another release had written them
            conn.execute(update(story_fingerprints).values(version=story_fingerprints.c.version + 1))
        with caplog.at_level(logging.INFO, logger="news_harvester.store.story_store"):
            service = _service(repo, any_settings)
        assert "rebuilding the index" in caplog.text
        with repo.engine.connect() as conn:
            versions = conn.execute(select(story_fingerprints.c.version)).scalars().all()
        assert versions == [index_version(DedupeParams())]
        [(_, _, joined, _)] = _ingest(repo, service, [REPRINT])
        assert joined == story and repo.indexed_story(first) == story
    finally:
        repo.engine.dispose()


def test_the_stored_index_groups_documents_as_the_in_memory_one(any_settings):
    """Both answer the same StoryLookup questions for the same decider: on a shuffled stream of reprint variants
    (tests/dedupe_eval.py's), flashes and re-titled flashes, stored one per transaction, the stories the
    database's index forms are exactly those of the in-memory index."""
    rng = random.Random(5)
    stream: list[tuple[str, str, str]] = []
    articles_ = [("九部门联合印发跨境电商意见", POLICY), ("人工智能城市竞争力排行研究报告", AI_REPORT)]
    for n, (title, body) in enumerate(articles_):
        paragraphs = [s + "。" for s in body.split("。") if s]
        stream.append((f"https://origin{n}.example.cn/a.html", title, body))
        for k, (_, v_title, v_body) in enumerate(dedupe_eval.article_variants(f"s{n}", title, paragraphs, rng)):
            stream.append((f"https://reprint{n}.example.cn/{k}.html", v_title, v_body))
    headlines = ["央行宣布下调存款准备金率0.5个百分点", "我国首艘国产大型邮轮完成试航", "成品油价格迎来年内第三次下调"]
    for n, headline in enumerate(headlines):
        for k, variant in enumerate([headline, "快讯：" + headline, headline + "——新华网"]):
            stream.append((f"https://flash{n}.example.cn/{k}.html", variant, variant + "。"))
    rng.shuffle(stream)
    memory = StoryIndex()
    in_memory: dict[str, int] = {}
    repo = open_repository(any_settings)
    try:
        service = _service(repo, any_settings)
        for n, (url, title, body) in enumerate(stream, start=1):
            rec = record(url, title, body, "x")
            published = datetime.fromisoformat(rec["published_at"])
            decision = memory.assign(DedupeDoc(n, url, title, body, published), n)
            in_memory[url] = decision.story_id if decision.story_id is not None else n
            _ingest(repo, service, [rec])
        stored = {url: repo.story_of(url)[0] for url, _, _ in stream}
    finally:
        repo.engine.dispose()

    def groups(labels: dict[str, int]) -> set[frozenset[str]]:
        by_story: dict[int, set[str]] = {}
        for url, story in labels.items():
            by_story.setdefault(story, set()).add(url)
        return {frozenset(urls) for urls in by_story.values()}

    assert groups(stored) == groups(in_memory)
    sizes = sorted(len(g) for g in groups(stored))
    assert min(sizes[-2:]) >= 9 and sizes.count(3) == 3  # reprints and re-titled flashes did join


def test_the_stored_title_lookup_finds_what_the_in_memory_one_finds(any_settings):
    """On 40 real headlines, each with re-titled copies above, around and below the title threshold (prefix,
    suffix, characters dropped here and there, half a headline), stored ten per transaction: for every stored
    flash the stored lookup finds exactly the titles at the threshold that the in-memory index finds."""
    from conftest import shared_fixture

    lines = shared_fixture("thucnews-titles/THUCNews/data/test.txt").read_text(encoding="utf-8").splitlines()
    headlines = [line.rpartition("\t")[0] for line in lines[::200] if len(line.rpartition("\t")[0]) >= 12][:40]
    assert len(headlines) == 40
    rng = random.Random(11)
    stream: list[tuple[str, str]] = []
    for n, headline in enumerate(headlines):
        half = headline[: len(headline) // 2] + "情况通报"
        variants = [headline, "快讯：" + headline, headline + "（记者 王磊 报道）", half]
        for share in (0.1, 0.15, 0.2, 0.25):  # characters dropped here and there: Jaccard around the threshold
            dropped = set(rng.sample(range(len(headline)), round(share * len(headline))))
            variants.append("".join(c for i, c in enumerate(headline) if i not in dropped))
        stream += [(f"https://flash{n}.example.cn/{k}.html", v) for k, v in enumerate(variants)]
    rng.shuffle(stream)
    params = DedupeParams()
    repo = open_repository(any_settings)
    try:
        service = _service(repo, any_settings)
        for start in range(0, len(stream), 10):
            _ingest(repo, service, [record(url, title, title + "。", "x") for url, title in stream[start : start + 10]])
        memory = StoryIndex()
        with repo.engine.connect() as conn:
            docs = [stored_doc(r) for r in conn.execute(select(*DOC_COLUMNS).order_by(articles.c.id))]
            for d in docs:
                memory.add(d, int(d.id))
            stored = StoredStoryLookup(conn, index_version(params), datetime(2000, 1, 1, tzinfo=UTC))
            near = 0
            for d in docs:
                fp = memory.fingerprint(d)
                assert fp.published_at is not None
                n = len(fp.title_keys)
                least = max(1, math.ceil(params.title_threshold * n - 1e-9))

                def reaching(found) -> set[tuple[int, int]]:
                    return {
                        (doc_id, shared)
                        for doc_id, _, shared, width, _ in found
                        if shared / (n + width - shared) >= params.title_threshold
                    }

                window = params.title_window
                expected = reaching(memory.title_candidates(fp.title_keys, fp.published_at, window, least))
                assert reaching(stored.title_candidates(fp.title_keys, fp.published_at, window, least)) == expected
                near += sum(shared < 0.7 * n for _, shared in expected)
        assert near >= 100  # many pairs close to the threshold were checked, not only near-copies
        stories_of = {url: repo.story_of(url)[0] for url, _ in stream}
        assert len(set(stories_of.values())) < len(stream) / 2  # the re-titled copies joined their stories
    finally:
        repo.engine.dispose()


def test_a_large_chunk_of_new_articles_is_stored_in_one_transaction(any_settings):
    """An ingest chunk of 500 long articles claims ~30,000 keys in one transaction: transaction advisory locks
    on them would exhaust PostgreSQL's shared lock table ("out of shared memory" from ~20,000 locks with the
    default max_locks_per_transaction 64 and max_connections 100); row claims do not."""
    rng = random.Random(9)
    alphabet = "数字贸易服务外包跨境电商平台经济人工智能数据要素出口进口政策会议发布增长企业市场国际合作规则标准"
    records = [
        record(f"https://bulk.example.cn/{n}.html", "".join(rng.choices(alphabet, k=24)), body, "x")
        for n, body in enumerate("".join(rng.choices(alphabet, k=400)) for _ in range(500))
    ]
    repo = open_repository(any_settings)
    try:
        stored = _ingest(repo, _service(repo, any_settings), records)
        assert len(stored) == 500 and {layer for *_, layer in stored} == {"new"}
        assert repo.story_index_size() == 500
    finally:
        repo.engine.dispose()
