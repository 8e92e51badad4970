"""The story refresh decided without a database (news_harvester.stories.refresh): canonical member, when to
classify again, editors' topics kept through a re-classification, and the score's facts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from news_harvester.models import TopicRow, effective_topics
from news_harvester.stories.assign import StoryEnricher
from news_harvester.stories.refresh import (
    MemberFacts,
    StoredStory,
    canonical_members,
    decide_refresh,
    needing_classification,
)
from news_harvester.stories.topics import load_taxonomy
from news_harvester.story_records import StoredClassification

NOW = datetime(2024, 6, 12, 8, 0, tzinfo=UTC)
TOPICS = Path(__file__).resolve().parent.parent / "config" / "topics.yaml"
WEIGHTS = {"mofcom": 90.0, "portal": 20.0}


def member(article_id: int, source_id: str, hours_ago: float, weight: float | None = None) -> MemberFacts:
    when = NOW - timedelta(hours=hours_ago)
    return MemberFacts(article_id, source_id, source_id.upper(), weight, when, when)


def stored(story_id: int, canonical: int | None, digest: str | None, *topics: TopicRow, **more: object) -> StoredStory:
    values: dict[str, object] = {"classification": None, "used": False, "state": "new"} | more
    return StoredStory(story_id, canonical, digest, topics=tuple(topics), **values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def enricher() -> StoryEnricher:
    return StoryEnricher(taxonomy=load_taxonomy(TOPICS))


def test_the_weightier_source_is_canonical_then_the_earlier_report():
    members = {
        1: [member(10, "portal", hours_ago=5), member(11, "mofcom", hours_ago=1)],
        2: [member(20, "portal", hours_ago=3), member(21, "portal", hours_ago=4)],
        3: [member(30, "portal", hours_ago=9), member(31, "mofcom", hours_ago=1, weight=5.0)],  # own weight wins
    }
    assert canonical_members(members, WEIGHTS) == {1: 11, 2: 21, 3: 30}


def test_classified_again_only_when_the_canonical_or_the_classifier_changed():
    canonical = {1: 11, 2: 21, 3: 31}
    rows = {1: stored(1, 11, "d1"), 2: stored(2, 20, "d1"), 3: stored(3, 31, "old")}
    assert needing_classification(rows, canonical, "d1", reclassify=False) == [2, 3]
    assert needing_classification(rows, canonical, "d1", reclassify=True) == [1, 2, 3]
    assert needing_classification(rows, canonical, None, reclassify=True) == []  # no taxonomy: nothing to do


def test_editor_topics_survive_a_reclassification_and_a_removed_topic_stays_removed(enricher):
    story = stored(
        1,
        10,
        "outdated",
        TopicRow("fintech", 0.9, "auto"),
        TopicRow("cross-border-ecommerce", 1.0, "editor"),
        TopicRow("ai", 0.0, "editor", rejected=True),
    )
    text = (
        "人工智能大模型赋能跨境电商",
        "6月11日，商务部发布措施，支持人工智能大模型在跨境电商领域的应用，推动生成式人工智能服务出海。",
    )
    [refresh] = decide_refresh({1: story}, {1: [member(10, "mofcom", 2)]}, {1: 10}, {1: text}, enricher, WEIGHTS, NOW)
    assert refresh.classification is not None and refresh.taxonomy_digest == enricher.digest
    auto = {t.topic_id for t in refresh.auto_topics}
    assert "fintech" not in auto  # the old classifier topic is replaced, not kept
    assert "ai" not in auto  # the classifier finds ai, but the editor removed it: no fresh auto row for it
    assert "cross-border-ecommerce" not in auto  # an editor's topic is never duplicated as an auto one
    assert all(t.origin == "auto" for t in refresh.auto_topics)
    effective = {t.topic_id for t in effective_topics([*story.topics[1:], *refresh.auto_topics])}
    assert "cross-border-ecommerce" in effective and "ai" not in effective  # the editor removed ai
    assert refresh.score_parts["facts"]["topic_confidence"] == 1.0  # the editor's topic counts in full


def test_a_story_not_classified_again_keeps_its_explanation_and_is_scored_from_it(enricher):
    explanation = {"brief_probability": 0.8, "relevance": 0.7}
    story = stored(1, 10, enricher.digest, TopicRow("fintech", 0.6, "auto"), classification=explanation)
    group = [member(10, "mofcom", 30), member(11, "portal", 2)]
    [refresh] = decide_refresh({1: story}, {1: group}, {1: 10}, {}, enricher, WEIGHTS, NOW)
    assert refresh.classification is None and refresh.auto_topics == ()
    facts = refresh.score_parts["facts"]
    assert facts["brief_probability"] == 0.8 and facts["relevance"] == 0.7
    assert facts["outlets"] == 2 and facts["source_weight"] == 90.0
    assert facts["published_at"] == (NOW - timedelta(hours=30)).isoformat()  # the earliest report
    assert refresh.canonical_article_id == 10 and refresh.outlets == 2


def test_a_story_classified_afresh_is_scored_from_the_stored_form_of_its_classification(enricher):
    """The editors' P(accept) rides in the stored explanation as ``relevance`` and both probabilities reach the
    score's facts; the JSON text written is the one the classification made."""
    from news_harvester.stories.topics import Classification

    made = Classification((), 0.5, relevance=0.81234, accept=0.66666).stored()
    assert (made.brief_probability, made.relevance) == (0.8123, 0.6667)
    assert json.loads(made.explanation)["relevance"] == 0.6667 and made.topics == ()
    assert Classification((), 0.5).stored().relevance is None
    ai = StoredClassification(made.explanation, (("ai", 0.9), ("fintech", 0.6)), 0.8123, 0.6667)
    story = stored(1, 10, "outdated", TopicRow("fintech", 1.0, "editor"))
    text = ("标题", "正文")
    [refresh] = decide_refresh(
        {1: story}, {1: [member(10, "mofcom", 2)]}, {1: 10}, {1: text}, enricher, WEIGHTS, NOW, lambda t, b: ai
    )
    assert refresh.classification == made.explanation
    assert refresh.auto_topics == (TopicRow("ai", 0.9, "auto"),)  # fintech is the editor's
    facts = refresh.score_parts["facts"]
    assert facts["brief_probability"] == 0.8123 and facts["relevance"] == 0.6667


