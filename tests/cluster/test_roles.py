"""Bad input around the cluster roles: refused combinations, a database that is not there (yet), migrations from
several instances at once, a job whose source was deleted, and two reprints harvested at the same moment by two
workers (one story)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import FeedServer, Role, enqueue, enqueue_housekeeping, query, role_env, wait_for, write_sources


def run_cli(tmp_path, *args, **env):
    return subprocess.run(
        [sys.executable, "-m", "news_harvester", *args],
        env=role_env(tmp_path, env.pop("database_url", ""), **env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def sources_file(tmp_path):
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - {id: a, name: A, kind: feed, url: 'http://127.0.0.1:9/a.xml'}\n", encoding="utf-8"
    )
    return tmp_path / "sources.yaml"


@pytest.mark.parametrize(
    ("args", "database_url", "expected"),
    [
        (["--role", "worker"], "", "needs PostgreSQL"),
        (["--role", "scheduler"], "", "needs PostgreSQL"),
        (["--role", "web"], "", "needs PostgreSQL"),
        (["--role", "worker", "--no-web"], "postgresql://postgres@127.0.0.1:1/x", "--no-web belongs to --role all"),
        (["--role", "web", "--web-only"], "postgresql://postgres@127.0.0.1:1/x", "--web-only belongs to --role all"),
        (["--role", "scheduler", "--bind", "127.0.0.1:0"], "postgresql://postgres@127.0.0.1:1/x", "--bind applies"),
        (["--role", "leader"], "", "Invalid value for '--role'"),
    ],
)
def test_misconfigured_roles_refuse_to_start(tmp_path, sources_file, args, database_url, expected):
    started = time.monotonic()
    result = run_cli(tmp_path, "run", *args, database_url=database_url)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert time.monotonic() - started < 30  # refused at once, nothing waited for a database
    if "PostgreSQL" in expected:
        assert "hint:" in result.stderr


def test_role_from_the_environment_is_checked_too(tmp_path, sources_file):
    result = run_cli(tmp_path, "run", NEWS_HARVESTER_ROLE="worker")
    assert result.returncode == 2 and "needs PostgreSQL" in result.stderr


def test_worker_without_database_retries_with_backoff_and_says_so(tmp_path, sources_file):
    worker = Role(tmp_path, "postgresql://postgres@127.0.0.1:1/nothing", "worker", "worker")
    try:
        text = wait_for(
            lambda: worker.output() if worker.output().count("cannot reach the database") >= 3 else None,
            timeout=30,
            what="three failed attempts",
        )
        assert worker.proc.poll() is None  # still trying, not dead
        lines = [line for line in text.splitlines() if "cannot reach the database" in line]
        delays = [line.rsplit("retrying in ", 1)[1] for line in lines]
        assert delays[:3] == ["1 s", "2 s", "4 s"]
        assert "127.0.0.1" in text and "port 1" in text  # says what it cannot reach
    finally:
        assert worker.stop(timeout=10) == 0  # SIGTERM while waiting: a clean stop


VERSIONS = Path(__file__).resolve().parents[2] / "src" / "news_harvester" / "migrations" / "versions"
MIGRATE = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
from news_harvester.cluster.schema import apply_cluster_schema
from news_harvester.store.engine import make_engine, upgrade
engine = make_engine(sys.argv[1])
upgrade(engine, also=apply_cluster_schema)
print("migrated")
"""


@pytest.mark.postgres
def test_concurrent_migrations_run_once(tmp_path, cluster_db):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE, cluster_db], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err[-2000:] for _out, err in results]
    migrations = sorted(p.stem.split("_")[0] for p in VERSIONS.glob("0*.py"))
    applied = [err.count("Running upgrade") for _out, err in results]
    # one process ran every migration, the others found them done
    assert sorted(applied) == [0, 0, 0, len(migrations)]
    assert query(cluster_db, "SELECT version_num FROM alembic_version") == [{"version_num": migrations[-1]}]
    assert query(cluster_db, "SELECT count(*) AS n FROM nh_cluster.procrastinate_jobs") == [{"n": 0}]


