"""Concurrency (issue 8, part 3): harvest passes write while 10 editors act on the queue.

The real daemon (``news-harvester run``) serves the review app on 127.0.0.1; ``harvest --once`` passes run beside it
as separate processes over the same database (a real SQLite file, or with ``NEWS_HARVESTER_TEST_PG`` a schema of its
own on the real PostgreSQL server), each harvesting a new generation of stories from a local feed server, with
reprints of the very stories the editors are working on. Ten editors (threads, each signed in with its own session)
read the queue and shortlist, accept, reject, snooze, restore, edit titles and summaries and correct topics over the
JSON API, always with the version they saw, concentrated on a few stories so that they collide.

Afterwards: no answer was a 5xx, nothing said "database is locked", every action that was answered with success is
in the database and in the audit log (each story's final state is its last successful action's answer and its
version counts exactly the successes), every 409 names a version another editor's success had consumed, every
accepted story is in the draft issue, every harvest pass completed and stored everything served.
"""

from __future__ import annotations

import json
import random
import signal
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from news_harvester.config import Settings
from news_harvester.web.auth import hash_password
from news_harvester.wiring import open_repository
from procs import NewsFeeds, TestDatabase, drain, popen_cli, run_cli, wait_until
from yaml_writer import dump

ROOT = Path(__file__).resolve().parents[2]
N_EDITORS = 10
N_FEEDS = 8
FIRST_ITEMS = 20  # 160 stories before the editors start
PASSES = 4  # harvest passes while the editors work, each 8 × 8 new stories + reprints of hot stories
PASS_ITEMS = 8
HOT = 16  # the stories every editor works on: collisions are the point
MIN_ACTIONS = 25  # per editor, even if the harvest passes are quick
PASSWORD = "correct horse battery"
APPLIED_ACTIONS = ("shortlist", "accept", "reject", "snooze", "restore", "edit", "topics")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDatabase]:
    db = TestDatabase(tmp_path, request.param)
    yield db
    db.close()


@dataclass
class Attempt:
    editor: str
    story_id: int
    action: str
    version: int
    status: int
    answer: dict[str, Any]
    payload: dict[str, Any]


@dataclass
class Pass:
    returncode: int
    summaries: list[dict[str, Any]]
    output: str


