"""Issue assembly end to end: the sample issue's 8 news items ingested as stories, assembled with the real CLI,
exported to Markdown and DOCX and checked; publishing (cross-issue memory, nothing published twice); the
assembly screen's routes (order, move, remove, edit, regenerate, free text, publish, reopen, export)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from conftest import missing_shared
from news_harvester.harvest.ingest import read_records
from news_harvester.stories.assign import StoryService
from news_harvester.stories.classifier import ClassifierSource
from news_harvester.web.app import create_app
from passwords import password_hash
from procs import run_cli

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "design" / "sample-issue.md"
DATE_START = re.compile(r"^(据\S{1,10}\s?)?\d{1,2}\s?月\s?\d{1,2}\s?日")
ATTRIBUTION = re.compile(r"^[（(]来源[：:]\s?(.+?)[）)]$")


def sample_items() -> list[dict[str, str]]:
    """The 行业资讯 items of the sample issue: headline, paragraph text, source name."""
    if not SAMPLE.exists():
        missing_shared("../shared/design/sample-issue.md not available")
    text = SAMPLE.read_text(encoding="utf-8")
    body = text.split("【行业资讯】")[2].split("【协会动态】")[0]
    items: list[dict[str, str]] = []
    for line in (raw.strip() for raw in body.splitlines()):
        if not line:
            continue
        heading = re.match(r"^(?:●\s*|-\s*)\**(.+?)\**$", line)
        if heading and (line.startswith("●") or line.startswith("- **")):
            items.append({"title": heading.group(1).strip(), "text": "", "source": ""})
        elif (m := ATTRIBUTION.match(line)) and items:
            items[-1]["source"] = m.group(1).strip()
        elif items:
            items[-1]["text"] += line
    assert len(items) == 8
    return items


def ingest_sample(tmp_path: Path) -> list[int]:
    items = sample_items()
    lines = []
    for n, item in enumerate(items):
        day = re.search(r"(\d{1,2})\s?月\s?(\d{1,2})\s?日", item["text"])
        when = datetime(2024, int(day.group(1)), int(day.group(2)), 10, tzinfo=UTC) if day else datetime(2024, 6, 10)
        lines.append(json.dumps({"title": item["title"], "url": f"https://example.cn/sample/{n}.html",
                                 "body": item["text"], "published_at": when.isoformat(), "source": item["source"]},
                                ensure_ascii=False))
    (tmp_path / "sample.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - {id: x, name: X, kind: feed, url: 'http://127.0.0.1:9/x.xml'}\n", encoding="utf-8"
    )
    done = run_cli(tmp_path, "ingest", str(tmp_path / "sample.jsonl"), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["stories_new"] == 8
    listed = json.loads(run_cli(tmp_path, "stories", "list", "--json", "--limit", "20").stdout)
    by_url = {s["canonical_url"]: s["id"] for s in listed}
    return [by_url[f"https://example.cn/sample/{n}.html"] for n in range(8)]


def test_sample_issue_rebuilt_with_the_cli_and_exported(tmp_path):
    import docx

    items = sample_items()
    story_ids = ingest_sample(tmp_path)
    created = run_cli(tmp_path, "issue", "new", "--year", "2024", "--number", "6", "--total", "26",
                      "--date", "2024-06-28", "--json")
    assert created.returncode == 0, created.stderr
    issue_id = json.loads(created.stdout)["id"]
    for story_id in story_ids:
        added = run_cli(tmp_path, "issue", "add", str(story_id))
        assert added.returncode == 0, added.stderr
    shown = json.loads(run_cli(tmp_path, "issue", "show", str(issue_id), "--json").stdout)
    news = [i for i in shown["items"] if i["section"] == "行业资讯"]
    assert [i["title"] for i in news] == [i["title"] for i in items]
    assert next(s for s in shown["sections"] if s["name"] == "行业资讯") == {"name": "行业资讯", "target": 10,
                                                                        "count": 8}

    md_path = tmp_path / "issue.md"
    assert run_cli(tmp_path, "issue", "export", str(issue_id), "--format", "md", "-o", str(md_path)).returncode == 0
    markdown = md_path.read_text(encoding="utf-8")
    lines = [line.strip() for line in markdown.splitlines() if line.strip()]
    head = [re.sub(r"[#*\s]", "", line) for line in lines[:6]]
    assert head[:5] == ["数字贸易简报", "2024年第6期", "(总第26期)", "大连市数字贸易协会秘书处编", "2024年6月28日"]
    positions = [markdown.index(i["title"]) for i in items]
    assert positions == sorted(positions)  # table of contents and sections keep the sample's order
    for item in items:  # every item: a paragraph that opens with its date and ends with its attribution
        after = markdown.split(item["title"])[-1].strip().splitlines()
        paragraph = next(line for line in after[1:] if line.strip())  # after[0] ends the headline line
        assert DATE_START.match(paragraph.strip()), paragraph[:30]
        assert f"（来源：{item['source']}）" in markdown.split(item["title"])[-1][: len(paragraph) + 200]

    docx_path = tmp_path / "issue.docx"
    assert run_cli(tmp_path, "issue", "export", str(issue_id), "--format", "docx", "-o", str(docx_path)).returncode == 0
    paragraphs = [p.text.strip() for p in docx.Document(str(docx_path)).paragraphs if p.text.strip()]
    headings = [p for p in paragraphs if p.startswith("【")]
    assert [h for h in headings if h in ("【数据月报】", "【行业资讯】", "【协会动态】")][-3:] == [
        "【数据月报】", "【行业资讯】", "【协会动态】"]
    body_start = len(paragraphs) - paragraphs[::-1].index("【行业资讯】")
    for item in items:
        index = next(i for i in range(body_start, len(paragraphs)) if item["title"] in paragraphs[i])
        assert DATE_START.match(paragraphs[index + 1]), paragraphs[index + 1][:30]
        attribution = next(p for p in paragraphs[index + 1:] if p.startswith("（来源"))
        assert attribution == f"（来源：{item['source']}）"

    published = run_cli(tmp_path, "issue", "publish", str(issue_id))
    assert published.returncode == 0, published.stderr
    twice = run_cli(tmp_path, "issue", "publish", str(issue_id))
    assert twice.returncode == 1 and "已经出版" in twice.stderr
    issues = json.loads(run_cli(tmp_path, "issue", "list", "--json").stdout)
    # the next draft: number 1 of the current year (the sample is from 2024), running total 27
    year = datetime.now(UTC).year
    assert [(i["year"], i["number"], i["total_number"], i["status"]) for i in issues] == [
        (year, 1, 27, "draft"), (2024, 6, 26, "published")]
    used = json.loads(run_cli(tmp_path, "stories", "list", "--json", "--state", "used").stdout)
    assert sorted(s["id"] for s in used) == sorted(story_ids)
    locked = run_cli(tmp_path, "issue", "add", str(story_ids[0]), "--issue", str(issue_id))
    assert locked.returncode == 1
    missing = run_cli(tmp_path, "issue", "export", "999", "--format", "md", "-o", str(tmp_path / "x.md"))
    assert missing.returncode == 1 and "不存在" in missing.stderr


POLICY = (
    "6月11日，商务部等九部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》。《意见》明确，五大方面15项工作内容。"
    "一是积极培育跨境电商经营主体，大力支持跨境电商赋能产业发展，提升服务跨境电商企业能力。二是加大金融支持力度，"
    "畅通跨境电商企业融资渠道，优化跨境资金结算服务，推动跨境电商供应链降本增效。三是加强相关基础设施和物流体系建设。"
)
AI = (
    "6月13日，T-EDGE未来科技大会发布《中国人工智能城市竞争力排行研究报告》。报告通过聚类分析将中国的样本城市划分为5个梯队，"
    "北京市作为第一梯队城市，具备高城市效益产出性、渗透性、发展潜能和基础设施。深圳市及上海市属于第二梯队，"
    "上海市对人工智能产业的政策支持力度较大，在产业链的基础、技术层具有较强覆盖力。"
)


@pytest.fixture
def assembly(settings, repository):
    now = datetime.now(UTC)
    service = StoryService.load(repository, window_days=90, now=now, weights={},
                                enricher=ClassifierSource(settings.topics, repository).load())
    records = [
        {"title": "九部门印发拓展跨境电商出口推进海外仓建设的意见", "url": "https://www.mofcom.gov.cn/1.html",
         "body": POLICY, "source": "商务部网站", "published_at": (now - timedelta(days=1)).isoformat()},
        {"title": "《中国人工智能城市竞争力排行研究报告》重磅发布", "url": "https://tmt.example.com/2.html", "body": AI,
         "source": "钛媒体", "published_at": (now - timedelta(days=2)).isoformat()},
    ]
    parsed = list(read_records([json.dumps(r, ensure_ascii=False) for r in records], fetched_at=now,
                               sources_by_name={}))
    batch = service.begin()
    stored = repository.store_articles(parsed, batch, now)
    service.commit(batch, now)
    repository.add_user("editor1", password_hash("editor-password"), "editor", now)
    app = create_app(database_ok=lambda: True, scheduler_ok=lambda: True, sources_health=lambda: [],
                     repository=repository, stories=service, settings=settings)
    client = TestClient(app, follow_redirects=False)
    token = client.post("/login", json={"name": "editor1", "password": "editor-password"}).json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    return {"client": client, "token": token, "stories": [s for _u, _a, s, _l in stored], "repository": repository}


def test_accepting_fills_the_draft_and_the_assembly_screen_edits_it(assembly):
    client, token = assembly["client"], assembly["token"]
    policy, ai = assembly["stories"]
    for story_id in (policy, ai):
        response = client.post(f"/api/stories/{story_id}/actions", json={"action": "accept"})
        assert response.status_code == 200 and "草稿" in response.json()["note"]
    current = client.get("/issues/current")
    assert current.status_code == 303
    issue_path = current.headers["location"]
    issue_id = int(issue_path.rsplit("/", 1)[1])
    issue = client.get(f"/api/issues/{issue_id}").json()
    news = [i for i in issue["items"] if i["section"] == "行业资讯"]
    assert [i["story_id"] for i in news] == [policy, ai]
    assert news[0]["text"].startswith("6 月 11 日，") and news[0]["attribution"] == "（来源：商务部网站）"
    page = client.get(issue_path)
    assert page.status_code == 200 and "行业资讯 2/10" in page.text and "人工智能 1" in page.text

    second = news[1]["id"]
    client.post(f"/issues/{issue_id}/items/{second}/move", data={"csrf_token": token, "direction": "up"})
    order = [i["story_id"] for i in client.get(f"/api/issues/{issue_id}").json()["items"] if i["section"] == "行业资讯"]
    assert order == [ai, policy]

    edited = client.post(f"/issues/{issue_id}/items/{news[0]['id']}/edit",
                         data={"csrf_token": token, "title": "商务部等 9 部门联合印发意见", "text": "太短的摘要",
                               "attribution": "（来源：商务部网站）"})
    assert edited.status_code == 303
    page = client.get(issue_path).text
    assert "已人工修改" in page and 'data-code="style.too_short"' in page
    # an emptied title keeps the old one and still saves the summary (no error page that loses the editor's text)
    emptied = client.post(f"/issues/{issue_id}/items/{news[0]['id']}/edit",
                          data={"csrf_token": token, "title": "  ", "text": "改写后的摘要", "attribution": ""})
    assert emptied.status_code == 303 and "已保留原标题" in unquote(emptied.headers["location"])
    kept = next(i for i in client.get(f"/api/issues/{issue_id}").json()["items"] if i["id"] == news[0]["id"])
    assert (kept["title"], kept["text"]) == ("商务部等 9 部门联合印发意见", "改写后的摘要")
    client.post(f"/issues/{issue_id}/items/{news[0]['id']}/regenerate", data={"csrf_token": token})
    regenerated = client.get(f"/api/issues/{issue_id}").json()["items"]
    assert next(i for i in regenerated if i["id"] == news[0]["id"])["text"].startswith("6 月 11 日，")

    client.post(f"/issues/{issue_id}/items/{second}/move", data={"csrf_token": token, "section": "协会动态"})
    assert next(i for i in client.get(f"/api/issues/{issue_id}").json()["items"] if i["id"] == second)[
        "section"] == "协会动态"
    client.post(f"/issues/{issue_id}/text", data={"csrf_token": token, "section": "数据月报",
                                                 "title": "2024 年 5 月大连市服务外包数据统计情况",
                                                 "html": "<p>签约额同比下降</p><script>alert(1)</script>"
                                                         "<table><tr><td>日本</td><td>29001</td></tr></table>"})
    free = next(i for i in client.get(f"/api/issues/{issue_id}").json()["items"] if i["section"] == "数据月报")
    assert "<script" not in free["html"] and "<table>" in free["html"] and "签约额" in free["html"]

    removed = client.post(f"/issues/{issue_id}/items/{news[0]['id']}/remove", data={"csrf_token": token})
    assert removed.status_code == 303
    assert client.get(f"/api/stories/{policy}").json()["candidate"]["state"] == "shortlisted"  # back in the queue

    download = client.get(f"/issues/{issue_id}/export.md")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    assert "【数据月报】" in download.text and "2024 年 5 月大连市服务外包数据统计情况" in download.text
    assert client.get(f"/issues/{issue_id}/export.docx").content[:2] == b"PK"
    assert client.get("/issues/999/export.md").status_code == 404

    version = str(client.get(f"/api/issues/{issue_id}").json()["version"])
    published = client.post(
        f"/issues/{issue_id}/publish", data={"csrf_token": token, "confirm": "yes", "version": version}
    )
    assert published.status_code == 303 and "kind=error" not in published.headers["location"]
    assert client.get(f"/api/stories/{ai}").json()["candidate"]["state"] == "used"
    locked = client.post(f"/issues/{issue_id}/items/{second}/edit",
                         data={"csrf_token": token, "title": "改标题", "text": "x"})
    assert "kind=error" in locked.headers["location"]
    again = client.post(f"/issues/{issue_id}/publish", data={"csrf_token": token})
    assert "kind=error" in again.headers["location"]
    no_reason = client.post(f"/issues/{issue_id}/reopen", data={"csrf_token": token, "reason": ""})
    assert "kind=error" in no_reason.headers["location"]
    reopened = client.post(f"/issues/{issue_id}/reopen", data={"csrf_token": token, "reason": "更正错别字"})
    assert "kind=error" not in reopened.headers["location"]
    audit = assembly["repository"].audit_entries(ai)
    assert any(a.action == "issue_add" for a in audit)
    with assembly["repository"].engine.connect() as conn:
        from sqlalchemy import select

        from news_harvester.store.schema import audit_log

        actions = [r.action for r in conn.execute(select(audit_log.c.action, audit_log.c.after)) if r.action]
    assert "issue_publish" in actions and "issue_reopen" in actions


def test_first_accepts_at_once_open_one_draft_and_file_every_story(settings, any_repository):
    """Editors accepting the first stories of a month at the same moment: each request finds no draft and opens
    one; the losers of that race (and of a double filing of one story) must use the winner's draft, not fail."""

    from news_harvester.editorial import issues
    from news_harvester.errors import StorageError

    repository = any_repository
    now = datetime.now(UTC)
    story_ids = _distinct_stories(repository, now, TOPIC_WORDS[:6])

    for round_ in range(3):
        # each story filed twice at once (a double click), all stories at once
        jobs = story_ids * 2
        outcomes: list[object] = []

        def file(story_id: int) -> None:
            try:
                outcomes.append(issues.add_story(repository, settings, None, story_id, user="editor1", now=now))
            except StorageError as exc:
                outcomes.append(exc.code)
            except Exception as exc:  # any other failure is reported by the assertions
                outcomes.append(repr(exc))

        _all_at_once(file, jobs)
        draft = repository.current_draft_id()
        assert draft is not None
        filed = {repository.item_for_story(draft, s) is not None for s in story_ids}
        assert filed == {True}, f"round {round_}: {outcomes}"
        assert sorted(o for o in outcomes if isinstance(o, str)) == ["storage.conflict"] * len(story_ids), outcomes
        with repository.engine.connect() as conn:
            from sqlalchemy import text

            drafts = conn.execute(text("SELECT count(*) FROM issues WHERE status = 'draft'")).scalar_one()
        assert drafts == 1
        # the next round starts without a draft again
        with repository.engine.begin() as conn:
            conn.execute(text("DELETE FROM issue_items"))
            conn.execute(text("DELETE FROM issues"))


