"""Soak run: the real daemon with 500 local sources on short schedules for 10 minutes while editors act.

Run:  .venv/bin/python bench/soak.py                              (500 sources, 10 minutes)
      .venv/bin/python bench/soak.py --minutes 1 --sources 60     (smoke, ~1.5 min)

What runs (details and the last measured figures in bench/README.md, "Soak run"):

1. A source server (child process, asyncio) on 127.0.0.1, one listening port per simulated site (10 sources per
   site, so the product's per-host politeness applies as with real sites), every response delayed 30-150 ms. It
   serves RSS 2.0 and Atom feeds and HTML list pages with their article pages; each source gets a new item every
   1.5-8 minutes (items appear by wall clock, ETag/304 while nothing changed), a quarter of the items are reprints
   of shared "wire" stories (same body in several feeds, half with an extra 来源 line) so dedupe joins them, and
   about 5 % of the sources misbehave: 404, 500, flapping 500, slow (8-20 s), hanging (past the read timeout),
   an HTML page instead of a feed, a truncated feed, an empty feed; a few article pages are 404.
2. sources.yaml with those sources on 1m / 2m / 3m schedules (1m is the shortest the product allows), a temp data
   dir, ``news-harvester users add`` for the editors, then the real daemon ``news-harvester run`` (web on a free
   port, JSON logs, product defaults for politeness and timeouts, start stagger 60 s, re-scoring every 3 min).
3. Simulated editors (signed in with ``POST /login``, CSRF token in ``X-CSRF-Token``) loop with 1-4 s think time:
   queue (with filters), story, then shortlist / accept / reject / snooze / restore / edit / topic correction
   carrying the version they saw (409 = someone else was faster: counted, not a failure); now and then the HTML
   queue and story pages. sources.yaml is edited every few minutes (one source's weight), so reloads run too.
4. Every ``--sample`` s: the daemon's RSS, open fds, threads, CPU (psutil), database + WAL size, ``/metrics``
   (runs, errors by code, articles, stories, scheduler lag gauge), ``/healthz`` latency probed every second.
5. After SIGTERM: fetch_runs from the database (outcomes, errors by source, start-to-start gaps against the
   schedule), wire-reprint grouping, warnings in the daemon log; a minute-by-minute table and a summary with an
   RSS regression over the second half. Samples go to ``<out>/samples.csv``, everything to ``<out>/soak.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import json
import math
import multiprocessing as mp
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from email.utils import format_datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
import psutil

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
HOST = "127.0.0.1"
PASSWORD = "soak password 123"
SOURCES_PER_SITE = 10
FEED_ITEMS = 20  # items a feed or list page shows (the newest)
BACKLOG = 6  # items every source already has when the soak starts
WIRE_BUCKET_S = 120  # wire stories: this many per bucket of publication time are shared across sources
WIRE_PER_BUCKET = 12
REPRINT_SHARE = 0.25
SCHEDULES = (("1m", 60, 0.75), ("2m", 120, 0.20), ("3m", 180, 0.05))  # schedule, seconds, share
JITTER_SHARE = 0.1  # scheduler.make_trigger: interval jitter is uniform(0, 10 % of the interval), at most 300 s
# story index memory per article: StoryService.load on the database of a 10-minute soak (4,135 articles) allocates
# 18.3 kB per article (tracemalloc: datasketch LSH storage, MinHash, dedupe.py records); bench/dedup.py: 12.5 kB
INDEX_BYTES_PER_ARTICLE = 18 * 1024
ZONE = dt.timezone(dt.timedelta(hours=8))
# misbehaving sources, in this order, one every MISBEHAVE_EVERY sources (about 5 %)
MISBEHAVIOURS = ("404", "500", "slow", "garbage", "flap", "truncated", "hang", "empty", "404", "slow", "500")
MISBEHAVE_EVERY = 20
EXPECTED_CODES = {  # behaviour → error codes its runs may end with
    "404": {"fetch.http_status"},
    "500": {"fetch.http_status"},
    "flap": {"fetch.http_status"},
    "garbage": {"parse.not_a_feed", "parse.malformed", "parse.no_items"},
    "truncated": {"parse.malformed", "parse.no_items"},
    "hang": {"fetch.timeout"},
    "empty": {"parse.no_items"},
    "slow": {"fetch.timeout"},
}

# --------------------------------------------------------------------------- the plan: sources and their behaviour


@dataclass(frozen=True)
class SourcePlan:
    index: int
    id: str
    kind: str  # rss | atom | html
    site: int  # index of the listening port
    schedule: str
    interval_s: int
    period_s: float  # a new item every period_s seconds
    offset_s: float  # first new item at t0 + offset_s
    full_text: bool
    behaviour: str  # ok or one of MISBEHAVIOURS

    @property
    def path(self) -> str:
        if self.kind == "html":
            return f"/list/{self.index:04d}/index.html"
        return f"/{self.kind}/{self.index:04d}.xml"


def make_plan(n: int, seed: int) -> list[SourcePlan]:
    rng = random.Random(seed)
    plans = []
    for i in range(n):
        roll = rng.random()
        schedule, interval = next((s, sec) for s, sec, share in _cumulative(SCHEDULES) if roll < share)
        kind = rng.choices(("rss", "atom", "html"), weights=(60, 30, 10))[0]
        behaviour = "ok"
        if i % MISBEHAVE_EVERY == MISBEHAVE_EVERY - 1:
            behaviour = MISBEHAVIOURS[(i // MISBEHAVE_EVERY) % len(MISBEHAVIOURS)]
            kind = "rss"  # the misbehaviours are defined for feeds
        period = rng.uniform(90, 480)
        plans.append(
            SourcePlan(
                index=i,
                id=f"soak-{i:04d}",
                kind=kind,
                site=i % max(1, math.ceil(n / SOURCES_PER_SITE)),
                schedule=schedule,
                interval_s=interval,
                period_s=period,
                offset_s=rng.uniform(0, period),
                full_text=kind != "html" and rng.random() < 0.1,
                behaviour=behaviour,
            )
        )
    return plans


def _cumulative(schedules: tuple[tuple[str, int, float], ...]) -> list[tuple[str, int, float]]:
    out, total = [], 0.0
    for schedule, seconds, share in schedules:
        total += share
        out.append((schedule, seconds, total))
    out[-1] = (out[-1][0], out[-1][1], 1.01)
    return out


# --------------------------------------------------------------------------- content

COMMON = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所"
    "民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那"
    "社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并"
)
TOPIC_WORDS = (
    "跨境电商", "人工智能", "数字贸易", "服务外包", "数据安全", "自由贸易协定", "5G基站", "金融科技", "集成电路",
    "数字人民币", "海外仓", "数字经济", "个人信息保护", "大模型",
)  # fmt: skip
OUTLETS = ("新华社", "中国新闻网", "商务部网站", "人民网", "经济日报")


def prose(rng: random.Random, sentences: int) -> list[str]:
    """Paragraph texts: common characters at random (every story distinct for MinHash) with topic words, so
    classification and ranking do their normal work."""
    out = []
    for _ in range(sentences):
        words = [rng.choice(TOPIC_WORDS)] if rng.random() < 0.5 else []
        words += ["".join(rng.choices(COMMON, k=rng.randint(2, 4))) for _ in range(rng.randint(10, 18))]
        rng.shuffle(words)
        out.append("".join(words) + "。")
    return ["".join(out[i : i + 3]) for i in range(0, len(out), 3)]


@dataclass(frozen=True)
class Item:
    k: int
    published: float  # epoch seconds
    title: str
    paragraphs: list[str]
    slug: str  # path part of the article URL: "<k>" or "<k>-w<bucket>_<j>" for wire reprints


def published_at(plan: SourcePlan, t0: float, k: int) -> float:
    return t0 + plan.offset_s + (k - BACKLOG) * plan.period_s


def latest_index(plan: SourcePlan, t0: float, now: float) -> int:
    return math.floor((now - t0 - plan.offset_s) / plan.period_s) + BACKLOG


def make_item(plan: SourcePlan, t0: float, k: int) -> Item:
    when = published_at(plan, t0, k)
    rng = random.Random(plan.index * 1_000_003 + k)
    if rng.random() < REPRINT_SHARE:
        bucket, j = int(when // WIRE_BUCKET_S), rng.randrange(WIRE_PER_BUCKET)
        wire = random.Random(bucket * 1_009 + j)
        title = "".join(prose(wire, 1))[:22].rstrip("。") + f"（通稿{bucket % 1000}-{j}）"
        paragraphs = prose(wire, wire.randint(6, 12))
        if rng.random() < 0.5:  # not byte-identical: the MinHash layer, not the content hash, has to join it
            paragraphs = [f"来源：{rng.choice(OUTLETS)}", *paragraphs]
        return Item(k, when, title, paragraphs, f"{k}-w{bucket}_{j}")
    title = "".join(prose(rng, 1))[:24].rstrip("。") + f"（{plan.index}-{k}）"
    return Item(k, when, title, prose(rng, rng.randint(6, 12)), str(k))


def article_path(plan: SourcePlan, item: Item) -> str:
    return f"/a/{plan.index:04d}/{item.slug}.html"


def render_feed(plan: SourcePlan, base: str, items: list[Item], *, atom: bool) -> bytes:
    entries = []
    for item in items:
        url = base + article_path(plan, item)
        body = "".join(f"<p>{escape(p)}</p>" for p in item.paragraphs)
        when = dt.datetime.fromtimestamp(item.published, ZONE)
        if atom:
            entries.append(
                f'<entry><title>{escape(item.title)}</title><link href="{url}"/><id>{url}</id>'
                f'<updated>{when.isoformat()}</updated><summary type="html">{escape(body)}</summary></entry>'
            )
        else:
            entries.append(
                f"<item><title>{escape(item.title)}</title><link>{url}</link><guid>{url}</guid>"
                f"<pubDate>{format_datetime(when)}</pubDate><description><![CDATA[{body}]]></description></item>"
            )
    if atom:
        doc = (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>浸泡测试 {plan.index}</title><id>{base}{plan.path}</id>"
            f"<updated>{dt.datetime.fromtimestamp(items[0].published if items else 0, ZONE).isoformat()}</updated>"
            f"{''.join(entries)}</feed>"
        )
    else:
        doc = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>浸泡测试 {plan.index}</title><link>{base}/</link><description>soak {plan.index}</description>"
            f"{''.join(entries)}</channel></rss>"
        )
    return doc.encode("utf-8")


def render_list(plan: SourcePlan, items: list[Item]) -> bytes:
    rows = "".join(
        f'<li><a href="{article_path(plan, i)}">{escape(i.title)}</a>'
        f"<span>{dt.datetime.fromtimestamp(i.published, ZONE):%Y-%m-%d}</span></li>"
        for i in items
    )
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>通知公告 {plan.index}</title></head><body>'
        '<div class="nav"><a href="/">首页</a> <a href="/about.html">关于我们</a></div>'
        f'<ul class="list">{rows}</ul></body></html>'
    ).encode()


def render_article(plan: SourcePlan, item: Item) -> bytes:
    when = dt.datetime.fromtimestamp(item.published, ZONE)
    body = "".join(f"<p>{escape(p)}</p>" for p in item.paragraphs)
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(item.title)}</title>'
        f'<meta name="ArticleTitle" content="{escape(item.title)}">'
        f'<meta name="PubDate" content="{when:%Y-%m-%d %H:%M}">'
        f'<meta name="ContentSource" content="浸泡测试站点{plan.site}"></head><body>'
        f'<div class="nav"><a href="/">首页</a></div><h1>{escape(item.title)}</h1>'
        f'<div class="art-con">{body}</div><div class="footer">版权所有 浸泡测试</div></body></html>'
    ).encode()


# --------------------------------------------------------------------------- source server (child process)


def serve(conn: Connection, plans: list[dict[str, Any]], t0: float, sites: int, seed: int, new_items: bool) -> None:
    """Child-process entry: one listening socket per site on 127.0.0.1, every source of the plan. Without
    ``new_items`` the sources keep the items they had at t0 (a control run: nothing new to store)."""
    table = [SourcePlan(**p) for p in plans]
    rng = random.Random(seed)
    stats: Counter[str] = Counter()
    cache: dict[int, tuple[int, bytes]] = {}  # source index → (latest item index, rendered list/feed)
    ports: list[int] = []

    def items_of(plan: SourcePlan, now: float) -> list[Item]:
        latest = latest_index(plan, t0, now)
        return [make_item(plan, t0, k) for k in range(latest, max(-1, latest - FEED_ITEMS), -1)]

    def listing(plan: SourcePlan, base: str, now: float) -> tuple[int, bytes]:
        latest = latest_index(plan, t0, now)
        hit = cache.get(plan.index)
        if hit and hit[0] == latest:
            return hit
        items = items_of(plan, now)
        body = (
            render_list(plan, items)
            if plan.kind == "html"
            else render_feed(plan, base, items, atom=plan.kind == "atom")
        )
        cache[plan.index] = (latest, body)
        return latest, body

    async def route(
        method: str, target: str, headers: dict[str, str], port: int
    ) -> tuple[int, str, bytes, dict[str, str]]:
        """Status, content type, body, extra headers; sleeps as the source's behaviour says."""
        path = target.split("?", 1)[0]
        now = time.time() if new_items else min(time.time(), t0)
        base = f"http://{HOST}:{port}"
        await asyncio.sleep(rng.uniform(0.03, 0.15))
        if path == "/robots.txt":
            return 200, "text/plain; charset=utf-8", b"User-agent: *\nAllow: /\n", {}
        match = re.fullmatch(r"/(rss|atom)/(\d{4})\.xml|/list/(\d{4})/index\.html", path)
        if match:
            plan = table[int(match.group(2) or match.group(3))]
            behaviour = plan.behaviour
            if behaviour == "404":
                return 404, "text/html; charset=utf-8", b"<html><body>404 Not Found</body></html>", {}
            if behaviour == "500" or (behaviour == "flap" and int((now - t0) // 60) % 2 == 1):
                return 500, "text/html; charset=utf-8", b"<html><body>500 Internal Server Error</body></html>", {}
            if behaviour == "slow":
                await asyncio.sleep(rng.uniform(8, 20))
            if behaviour == "hang":
                await asyncio.sleep(45)  # past the product's read timeout (30 s)
            if behaviour == "garbage":
                return (
                    200,
                    "text/html; charset=utf-8",
                    "<html><body><p>系统维护中，请稍后访问。</p></body></html>".encode(),
                    {},
                )
            if behaviour == "empty":
                return (
                    200,
                    "application/rss+xml; charset=utf-8",
                    b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>',
                    {},
                )
            latest, body = listing(plan, base, now)
            if behaviour == "truncated":
                body = body[: len(body) // 2]
            etag = f'"{plan.index}-{latest}"'
            extra = {"ETag": etag, "Cache-Control": "max-age=0"}
            if headers.get("if-none-match") == etag:
                return 304, "", b"", extra
            ctype = "text/html; charset=utf-8" if plan.kind == "html" else f"application/{plan.kind}+xml; charset=utf-8"
            return 200, ctype, body, extra
        match = re.fullmatch(r"/a/(\d{4})/(\d+)(?:-w\d+_\d+)?\.html", path)
        if match:
            plan, k = table[int(match.group(1))], int(match.group(2))
            if k > latest_index(plan, t0, now) or k % 37 == 5:  # not published yet, or a broken link
                return 404, "text/html; charset=utf-8", b"<html><body>404</body></html>", {}
            return 200, "text/html; charset=utf-8", render_article(plan, make_item(plan, t0, k)), {}
        return 404, "text/plain; charset=utf-8", b"not found\n", {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = writer.get_extra_info("sockname")[1]
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, target, version = request_line.split(" ", 2)
                headers = {}
                for line in header_lines:
                    name, _, value = line.partition(":")
                    if name:
                        headers[name.strip().lower()] = value.strip()
                status, ctype, body, extra = await route(method, target, headers, port)
                kind = "article" if target.startswith("/a/") else ("robots" if target == "/robots.txt" else "list")
                stats[f"{kind} {status}"] += 1
                close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
                reason = {200: "OK", 304: "Not Modified", 404: "Not Found", 500: "Internal Server Error"}[status]
                lines = [f"HTTP/1.1 {status} {reason}", f"Connection: {'close' if close else 'keep-alive'}"]
                if status != 304:
                    lines += [f"Content-Type: {ctype}", f"Content-Length: {len(body)}"]
                lines += [f"{k}: {v}" for k, v in extra.items()]
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body if method != "HEAD" else b""))
                await writer.drain()
                if close:
                    return
        except (ConnectionError, asyncio.CancelledError):  # the client went away, or the server stops
            return
        finally:
            writer.close()

    async def main() -> None:
        servers = []
        for _ in range(sites):
            server = await asyncio.start_server(handle, HOST, 0, backlog=256)
            servers.append(server)
            ports.append(server.sockets[0].getsockname()[1])
        conn.send({"ports": ports})
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command == "stats":
                conn.send({"requests": dict(stats), "cpu_s": time.process_time()})
            else:
                for server in servers:
                    server.close()
                conn.send("bye")
                return

    asyncio.run(main())


class SourceServer:
    """Handle on the source-server child process."""

    def __init__(self, plans: list[SourcePlan], t0: float, seed: int, new_items: bool = True) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        sites = max(p.site for p in plans) + 1
        self.process = ctx.Process(
            target=serve,
            args=(child, [asdict(p) for p in plans], t0, sites, seed, new_items),
            name="soak-server",
            daemon=True,
        )
        self.process.start()
        child.close()
        self.ports: list[int] = self._conn.recv()["ports"]

    def stats(self) -> dict[str, Any]:
        self._conn.send("stats")
        result: dict[str, Any] = self._conn.recv()
        return result

    def close(self) -> None:
        with contextlib.suppress(OSError, EOFError):
            if self.process.is_alive():
                self._conn.send("stop")
                self._conn.recv()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)


def write_sources(path: Path, plans: list[SourcePlan], ports: list[int], weight_bump: int = 0) -> None:
    """sources.yaml for the plan (atomically: the daemon re-reads it while running)."""
    lines = ["# generated by bench/soak.py", "defaults:", "  timezone: Asia/Shanghai", "  language: zh", "sources:"]
    for p in plans:
        weight = 5 + (p.index % 5) + (weight_bump if p.index == 0 else 0)
        lines += [
            f"  - id: {p.id}",
            f"    name: 浸泡源{p.index}",
            f"    kind: {'html' if p.kind == 'html' else 'feed'}",
            f"    url: http://{HOST}:{ports[p.site]}{p.path}",
            f"    schedule: {p.schedule}",
            f"    weight: {weight}",
        ]
        if p.full_text:
            lines.append("    full_text: true")
        if p.kind == "html":
            lines += [
                "    selectors:",
                '      item: ["ul.list li"]',
                '      link: ["a[href]"]',
                '      date: ["span"]',
                '      body: [".art-con"]',
            ]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)


