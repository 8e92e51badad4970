"""Crash safety (issue 8, part 2): ``kill -9`` of the real ``news-harvester`` process at random points of large
harvests, 20 times, on a real SQLite file and (with ``NEWS_HARVESTER_TEST_PG``) on a schema of its own on the real
PostgreSQL server. After every kill the next pass completes; at the end nothing served is lost, nothing is stored
twice, every reprint sits in its original's story with one candidate per story, the editors' decisions made before
the kills are untouched, every source is healthy and SQLite's ``PRAGMA integrity_check`` passes.

The feeds grow by a generation of new stories (plus reprints of older ones, some of them stories editors decided)
before every kill, so each killed process has a large harvest to do; the local server answers slowly while the
process is to be killed and fast for the recovery pass.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from news_harvester.config import Settings, load_sources
from news_harvester.editorial.story_actions import apply_action, edit_text
from news_harvester.models import Outcome
from news_harvester.wiring import harvest_once, open_repository, story_service
from procs import NewsFeeds, TestDatabase, drain, popen_cli, run_cli, wait_until
from yaml_writer import dump

ROOT = Path(__file__).resolve().parents[2]
N_FEEDS = 20
FIRST_ITEMS = 12  # per feed in the first, uninterrupted pass: 240 stories for editors to decide on
ROUND_ITEMS = 4  # new stories per feed before each kill: 80 articles (+ 2 reprints) per killed harvest
KILLS = 20
SLOW = 0.25  # seconds per answer while a process is to be killed: a pass then takes ~2 s
STARTUP_KILLS = (5, 15)  # rounds whose kill is aimed at start-up (imports, migration check, story index rebuild)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDatabase]:
    db = TestDatabase(tmp_path, request.param)
    yield db
    db.close()


@dataclass
class KillRecord:
    round: int
    alive: bool
    mid_run: bool
    runs_finished: int
    articles_by_killed: int


SUCCESS = {"ok", "not_modified"}
"""A run that succeeded: it stored what was new, or found the source's listing as it was when all was stored."""

@dataclass
class Ledger:
    """What the editors did before the kills, to be found unchanged at the end."""

    candidates: list[tuple[object, ...]] = field(default_factory=list)
    editor_topics: list[tuple[object, ...]] = field(default_factory=list)
    audit_rows: int = 0
    edit_rows: int = 0
    decided: list[int] = field(default_factory=list)


CANDIDATE_COLUMNS = (
    "story_id, article_id, state, version, editor_title, editor_summary, section, reject_reason, snoozed_until, "
    "updated_by, state_changed_at"
)


