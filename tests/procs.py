"""Helpers to run the real ``news-harvester`` command as a subprocess against temp settings."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import feeds


def cli_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_HARVESTER_")}
    env.update({
        "NEWS_HARVESTER_DATA_DIR": str(tmp / "data"),
        "NEWS_HARVESTER_SOURCES": str(tmp / "sources.yaml"),
        "NEWS_HARVESTER_TOPICS": str(Path(__file__).resolve().parent.parent / "config" / "topics.yaml"),
        "NEWS_HARVESTER_PER_HOST_DELAY": "0",
        "NEWS_HARVESTER_PER_HOST_CONCURRENCY": "4",
        "NEWS_HARVESTER_RETRY_BASE_DELAY": "0.05",
        "NEWS_HARVESTER_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


def run_cli(tmp: Path, *args: str, timeout: float = 120, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "news_harvester", *args], env=cli_env(tmp, **extra), cwd=tmp,
        capture_output=True, text=True, timeout=timeout, check=False,
    )


def popen_cli(tmp: Path, *args: str, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "news_harvester", *args], env=cli_env(tmp, **extra), cwd=tmp,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


@contextmanager
def slow_feed_server(n_feeds: int, n_items: int, delay: float) -> Iterator[HTTPServer]:
    """A threaded local server with ``n_feeds`` feeds of ``n_items`` items, each answer delayed."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    base = server.url_for("").rstrip("/")
    documents = {f"/f{k}.xml": feeds.rss(feeds.items(base, n_items, prefix=f"s{k}")) for k in range(n_feeds)}

    def handler(request: Request) -> Response:
        time.sleep(delay)
        body = documents.get(request.path)
        if body is None:
            return Response("not found", status=404)
        return Response(body, content_type="application/rss+xml; charset=utf-8")

    server.expect_request(re.compile(r"^/(f\d+\.xml|robots\.txt)$")).respond_with_handler(handler)
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


def db_rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def wait_until(predicate: object, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(interval)
    return False


def drain(proc: subprocess.Popen[str]) -> list[str]:
    """Collect a process's output in the background so its pipe never fills up."""
    lines: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines
