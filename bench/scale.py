"""Scale-out benchmark: articles/s stored by 1, 2 and 4 ``news-harvester run --role worker`` processes sharing one
PostgreSQL database, against a local feed server with latency (bench/harvest.py's server and feeds).

Run:  NEWS_HARVESTER_TEST_PG=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/scale.py
      .venv/bin/python bench/scale.py --database-url postgresql://… --sources 200 --items 10 --latency 0.05

For each worker count: a fresh database ``nh_cluster_bench_*`` (dropped afterwards), the workers started and
registered, then one harvest job per source queued at once (as a scheduler tick would) and timed until the
queue is empty. Every item is a distinct story, so each article goes the whole way (clean, dedupe under the
key locks of the stored story index, classify, rank, store). Reported: wall time, articles/s, speed-up over one
worker, CPU seconds of the workers and of PostgreSQL's server processes, and how busy the machine's CPUs were,
which says where scaling stops. Politeness is set out of the way (``per_host_concurrency=16``, no per-host
delay): with the shipped defaults the per-host limits, which apply per worker process, set the pace (see the
README's sizing).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import psycopg

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import harvest as harvest_bench  # noqa: E402  (bench/harvest.py: feed server and feeds)


def _conninfo(admin: str, dbname: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(admin)
    user = params.get("user", "postgres")
    auth = f"{user}:{params['password']}@" if params.get("password") else f"{user}@"
    return f"postgresql://{auth}{params.get('host', '127.0.0.1')}:{params.get('port', '5432')}/{dbname}"


def _postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL server process on this machine (the server is local)."""
    total = 0.0
    for proc in psutil.process_iter(["name", "cpu_times"]):
        if proc.info["name"] and proc.info["name"].startswith("postgres") and proc.info["cpu_times"]:
            total += proc.info["cpu_times"].user + proc.info["cpu_times"].system
    return total


def _wait_drained(conn: Any, poll: float) -> None:
    """Until no harvest job waits or runs."""
    while True:
        left = conn.execute(
            "SELECT count(*) FROM nh_cluster.procrastinate_jobs WHERE status IN ('todo', 'doing')"
        ).fetchone()
        if left is not None and left[0] == 0:
            return
        time.sleep(poll)


def _enqueue_all(url: str, source_ids: list[str]) -> None:
    from news_harvester.clock import utc_now
    from news_harvester.cluster.queue import Enqueuer, make_app
    from news_harvester.config import load_settings

    settings = load_settings(overrides={"database_url": url}, environ={})

    async def go() -> None:
        app = make_app(settings, pool_size=2)
        await app.open_async()
        try:
            enqueuer = Enqueuer(app, "bench")
            for source_id in source_ids:
                await enqueuer.harvest(source_id, None, utc_now())
        finally:
            await app.close_async()

    asyncio.run(go())