def test_editors_filing_and_withdrawing_stories_at_once_keep_one_gapless_order(settings, any_repository):
    """Adds and removals in one section renumber its items; concurrent ones deadlocked on PostgreSQL (rows
    updated in different orders) and could take the same position. Each change now holds the issue's row."""

    from sqlalchemy import text

    from news_harvester.editorial import issues

    repository = any_repository
    now = datetime.now(UTC)
    story_ids = _distinct_stories(repository, now, TOPIC_WORDS)
    draft = issues.current_draft(repository, settings, user="editor1", now=now)
    failures: list[str] = []

    def churn(story_id: int) -> None:
        try:
            for _ in range(6):
                item = issues.add_story(repository, settings, None, story_id, user="editor1", now=now)
                repository.remove_item(item, user="editor1", now=now)
            issues.add_story(repository, settings, None, story_id, user="editor1", now=now)
        except Exception as exc:  # reported by the assertion below
            failures.append(repr(exc))

    _all_at_once(churn, story_ids)

    assert failures == []
    with repository.engine.connect() as conn:
        positions = conn.execute(
            text("SELECT position FROM issue_items WHERE issue_id = :i ORDER BY position"), {"i": draft}
        ).scalars().all()
    assert positions == list(range(1, len(story_ids) + 1))


