"""Latency benchmark of the review queue page (``GET /``) on a database of 50,000 stories.

Run:  .venv/bin/python bench/web.py                          (50,000 stories, 10 clients, 30 s per phase)
      .venv/bin/python bench/web.py --stories 5000 --duration 5  (quick)

What runs (details and the measured numbers in bench/README.md):

1. A temp data dir; ``news-harvester db upgrade`` creates the schema (the product's migrations), then this
   script fills it with SQL: articles (realistic Chinese titles and bodies, FTS5 trigram index filled by the
   product's triggers), stories with scores and score parts, one candidate per story in a realistic mix of
   states, story topics, and three months of fetch runs. No ANALYZE (the product never runs it).
2. ``news-harvester users add`` (password on stdin), then the real daemon ``news-harvester run --web-only``
   on a free port; each client signs in with ``POST /login``.
3. Product: ``--clients`` concurrent clients (httpx.AsyncClient, one session each) request ``/`` with a mix
   of filters for ``--duration`` seconds: no filter, topic, state, text search of 2 characters (titles, LIKE)
   and of 3 or more (FTS5), a 7-day date range, a deep page (page=500) and topic+text+date combined.
4. Peers, in the same run: the same clients against ``/healthz`` on the same server (the HTTP stack's floor);
   then, in this process and one at a time, the product's ``Repository.queue()`` (no HTTP, no template) and a
   hand-written sqlite3 query set for the same filters (page + count + the page's topics and outlets).
5. Peak RSS of the daemon (psutil, sampled every 100 ms); EXPLAIN QUERY PLAN of the product's SQL per filter.

Prints p50/p95/p99 per filter kind, requests/s, errors, RSS and ratios; PASS/FAIL against the aim
(p95 < ``--aim-ms`` over all queue requests). Full results: bench/results/web-<timestamp>-<N>.json (git-ignored).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import psutil

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
HOST = "127.0.0.1"
PASSWORD = "bench password 123"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
WINDOW_DAYS = 90
PER_PAGE = 50

# --------------------------------------------------------------------------- realistic content

OUTLETS = [  # (source_id, display name, weight)
    ("mofcom-policy", "商务部网站", 10.0),
    ("mofcom-news", "商务部新闻办公室", 9.0),
    ("customs", "海关总署", 9.0),
    ("miit", "工业和信息化部", 9.0),
    ("cac", "中国网信网", 8.0),
    ("pbc", "中国人民银行", 9.0),
    ("xinhua", "新华网", 7.0),
    ("people", "人民网", 7.0),
    ("cctv", "央视网", 6.0),
    ("chinanews", "中国新闻网", 6.0),
    ("ce", "中国经济网", 5.0),
    ("comnews", "中国商务新闻网", 6.0),
    ("21jingji", "21世纪经济报道", 4.0),
    ("yicai", "第一财经", 4.0),
    ("cls", "财联社", 3.0),
    ("stcn", "证券时报", 4.0),
    ("tmtpost", "钛媒体", 3.0),
    ("36kr", "36氪", 3.0),
    ("sina-finance", "新浪财经", 3.0),
    ("thepaper", "澎湃新闻", 4.0),
]
TOPICS: dict[str, list[str]] = {  # topic ids of config/topics.yaml → words that carry them
    "cross-border-ecommerce": ["跨境电商", "海外仓", "跨境电子商务综合试验区", "市场采购贸易", "跨境电商平台"],
    "ai": ["人工智能", "大模型", "智能算力", "人形机器人", "生成式人工智能"],
    "digital-trade": ["数字贸易", "服务外包", "数字服务出口", "离岸服务外包", "服务贸易创新发展"],
    "trade-policy": ["自由贸易协定", "RCEP", "自由贸易试验区", "关税减让", "原产地规则"],
    "digital-infrastructure": ["5G基站", "千兆光网", "数据中心", "工业互联网", "算力网络"],
    "data-security": ["数据安全", "个人信息保护", "数据出境", "网络安全审查", "数据分类分级"],
    "fintech": ["数字人民币", "金融科技", "跨境支付", "区块链", "供应链金融"],
    "creative-content": ["网络游戏", "数字出版", "网络视听", "动漫产业", "文化出口"],
    "statistics": ["进出口总额", "统计公报", "月度数据", "外贸数据", "服务进出口"],
    "international": ["世贸组织", "欧盟", "东盟", "二十国集团", "金砖国家"],
    "semiconductors": ["集成电路", "芯片", "晶圆制造", "光刻胶", "半导体设备"],
    "digital-economy": ["数字经济", "数字化转型", "数据要素", "平台经济", "智能制造"],
}
TOPIC_SHARE = [12, 10, 9, 9, 7, 7, 7, 4, 8, 8, 6, 10]  # relative frequency of each topic as a story's main topic
OFF_TOPIC_WORDS = ["城市马拉松", "音乐节", "春运客流", "寒潮天气", "乡村旅游", "足球联赛", "美食节", "博物馆展览"]
ORGS = ["商务部", "海关总署", "工业和信息化部", "国家发展改革委", "国家网信办", "中国人民银行", "国家统计局",
        "财政部", "国务院新闻办公室", "中国贸促会", "国家数据局", "市场监管总局"]  # fmt: skip
REGIONS = ["广东省", "浙江省", "江苏省", "上海市", "北京市", "山东省", "福建省", "四川省", "湖北省", "河南省",
           "天津市", "重庆市", "海南省", "广西壮族自治区", "云南省", "安徽省", "湖南省", "陕西省"]  # fmt: skip
CITIES = ["深圳", "杭州", "宁波", "义乌", "厦门", "苏州", "广州", "成都", "郑州", "青岛", "合肥", "武汉",
          "南京", "天津", "重庆", "西安", "长沙", "昆明", "南宁", "海口"]  # fmt: skip
COUNTRIES = ["美国", "欧盟", "日本", "韩国", "新加坡", "马来西亚", "越南", "德国", "法国", "英国", "巴西",
             "俄罗斯", "印度尼西亚", "沙特阿拉伯", "澳大利亚", "泰国"]  # fmt: skip
PERIODS = ["今年前三季度", "今年上半年", "前10个月", "今年一季度", "1至8月", "去年全年", "前11个月", "本月"]
DOCS = ["关于加快发展{kw}的若干措施", "{kw}高质量发展行动方案", "关于促进{kw}规范健康发展的指导意见",
        "{kw}管理办法", "推动{kw}创新发展三年行动计划（2026—2028年）", "{kw}发展白皮书"]  # fmt: skip
TITLES = [
    "{org}：{period}{kw}规模同比增长{pct}%",
    "{org}印发《{doc}》",
    "{region}出台{kw}高质量发展若干措施",
    "{region}{kw}产业规模突破{num}亿元",
    "{org}有关负责人就《{doc}》答记者问",
    "第{n}届{kw}大会在{city}开幕",
    "{country}{kw}新规{month}月起施行 中国企业需关注",
    "{period}我国{kw}发展态势良好 {kw2}表现亮眼",
    "专家解读：{kw}如何赋能外贸新业态",
    "{city}启动{kw}专项行动 培育{n}家重点企业",
    "{org}召开{kw}工作推进会",
    "{city}{kw}企业数量达{num}家",
    "{country}与中国签署{kw}合作备忘录",
    "{kw}观察：{kw2}成新增长点",
    "{org}发布{period}{kw}运行情况",
    "{region}首个{kw}公共服务平台上线",
]
SENTENCES = [
    "{period}，{region}{kw}相关企业数量达到{num}家，同比增长{pct}%。",
    "{org}有关负责人表示，下一步将进一步完善{kw}政策体系，加大对{kw2}的支持力度。",
    "据{org}统计，{period}全国{kw}交易额达{num}亿元，占全国同类业务的{pct}%。",
    "业内人士认为，{kw}正在成为推动外贸转型升级和高质量发展的重要力量。",
    "{city}积极推动{kw}与实体经济深度融合，已建成{n}个示范园区。",
    "会议强调，要统筹发展和安全，健全{kw}监管制度，有效防范化解各类风险。",
    "{country}方面表示，愿与中方在{kw}领域加强务实合作，共同维护多边贸易体制。",
    "数据显示，{region}{kw}出口额{num}亿元，进口额{num2}亿元，均创历史同期新高。",
    "与会代表围绕{kw}、{kw2}等议题进行了深入交流，形成{n}项合作成果。",
    "《{doc}》明确了{n}个方面{n2}项重点任务，提出到2028年基本建成完善的{kw}体系。",
    "{org}将会同有关部门加强协调，推动各项措施尽快落地见效，切实减轻企业负担。",
    "从区域看，东部地区{kw}占比{pct}%，中西部地区增速快于全国平均水平。",
    "截至{month}月底，{city}累计引进{kw}项目{n}个，总投资{num}亿元。",
    "专家指出，当前{kw}发展仍面临标准不统一、人才短缺、国际规则不确定等挑战。",
    "{city}某企业负责人介绍，借助{kw}，公司海外订单同比增长{pct}%，产品销往{n}个国家和地区。",
    "下一步，{region}将围绕{kw}打造一批具有国际竞争力的龙头企业和知名品牌。",
    "{org}还发布了{n}个{kw}典型案例，供各地学习借鉴。",
    "今年以来，{kw}领域政策密集出台，市场主体信心持续增强。",
    "分析人士预计，{kw}市场规模有望在未来三年保持{pct}%左右的年均增速。",
    "在{kw2}方面，{region}探索建立了跨部门协同机制，服务效率提升{pct}%。",
]
OFF_SENTENCES = [
    "{period}，{city}举办的{kw}吸引了{num}余名市民和游客参加。",
    "主办方介绍，今年的{kw}新增了{n}个项目，现场秩序井然。",
    "{city}相关部门提前做好交通疏导和安全保障工作，确保活动顺利进行。",
    "不少参与者表示，{kw}丰富了群众的文化生活，希望明年继续举办。",
    "据了解，{city}今年已累计举办各类{kw}活动{n}场，带动消费{num}万元。",
    "气象部门提醒，近期气温波动较大，市民出行注意防寒保暖。",
]


def fill(template: str, rng: random.Random, kw: str, kw2: str) -> str:
    return template.format(
        org=rng.choice(ORGS), region=rng.choice(REGIONS), city=rng.choice(CITIES), country=rng.choice(COUNTRIES),
        period=rng.choice(PERIODS), doc=rng.choice(DOCS).format(kw=kw), kw=kw, kw2=kw2,
        num=rng.randint(12, 9800), num2=rng.randint(12, 9800), pct=round(rng.uniform(1.5, 48.0), 1),
        n=rng.randint(2, 30), n2=rng.randint(8, 40), month=rng.randint(1, 12),
    )  # fmt: skip


@dataclass
class StoryRow:
    title: str
    body: str
    topics: list[tuple[str, float]]


def make_story(rng: random.Random) -> StoryRow:
    """A story's headline and body (10–22 sentences, ~400–900 characters) built around 1–2 topics, or (15 %)
    an off-topic local-news item."""
    if rng.random() < 0.15:
        kw = rng.choice(OFF_TOPIC_WORDS)
        sentences = [fill(rng.choice(OFF_SENTENCES), rng, kw, kw) for _ in range(rng.randint(8, 14))]
        return StoryRow(f"{rng.choice(CITIES)}{kw}{rng.choice(['开幕', '圆满落幕', '吸引众多市民', '举行'])}",
                        "".join(sentences), [])  # fmt: skip
    main = rng.choices(list(TOPICS), weights=TOPIC_SHARE)[0]
    topics = [(main, round(rng.uniform(0.55, 0.98), 3))]
    if rng.random() < 0.4:
        second = rng.choice([t for t in TOPICS if t != main])
        topics.append((second, round(rng.uniform(0.5, topics[0][1]), 3)))
    words = TOPICS[main]
    kw = rng.choice(words)
    kw2 = rng.choice(TOPICS[topics[-1][0]] if len(topics) > 1 else words)
    title = fill(rng.choice(TITLES), rng, kw, kw2)
    sentences = [
        fill(rng.choice(SENTENCES), rng, rng.choice(words) if rng.random() < 0.7 else kw, kw2)
        for _ in range(rng.randint(10, 22))
    ]
    paragraphs = ["".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)]
    return StoryRow(title, "\n".join(paragraphs), topics)


def ts(when: dt.datetime) -> str:
    """A UTC datetime as SQLAlchemy stores it in SQLite."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


