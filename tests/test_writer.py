"""The harvest's batched writer (news_harvester.harvest.writer) on a real SQLite file and, when
NEWS_HARVESTER_TEST_PG is set, the real PostgreSQL server: runs that finish together share one transaction, each
keeps its own record and count, a reprint joins a story stored in the same batch, and one bad run costs only
itself."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from news_harvester.harvest.writer import RunWriter
from news_harvester.models import Article, Outcome, RunSummary
from news_harvester.parse.clean import content_hash
from news_harvester.store.repository import RunResult
from news_harvester.stories.assign import StoryService
from test_stories import ORIGINAL_BODY, OTHER_BODY

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def _article(source: str, n: int, body: str, *, title: str | None = None, published: datetime | None = None) -> Article:
    return Article(url=f"http://127.0.0.1/{source}/{n}.html", source_id=source, title=title or f"{source} 第{n}条",
                   published_at=published or NOW - timedelta(hours=1), fetched_at=NOW, author=None,
                   attribution=source, summary=None, body_text=body, content_hash=content_hash(body), language="zh")


def _result(source: str, articles: list[Article]) -> RunResult:
    return RunResult(summary=RunSummary(source, Outcome.OK, items_seen=len(articles)), finished_at=NOW,
                     articles=articles)


def _distinct_body(source: str, n: int) -> str:
    return f"{source}第{n}号：" + OTHER_BODY[(n * 7) % 40:] + f"（{source}-{n}）" * 3


def _runs(repository, sql: str) -> list[tuple]:
    with repository.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_runs_finishing_together_share_a_transaction_and_keep_their_own_records(any_repository):
    sources = [f"s{k}" for k in range(12)]

    async def go():
        writer = RunWriter(any_repository, StoryService(window=timedelta(days=90)))
        tickets = {s: writer.begin(s, NOW) for s in sources}
        stored = await asyncio.gather(*(
            writer.finish(tickets[s], _result(s, [_article(s, n, _distinct_body(s, n)) for n in range(k + 1)]))
            for k, s in enumerate(sources)
        ))  # fmt: skip
        await writer.drain()
        return stored, writer.batches

    stored, batches = asyncio.run(go())
    assert stored == [k + 1 for k in range(len(sources))]
    assert batches < len(sources), "runs that finished together were written one transaction each"
    rows = _runs(any_repository, "SELECT source_id, outcome, items_new FROM fetch_runs ORDER BY id")
    assert sorted(rows) == sorted((s, "ok", k + 1) for k, s in enumerate(sources))
    assert any_repository.counts()["articles"] == sum(range(1, len(sources) + 1))
    assert all(any_repository.source_state(s).last_success_at == NOW for s in sources)


def test_a_reprint_in_the_same_batch_joins_the_story_and_a_shared_url_is_new_once(any_repository):
    original = _article("mofcom", 1, ORIGINAL_BODY, title="九部门印发关于推动数字贸易高质量发展的若干措施")
    reprint = _article("xinhua", 1, "新华社北京6月11日电 " + ORIGINAL_BODY,
                       title="九部门联合印发推动数字贸易高质量发展的若干措施")
    shared = _article("mofcom", 2, OTHER_BODY)

    async def go():
        writer = RunWriter(any_repository, StoryService(window=timedelta(days=90)))
        first, second = writer.begin("mofcom", NOW), writer.begin("xinhua", NOW)
        again = replace(shared, source_id="xinhua")  # both sources list one URL
        return await asyncio.gather(writer.finish(first, _result("mofcom", [original, shared])),
                                    writer.finish(second, _result("xinhua", [reprint, again])))

    assert asyncio.run(go()) == [2, 1]
    stories = {a.url: any_repository.story_of(a.url)[0] for a in any_repository.list_articles()}
    assert len(stories) == 3
    assert stories[original.url] == stories[reprint.url] != stories[shared.url]


def test_one_bad_run_costs_only_itself(any_repository):
    """A run whose articles cannot be stored (a naive datetime, as a buggy parser might produce) fails alone and
    is recorded as failed with the reason; the other runs of its batch are stored."""
    bad = _article("bad", 1, _distinct_body("bad", 1), published=datetime(2024, 6, 11, 10, 30))

    async def go():
        writer = RunWriter(any_repository, StoryService(window=timedelta(days=90)))
        tickets = [writer.begin(s, NOW) for s in ("a", "bad", "b")]
        return await asyncio.gather(
            writer.finish(tickets[0], _result("a", [_article("a", 1, _distinct_body("a", 1))])),
            writer.finish(tickets[1], _result("bad", [bad])),
            writer.finish(tickets[2], _result("b", [_article("b", 1, _distinct_body("b", 1))])),
            return_exceptions=True,
        )

    first, failed, last = asyncio.run(go())
    assert (first, last) == (1, 1)
    assert isinstance(failed, Exception) and "naive datetime" in str(failed)
    assert sorted(a.source_id for a in any_repository.list_articles()) == ["a", "b"]
    [(outcome, code, message)] = _runs(any_repository, "SELECT outcome, code, message FROM fetch_runs "
                                                       "WHERE source_id = 'bad'")
    assert (outcome, code) == ("error", "storage.error") and "naive datetime" in message
    assert any_repository.source_state("bad").consecutive_failures == 1


def test_a_run_only_begun_is_on_record_after_a_drain(any_repository):
    """A stop drains the writer: a run that started (and was then killed with the process) left its trace."""

    async def go():
        writer = RunWriter(any_repository, StoryService(window=timedelta(days=90)))
        writer.begin("slow", NOW)
        await writer.drain()

    asyncio.run(go())
    assert _runs(any_repository, "SELECT source_id, outcome FROM fetch_runs") == [("slow", "running")]


def test_a_batch_that_is_already_full_is_written_without_waiting_for_more(any_repository):
    """The writer waits a moment (``linger``) for more runs only while the pending ones do not fill a batch: under
    load every batch is full and the wait only idled the busier process. Shown with a linger far longer than the
    test may take: a full batch (here more articles than ``max_articles``) is stored long before it, a batch that
    is not full waits for it."""

    async def go():
        writer = RunWriter(any_repository, StoryService(window=timedelta(days=90)), max_articles=5, linger=60.0)
        full = writer.begin("full", NOW)
        six = [_article("full", n, _distinct_body("full", n)) for n in range(6)]
        stored = writer.finish(full, _result("full", six))
        assert await asyncio.wait_for(stored, timeout=30) == 6
        writer.finish(writer.begin("one", NOW), _result("one", [_article("one", 0, _distinct_body("one", 0))]))
        await asyncio.sleep(1.0)
        waiting = _runs(any_repository, "SELECT source_id FROM fetch_runs WHERE source_id = 'one'")
        assert writer._task is not None
        writer._task.cancel()  # rather than drain it: its wait has a minute to go
        return waiting

    assert asyncio.run(go()) == []  # the batch that was not full was still waiting for more runs


def test_the_daemon_stores_in_a_writer_process_that_dies_with_it(tmp_path, httpserver):
    """``run``: runs are stored by a child process (a core of its own); a SIGKILL of the daemon takes it along
    (it sees its pipe close) and a restarted daemon harvests on."""
    import signal

    import psutil

    import feeds
    from procs import db_rows, drain, popen_cli, wait_until
    from yaml_writer import dump

    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/feed.xml").respond_with_data(feeds.rss(feeds.items(base, 3)),
                                                             content_type="application/rss+xml")
    dump({"sources": [{"id": "one", "name": "商务部网站", "kind": "feed", "url": f"{base}/feed.xml",
                       "schedule": "1h"}]}, tmp_path / "sources.yaml")
    db = tmp_path / "data" / "news_harvester.db"
    proc = popen_cli(tmp_path, "run", "--no-web", NEWS_HARVESTER_START_STAGGER="0")
    output = drain(proc)
    try:
        def one_ok_run() -> bool:
            try:
                return db_rows(db, "SELECT count(*) FROM fetch_runs WHERE outcome='ok'") == [(1,)]
            except Exception:  # not created or migrated yet
                return False

        assert wait_until(one_ok_run, 30), "".join(output)
        children = psutil.Process(proc.pid).children()  # the writer (and multiprocessing's resource tracker)
        assert any("spawn_main" in " ".join(c.cmdline()) and "resource_tracker" not in " ".join(c.cmdline())
                   for c in children), [c.cmdline() for c in children]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        _gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"outlived their daemon: {[c.cmdline() for c in alive]}"
    finally:
        if proc.poll() is None:
            proc.kill()
    assert db_rows(db, "SELECT count(*) FROM articles") == [(3,)]


def test_fingerprints_made_where_the_articles_were_read_are_used_when_their_version_is_the_stores(any_repository):
    """The harvest hands the writer each article's fingerprint (RunResult.fingerprints) so the writer, the busier
    process, does not make them again. Shown by handing a fingerprint that is not the article's own: with the
    store's parameter version it decides the story (the article joins the story its fingerprint matches); with
    another version it is ignored and the store fingerprints the article itself."""
    from news_harvester.store.repository import RunWrite
    from news_harvester.store.runs_store import Fingerprints
    from news_harvester.story_records import article_doc

    service = StoryService(window=timedelta(days=90))
    original = _article("official", 1, ORIGINAL_BODY)
    unrelated = [_article("other", 1, OTHER_BODY), _article("other", 2, OTHER_BODY[::-1] + "（另一篇）")]
    looks_like_original = service.fingerprint(article_doc(original))

    def store(article: Article, version: int) -> None:
        given = Fingerprints(version, {article.url: replace(looks_like_original, url=article.url)})
        result = replace(_result(article.source_id, [article]), fingerprints=given)
        batch = service.begin(NOW)
        any_repository.write_runs([RunWrite(article.source_id, NOW, result=result)], stories=batch)
        service.commit(batch, NOW)

    store(original, service.version)
    store(unrelated[0], service.version)
    store(unrelated[1], service.version + 1)
    story = dict(_runs(any_repository, "SELECT url, story_id FROM articles"))
    assert story[unrelated[0].url] == story[original.url]  # the handed fingerprint decided
    assert story[unrelated[1].url] != story[original.url]  # another version: the store's own fingerprint decided