# --------------------------------------------------------------------------- daemon and CLI


def cli_env(work: Path, port: int, args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_HARVESTER_")}
    env |= {
        "NEWS_HARVESTER_DATA_DIR": str(work / "data"),
        "NEWS_HARVESTER_SOURCES": str(work / "sources.yaml"),
        "NEWS_HARVESTER_TOPICS": str(ROOT / "config" / "topics.yaml"),
        "NEWS_HARVESTER_BIND": f"{HOST}:{port}",
        "NEWS_HARVESTER_LOG_LEVEL": "INFO",
        "NEWS_HARVESTER_LOG_FORMAT": "json",
        "NEWS_HARVESTER_START_STAGGER": str(args.stagger),
        "NEWS_HARVESTER_RESCORE_INTERVAL": str(args.rescore_interval),
        "PYTHONUNBUFFERED": "1",
    }
    return env


def cli(env: dict[str, str], cwd: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "news_harvester", *args], input=stdin, env=env, cwd=cwd,
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"FAIL: news-harvester {' '.join(args)}: {done.stderr}")
    return done.stdout


def product_info(cwd: Path) -> dict[str, str]:
    """Which news_harvester the daemon will import (PYTHONPATH may point at another checkout) and its revision."""
    module = subprocess.run(
        [sys.executable, "-c", "import news_harvester; print(news_harvester.__file__)"],
        capture_output=True, text=True, cwd=cwd, check=False,
    ).stdout.strip()  # fmt: skip
    revision = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if module.startswith(str(ROOT)) and dirty:
        revision += " + uncommitted changes in src/"
    elif not module.startswith(str(ROOT)):
        revision = f"unknown: a copy outside {ROOT} (whose HEAD is {revision})"
    return {"module": module, "revision": revision}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- metrics