def test_harvest_passes_while_ten_editors_act(tmp_path: Path, database: TestDatabase) -> None:
    started = time.monotonic()
    with NewsFeeds(N_FEEDS, delay=0.02, seed=5) as news:
        dump({"sources": news.sources()}, tmp_path / "sources.yaml")
        news.publish(FIRST_ITEMS)
        first = run_cli(tmp_path, "harvest", "--once", "--json", **database.env())
        assert first.returncode == 0, first.stdout + first.stderr
        _add_editors(tmp_path, database)
        hot = [int(r[0]) for r in database.rows(f"SELECT id FROM stories ORDER BY id LIMIT {HOT}")]
        story_of = dict(database.rows("SELECT url, story_id FROM articles"))
        hot_groups = sorted({g for url, g in news.groups.items() if story_of[url] in hot})
        initial_versions = dict(database.rows(f"SELECT story_id, version FROM candidates WHERE story_id IN {_in(hot)}"))

        port = _free_port()
        daemon = popen_cli(
            tmp_path,
            "run",
            "--bind",
            f"127.0.0.1:{port}",
            NEWS_HARVESTER_START_STAGGER="0",
            NEWS_HARVESTER_LOG_LEVEL="WARNING",
            **database.env(),
        )
        daemon_output = drain(daemon)
        base = f"http://127.0.0.1:{port}"
        try:
            assert wait_until(lambda: _answers(base + "/healthz"), timeout=60), "".join(daemon_output)
            stop = threading.Event()
            passes: list[Pass] = []
            attempts: list[Attempt] = []
            reads: list[tuple[str, int, str]] = []
            errors: list[str] = []

            def harvest_passes() -> None:
                rng = random.Random(3)
                try:
                    for _ in range(PASSES):
                        news.publish(PASS_ITEMS, reprints=rng.sample(hot_groups, 4))
                        result = run_cli(tmp_path, "harvest", "--once", "--json", timeout=180, **database.env())
                        passes.append(
                            Pass(result.returncode, json.loads(result.stdout or "[]"), result.stdout + result.stderr)
                        )
                except Exception as exc:  # reported below, the editors must stop either way
                    errors.append(f"harvest thread: {exc!r}")
                finally:
                    stop.set()

            editors = [
                threading.Thread(target=_editor, args=(base, k, hot, stop, attempts, reads, errors), daemon=True)
                for k in range(N_EDITORS)
            ]
            harvester = threading.Thread(target=harvest_passes, daemon=True)
            for t in [*editors, harvester]:
                t.start()
            for t in [harvester, *editors]:
                t.join(timeout=300)
                assert not t.is_alive(), "a thread hung"
            busy = time.monotonic() - started

            with closing(_client(base, "editor0")) as client:
                final = {sid: client.get(f"/api/stories/{sid}").json()["candidate"] for sid in hot}
                health = client.get("/api/sources").json()
                ready = client.get("/readyz")
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=20) == 0, "".join(daemon_output)
        finally:
            if daemon.poll() is None:
                daemon.kill()

        # --- nothing surfaced to users
        assert not errors, errors
        log = "".join(daemon_output)
        assert "locked" not in log.lower() and "Traceback" not in log, log[-3000:]
        failed_reads = [r for r in reads if r[1] != 200]
        assert not failed_reads, failed_reads[:5]
        unexpected = [a for a in attempts if a.status not in (200, 409)]
        assert not unexpected, [(a.action, a.status, a.answer) for a in unexpected[:5]]
        assert not [a for a in attempts if "locked" in json.dumps(a.answer, ensure_ascii=False).lower()]

        # --- every success is in the database and the audit log; every conflict is a real one
        ok = [a for a in attempts if a.status == 200]
        conflicts = [a for a in attempts if a.status == 409]
        by_story: dict[int, list[Attempt]] = defaultdict(list)
        for a in ok:
            by_story[a.story_id].append(a)
        for sid in hot:
            wins = sorted(by_story[sid], key=lambda a: a.version)
            versions = [a.version for a in wins]
            assert len(set(versions)) == len(versions), f"story {sid}: two successes from one version (lost update)"
            assert final[sid]["version"] == initial_versions[sid] + len(wins), f"story {sid}: version vs successes"
            if wins:
                last = wins[-1]
                assert last.answer["version"] == final[sid]["version"]
                expected = {k: v for k, v in last.answer.items() if k != "note"}
                assert final[sid] == expected, f"story {sid}: the last success is not what is stored"
        consumed = {(a.story_id, a.version) for a in ok}
        for a in conflicts:
            assert a.answer.get("code") == "storage.conflict" and "请刷新后重试" in a.answer.get("error", ""), a.answer
            assert (a.story_id, a.version) in consumed, f"409 for a version nobody had changed: {a}"
        audit = Counter(
            (int(sid), user, action)
            for sid, user, action in database.rows(
                f"SELECT story_id, user_name, action FROM audit_log WHERE story_id IN {_in(hot)}"
            )
            if action in APPLIED_ACTIONS
        )
        assert audit == Counter((a.story_id, a.editor, a.action) for a in ok), "audit log and successes differ"

        # --- accepted stories are in the draft issue (the accept's own promise)
        accepted = sorted(sid for sid in hot if final[sid]["state"] == "accepted")
        in_draft = {
            int(r[0])
            for r in database.rows(
                "SELECT i.story_id FROM issue_items i JOIN issues s ON s.id = i.issue_id "
                "WHERE s.status = 'draft' AND i.story_id IS NOT NULL"
            )
        }
        assert database.scalar("SELECT count(*) FROM issues WHERE status = 'draft'") == 1
        assert not [sid for sid in accepted if sid not in in_draft], "accepted stories missing from the draft"

        # --- every harvest pass completed and stored everything served, reprints in their stories
        assert len(passes) == PASSES
        for p in passes:
            assert p.returncode == 0, p.output
            assert {s["status"] for s in p.summaries} <= {"ok", "not_modified"}, p.output
        stored = dict(database.rows("SELECT url, story_id FROM articles"))
        assert set(stored) == set(news.groups)
        stories_of_group: dict[int, set[object]] = defaultdict(set)
        for url, group in news.groups.items():
            stories_of_group[group].add(stored[url])
        assert all(len(s) == 1 for s in stories_of_group.values()), "a reprint did not join its story"
        assert database.scalar("SELECT count(*) FROM candidates") == database.scalar("SELECT count(*) FROM stories")
        assert ready.status_code == 200, ready.text
        assert {h["health"] for h in health} == {"healthy"}, health
        if database.kind == "sqlite":
            assert database.rows("PRAGMA integrity_check") == [("ok",)]

    print(
        f"{database.kind}: {len(attempts)} editor actions ({len(ok)} applied, {len(conflicts)} conflicts answered 409, "
        f"by kind {dict(Counter(a.action for a in ok))}), {len(reads)} reads, {len(passes)} harvest passes "
        f"({sum(s['items_new'] for p in passes for s in p.summaries)} new articles) in {busy:.0f} s, "
        f"{len(accepted)} accepted stories in the draft"
    )
    assert len(ok) >= N_EDITORS * 5 and len(conflicts) >= 5, "the editors must act and collide"


