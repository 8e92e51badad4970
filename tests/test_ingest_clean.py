"""Ingested bodies are cleaned as harvested article pages are (issue 21): page furniture an export kept
(``【字体：大 中 小】 打印本页``, ``分享到``, ``关闭窗口``, ``责任编辑：…``) is gone from the stored body and the
queue's snippet, because ``news-harvester ingest`` runs the harvest path's own furniture removal
(``parse.clean.drop_boilerplate``), not a copy of it.

Real parts: the real CLI in a subprocess (tests/procs.run_cli) writing a real SQLite file, read back through
the ``repository`` fixture (same data directory); the harvest side is the real extractor on a real page shape.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from news_harvester.harvest.ingest import clean_body
from news_harvester.parse.article import extract_page
from news_harvester.store.queue import QueueFilter
from procs import run_cli

LEAD = "6月11日，商务部等九部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》。"
SECOND = "《意见》明确，五大方面15项工作内容，包括积极培育跨境电商经营主体、加大金融支持力度等。"
# Furniture as sites print it around an article; each line is removed on the harvest path.
FURNITURE = ["【字体：大 中 小】 打印本页", "分享到：", "打印本页", "关闭窗口", "责任编辑：王某", "【我要纠错】"]
FURNITURE_WORDS = ("字体", "打印本页", "分享到", "关闭窗口", "责任编辑", "纠错")


def jsonl(path: Path, records: list[dict[str, str]]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    return path


def test_ingest_cli_stores_body_and_snippet_without_furniture(tmp_path, settings, repository):
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - {id: mofcom, name: 商务部网站, kind: feed, url: 'http://127.0.0.1:9/x.xml'}\n", encoding="utf-8"
    )
    now = datetime.now(UTC)
    text_body = "\n".join([FURNITURE[0], LEAD, FURNITURE[1], SECOND, FURNITURE[3], FURNITURE[4]])
    html_body = (
        "<div class='tools'>【字体：<a href='#'>大</a> <a href='#'>中</a> <a href='#'>小</a>】</div>"
        "<p>打印本页</p><p>6月12日，商务部召开例行新闻发布会，介绍数字贸易发展情况和下一步工作安排。</p>"
        "<p>发言人表示，将加快推进数字贸易改革创新，支持企业开拓国际市场。</p><p>分享到</p><p>关闭窗口</p>"
    )
    records = [
        {"title": "九部门印发意见", "url": "https://example.cn/a.html", "body": text_body,
         "published_at": now.isoformat(), "source": "商务部网站"},
        {"title": "商务部例行新闻发布会", "url": "https://example.cn/b.html", "body": html_body,
         "published_at": now.isoformat(), "source": "商务部网站"},
    ]  # fmt: skip
    done = run_cli(tmp_path, "ingest", str(jsonl(tmp_path / "in.jsonl", records)), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["new"] == 2

    with repository.engine.connect() as conn:
        bodies = dict(conn.execute(text("select url, body_text from articles")).all())
    assert bodies["https://example.cn/a.html"].splitlines() == [LEAD, SECOND]
    assert bodies["https://example.cn/b.html"].startswith("6月12日，商务部召开例行新闻发布会")
    assert len(bodies["https://example.cn/b.html"].splitlines()) == 2
    snippets = {item.title: item.snippet for item in repository.queue(QueueFilter(), now=now).items}
    assert snippets["九部门印发意见"].startswith(LEAD)
    assert snippets["商务部例行新闻发布会"].startswith("6月12日，商务部召开例行新闻发布会")
    for stored in [*bodies.values(), *snippets.values()]:
        assert not any(word in stored for word in FURNITURE_WORDS), stored


@pytest.mark.parametrize("line", FURNITURE)
def test_ingest_drops_what_the_harvest_path_drops(line):
    """One line of furniture between two paragraphs: the extractor (harvest path) drops it from a page, and
    the ingest cleaning drops it from text and from HTML alike, leaving the paragraphs as they were."""
    page = (
        "<html><head><title>九部门印发意见</title></head><body><div class='article'>"
        f"<h1>九部门印发意见</h1><p>{LEAD}</p><p>{line}</p><p>{SECOND}</p></div></body></html>"
    )
    harvested = extract_page(page, "https://example.cn/a.html", ZoneInfo("Asia/Shanghai")).body_text
    assert harvested.splitlines() == [LEAD, SECOND]
    assert clean_body(f"{LEAD}\n{line}\n{SECOND}") == harvested
    assert clean_body(f"<p>{LEAD}</p><p>{line}</p><p>{SECOND}</p>") == harvested


def test_ingest_keeps_sentences_that_only_mention_furniture_words():
    """The rules match whole lines: a sentence about sharing or printing is text, on both paths."""
    body = f"{LEAD}\n用户可将页面分享到社交平台，也可以打印本页留存。\n{SECOND}"
    assert clean_body(body).splitlines() == body.splitlines()