_LINE = re.compile(r"^([a-zA-Z_:][\w:]*)(\{.*\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Prometheus text format → name → [(labels, value)]."""
    out: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match:
            labels = dict(_LABEL.findall(match.group(2) or ""))
            with contextlib.suppress(ValueError):
                out[match.group(1)].append((labels, float(match.group(3))))
    return out


def metric_sum(metrics: dict[str, list[tuple[dict[str, str], float]]], name: str, **where: str) -> float:
    return sum(v for labels, v in metrics.get(name, []) if all(labels.get(k) == w for k, w in where.items()))


def metric_by(metrics: dict[str, list[tuple[dict[str, str], float]]], name: str, label: str) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for labels, value in metrics.get(name, []):
        out[labels.get(label, "")] += value
    return dict(out)


# --------------------------------------------------------------------------- editors


@dataclass
class EditorStats:
    ops: Counter[str] = field(default_factory=Counter)  # "<op> <ok|conflict|fail>"
    failures: Counter[str] = field(default_factory=Counter)  # "<op> <status or exception>"
    latency_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    examples: list[str] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        out = Counter[str]()
        for key, n in self.ops.items():
            out[key.rsplit(" ", 1)[1]] += n
        return {"ok": out["ok"], "conflict": out["conflict"], "fail": out["fail"]}


TOPIC_IDS = ("ai", "cross-border-ecommerce", "digital-trade", "data-security", "fintech", "semiconductors")
QUERIES = ("跨境电商", "人工智能", "数据安全", "海外仓", "集成电路", "金融")


async def editor(
    name: str, base_url: str, deadline: float, stats: EditorStats, seed: int, think: tuple[float, float]
) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, trust_env=False) as client:

        async def call(op: str, method: str, path: str, **kw: Any) -> httpx.Response | None:
            started = time.perf_counter()
            try:
                response = await client.request(method, path, **kw)
            except httpx.HTTPError as exc:
                stats.ops[f"{op} fail"] += 1
                stats.failures[f"{op} {type(exc).__name__}"] += 1
                return None
            stats.latency_ms[op].append((time.perf_counter() - started) * 1000)
            if response.status_code == 409:
                stats.ops[f"{op} conflict"] += 1
            elif response.status_code >= 400:
                stats.ops[f"{op} fail"] += 1
                stats.failures[f"{op} HTTP {response.status_code}"] += 1
                if len(stats.examples) < 20:
                    stats.examples.append(f"{name} {method} {path}: {response.status_code} {response.text[:200]}")
            else:
                stats.ops[f"{op} ok"] += 1
            return response

        login = await call("login", "POST", "/login", json={"name": name, "password": PASSWORD})
        if login is None or login.status_code != 200:
            return
        client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        while time.monotonic() < deadline:
            await asyncio.sleep(rng.uniform(*think))
            if time.monotonic() >= deadline:
                return
            roll = rng.random()
            params: dict[str, Any] = {}
            if roll < 0.15:
                params = {"topic": rng.choice(TOPIC_IDS)}
            elif roll < 0.25:
                params = {"q": rng.choice(QUERIES)}
            elif roll < 0.35:
                params = {"state": rng.choice(["shortlisted", "snoozed", "accepted", "rejected"])}
            elif roll < 0.40:
                params = {"page": 2}
            if rng.random() < 0.15:
                await call("queue page", "GET", "/", params=params)
            queue = await call("queue", "GET", "/api/queue", params=params)
            if queue is None or queue.status_code != 200:
                continue
            items = queue.json()["items"]
            if not items:
                continue
            sid = rng.choice(items[:20])["id"]
            if rng.random() < 0.15:
                await call("story page", "GET", f"/stories/{sid}")
            story = await call("story", "GET", f"/api/stories/{sid}")
            if story is None or story.status_code != 200:
                continue
            candidate = story.json()["candidate"]
            version, state = candidate["version"], candidate["state"]
            await asyncio.sleep(rng.uniform(0.5, 2.0))  # reading
            if state in ("new", "shortlisted"):
                act = rng.choices(
                    ["shortlist", "accept", "reject", "snooze", "edit", "topics"],
                    weights=[30 if state == "new" else 0, 12, 25, 5, 18, 10],
                )[0]
            else:
                act = rng.choices(["restore", "edit"], weights=[70, 30])[0]
            path = f"/api/stories/{sid}/actions"
            if act == "edit":
                body = {
                    "version": version,
                    "summary": f"{dt.date.today().month} 月 {dt.date.today().day} 日，{name} 编辑的摘要。",
                }
                if rng.random() < 0.5:
                    body["title"] = f"（编辑）{rng.randrange(10_000)} 号素材标题"
                await call(act, "PATCH", f"/api/stories/{sid}", json=body)
            elif act == "topics":
                await call(
                    act, "POST", f"/api/stories/{sid}/topics", json={"version": version, "add": [rng.choice(TOPIC_IDS)]}
                )
            elif act == "reject":
                await call(act, "POST", path, json={"action": act, "version": version, "reason": "与主题无关"})
            elif act == "snooze":
                until = (dt.date.today() + dt.timedelta(days=rng.randint(1, 5))).isoformat()
                await call(act, "POST", path, json={"action": act, "version": version, "until": until})
            else:
                await call(act, "POST", path, json={"action": act, "version": version})


