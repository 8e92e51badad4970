"""Throughput benchmark of one harvest pass (``news_harvester.wiring.harvest_once``) against a local feed server.

Run:  .venv/bin/python bench/harvest.py                      (1000 feeds x 10 items, 50 ms latency)
      .venv/bin/python bench/harvest.py --sources 100 --items 10 --latency 0.05

Three processes, so none competes with another's event loop: this one (orchestrator), a feed
server on 127.0.0.1 (random free port), and one child per measurement (the product, then the
sequential peer), each a fresh interpreter whose own ``ru_maxrss`` is its peak RSS.
See bench/README.md for what every number means and how the politeness floor is computed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import multiprocessing as mp
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
HOST = "127.0.0.1"
MAX_ITEMS_LIMIT = 1000  # SourceSpec.max_items upper bound


# --------------------------------------------------------------------------- feed server (child process)


def feed_path(index: int) -> str:
    return f"/feeds/{index:05d}.xml"


def article_url(port: int, feed: int, item: int) -> str:
    return f"http://{HOST}:{port}/news/{feed:05d}/{item:04d}.html"


COMMON = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所"
    "民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那"
    "社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并"
    "提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决"
)
TOPIC_WORDS = ("跨境电商", "人工智能", "数字贸易", "服务外包", "数据安全", "自由贸易协定", "5G基站", "金融科技")


def _text(rng: random.Random, sentences: int) -> str:
    """Distinct pseudo-Chinese prose: common characters at random, so every item is its own story (reprints
    are measured by bench/dedup.py) while classification and storage do their normal work."""
    out = []
    for _ in range(sentences):
        words = [rng.choice(TOPIC_WORDS)] if rng.random() < 0.3 else []
        words += ["".join(rng.choices(COMMON, k=rng.randint(2, 4))) for _ in range(rng.randint(8, 16))]
        out.append("".join(words) + "。")
    return "".join(out)


def render_feed(port: int, feed: int, items: int) -> bytes:
    """An RSS 2.0 document shaped like a Chinese trade-news feed: title, link, guid, date, HTML description."""
    entries = []
    for k in range(items):
        url = article_url(port, feed, k)
        day = 1 + (feed + k) % 28
        rng = random.Random(feed * 100_003 + k)
        title = _text(rng, 1).rstrip("。")[:24]
        entries.append(
            "<item>"
            f"<title>{title}（第{feed}-{k}号）</title>"
            f'<link>{url}</link><guid isPermaLink="true">{url}</guid>'
            f"<pubDate>Tue, {day:02d} Jun 2024 {k % 24:02d}:30:00 +0800</pubDate>"
            f"<description><![CDATA[<p>6月11日，{_text(rng, 3)}</p><p>{_text(rng, 3)}</p>]]></description>"
            "</item>"
        )
    document = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0"><channel>'
        f"<title>基准测试频道 {feed}</title><link>http://{HOST}:{port}/</link>"
        f"<description>bench feed {feed}</description>{''.join(entries)}</channel></rss>"
    )
    return document.encode("utf-8")


class _ServerStats:
    """Per-phase counters: requests, peak and time-integrated concurrency, server CPU."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.busy_seconds = 0.0  # sum over requests of (response written - request read)
        self.first_start: float | None = None
        self.last_end: float | None = None
        self.cpu0 = time.process_time()

    def snapshot(self) -> dict[str, Any]:
        span = (self.last_end - self.first_start) if self.first_start and self.last_end else 0.0
        return {
            "requests": dict(self.requests),
            "requests_total": sum(self.requests.values()),
            "max_in_flight": self.max_in_flight,
            "mean_in_flight": self.busy_seconds / span if span else 0.0,
            "active_span_s": span,
            "server_cpu_s": time.process_time() - self.cpu0,
        }


