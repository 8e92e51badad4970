"""Stories end to end: ingest → dedupe → classify → rank → queue, cross-issue memory, topics test/apply,
editor corrections, taxonomy reload and upgrades; real SQLite (and PostgreSQL when configured), the real CLI."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select

from conftest import ROOT, migrate_to
from news_harvester.harvest.ingest import read_records
from news_harvester.store.engine import make_engine, upgrade
from news_harvester.store.schema import articles, candidates, metadata, stories
from news_harvester.stories.assign import StoryService
from news_harvester.stories.classifier import ClassifierSource
from news_harvester.stories.topics import load_taxonomy
from news_harvester.story_records import SCORE_DEFAULTS
from news_harvester.wiring import open_repository
from procs import run_cli

NOW = datetime.now(UTC)
TAXONOMY = load_taxonomy(ROOT / "config" / "topics.yaml")


def topic_named(fragment: str) -> str:
    """Topic id by (part of) its Chinese name, so tests do not hard-code slugs."""
    found = [t.id for t in TAXONOMY.topics if fragment in t.name]
    assert len(found) == 1, (fragment, [t.name for t in TAXONOMY.topics])
    return found[0]


POLICY = (
    "6月11日，商务部等九部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》。《意见》明确，五大方面15项工作内容。"
    "一是积极培育跨境电商经营主体：大力支持跨境电商赋能产业发展；提升服务跨境电商企业能力；支持跨境电商企业“借展出海”；"
    "加强跨境电商行业组织建设与人才培养。二是加大金融支持力度：畅通跨境电商企业融资渠道；优化跨境资金结算服务；"
    "推动跨境电商供应链降本增效。三是加强相关基础设施和物流体系建设：推动跨境电商海外仓高质量发展；增强跨境电商物流保障能力；"
    "助力跨境电商相关企业“走出去”。四是优化监管与服务：优化跨境电商出口监管；提升跨境数据管理和服务水平。"
    "五是积极开展标准规则建设与国际合作：加快跨境电商领域标准建设；提升企业合规经营水平；持续深化国际交流合作。"
)
AI_REPORT = (
    "6月13日，T-EDGE未来科技大会发布《中国人工智能城市竞争力排行研究报告》。报告通过聚类分析将中国的样本城市划分为5个梯队，"
    "得出中国城市人工智能创新指数综合得分情况呈较明显分化现象的结论。其中北京市作为第一梯队城市，具备高城市效益产出性、渗透性、"
    "发展潜能和基础设施，属于全面发展的城市类型。深圳市及上海市属于第二梯队，在各项指标上表现出中等水平，上海市对人工智能产业的"
    "政策支持力度较大，在产业链的基础、技术层具有较强覆盖力。总体来看，中国的人工智能城市在全球排名中具有一定的竞争力，"
    "但仍需在核心技术研发、高端人才培养和国际影响力等方面努力提升。"
)
SPORTS = (
    "北京时间6月12日晚，2024年欧洲杯小组赛继续进行，东道主德国队在慕尼黑主场以5比1大胜苏格兰队，取得开门红。"
    "比赛第10分钟，维尔茨禁区外低射破门；第19分钟，穆西亚拉扩大比分；上半场补时阶段，哈弗茨点球命中。"
    "下半场菲尔克鲁格替补登场后锁定胜局，苏格兰队仅由对方乌龙球扳回一球。赛后主教练表示，球队状态令人满意，"
    "但接下来对阵匈牙利和瑞士的比赛仍需全力以赴，球迷们期待球队在本届赛事中走得更远。"
)
INTERVIEW = (
    "日前，商务部有关负责人就《关于拓展跨境电商出口推进海外仓建设的意见》接受记者采访。该负责人表示，"
    "近年来我国外贸新业态蓬勃发展，企业对融资、结算、物流的需求日益迫切。下一步，商务部将会同有关部门抓好落实，"
    "指导地方结合实际出台配套措施，推动政策红利尽快惠及广大经营主体，并及时总结推广各地好经验好做法，"
    "为稳外贸、促发展作出更大贡献。问：出台《意见》的背景是什么？答：这是落实中央部署的重要举措。"
)


def add_topic(text: str, topic_id: str, name: str, keywords: list[str]) -> str:
    """topics.yaml text with one more topic at the top of its list."""
    entry = f"topics:\n  - id: {topic_id}\n    name: {name}\n    keywords:\n" + "".join(
        f"      {k}: 1.0\n" for k in keywords
    )
    return re.sub(r"(?m)^topics:[ \t]*\n", lambda _m: entry, text, count=1)


def record(url, title, body, source, days_ago=1.0, **extra):
    when = (NOW - timedelta(days=days_ago)).isoformat()
    return {"title": title, "url": url, "body": body, "published_at": when, "source": source} | extra


def write_jsonl(path: Path, records, extra_lines=()) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in records] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cli_json(tmp_path, *args, expect=0, **env):
    done = run_cli(tmp_path, *args, **env)
    assert done.returncode == expect, done.stderr + done.stdout
    return json.loads(done.stdout)


@pytest.fixture
def cli_home(tmp_path):
    (tmp_path / "sources.yaml").write_text(
        "sources:\n"
        "  - {id: mofcom-policy, name: 商务部网站, kind: feed, url: 'http://127.0.0.1:9/x.xml', weight: 10}\n",
        encoding="utf-8",
    )
    return tmp_path


def test_ingest_clusters_classifies_ranks_and_lists(cli_home):
    jsonl = write_jsonl(
        cli_home / "in.jsonl",
        [
            # the reprint arrives first, with its own headline and boilerplate
            record(
                "https://news.example.cn/2024/0612/a.html",
                "九部门发文推进海外仓建设",
                "来源：商务部网站\n" + POLICY + "\n责任编辑：王敏",
                "新华网",
                days_ago=1.5,
                weight=7,
            ),
            record(
                "https://www.mofcom.gov.cn/art/2024/art_1.html",
                "商务部等9部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》",
                POLICY,
                "商务部网站",
                days_ago=2,
            ),
            record(
                "https://tmtpost.example.com/7001.html",
                "《中国人工智能城市竞争力排行研究报告》重磅发布",
                AI_REPORT,
                "钛媒体",
                weight=4,
            ),
            record("https://sports.example.com/euro.html", "欧洲杯：德国5比1大胜苏格兰", SPORTS, "体育网", weight=4),
        ],
        extra_lines=["{not json", json.dumps({"title": "缺少链接", "body": "x", "source": "某网"}, ensure_ascii=False)],
    )
    summary = cli_json(cli_home, "ingest", str(jsonl), "--json", expect=1)
    assert (summary["read"], summary["new"], summary["stories_new"], summary["stories_joined"]) == (6, 4, 3, 1)
    assert [e["line"] for e in summary["errors"]] == [5, 6]
    assert "url" in summary["errors"][1]["error"]

    listed = cli_json(cli_home, "stories", "list", "--json")
    assert len(listed) == 3
    for story in listed:
        assert {"id", "title", "canonical_url", "attribution", "topics", "score", "members"} <= set(story)
        assert all({"url", "source"} <= set(m) for m in story["members"])
    by_url = {s["canonical_url"]: s for s in listed}
    policy = by_url["https://www.mofcom.gov.cn/art/2024/art_1.html"]  # the official one is canonical
    assert policy["attribution"] == "商务部网站"
    assert {m["url"] for m in policy["members"]} == {
        "https://www.mofcom.gov.cn/art/2024/art_1.html",
        "https://news.example.cn/2024/0612/a.html",
    }
    assert {m["source"] for m in policy["members"]} == {"商务部网站", "新华网"}
    assert topic_named("跨境电商") in policy["topics"]
    assert topic_named("人工智能") in by_url["https://tmtpost.example.com/7001.html"]["topics"]
    sports = by_url["https://sports.example.com/euro.html"]
    assert sports["topics"] == [] and sports["score_parts"]["off_topic"] < 0
    # ranking: the official, two-outlet, on-topic story first; the off-topic one last
    assert listed[0]["id"] == policy["id"] and listed[-1]["id"] == sports["id"]
    assert policy["score_parts"]["outlets"] > 0 and policy["score"] > sports["score"]

    shown = cli_json(cli_home, "stories", "show", str(policy["id"]), "--json")
    matched = [m["term"] for t in shown["classification"]["scores"] for m in t["matched"]]
    assert any("跨境电商" in term or "海外仓" in term for term in matched)  # explainable
    # stored compact (fields at their default left out), shown whole: every entry has every field, in order
    full_fields = ["topic", "name", "confidence", *SCORE_DEFAULTS]
    assert all(list(t) == full_fields for t in shown["classification"]["scores"])
    with sqlite3.connect(cli_home / "data" / "news_harvester.db") as db:
        (stored,) = db.execute("SELECT classification FROM stories WHERE id = ?", (policy["id"],)).fetchone()
    stored_scores = json.loads(stored)["scores"]
    assert len(stored_scores) == len(shown["classification"]["scores"])
    assert any(set(t) < set(full_fields) for t in stored_scores)

    again = cli_json(cli_home, "ingest", str(jsonl), "--json", expect=1)  # idempotent re-import
    assert (again["new"], again["already_stored"]) == (0, 4)
    assert len(cli_json(cli_home, "stories", "list", "--json")) == 3

    only_ai = cli_json(cli_home, "stories", "list", "--json", "--topic", topic_named("人工智能"))
    assert [s["canonical_url"] for s in only_ai] == ["https://tmtpost.example.com/7001.html"]


def test_ingest_bad_bodies_are_stored_without_harm(cli_home):
    huge = "数字贸易" * 1_300_000  # ~5 MB of text
    jsonl = write_jsonl(
        cli_home / "odd.jsonl",
        [
            record("https://a.example.com/empty", "跨境电商快讯", "", "快讯网"),
            record("https://a.example.com/one", "一句话新闻", "今天天气晴。", "快讯网"),
            record(
                "https://a.example.com/en",
                "EU adopts AI Act",
                "The Council adopted the Artificial Intelligence Act "
                "on 21 May, the first law of its kind regulating AI systems by risk.",
                "EU",
            ),
            record("https://a.example.com/ru", "Новости", "Сегодня в Москве прошла встреча министров.", "RU"),
            record("https://a.example.com/huge", "数字贸易超长文章", huge, "长文网"),
            record(
                "https://a.example.com/html",
                "<b>标题</b>",
                "<p>第一段<script>alert(1)</script></p><p>第二段</p>",
                "网页",
            ),
        ],
    )
    summary = cli_json(cli_home, "ingest", str(jsonl), "--json")
    assert summary["new"] == 6 and summary["errors"] == []
    listed = {s["canonical_url"]: s for s in cli_json(cli_home, "stories", "list", "--json", "--limit", "100")}
    assert topic_named("人工智能") in listed["https://a.example.com/en"]["topics"]
    assert listed["https://a.example.com/ru"]["topics"] == []
    assert listed["https://a.example.com/html"]["title"] == "标题"
    repo_db = cli_home / "data" / "news_harvester.db"
    import sqlite3

    with sqlite3.connect(repo_db) as conn:
        body = conn.execute("select body_text from articles where url like '%/html'").fetchone()[0]
    assert "alert" not in body and body.splitlines() == ["第一段", "第二段"]


def _service(repo, settings, enricher=None):
    classifier = ClassifierSource(settings.topics, repo)
    return StoryService.load(
        repo, window_days=90, now=datetime.now(UTC), weights={}, enricher=enricher or classifier.load()
    )


def _ingest(repo, service, records):
    now = datetime.now(UTC)
    parsed = list(
        read_records([json.dumps(r, ensure_ascii=False) for r in records], fetched_at=now, sources_by_name={})
    )
    batch = service.begin()
    stored = repo.store_articles(parsed, batch, now)
    service.commit(batch, now)
    return stored


def test_used_story_is_not_queued_again_and_a_continuation_is_a_follow_up(any_settings, any_repository):
    repo = any_repository
    service = _service(repo, any_settings)
    [(_, _, story_id, _)] = _ingest(
        repo,
        service,
        [
            record(
                "https://www.mofcom.gov.cn/a.html",
                "商务部等9部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》",
                POLICY,
                "商务部网站",
                days_ago=10,
                weight=10,
            ),
        ],
    )
    issue = repo.create_issue(2024, 6, datetime.now(UTC), total_number=26)
    repo.mark_used(issue, [story_id], service, datetime.now(UTC))
    [used] = repo.list_stories(story_ids=[story_id])
    assert used.state == "used" and used.used_issue_id == issue and used.score_parts["parts"]["used"] == -100

    # a restarted harvester remembers the used story
    service = _service(repo, any_settings)
    assert story_id in service.used
    stored = _ingest(
        repo,
        service,
        [
            record(
                "https://reprint.example.com/1.html",
                "九部门：推进海外仓建设",
                "转载自商务部网站。" + POLICY,
                "某门户",
                days_ago=3,
            ),
            record(
                "https://www.mofcom.gov.cn/b.html",
                "商务部有关负责人就《关于拓展跨境电商出口推进海外仓建设的意见》答记者问",
                INTERVIEW,
                "商务部网站",
                days_ago=2,
                weight=10,
            ),
        ],
    )
    (_, _, reprint_story, layer), (_, _, follow_story, follow_layer) = stored
    assert reprint_story == story_id and layer == "minhash"  # joined the used story ...
    open_states = [s.id for s in repo.list_stories(states=["new"], limit=100)]
    assert story_id not in open_states  # ... which is not queued again
    assert follow_layer == "new" and follow_story in open_states  # the continuation is news, queued
    [follow] = repo.list_stories(story_ids=[follow_story])
    assert follow.follow_up_of == story_id
    with repo.engine.connect() as conn:
        assert conn.execute(select(candidates.c.id).where(candidates.c.story_id == story_id)).scalars().all() != []
        assert conn.execute(select(stories.c.used_issue_id).where(stories.c.id == story_id)).scalar() == issue


def test_editor_topic_corrections_survive_reclassification_and_become_labels(any_settings, any_repository):
    repo = any_repository
    service = _service(repo, any_settings)
    [(_, _, ai_story, _)] = _ingest(
        repo,
        service,
        [
            record(
                "https://t.example.com/ai.html", "《中国人工智能城市竞争力排行研究报告》重磅发布", AI_REPORT, "钛媒体"
            ),
        ],
    )
    ai, stats = topic_named("人工智能"), topic_named("统计")
    assert ai in [t.id for t in repo.list_stories(story_ids=[ai_story])[0].topics]
    repo.set_story_topics(ai_story, add=[stats], remove=[ai], service=service, now=datetime.now(UTC))
    repo.refresh_window(service, datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC), reclassify=True)
    [story] = repo.list_stories(story_ids=[ai_story])
    assert [t.id for t in story.topics] == [stats] and story.topics[0].origin == "editor"
    repo.set_story_state(ai_story, "accepted", service=service, now=datetime.now(UTC))
    [label] = repo.topic_labels()
    assert (label.story_id, label.topics, label.topics_confirmed, label.accepted) == (
        ai_story,
        frozenset({stats}),
        True,
        True,
    )


def test_content_change_updates_the_index_and_the_classification(any_settings, any_repository):
    repo = any_repository
    service = _service(repo, any_settings)
    url = "https://t.example.com/changing.html"
    [(_, article_id, story_id, _)] = _ingest(repo, service, [record(url, "欧洲杯快讯", SPORTS, "体育网")])
    assert repo.list_stories(story_ids=[story_id])[0].topics == ()
    # the page is corrected: same URL, new text (the harvester updates harvested columns)
    _ingest(repo, service, [record(url, "《中国人工智能城市竞争力排行研究报告》发布", AI_REPORT, "体育网")])
    [story] = repo.list_stories(story_ids=[story_id])
    assert topic_named("人工智能") in [t.id for t in story.topics]
    # the index holds the new text: a reprint of the new text joins this story
    stored = _ingest(repo, service, [record("https://r.example.com/1.html", "AI城市排行出炉", AI_REPORT, "转载网")])
    assert stored[0][2] == story_id
    assert repo.indexed_story(article_id) == story_id


def test_topics_test_previews_and_apply_reclassifies(cli_home):
    jsonl = write_jsonl(
        cli_home / "in.jsonl",
        [
            record("https://s.example.com/euro.html", "欧洲杯：德国5比1大胜苏格兰", SPORTS, "体育网"),
            record(
                "https://t.example.com/ai.html", "《中国人工智能城市竞争力排行研究报告》重磅发布", AI_REPORT, "钛媒体"
            ),
        ],
    )
    cli_json(cli_home, "ingest", str(jsonl), "--json")
    topics = cli_home / "topics.yaml"
    shutil.copy(ROOT / "config" / "topics.yaml", topics)
    candidate = cli_home / "candidate.yaml"
    candidate.write_text(
        add_topic(topics.read_text(encoding="utf-8"), "football", "足球", ["欧洲杯", "德国队"]),
        encoding="utf-8",
    )
    report = cli_json(cli_home, "topics", "test", str(candidate), "--json", NEWS_HARVESTER_TOPICS=str(topics))
    football = next(t for t in report["topics"] if t["id"] == "football")
    assert (football["now"], football["candidate"], football["gained"]) == (0, 1, 1)
    assert football["gained_examples"][0]["title"].startswith("欧洲杯")
    assert report["stories"] == 2 and report["changed"] == 1
    # nothing was written
    assert cli_json(cli_home, "stories", "list", "--json", "--topic", "football") == []

    broken = cli_home / "broken.yaml"
    broken.write_text("threshold: 0.3\ntopics:\n  - id: x\n    keywords: [a\n", encoding="utf-8")
    done = run_cli(cli_home, "topics", "test", str(broken))
    assert done.returncode == 2 and "broken.yaml" in done.stderr and ":" in done.stderr

    shutil.copy(candidate, topics)
    done = run_cli(cli_home, "topics", "apply", NEWS_HARVESTER_TOPICS=str(topics))
    assert done.returncode == 0, done.stderr
    listed = cli_json(cli_home, "stories", "list", "--json", "--topic", "football", NEWS_HARVESTER_TOPICS=str(topics))
    assert [s["canonical_url"] for s in listed] == ["https://s.example.com/euro.html"]


def test_invalid_topics_edit_keeps_the_last_valid_taxonomy(settings, repository, tmp_path, caplog):
    path = tmp_path / "topics.yaml"
    shutil.copy(ROOT / "config" / "topics.yaml", path)
    source = ClassifierSource(path, repository)
    first = source.load()
    assert first.taxonomy is not None and first.digest
    path.write_text("topics:\n  - id: [broken\n", encoding="utf-8")
    assert source.check() is None
    assert source.enricher is first
    assert "topics.yaml edit rejected" in caplog.text
    shutil.copy(ROOT / "config" / "topics.yaml", path)
    path.write_text(
        add_topic(path.read_text(encoding="utf-8"), "extra-topic", "额外", ["额外关键词"]),
        encoding="utf-8",
    )
    newer = source.check()
    assert newer is not None and newer.taxonomy.get("extra-topic") is not None


def test_upgrade_from_0002_gives_each_story_its_candidate_and_backfills(any_settings):
    engine = make_engine(any_settings.resolved_database_url)
    try:
        migrate_to(engine, "0002")
        now = datetime.now(UTC)
        with engine.begin() as conn:
            story = conn.execute(
                insert(stories).values(created_at=now, updated_at=now).returning(stories.c.id)
            ).scalar()
            ids = []
            for n, (body, story_id) in enumerate([(POLICY, story), ("转载：" + POLICY, story), (AI_REPORT, None)]):
                ids.append(
                    conn.execute(
                        insert(articles)
                        .values(
                            url=f"http://127.0.0.1/old/{n}.html",
                            source_id="mofcom",
                            title=f"旧文章{n}",
                            published_at=now,
                            fetched_at=now,
                            body_text=body,
                            content_hash=f"h{n}",
                            story_id=story_id,
                            story_layer="new" if n == 0 else ("minhash" if story_id else None),
                        )
                        .returning(articles.c.id)
                    ).scalar()
                )
                conn.execute(
                    insert(candidates).values(
                        article_id=ids[-1],
                        state="shortlisted" if n == 1 else "new",
                        created_at=now,
                        editor_title="编辑标题" if n == 1 else None,
                    )
                )
        upgrade(engine)
        with engine.connect() as conn:
            rows = {r.article_id: r for r in conn.execute(select(candidates))}
        assert rows[ids[0]].story_id == story
        assert rows[ids[1]].story_id is None and rows[ids[1]].editor_title == "编辑标题"  # kept, not lost
        repo = open_repository(any_settings)
        try:
            _service(repo, any_settings)  # a harvesting process starts: stories and the index are backfilled
            with repo.engine.connect() as conn:
                backfilled = conn.execute(select(articles.c.story_id).where(articles.c.id == ids[2])).scalar()
                cand = conn.execute(select(candidates.c.story_id).where(candidates.c.article_id == ids[2])).scalar()
            assert backfilled is not None and backfilled != story and cand == backfilled
            assert repo.story_index_size() == 3
            [old] = repo.list_stories(story_ids=[story])
            assert old.state == "new" and len(old.members) == 2
        finally:
            repo.engine.dispose()
    finally:
        engine.dispose()


def test_migrations_match_the_schema(any_settings):
    engine = make_engine(any_settings.resolved_database_url)
    try:
        upgrade(engine)
        def ours(name, type_, _parent_names):
            # search structures that differ by database, in the migrations only: FTS5 tables and pg_trgm
            # indexes (0004), SQLite's index of titles for short searches (0008)
            return not (name or "").startswith(("articles_fts", "trgm_", "search_"))

        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": ours})
            diff = compare_metadata(context, metadata)

        # SQLite does not report the names of foreign keys declared inline (ALTER TABLE … ADD COLUMN …
        # REFERENCES): such a key shows up as remove_fk (unnamed) + add_fk (named) of the same columns
        def key(fk):
            return (fk.table.name, tuple(c.name for c in fk.columns), tuple(e.target_fullname for e in fk.elements))

        removed = {key(d[1]) for d in diff if isinstance(d, tuple) and d[0] == "remove_fk" and d[1].name is None}
        diff = [
            d for d in diff if not (isinstance(d, tuple) and d[0] in ("remove_fk", "add_fk") and key(d[1]) in removed)
        ]
        assert diff == []
    finally:
        engine.dispose()


def test_topics_train_learns_from_editor_labels_and_apply_blends_it(cli_home, settings, repository):
    from conftest import shared_fixture

    lines = shared_fixture("thucnews-titles/THUCNews/data/test.txt").read_text(encoding="utf-8").splitlines()
    classes = shared_fixture("thucnews-titles/THUCNews/data/class.txt").read_text(encoding="utf-8").split()
    wanted = {classes.index("sports"): "sports", classes.index("finance"): "finance"}
    picked: dict[str, list[str]] = {"sports": [], "finance": []}
    for line in lines:
        title, _, label = line.rpartition("\t")
        name = wanted.get(int(label))
        if name and len(picked[name]) < 30:
            picked[name].append(title)
    records = [
        record(f"https://{name}.example.com/{n}.html", title, title, f"{name}网")
        for name, titles in picked.items()
        for n, title in enumerate(titles)
    ]
    cli_json(cli_home, "ingest", str(write_jsonl(cli_home / "t.jsonl", records)), "--json")
    too_few = run_cli(cli_home, "topics", "train")
    assert too_few.returncode == 1 and "label" in too_few.stderr.lower()

    # editors reject the sports stories and accept the finance ones
    service = _service(repository, settings)
    for story in repository.list_stories(limit=1000):
        state = "accepted" if "finance" in (story.canonical_url or "") else "rejected"
        repository.set_story_state(story.id, state, service=service, now=datetime.now(UTC))
    trained = cli_json(cli_home, "topics", "train", "--min-examples", "20", "--json")
    assert trained["model_id"] >= 1 and trained["examples"] == 60 and 0 < trained["blend_weight"] <= 1

    done = run_cli(cli_home, "topics", "apply", "--all")
    assert done.returncode == 0, done.stderr
    listed = cli_json(cli_home, "stories", "list", "--json", "--limit", "100")
    fit = {"sports": [], "finance": []}
    for story in listed:
        assert "editor_fit" in story["score_parts"]
        fit["finance" if "finance" in story["canonical_url"] else "sports"].append(story["score_parts"]["editor_fit"])
    # the model learned what editors take: every finance story fits better than the sports average
    assert min(fit["finance"]) > sum(fit["sports"]) / len(fit["sports"])


def test_issue_commands_keep_the_weightier_source_canonical(cli_home):
    """`issue add` / `issue publish` re-score stories with the configured weights (not an empty mapping that
    would hand the story to its earliest reprint)."""
    jsonl = write_jsonl(cli_home / "in.jsonl", [
        record("https://reprint.example.com/1.html", "九部门推进海外仓建设", "转载：" + POLICY, "某门户", days_ago=3),
        record("https://www.mofcom.gov.cn/art/2024/art_9.html", "商务部等9部门联合印发意见", POLICY, "商务部网站",
               days_ago=2),
    ])
    cli_json(cli_home, "ingest", str(jsonl), "--json")
    [story] = cli_json(cli_home, "stories", "list", "--json")
    assert story["canonical_url"] == "https://www.mofcom.gov.cn/art/2024/art_9.html"
    assert run_cli(cli_home, "issue", "add", str(story["id"])).returncode == 0
    issue_id = json.loads(run_cli(cli_home, "issue", "list", "--json").stdout)[0]["id"]
    assert run_cli(cli_home, "issue", "publish", str(issue_id)).returncode == 0
    [after] = cli_json(cli_home, "stories", "list", "--json")
    assert after["canonical_url"] == "https://www.mofcom.gov.cn/art/2024/art_9.html" and after["state"] == "used"
