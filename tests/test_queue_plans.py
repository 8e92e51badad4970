"""The review queue picks its query plan by filter (per-story lookups, shared lists, deep pages, the count's
driver): whatever the plan, every page and the total must equal a plain filter-and-sort of all stories.

A random but fixed set of stories, written with SQL on a real SQLite file and, with NEWS_HARVESTER_TEST_PG,
on PostgreSQL; every filter combination is paged three stories at a time so pages past DENSE_WALK_PAGES (the
deep-page plan) are compared as well.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from news_harvester.store.queue import DENSE_WALK_PAGES, QueueFilter
from news_harvester.store.schema import OPEN_STATES, articles, candidates, stories, story_topics

NOW = datetime(2026, 6, 20, 12, 0, tzinfo=UTC)
WORDS = ["跨境电商", "海外仓", "数据安全", "人工智能", "集成电路", "数字人民币", "服务贸易", "平台经济"]
TOPICS = ["trade", "data", "ai"]
SOURCES = [("mofcom", "商务部网站"), ("xinhua", "新华网"), ("tmt", "钛媒体")]
STATES = ["new", "shortlisted", "accepted", "rejected", "snoozed"]
N_STORIES = 200
PER_PAGE = 3


@dataclass
class Member:
    title: str
    body: str
    source_id: str
    source_name: str
    when: datetime


@dataclass
class Story:
    id: int
    score: float | None
    state: str
    snoozed_until: datetime | None
    topics: dict[str, bool] = field(default_factory=dict)  # topic → rejected
    members: list[Member] = field(default_factory=list)  # the first is the canonical article


def _build(repository) -> list[Story]:
    rng = random.Random(20240611)
    made: list[Story] = []
    with repository.engine.begin() as conn:
        for k in range(N_STORIES):
            state = rng.choice(STATES)
            snoozed = NOW + timedelta(days=rng.choice([-3, 5])) if state == "snoozed" else None
            score = None if rng.random() < 0.05 else float(rng.randint(0, 40))  # ties: ordered by id
            story_id = conn.execute(
                insert(stories).values(created_at=NOW, updated_at=NOW, score=score).returning(stories.c.id)
            ).scalar_one()
            story = Story(int(story_id), score, state, snoozed)
            for m in range(rng.choice([1, 1, 2])):
                words = rng.sample(WORDS, 2)
                source_id, source_name = rng.choice(SOURCES)
                member = Member(
                    title=f"{words[0]}新进展第{k}号",
                    body=f"正文{k}-{m}：{words[1]}相关情况介绍。" * 3,
                    source_id=source_id,
                    source_name=source_name,
                    when=NOW - timedelta(days=rng.randint(0, 30), hours=rng.randint(0, 23)),
                )
                published = None if rng.random() < 0.2 else member.when  # then fetched_at is the date
                article_id = conn.execute(
                    insert(articles)
                    .values(
                        url=f"https://example.cn/{k}/{m}.html",
                        source_id=member.source_id,
                        source_name=member.source_name,
                        title=member.title,
                        body_text=member.body,
                        published_at=published,
                        fetched_at=member.when,
                        content_hash=f"{k:04d}{m}",
                        story_id=story.id,
                    )
                    .returning(articles.c.id)
                ).scalar_one()
                if m == 0:
                    conn.execute(
                        stories.update().where(stories.c.id == story.id).values(canonical_article_id=article_id)
                    )
                    conn.execute(
                        insert(candidates).values(
                            article_id=article_id,
                            story_id=story.id,
                            state=state,
                            snoozed_until=snoozed,
                            created_at=NOW,
                        )
                    )
                story.members.append(member)
            for topic in rng.sample(TOPICS, rng.randint(0, 2)):
                rejected = rng.random() < 0.15
                conn.execute(
                    insert(story_topics).values(story_id=story.id, topic_id=topic, confidence=0.5, rejected=rejected)
                )
                story.topics[topic] = rejected
            made.append(story)
    return made


def _expected(all_stories: list[Story], f: QueueFilter) -> list[int]:
    """The queue's meaning, written plainly."""

    def passes(s: Story) -> bool:
        states = set(f.states)
        ok_state = s.state in states or (
            s.state == "snoozed"
            and "snoozed" not in states
            and bool(states & {"new", "shortlisted"})
            and s.snoozed_until is not None
            and s.snoozed_until <= NOW
        )
        if not ok_state:
            return False
        if f.topic and s.topics.get(f.topic, True):  # absent or rejected
            return False
        if f.source and not any(f.source in (m.source_id, m.source_name) for m in s.members):
            return False
        when = s.members[0].when
        if (f.date_from and when < f.date_from) or (f.date_to and when >= f.date_to):
            return False
        if f.text:
            short = len(f.text) < 3
            return any(f.text in m.title or (not short and f.text in m.body) for m in s.members)
        return True

    hits = [s for s in all_stories if passes(s)]
    hits.sort(key=lambda s: (s.score is None, -(s.score or 0.0), -s.id))
    return [s.id for s in hits]


FILTERS = {
    "default": QueueFilter(),
    "all states": QueueFilter(states=tuple(STATES)),
    "rejected": QueueFilter(states=("rejected",)),
    "accepted+snoozed": QueueFilter(states=("accepted", "snoozed")),
    "topic": QueueFilter(topic="data"),
    "topic rejected state": QueueFilter(states=("rejected",), topic="ai"),
    "source": QueueFilter(source="新华网"),
    "source id": QueueFilter(source="tmt"),
    "text 2": QueueFilter(text="电商"),
    "text 4": QueueFilter(text="人工智能"),
    "text body": QueueFilter(text="数字人民币相关"),
    "text none": QueueFilter(text="量子纠缠"),
    "date": QueueFilter(date_from=NOW - timedelta(days=10), date_to=NOW - timedelta(days=2)),
    "date from": QueueFilter(date_from=NOW - timedelta(days=5)),
    "combo": QueueFilter(topic="trade", text="海外仓", date_from=NOW - timedelta(days=20)),
    "combo states": QueueFilter(states=("new", "accepted"), source="mofcom", text="数据"),
}


@pytest.fixture
def built(any_repository):
    return any_repository, _build(any_repository)


def test_every_plan_returns_the_plain_filter_and_order(built):
    repository, all_stories = built
    reached_deep = False
    for name, f in FILTERS.items():
        expected = _expected(all_stories, f)
        got: list[int] = []
        for page in itertools.count(1):
            result = repository.queue(f, page=page, per_page=PER_PAGE, now=NOW)
            assert result.total == len(expected), f"{name}: total on page {page}"
            got += [item.id for item in result.items]
            reached_deep |= page > DENSE_WALK_PAGES and bool(result.items)
            if not result.items:
                break
        assert got == expected, name
    assert reached_deep, "no filter reached the deep-page plan: add stories or lower PER_PAGE"
    assert len(_expected(all_stories, QueueFilter(states=OPEN_STATES))) > PER_PAGE * DENSE_WALK_PAGES