def run_once(args: argparse.Namespace, port: int, workers: int) -> dict[str, Any]:
    name = f"nh_cluster_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _conninfo(args.admin, name)
    tmp = Path(tempfile.mkdtemp(prefix="nh-scale-"))
    ids = [f"f{k:05d}" for k in range(args.sources)]
    lines = ["sources:"] + [
        f"  - {{id: {sid}, name: 基准{k}, kind: feed, url: 'http://127.0.0.1:{port}{harvest_bench.feed_path(k)}', "
        f"schedule: 1h, max_items: {args.items}}}"
        for k, sid in enumerate(ids)
    ]
    (tmp / "sources.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_HARVESTER_")}
    env |= {
        "NEWS_HARVESTER_DATABASE_URL": url,
        "NEWS_HARVESTER_DATA_DIR": str(tmp / "data"),
        "NEWS_HARVESTER_SOURCES": str(tmp / "sources.yaml"),
        "NEWS_HARVESTER_TOPICS": str(ROOT / "config" / "topics.yaml"),
        "NEWS_HARVESTER_PER_HOST_CONCURRENCY": "16",
        "NEWS_HARVESTER_PER_HOST_DELAY": "0",
        "NEWS_HARVESTER_WORKER_CONCURRENCY": str(args.concurrency),
        "NEWS_HARVESTER_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    procs: list[subprocess.Popen[str]] = []
    try:
        # migrate once before the workers start, so start-up is not part of the measurement
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from news_harvester.cluster.roles import _migrate; "
                "from news_harvester.config import load_settings; _migrate(load_settings())()",
            ],
            env=env,
            check=True,
            cwd=tmp,
        )
        for k in range(workers):
            log = (tmp / f"worker{k}.log").open("w")
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "news_harvester", "--log-level", "INFO", "run", "--role", "worker"],
                    env=env,
                    cwd=tmp,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        deadline = time.monotonic() + 120
        while sum("started:" in (tmp / f"worker{k}.log").read_text() for k in range(workers)) < workers:
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not start: " + (tmp / "worker0.log").read_text()[-2000:])
            time.sleep(0.2)
        ps = [psutil.Process(p.pid) for p in procs]
        cpu0 = sum(p.cpu_times().user + p.cpu_times().system for p in ps)
        pg0 = _postgres_cpu()
        started = time.perf_counter()
        _enqueue_all(url, ids)
        with psycopg.connect(url) as conn:
            _wait_drained(conn, 0.1)
            wall = time.perf_counter() - started
            cpu_mid = sum(p.cpu_times().user + p.cpu_times().system for p in ps)
            articles = conn.execute("SELECT count(*) FROM articles").fetchone()
            failed = conn.execute(
                "SELECT count(*) FROM nh_cluster.procrastinate_jobs WHERE status <> 'succeeded'"
            ).fetchone()
            stories = conn.execute("SELECT count(*) FROM stories").fetchone()
        cpu = cpu_mid - cpu0
        pg = _postgres_cpu() - pg0
        # steady state: the same sources again, nothing new (the server answers 304 to the stored ETag)
        started2 = time.perf_counter()
        _enqueue_all(url, ids)
        with psycopg.connect(url) as conn:
            _wait_drained(conn, 0.05)
        wall2 = time.perf_counter() - started2
        cpu2 = sum(p.cpu_times().user + p.cpu_times().system for p in ps) - cpu_mid
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        with psycopg.connect(args.admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    waited = 0.0  # each worker logs its time in story key claims (waits for shared keys included) when it stops
    for k in range(workers):
        for line in (tmp / f"worker{k}.log").read_text().splitlines():
            if "s in story key claims" in line:
                waited += float(line.split(" s in story key claims")[0].rsplit(" ", 1)[1])
    n_articles = int(articles[0]) if articles else 0
    return {
        "workers": workers,
        "wall_s": wall,
        "articles": n_articles,
        "stories": int(stories[0]) if stories else 0,
        "failed_jobs": int(failed[0]) if failed else 0,
        "articles_per_s": n_articles / wall,
        "worker_cpu_s": cpu,
        "postgres_cpu_s": pg,
        "cpu_busy": (cpu + pg) / wall / (os.cpu_count() or 1),
        "lock_wait_s": waited,
        "steady_runs_per_s": len(ids) / wall2,
        "steady_cpu_ms_per_run": cpu2 / len(ids) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", dest="admin", default=os.environ.get("NEWS_HARVESTER_TEST_PG"))
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds before each answer")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts to measure")
    parser.add_argument("--concurrency", type=int, default=8, help="worker_concurrency of each worker")
    args = parser.parse_args()
    if not args.admin:
        sys.exit("error: give --database-url or set NEWS_HARVESTER_TEST_PG (a PostgreSQL server to create DBs on)")
    parent, child = mp.Pipe()
    server = mp.Process(target=harvest_bench.serve, args=(child, args.sources, args.items, args.latency), daemon=True)
    server.start()
    port = parent.recv()["port"]
    print(
        f"{args.sources} feeds x {args.items} items, {args.latency * 1000:.0f} ms latency, "
        f"worker_concurrency {args.concurrency}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    results = []
    try:
        for workers in (int(w) for w in args.workers.split(",")):
            result = run_once(args, port, workers)
            results.append(result)
            base = results[0]["articles_per_s"]
            print(
                f"workers {workers}: {result['wall_s']:.1f} s, {result['articles']} articles "
                f"({result['stories']} stories, {result['failed_jobs']} failed jobs), "
                f"{result['articles_per_s']:.0f} articles/s, x{result['articles_per_s'] / base:.2f}; "
                f"CPU: workers {result['worker_cpu_s']:.1f} s, PostgreSQL {result['postgres_cpu_s']:.1f} s, "
                f"machine {result['cpu_busy'] * 100:.0f} % busy with them; "
                f"story key claims {result['lock_wait_s']:.1f} s in all (waits included); "
                f"steady state (nothing new): {result['steady_runs_per_s']:.0f} runs/s, "
                f"{result['steady_cpu_ms_per_run']:.0f} ms worker CPU per run",
                flush=True,
            )
    finally:
        parent.send("stop")
        server.join(5)


if __name__ == "__main__":
    main()