@pytest.mark.slow
def test_kill_9_twenty_times_during_large_harvests(tmp_path: Path, database: TestDatabase) -> None:
    rng = random.Random(20261127)
    started = time.monotonic()
    with NewsFeeds(N_FEEDS, delay=0.0, seed=8) as news:
        dump({"sources": news.sources()}, tmp_path / "sources.yaml")
        settings = _settings(tmp_path, database)

        news.publish(FIRST_ITEMS)
        _complete_pass(tmp_path, database, "first pass")
        ledger = _editors_decide(settings, database)
        _check_store(database, news, ledger)
        story_of = dict(database.rows("SELECT url, story_id FROM articles"))
        decided_groups = sorted({g for url, g in news.groups.items() if story_of[url] in ledger.decided})

        kills: list[KillRecord] = []
        timings: list[tuple[float, float, float]] = []
        for round_no in range(1, KILLS + 1):
            reprints = [rng.choice(decided_groups), rng.choice(news.group_ids[: news.group_ids[-1] // 2])]
            news.publish(ROUND_ITEMS, reprints=reprints)
            t0 = time.monotonic()
            kills.append(_kill_during_harvest(tmp_path, database, news, rng, round_no))
            t1 = time.monotonic()
            _pass_in_process(settings, f"pass after kill {round_no}")
            t2 = time.monotonic()
            _check_store(database, news, ledger)
            timings.append((t1 - t0, t2 - t1, time.monotonic() - t2))

        final = run_cli(tmp_path, "harvest", "--once", "--json", timeout=120, **database.env())
        assert final.returncode == 0, final.stdout + final.stderr
        assert {r["status"] for r in json.loads(final.stdout)} <= SUCCESS  # unchanged feeds: not_modified
        assert sum(r["items_new"] for r in json.loads(final.stdout)) == 0, "a pass after recovery found new items"
        _check_store(database, news, ledger)
        _check_health(tmp_path, database)

    mid_run = [k for k in kills if k.mid_run]
    report = (
        f"{database.kind}: {len(kills)} kills, {len(mid_run)} mid-run, "
        f"{sum(k.articles_by_killed for k in kills)} articles stored by killed processes, "
        f"{database.scalar('SELECT count(*) FROM articles')} articles, "
        f"{database.scalar('SELECT count(*) FROM stories')} stories, "
        f"{database.scalar(_interrupted())} runs recorded as interrupted, "
        f"{time.monotonic() - started:.0f} s (per round: kill {sum(t[0] for t in timings) / KILLS:.1f} s, "
        f"next pass {sum(t[1] for t in timings) / KILLS:.1f} s, checks {sum(t[2] for t in timings) / KILLS:.1f} s)"
    )
    print(report, *kills, sep="\n  ")
    assert all(k.alive for k in kills), f"a process had exited before its kill: {kills}"
    # a kill aimed at start-up lands before the first run; (nearly) every other one must hit a harvest in progress
    assert len(mid_run) >= KILLS - len(STARTUP_KILLS) - 2, f"most kills must land mid-harvest: {report}; {kills}"
    assert sum(1 for k in kills if k.articles_by_killed) >= KILLS // 2, f"kills must land after partial writes: {kills}"
    assert database.scalar(_interrupted()) >= len(mid_run)


@pytest.mark.slow
def test_daemon_killed_mid_harvest_finishes_the_pass_after_restarts(tmp_path: Path, database: TestDatabase) -> None:
    """``run --no-web``: every restart harvests the sources the killed daemon had not finished; the last restart
    completes the pass and stops cleanly on SIGTERM."""
    rng = random.Random(611)
    # a pass long enough (one answer a second, 2 at a time: ~10 s) that a kill soon after the first stored batch
    # lands mid-harvest: the writer stores every run that finished while its process started as one batch
    with NewsFeeds(N_FEEDS, delay=1.0, seed=9) as news:
        dump({"sources": news.sources()}, tmp_path / "sources.yaml")
        news.publish(FIRST_ITEMS)
        kills: list[KillRecord] = []
        for round_no in range(1, 5):
            proc = popen_cli(tmp_path, "run", "--no-web", NEWS_HARVESTER_START_STAGGER="0",
                             NEWS_HARVESTER_PER_HOST_CONCURRENCY="2", NEWS_HARVESTER_LOG_LEVEL="INFO",
                             **database.env())
            output = drain(proc)
            before = database.scalar("SELECT count(*) FROM articles")
            finished_before = database.scalar(_finished(0))
            completed_before = database.scalar(_completed())
            # wait for a run this daemon completed: the runs it marks interrupted at start-up (its predecessor's)
            # count as finished, and waiting for those killed it before its harvest had begun
            assert wait_until(lambda: database.scalar(_completed()) > completed_before, timeout=60), "".join(output)
            time.sleep(rng.uniform(0.0, 0.4))
            alive = proc.poll() is None
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            kills.append(
                KillRecord(
                    round_no,
                    alive,
                    database.scalar("SELECT count(*) FROM fetch_runs WHERE outcome='running'") > 0,
                    database.scalar(_finished(0)) - finished_before,
                    database.scalar("SELECT count(*) FROM articles") - before,
                )
            )
        assert sum(1 for k in kills if k.mid_run) >= 3, f"kills must land mid-harvest (make the server slower): {kills}"

        news.delay = 0.0
        proc = popen_cli(tmp_path, "run", "--no-web", NEWS_HARVESTER_START_STAGGER="0",
                         NEWS_HARVESTER_LOG_LEVEL="INFO", **database.env())
        output = drain(proc)
        try:
            # every source may have finished a run before this start: SIGTERM before its signal handlers exist
            # would kill it rather than stop it
            assert wait_until(lambda: any("daemon started" in line for line in output), 60), "".join(output)
            done = wait_until(lambda: len(database.rows(_sources_done())) == N_FEEDS, timeout=60)
            assert done, f"the daemon did not finish the pass after restart: {''.join(output)}"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0, "".join(output)
        finally:
            if proc.poll() is None:
                proc.kill()
        _check_store(database, news, Ledger())
        _check_health(tmp_path, database)
    assert database.scalar(_interrupted()) >= 3


def test_kill_9_during_the_first_migration_leaves_a_database_the_next_start_migrates(tmp_path: Path) -> None:
    """A fresh SQLite database is created by the first start's migration; a ``kill -9`` in the middle of it must
    leave no half schema ("table … already exists" at every later start): the migration is one transaction.
    (PostgreSQL's DDL is transactional anyway, and its migrations run under an advisory lock.)"""
    rng = random.Random(1127)
    mid_migration = 0
    with NewsFeeds(2, delay=0.0, seed=3) as news:
        dump({"sources": news.sources()}, tmp_path / "sources.yaml")
        news.publish(5)
        # At least 6 starts; more (up to 16) until one kill lands mid-migration: how long the migration takes
        # depends on what else the machine runs (the suite runs on every CPU), so every other kill comes the
        # moment the database file appears, the rest after a random 0-0.3 s.
        for attempt in range(16):
            if attempt >= 6 and mid_migration:
                break
            data = tmp_path / f"data{attempt}"
            db = data / "news_harvester.db"
            proc = popen_cli(tmp_path, "run", "--no-web", NEWS_HARVESTER_DATA_DIR=str(data))
            output = drain(proc)
            assert wait_until(lambda: db.exists() or proc.poll() is not None, timeout=60, interval=0.005), output
            time.sleep(0.0 if attempt % 2 == 0 else rng.uniform(0.0, 0.3))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            tables = {r[0] for r in _sqlite_rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "alembic_version" not in tables:
                mid_migration += 1
                assert tables <= {"sqlite_sequence"}, f"the kill left half a schema: {sorted(tables)}"
            result = run_cli(tmp_path, "harvest", "--once", "--json", NEWS_HARVESTER_DATA_DIR=str(data))
            assert result.returncode == 0, result.stdout + result.stderr
            assert {s["status"] for s in json.loads(result.stdout)} <= SUCCESS
            assert _sqlite_rows(db, "SELECT count(*) FROM articles") == [(10,)]
            assert _sqlite_rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert mid_migration >= 1, "no kill landed before the migration committed: kill earlier"


# --------------------------------------------------------------------------- steps


def _settings(tmp: Path, database: TestDatabase) -> Settings:
    return Settings(
        data_dir=tmp / "data",
        sources=tmp / "sources.yaml",
        topics=ROOT / "config" / "topics.yaml",
        database_url=database.url,
        per_host_delay=0,
        per_host_concurrency=4,
        retry_base_delay=0.05,
    )


def _complete_pass(tmp: Path, database: TestDatabase, what: str) -> None:
    """A restarted ``harvest --once`` completes: exit 0, every source ok."""
    result = run_cli(tmp, "harvest", "--once", "--json", timeout=120, **database.env())
    assert result.returncode == 0, f"{what}: {result.stdout}{result.stderr}"
    summaries = json.loads(result.stdout)
    assert len(summaries) == N_FEEDS
    failed = [s for s in summaries if s["status"] != "ok"]
    assert not failed, f"{what}: {failed}"


def _pass_in_process(settings: Settings, what: str) -> None:
    """The next pass after a kill, in this process: the function ``harvest --once`` runs (a new engine, story
    index rebuilt from the database, runs left 'running' marked interrupted) without a second interpreter start
    per round; the first and last passes go through the real command."""
    summaries = asyncio.run(harvest_once(settings, load_sources(settings.sources)))
    assert len(summaries) == N_FEEDS
    failed = [s for s in summaries if s.outcome not in (Outcome.OK, Outcome.NOT_MODIFIED)]
    assert not failed, f"{what}: {failed}"


def _kill_during_harvest(
    tmp: Path, database: TestDatabase, news: NewsFeeds, rng: random.Random, round_no: int
) -> KillRecord:
    """Start ``harvest --once`` against slow feeds and ``kill -9`` it at a random point: after a random number of
    sources were stored (a random moment of fetching, parsing or a run's write transaction), or in the rounds of
    ``STARTUP_KILLS`` during start-up."""
    news.delay = SLOW
    first_run = database.scalar("SELECT max(id) FROM fetch_runs") + 1
    articles_before = database.scalar("SELECT count(*) FROM articles")
    # one request at a time: runs end one by one, so the writer's batches stay small and a kill aimed after the
    # k-th stored run lands while others are still fetching
    proc = popen_cli(tmp, "harvest", "--once", NEWS_HARVESTER_PER_HOST_CONCURRENCY="1", **database.env())
    output = drain(proc)
    try:
        if round_no in STARTUP_KILLS:
            time.sleep(rng.uniform(0.2, 1.0))
        else:
            target = rng.randrange(N_FEEDS - 4)
            reached = wait_until(
                lambda: (
                    database.scalar(_finished(first_run)) >= target
                    and database.scalar(f"SELECT count(*) FROM fetch_runs WHERE id >= {first_run}") > 0
                ),
                timeout=60,
                interval=0.02,
            )
            assert reached, f"round {round_no}: the harvest never reached {target} sources: {''.join(output)}"
            time.sleep(rng.uniform(0.0, 0.1))
        alive = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        news.delay = 0.0
    return KillRecord(
        round_no,
        alive,
        database.scalar(f"SELECT count(*) FROM fetch_runs WHERE id >= {first_run} AND outcome='running'") > 0,
        database.scalar(_finished(first_run)),
        database.scalar("SELECT count(*) FROM articles") - articles_before,
    )


def _editors_decide(settings: Settings, database: TestDatabase) -> Ledger:
    """Editors decide on some stories through the store API the web app uses (versioned, audited)."""
    repository = open_repository(settings)
    try:
        service = story_service(settings, load_sources(settings.sources), repository, load_index=False)
        now = datetime.now(UTC)
        story_ids = [int(r[0]) for r in database.rows("SELECT id FROM stories ORDER BY id")]
        decided = story_ids[::18][:13]
        plan = [
            "accept",
            "reject",
            "shortlist",
            "snooze",
            "edit",
            "topics",
            "accept",
            "reject",
            "shortlist",
            "edit",
            "snooze",
            "topics",
            "restore",
        ]
        for story_id, what in zip(decided, plan, strict=True):
            version = repository.candidate_state(story_id).version
            if what == "edit":
                edit_text(
                    repository,
                    story_id,
                    title=f"编辑标题{story_id}",
                    summary=f"编辑摘要{story_id}",
                    user="王编辑",
                    expected_version=version,
                    now=now,
                )
            elif what == "topics":
                repository.correct_topics(
                    story_id,
                    add=["ai"],
                    remove=["trade-policy"],
                    user="李编辑",
                    expected_version=version,
                    service=service,
                    now=now,
                )
            elif what == "restore":  # a decision taken back: state new again, with a higher version
                after = apply_action(
                    repository, service, story_id, "reject", user="李编辑", expected_version=version, now=now,
                    reason="重复",
                )
                apply_action(repository, service, story_id, "restore", user="李编辑", expected_version=after.version,
                             now=now)
            else:
                apply_action(
                    repository,
                    service,
                    story_id,
                    what,
                    user="王编辑",
                    expected_version=version,
                    now=now,
                    reason="与本刊主题无关" if what == "reject" else None,
                    section="数据月报" if what == "accept" and story_id % 2 else None,
                    until=now + timedelta(days=30) if what == "snooze" else None,
                )
    finally:
        repository.engine.dispose()
    ledger = _ledger(database)
    ledger.decided = [
        int(r[0])
        for r in database.rows(
            "SELECT DISTINCT s.id FROM stories s JOIN articles a ON a.story_id = s.id "
            f"WHERE s.id IN ({','.join(map(str, decided))}) ORDER BY s.id"
        )
    ]
    assert len(ledger.decided) == len(decided)
    assert ledger.audit_rows == len(decided) + 1  # "restore" was two actions
    assert sum(1 for c in ledger.candidates if c[3] != 1) == len(decided)
    return ledger


def _ledger(database: TestDatabase) -> Ledger:
    return Ledger(
        candidates=database.rows(f"SELECT {CANDIDATE_COLUMNS} FROM candidates WHERE version > 1 ORDER BY story_id"),
        editor_topics=database.rows(
            "SELECT story_id, topic_id, rejected FROM story_topics WHERE origin = 'editor' ORDER BY story_id, topic_id"
        ),
        audit_rows=database.scalar("SELECT count(*) FROM audit_log"),
        edit_rows=database.scalar("SELECT count(*) FROM story_edits"),
    )


def _check_store(database: TestDatabase, news: NewsFeeds, ledger: Ledger) -> None:
    """Nothing lost, nothing duplicated, reprints in their original's story, one candidate per story, editors'
    decisions unchanged, no run left 'running', and on SQLite a database that passes its integrity checks."""
    stored = dict(database.rows("SELECT url, story_id FROM articles"))
    lost = sorted(set(news.groups) - set(stored))
    extra = sorted(set(stored) - set(news.groups))
    assert not lost, f"{len(lost)} served articles were lost, e.g. {lost[:3]}"
    assert not extra, f"{len(extra)} stored articles were never served, e.g. {extra[:3]}"
    assert database.scalar("SELECT count(*) FROM articles") == len(stored) == len(news.groups)
    assert database.scalar("SELECT count(*) FROM articles WHERE story_id IS NULL") == 0

    stories_of_group: dict[int, set[object]] = defaultdict(set)
    groups_of_story: dict[object, set[int]] = defaultdict(set)
    for url, group in news.groups.items():
        stories_of_group[group].add(stored[url])
        groups_of_story[stored[url]].add(group)
    split = {g: s for g, s in stories_of_group.items() if len(s) > 1}
    merged = {s: g for s, g in groups_of_story.items() if len(g) > 1}
    assert not split, f"reprints were stored as separate stories: {list(split.items())[:3]}"
    assert not merged, f"different stories were merged: {list(merged.items())[:3]}"

    n_stories = database.scalar("SELECT count(*) FROM stories")
    assert n_stories == len(groups_of_story), "stories without a member, or duplicated stories"
    assert database.scalar("SELECT count(*) FROM candidates") == n_stories
    assert database.scalar("SELECT count(DISTINCT story_id) FROM candidates") == n_stories
    assert (
        database.scalar(
            "SELECT count(*) FROM stories s JOIN articles a ON a.id = s.canonical_article_id AND a.story_id = s.id"
        )
        == n_stories
    ), "a story's canonical article is not one of its members"
    assert database.scalar("SELECT count(*) FROM fetch_runs WHERE outcome = 'running'") == 0

    now = _ledger(database)
    assert now.candidates == ledger.candidates, "editors' decisions changed"
    assert now.editor_topics == ledger.editor_topics, "editors' topic corrections changed"
    assert (now.audit_rows, now.edit_rows) == (ledger.audit_rows, ledger.edit_rows)

    if database.kind == "sqlite":
        assert database.rows("PRAGMA integrity_check") == [("ok",)]
        assert database.rows("PRAGMA foreign_key_check") == []
        # the FTS5 search index agrees with the articles table (rows written by the same transactions)
        database.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)")


def _check_health(tmp: Path, database: TestDatabase) -> None:
    """A kill is not the source's fault: every source ends healthy, with no error and no failure counted."""
    result = run_cli(tmp, "sources", "list", "--json", **database.env())
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert len(report) == N_FEEDS
    unhealthy = [
        r for r in report if (r["health"], r["consecutive_failures"], r["last_error_code"]) != ("healthy", 0, None)
    ]
    assert not unhealthy, unhealthy


def _sqlite_rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchall()


def _finished(first_run: int) -> str:
    return f"SELECT count(*) FROM fetch_runs WHERE id >= {first_run} AND outcome <> 'running'"


def _completed() -> str:
    """Runs that ran to their end (neither running nor marked interrupted by a later start)."""
    return "SELECT count(*) FROM fetch_runs WHERE outcome NOT IN ('running', 'interrupted')"


def _interrupted() -> str:
    return "SELECT count(*) FROM fetch_runs WHERE outcome = 'interrupted' AND code = 'run.interrupted'"


def _sources_done() -> str:
    return "SELECT DISTINCT source_id FROM fetch_runs WHERE outcome IN ('ok', 'not_modified')"
