"""The review queue's in-memory index (store.queue_index) answers every filter exactly as the SQL plans do, and
stays exact while other processes write: state changes, new stories, topic corrections, re-titled articles,
deletions, all made through a second engine (as the harvest's writer process or another web process would), and
after the change log was pruned past what the index had seen. Real SQLite and, with NEWS_HARVESTER_TEST_PG,
PostgreSQL (its triggers and out-of-order commits)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import delete, insert, select, update

from news_harvester.store.engine import make_engine
from news_harvester.store.queue import QueueFilter
from news_harvester.store.schema import articles, candidates, queue_changes, stories, story_topics
from test_queue_plans import FILTERS, NOW, PER_PAGE, Member, Story, _build, _expected


def pages(repository, f: QueueFilter, shown: dict[int, tuple[str, str, float | None]] | None = None):
    got: list[int] = []
    totals: set[int] = set()
    for page in itertools.count(1):
        result = repository.queue(f, page=page, per_page=PER_PAGE * 7, now=NOW)
        totals.add(result.total)
        got += [item.id for item in result.items]
        if shown is not None:
            shown.update({item.id: (item.state, item.title, item.score) for item in result.items})
        if not result.items:
            return got, totals


def check_all(repository, all_stories: list[Story], when: str) -> None:
    by_id = {s.id: s for s in all_stories}
    for name, f in FILTERS.items():
        expected = _expected(all_stories, f)
        shown: dict[int, tuple[str, str, float | None]] = {}
        got, totals = pages(repository, f, shown)
        assert totals == {len(expected)}, f"{when}, {name}: total"
        assert got == expected, f"{when}, {name}"
        for story_id, (state, title, score) in shown.items():  # the rows shown are current, not cached copies
            story = by_id[story_id]
            assert (state, title, score) == (story.state, story.members[0].title, story.score), (when, name)


@pytest.fixture
def other_engine(any_repository):
    """A second engine on the same database: writes from 'another process'."""
    engine = make_engine(any_repository.engine.url.render_as_string(hide_password=False))
    yield engine
    engine.dispose()


def test_index_answers_like_the_plain_filter_and_follows_writes_from_elsewhere(any_repository, other_engine):
    all_stories = _build(any_repository)
    index = any_repository.enable_queue_index()
    check_all(any_repository, all_stories, "at start")
    assert index.full_loads == 1
    by_id = {s.id: s for s in all_stories}

    with other_engine.begin() as conn:
        # states: accept three open stories, snooze one until yesterday (back in the queue), reject one
        open_ids = [s.id for s in all_stories if s.state == "new"][:5]
        for story_id in open_ids[:3]:
            conn.execute(update(candidates).where(candidates.c.story_id == story_id).values(state="accepted"))
            by_id[story_id].state = "accepted"
        conn.execute(
            update(candidates)
            .where(candidates.c.story_id == open_ids[3])
            .values(state="snoozed", snoozed_until=NOW - timedelta(days=1))
        )
        by_id[open_ids[3]].state, by_id[open_ids[3]].snoozed_until = "snoozed", NOW - timedelta(days=1)
        # scores: the lowest-ranked story jumps to the top
        last = min(all_stories, key=lambda s: (s.score is not None, s.score or 0, s.id))
        conn.execute(update(stories).where(stories.c.id == last.id).values(score=1000.0))
        last.score = 1000.0
        # topics: an editor's correction removes one, adds another
        with_topic = next(s for s in all_stories if any(not r for r in s.topics.values()))
        topic = next(t for t, rejected in with_topic.topics.items() if not rejected)
        conn.execute(
            update(story_topics)
            .where(story_topics.c.story_id == with_topic.id, story_topics.c.topic_id == topic)
            .values(rejected=True)
        )
        with_topic.topics[topic] = True
    check_all(any_repository, all_stories, "after states, scores and topics")

    with other_engine.begin() as conn:
        # a new story with a new topic id, and a re-titled article (text search must see both)
        story_id = conn.execute(
            insert(stories).values(created_at=NOW, updated_at=NOW, score=33.5).returning(stories.c.id)
        ).scalar_one()
        article_id = conn.execute(
            insert(articles)
            .values(url="https://example.cn/new.html", source_id="mofcom", source_name="商务部网站",
                    title="海外仓建设新政策出台", body_text="跨境电商海外仓。" * 5, published_at=NOW,
                    fetched_at=NOW, content_hash="new0", story_id=story_id)
            .returning(articles.c.id)
        ).scalar_one()  # fmt: skip
        conn.execute(update(stories).where(stories.c.id == story_id).values(canonical_article_id=article_id))
        conn.execute(insert(candidates).values(article_id=article_id, story_id=story_id, state="new", created_at=NOW))
        conn.execute(insert(story_topics).values(story_id=story_id, topic_id="trade", confidence=0.9))
        conn.execute(insert(story_topics).values(story_id=story_id, topic_id="brand-new", confidence=0.9))
        fresh = Story(int(story_id), 33.5, "new", None, {"trade": False, "brand-new": False})
        fresh.members.append(Member("海外仓建设新政策出台", "跨境电商海外仓。" * 5, "mofcom", "商务部网站", NOW))
        all_stories.append(fresh)
        retitled = next(s for s in all_stories if s.state == "new" and "人工智能" not in s.members[0].title)
        canonical = conn.execute(select(stories.c.canonical_article_id).where(stories.c.id == retitled.id)).scalar()
        conn.execute(update(articles).where(articles.c.id == canonical).values(title="人工智能大会开幕"))
        retitled.members[0].title = "人工智能大会开幕"
    assert pages(any_repository, QueueFilter(topic="brand-new"))[0] == [fresh.id]
    check_all(any_repository, all_stories, "after a new story and a re-titled article")

    with other_engine.begin() as conn:
        gone = next(s for s in all_stories if s.state == "new" and s is not fresh)
        conn.execute(delete(candidates).where(candidates.c.story_id == gone.id))
        all_stories.remove(gone)
    check_all(any_repository, all_stories, "after a candidate was deleted")
    assert index.full_loads == 1, "changes are applied, not reloaded"

    with other_engine.begin() as conn:  # the log pruned past what the index has seen: it reloads, still exact
        conn.execute(update(candidates).where(candidates.c.story_id == all_stories[0].id).values(state="rejected"))
        all_stories[0].state = "rejected"
        top = conn.execute(select(queue_changes.c.seq).order_by(queue_changes.c.seq.desc()).limit(1)).scalar_one()
        conn.execute(delete(queue_changes).where(queue_changes.c.seq <= top))
        conn.execute(update(candidates).where(candidates.c.story_id == all_stories[1].id).values(state="accepted"))
        all_stories[1].state = "accepted"
    check_all(any_repository, all_stories, "after the log was pruned")
    assert index.full_loads == 2


def test_a_change_committed_after_a_later_one_is_not_missed_on_postgresql(any_repository, other_engine):
    """PostgreSQL hands out sequence numbers before commit: a transaction that started first may commit after
    one that started later was read. The index asks again for the numbers it skipped."""
    if any_repository.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: its log is always in commit order")
    all_stories = _build(any_repository)
    any_repository.enable_queue_index()
    check_all(any_repository, all_stories, "at start")
    first, second = [s for s in all_stories if s.state == "new"][:2]
    slow = other_engine.connect()
    slow_transaction = slow.begin()
    slow.execute(update(candidates).where(candidates.c.story_id == first.id).values(state="rejected"))  # lower seq
    with other_engine.begin() as conn:
        conn.execute(update(candidates).where(candidates.c.story_id == second.id).values(state="accepted"))
    second.state = "accepted"
    check_all(any_repository, all_stories, "the later change committed, the earlier still open")
    slow_transaction.commit()
    slow.close()
    first.state = "rejected"
    check_all(any_repository, all_stories, "the earlier change committed last")
