"""Queue-page latency while the daemon harvests (issue 20 part 3, "Editors never wait").

Run:  .venv/bin/python bench/editors.py                  (1000 feeds x 10 new items per phase; 1 and 5 editors)
      .venv/bin/python bench/editors.py --sources 200    (quick, about 2 minutes)

What runs (details and the measured numbers in bench/README.md):

1. A temp data dir, ``news-harvester db upgrade``, editors made with ``news-harvester users add NAME --role
   editor``; bench/harvest.py's feed server in a child process (127.0.0.1, free port, ``--latency`` before every
   response). It serves N feeds of M items per phase, each phase its own feed numbers, so every phase harvests
   N x M articles the database has never seen.
2. The real daemon, ``news-harvester run --bind 127.0.0.1:PORT`` (scheduler and web app in one process), on a
   sources.yaml without sources, with NEWS_HARVESTER_START_STAGGER=0 and NEWS_HARVESTER_RELOAD_INTERVAL=1, and the
   politeness of bench/harvest.py (``--concurrency`` 64, ``--per-host-concurrency`` 8, ``--per-host-delay`` 0:
   the harvest goes as fast as the product can, the hardest case for the editors). Every editor signs in with
   ``POST /login``.
3. Prefill (phase 0, no editors; ``--no-prefill`` skips it): one harvest of N feeds, so that the queue the editors
   read is full (N x M stories) from the first measurement on.
4. For each count in ``--editors``, on the same daemon: that many signed-in clients (one httpx.AsyncClient and
   session each, one connection each, back to back or ``--think`` s apart) request ``GET /``:
   a. idle, for ``--idle-seconds`` (after one uncounted warm-up request per client): the peer;
   b. harvest: sources.yaml gets N new sources (ids ``pK-NNNNN``, schedule 1h), the daemon reloads it within
      ~1 s and runs them all at once; the clients go on until every one of them has a finished run
      (``fetch_runs``, polled read-only every 0.5 s; ``--timeout``). Only requests started between the first
      run's start and the last run's end (from ``fetch_runs``) count as "during harvest";
   c. sources.yaml is emptied again.
5. SIGTERM to the daemon; its peak RSS (psutil, every 100 ms), its CPU per stage.

Printed per editor count: idle and during-harvest p50/p95/p99/max (ms, client-side, whole request), requests,
errors (non-200, a page without the queue, or an exception: all reported), requests/s, the daemon's CPU (cores),
the phase's harvest wall time (first run start to last run end), runs and articles stored, p95 during / p95
idle, and PASS/FAIL against the aim of issue 20 (p95 during harvest <= 150 ms for 1 editor, <= 300 ms for 5; no
aim for other counts). Full results, every sample included: bench/results/editors-<timestamp>.json (git-ignored).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import json
import multiprocessing as mp
import os
import platform
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import harvest as harvest_bench  # noqa: E402  (bench/harvest.py: feed server and feeds)
import web as web_bench  # noqa: E402  (bench/web.py: CLI, users, sign-in, RSS sampler, percentiles)

HOST = harvest_bench.HOST
AIMS_MS: dict[int, float] = {1: 150.0, 5: 300.0}  # issue 20 part 3: p95 of GET / while the daemon harvests
EMPTY_SOURCES = "sources: []\n"
POLL_S = 0.5
PROGRESS_S = 5.0


# --------------------------------------------------------------------------- sources.yaml and the database


def write_phase_sources(path: Path, port: int, prefix: str, first_feed: int, count: int, items: int) -> None:
    """sources.yaml with ``count`` feed sources ``<prefix>NNNNN`` on feeds first_feed .. first_feed+count-1, in
    bench/harvest.py's shape (schedule 1h, max_items = items). Written to a temp file and renamed, so the daemon
    never reads half a file."""
    from ruamel.yaml import YAML

    data = {
        "defaults": {"schedule": "1h", "language": "zh", "timezone": "Asia/Shanghai", "max_items": items},
        "sources": [
            {
                "id": f"{prefix}{i:05d}",
                "name": f"基准源{prefix}{i}",
                "kind": "feed",
                "url": f"http://{HOST}:{port}{harvest_bench.feed_path(first_feed + i)}",
            }
            for i in range(count)
        ],
    }
    yaml = YAML()
    yaml.default_flow_style = False
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as handle:
        yaml.dump(data, handle)
    partial.replace(path)


def write_empty_sources(path: Path) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(EMPTY_SOURCES, encoding="utf-8")
    partial.replace(path)


def _read_only(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)


def poll_runs(db: Path, prefix: str) -> tuple[int, int]:
    """(sources of the phase with a finished run, sources with a run started), read-only."""
    with contextlib.closing(_read_only(db)) as conn:
        finished, started = conn.execute(
            "SELECT count(DISTINCT CASE WHEN outcome != 'running' THEN source_id END), count(DISTINCT source_id) "
            "FROM fetch_runs WHERE source_id LIKE ?",
            (prefix + "%",),
        ).fetchone()
    return int(finished or 0), int(started or 0)


def _epoch(value: str | None) -> float | None:
    """A UTC timestamp as the product stores it in SQLite (no zone) → seconds since the epoch."""
    if value is None:
        return None
    parsed = dt.datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()


def phase_facts(db: Path, prefix: str) -> dict[str, Any]:
    """What the phase's runs did: first start, last end, outcomes, articles stored by its sources."""
    like = (prefix + "%",)
    with contextlib.closing(_read_only(db)) as conn:
        first, last, items_new = conn.execute(
            "SELECT min(started_at), max(finished_at), coalesce(sum(items_new), 0) FROM fetch_runs "
            "WHERE source_id LIKE ?",
            like,
        ).fetchone()
        outcomes = dict(
            conn.execute("SELECT outcome, count(*) FROM fetch_runs WHERE source_id LIKE ? GROUP BY outcome", like)
        )
        errors = conn.execute(
            "SELECT code, count(*) FROM fetch_runs WHERE source_id LIKE ? AND code IS NOT NULL GROUP BY code "
            "ORDER BY count(*) DESC LIMIT 5",
            like,
        ).fetchall()
        articles = conn.execute("SELECT count(*) FROM articles WHERE source_id LIKE ?", like).fetchone()[0]
        total_articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    return {
        "first_run_start": _epoch(first),
        "last_run_end": _epoch(last),
        "outcomes": outcomes,
        "error_codes": errors,
        "items_new": int(items_new),
        "articles": int(articles),
        "articles_in_db": int(total_articles),
    }


