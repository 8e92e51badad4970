"""Helpers to run the real ``news-harvester`` command as a subprocess against temp settings."""

from __future__ import annotations

import atexit
import json
import locale
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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


def run_cli(tmp: Path, *args: str, timeout: float = 120, input: str | None = None,
            **extra: str) -> subprocess.CompletedProcess[str]:
    """``python -m news_harvester ARGS`` in ``tmp`` with the test settings: its exit code, stdout and stderr.
    ``input`` is its stdin (as a script pipes a password); without it, stdin is at end of file.

    Forked from a server that has imported the command's modules once (tests/cli_forkserver.py says why and what
    differs); with ``NEWS_HARVESTER_TEST_FRESH_CLI=1`` a fresh interpreter per command, as ``.ci/run`` does."""
    command = [sys.executable, "-m", "news_harvester", *args]
    if os.environ.get("NEWS_HARVESTER_TEST_FRESH_CLI") == "1":
        stdin = None if input is not None else subprocess.DEVNULL
        return subprocess.run(command, env=cli_env(tmp, **extra), cwd=tmp, capture_output=True, text=True,
                              timeout=timeout, check=False, input=input, stdin=stdin)
    return _forkserver().run(command, [os.fspath(a) for a in args], cli_env(tmp, **extra), tmp, timeout, input)


class _ForkServer:
    """The client side of tests/cli_forkserver.py: one server per test process, started at its first command."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="nh-cli-")
        self.path = os.path.join(self.folder, "socket")
        self.log = open(os.path.join(self.folder, "server.log"), "w+b")
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("cli_forkserver.py")), self.path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
            env={k: v for k, v in os.environ.items() if not k.startswith("NEWS_HARVESTER_")},
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != b"ready":
            self.log.seek(0)
            raise RuntimeError(f"the CLI fork server did not start: {self.log.read().decode(errors='replace')}")

    def run(self, command: list[str], args: list[str], env: dict[str, str], cwd: Path,
            timeout: float, stdin: str | None) -> subprocess.CompletedProcess[str]:
        body = json.dumps({"args": args, "env": env, "cwd": os.fspath(cwd)}).encode()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as given, \
                socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            given.write((stdin or "").encode(locale.getpreferredencoding(False)))
            given.seek(0)
            conn.connect(self.path)
            socket.send_fds(conn, [struct.pack("!Q", len(body))], [out.fileno(), err.fileno(), given.fileno()])
            conn.sendall(body)
            (pid,) = struct.unpack("!q", _receive(conn, 8, None))
            try:
                (code,) = struct.unpack("!q", _receive(conn, 8, timeout))
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                raise subprocess.TimeoutExpired(command, timeout, _text(out), _text(err)) from None
            return subprocess.CompletedProcess(command, code, _text(out), _text(err))

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _receive(conn: socket.socket, size: int, timeout: float | None) -> bytes:
    conn.settimeout(timeout)
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise RuntimeError("the CLI fork server closed the connection (see its server.log)")
        data += chunk
    return data


def _text(stream: Any) -> str:
    """Decoded as ``subprocess.run(text=True)`` does: the locale's encoding, universal newlines."""
    stream.seek(0)
    data: bytes = stream.read()
    return data.decode(locale.getpreferredencoding(False)).replace("\r\n", "\n").replace("\r", "\n")


_SERVER: list[_ForkServer] = []
_SERVER_LOCK = threading.Lock()


def _forkserver() -> _ForkServer:
    with _SERVER_LOCK:
        if not _SERVER or _SERVER[0].process.poll() is not None:
            _SERVER[:] = [_ForkServer()]
            atexit.register(_SERVER[0].close)
        return _SERVER[0]


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


# --------------------------------------------------------------------------- reliability suite helpers

# Common characters for generated article bodies: random texts of ~260 characters share almost no
# 5-character shingle, so each generated group is its own story, and a reprint (same body, new URL) joins it.
_HANZI = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后"
    "多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合"
    "还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只"
    "没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边"
    "流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造"
    "百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例"
)


def article_body(rng: random.Random, length: int = 260) -> str:
    """A random Chinese paragraph (long enough for the MinHash layer, unlike a title-only flash)."""
    chars = []
    for k in range(length):
        chars.append(rng.choice(_HANZI))
        if k % 23 == 22:
            chars.append(rng.choice("，。"))
    return "".join(chars) + "。"


@dataclass
class _Item:
    url: str
    title: str
    body: str
    group: int
    generation: int
    published: str