def serve(conn: Connection, sources: int, items: int, latency: float) -> None:
    """Child-process entry: serve robots.txt and ``sources`` feeds on 127.0.0.1:<free port>."""
    import asyncio

    stats = _ServerStats()
    mode = {"validators": True}  # the unchanged passes switch it: /_bench/validators/on|off

    def route(target: str, port: int, headers: dict[str, str]) -> tuple[str, str, bytes, dict[str, str]]:
        path = target.split("?", 1)[0]
        if path == "/robots.txt":
            return "200 OK", "text/plain; charset=utf-8", b"User-agent: *\nAllow: /\n", {}
        if path.startswith("/_bench/validators/"):
            mode["validators"] = path.endswith("/on")
            return "200 OK", "text/plain; charset=utf-8", b"ok\n", {}
        if path.startswith("/feeds/") and path.endswith(".xml"):
            stem = path.removeprefix("/feeds/").removesuffix(".xml")
            if stem.isdigit() and int(stem) < sources:
                index = int(stem)
                if not mode["validators"]:  # a server that sends no ETag / Last-Modified: the same bytes every time
                    return "200 OK", "application/rss+xml; charset=utf-8", render_feed(port, index, items), {}
                etag = f'"feed-{index}-v1"'
                extra = {"ETag": etag, "Last-Modified": "Tue, 11 Jun 2024 08:00:00 GMT"}
                if headers.get("if-none-match") == etag:
                    return "304 Not Modified", "application/rss+xml; charset=utf-8", b"", extra
                return "200 OK", "application/rss+xml; charset=utf-8", render_feed(port, index, items), extra
        return "404 Not Found", "text/plain; charset=utf-8", b"not found\n", {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = writer.get_extra_info("sockname")[1]
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                started = time.perf_counter()
                stats.in_flight += 1
                stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
                if stats.first_start is None:
                    stats.first_start = started
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                _method, target, version = request_line.split(" ", 2)
                headers = {}
                for line in header_lines:
                    name, _, value = line.partition(":")
                    if name:
                        headers[name.strip().lower()] = value.strip()
                if headers.get("content-length", "0").isdigit() and int(headers.get("content-length", "0")):
                    await reader.readexactly(int(headers["content-length"]))
                await asyncio.sleep(latency)
                status, ctype, body, extra = route(target, port, headers)
                kind = "robots" if target == "/robots.txt" else ("feed" if status[:3] in ("200", "304") else "other")
                stats.requests[kind] = stats.requests.get(kind, 0) + 1
                close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
                lines = [
                    f"HTTP/1.1 {status}",
                    f"Content-Type: {ctype}",
                    f"Content-Length: {len(body)}",
                    f"Connection: {'close' if close else 'keep-alive'}",
                ]
                lines += [f"{k}: {v}" for k, v in extra.items()]
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
                await writer.drain()
                ended = time.perf_counter()
                stats.in_flight -= 1
                stats.busy_seconds += ended - started
                stats.last_end = ended
                if close:
                    return
        except ConnectionError:
            return
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, HOST, 0, backlog=1024)
        port = server.sockets[0].getsockname()[1]
        conn.send({"port": port})
        loop = asyncio.get_running_loop()
        async with server:
            while True:
                command = await loop.run_in_executor(None, conn.recv)
                if command == "reset":
                    stats.reset()
                    conn.send("ok")
                elif command == "stats":
                    conn.send(stats.snapshot())
                else:  # "stop"
                    conn.send("bye")
                    return

    asyncio.run(main())


# --------------------------------------------------------------------------- measured children


def _maxrss_bytes() -> int:
    import resource

    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib if sys.platform == "darwin" else kib * 1024


def _cpu() -> tuple[float, float]:
    """CPU of this process and of its children that have ended (the product's writer process is joined when
    ``harvest_once`` returns), so work moved to another process is still counted."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + children.ru_utime, usage.ru_stime + children.ru_stime


def _children_maxrss_bytes() -> int:
    """Peak RSS of the largest child that has ended (the writer process)."""
    import resource

    kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return kib if sys.platform == "darwin" else kib * 1024


def _machine_busy_s() -> float | None:
    """CPU seconds all processes on the machine have used so far (non-idle time over all cores)."""
    try:
        import psutil
    except ImportError:
        return None
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def run_product(conn: Connection, cfg: dict[str, Any]) -> None:
    """Child-process entry: one ``harvest_once`` pass with explicit settings; reports timings and ru_maxrss."""
    try:
        conn.send(_run_product(cfg))
    except BaseException as exc:
        import traceback

        conn.send({"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})
        raise


def _run_product(cfg: dict[str, Any]) -> dict[str, Any]:
    import asyncio
    from collections import Counter

    log_file = Path(cfg["log_path"]).open("a", encoding="utf-8")  # noqa: SIM115 - lives as long as the child
    sys.stderr = log_file  # configure_logging() writes to sys.stderr; keep 1000s of lines off the terminal
    from news_harvester.config import Settings, load_sources
    from news_harvester.models import RunSummary
    from news_harvester.ops.logs import configure_logging
    from news_harvester.wiring import harvest_once

    configure_logging(cfg["log_level"], "text")
    rss_after_import = _maxrss_bytes()
    settings = Settings(
        data_dir=Path(cfg["data_dir"]),
        sources=Path(cfg["sources_path"]),
        concurrency=cfg["concurrency"],
        per_host_concurrency=cfg["per_host_concurrency"],
        per_host_delay=cfg["per_host_delay"],
        log_level=cfg["log_level"],
    )
    t = time.perf_counter()
    sources = load_sources(settings.sources)
    load_sources_s = time.perf_counter() - t
    completions: list[float] = []

    def progress(_done: int, _total: int, _summary: RunSummary) -> None:
        completions.append(time.perf_counter())

    busy0 = _machine_busy_s()
    utime0, stime0 = _cpu()
    profiler = None
    if cfg.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    summaries = asyncio.run(harvest_once(settings, sources, progress=progress))
    wall = time.perf_counter() - start
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(cfg["profile"])
    utime1, stime1 = _cpu()
    busy1 = _machine_busy_s()
    again = asyncio.run(_unchanged_passes(cfg, settings, sources)) if cfg.get("second_pass") else None
    outcomes = Counter(str(s.outcome) for s in summaries)
    errors = Counter(f"{s.code}: {s.message}" for s in summaries if s.code)
    log_file.flush()
    return {
        "wall_s": wall,
        "cpu_user_s": utime1 - utime0,
        "cpu_sys_s": stime1 - stime0,
        "machine_busy_cpu_s": (busy1 - busy0) if busy0 is not None and busy1 is not None else None,
        "first_source_done_s": (completions[0] - start) if completions else None,
        "p50_source_done_s": (completions[len(completions) // 2] - start) if completions else None,
        "load_sources_s": load_sources_s,
        "sources_run": len(summaries),
        "outcomes": dict(outcomes),
        "errors_top": errors.most_common(5),
        "items_seen": sum(s.items_seen for s in summaries),
        "items_new": sum(s.items_new for s in summaries),
        "rss_after_import_bytes": rss_after_import,
        "peak_rss_bytes": _maxrss_bytes(),
        "children_peak_rss_bytes": _children_maxrss_bytes(),
        "second_pass": again,
    }



async def _unchanged_passes(cfg: dict[str, Any], settings: Any, sources: Any) -> dict[str, Any]:
    """Two more passes over the same feeds with nothing new, by one harvester as the daemon keeps it (its writer
    process and classifier already started: a warm-up run of one source goes first). First the server answers 304
    (it honours If-None-Match), then the same bytes without validators (a server that sends none). CPU is this
    process's plus its writer process's (psutil), over the pass alone."""
    import asyncio
    import urllib.request
    from collections import Counter

    import psutil

    from news_harvester.harvest.fetch import Fetcher
    from news_harvester.wiring import build_harvester, fetch_policy, open_repository

    me = psutil.Process()

    def cpu_s() -> tuple[float, float]:
        """(this process, its children) CPU seconds so far."""
        children = 0.0
        for child in me.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                times = child.cpu_times()
                children += times.user + times.system
        return me.cpu_times().user + me.cpu_times().system, children

    repository = open_repository(settings)
    fetcher = Fetcher(fetch_policy(settings))
    harvester = build_harvester(settings, sources, fetcher, repository, writer_process=True)
    specs = list(sources.enabled)
    admitted = asyncio.Semaphore(settings.concurrency)

    async def one(spec: Any) -> Any:
        async with admitted:
            return await harvester.harvest(spec, force=True)

    passes: dict[str, Any] = {}
    try:
        await one(specs[0])  # warm-up: the writer process and the HTTP client are up, as in a running daemon
        for label, switch in (("not_modified", "on"), ("same_bytes", "off")):
            with urllib.request.urlopen(f"{cfg['server_url']}/_bench/validators/{switch}", timeout=10) as answer:
                answer.read()
            profiler = None
            if cfg.get("profile"):
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            before, begun = cpu_s(), time.perf_counter()
            summaries = await asyncio.gather(*(one(s) for s in specs))
            wall, after = time.perf_counter() - begun, cpu_s()
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(f"{cfg['profile']}.{label}")
            passes[label] = {
                "wall_s": wall,
                "cpu_s": (after[0] - before[0]) + (after[1] - before[1]),
                "cpu_writer_s": after[1] - before[1],
                "items_new": sum(s.items_new for s in summaries),
                "outcomes": dict(Counter(str(s.outcome) for s in summaries)),
            }
    finally:
        await harvester.aclose()
        await fetcher.aclose()
        repository.engine.dispose()
    return passes


def run_peer(conn: Connection, cfg: dict[str, Any]) -> None:
    """Child-process entry: the naive sequential client (httpx.Client.get + feedparser.parse), no storage."""
    try:
        conn.send(_run_peer(cfg))
    except BaseException as exc:
        import traceback

        conn.send({"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})
        raise


def _run_peer(cfg: dict[str, Any]) -> dict[str, Any]:
    import feedparser
    import httpx

    rss_after_import = _maxrss_bytes()
    urls: list[str] = cfg["urls"]
    items = 0
    utime0, stime0 = _cpu()
    start = time.perf_counter()
    with httpx.Client(trust_env=False, timeout=30.0) as client:
        for url in urls:
            response = client.get(url)
            response.raise_for_status()
            items += len(feedparser.parse(response.content).entries)
    wall = time.perf_counter() - start
    utime1, stime1 = _cpu()
    return {
        "wall_s": wall,
        "cpu_user_s": utime1 - utime0,
        "cpu_sys_s": stime1 - stime0,
        "feeds": len(urls),
        "items_parsed": items,
        "rss_after_import_bytes": rss_after_import,
        "peak_rss_bytes": _maxrss_bytes(),
    }


def _in_child(ctx: Any, target: Any, cfg: dict[str, Any], label: str) -> dict[str, Any]:
    parent, child = ctx.Pipe()
    process = ctx.Process(target=target, args=(child, cfg), name=f"bench-{label}")
    process.start()
    child.close()
    try:
        result = parent.recv()
    except EOFError:
        result = {"error": f"{label} child died without a result"}
    process.join()
    if "error" in result:
        sys.stderr.write(result.get("traceback", "") + "\n")
        raise SystemExit(f"FAIL: {label} run failed: {result['error']}")
    if process.exitcode != 0:
        raise SystemExit(f"FAIL: {label} child exited with {process.exitcode}")
    return result


# --------------------------------------------------------------------------- orchestration


def politeness_floor(
    requests: int, latency: float, per_host_concurrency: int, concurrency: int, per_host_delay: float
) -> float:
    """Least wall time the per-host limits allow for ``requests`` requests to one host.

    At most min(per_host_concurrency, concurrency) requests are in flight, each taking ``latency``,
    so they complete in ceil(requests / that) waves; with a per-host delay, request starts are also
    spaced ``per_host_delay`` apart, so the pass cannot be shorter than requests x per_host_delay.
    """
    slots = min(per_host_concurrency, concurrency)
    return max(math.ceil(requests / slots) * latency, requests * per_host_delay)


def write_sources(path: Path, port: int, sources: int, items: int) -> None:
    from ruamel.yaml import YAML

    data = {
        "defaults": {"schedule": "1h", "language": "zh", "timezone": "Asia/Shanghai", "max_items": items},
        "sources": [
            {"id": f"bench-{i:05d}", "name": f"基准源{i}", "kind": "feed", "url": f"http://{HOST}:{port}{feed_path(i)}"}
            for i in range(sources)
        ],
    }
    yaml = YAML()
    yaml.default_flow_style = False
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(data, handle)


def count_rows(db_path: Path) -> dict[str, Any]:
    with sqlite3.connect(db_path) as db:
        return {
            "articles": db.execute("SELECT count(*) FROM articles").fetchone()[0],
            "distinct_urls": db.execute("SELECT count(DISTINCT url) FROM articles").fetchone()[0],
            "candidates": db.execute("SELECT count(*) FROM candidates").fetchone()[0],
            "stories": db.execute("SELECT count(*) FROM stories").fetchone()[0],
            "runs_ok": db.execute("SELECT count(*) FROM fetch_runs WHERE outcome = 'ok'").fetchone()[0],
            "runs_not_modified": db.execute(
                "SELECT count(*) FROM fetch_runs WHERE outcome = 'not_modified'"
            ).fetchone()[0],
            "db_bytes": sum(p.stat().st_size for p in db_path.parent.glob(db_path.name + "*")),
        }


def _git_revision() -> str | None:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return rev + ("+dirty(src)" if dirty else "")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n", 1)[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--sources", type=int, default=1000, help="N: feed sources, all on host 127.0.0.1")
    p.add_argument("--items", type=int, default=10, help="M: items per feed")
    p.add_argument("--latency", type=float, default=0.05, help="seconds the server waits before every response")
    p.add_argument("--concurrency", type=int, default=64, help="product setting: requests in flight overall")
    p.add_argument("--per-host-concurrency", type=int, default=8, help="product setting: requests in flight per host")
    p.add_argument(
        "--per-host-delay",
        type=float,
        default=0.0,
        help="product setting: min seconds between request starts to one host",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="R",
        help="product passes, each on a fresh database; the median one is reported",
    )
    p.add_argument(
        "--peer-sample",
        type=int,
        default=0,
        metavar="K",
        help="time the sequential peer on K feeds and extrapolate to N (0 = all N feeds)",
    )
    p.add_argument("--no-peer", action="store_true", help="skip the sequential peer")
    p.add_argument(
        "--second-pass",
        action="store_true",
        help="after the pass, harvest the same feeds twice more with nothing new (answered 304, then the same bytes "
        "without validators) and print each pass's CPU per feed",
    )
    p.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="write a cProfile of the product pass to FILE (pstats format; the pass runs slower while profiled)",
    )
    p.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="product log level (the CLI default is INFO: one line per source); logs go to a temp file",
    )
    p.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results", help="where the JSON result goes")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (sources.yaml, SQLite files, log)")
    args = p.parse_args(argv)
    if args.sources < 1 or args.items < 1 or args.items > MAX_ITEMS_LIMIT:
        p.error(f"--sources must be >= 1 and --items within 1..{MAX_ITEMS_LIMIT} (SourceSpec.max_items)")
    if args.latency < 0 or args.per_host_delay < 0 or args.peer_sample < 0 or args.repeat < 1:
        p.error("--latency, --per-host-delay and --peer-sample must be >= 0, --repeat >= 1")
    return args


class _Server:
    """Handle on the feed-server child process."""

    def __init__(self, ctx: Any, sources: int, items: int, latency: float) -> None:
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=serve, args=(child, sources, items, latency), name="bench-server", daemon=True
        )
        self._process.start()
        child.close()
        self.port: int = self._conn.recv()["port"]

    def call(self, command: str) -> Any:
        self._conn.send(command)
        return self._conn.recv()

    def close(self) -> None:
        try:
            if self._process.is_alive():
                self.call("stop")
        except (OSError, EOFError):
            pass
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    n, m = args.sources, args.items
    ctx = mp.get_context("spawn")
    workdir = Path(tempfile.mkdtemp(prefix="nh-bench-"))
    load_before = os.getloadavg()
    server = _Server(ctx, n, m, args.latency)
    try:
        sources_path = workdir / "sources.yaml"
        write_sources(sources_path, server.port, n, m)
        print(
            f"news_harvester harvest benchmark: {n} feeds x {m} items on http://{HOST}:{server.port} "
            f"(one host), server latency {args.latency * 1000:g} ms, workdir {workdir}",
            flush=True,
        )
        print(
            f"product settings: concurrency={args.concurrency} per_host_concurrency={args.per_host_concurrency} "
            f"per_host_delay={args.per_host_delay:g}s respect_robots=True (other settings: product defaults)",
            flush=True,
        )
        runs = []
        for attempt in range(args.repeat):
            data_dir = workdir / f"data-{attempt}"
            server.call("reset")
            run = _in_child(
                ctx,
                run_product,
                {
                    "data_dir": str(data_dir),
                    "sources_path": str(sources_path),
                    "log_path": str(workdir / "harvest.log"),
                    "concurrency": args.concurrency,
                    "per_host_concurrency": args.per_host_concurrency,
                    "per_host_delay": args.per_host_delay,
                    "log_level": args.log_level,
                    "profile": str(args.profile.resolve()) if args.profile else None,
                    "second_pass": args.second_pass,
                    "server_url": f"http://{HOST}:{server.port}",
                },
                "product",
            )
            run["server"] = server.call("stats")
            run["stored"] = count_rows(data_dir / "news_harvester.db")
            runs.append(run)
            print(f"product pass {attempt + 1}/{args.repeat}: {run['wall_s']:.2f}s", flush=True)

        peer = None
        if not args.no_peer:
            k = min(args.peer_sample or n, n)
            print(f"running the sequential peer on {k} feeds (>= {k * args.latency:.1f}s) ...", flush=True)
            server.call("reset")
            peer = _in_child(
                ctx, run_peer, {"urls": [f"http://{HOST}:{server.port}{feed_path(i)}" for i in range(k)]}, "peer"
            )
            peer["server"] = server.call("stats")
    finally:
        server.close()

    result = summarise(args, runs, peer, load_before)
    print_table(result)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.results_dir / f"harvest-{stamp}-{n}x{m}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"JSON: {out}")
    if args.keep:
        print(f"kept workdir: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)

    failures = verify(result)
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    if failures:
        print(f"FAIL: {len(failures)} check(s) failed, see above", file=sys.stderr)
    return 1 if failures else 0


def _product_derived(run: dict[str, Any], floor: float) -> dict[str, Any]:
    wall = run["wall_s"]
    cpu = run["cpu_user_s"] + run["cpu_sys_s"]
    busy = run.get("machine_busy_cpu_s")
    return {
        **run,
        "cpu_s": cpu,
        "cpu_per_feed_ms": cpu / max(run["sources_run"], 1) * 1000,
        "loop_busy_fraction": cpu / wall,
        "articles_per_s": run["stored"]["articles"] / wall,
        "feeds_per_s": run["sources_run"] / wall,
        "actual_over_floor": wall / floor if floor else None,
        # CPU used by processes other than the harvester and the feed server while the pass ran
        "other_processes_cpu_s": (busy - cpu - run["server"]["server_cpu_s"]) if busy is not None else None,
    }


def summarise(
    args: argparse.Namespace,
    runs: list[dict[str, Any]],
    peer: dict[str, Any] | None,
    load_before: tuple[float, float, float],
) -> dict[str, Any]:
    n, m = args.sources, args.items
    requests = n + 1  # every feed once, plus robots.txt once for the single origin
    floor = politeness_floor(requests, args.latency, args.per_host_concurrency, args.concurrency, args.per_host_delay)
    derived = [_product_derived(run, floor) for run in runs]
    walls = sorted(d["wall_s"] for d in derived)
    median = sorted(derived, key=lambda d: d["wall_s"])[(len(derived) - 1) // 2]
    result: dict[str, Any] = {
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "revision": _git_revision(),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_before": load_before,
        },
        "params": {
            "sources": n,
            "items": m,
            "latency_s": args.latency,
            "host": HOST,
            "concurrency": args.concurrency,
            "per_host_concurrency": args.per_host_concurrency,
            "per_host_delay_s": args.per_host_delay,
            "respect_robots": True,
            "log_level": args.log_level,
            "repeat": args.repeat,
        },
        "expected_articles": n * m,
        "floor": {
            "requests": requests,
            "slots": min(args.per_host_concurrency, args.concurrency),
            "floor_s": floor,
            "formula": "max(ceil(requests / min(per_host_concurrency, concurrency)) * latency, "
            "requests * per_host_delay); requests = N feeds + 1 robots.txt",
        },
        "product": median,
        "product_walls_s": walls,
        "product_runs": derived,
    }
    if peer is not None:
        k = peer["feeds"]
        peer_wall_n = peer["wall_s"] * n / k
        peer_floor = n * args.latency
        result["peer"] = {
            **peer,
            "extrapolated": k < n,
            "wall_s_for_n": peer_wall_n,
            "items_per_s": peer["items_parsed"] / peer["wall_s"],
            "feeds_per_s": k / peer["wall_s"],
            "cpu_s": peer["cpu_user_s"] + peer["cpu_sys_s"],
            "cpu_per_feed_ms": (peer["cpu_user_s"] + peer["cpu_sys_s"]) / k * 1000,
            "floor_s_for_n": peer_floor,
            "actual_over_floor": peer_wall_n / peer_floor if peer_floor else None,
            "overhead_per_feed_ms": (peer["wall_s"] / k - args.latency) * 1000,
        }
        result["speedup"] = peer_wall_n / median["wall_s"]
    return result


def verify(result: dict[str, Any]) -> list[str]:
    failures = []
    expected = result["expected_articles"]
    n = result["params"]["sources"]
    for index, run in enumerate(result["product_runs"], 1):
        stored = run["stored"]
        where = f"product pass {index}"
        if stored["articles"] != expected:
            failures.append(f"{where}: stored {stored['articles']} article rows, expected {expected} (N x M)")
        if stored["distinct_urls"] != expected or stored["candidates"] != expected:
            failures.append(
                f"{where}: distinct urls {stored['distinct_urls']} / candidates {stored['candidates']}, "
                f"expected {expected}"
            )
        unchanged = run.get("second_pass") or {}
        runs = n + sum(u["outcomes"].get("ok", 0) + u["outcomes"].get("not_modified", 0) for u in unchanged.values())
        runs += 1 if unchanged else 0  # the warm-up run of one source before the unchanged passes
        if run["outcomes"].get("ok", 0) != n or stored["runs_ok"] + stored.get("runs_not_modified", 0) != runs:
            failures.append(
                f"{where}: outcomes {run['outcomes']} (runs ok / not modified in DB: {stored['runs_ok']} / "
                f"{stored.get('runs_not_modified')}), expected {n} ok; top errors: {run['errors_top']}"
            )
        for label, again in unchanged.items():
            if again["items_new"] != 0 or sum(again["outcomes"].values()) != n:
                failures.append(f"{where}, unchanged pass {label}: {again['items_new']} new, {again['outcomes']}")
        if unchanged and unchanged["not_modified"]["outcomes"].get("not_modified", 0) != n:
            failures.append(f"{where}: the server answered 304, yet outcomes {unchanged['not_modified']['outcomes']}")
        if run["items_new"] != expected:
            failures.append(f"{where}: summaries report {run['items_new']} new items, expected {expected}")
        if run["server"]["max_in_flight"] > result["floor"]["slots"]:
            failures.append(
                f"{where}: server saw {run['server']['max_in_flight']} requests in flight, above the "
                f"per-host limit {result['floor']['slots']}"
            )
    peer = result.get("peer")
    if peer is not None and peer["items_parsed"] != peer["feeds"] * result["params"]["items"]:
        failures.append(
            f"peer parsed {peer['items_parsed']} items from {peer['feeds']} feeds, "
            f"expected {peer['feeds'] * result['params']['items']}"
        )
    return failures


def _ratio(value: float | None) -> str:
    return "n/a (floor 0)" if value is None else f"{value:.2f}x"


def print_table(r: dict[str, Any]) -> None:
    p, prm = r["product"], r["params"]
    peer = r.get("peer")
    mib = 1024 * 1024

    def row(label: str, product_value: str, peer_value: str = "") -> None:
        print(f"  {label:<30}{product_value:>18}   {peer_value}")

    def both(label: str, fmt: str, key: str, peer_key: str | None = None) -> None:
        row(label, fmt.format(p[key]), fmt.format(peer[peer_key or key]) if peer else "")

    print()
    print(
        f"RESULT  {prm['sources']} feeds x {prm['items']} items = {r['expected_articles']} articles, "
        f"latency {prm['latency_s'] * 1000:g} ms, one host 127.0.0.1"
    )
    print(
        f"        product settings: concurrency={prm['concurrency']} per_host_concurrency="
        f"{prm['per_host_concurrency']} per_host_delay={prm['per_host_delay_s']:g}s"
    )
    peer_head = ""
    if peer:
        peer_head = "peer: sequential httpx.Client + feedparser" + (
            f" (EXTRAPOLATED from {peer['feeds']} feeds)" if peer["extrapolated"] else ""
        )
    row("", "product" + (f" (median of {prm['repeat']})" if prm["repeat"] > 1 else ""), peer_head)
    both("wall time", "{:.2f} s", "wall_s", "wall_s_for_n")
    if prm["repeat"] > 1:
        row("  all passes", " ".join(f"{w:.2f}" for w in r["product_walls_s"]) + " s")
    row("articles/s (stored | parsed)", f"{p['articles_per_s']:.0f}", f"{peer['items_per_s']:.0f}" if peer else "")
    both("feeds/s", "{:.1f}", "feeds_per_s")
    row(
        "politeness floor",
        f"{r['floor']['floor_s']:.2f} s",
        f"{peer['floor_s_for_n']:.2f} s (N x latency)" if peer else "",
    )
    row("actual / floor", _ratio(p["actual_over_floor"]), _ratio(peer["actual_over_floor"]) if peer else "")
    row(
        "CPU user+sys (incl. writer)",
        f"{p['cpu_s']:.2f} s",
        f"{peer['cpu_s']:.2f} s" + (" (sample only)" if peer["extrapolated"] else "") if peer else "",
    )
    both("CPU per feed", "{:.2f} ms", "cpu_per_feed_ms")
    row(
        "peak RSS (ru_maxrss)",
        f"{p['peak_rss_bytes'] / mib:.0f} MiB",
        f"{peer['peak_rss_bytes'] / mib:.0f} MiB" if peer else "",
    )
    row(
        "  writer process (ru_maxrss)",
        f"{p.get('children_peak_rss_bytes', 0) / mib:.0f} MiB",
        "",
    )
    row(
        "  RSS after imports",
        f"{p['rss_after_import_bytes'] / mib:.0f} MiB",
        f"{peer['rss_after_import_bytes'] / mib:.0f} MiB" if peer else "",
    )
    s = p["server"]
    row(
        "server: max / mean in flight",
        f"{s['max_in_flight']} / {s['mean_in_flight']:.1f}",
        f"{peer['server']['max_in_flight']} / {peer['server']['mean_in_flight']:.1f}" if peer else "",
    )
    row("server: requests", f"{s['requests_total']}", f"{peer['server']['requests_total']}" if peer else "")
    first = p["first_source_done_s"]
    row("first / median source done", f"{first:.2f} / {p['p50_source_done_s']:.2f} s" if first is not None else "-")
    unchanged = p.get("second_pass") or {}
    feeds = max(1, prm["sources"])
    for label, again in unchanged.items():
        what = "304 Not Modified" if label == "not_modified" else "the same bytes, no validators"
        print(
            f"  pass with nothing new ({what}): {again['wall_s']:.2f} s, CPU {again['cpu_s'] * 1000 / feeds:.2f} ms "
            f"per feed, of which the writer process {again.get('cpu_writer_s', 0) * 1000 / feeds:.2f} ms (one "
            f"harvester and writer process kept, as in the daemon), "
            f"{again['items_new']} new, outcomes {again['outcomes']}"
        )
    if peer:
        print(
            f"  SPEED-UP peer/product: {r['speedup']:.2f}x"
            + (" (peer time extrapolated)" if peer["extrapolated"] else "")
        )
    stored = p["stored"]
    print(
        f"  stored: {stored['articles']} articles ({stored['distinct_urls']} distinct URLs), "
        f"{stored['candidates']} candidates, {stored['runs_ok']} ok runs; outcomes {p['outcomes']}; "
        f"SQLite {stored['db_bytes'] / mib:.1f} MiB"
    )
    floor = r["floor"]
    print(
        f"  floor = max(ceil({floor['requests']} requests / {floor['slots']} slots) x {prm['latency_s']:g} s, "
        f"{floor['requests']} x {prm['per_host_delay_s']:g} s) = {floor['floor_s']:.2f} s "
        "(requests = N feeds + 1 robots.txt)"
    )
    other = p.get("other_processes_cpu_s")
    load = r["machine"]["loadavg_before"][0]
    print(
        f"  harvester event loop busy {p['loop_busy_fraction']:.0%} of wall; feed server CPU "
        f"{s['server_cpu_s']:.1f} s; "
        + (f"other processes used {other:.1f} CPU-s " if other is not None else "")
        + f"on {r['machine']['cpus']} CPUs during the pass (load avg before: {load:.2f})"
    )
    print()


if __name__ == "__main__":
    sys.exit(main())
