"""The CLI as scripts and editors meet it (issue 21): a file that cannot be written is one error line and exit 1,
never a traceback, in every command; an empty issue is neither exported nor published unless ``--allow-empty``
says so; issue numbers never go backwards and ``issue new`` does not steal the current draft from a filled one.
Everything runs the real ``news-harvester`` command on a real SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from procs import run_cli

BODY = (
    "6月11日，商务部等九部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》。《意见》明确，五大方面15项工作内容。"
    "一是积极培育跨境电商经营主体，大力支持跨境电商赋能产业发展，提升服务跨境电商企业能力。二是加大金融支持力度，"
    "畅通跨境电商企业融资渠道，优化跨境资金结算服务，推动跨境电商供应链降本增效。三是加强相关基础设施和物流体系建设。"
)
AI_BODY = (
    "6月13日，T-EDGE未来科技大会发布《中国人工智能城市竞争力排行研究报告》。报告通过聚类分析将中国的样本城市划分为5个梯队，"
    "北京市作为第一梯队城市，具备高城市效益产出性、渗透性、发展潜能和基础设施。深圳市及上海市属于第二梯队，"
    "上海市对人工智能产业的政策支持力度较大，在产业链的基础、技术层具有较强覆盖力。总体来看具有一定竞争力。"
)


def _cli(tmp: Path, *args: str):
    done = run_cli(tmp, *args)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def _ok(tmp: Path, *args: str) -> str:
    done = _cli(tmp, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _one_error_line(done) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    return tmp_path


def _stories(home: Path) -> list[int]:
    now = datetime.now(UTC)
    records = [
        {"title": "九部门印发拓展跨境电商出口推进海外仓建设的意见", "url": "https://www.mofcom.gov.cn/e/1.html",
         "body": BODY, "source": "商务部网站", "published_at": (now - timedelta(days=1)).isoformat()},
        {"title": "《中国人工智能城市竞争力排行研究报告》重磅发布", "url": "https://tmt.example.com/e/2.html",
         "body": AI_BODY, "source": "钛媒体", "published_at": (now - timedelta(days=2)).isoformat()},
    ]
    path = home / "in.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    assert json.loads(_ok(home, "ingest", str(path), "--json"))["stories_new"] == 2
    listed = json.loads(_ok(home, "stories", "list", "--json"))
    by_url = {s["canonical_url"]: s["id"] for s in listed}
    return [by_url[r["url"]] for r in records]


def _new_issue(home: Path) -> int:
    return int(json.loads(_ok(home, "issue", "new", "--json"))["id"])


def test_export_to_an_unwritable_path_is_one_error_line(home):
    story, _ = _stories(home)
    _ok(home, "issue", "add", str(story))
    issue_id = json.loads(_ok(home, "issue", "list", "--json"))[0]["id"]
    blocker = home / "not-a-directory"
    blocker.write_text("a file where the export's directory should be\n", encoding="utf-8")
    for fmt in ("docx", "md"):
        target = blocker / f"brief.{fmt}"
        done = _cli(home, "issue", "export", str(issue_id), "--format", fmt, "-o", str(target))
        assert done.returncode == 1
        assert _one_error_line(done) == f"error: cannot write {target}: Not a directory"
    written = home / "brief.docx"
    assert _ok(home, "issue", "export", str(issue_id), "--format", "docx", "-o", str(written)).startswith("wrote ")
    assert written.read_bytes()[:2] == b"PK"


@pytest.mark.parametrize("command", [
    ("backup", "-o", "{blocker}/sub/x.db"),
    ("init", "{blocker}/sub"),
    ("sources", "export-opml", "-o", "{blocker}/x.opml"),
])
def test_every_command_writing_a_file_fails_with_one_line(home, command):
    """``guard`` catches OSError for every command: commands that write files without their own handling
    (``backup``, ``init``) end in one line and exit 1 as well."""
    _ok(home, "issue", "list")  # a database to back up
    blocker = home / "not-a-directory"
    blocker.write_text("x\n", encoding="utf-8")
    done = _cli(home, *(part.format(blocker=blocker) for part in command))
    assert done.returncode == 1
    line = _one_error_line(done)
    assert str(blocker) in line and ("Not a directory" in line or "File exists" in line), line


def test_an_empty_issue_is_not_exported_unless_allowed(home):
    issue_id = _new_issue(home)
    target = home / "empty.md"
    done = _cli(home, "issue", "export", str(issue_id), "--format", "md", "-o", str(target))
    assert done.returncode == 1 and not target.exists()
    assert "has no items; nothing exported" in _one_error_line(done)
    _ok(home, "issue", "export", str(issue_id), "--format", "md", "-o", str(target), "--allow-empty")
    assert "数字贸易简报" in target.read_text(encoding="utf-8")


def test_an_empty_issue_is_not_published_unless_allowed(home):
    issue_id = _new_issue(home)
    done = _cli(home, "issue", "publish", str(issue_id))
    assert done.returncode == 1 and done.stdout == ""
    assert _one_error_line(done) == (
        f"error: issue #{issue_id} has no items; refusing to publish an empty issue "
        "(--allow-empty publishes it anyway)")
    assert json.loads(_ok(home, "issue", "show", str(issue_id), "--json"))["status"] == "draft"
    published = _ok(home, "issue", "publish", str(issue_id), "--allow-empty")
    assert published.startswith(f"published issue #{issue_id}; next draft is #")


def test_issue_new_keeps_the_filled_draft_current_and_numbers_go_forward(home):
    """The editor's report, step by step: a filled draft, `issue new`, publishing the newer 第 2 期 (forced:
    it is empty), and the next draft must not be 第 1 期."""
    policy, ai = _stories(home)
    _ok(home, "issue", "add", str(policy))
    filled = json.loads(_ok(home, "issue", "list", "--json"))[0]["id"]
    created = _cli(home, "issue", "new")
    assert created.returncode == 0
    newer = int(created.stdout.split()[0].lstrip("#"))
    assert f"stays #{filled}" in created.stderr and f"--issue {newer}" in created.stderr

    added = _ok(home, "issue", "add", str(ai))
    assert f"to issue #{filled} " in added, "the next accept still lands in the filled draft"

    published = _cli(home, "issue", "publish", str(newer), "--allow-empty")
    assert published.returncode == 0, published.stderr
    assert published.stdout.strip() == f"published issue #{newer}; next draft is #{filled}"
    year = json.loads(_ok(home, "issue", "show", str(newer), "--json"))["year"]
    assert f"note: draft #{filled} renumbered from {year} 年第 1 期 to {year} 年第 3 期" in published.stderr
    listed = json.loads(_ok(home, "issue", "list", "--json"))
    assert [(i["id"], i["number"], i["status"], i["items"]) for i in listed] == [
        (filled, 3, "draft", 2), (newer, 2, "published", 0)]
    nxt = _ok(home, "issue", "new", "--json")
    assert json.loads(nxt)["number"] == 4