STATE_SHARE = {"new": 58, "shortlisted": 6, "snoozed": 3, "accepted": 11, "rejected": 22}


def populate(db: Path, n_stories: int, seed: int) -> dict[str, Any]:
    """Fill the migrated database with ``n_stories`` stories (10 % with 1–2 reprints), their candidates and
    topics, and three months of fetch runs, in one transaction; the FTS table is filled by the triggers."""
    rng = random.Random(seed)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA synchronous=OFF")
    articles, stories, candidates, topics = [], [], [], []
    article_id = 0
    state_names, state_weights = list(STATE_SHARE), list(STATE_SHARE.values())
    for story_id in range(1, n_stories + 1):
        row = make_story(rng)
        published = NOW - dt.timedelta(seconds=rng.uniform(0, WINDOW_DAYS * 86400))
        outlets = rng.sample(OUTLETS, 1 + (rng.random() < 0.1) * rng.randint(1, 2))
        canonical = article_id + 1
        for k, (source_id, name, weight) in enumerate(outlets):
            article_id += 1
            when = published + dt.timedelta(minutes=37 * k)
            title = row.title if k == 0 else f"{row.title}（{name}）"
            body = row.body if k == 0 else f"来源：{outlets[0][1]}\n{row.body}"
            articles.append((
                article_id, f"https://{source_id}.example.cn/{story_id:06d}-{k}.html", source_id, title, ts(when),
                "page", ts(when + dt.timedelta(minutes=5)), outlets[0][1], body,
                f"{story_id:032x}{k:032x}", "zh", story_id, "new" if k == 0 else "minhash", None if k == 0 else 0.82,
                name, weight,
            ))  # fmt: skip
        state = rng.choices(state_names, weights=state_weights)[0]
        confidence = row.topics[0][1] if row.topics else 0.0
        age_days = (NOW - published).total_seconds() / 86400
        parts = {
            "topic": round(confidence * 40, 2),
            "source": round(outlets[0][2] / 10 * 25, 2),
            "outlets": round(min(len(outlets) - 1, 5) / 5 * 15, 2),
            "recency": round(20 * 0.5 ** (age_days / 7), 2),
        }
        if not row.topics:
            parts["off_topic"] = -30.0
        if state == "rejected":
            parts["rejected"] = -100.0
        score = round(sum(parts.values()), 2)
        facts = {"topic_confidence": confidence, "source_weight": outlets[0][2], "outlets": len(outlets),
                 "published_at": published.isoformat(), "used": False, "rejected": state == "rejected"}  # fmt: skip
        classification = {"topics": [t for t, _ in row.topics], "confidence": confidence,
                          "off_topic": not row.topics, "threshold": 0.5, "scores": []}  # fmt: skip
        stories.append((
            story_id, canonical, ts(published), ts(published), score,
            json.dumps({"parts": parts, "facts": facts}, ensure_ascii=False), ts(NOW), len(outlets),
            json.dumps(classification, ensure_ascii=False), "bench",  ts(NOW),
        ))  # fmt: skip
        changed = published + dt.timedelta(hours=rng.uniform(1, 48))
        snoozed = ts(NOW + dt.timedelta(days=rng.uniform(-5, 20))) if state == "snoozed" else None
        candidates.append((
            canonical, state, ts(published), ts(changed) if state != "new" else None,
            "editor" if state != "new" else None, 1 if state == "new" else 2, story_id,
            "行业资讯" if state == "accepted" else None, "与上期重复" if state == "rejected" else None, snoozed,
        ))  # fmt: skip
        topics += [(story_id, topic, conf) for topic, conf in row.topics]
    runs = []
    for day in range(WINDOW_DAYS):
        for hour in range(24):
            for source_id, _, _ in OUTLETS:
                started = NOW - dt.timedelta(days=day, hours=hour, minutes=rng.uniform(0, 59))
                finished = started + dt.timedelta(seconds=2)
                runs.append((source_id, ts(started), ts(finished), "ok", 20, rng.randint(0, 3)))
    started = time.perf_counter()
    with conn:
        conn.executemany(
            "INSERT INTO articles (id, url, source_id, title, published_at, date_origin, fetched_at, attribution, "
            "body_text, content_hash, language, story_id, story_layer, story_similarity, source_name, "
            "source_weight) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            articles,
        )
        conn.executemany(
            "INSERT INTO stories (id, canonical_article_id, created_at, updated_at, score, score_parts, scored_at, "
            "outlets, classification, taxonomy_digest, classified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            stories,
        )
        conn.executemany(
            "INSERT INTO candidates (article_id, state, created_at, state_changed_at, updated_by, version, story_id, "
            "section, reject_reason, snoozed_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            candidates,
        )
        conn.executemany(
            "INSERT INTO story_topics (story_id, topic_id, confidence, origin, rejected) VALUES (?, ?, ?, 'auto', 0)",
            topics,
        )
        conn.executemany(
            "INSERT INTO fetch_runs (source_id, started_at, finished_at, outcome, items_seen, items_new) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            runs,
        )
    insert_s = time.perf_counter() - started
    fts_rows = conn.execute("SELECT count(*) FROM articles_fts").fetchone()[0]
    if fts_rows != len(articles):  # the triggers are the product's way; rebuild if they ever go
        conn.execute("INSERT INTO articles_fts(articles_fts) VALUES('rebuild')")
        conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    counts = dict(conn.execute("SELECT state, count(*) FROM candidates GROUP BY state").fetchall())
    conn.close()
    return {
        "stories": n_stories,
        "articles": len(articles),
        "story_topics": len(topics),
        "fetch_runs": len(runs),
        "states": counts,
        "insert_s": round(insert_s, 1),
        "db_mib": round(db.stat().st_size / 2**20, 1),
    }