async def wait_for_runs(
    db: Path,
    prefix: str,
    n: int,
    timeout: float,
    label: str,
    alive: Callable[[], bool],
    requests: Callable[[], int] | None = None,
) -> tuple[bool, int]:
    """Poll until all ``n`` sources of ``prefix`` have a finished run; progress every PROGRESS_S. Returns
    (complete, finished); stops early when the daemon is gone."""
    started_at = time.perf_counter()
    last_print = started_at
    finished = 0
    while True:
        await asyncio.sleep(POLL_S)
        with contextlib.suppress(sqlite3.OperationalError):  # the file may not be there yet; next poll
            finished, running_or_done = await asyncio.to_thread(poll_runs, db, prefix)
        now = time.perf_counter()
        if finished >= n:
            return True, finished
        if now - started_at > timeout or not alive():
            return False, finished
        if now - last_print >= PROGRESS_S:
            last_print = now
            extra = f", {requests()} requests" if requests is not None else ""
            print(
                f"  {label}: {finished}/{n} runs finished ({running_or_done} started){extra}, {now - started_at:.0f} s",
                flush=True,
            )


# --------------------------------------------------------------------------- editors


@dataclass
class Sample:
    stage: str  # "idle" or "harvest"
    started: float  # time.time() at the request's start (compared with fetch_runs' timestamps)
    ms: float
    ok: bool


@dataclass
class PhaseLoad:
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    idle_wall_s: float = 0.0
    harvest_wall_s: float = 0.0  # from sources.yaml written to the clients stopped
    sources_written: float = 0.0  # time.time()
    complete: bool = False
    finished: int = 0
    daemon_cpu_idle_s: float = 0.0
    daemon_cpu_harvest_s: float = 0.0