@pytest.mark.postgres
def test_deleted_source_is_dropped_and_reprints_on_two_workers_make_one_story(tmp_path, cluster_db):
    body = (
        "6月11日，商务部等九部门联合印发《关于推进数字贸易高质量发展的若干措施》，提出到2027年数字贸易规模"
        "显著扩大，培育一批具有国际竞争力的数字贸易企业，完善跨境数据流动规则，支持跨境电商海外仓建设。"
    )
    with FeedServer() as server:
        server.bodies = {"r1": ("九部门印发数字贸易若干措施", body), "r2": ("数字贸易若干措施印发", body)}
        server.delays = {"r1": 1.5, "r2": 1.5}
        write_sources(tmp_path / "sources.yaml", server, ["r1", "r2", "gone"], "1h")
        workers = [
            Role(tmp_path, cluster_db, "worker", f"worker{k}", NEWS_HARVESTER_WORKER_CONCURRENCY="1") for k in range(2)
        ]
        try:
            wait_for(lambda: all("started:" in w.output() for w in workers), timeout=90, what="two workers")
            # the source is removed from sources.yaml after its job was queued
            write_sources(tmp_path / "sources.yaml", server, ["r1", "r2"], "1h")
            assert enqueue(cluster_db, "gone") is not None
            wait_for(
                lambda: "job" in (o := "".join(w.output() for w in workers)) and "gone dropped" in o,
                timeout=30,
                what="the dropped job's log line",
            )
            # two reprints, fetched at the same moment (each answer takes 1.5 s) by the two workers
            enqueue(cluster_db, "r1")
            enqueue(cluster_db, "r2")
            wait_for(
                lambda: len(query(cluster_db, "SELECT 1 FROM fetch_runs WHERE outcome = 'ok'")) == 2,
                timeout=60,
                what="both reprints stored",
            )
            # the cluster-wide housekeeping jobs a scheduler queues run on a worker too
            for name in ("__rescore__", "__alarms__", "__prune__"):
                assert enqueue_housekeeping(cluster_db, name) is not None
            wait_for(
                lambda: len(
                    query(
                        cluster_db,
                        "SELECT 1 FROM nh_cluster.harvest_periods WHERE source_id LIKE '\\_\\_%%' AND status = 'done'",
                    )
                )
                == 3,
                timeout=60,
                what="three housekeeping jobs",
            )
        finally:
            codes = [w.stop() for w in workers]
    assert codes == [0, 0]  # SIGTERM: a clean stop
    jobs = query(cluster_db, "SELECT args, status FROM nh_cluster.procrastinate_jobs ORDER BY id")
    assert [(j["args"].get("source_id") or j["args"]["name"], j["status"]) for j in jobs] == [
        ("gone", "succeeded"),
        ("r1", "succeeded"),
        ("r2", "succeeded"),
        ("__rescore__", "succeeded"),
        ("__alarms__", "succeeded"),
        ("__prune__", "succeeded"),
    ]
    output = "".join(w.output() for w in workers)
    assert "re-scored" in output and "pruned finished jobs" in output
    assert "Traceback" not in output
    runs = query(cluster_db, "SELECT source_id, started_at, finished_at FROM fetch_runs ORDER BY source_id")
    assert [r["source_id"] for r in runs] == ["r1", "r2"]  # nothing was run for the deleted source
    assert runs[0]["started_at"] < runs[1]["finished_at"] and runs[1]["started_at"] < runs[0]["finished_at"]
    assert server.hits["gone"] == 0
    articles = query(cluster_db, "SELECT source_id, story_id FROM articles ORDER BY source_id")
    assert [a["source_id"] for a in articles] == ["r1", "r2"]
    assert articles[0]["story_id"] == articles[1]["story_id"]  # one story across two workers
    assert query(cluster_db, "SELECT count(*) AS n FROM stories") == [{"n": 1}]
    assert query(cluster_db, "SELECT count(*) AS n FROM candidates") == [{"n": 1}]