def test_off_topic_rejected_and_used_stories_score_below_an_open_on_topic_one(enricher):
    on_topic = stored(1, 10, enricher.digest, TopicRow("fintech", 0.9, "auto"))
    off_topic = stored(2, 20, enricher.digest)
    rejected = stored(3, 30, enricher.digest, TopicRow("fintech", 0.9, "auto"), state="rejected")
    used = stored(4, 40, enricher.digest, TopicRow("fintech", 0.9, "auto"), used=True)
    rows = {1: on_topic, 2: off_topic, 3: rejected, 4: used}
    members = {sid: [member(sid * 10, "mofcom", 3)] for sid in rows}
    canonical = {sid: sid * 10 for sid in rows}
    scores = {r.story_id: r.score for r in decide_refresh(rows, members, canonical, {}, enricher, WEIGHTS, NOW)}
    assert scores[1] > max(scores[2], scores[3], scores[4])
    facts = {
        r.story_id: r.score_parts["facts"] for r in decide_refresh(rows, members, canonical, {}, enricher, WEIGHTS, NOW)
    }
    assert facts[3]["rejected"] and facts[4]["used"] and not facts[1]["rejected"]


def test_a_story_takes_the_classification_the_harvest_made_when_the_classifier_is_the_same(enricher):
    """The harvest classifies its articles where it reads them (stories.assign.Preclassified) and the writer's
    batch takes those instead of classifying again; made by another classifier (another digest), they are left
    and the batch classifies itself. Shown with a classification that is not the text's own."""
    from news_harvester.stories.assign import Preclassified, StoryBatch
    from news_harvester.stories.dedupe import DedupeParams

    text = ("商务部等九部门印发《关于拓展跨境电商出口推进海外仓建设的意见》", "6月11日，商务部等九部门联合印发意见。")
    other = ("国家统计局发布5月份规模以上工业增加值数据", "5月份，规模以上工业增加值同比增长5.6%。")
    own, borrowed = enricher.classify(*text), enricher.classify(*other)
    assert own is not None and borrowed is not None and own.to_json() != borrowed.to_json()
    members, rows = {1: [member(10, "mofcom", hours_ago=1)]}, {1: stored(1, None, None)}

    def refreshed(digest: str | None) -> dict:
        batch = StoryBatch(DedupeParams(), timedelta(days=90), WEIGHTS, enricher)
        batch.preclassify(Preclassified(digest, {text: borrowed.stored()}))
        [refresh] = batch.refresh(rows, members, {1: 10}, {1: text}, NOW)
        assert refresh.classification is not None
        return json.loads(refresh.classification)  # the JSON text the store writes

    assert refreshed(enricher.digest) == borrowed.to_json(compact=True)
    assert refreshed("another classifier") == own.to_json(compact=True)
    made = Preclassified.of(enricher, [text, other])
    assert made is not None and made.digest == enricher.digest
    assert dict(made.by_text) == {text: own.stored(), other: borrowed.stored()}
