"""Helpers of the cluster tests: a local feed server that counts requests, role processes, database reads."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import psycopg
from psycopg.rows import dict_row

ROOT = Path(__file__).resolve().parents[2]


class FeedServer:
    """``/f/<source>.xml``: an RSS feed of one item, for sources in ``changing`` a new one every ``period``
    seconds; ``delays`` maps a source id to seconds before answering; ``bodies`` gives a source a fixed item
    (same text under the source's own URL: a reprint). Every request is counted per source."""

    def __init__(self, period: float = 10.0) -> None:
        self.period = period
        self.delays: dict[str, float] = {}
        self.bodies: dict[str, tuple[str, str]] = {}
        self.changing: set[str] = set()
        """Sources whose feed gains a new article every period (the others repeat theirs)."""
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if not self.path.startswith("/f/"):
                    self.send_response(404)
                    self.end_headers()
                    return
                source = self.path[3:].removesuffix(".xml")
                with server.lock:
                    server.hits[source] += 1
                time.sleep(server.delays.get(source, 0))
                body = server.feed(source).encode("utf-8")
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the worker was killed while waiting
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, source: str) -> str:
        return f"{self.base}/f/{source}.xml"

    def feed(self, source: str) -> str:
        if source in self.bodies:
            title, text = self.bodies[source]
            items = [(title, f"{self.base}/a/{source}/reprint.html", text)]
        elif source not in self.changing:
            text = f"{source} 发布了关于数字贸易的措施。"
            items = [(f"{source} 数字贸易动态", f"{self.base}/a/{source}/1.html", text)]
        else:
            bucket = int(time.time() // self.period)
            items = [
                (
                    f"{source} 第{bucket}期 数字贸易动态",
                    f"{self.base}/a/{source}/{bucket}.html",
                    f"{source} 在第 {bucket} 期发布了关于数字贸易与跨境电商的第 {bucket % 97} 项措施。",
                )
            ]
        entries = "".join(
            f"<item><title>{escape(t)}</title><link>{escape(u)}</link><guid>{escape(u)}</guid>"
            f"<pubDate>Tue, 11 Jun 2024 10:30:00 +0800</pubDate><description>{escape(d)}</description></item>"
            for t, u, d in items
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            f"<link>{self.base}/</link><description>t</description>{entries}</channel></rss>"
        )

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def write_sources(path: Path, server: FeedServer, ids: list[str], schedule: str) -> None:
    lines = ["sources:"]
    for source in ids:
        lines.append(
            f"  - {{id: {source}, name: 来源{source}, kind: feed, url: '{server.url(source)}', schedule: {schedule}}}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def role_env(tmp: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_HARVESTER_")}
    env.update(
        {
            "NEWS_HARVESTER_DATA_DIR": str(tmp / "data"),
            "NEWS_HARVESTER_SOURCES": str(tmp / "sources.yaml"),
            "NEWS_HARVESTER_TOPICS": str(ROOT / "config" / "topics.yaml"),
            "NEWS_HARVESTER_DATABASE_URL": database_url,
            "NEWS_HARVESTER_PER_HOST_DELAY": "0",
            "NEWS_HARVESTER_PER_HOST_CONCURRENCY": "16",
            "NEWS_HARVESTER_RESPECT_ROBOTS": "false",
            "NEWS_HARVESTER_RETRIES": "0",
            "NEWS_HARVESTER_MIN_SCHEDULE_INTERVAL": "1",
            "NEWS_HARVESTER_HEARTBEAT_INTERVAL": "1",
            "NEWS_HARVESTER_STALLED_TIMEOUT": "4",
            "NEWS_HARVESTER_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


class Role:
    """One ``news-harvester run --role …`` process, its output in a file."""

    def __init__(self, tmp: Path, database_url: str, role: str, name: str, *args: str, **env: str) -> None:
        self.name = name
        self.log_path = tmp / f"{name}.log"
        self.log = self.log_path.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "news_harvester", "run", "--role", role, *args],
            env=role_env(tmp, database_url, **env),
            cwd=tmp,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
        return self.proc.returncode


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def query(database_url: str, sql: str, *params: Any) -> list[dict[str, Any]]:
    """Rows of ``sql``; none while the cluster schema does not exist yet (the roles are still starting)."""
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        try:
            return list(conn.execute(sql, params).fetchall())
        except psycopg.errors.UndefinedTable:
            return []


def enqueue_housekeeping(database_url: str, name: str) -> int | None:
    """Queue one cluster-wide housekeeping job (``__rescore__``, ``__alarms__``, ``__prune__``) for this minute."""
    from news_harvester.clock import utc_now
    from news_harvester.cluster.periods import aligned_period
    from news_harvester.cluster.queue import Enqueuer, make_app
    from news_harvester.config import load_settings

    settings = load_settings(overrides={"database_url": database_url}, environ={})

    async def go() -> int | None:
        app = make_app(settings, pool_size=2)
        await app.open_async()
        try:
            now = utc_now()
            return await Enqueuer(app, "test").housekeeping(name, aligned_period(60, now), now)
        finally:
            await app.close_async()

    return asyncio.run(go())


def enqueue(database_url: str, source_id: str, *, period: Any = None) -> int | None:
    """Queue a harvest job the way a scheduler or web instance does (Enqueuer through procrastinate)."""
    from news_harvester.clock import utc_now
    from news_harvester.cluster.queue import Enqueuer, make_app
    from news_harvester.config import load_settings

    settings = load_settings(overrides={"database_url": database_url}, environ={})

    async def go() -> int | None:
        app = make_app(settings, pool_size=2)
        await app.open_async()
        try:
            return await Enqueuer(app, "test").harvest(source_id, period, utc_now())
        finally:
            await app.close_async()

    return asyncio.run(go())