# --------------------------------------------------------------------------- sampling


@dataclass
class Soak:
    proc: psutil.Process
    base_url: str
    db: Path
    server: SourceServer
    editors: EditorStats
    started: float  # monotonic time the daemon answered /healthz
    samples: list[dict[str, Any]] = field(default_factory=list)
    healthz: list[tuple[float, float | None]] = field(default_factory=list)  # (t, ms or None = failed)
    metrics_failures: int = 0
    last_cpu: tuple[float, float] | None = None


async def probe_healthz(soak: Soak, deadline: float) -> None:
    async with httpx.AsyncClient(base_url=soak.base_url, timeout=10, trust_env=False) as client:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                ok = (await client.get("/healthz")).status_code == 200
            except httpx.HTTPError:
                ok = False
            ms = (time.perf_counter() - started) * 1000
            soak.healthz.append((time.monotonic() - soak.started, ms if ok else None))
            await asyncio.sleep(max(0.0, 1.0 - ms / 1000))


def db_bytes(db: Path) -> tuple[int, int]:
    main = db.stat().st_size if db.exists() else 0
    wal = db.with_name(db.name + "-wal")
    return main, wal.stat().st_size if wal.exists() else 0


async def sample(soak: Soak, client: httpx.AsyncClient) -> dict[str, Any]:
    now = time.monotonic()
    with soak.proc.oneshot():
        rss = soak.proc.memory_info().rss
        fds = soak.proc.num_fds()
        threads = soak.proc.num_threads()
        cpu = soak.proc.cpu_times()
    cpu_s = cpu.user + cpu.system
    cores = None
    if soak.last_cpu is not None:
        cores = (cpu_s - soak.last_cpu[1]) / max(now - soak.last_cpu[0], 1e-6)
    soak.last_cpu = (now, cpu_s)
    main, wal = db_bytes(soak.db)
    row: dict[str, Any] = {
        "t_s": round(now - soak.started, 1),
        "rss_mib": round(rss / 2**20, 1),
        "fds": fds,
        "threads": threads,
        "cpu_cores": round(cores, 2) if cores is not None else None,
        "db_mib": round(main / 2**20, 2),
        "wal_mib": round(wal / 2**20, 2),
        "load1": round(os.getloadavg()[0], 2),
    }
    started = time.perf_counter()
    try:
        response = await client.get("/metrics")
        response.raise_for_status()
        metrics = parse_metrics(response.text)
        row["metrics_ms"] = round((time.perf_counter() - started) * 1000, 1)
        outcomes = metric_by(metrics, "news_harvester_runs_total", "outcome")
        row |= {f"runs_{k}": int(v) for k, v in outcomes.items()}
        row["runs"] = int(sum(outcomes.values()))
        row["errors_by_code"] = {
            k: int(v) for k, v in metric_by(metrics, "news_harvester_fetch_errors_total", "code").items()
        }
        row["fetch_errors"] = sum(row["errors_by_code"].values())
        row["articles"] = int(metric_sum(metrics, "news_harvester_articles_total"))
        row["stories"] = int(metric_sum(metrics, "news_harvester_stories_total"))
        row["queue"] = {k: int(v) for k, v in metric_by(metrics, "news_harvester_queue_stories", "state").items()}
        lag = metrics.get("news_harvester_scheduler_lag_seconds")
        row["sched_lag_s"] = round(lag[0][1], 2) if lag else None
        row["failing_sources"] = sum(
            1 for _, v in metrics.get("news_harvester_source_consecutive_failures", []) if v >= 3
        )
    except (httpx.HTTPError, ValueError) as exc:
        soak.metrics_failures += 1
        row["metrics_error"] = f"{type(exc).__name__}: {exc}"[:200]
    totals = soak.editors.totals()
    row |= {"editor_ok": totals["ok"], "editor_conflict": totals["conflict"], "editor_fail": totals["fail"]}
    with contextlib.suppress(OSError, EOFError):
        server = await asyncio.to_thread(soak.server.stats)
        row["server_requests"] = sum(server["requests"].values())
    window = [ms for t, ms in soak.healthz if t > row["t_s"] - 5.5 and ms is not None]
    row["healthz_max_ms"] = round(max(window), 1) if window else None
    return row