async def editors_phase(
    base_url: str,
    sessions: list[dict[str, str]],
    daemon: psutil.Process,
    start_harvest: Callable[[], None],
    db: Path,
    prefix: str,
    n: int,
    args: argparse.Namespace,
    alive: Callable[[], bool],
    mark: Callable[[str], None],
) -> PhaseLoad:
    """The clients request ``/`` idle for ``--idle-seconds``; then ``start_harvest()`` and on until every source
    of the phase has a finished run (or ``--timeout``)."""
    result = PhaseLoad()
    stage = {"name": "idle"}
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [
        httpx.AsyncClient(base_url=base_url, cookies=c, timeout=args.request_timeout, limits=limits, trust_env=False)
        for c in sessions
    ]

    def cpu() -> float:
        times = daemon.cpu_times()
        return float(times.user + times.system)

    async def worker(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            name = stage["name"]
            wall = time.time()
            started = time.perf_counter()
            try:
                response = await client.get("/")
                ok = response.status_code == 200 and 'id="queue"' in response.text
                if not ok:
                    what = "" if response.is_error else ", no queue in the page"
                    result.errors.append(f"{name}: HTTP {response.status_code}{what}")
            except httpx.HTTPError as exc:
                ok = False
                result.errors.append(f"{name}: {type(exc).__name__} after {time.perf_counter() - started:.1f} s")
            result.samples.append(Sample(name, wall, (time.perf_counter() - started) * 1000, ok))
            if args.think > 0:
                await asyncio.sleep(args.think)

    try:
        await asyncio.gather(*(c.get("/") for c in clients))  # warm-up, not counted
        tasks = [asyncio.create_task(worker(c)) for c in clients]
        mark("idle")
        cpu0, t0 = cpu(), time.perf_counter()
        await asyncio.sleep(args.idle_seconds)
        stage["name"] = "harvest"
        mark("harvest")
        cpu1, t1 = cpu(), time.perf_counter()
        result.idle_wall_s, result.daemon_cpu_idle_s = t1 - t0, cpu1 - cpu0
        result.sources_written = time.time()
        start_harvest()
        label = f"phase {prefix.strip('p-')} ({len(sessions)} editor{'s' * (len(sessions) > 1)})"
        result.complete, result.finished = await wait_for_runs(
            db, prefix, n, args.timeout, label, alive, lambda: sum(1 for s in result.samples if s.stage == "harvest")
        )
        stop.set()
        await asyncio.gather(*tasks)
        result.harvest_wall_s, result.daemon_cpu_harvest_s = time.perf_counter() - t1, cpu() - cpu1
    finally:
        stop.set()
        await asyncio.gather(*(c.aclose() for c in clients))
    return result


def stats(samples: list[Sample]) -> dict[str, Any]:
    ms = [s.ms for s in samples]
    pct = web_bench.pct
    return {
        "n": len(ms),
        "errors": sum(1 for s in samples if not s.ok),
        "p50": round(pct(ms, 50), 1) if ms else None,
        "p95": round(pct(ms, 95), 1) if ms else None,
        "p99": round(pct(ms, 99), 1) if ms else None,
        "max": round(max(ms), 1) if ms else None,
    }


class Timeline(threading.Thread):
    """The daemon's RSS (from the RssSampler) and CPU every second, with a label of what the bench is doing."""

    def __init__(self, sampler: web_bench.RssSampler, daemon: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.sampler = sampler
        self.process = daemon
        self.label = "start-up"
        self.rows: list[tuple[float, str, int, float]] = []  # (time.time(), label, RSS MiB, CPU seconds)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            try:
                times = self.process.cpu_times()
            except psutil.Error:
                return
            self.rows.append((time.time(), self.label, round(self.sampler.current / 2**20), times.user + times.system))

    def rss_by_label(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for _, label, rss, _ in self.rows:
            entry = out.setdefault(label, {"first": rss, "last": rss, "max": rss})
            entry["last"], entry["max"] = rss, max(entry["max"], rss)
        return out


def label_stage(timeline: Timeline, phase: int, stage: str) -> None:
    timeline.label = f"p{phase} {stage}"


# --------------------------------------------------------------------------- the daemon


def start_daemon(tmp: Path, port: int, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    env = web_bench.cli_env(tmp) | {
        "NEWS_HARVESTER_START_STAGGER": "0",
        "NEWS_HARVESTER_RELOAD_INTERVAL": "1",
        "NEWS_HARVESTER_CONCURRENCY": str(args.concurrency),
        "NEWS_HARVESTER_PER_HOST_CONCURRENCY": str(args.per_host_concurrency),
        "NEWS_HARVESTER_PER_HOST_DELAY": str(args.per_host_delay),
    }
    log = (tmp / "daemon.log").open("wb")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "news_harvester", "run", "--bind", f"{HOST}:{port}"],
            env=env,
            cwd=tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    finally:
        log.close()  # the child has its own copy


def wait_ready(proc: subprocess.Popen[bytes], base_url: str, log: Path, timeout: float = 120.0) -> float:
    started = time.perf_counter()
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"FAIL: the daemon exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(base_url + "/readyz", timeout=1, trust_env=False).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"FAIL: the daemon did not answer /readyz with 200 within {timeout:.0f} s")
        time.sleep(0.2)


def stop_daemon(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> dict[str, Any]:
    started = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=timeout)
        killed = False
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
        killed = True
    return {"stop_after_sigterm_s": round(time.perf_counter() - started, 1), "exit_code": code, "killed": killed}


def log_findings(log: Path) -> dict[str, Any]:
    """Lines of the daemon's output (log level WARNING: every line is a warning, an error or a traceback), counted
    by shape: the timestamp dropped, digits as #."""
    lines = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    shapes = Counter(re.sub(r"\d+", "#", re.sub(r"^\d{4}-\d\d-\d\d [\d:,]+ ", "", line))[:300] for line in lines)
    return {
        "lines": len(lines),
        "errors": sum(1 for line in lines if "ERROR" in line or "Traceback" in line),
        "shapes": shapes.most_common(10),
        "first": lines[:10],
    }


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n", 1)[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--sources", type=int, default=1000, help="N: feeds harvested per phase, all on 127.0.0.1")
    p.add_argument("--items", type=int, default=10, help="M: new items per feed")
    p.add_argument("--latency", type=float, default=0.05, help="seconds the feed server waits before every response")
    p.add_argument("--editors", default="1,5", help="comma-separated editor counts, one phase each")
    p.add_argument("--idle-seconds", type=float, default=5.0, help="seconds of the idle peer per phase")
    p.add_argument("--think", type=float, default=0.0, help="seconds each editor waits between two requests")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds a phase's harvest may take")
    p.add_argument("--request-timeout", type=float, default=30.0, help="client timeout per request (an error)")
    p.add_argument("--concurrency", type=int, default=64, help="daemon setting: requests in flight overall")
    p.add_argument("--per-host-concurrency", type=int, default=8, help="daemon setting: requests in flight per host")
    p.add_argument("--per-host-delay", type=float, default=0.0, help="daemon setting: seconds between request starts")
    p.add_argument("--no-prefill", action="store_true", help="skip phase 0 (the idle peer then sees a smaller queue)")
    p.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results", help="where the JSON result goes")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (database, sources.yaml, daemon log)")
    args = p.parse_args(argv)
    try:
        args.editor_counts = [int(x) for x in args.editors.split(",") if x.strip()]
    except ValueError:
        p.error("--editors: comma-separated whole numbers, e.g. 1,5")
    if not args.editor_counts or min(args.editor_counts) < 1:
        p.error("--editors: at least one count, each >= 1")
    if args.sources < 1 or not 1 <= args.items <= harvest_bench.MAX_ITEMS_LIMIT:
        p.error(f"--sources must be >= 1 and --items within 1..{harvest_bench.MAX_ITEMS_LIMIT}")
    if min(args.latency, args.think, args.per_host_delay) < 0 or args.idle_seconds <= 0:
        p.error("--latency, --think and --per-host-delay must be >= 0, --idle-seconds > 0")
    return args


def _src_changes() -> list[str]:
    """Files under src/ that differ from HEAD (another engineer may be editing them while this runs)."""
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        out = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        return [line.strip() for line in out.splitlines() if line.strip()]
    return []


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    n, m = args.sources, args.items
    counts: list[int] = args.editor_counts
    phases = len(counts) + (0 if args.no_prefill else 1)
    began = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="nh-bench-editors-"))
    sources_path = tmp / "sources.yaml"
    db = tmp / "data" / "news_harvester.db"
    results: dict[str, Any] = {
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "revision": harvest_bench._git_revision(),
        "src_uncommitted": _src_changes(),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_before": os.getloadavg(),
        },
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "aims_ms": AIMS_MS,
        "phases": [],
    }
    proc: subprocess.Popen[bytes] | None = None
    sampler: web_bench.RssSampler | None = None
    peaks: list[int] = []  # peak RSS of the daemon before each phase's reset, and at the end
    server = harvest_bench._Server(mp.get_context("spawn"), phases * n, m, args.latency)
    try:
        write_empty_sources(sources_path)
        web_bench.cli(tmp, "db", "upgrade")
        users = [f"editor{k}" for k in range(max(counts))]
        for user in users:
            web_bench.cli(tmp, "users", "add", user, "--role", "editor", stdin=web_bench.PASSWORD + "\n")
        port = web_bench.free_port()
        base_url = f"http://{HOST}:{port}"
        print(
            f"editors benchmark: daemon on {base_url}, feed server http://{HOST}:{server.port} ({phases} x {n} feeds "
            f"x {m} items, latency {args.latency * 1000:g} ms), concurrency={args.concurrency} "
            f"per_host_concurrency={args.per_host_concurrency} per_host_delay={args.per_host_delay:g}s; "
            f"editors {counts}; workdir {tmp}",
            flush=True,
        )
        proc = start_daemon(tmp, port, args)
        sampler = web_bench.RssSampler(proc.pid)
        sampler.start()
        daemon = psutil.Process(proc.pid)
        timeline = Timeline(sampler, daemon)
        timeline.start()
        running = proc

        def alive() -> bool:
            return running.poll() is None

        startup_s = wait_ready(proc, base_url, tmp / "daemon.log")
        results["daemon"] = {
            "startup_s": round(startup_s, 1),
            "rss_after_startup_mib": round(sampler.current / 2**20),
            "peak_rss_startup_mib": round(sampler.peak / 2**20),
        }
        peaks.append(sampler.peak)
        sampler.peak = sampler.current
        timeline.label = "sign-in"
        results["daemon"]["sign_in_epoch"] = round(time.time(), 3)  # sessions are touched (a write) every minute
        sessions = asyncio.run(web_bench.sign_in_all(base_url, users))
        results["daemon"]["peak_rss_sign_in_mib"] = round(sampler.peak / 2**20)
        print(
            f"daemon ready in {startup_s:.1f} s, RSS {sampler.current / 2**20:.0f} MiB; {len(users)} signed in",
            flush=True,
        )

        def clear_sources() -> None:
            timeline.label = "between phases"
            write_empty_sources(sources_path)
            time.sleep(2.5)  # the daemon checks the file every second: the sources are unscheduled by now

        feed = 0
        if not args.no_prefill:
            print(f"phase 0 (prefill, no editors): {n} sources …", flush=True)
            t = time.perf_counter()
            timeline.label = "p0 prefill"
            write_phase_sources(sources_path, server.port, "p0-", feed, n, m)
            complete, _finished = asyncio.run(wait_for_runs(db, "p0-", n, args.timeout, "phase 0", alive))
            facts = phase_facts(db, "p0-")
            print(f"phase 0 done in {time.perf_counter() - t:.1f} s: {facts['articles']} articles", flush=True)
            results["prefill"] = facts | {"complete": complete, "wall_s": round(time.perf_counter() - t, 1)}
            clear_sources()
            feed += n
            if not complete:
                raise SystemExit(f"FAIL: the prefill harvest did not finish within {args.timeout:.0f} s")

        for number, count in enumerate(counts, 1):
            prefix = f"p{number}-"
            first_feed = feed
            feed += n
            print(
                f"phase {number} ({count} editor{'s' if count > 1 else ''}): {args.idle_seconds:g} s idle, then "
                f"{n} new sources …",
                flush=True,
            )
            server.call("reset")
            peaks.append(sampler.peak)
            sampler.peak = sampler.current
            load = asyncio.run(
                editors_phase(
                    base_url, sessions[:count], daemon,
                    functools.partial(write_phase_sources, sources_path, server.port, prefix, first_feed, n, m),
                    db, prefix, n, args, alive, functools.partial(label_stage, timeline, number),
                )
            )  # fmt: skip
            phase = summarise_phase(number, count, n, m, load, phase_facts(db, prefix), server.call("stats"))
            phase["peak_rss_mib"] = round(sampler.peak / 2**20)
            results["phases"].append(phase)
            h, i = phase["during"], phase["idle"]
            print(
                f"phase {number} done: idle p95 {i['p95']} ms, during harvest p95 {h['p95']} ms ({h['n']} requests, "
                f"{h['errors'] + i['errors']} errors), harvest {phase['harvest_wall_s']} s, "
                f"{phase['articles']} articles",
                flush=True,
            )
            clear_sources()
            if not load.complete:
                print(f"phase {number} timed out after {args.timeout:.0f} s: later phases skipped", flush=True)
                break

        timeline.label = "end"
        time.sleep(1.5)
        timeline.stopped.set()
        sampler.stopped.set()
        peaks.append(sampler.peak)
        results["daemon"]["peak_rss_mib"] = round(max(peaks) / 2**20)
        results["daemon"]["rss_mib_by_stage"] = timeline.rss_by_label()
        # (time.time(), what the bench was doing, RSS MiB, daemon CPU seconds so far), every second
        results["daemon"]["timeline"] = [[round(t, 1), label, rss, round(cpu, 2)] for t, label, rss, cpu in
                                         timeline.rows]  # fmt: skip
        results["daemon"] |= stop_daemon(proc)
        results["daemon"]["log"] = log_findings(tmp / "daemon.log")
        results["wall_s"] = round(time.perf_counter() - began, 1)
        results["machine"]["loadavg_after"] = os.getloadavg()
    finally:
        if sampler is not None:
            sampler.stopped.set()
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        server.close()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    failed = report(results)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"editors-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"JSON: {out}")
    return 1 if failed else 0


def summarise_phase(
    number: int, count: int, n: int, m: int, load: PhaseLoad, facts: dict[str, Any], server: dict[str, Any]
) -> dict[str, Any]:
    first, last = facts["first_run_start"], facts["last_run_end"]
    idle = [s for s in load.samples if s.stage == "idle"]
    harvest = [s for s in load.samples if s.stage == "harvest"]
    during = [s for s in harvest if first is not None and last is not None and first <= s.started <= last]
    idle_stats = stats(idle) | {
        "rps": round(len(idle) / load.idle_wall_s, 1),
        "daemon_cores": round(load.daemon_cpu_idle_s / load.idle_wall_s, 2),
    }
    window = (last - first) if first is not None and last is not None else None
    during_stats = stats(during) | {
        "rps": round(len(during) / window, 1) if window else None,
        "daemon_cores": round(load.daemon_cpu_harvest_s / load.harvest_wall_s, 2) if load.harvest_wall_s else None,
        "outside_window": len(harvest) - len(during),
    }
    aim = AIMS_MS.get(count)
    reasons = []
    if not load.complete:
        reasons.append(f"harvest incomplete ({load.finished}/{n} sources finished)")
    if facts["articles"] != n * m:
        reasons.append(f"{facts['articles']} articles stored, expected {n * m}")
    if idle_stats["errors"] or during_stats["errors"]:
        reasons.append(f"{idle_stats['errors'] + during_stats['errors']} request errors")
    if aim is not None and (during_stats["p95"] is None or during_stats["p95"] > aim):
        reasons.append(f"p95 during harvest {during_stats['p95']} ms > aim {aim:g} ms")
    verdict = "FAIL" if reasons else ("PASS" if aim is not None else "no aim")
    origin = load.sources_written
    return {
        "phase": number,
        "editors": count,
        "idle": idle_stats,
        "during": during_stats,
        "p95_ratio": round(during_stats["p95"] / idle_stats["p95"], 2)
        if during_stats["p95"] and idle_stats["p95"]
        else None,
        "harvest_wall_s": round(window, 1) if window is not None else None,
        "reload_to_first_run_s": round(first - origin, 2) if first is not None else None,
        "written_to_last_run_s": round(last - origin, 1) if last is not None else None,
        "complete": load.complete,
        "sources_written_epoch": round(origin, 3),
        "first_run_start_epoch": first,
        "last_run_end_epoch": last,
        "runs": facts["outcomes"],
        "error_codes": facts["error_codes"],
        "items_new": facts["items_new"],
        "articles": facts["articles"],
        "articles_in_db": facts["articles_in_db"],
        "expected_articles": n * m,
        "feed_server": server,
        "aim_ms": aim,
        "verdict": verdict,
        "reasons": reasons,
        "error_examples": load.errors[:20],
        # every request: [stage, seconds after sources.yaml was written (negative: idle), ms, ok]
        "samples": [[s.stage, round(s.started - origin, 3), round(s.ms, 1), s.ok] for s in load.samples],
    }


