"""Rules editors rely on when they number and publish issues (issue 21), on SQLite and PostgreSQL:

* an issue without items is not published unless that is asked for explicitly;
* numbers (期号 and 总第 N 期) never go backwards: a new draft follows the highest number ever used, and
  publishing moves drafts left behind with lower numbers past the published issue;
* the current draft (本期编排, where accepted stories land) stays on the draft that has items, not on a newer
  empty one, and never on a reopened issue while a real next draft exists;
* a publication confirmed for one version of the issue is refused once the issue changed.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from news_harvester.editorial import issues
from news_harvester.errors import StorageError
from news_harvester.harvest.ingest import read_records
from news_harvester.store.issue_rows import Numbers, following
from news_harvester.store.schema import audit_log
from news_harvester.stories.assign import StoryService
from passwords import password_hash

BODY = (
    "6月11日，商务部等九部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》。《意见》明确，五大方面15项工作内容。"
    "一是积极培育跨境电商经营主体，大力支持跨境电商赋能产业发展，提升服务跨境电商企业能力。二是加大金融支持力度，"
    "畅通跨境电商企业融资渠道，优化跨境资金结算服务，推动跨境电商供应链降本增效。三是加强相关基础设施和物流体系建设。"
)


def _service(repository, now: datetime) -> StoryService:
    return StoryService.load(repository, window_days=90, now=now, weights={}, enricher=None)


def _story(repository, now: datetime) -> int:
    """One real story, stored through the ingest path."""
    service = _service(repository, now)
    record = {"title": "九部门印发拓展跨境电商出口推进海外仓建设的意见", "url": "https://www.mofcom.gov.cn/rules/1.html",
              "body": BODY, "source": "商务部网站", "published_at": (now - timedelta(days=1)).isoformat()}
    parsed = list(read_records([json.dumps(record, ensure_ascii=False)], fetched_at=now, sources_by_name={}))
    batch = service.begin()
    [(_url, _article, story_id, _layer)] = repository.store_articles(parsed, batch, now)
    service.commit(batch, now)
    return int(story_id)


def _free_text(repository, issue_id: int, now: datetime, title: str = "协会召开年会") -> int:
    return repository.add_item(issue_id, section="协会动态", title=title, html="<p>协会召开年会。</p>",
                               user="editor1", now=now)


def _numbers(repository, issue_id: int) -> tuple[int, int, int | None, str]:
    row = repository.get_issue(issue_id)
    return row.year, row.number, row.total_number, row.status


def test_an_issue_without_items_is_not_published_unless_asked(settings, any_repository):
    repository = any_repository
    now = datetime.now(UTC)
    draft = issues.new_issue(repository, settings, user="editor1", now=now)
    with pytest.raises(StorageError) as refused:
        issues.publish(repository, settings, _service(repository, now), draft, user="editor1", now=now)
    assert refused.value.code == "issue.empty" and "没有任何条目" in refused.value.message
    assert repository.get_issue(draft).status == "draft"

    done = issues.publish(repository, settings, _service(repository, now), draft, user="editor1", now=now,
                          allow_empty=True)
    assert repository.get_issue(draft).status == "published"
    assert done.next_draft != draft and repository.get_issue(done.next_draft).status == "draft"
    with repository.engine.connect() as conn:
        afters = [json.loads(r.after) for r in conn.execute(select(audit_log.c.after)
                                                            .where(audit_log.c.action == "issue_publish"))]
    assert afters == [{"issue": draft, "status": "published", "empty": True}], "a forced empty issue is on record"


def test_publishing_marks_the_stories_it_holds_used(settings, any_repository):
    repository = any_repository
    now = datetime.now(UTC)
    story = _story(repository, now)
    item = issues.add_story(repository, settings, None, story, user="editor1", now=now)
    draft = repository.get_item(item).issue_id
    done = issues.publish(repository, settings, _service(repository, now), draft, user="editor1", now=now)
    assert repository.candidate_state(story).state == "used"
    assert repository.get_issue(done.next_draft).number == repository.get_issue(draft).number + 1


def test_numbers_never_go_backwards_after_publishing_a_later_draft(settings, any_repository):
    """The editor's report: a filled draft 第 1 期, `issue new` opened 第 2 期, 第 2 期 was published, and the next
    draft was 第 1 期. The left-over draft is now numbered after the published one (期号 and 总第 N 期)."""
    repository = any_repository
    now = datetime.now(UTC)
    year = issues.editor_today(now).year
    first = issues.new_issue(repository, settings, user="editor1", now=now, total_number=26)
    second = issues.new_issue(repository, settings, user="editor1", now=now + timedelta(seconds=1))
    assert _numbers(repository, first) == (year, 1, 26, "draft")
    assert _numbers(repository, second) == (year, 2, 27, "draft"), "a new draft follows the highest number"
    _free_text(repository, second, now)

    done = issues.publish(repository, settings, _service(repository, now), second, user="editor1",
                          now=now + timedelta(minutes=1))

    assert _numbers(repository, second) == (year, 2, 27, "published")
    assert _numbers(repository, first) == (year, 3, 28, "draft")
    assert done.next_draft == first, "the left-over draft is the next one, not a new empty draft besides it"
    assert [(r.issue_id, r.before, r.after) for r in done.renumbered] == [
        (first, Numbers(year, 1, 26), Numbers(year, 3, 28))]
    assert issues.propose_numbers(repository, issues.editor_today(now)) == Numbers(year, 4, 29)
    with repository.engine.connect() as conn:
        renumber = conn.execute(select(audit_log.c.before, audit_log.c.after)
                                .where(audit_log.c.action == "issue_renumber")).one()
    assert json.loads(renumber.before)["label"] == f"{year} 年第 1 期（总第 26 期）"
    assert json.loads(renumber.after)["label"] == f"{year} 年第 3 期（总第 28 期）"


def test_a_reopened_issue_keeps_its_number_and_is_not_the_current_draft(settings, any_repository):
    repository = any_repository
    now = datetime.now(UTC)
    first = issues.new_issue(repository, settings, user="editor1", now=now)
    _free_text(repository, first, now)
    done = issues.publish(repository, settings, _service(repository, now), first, user="editor1", now=now)
    later = now + timedelta(minutes=5)
    issues.reopen(repository, first, reason="更正错别字", user="editor1", now=later)
    assert repository.current_draft_id() == done.next_draft, "next month's stories must not land in the old issue"
    # republishing it renumbers nothing: the next draft is above it already
    again = issues.publish(repository, settings, _service(repository, later), first, user="editor1", now=later)
    assert again.renumbered == () and again.next_draft == done.next_draft
    assert repository.get_issue(first).number == 1 and repository.get_issue(done.next_draft).number == 2


def test_the_current_draft_stays_on_the_draft_with_items(settings, any_repository):
    repository = any_repository
    now = datetime.now(UTC)
    filled = issues.new_issue(repository, settings, user="editor1", now=now)
    _free_text(repository, filled, now)
    empty = issues.new_issue(repository, settings, user="editor1", now=now + timedelta(minutes=1))
    assert repository.get_issue(empty).number > repository.get_issue(filled).number
    assert repository.current_draft_id() == filled, "a newer empty draft does not take over 本期编排"
    assert issues.current_draft(repository, settings, user="editor1", now=now) == filled

    _free_text(repository, empty, now + timedelta(minutes=2), title="另一期的文字")
    assert repository.current_draft_id() == empty, "among drafts with items, the most recently edited"
    _free_text(repository, filled, now + timedelta(minutes=3), title="又一则")
    assert repository.current_draft_id() == filled


def test_a_publication_confirmed_for_another_version_is_refused(settings, any_repository):
    repository = any_repository
    now = datetime.now(UTC)
    draft = issues.new_issue(repository, settings, user="editor1", now=now)
    _free_text(repository, draft, now)
    seen = repository.get_issue(draft).version
    _free_text(repository, draft, now, title="确认之后另一位编辑加的")
    with pytest.raises(StorageError) as changed:
        issues.publish(repository, settings, _service(repository, now), draft, user="editor1", now=now,
                       expected_version=seen)
    assert changed.value.code == "issue.changed" and repository.get_issue(draft).status == "draft"
    current = repository.get_issue(draft).version
    issues.publish(repository, settings, _service(repository, now), draft, user="editor1", now=now,
                   expected_version=current)
    assert repository.get_issue(draft).status == "published"


def test_following_numbers():
    assert following(None, date(2026, 3, 1)) == Numbers(2026, 1, None)
    assert following(Numbers(2026, 5, 30), date(2026, 12, 31)) == Numbers(2026, 6, 31)
    assert following(Numbers(2026, 12, 37), date(2027, 1, 1)) == Numbers(2027, 1, 38), "1 in a new year"
    assert following(Numbers(2027, 1, None), date(2026, 12, 31)) == Numbers(2027, 2, None), "never back a year"


def test_the_editors_day_decides_the_year():
    new_year_in_dalian = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # 07:30 on 1 January in Asia/Shanghai
    assert issues.editor_today(new_year_in_dalian) == date(2027, 1, 1)


def test_the_web_app_says_where_the_current_draft_stays(settings, repository):
    """A new draft beside a filled one: the assembly screen keeps the filled one, and both pages say so."""
    from urllib.parse import parse_qs, urlsplit

    from fastapi.testclient import TestClient

    from news_harvester.web.app import create_app

    now = datetime.now(UTC)
    filled = issues.new_issue(repository, settings, user="editor1", now=now)
    _free_text(repository, filled, now)
    repository.add_user("editor1", password_hash("editor-password"), "editor", now)
    app = create_app(database_ok=lambda: True, scheduler_ok=lambda: True, sources_health=lambda: [],
                     repository=repository, stories=_service(repository, now), settings=settings)
    client = TestClient(app, follow_redirects=False)
    token = client.post("/login", json={"name": "editor1", "password": "editor-password"}).json()["csrf_token"]

    created = client.post("/issues", data={"csrf_token": token})
    assert created.status_code == 303
    message = parse_qs(urlsplit(created.headers["location"]).query)["msg"][0]
    label = repository.get_issue(filled).label
    assert message == f"已新建一期草稿；“本期编排”和采用的素材仍然对应已有内容的草稿 {label}"
    assert client.get("/issues/current").headers["location"] == f"/issues/{filled}"
    listing = client.get("/issues").text
    row = next(line for line in listing.splitlines() if f"/issues/{filled}\"" in line)
    assert "本期编排" in listing.split(row)[1].split("</tr>")[0]