async def sampler(soak: Soak, deadline: float, every: float) -> None:
    async with httpx.AsyncClient(base_url=soak.base_url, timeout=30, trust_env=False) as client:
        while True:
            row = await sample(soak, client)
            soak.samples.append(row)
            if len(soak.samples) % max(1, round(60 / every)) == 0:
                print(
                    f"  {row['t_s'] / 60:5.1f} min  RSS {row['rss_mib']:.0f} MiB  fds {row['fds']}  "
                    f"runs {row.get('runs', '?')}  articles {row.get('articles', '?')}  "
                    f"lag {row.get('sched_lag_s')} s  editors ok/409/fail {row['editor_ok']}/"
                    f"{row['editor_conflict']}/{row['editor_fail']}  load {row['load1']}",
                    flush=True,
                )
            if time.monotonic() >= deadline:
                return
            await asyncio.sleep(min(every, max(0.0, deadline - time.monotonic())))


async def reloader(path: Path, plans: list[SourcePlan], ports: list[int], deadline: float, every: float) -> int:
    """Edit sources.yaml (one source's weight) every ``every`` s, so the daemon's reload path runs."""
    edits = 0
    while time.monotonic() + every < deadline:
        await asyncio.sleep(every)
        edits += 1
        write_sources(path, plans, ports, weight_bump=edits % 2)
    return edits


async def run_soak(soak: Soak, args: argparse.Namespace, plans: list[SourcePlan], ports: list[int], work: Path) -> int:
    deadline = soak.started + args.minutes * 60
    tasks = [
        asyncio.create_task(probe_healthz(soak, deadline)),
        *(
            asyncio.create_task(
                editor(f"editor{k}", soak.base_url, deadline, soak.editors, args.seed * 100 + k, (1.0, 4.0))
            )
            for k in range(args.editors)
        ),
    ]
    reload_task = asyncio.create_task(reloader(work / "sources.yaml", plans, ports, deadline, args.reload_every))
    await sampler(soak, deadline, args.sample)
    await asyncio.gather(*tasks, return_exceptions=True)
    return await reload_task


# --------------------------------------------------------------------------- analysis after the run


def ts(value: str | None) -> float | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC).timestamp()