class NewsFeeds:
    """``n_feeds`` RSS feeds on a threaded local server that grow by generations (:meth:`publish`).

    Every item is a distinct story (a random body) unless it is a reprint: the same body under a new URL in
    another feed, which must join the original's story. A feed lists the items of its last ``window``
    generations. ``groups`` maps every URL ever served to its story group, so a test can check that nothing
    served was lost or duplicated and that every reprint joined its story. ``delay`` (seconds per answer)
    can be changed at any time, e.g. slow while a process is to be killed, fast for the recovery pass."""

    def __init__(self, n_feeds: int, *, delay: float, seed: int, window: int = 2) -> None:
        self.n_feeds = n_feeds
        self.delay = delay
        self.window = window
        self.rng = random.Random(seed)
        self.generation = 0
        self.groups: dict[str, int] = {}
        self.requests = 0
        self._items: list[list[_Item]] = [[] for _ in range(n_feeds)]
        self._by_group: dict[int, _Item] = {}
        self._documents: dict[str, str] = {}
        self._lock = threading.Lock()
        self.server = HTTPServer(host="127.0.0.1", port=0, threaded=True)

    def __enter__(self) -> NewsFeeds:
        self.server.start()
        self.base = self.server.url_for("").rstrip("/")
        self.server.expect_request(re.compile(r"^/(f\d+\.xml|robots\.txt)$")).respond_with_handler(self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.clear()
        if self.server.is_running():
            self.server.stop()

    def feed_url(self, k: int) -> str:
        return f"{self.base}/f{k}.xml"

    def sources(self, **fields: object) -> list[dict[str, object]]:
        """sources.yaml entries for every feed (``max_items`` above what a feed ever lists)."""
        return [
            {"id": f"s{k}", "name": f"测试来源{k}", "kind": "feed", "url": self.feed_url(k), "schedule": "1h",
             "max_items": 500} | fields
            for k in range(self.n_feeds)
        ]

    @property
    def group_ids(self) -> list[int]:
        return sorted(self._by_group)

    def publish(self, per_feed: int, *, reprints: Sequence[int] = ()) -> list[str]:
        """A new generation: ``per_feed`` new stories in every feed, plus a reprint of each group in ``reprints``
        in a feed other than the original's. Returns the new URLs."""
        with self._lock:
            self.generation += 1
            gen = self.generation
            when = (datetime.now(UTC) - timedelta(minutes=60 - gen)).strftime("%a, %d %b %Y %H:%M:%S +0000")
            new: list[str] = []
            for k in range(self.n_feeds):
                for i in range(per_feed):
                    group = len(self._by_group) + 1
                    title = f"第{gen}批第{k}-{i}条：{article_body(self.rng, 12)}"
                    item = _Item(f"{self.base}/a/f{k}/g{gen}-{i}.html", title, article_body(self.rng), group, gen, when)
                    self._by_group[group] = item
                    self._items[k].append(item)
                    new.append(item.url)
            for n, group in enumerate(reprints):
                original = self._by_group[group]
                home = int(original.url.split("/a/f", 1)[1].split("/", 1)[0])
                k = (home + 1 + self.rng.randrange(self.n_feeds - 1)) % self.n_feeds
                item = _Item(f"{self.base}/a/f{k}/g{gen}-r{n}.html", "转载：" + original.title, original.body, group,
                             gen, when)
                self._items[k].append(item)
                new.append(item.url)
            for item in (i for feed in self._items for i in feed if i.generation == gen):
                self.groups[item.url] = item.group
            self._documents = {
                f"/f{k}.xml": feeds.rss([
                    {"title": i.title, "link": i.url, "date": i.published, "description": f"<p>{i.body}</p>"}
                    for i in reversed(self._items[k]) if i.generation > gen - self.window
                ])
                for k in range(self.n_feeds)
            }
            return new

    def _handle(self, request: Request) -> Response:
        time.sleep(self.delay)
        with self._lock:
            self.requests += 1
            body = self._documents.get(request.path)
        if body is None:
            return Response("not found", status=404)
        return Response(body, content_type="application/rss+xml; charset=utf-8")


class TestDatabase:
    """The database of one test: a SQLite file under ``tmp``, or a schema of its own on the PostgreSQL server
    of ``NEWS_HARVESTER_TEST_PG`` (created here, dropped at :meth:`close`; other engineers share the server,
    so nothing else is touched). ``rows`` reads it through a connection of its own."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, tmp: Path, kind: str) -> None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        from news_harvester.store.engine import normalize_database_url

        self.kind = kind
        self.schema: str | None = None
        if kind == "sqlite":
            self.path = tmp / "data" / "news_harvester.db"
            self.url = f"sqlite:///{self.path}"
        else:
            pg = os.environ.get("NEWS_HARVESTER_TEST_PG")
            if not pg:
                import pytest

                pytest.skip("NEWS_HARVESTER_TEST_PG is not set")
            self.schema = f"nh_rel_{uuid.uuid4().hex[:12]}"
            self._admin = create_engine(normalize_database_url(pg), poolclass=NullPool)
            with self._admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            joiner = "&" if "?" in pg else "?"
            self.url = f"{pg}{joiner}options=-csearch_path%3D{self.schema}"
        self.engine = create_engine(normalize_database_url(self.url), poolclass=NullPool)

    def env(self) -> dict[str, str]:
        """Extra environment of a ``news-harvester`` subprocess using this database."""
        return {"NEWS_HARVESTER_DATABASE_URL": self.url}

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]

    def execute(self, sql: str) -> None:
        """A statement that returns no rows, rolled back (e.g. FTS5's 'integrity-check' command)."""
        from sqlalchemy import text

        with self.engine.connect() as conn:
            conn.execute(text(sql))

    def scalar(self, sql: str, default: int = 0) -> int:
        """One integer (``default`` while the table does not exist yet, e.g. before the first migration)."""
        from sqlalchemy.exc import DBAPIError

        try:
            rows = self.rows(sql)
        except DBAPIError:
            return default
        return int(rows[0][0]) if rows and rows[0][0] is not None else default

    def close(self) -> None:
        from sqlalchemy import text

        self.engine.dispose()
        if self.schema is not None:
            with self._admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            self._admin.dispose()