# --------------------------------------------------------------------------- the request mix

Q2 = ["海关", "芯片", "外包", "深圳", "欧盟"]
Q3 = [
    "跨境电商",
    "人工智能",
    "海外仓",
    "数字人民币",
    "集成电路",
    "个人信息保护",
    "RCEP",
    "自由贸易试验区",
    "量子纠缠通信",
]  # fmt: skip  (the last matches nothing: the worst case for ORDER BY … LIMIT)
MIX = {  # kind → weight in the product run
    "none": 20,
    "topic": 15,
    "state": 10,
    "q2": 10,
    "q3": 20,
    "date": 10,
    "deep": 10,
    "combo": 5,
}


def request_params(kind: str, rng: random.Random) -> dict[str, Any]:
    """Query parameters of one queue request of ``kind``."""
    if kind == "none":
        return {}
    if kind == "topic":
        return {"topic": rng.choice(list(TOPICS))}
    if kind == "state":
        return {"state": rng.choice(["accepted", "rejected", "shortlisted", "snoozed", "new"])}
    if kind == "q2":
        return {"q": rng.choice(Q2)}
    if kind == "q3":
        return {"q": rng.choice(Q3)}
    if kind == "date":
        return date_range(rng)
    if kind == "deep":
        return {"page": 500}
    if kind == "combo":
        return {"topic": rng.choice(list(TOPICS)), "q": rng.choice(Q3[:6])} | date_range(rng, days=30)
    raise ValueError(kind)