def pct(values: list[float], p: float) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def slope_per_min(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, value) points, in value per minute."""
    if len(points) < 3:
        return None
    xs, ys = [p[0] / 60 for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else None


def analyse_db(
    db: Path, plans: list[SourcePlan], started_epoch: float, soak_s: float, stagger: float
) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    by_id = {p.id: p for p in plans}
    runs = conn.execute(
        "SELECT source_id, started_at, finished_at, outcome, code, duration_ms FROM fetch_runs "
        "ORDER BY source_id, started_at"
    ).fetchall()
    outcomes = Counter(r[3] for r in runs)
    codes_expected: Counter[str] = Counter()
    codes_unexpected: Counter[str] = Counter()
    unexpected_examples: list[str] = []
    gaps: list[float] = []
    late: list[tuple[str, float]] = []
    durations = [r[5] / 1000 for r in runs if r[5] is not None and by_id.get(r[0]) and by_id[r[0]].behaviour == "ok"]
    previous: dict[str, tuple[float, str]] = {}
    for source_id, started_at, _finished, outcome, code, _ms in runs:
        plan = by_id.get(source_id)
        start = ts(started_at)
        if plan is None or start is None:
            continue
        if outcome == "error":
            if code in EXPECTED_CODES.get(plan.behaviour, set()):
                codes_expected[f"{code} ({plan.behaviour})"] += 1
            else:
                codes_unexpected[f"{code} ({plan.behaviour})"] += 1
                if len(unexpected_examples) < 10:
                    row = conn.execute(
                        "SELECT message FROM fetch_runs WHERE source_id = ? AND started_at = ?", (source_id, started_at)
                    ).fetchone()
                    unexpected_examples.append(f"{source_id} {started_at} {code}: {row[0] if row else ''}"[:300])
        before = previous.get(source_id)
        previous[source_id] = (start, outcome)
        if before is None or before[1] in ("error", "interrupted") or plan.behaviour != "ok" or plan.index == 0:
            continue  # after an error the source backs off on purpose; misbehaving and edited sources are not timed
        excess = start - before[0] - plan.interval_s
        gaps.append(excess)
        if excess > plan.interval_s * JITTER_SHARE + 5:
            late.append((source_id, excess))
    per_minute: Counter[int] = Counter()
    for r in runs:
        start = ts(r[1])
        if start is not None:
            per_minute[int((start - started_epoch) // 60)] += 1
    articles = conn.execute("SELECT count(*), count(DISTINCT story_id) FROM articles").fetchone()
    stories = conn.execute("SELECT count(*) FROM stories").fetchone()[0]
    wires: dict[str, set[int]] = defaultdict(set)
    for url, story_id in conn.execute("SELECT url, story_id FROM articles WHERE url LIKE '%-w%'"):
        match = re.search(r"-w(\d+_\d+)\.html", url)
        if match:
            wires[match.group(1)].add(story_id)
    multi = {k: v for k, v in wires.items() if v}
    reprinted = conn.execute(
        "SELECT count(*) FROM (SELECT story_id FROM articles GROUP BY story_id HAVING count(*) > 1)"
    ).fetchone()[0]
    states = dict(conn.execute("SELECT state, count(*) FROM candidates GROUP BY state").fetchall())
    audit = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0] if _has_table(conn, "audit_log") else None
    conn.close()
    expected_runs = sum(
        0.5 + max(0.0, soak_s - stagger / 2) / (p.interval_s * (1 + JITTER_SHARE / 2))
        for p in plans
        if p.behaviour == "ok"
    )
    return {
        "runs": len(runs),
        "outcomes": dict(outcomes),
        "runs_per_minute": {str(k): per_minute[k] for k in sorted(per_minute)},
        "errors_expected": dict(codes_expected.most_common()),
        "errors_unexpected": dict(codes_unexpected.most_common()),
        "unexpected_examples": unexpected_examples,
        "healthy_runs": sum(1 for r in runs if by_id.get(r[0]) and by_id[r[0]].behaviour == "ok"),
        "healthy_runs_expected_approx": round(expected_runs),
        "run_duration_s": {"p50": pct(durations, 50), "p95": pct(durations, 95), "max": max(durations, default=None)},
        "gap_excess_s": {
            "n": len(gaps),
            "p50": pct(gaps, 50),
            "p95": pct(gaps, 95),
            "max": max(gaps, default=None),
            "min": min(gaps, default=None),
            "late_runs": len(late),
            "late_examples": sorted(late, key=lambda x: -x[1])[:10],
        },
        "articles": articles[0],
        "stories_with_articles": articles[1],
        "stories": stories,
        "stories_with_reprints": reprinted,
        "wire_groups": len(multi),
        "wire_groups_split": sum(1 for v in multi.values() if len(v) > 1),
        "wire_split_examples": [f"{k}: stories {sorted(v)}" for k, v in multi.items() if len(v) > 1][:5],
        "candidate_states": states,
        "audit_rows": audit,
    }


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def analyse_log(path: Path, sigterm_epoch: float) -> dict[str, Any]:
    """WARNING and ERROR lines of the daemon's JSON log, grouped by logger and message shape; lines written
    after SIGTERM are grouped apart (runs cancelled by the stop)."""
    kinds: Counter[str] = Counter()
    at_stop: Counter[str] = Counter()
    examples: dict[str, str] = {}
    skipped_max_instances = 0
    non_json = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if line.strip():
                non_json += 1
                warning = re.search(r"\w+(Warning|Error): .*", line)  # e.g. "coroutine 'x' was never awaited"
                kinds["(not JSON) " + re.sub(r"\d+", "N", warning.group() if warning else line.strip())[:100]] += 1
            continue
        if record.get("level") not in ("WARNING", "ERROR", "CRITICAL"):
            continue
        message = record.get("message", "")
        if "maximum number of running instances" in message:
            skipped_max_instances += 1
        if record.get("stage") == "harvest" and record.get("code"):
            shape = f"harvest error {record['code']}"
        else:
            shape = re.sub(r"soak-\d{4}", "soak-N", message.split("\n")[0])
            shape = re.sub(r"\d+(\.\d+)?", "N", shape)[:100]
        key = f"{record['level']} {record.get('logger')}: {shape}"
        when = dt.datetime.fromisoformat(record["time"]).timestamp() if record.get("time") else 0.0
        (at_stop if when >= sigterm_epoch else kinds)[key] += 1
        examples.setdefault(key, message[:400])
    return {
        "kinds": dict(kinds.most_common()),
        "after_sigterm": dict(at_stop.most_common()),
        "examples": examples,
        "skipped_max_instances": skipped_max_instances,
        "non_json_lines": non_json,
    }


# --------------------------------------------------------------------------- report


def minute_table(
    samples: list[dict[str, Any]], healthz: list[tuple[float, float | None]], minutes_planned: float
) -> list[dict[str, Any]]:
    """One row per minute of the soak; the last samples (taken just after the deadline) join the last minute."""
    last_minute = max(0, math.ceil(minutes_planned) - 1)

    def minute_of(t: float) -> int:
        return min(int(t // 60), last_minute)

    rows = []
    minutes = sorted({minute_of(s["t_s"]) for s in samples})
    previous: dict[str, Any] = {}
    for minute in minutes:
        group = [s for s in samples if minute_of(s["t_s"]) == minute]
        last = group[-1]
        lags = [s["sched_lag_s"] for s in group if s.get("sched_lag_s") is not None]
        probes = [ms for t, ms in healthz if minute_of(t) == minute]
        ok_probes = [ms for ms in probes if ms is not None]
        cores = [s["cpu_cores"] for s in group if s.get("cpu_cores") is not None]
        rows.append(
            {
                "minute": minute + 1,
                "rss_mib": last["rss_mib"],
                "rss_max_mib": max(s["rss_mib"] for s in group),
                "fds_max": max(s["fds"] for s in group),
                "threads_max": max(s["threads"] for s in group),
                "db_mib": round(last["db_mib"] + last["wal_mib"], 1),
                "runs": last.get("runs", 0) - previous.get("runs", 0),
                "errors": last.get("fetch_errors", 0) - previous.get("fetch_errors", 0),
                "articles": last.get("articles", 0),
                "stories": last.get("stories", 0),
                "lag_max_s": max(lags) if lags else None,
                "healthz_p95_ms": pct(ok_probes, 95),
                "healthz_fail": sum(1 for ms in probes if ms is None),
                "editor_ok": last["editor_ok"] - previous.get("editor_ok", 0),
                "editor_409": last["editor_conflict"] - previous.get("editor_conflict", 0),
                "editor_fail": last["editor_fail"] - previous.get("editor_fail", 0),
                "cpu_cores": round(statistics.fmean(cores), 2) if cores else None,
                "load1": last["load1"],
            }
        )
        previous = last
    return rows


def _f(value: Any, fmt: str = "{}") -> str:
    return "-" if value is None else fmt.format(value)


def print_report(result: dict[str, Any]) -> None:
    rows = result["minutes"]
    print()
    print(
        f"SOAK  {result['params']['sources']} sources on {result['params']['sites']} local sites, "
        f"{result['params']['editors']} editors, {result['soak_s'] / 60:.1f} min, {os.cpu_count()} CPUs "
        f"(load avg before {result['load_before'][0]:.2f}, after {result['load_after'][0]:.2f})"
    )
    head = (
        f"{'min':>3} {'RSS MiB':>8} {'max':>6} {'fds':>4} {'thr':>4} {'DB MiB':>7} {'runs':>5} {'err':>4} "
        f"{'articles':>8} {'stories':>7} {'lag s':>6} {'hz p95':>7} {'ed ok':>6} {'409':>4} {'fail':>4} "
        f"{'cores':>5} {'load':>5}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['minute']:>3} {r['rss_mib']:>8.1f} {r['rss_max_mib']:>6.0f} {r['fds_max']:>4} {r['threads_max']:>4} "
            f"{r['db_mib']:>7.1f} {r['runs']:>5} {r['errors']:>4} {r['articles']:>8} {r['stories']:>7} "
            f"{_f(r['lag_max_s'], '{:.1f}'):>6} {_f(r['healthz_p95_ms'], '{:.0f}'):>7} {r['editor_ok']:>6} "
            f"{r['editor_409']:>4} {r['editor_fail']:>4} {_f(r['cpu_cores'], '{:.2f}'):>5} {r['load1']:>5.2f}"
        )
    s = result["summary"]
    print()
    print("SUMMARY")
    for label, value in s["lines"]:
        print(f"  {label:<28} {value}")
    print()
    print(f"VERDICT: {s['verdict']}")
    for problem in s["problems"]:
        print(f"  ! {problem}")
    print()


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    samples, db, log, ed = result["samples"], result["db"], result["log"], result["editors"]
    rss = [(s["t_s"], s["rss_mib"]) for s in samples]
    half = result["soak_s"] / 2
    second = [p for p in rss if p[0] >= half]
    slope = slope_per_min(second)
    last3 = slope_per_min([p for p in rss if p[0] >= result["soak_s"] - 180])
    arts = [(s["t_s"], s["articles"]) for s in samples if "articles" in s]
    arts_second = [a for t, a in arts if t >= half]
    art_rate = (
        (arts_second[-1] - arts_second[0]) / ((second[-1][0] - second[0][0]) / 60)
        if len(arts_second) > 1 and len(second) > 1
        else 0.0
    )
    expected = art_rate * INDEX_BYTES_PER_ARTICLE / 2**20
    fds = [s["fds"] for s in samples]
    threads = [s["threads"] for s in samples]
    fds_slope = slope_per_min([(s["t_s"], s["fds"]) for s in samples if s["t_s"] >= half])
    lags = [s["sched_lag_s"] for s in samples if s.get("sched_lag_s") is not None]
    probes = [ms for _, ms in result["healthz"] if ms is not None]
    probe_fail = sum(1 for _, ms in result["healthz"] if ms is None)
    gap = db["gap_excess_s"]
    cores = [s["cpu_cores"] for s in samples if s.get("cpu_cores") is not None]
    problems = []
    if slope is not None and slope > max(0.5, 1.25 * expected + 0.5):
        trend = (
            f"GROWTH: {slope:+.2f} MiB/min over the second half; the story index explains {expected:.2f} "
            f"({art_rate:.0f} new articles/min), {slope - expected:+.2f} MiB/min unexplained"
        )
        problems.append(trend)
    elif slope is not None and slope > 0.5:
        trend = (
            f"growth {slope:+.2f} MiB/min, explained by the story index's cost for {art_rate:.0f} new articles/min "
            f"({expected:.2f} MiB/min)"
        )
    else:
        trend = f"flat ({_f(slope, '{:+.2f}')} MiB/min over the second half)"
    if fds_slope is not None and fds_slope > 1.0:
        problems.append(f"fds grow {fds_slope:+.1f}/min over the second half ({fds[0]} → {fds[-1]})")
    if db["errors_unexpected"]:
        problems.append(f"errors on well-behaved sources: {db['errors_unexpected']}")
    if ed["totals"]["fail"]:
        problems.append(f"editor requests failed: {dict(ed['failures'])}")
    if probe_fail:
        problems.append(f"/healthz failed {probe_fail} times")
    if result["metrics_failures"]:
        problems.append(f"/metrics failed {result['metrics_failures']} times")
    if db["wire_groups_split"]:
        problems.append(
            f"{db['wire_groups_split']} of {db['wire_groups']} wire reprint groups split over several stories"
        )
    harvest_error = "WARNING news_harvester.harvest.pipeline: harvest error"
    bad_log = {k: v for k, v in log["kinds"].items() if not k.startswith(harvest_error)}
    if any(k.startswith(("ERROR", "CRITICAL")) for k in bad_log):
        problems.append(
            "ERROR lines in the daemon log: " + "; ".join(k for k in bad_log if k.startswith(("ERROR", "CRITICAL")))
        )
    stray = [k for k in log["kinds"] if k.startswith("(not JSON)") and re.search(r"Warning|Error|Traceback", k)]
    if stray:
        problems.append("the daemon wrote warnings outside its log format: " + "; ".join(stray))
    lag_growth = slope_per_min(
        [(s["t_s"], s["sched_lag_s"]) for s in samples if s.get("sched_lag_s") is not None and s["t_s"] >= half]
    )
    if lags and max(lags) > 30:
        problems.append(f"scheduler lag gauge reached {max(lags):.1f} s")
    if gap["late_runs"] and gap["n"] and gap["late_runs"] / gap["n"] > 0.05:
        problems.append(f"{gap['late_runs']} of {gap['n']} runs started more than jitter + 5 s late")
    if result["daemon"]["exit_code"] not in (0, None):
        problems.append(f"daemon exit code {result['daemon']['exit_code']}")
    edt = ed["totals"]
    dur = db["run_duration_s"]
    lines = [
        ("RSS MiB start / end / max", f"{rss[0][1]:.0f} / {rss[-1][1]:.0f} / {max(v for _, v in rss):.0f}"),
        ("RSS slope, 2nd half", f"{_f(slope, '{:+.2f}')} MiB/min (last 3 min {_f(last3, '{:+.2f}')}); "
         f"story index cost of {art_rate:.0f} new articles/min ≈ {expected:.2f} MiB/min"),
        ("RSS trend", trend),
        ("fds start / end / max", f"{fds[0]} / {fds[-1]} / {max(fds)} (2nd-half slope {_f(fds_slope, '{:+.2f}')}/min)"),
        ("threads start / end / max", f"{threads[0]} / {threads[-1]} / {max(threads)}"),
        ("daemon CPU", f"{statistics.fmean(cores):.2f} cores mean, {max(cores):.2f} max" if cores else "-"),
        ("database + WAL", f"{samples[-1]['db_mib'] + samples[-1]['wal_mib']:.1f} MiB "
         f"(WAL {samples[-1]['wal_mib']:.1f})"),
        ("runs (fetch_runs)", f"{db['runs']} {db['outcomes']}; well-behaved sources {db['healthy_runs']} "
         f"(≈{db['healthy_runs_expected_approx']} if every schedule were kept)"),
        ("run duration, healthy", f"p50 {_f(dur['p50'], '{:.2f}')} s, p95 {_f(dur['p95'], '{:.2f}')} s, "
         f"max {_f(dur['max'], '{:.1f}')} s"),
        ("errors, misbehaving sources", ", ".join(f"{k} {v}" for k, v in db["errors_expected"].items()) or "none"),
        ("errors, healthy sources", ", ".join(f"{k} {v}" for k, v in db["errors_unexpected"].items()) or "none"),
        ("log warnings/errors", ", ".join(f"{k} ×{v}" for k, v in log["kinds"].items()) or "none"),
        ("  … after SIGTERM", ", ".join(f"{k} ×{v}" for k, v in log["after_sigterm"].items()) or "none"),
        ("scheduler lag gauge", f"p50 {_f(pct(lags, 50), '{:.2f}')} s, p95 {_f(pct(lags, 95), '{:.2f}')} s, max "
         f"{_f(max(lags, default=None), '{:.2f}')} s ({len(lags)} scrapes; 2nd-half slope "
         f"{_f(lag_growth, '{:+.2f}')} s/min)"),
        ("start-to-start − interval", f"p50 {_f(gap['p50'], '{:.2f}')} s, p95 {_f(gap['p95'], '{:.2f}')} s, max "
         f"{_f(gap['max'], '{:.1f}')} s over {gap['n']} gaps (jitter alone: 0–{JITTER_SHARE * 60:.0f} s at 1m); "
         f"{gap['late_runs']} later than jitter + 5 s; {log['skipped_max_instances']} runs skipped (still running)"),
        ("/healthz latency", f"p50 {_f(pct(probes, 50), '{:.0f}')} ms, p95 {_f(pct(probes, 95), '{:.0f}')} ms, "
         f"max {_f(max(probes, default=None), '{:.0f}')} ms, {probe_fail} failed of {len(result['healthz'])}"),
        ("/metrics scrape", f"p50 {_f(pct([s['metrics_ms'] for s in samples if 'metrics_ms' in s], 50), '{:.0f}')} ms, "
         f"max {_f(max((s['metrics_ms'] for s in samples if 'metrics_ms' in s), default=None), '{:.0f}')} ms"),
        ("articles / stories", f"{db['articles']} articles in {db['stories']} stories; {db['stories_with_reprints']} "
         f"stories have reprints; wire groups {db['wire_groups']}, split {db['wire_groups_split']}"),
        ("candidates", str(db["candidate_states"])),
        ("editor actions", f"{edt['ok']} ok, {edt['conflict']} conflicts (409, expected), {edt['fail']} failed; "
         + ", ".join(f"{k} {v}" for k, v in sorted(ed["ops"].items()))),
        ("editor latency p50/p95 ms",
         ", ".join(f"{k} {v['p50']:.0f}/{v['p95']:.0f}" for k, v in ed["latency"].items())),
        ("source server", f"{result['server'].get('requests_total', '-')} requests "
         f"{result['server'].get('requests', {})}"),
        ("sources.yaml edits", f"{result['reloads']} (reloaded by the daemon)"),
        ("stop after SIGTERM", f"{result['daemon']['stop_s']} s, exit code {result['daemon']['exit_code']}"),
        ("load average", f"before {result['load_before'][0]:.2f}, after {result['load_after'][0]:.2f} "
         f"(1 min), during min/max {min(s['load1'] for s in samples):.2f}/{max(s['load1'] for s in samples):.2f}"),
    ]  # fmt: skip
    verdict = (
        ("PASS: " if not problems else "ATTENTION: ")
        + f"RSS {trend}; "
        + ("no fd growth, no unexpected errors" if not problems else f"{len(problems)} finding(s)")
    )
    return {
        "lines": lines,
        "problems": problems,
        "verdict": verdict,
        "rss_slope_mib_per_min": slope,
        "index_expected_mib_per_min": expected,
    }


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10.0, help="length of the soak after the daemon is up")
    p.add_argument("--sources", type=int, default=500)
    p.add_argument("--editors", type=int, default=4)
    p.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    p.add_argument("--stagger", type=float, default=60.0, help="NEWS_HARVESTER_START_STAGGER of the daemon")
    p.add_argument("--rescore-interval", type=int, default=180, help="NEWS_HARVESTER_RESCORE_INTERVAL")
    p.add_argument("--reload-every", type=float, default=150.0, help="seconds between sources.yaml edits")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument(
        "--no-new-items",
        action="store_true",
        help="control run: sources keep their start-up items (runs, 304s, editors, but nothing new to store)",
    )
    p.add_argument("--out", type=Path, help="output directory (default: a new temp dir)")
    p.add_argument("--keep-data", action="store_true", help="keep the database under <out>/work")
    p.add_argument("--report", type=Path, metavar="SOAK_JSON", help="print the report of an earlier run and exit")
    args = p.parse_args(argv)
    if args.sources < 1 or args.minutes <= 0 or args.editors < 0:
        p.error("--sources >= 1, --minutes > 0, --editors >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report:  # re-analyse an earlier run (summary rules may have changed since)
        earlier = json.loads(args.report.read_text(encoding="utf-8"))
        earlier["summary"] = summarise(earlier)
        print_report(earlier)
        return 0 if not earlier["summary"]["problems"] else 1
    out = args.out or Path(tempfile.mkdtemp(prefix="nh-soak-"))
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work"
    work.mkdir(exist_ok=True)
    load_before = os.getloadavg()
    t0 = time.time()
    plans = make_plan(args.sources, args.seed)
    server = SourceServer(plans, t0, args.seed, new_items=not args.no_new_items)
    port = free_port()
    env = cli_env(work, port, args)
    base_url = f"http://{HOST}:{port}"
    proc: subprocess.Popen[bytes] | None = None
    result: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "params": vars(args) | {"out": str(out), "sites": len(server.ports), "sources": args.sources},
        "load_before": load_before,
        "plan": {
            "kinds": dict(Counter(p.kind for p in plans)),
            "schedules": dict(Counter(p.schedule for p in plans)),
            "behaviours": dict(Counter(p.behaviour for p in plans)),
            "full_text": sum(p.full_text for p in plans),
        },
    }
    result["product"] = product_info(work)
    print(f"product: {result['product']['module']} (revision {result['product']['revision']})", flush=True)
    print(
        f"soak: {args.sources} sources ({result['plan']['kinds']}, schedules {result['plan']['schedules']}, "
        f"misbehaving {sum(v for k, v in result['plan']['behaviours'].items() if k != 'ok')}) on "
        f"{len(server.ports)} sites, {args.editors} editors, {args.minutes:g} min; output {out}",
        flush=True,
    )
    try:
        write_sources(work / "sources.yaml", plans, server.ports)
        cli(env, work, "db", "upgrade")
        for k in range(args.editors):
            cli(env, work, "users", "add", f"editor{k}", "--role", "editor", stdin=PASSWORD + "\n")
        log_path = out / "daemon.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "news_harvester", "run"], env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT
            )
        launched = time.monotonic()
        while True:
            if proc.poll() is not None:
                sys.exit(f"FAIL: the daemon exited: {log_path.read_text(errors='replace')[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base_url + "/healthz", timeout=1, trust_env=False).status_code == 200:
                    break
            if time.monotonic() - launched > 300:
                sys.exit("FAIL: the daemon did not answer /healthz within 300 s")
            time.sleep(0.2)
        result["daemon"] = {"startup_s": round(time.monotonic() - launched, 1)}
        print(f"daemon up in {result['daemon']['startup_s']} s (pid {proc.pid}), {base_url}", flush=True)
        soak = Soak(
            proc=psutil.Process(proc.pid),
            base_url=base_url,
            db=work / "data" / "news_harvester.db",
            server=server,
            editors=EditorStats(),
            started=time.monotonic(),
        )
        started_epoch = time.time()
        result["reloads"] = asyncio.run(run_soak(soak, args, plans, server.ports, work))
        result["soak_s"] = round(time.monotonic() - soak.started, 1)
        result["load_after"] = os.getloadavg()
        stopping, sigterm_epoch = time.monotonic(), time.time()
        proc.send_signal(signal.SIGTERM)
        try:
            code: int | None = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = None
        result["daemon"] |= {"stop_s": round(time.monotonic() - stopping, 1), "exit_code": code}
        server_stats = server.stats()
        result["server"] = server_stats | {"requests_total": sum(server_stats["requests"].values())}
        result["samples"] = soak.samples
        result["healthz"] = soak.healthz
        result["metrics_failures"] = soak.metrics_failures
        result["db"] = analyse_db(soak.db, plans, started_epoch, result["soak_s"], args.stagger)
        result["log"] = analyse_log(log_path, sigterm_epoch)
        ed = soak.editors
        result["editors"] = {
            "totals": ed.totals(),
            "ops": dict(ed.ops),
            "failures": dict(ed.failures),
            "examples": ed.examples,
            "latency": {
                op: {"n": len(v), "p50": pct(v, 50) or 0.0, "p95": pct(v, 95) or 0.0}
                for op, v in sorted(ed.latency_ms.items())
            },
        }
        result["minutes"] = minute_table(soak.samples, soak.healthz, args.minutes)
        result["summary"] = summarise(result)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        server.close()
    print_report(result)
    keys = sorted({k for s in result["samples"] for k in s if not isinstance(s[k], dict)})
    with (out / "samples.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(result["samples"])
    (out / "soak.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8"
    )
    if not args.keep_data:
        shutil.rmtree(work / "data", ignore_errors=True)
    print(f"samples: {out / 'samples.csv'}; everything: {out / 'soak.json'}; daemon log: {out / 'daemon.log'}")
    return 0 if not result["summary"]["problems"] else 1


if __name__ == "__main__":
    sys.exit(main())