def report(results: dict[str, Any]) -> bool:
    """Print the table; True when any phase failed."""
    d, prm = results["daemon"], results["params"]
    print()
    print(
        f"RESULT  GET / while the daemon harvests {prm['sources']} feeds x {prm['items']} new items per phase "
        f"(latency {prm['latency'] * 1000:g} ms, concurrency={prm['concurrency']} per_host_concurrency="
        f"{prm['per_host_concurrency']} per_host_delay={prm['per_host_delay']:g}s); revision {results['revision']}, "
        f"{results['machine']['cpus']} CPUs"
    )
    if "prefill" in results:
        pf = results["prefill"]
        print(f"        prefill: {pf['articles']} articles in {pf['wall_s']} s before the first phase")
    header = (
        f"{'editors':>7} {'stage':<8} {'n':>6} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} {'err':>4} "
        f"{'req/s':>6} {'daemon CPU':>10}"
    )
    print(header)
    print("─" * len(header))
    for phase in results["phases"]:
        for label, s in (("idle", phase["idle"]), ("harvest", phase["during"])):
            print(
                f"{phase['editors']:>7} {label:<8} {s['n']:>6} {s['p50']!s:>7} {s['p95']!s:>7} {s['p99']!s:>7} "
                f"{s['max']!s:>7} {s['errors']:>4} {s['rps']!s:>6} {s['daemon_cores']!s:>10}"
            )
    print("─" * len(header))
    print("(ms, client-side, whole request; 'harvest': requests started between the phase's first run start and its "
          "last run end; daemon CPU in cores)")  # fmt: skip
    failed = False
    for phase in results["phases"]:
        aim = phase["aim_ms"]
        runs = ", ".join(f"{k} {v}" for k, v in sorted(phase["runs"].items()))
        print(
            f"{phase['editors']} editor(s): harvest {phase['harvest_wall_s']} s (first run "
            f"{phase['reload_to_first_run_s']} s after sources.yaml was written), runs: {runs}; "
            f"{phase['articles']} articles stored of {phase['expected_articles']}; p95 during / idle "
            f"{phase['p95_ratio']}x; peak RSS {phase['peak_rss_mib']} MiB"
        )
        aim_text = f"aim p95 <= {aim:g} ms" if aim is not None else "no aim for this count"
        print(f"  {phase['verdict']}: {aim_text}" + (f" ({'; '.join(phase['reasons'])})" if phase["reasons"] else ""))
        if phase["error_examples"]:
            print("  errors, first 5:", *phase["error_examples"][:5], sep="\n    ")
        failed = failed or phase["verdict"] == "FAIL"
    if len(results["phases"]) < len(prm["editor_counts"]):
        print(f"FAIL: only {len(results['phases'])} of {len(prm['editor_counts'])} phases ran")
        failed = True
    log = d.get("log", {})
    print(
        f"daemon: ready in {d['startup_s']} s, RSS after start-up {d['rss_after_startup_mib']} MiB, peak "
        f"{d.get('peak_rss_mib')} MiB (start-up {d['peak_rss_startup_mib']}, {max(prm['editor_counts'])} sign-ins "
        f"at once {d.get('peak_rss_sign_in_mib')}); stopped {d.get('stop_after_sigterm_s')} s after SIGTERM (exit "
        f"{d.get('exit_code')}{', killed' if d.get('killed') else ''}); {log.get('lines', 0)} lines on its "
        f"stderr at level WARNING ({log.get('errors', 0)} ERROR/Traceback)"
    )
    stages = d.get("rss_mib_by_stage", {})
    if stages:
        print("daemon RSS MiB by stage (first/max/last): " + "; ".join(
            f"{k} {v['first']}/{v['max']}/{v['last']}" for k, v in stages.items()))  # fmt: skip
    for shape, times in log.get("shapes", [])[:5]:
        print(f"  {times:>5} x {shape[:200]}")
    if results["src_uncommitted"]:
        print(f"src/ had uncommitted changes: {', '.join(results['src_uncommitted'])}")
    before, after = results["machine"]["loadavg_before"], results["machine"].get("loadavg_after", [float("nan")])
    print(
        f"total {results.get('wall_s')} s; load average (1 min) before {before[0]:.2f}, after {after[0]:.2f}; "
        f"{results['machine']['platform']}"
    )
    return failed


if __name__ == "__main__":
    sys.exit(main())
