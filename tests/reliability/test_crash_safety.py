"""The daemon survives ``kill -9`` mid-harvest: nothing lost, nothing duplicated, DB intact."""

from __future__ import annotations

import random
import signal
import sqlite3

import pytest

from procs import db_rows, popen_cli, run_cli, slow_feed_server, wait_until
from yaml_writer import dump

N_FEEDS, N_ITEMS = 30, 20


@pytest.mark.parametrize("command", [["harvest", "--once"], ["run", "--no-web"]], ids=["harvest --once", "run"])
def test_kill_9_during_harvest_loses_and_duplicates_nothing(tmp_path, command):
    rng = random.Random(20240611)
    db = tmp_path / "data" / "news_harvester.db"
    with slow_feed_server(N_FEEDS, N_ITEMS, delay=0.15) as server:
        dump({"sources": [
            {"id": f"s{k}", "name": "测试", "kind": "feed", "url": server.url_for(f"/f{k}.xml"), "schedule": "30m"}
            for k in range(N_FEEDS)
        ]}, tmp_path / "sources.yaml")
        kills = 0
        for _ in range(4):
            proc = popen_cli(tmp_path, *command, NEWS_HARVESTER_START_STAGGER="0")
            started = wait_until(lambda: db.exists() and _running(db) > 0, timeout=30)
            assert started, "harvest never started"
            wait_until(lambda: False, timeout=rng.uniform(0.0, 0.3))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=10)
        assert kills >= 3, "the harvest finished before it could be killed: make the server slower"
        finished = run_cli(tmp_path, "harvest", "--once", timeout=120)
        assert finished.returncode == 0, finished.stdout + finished.stderr

    assert _count(db, "articles") == N_FEEDS * N_ITEMS
    assert db_rows(db, "SELECT count(DISTINCT url) FROM articles") == [(N_FEEDS * N_ITEMS,)]
    # one candidate per story, every article in a story
    assert _count(db, "candidates") == _count(db, "stories") >= 1
    assert db_rows(db, "SELECT count(*) FROM articles WHERE story_id IS NULL") == [(0,)]
    assert db_rows(db, "SELECT count(*) FROM candidates c LEFT JOIN stories s ON s.id=c.story_id "
                       "WHERE s.id IS NULL") == [(0,)]
    assert db_rows(db, "SELECT count(*) FROM candidates c LEFT JOIN articles a ON a.id=c.article_id "
                       "WHERE a.id IS NULL") == [(0,)]
    assert db_rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert db_rows(db, "SELECT count(*) FROM fetch_runs WHERE outcome='running'") == [(0,)]
    assert db_rows(db, "SELECT count(*) FROM fetch_runs WHERE outcome='interrupted'")[0][0] >= 1


def _running(db) -> int:
    try:
        return int(db_rows(db, "SELECT count(*) FROM fetch_runs WHERE outcome='running'")[0][0])
    except sqlite3.OperationalError:
        return 0


def _count(db, table: str) -> int:
    try:
        return int(db_rows(db, f"SELECT count(*) FROM {table}")[0][0])
    except sqlite3.OperationalError:
        return 0
