"""Pure parts of stories: the ranking score and follow-up detection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from news_harvester.stories.assign import UsedStory, book_titles, follow_up_of
from news_harvester.stories.dedupe import DedupeDoc, StoryIndex
from news_harvester.stories.ranking import RankingParams, StoryFacts, score_story

NOW = datetime(2024, 6, 20, 12, tzinfo=UTC)


def facts(**kw):
    base = {
        "topic_confidence": 0.8,
        "off_topic": False,
        "source_weight": 10.0,
        "outlets": 1,
        "published_at": NOW - timedelta(days=1),
    }
    return StoryFacts(**(base | kw))


def test_parts_add_up_and_are_named():
    score = score_story(facts(), NOW)
    assert set(score.parts) == {"topic", "source", "outlets", "recency"}
    assert abs(score.total - sum(score.parts.values())) < 0.05
    assert score.parts["topic"] == 32.0  # 0.8 x 40
    assert score.parts["source"] == 25.0  # weight 10 of 10
    assert score.parts["outlets"] == 0.0  # a single outlet adds nothing
    assert 17 < score.parts["recency"] < 20  # one day of a 7-day half-life


def test_each_fact_moves_the_score_the_right_way():
    base = score_story(facts(), NOW).total
    assert score_story(facts(source_weight=4), NOW).total < base  # a reprint site below 商务部
    assert score_story(facts(outlets=5), NOW).total > score_story(facts(outlets=2), NOW).total > base
    assert score_story(facts(outlets=50), NOW).parts["outlets"] == RankingParams().outlets  # saturates
    assert score_story(facts(published_at=NOW - timedelta(days=30)), NOW).total < base
    assert score_story(facts(topic_confidence=0.2), NOW).total < base
    off = score_story(facts(topic_confidence=0.0, off_topic=True), NOW)
    assert off.parts["off_topic"] < 0 and off.total < base - 30
    used = score_story(facts(used=True), NOW)
    assert used.parts["used"] == -100 and used.total < 0
    assert score_story(facts(rejected=True), NOW).total < 0
    liked = score_story(facts(relevance=0.9), NOW)
    disliked = score_story(facts(relevance=0.1), NOW)
    assert liked.parts["editor_fit"] > 0 > disliked.parts["editor_fit"]


def test_future_dates_and_nan_do_not_inflate():
    future = score_story(facts(published_at=NOW + timedelta(days=3)), NOW)
    assert future.parts["recency"] == RankingParams().recency
    assert score_story(facts(topic_confidence=float("nan")), NOW).parts["topic"] == 0.0


def _used(story_id, title, body, published):
    index = StoryIndex()
    fp = index.fingerprint(
        DedupeDoc(id=story_id, url=f"http://x/{story_id}", title=title, body=body, published_at=published)
    )
    return UsedStory(story_id, fp.title_bigrams, fp.minhash, book_titles(title, body), published), index


POLICY_BODY = (
    "6月11日，商务部等九部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》。《意见》明确，五大方面15项工作内容。"
    "一是积极培育跨境电商经营主体：大力支持跨境电商赋能产业发展；提升服务跨境电商企业能力；支持跨境电商企业借展出海。"
    "二是加大金融支持力度：畅通跨境电商企业融资渠道；优化跨境资金结算服务；推动跨境电商供应链降本增效。"
)
INTERVIEW_BODY = (
    "日前，商务部有关负责人就《关于拓展跨境电商出口推进海外仓建设的意见》接受记者采访。该负责人表示，"
    "近年来我国外贸新业态蓬勃发展，企业对融资、结算、物流的需求日益迫切，下一步将会同有关部门抓好落实，"
    "指导地方结合实际出台配套措施，推动政策红利尽快惠及广大经营主体，并及时总结推广各地好经验好做法。"
)
UNRELATED_BODY = (
    "国家统计局今日发布数据显示，5月份全国居民消费价格同比上涨0.3%，环比下降0.1%。其中，城市上涨0.3%，"
    "农村上涨0.2%；食品价格下降2.0%，非食品价格上涨0.8%；消费品价格下降0.1%，服务价格上涨0.8%。"
    "1至5月平均，全国居民消费价格比上年同期上涨0.1%，核心物价保持温和上涨，就业形势总体稳定。"
)


def test_follow_up_by_the_same_named_document():
    t = datetime(2024, 6, 11, tzinfo=UTC)
    used, index = _used(1, "商务部等9部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》", POLICY_BODY, t)
    doc = DedupeDoc(
        id=9,
        url="http://y/9",
        title="商务部负责人解读海外仓建设新政",
        body=INTERVIEW_BODY,
        published_at=t + timedelta(days=2),
    )
    fp = index.fingerprint(doc)
    assert follow_up_of(fp, book_titles(doc.title, doc.body), [used]) == (1, "book_title", 1.0)
    # published before the used story: cannot continue it
    early = DedupeDoc(id=10, url="http://y/10", title=doc.title, body=doc.body, published_at=t - timedelta(days=1))
    assert follow_up_of(index.fingerprint(early), book_titles(early.title, early.body), [used]) is None


def test_unrelated_story_is_no_follow_up():
    t = datetime(2024, 6, 11, tzinfo=UTC)
    used, index = _used(1, "商务部等9部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》", POLICY_BODY, t)
    doc = DedupeDoc(
        id=9,
        url="http://y/9",
        title="5月份全国居民消费价格同比上涨0.3%",
        body=UNRELATED_BODY,
        published_at=t + timedelta(days=2),
    )
    assert follow_up_of(index.fingerprint(doc), book_titles(doc.title, doc.body), [used]) is None


def test_follow_up_by_a_close_title():
    t = datetime(2024, 6, 11, tzinfo=UTC)
    used, index = _used(1, "中国与新西兰启动自由贸易协定服务贸易负面清单谈判", "短讯" * 10, t)
    doc = DedupeDoc(
        id=9,
        url="http://y/9",
        title="中国与新西兰自由贸易协定服务贸易负面清单谈判首轮举行",
        body="短讯",
        published_at=t + timedelta(days=20),
    )
    found = follow_up_of(index.fingerprint(doc), book_titles(doc.title, doc.body), [used])
    assert found is not None and found[:2] == (1, "title") and found[2] >= 0.35


def test_book_titles_are_normalised_and_short_ones_ignored():
    names = book_titles("解读《數據安全法》", "依据《意见》和《关于促进数据安全产业发展的指导意见》")
    assert "数据安全法" in names
    assert "关于促进数据安全产业发展的指导意见" in names
    assert not any(len(n) < 4 for n in names)  # 《意见》 alone names nothing specific