def date_range(rng: random.Random, days: int = 7) -> dict[str, str]:
    start = (NOW - dt.timedelta(days=rng.uniform(days, WINDOW_DAYS))).date()
    return {"date_from": start.isoformat(), "date_to": (start + dt.timedelta(days=days - 1)).isoformat()}


# --------------------------------------------------------------------------- processes


def cli_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWS_HARVESTER_")}
    env |= {
        "NEWS_HARVESTER_DATA_DIR": str(tmp / "data"),
        "NEWS_HARVESTER_SOURCES": str(tmp / "sources.yaml"),
        "NEWS_HARVESTER_TOPICS": str(ROOT / "config" / "topics.yaml"),
        "NEWS_HARVESTER_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    return env


def cli(tmp: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "news_harvester", *args], input=stdin, env=cli_env(tmp), cwd=tmp,
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"FAIL: news-harvester {' '.join(args)}: {done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def tree(process: psutil.Process) -> list[psutil.Process]:
    """The daemon and its children (the extra web processes of ``run --web-only``)."""
    return [process, *process.children(recursive=True)]


def tree_cpu(process: psutil.Process) -> float:
    total = 0.0
    for p in tree(process):
        with contextlib.suppress(psutil.Error):
            total += sum(p.cpu_times()[:2])
    return total


class RssSampler(threading.Thread):
    """Peak RSS of a process with its children (and the latest value), sampled every 100 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.current = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.current = sum(p.memory_info().rss for p in tree(self.process))
            except psutil.Error:
                return
            self.peak = max(self.peak, self.current)
            self.stopped.wait(0.1)


# --------------------------------------------------------------------------- HTTP load


@dataclass
class Sample:
    kind: str
    ms: float
    ok: bool


@dataclass
class LoadResult:
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    client_cpu: float = 0.0
    """CPU of this (load-generating) process ÷ wall: cores taken from the server on a small machine."""
    server_cpu: float = 0.0
    """CPU of the daemon ÷ wall (psutil): 1.0 is one core busy."""


async def sign_in_all(base_url: str, users: list[str]) -> list[dict[str, str]]:
    """Every user signs in at once (as a team arriving in the morning); their session cookies."""

    async def one(name: str) -> dict[str, str]:
        async with httpx.AsyncClient(base_url=base_url, timeout=60, trust_env=False) as client:
            response = await client.post("/login", json={"name": name, "password": PASSWORD})
            response.raise_for_status()
            return dict(client.cookies)

    return list(await asyncio.gather(*(one(u) for u in users)))


async def load(base_url: str, sessions: list[dict[str, str]], duration: float,
               pick: Callable[[random.Random], tuple[str, str]], seed: int, timeout: float) -> LoadResult:  # fmt: skip
    """One client per session, each requesting ``pick(rng)`` paths back to back (closed loop, no think time)
    for ``duration`` s. A request unanswered after ``timeout`` s is an error (the server may still be at it)."""
    result = LoadResult()
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [
        httpx.AsyncClient(base_url=base_url, cookies=c, timeout=timeout, limits=limits, trust_env=False)
        for c in sessions
    ]
    try:
        deadline = time.perf_counter() + duration

        async def worker(client: httpx.AsyncClient, rng: random.Random) -> None:
            while time.perf_counter() < deadline:
                kind, path = pick(rng)
                started = time.perf_counter()
                try:
                    response = await client.get(path)
                    ok = response.status_code == 200 and (kind == "healthz" or 'id="queue"' in response.text)
                    if not ok:
                        result.errors.append(f"{path}: HTTP {response.status_code}")
                except httpx.HTTPError as exc:
                    ok = False
                    result.errors.append(f"{path}: {type(exc).__name__} after {time.perf_counter() - started:.0f} s")
                result.samples.append(Sample(kind, (time.perf_counter() - started) * 1000, ok))

        started = time.perf_counter()
        cpu = time.process_time()
        await asyncio.gather(*(worker(c, random.Random(seed * 1000 + k)) for k, c in enumerate(clients)))
        result.wall_s = time.perf_counter() - started
        result.client_cpu = (time.process_time() - cpu) / result.wall_s
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return result


async def warm_up(base_url: str, session: dict[str, str], connections: int) -> None:
    """One request of each cheap kind on each of ``connections`` fresh connections (the kernel spreads them over
    the daemon's web processes), so the first measured requests do not pay for a cold page cache or a process
    still reading its queue index."""
    for _ in range(connections):
        async with httpx.AsyncClient(base_url=base_url, cookies=session, timeout=600, trust_env=False) as client:
            for params in ({}, {"page": 500}, {"state": "rejected"}, {"topic": "ai"}, {"q": "海关"},
                           date_range(NOW_RNG)):  # fmt: skip
                await client.get("/", params=params)


NOW_RNG = random.Random(0)


ACTIVE = dict(MIX)
"""The kinds of the product run (``--only`` / ``--exclude`` narrow MIX)."""


def queue_pick(rng: random.Random) -> tuple[str, str]:
    kind = rng.choices(list(ACTIVE), weights=list(ACTIVE.values()))[0]
    params = request_params(kind, rng)
    return kind, "/?" + urlencode(params) if params else "/"


def healthz_pick(rng: random.Random) -> tuple[str, str]:
    return "healthz", "/healthz"


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def summarise(samples: list[Sample]) -> dict[str, Any]:
    ms = [s.ms for s in samples]
    return {
        "n": len(ms),
        "errors": sum(1 for s in samples if not s.ok),
        "p50": round(pct(ms, 50), 1),
        "p95": round(pct(ms, 95), 1),
        "p99": round(pct(ms, 99), 1),
        "max": round(max(ms), 1) if ms else None,
    }


# --------------------------------------------------------------------------- in-process peers


PEER_CONDITIONS = {
    "topic": "s.id IN (SELECT story_id FROM story_topics WHERE topic_id = :topic AND rejected = 0)",
    "q2": "s.id IN (SELECT story_id FROM articles WHERE title LIKE :like ESCAPE '\\')",
    "q3": "s.id IN (SELECT story_id FROM articles WHERE id IN "
    "(SELECT rowid FROM articles_fts WHERE articles_fts MATCH :phrase))",
    "date_from": "coalesce(a.published_at, a.fetched_at) >= :date_from",
    "date_to": "coalesce(a.published_at, a.fetched_at) < :date_to",
}


def day_start_utc(day: str, *, end: bool = False) -> str:
    """A day in Asia/Shanghai (the product's editor zone) as the UTC timestamp string SQLite compares."""
    local = dt.datetime.combine(dt.date.fromisoformat(day), dt.time.min, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return ts(local + dt.timedelta(days=1) if end else local)


def peer_query(conn: sqlite3.Connection, params: dict[str, Any]) -> int:
    """What a person would write with sqlite3 for one queue page: the page, the count, the page's topics and
    outlets. Same filters and semantics as the product (open states incl. expired snoozes by default)."""
    where = []
    binds: dict[str, Any] = {"now": ts(NOW), "limit": PER_PAGE, "offset": (int(params.get("page", 1)) - 1) * PER_PAGE}
    if "state" in params:
        where.append("c.state = :state")
        if params["state"] in ("new", "shortlisted"):  # as the product: a snooze that ran out is back
            where[-1] = "(c.state = :state OR (c.state = 'snoozed' AND c.snoozed_until <= :now))"
        binds["state"] = params["state"]
    else:
        where.append("(c.state IN ('new', 'shortlisted') OR (c.state = 'snoozed' AND c.snoozed_until <= :now))")
    if "topic" in params:
        where.append(PEER_CONDITIONS["topic"])
        binds["topic"] = params["topic"]
    if "q" in params:
        q = params["q"]
        if len(q) < 3:
            where.append(PEER_CONDITIONS["q2"])
            binds["like"] = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        else:
            where.append(PEER_CONDITIONS["q3"])
            binds["phrase"] = '"' + q.replace('"', '""') + '"'
    for key in ("date_from", "date_to"):
        if key in params:
            where.append(PEER_CONDITIONS[key])
            binds[key] = day_start_utc(params[key], end=key == "date_to")
    base = (
        "FROM stories s JOIN articles a ON a.id = s.canonical_article_id JOIN candidates c ON c.story_id = s.id "
        "WHERE " + " AND ".join(where)
    )
    rows = conn.execute(
        "SELECT s.id, s.score, s.score_parts, a.title, a.source_name, a.published_at, substr(a.body_text, 1, 140), "
        f"c.state, c.version {base} ORDER BY s.score DESC, s.id DESC LIMIT :limit OFFSET :offset",
        binds,
    ).fetchall()
    conn.execute(f"SELECT count(*) {base}", binds).fetchone()
    ids = [r[0] for r in rows]
    if ids:
        marks = ",".join("?" * len(ids))
        conn.execute(f"SELECT story_id, topic_id FROM story_topics WHERE story_id IN ({marks})", ids).fetchall()
        conn.execute(f"SELECT DISTINCT story_id, source_name FROM articles WHERE story_id IN ({marks})", ids).fetchall()
    return len(rows)


def tuned_query(conn: sqlite3.Connection, params: dict[str, Any]) -> int:
    """The same page as peer_query with the current schema and indexes, written for them: page ids first,
    walking ``ix_stories_score`` in score order (CROSS JOIN fixes the join order, so LIMIT stops the walk
    early and nothing is sorted); filters as uncorrelated IN subqueries (each evaluated once); the count
    without the articles join unless a date filter needs it; the page's rows fetched by id afterwards."""
    state_sql = "(c.state IN ('new', 'shortlisted') OR (c.state = 'snoozed' AND c.snoozed_until <= :now))"
    binds: dict[str, Any] = {"now": ts(NOW), "limit": PER_PAGE, "offset": (int(params.get("page", 1)) - 1) * PER_PAGE}
    if "state" in params:
        state_sql = "c.state = :state"
        if params["state"] in ("new", "shortlisted"):
            state_sql = "(c.state = :state OR (c.state = 'snoozed' AND c.snoozed_until <= :now))"
        binds["state"] = params["state"]
    where = [state_sql]
    if "topic" in params:
        where.append("c.story_id IN (SELECT story_id FROM story_topics WHERE topic_id = :topic AND rejected = 0)")
        binds["topic"] = params["topic"]
    if "q" in params:
        q = params["q"]
        if len(q) < 3:
            where.append("c.story_id IN (SELECT story_id FROM articles WHERE title LIKE :like ESCAPE '\\')")
            binds["like"] = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        else:
            where.append(
                "c.story_id IN (SELECT story_id FROM articles WHERE id IN "
                "(SELECT rowid FROM articles_fts WHERE articles_fts MATCH :phrase))"
            )
            binds["phrase"] = '"' + q.replace('"', '""') + '"'
    dated = [k for k in ("date_from", "date_to") if k in params]
    for key in dated:
        where.append(PEER_CONDITIONS[key])
        binds[key] = day_start_utc(params[key], end=key == "date_to")
    join_article = " JOIN articles a ON a.id = s.canonical_article_id" if dated else ""
    ids = [
        r[0]
        for r in conn.execute(
            f"SELECT s.id FROM stories s CROSS JOIN candidates c ON c.story_id = s.id{join_article} "
            f"WHERE {' AND '.join(where)} ORDER BY s.score DESC, s.id DESC LIMIT :limit OFFSET :offset",
            binds,
        )
    ]
    count_from = "candidates c" + (f" JOIN stories s ON s.id = c.story_id{join_article}" if dated else "")
    conn.execute(f"SELECT count(*) FROM {count_from} WHERE {' AND '.join(where)}", binds).fetchone()
    if ids:
        marks = ",".join("?" * len(ids))
        conn.execute(
            "SELECT s.id, s.score, s.score_parts, a.title, a.source_name, a.published_at, substr(a.body_text, 1, 140), "
            "c.state, c.version FROM stories s JOIN articles a ON a.id = s.canonical_article_id "
            f"JOIN candidates c ON c.story_id = s.id WHERE s.id IN ({marks})",
            ids,
        ).fetchall()
        conn.execute(f"SELECT story_id, topic_id FROM story_topics WHERE story_id IN ({marks})", ids).fetchall()
        conn.execute(f"SELECT DISTINCT story_id, source_name FROM articles WHERE story_id IN ({marks})", ids).fetchall()
    return len(ids)


class _Captured(Exception):
    """Stops a product call once its SQL is captured (the plan is wanted, not another slow run)."""


def product_filter(params: dict[str, Any]) -> Any:
    from news_harvester.store.queue import QueueFilter
    from news_harvester.store.schema import OPEN_STATES

    zone = dt.timezone(dt.timedelta(hours=8))

    def day(value: str | None, end: bool = False) -> dt.datetime | None:
        if not value:
            return None
        start = dt.datetime.combine(dt.date.fromisoformat(value), dt.time.min, tzinfo=zone)
        return start + dt.timedelta(days=1) if end else start

    return QueueFilter(
        states=(params["state"],) if "state" in params else OPEN_STATES,
        topic=params.get("topic"),
        text=params.get("q"),
        date_from=day(params.get("date_from")),
        date_to=day(params.get("date_to"), end=True),
    )


def in_process(tmp: Path, rounds: int, budget: float, seed: int) -> dict[str, Any]:
    """Per kind: the product's Repository.queue() and the sqlite3 peer, alternating on the same parameters,
    one call at a time (``rounds`` calls, fewer when a kind has used up ``budget`` seconds); and the SQL the
    product sent for the first example, with its EXPLAIN QUERY PLAN."""
    sys.path.insert(0, str(ROOT / "src"))
    from sqlalchemy import event

    from news_harvester.config import Settings
    from news_harvester.wiring import open_repository

    settings = Settings(data_dir=tmp / "data", sources=tmp / "sources.yaml", topics=ROOT / "config" / "topics.yaml")
    repository = open_repository(settings, migrate=False)  # SQL plans only
    served = open_repository(settings, migrate=False)
    served.enable_queue_index()  # as the review app serves the queue (store.queue_index)
    served.warm_queue_index()
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        captured.append((statement, parameters))
        if len(captured) == 2:  # the page query and its count: enough for the plans
            raise _Captured

    conn = sqlite3.connect(tmp / "data" / "news_harvester.db")
    out: dict[str, Any] = {}
    rng = random.Random(seed)
    for kind in MIX:
        product_ms, peer_ms, tuned_ms, served_ms = [], [], [], []
        examples = [request_params(kind, rng) for _ in range(rounds)]
        spent = time.perf_counter()
        for params in examples:
            if product_ms and time.perf_counter() - spent > budget:
                break
            page = int(params.get("page", 1))
            filters = product_filter(params)
            started = time.perf_counter()
            result = repository.queue(filters, page=page, per_page=PER_PAGE, now=NOW)
            product_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            indexed = served.queue(filters, page=page, per_page=PER_PAGE, now=NOW)
            served_ms.append((time.perf_counter() - started) * 1000)
            if [i.id for i in indexed.items] != [i.id for i in result.items] or indexed.total != result.total:
                sys.exit(f"FAIL: the queue index and the SQL plans disagree on {params}")
            started = time.perf_counter()
            peer_rows = peer_query(conn, params)
            peer_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            tuned_rows = tuned_query(conn, params)
            tuned_ms.append((time.perf_counter() - started) * 1000)
            if tuned_rows != peer_rows:
                sys.exit(f"FAIL: tuned and plain peer disagree on {params}: {tuned_rows} vs {peer_rows} rows")
            if peer_rows != len(result.items):
                sys.exit(f"FAIL: peer and product disagree on {params}: {peer_rows} vs {len(result.items)} rows")
        # the SQL of one call (the first example), with its query plan; captured, not run
        captured.clear()
        event.listen(repository.engine, "before_cursor_execute", capture)
        with contextlib.suppress(_Captured):
            repository.queue(product_filter(examples[0]), page=int(examples[0].get("page", 1)), per_page=PER_PAGE,
                             now=NOW)  # fmt: skip
        event.remove(repository.engine, "before_cursor_execute", capture)
        plans = []
        for statement, parameters in captured[:2]:  # the page query and its count
            plan = conn.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
            plans.append({"sql": statement, "params": list(parameters), "plan": [row[-1] for row in plan]})
        out[kind] = {
            "example": examples[0],
            "calls": len(product_ms),
            "product_queue": {"p50": round(statistics.median(product_ms), 1), "max": round(max(product_ms), 1)},
            "product_indexed": {"p50": round(statistics.median(served_ms), 2), "max": round(max(served_ms), 1)},
            "sqlite_peer": {"p50": round(statistics.median(peer_ms), 1), "max": round(max(peer_ms), 1)},
            "sqlite_tuned": {"p50": round(statistics.median(tuned_ms), 1), "max": round(max(tuned_ms), 1)},
            "plans": plans,
        }
    conn.close()
    repository.engine.dispose()
    served.engine.dispose()
    return out


async def asgi_request(
    app: Any, method: str, path: str, cookie: str = "", body: bytes = b""
) -> tuple[int, dict[str, str]]:
    """One request straight into the ASGI app (no socket, no client library): status and response headers."""
    target, _, query = path.partition("?")
    headers = [(b"host", b"bench"), (b"content-type", b"application/json"), (b"cookie", cookie.encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": target, "raw_path": target.encode(), "query_string": query.encode(), "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80)}  # fmt: skip
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    answer: dict[str, Any] = {"headers": {}}

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.decode(): v.decode() for k, v in message.get("headers", [])}

    await app(scope, receive, send)
    return int(answer["status"]), answer["headers"]


def breakdown(tmp: Path, user: str, rounds: int, seed: int) -> dict[str, float]:
    """Where one queue page's time goes: the product's app called in this process (no socket, no HTTP parsing),
    one request at a time over the mix, with timers around the queue (index and rows), the rows' HTML, the page
    template, the session lookup and the freshness banner; the rest is routing, dependencies, thread hand-offs,
    middleware and the response body. Mean ms of wall time (one request at a time: about its CPU)."""
    sys.path.insert(0, str(ROOT / "src"))
    from news_harvester.config import Settings
    from news_harvester.stories.assign import StoryService
    from news_harvester.stories.classifier import ClassifierSource
    from news_harvester.web import auth, pages
    from news_harvester.web.app import create_app
    from news_harvester.wiring import open_repository

    settings = Settings(data_dir=tmp / "data", sources=tmp / "sources.yaml", topics=ROOT / "config" / "topics.yaml")
    repository = open_repository(settings, migrate=False)
    service = StoryService(window=dt.timedelta(days=90), enricher=ClassifierSource(settings.topics, repository).load())
    app = create_app(database_ok=lambda: True, scheduler_ok=lambda: True, sources_health=lambda: [],
                     repository=repository, stories=service, banner_ttl=10.0)  # fmt: skip
    spent: dict[str, float] = defaultdict(float)

    def timed(name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - started

        return run

    ctx = app.state.ctx
    originals = (pages.queue_rows, pages._banner, auth._load_user)
    repository.queue = timed("queue (index, rows)", repository.queue)  # type: ignore[method-assign]
    pages.queue_rows = timed("rows' HTML", pages.queue_rows)
    pages._banner = timed("freshness banner", pages._banner)
    auth._load_user = timed("session", auth._load_user)
    ctx.templates.TemplateResponse = timed("page template", ctx.templates.TemplateResponse)

    async def run() -> float:
        body = json.dumps({"name": user, "password": PASSWORD}).encode()
        status, headers = await asgi_request(app, "POST", "/login", body=body)
        assert status == 200, status
        cookie = headers["set-cookie"].split(";", 1)[0]
        rng = random.Random(seed)
        for _ in range(50):  # warm: the index read, the first rows rendered
            await asgi_request(app, "GET", queue_pick(rng)[1], cookie)
        spent.clear()
        rng = random.Random(seed + 1)
        started = time.perf_counter()
        for _ in range(rounds):
            status, _headers = await asgi_request(app, "GET", queue_pick(rng)[1], cookie)
            assert status == 200, status
        return time.perf_counter() - started

    try:
        total = asyncio.run(run())
    finally:
        pages.queue_rows, pages._banner, auth._load_user = originals
        repository.engine.dispose()
    out = {name: round(seconds / rounds * 1000, 2) for name, seconds in spent.items()}
    out["rest (routing, dependencies, threads, middleware, body)"] = round(total / rounds * 1000 - sum(out.values()), 2)
    out["total"] = round(total / rounds * 1000, 2)
    return out


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stories", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of the product run")
    parser.add_argument("--baseline-duration", type=float, default=10.0, help="seconds of the /healthz run")
    parser.add_argument("--rounds", type=int, default=15, help="in-process calls per filter kind")
    parser.add_argument("--inproc-budget", type=float, default=20.0, help="in-process seconds per kind (≥ 1 call)")
    parser.add_argument("--timeout", type=float, default=30.0, help="client timeout per request, seconds")
    parser.add_argument("--only", help="comma-separated kinds of the product run (default: all of MIX)")
    parser.add_argument("--exclude", help="comma-separated kinds left out of the product run")
    parser.add_argument("--aim-ms", type=float, default=100.0, help="p95 aim for the queue page")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (database, daemon log)")
    args = parser.parse_args()
    chosen = set(args.only.split(",")) if args.only else set(MIX)
    chosen -= set(args.exclude.split(",")) if args.exclude else set()
    if not chosen or chosen - set(MIX):
        sys.exit(f"kinds must be among {', '.join(MIX)}")
    ACTIVE.clear()
    ACTIVE.update({k: w for k, w in MIX.items() if k in chosen})

    tmp = Path(tempfile.mkdtemp(prefix="nh-bench-web-"))
    results: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "args": vars(args),
    }
    proc: subprocess.Popen[bytes] | None = None
    try:
        (tmp / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
        cli(tmp, "db", "upgrade")
        print(f"filling {args.stories:,} stories …", flush=True)
        started = time.perf_counter()
        results["data"] = populate(tmp / "data" / "news_harvester.db", args.stories, args.seed)
        results["data"]["fill_s"] = round(time.perf_counter() - started, 1)
        data = results["data"]
        print(f"  {data['articles']:,} articles, {data['story_topics']:,} topics, {data['fetch_runs']:,} fetch runs, "
              f"states {data['states']}; {data['fill_s']} s, {data['db_mib']} MiB", flush=True)  # fmt: skip
        users = [f"editor{k}" for k in range(args.clients)]
        for user in users:
            cli(tmp, "users", "add", user, "--role", "editor", stdin=PASSWORD + "\n")

        port = free_port()
        base_url = f"http://{HOST}:{port}"
        log = (tmp / "daemon.log").open("wb")
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "news_harvester", "run", "--web-only", "--bind", f"{HOST}:{port}"],
            env=cli_env(tmp), cwd=tmp, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        sampler = RssSampler(proc.pid)
        sampler.start()
        while True:
            if proc.poll() is not None:
                sys.exit(f"FAIL: the daemon exited: {(tmp / 'daemon.log').read_text(errors='replace')}")
            try:
                if httpx.get(base_url + "/healthz", timeout=1, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - started > 600:
                sys.exit("FAIL: the daemon did not answer /healthz within 600 s")
            time.sleep(0.2)
        startup_s = time.perf_counter() - started
        startup_peak = sampler.peak
        results["daemon"] = {"startup_s": round(startup_s, 1), "rss_after_startup_mib": round(sampler.current / 2**20)}
        print(f"daemon up in {startup_s:.1f} s, RSS {sampler.current / 2**20:.0f} MiB", flush=True)

        sampler.peak = sampler.current
        sessions = asyncio.run(sign_in_all(base_url, users))
        login_peak = sampler.peak
        server = psutil.Process(proc.pid)

        def measured(duration: float, pick: Callable[[random.Random], tuple[str, str]]) -> LoadResult:
            cpu = tree_cpu(server)
            result = asyncio.run(load(base_url, sessions, duration, pick, args.seed, args.timeout))
            result.server_cpu = (tree_cpu(server) - cpu) / result.wall_s
            return result

        print(f"{args.clients} clients × {args.baseline_duration:.0f} s on /healthz …", flush=True)
        baseline = measured(args.baseline_duration, healthz_pick)
        print(f"warm-up, then {args.clients} clients × {args.duration:.0f} s on / ({', '.join(ACTIVE)}) …", flush=True)
        asyncio.run(warm_up(base_url, sessions[0], 4 * len(tree(server))))
        sampler.peak = sampler.current
        product = measured(args.duration, queue_pick)
        results["daemon"] |= {
            "peak_rss_startup_mib": round(startup_peak / 2**20),
            "peak_rss_logins_mib": round(login_peak / 2**20),
            "peak_rss_load_mib": round(sampler.peak / 2**20),
            "peak_rss_mib": round(max(startup_peak, login_peak, sampler.peak) / 2**20),
        }
        results["daemon"]["processes"] = 1 + sum(
            1 for c in server.children() if "spawn_main" in " ".join(c.cmdline())
        )  # the extra web processes (not multiprocessing's resource tracker)
        sampler.stopped.set()
        stopping = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        results["daemon"]["stop_after_sigterm_s"] = round(time.perf_counter() - stopping, 1)

        print(f"in-process: Repository.queue() vs sqlite3 peer, {args.rounds} calls per kind …", flush=True)
        inproc = in_process(tmp, args.rounds, args.inproc_budget, args.seed)
        print("in-process: where a queue page's time goes …", flush=True)
        results["breakdown_ms"] = breakdown(tmp, users[0], 300, args.seed)
        report(results, product, baseline, inproc, args)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def report(results: dict[str, Any], product: LoadResult, baseline: LoadResult, inproc: dict[str, Any],
           args: argparse.Namespace) -> None:  # fmt: skip
    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for s in product.samples:
        by_kind[s.kind].append(s)
    overall = summarise(product.samples)
    health = summarise(baseline.samples)
    rps = len(product.samples) / product.wall_s
    health_rps = len(baseline.samples) / baseline.wall_s
    kinds = {k: summarise(by_kind[k]) for k in MIX if by_kind[k]}
    verdict = "PASS" if overall["p95"] < args.aim_ms and overall["errors"] == 0 else "FAIL"
    results |= {
        "product": overall
        | {"rps": round(rps, 1), "wall_s": round(product.wall_s, 1), "kinds": kinds}
        | {"server_cpu": round(product.server_cpu, 2), "client_cpu": round(product.client_cpu, 2)},
        "healthz": health
        | {"rps": round(health_rps, 1), "server_cpu": round(baseline.server_cpu, 2)}
        | {"client_cpu": round(baseline.client_cpu, 2)},
        "in_process": inproc,
        "error_examples": (product.errors + baseline.errors)[:20],
        "verdict": verdict,
    }

    d = results["daemon"]
    print()
    print(f"GET / on {args.stories:,} stories: {args.clients} concurrent clients for {product.wall_s:.0f} s, "
          f"{os.cpu_count()} CPUs; in-process: one call at a time")  # fmt: skip
    header = (f"{'kind':<7} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'err':>4} │ {'queue() ms':>10} "
              f"{'SQL plan':>8} {'sqlite ms':>9} {'ratio':>7} {'tuned ms':>8}  example")  # fmt: skip
    print(header)
    print("─" * len(header))
    for kind in MIX:
        h = kinds.get(kind)
        http = (f"{h['n']:>5} {h['p50']:>8} {h['p95']:>8} {h['p99']:>8} {h['errors']:>4}" if h
                else f"{'—':>5} {'':>8} {'':>8} {'':>8} {'':>4}")  # fmt: skip
        ip = inproc[kind]
        served, plan = ip["product_indexed"]["p50"], ip["product_queue"]["p50"]
        peer, tuned = ip["sqlite_peer"]["p50"], ip["sqlite_tuned"]["p50"]
        print(f"{kind:<7} {http} │ {served:>10} {plan:>8} {peer:>9} {served / max(peer, 0.01):>6.2f}× {tuned:>8}  "
              f"{urlencode(ip['example'])}")  # fmt: skip
    print("─" * len(header))
    print(f"{'all':<7} {overall['n']:>5} {overall['p50']:>8} {overall['p95']:>8} {overall['p99']:>8} "
          f"{overall['errors']:>4} │ {rps:.1f} requests/s; CPU: daemon {product.server_cpu:.2f}, "
          f"clients {product.client_cpu:.2f} cores")  # fmt: skip
    print(f"{'healthz':<7} {health['n']:>5} {health['p50']:>8} {health['p95']:>8} {health['p99']:>8} "
          f"{health['errors']:>4} │ {health_rps:.1f} requests/s; CPU: daemon {baseline.server_cpu:.2f}, "
          f"clients {baseline.client_cpu:.2f} cores (same server and clients: the HTTP floor)")  # fmt: skip
    print(f"ratios to /healthz: p50 {overall['p50'] / health['p50']:.1f}×, p95 {overall['p95'] / health['p95']:.1f}×, "
          f"throughput {health_rps / max(rps, 0.01):.1f}× lower")  # fmt: skip
    print(f"daemon ({d['processes']} processes): start-up {d['startup_s']} s; "
          f"RSS after start-up {d['rss_after_startup_mib']} MiB, peak {d['peak_rss_mib']} MiB "
          f"({args.clients} logins at once {d['peak_rss_logins_mib']}, under load {d['peak_rss_load_mib']}); "
          f"stopped {d['stop_after_sigterm_s']} s after SIGTERM")  # fmt: skip
    parts = results["breakdown_ms"]
    print("one queue page in process, mean ms: " + ", ".join(f"{k} {v}" for k, v in parts.items()))
    slow = [k for k, h in kinds.items() if h["p95"] >= args.aim_ms]
    sign = "<" if overall["p95"] < args.aim_ms else "≥"
    print(f"{verdict}: p95 {overall['p95']} ms {sign} aim {args.aim_ms:.0f} ms, {overall['errors']} errors"
          + (f"; kinds over the aim: {', '.join(slow)}" if slow else ""))  # fmt: skip
    for kind in [k for k in MIX if inproc[k]["product_queue"]["p50"] >= args.aim_ms / 2]:
        print(f"\nquery plan of the product's SQL, {kind} ({urlencode(inproc[kind]['example'])}):")
        for label, plan in zip(("page", "count"), inproc[kind]["plans"], strict=False):
            print(f"  {label}:")
            for line in plan["plan"]:
                print(f"    {line}")
    if product.errors:
        print("\nerrors, first 5:", *product.errors[:5], sep="\n  ")
    out = BENCH_DIR / "results" / f"web-{time.strftime('%Y%m%d-%H%M%S')}-{args.stories}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\nfull results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