# --------------------------------------------------------------------------- editors


def _editor(
    base: str,
    k: int,
    hot: list[int],
    stop: threading.Event,
    attempts: list[Attempt],
    reads: list[tuple[str, int, str]],
    errors: list[str],
) -> None:
    """One editor: read the queue, pick a hot story with the version seen there (or on its page), act on it."""
    name = f"editor{k}"
    rng = random.Random(100 + k)
    try:
        with closing(_client(base, name)) as client:
            done = 0
            while not stop.is_set() or done < MIN_ACTIONS:
                queue = client.get(
                    "/api/queue",
                    params={"state": ["new", "shortlisted", "accepted", "rejected", "snoozed"], "per_page": 200},
                )
                reads.append((name, queue.status_code, "queue"))
                if queue.status_code != 200:
                    continue
                story_id = rng.choice(hot)
                seen = {i["id"]: i["version"] for i in queue.json()["items"]}
                if story_id not in seen or rng.random() < 0.3:
                    page = client.get(f"/api/stories/{story_id}")
                    reads.append((name, page.status_code, "story"))
                    if page.status_code != 200:
                        continue
                    seen[story_id] = page.json()["candidate"]["version"]
                time.sleep(rng.uniform(0, 0.05))  # an editor reads before acting
                attempts.append(_act(client, name, story_id, seen[story_id], rng))
                done += 1
    except Exception as exc:
        errors.append(f"{name}: {exc!r}")


def _act(client: httpx.Client, name: str, story_id: int, version: int, rng: random.Random) -> Attempt:
    action = rng.choice(["shortlist", "accept", "accept", "reject", "snooze", "restore", "edit", "edit", "topics"])
    payload: dict[str, Any] = {"version": version}
    if action == "edit":
        payload |= {"title": f"{name} 改的标题 {rng.randrange(10**6)}", "summary": f"{name} 的备注：核实来源后再用"}
        response = client.patch(f"/api/stories/{story_id}", json=payload)
    elif action == "topics":
        topic = rng.choice(["ai", "digital-trade", "cross-border-ecommerce"])
        payload |= {"add": [topic], "remove": []}
        response = client.post(f"/api/stories/{story_id}/topics", json=payload)
    else:
        payload["action"] = action
        if action == "accept":
            payload["section"] = rng.choice(["行业资讯", "数据月报"])
        elif action == "reject":
            payload["reason"] = f"{name}：与本刊主题无关"
        elif action == "snooze":
            payload["until"] = (date.today() + timedelta(days=rng.randint(2, 20))).isoformat()
        response = client.post(f"/api/stories/{story_id}/actions", json=payload)
    try:
        answer = response.json()
    except ValueError:
        answer = {"text": response.text[:500]}
    return Attempt(name, story_id, action, version, response.status_code, answer, payload)


def _client(base: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    response = client.post("/login", json={"name": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


# --------------------------------------------------------------------------- set-up


def _add_editors(tmp: Path, database: TestDatabase) -> None:
    settings = Settings(
        data_dir=tmp / "data",
        sources=tmp / "sources.yaml",
        topics=ROOT / "config" / "topics.yaml",
        database_url=database.url,
    )
    repository = open_repository(settings)
    try:
        password_hash = hash_password(PASSWORD)
        for k in range(N_EDITORS):
            repository.add_user(f"editor{k}", password_hash, "editor", datetime.now(UTC))
    finally:
        repository.engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _in(ids: list[int]) -> str:
    return "(" + ",".join(str(i) for i in ids) + ")"