TOPIC_WORDS = ["跨境电商", "海外仓", "数据安全", "人工智能", "集成电路", "数字人民币", "服务贸易", "平台经济"]


def _distinct_stories(repository, now, words: list[str]) -> list[int]:
    """One story per word (different texts: dedupe keeps them apart); their ids."""
    service = StoryService.load(repository, window_days=90, now=now, weights={}, enricher=None)
    records = [
        {"title": f"第{k}条：{word}最新动态", "url": f"https://example.cn/distinct/{k}.html",
         "body": f"{k}号消息。{word}。" + AI[k * 5:] + POLICY[: 60 + k], "source": "商务部网站",
         "published_at": (now - timedelta(hours=k)).isoformat()}
        for k, word in enumerate(words)
    ]
    parsed = list(read_records([json.dumps(r, ensure_ascii=False) for r in records], fetched_at=now,
                               sources_by_name={}))
    batch = service.begin()
    story_ids = sorted({s for _u, _a, s, _l in repository.store_articles(parsed, batch, now)})
    service.commit(batch, now)
    assert len(story_ids) == len(words)
    return story_ids


def _all_at_once(work, args: list[int]) -> None:
    """``work(arg)`` for every arg, each in its own thread; they wait for each other and start together."""
    import threading

    start = threading.Barrier(len(args))

    def run(arg: int) -> None:
        start.wait()
        work(arg)

    threads = [threading.Thread(target=run, args=(a,)) for a in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join()



def test_act_on_story_files_withdraws_and_says_what_it_could_not_file(settings, any_repository):
    """The one use case behind the app's accept/reject and `issue add`: the action, then the draft kept in step;
    a story accepted into a locked (published) issue is reported as not filed, the action itself stands."""
    from news_harvester.editorial.story_actions import DraftChange, act_on_story, follow_in_draft

    repository = any_repository
    now = datetime.now(UTC)
    first, second = _distinct_stories(repository, now, TOPIC_WORDS[:2])
    service = StoryService.load(repository, window_days=90, now=now, weights={}, enricher=None)

    accepted = act_on_story(repository, settings, None, service, first, "accept", user="editor1", now=now)
    draft = repository.current_draft_id()
    assert accepted.state.state == "accepted" and accepted.draft.change is DraftChange.FILED
    item = repository.item_for_story(draft, first)
    assert item is not None and accepted.draft.item_id == item.id
    assert " 月 " in item.text[:8] and item.attribution == "（来源：商务部网站）"  # drafted in house style
    again = follow_in_draft(repository, settings, None, first, "accept", user="editor2", now=now)
    assert again.change is DraftChange.FILED and again.item_id is None  # already there: no second item
    assert len(repository.get_issue(draft).items) == 1

    rejected = act_on_story(
        repository, settings, None, service, first, "reject", user="editor1", now=now, reason="重复"
    )
    assert rejected.state.state == "rejected" and rejected.draft.change is DraftChange.WITHDRAWN
    assert repository.item_for_story(draft, first) is None

    repository.set_issue_status(draft, "published", user="editor1", now=now)
    locked = act_on_story(
        repository, settings, None, service, second, "accept", user="editor1", now=now, issue_id=draft
    )
    assert locked.state.state == "accepted"  # the action stands
    assert locked.draft.change is DraftChange.NOT_FILED and locked.draft.problem
    assert repository.item_for_story(draft, second) is None
