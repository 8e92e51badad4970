"""The story page's 操作记录 reads as words (web/audit_view.py): each audit side's fields in Chinese."""

from __future__ import annotations

from datetime import UTC, datetime

from news_harvester.clock import editor_time
from news_harvester.web.audit_view import audit_text
from news_harvester.web.pages import ISSUE_STATUS_NAMES, STATE_NAMES

TOPICS = {"cross_border_ecommerce": "跨境电商", "ai": "人工智能"}


def words(value):
    return audit_text(value, states=STATE_NAMES | ISSUE_STATUS_NAMES, topics=TOPICS, local=editor_time)


def test_states_topics_and_issues_are_named_and_implied_fields_left_out():
    assert words({"state": "new"}) == "状态：待审"
    assert words({"state": "accepted", "section": "行业资讯", "version": 4, "updated_by": "王编辑"}) == (
        "状态：已采用；栏目：行业资讯"
    )
    assert words({"add": ["ai"], "remove": ["cross_border_ecommerce", "gone"]}) == (
        "新增主题：人工智能；去掉主题：跨境电商、gone"
    )
    assert words({"issue": 26, "item": 3, "section": "行业资讯"}) == "期刊：第 26 号期刊；期刊条目：3；栏目：行业资讯"
    assert words({"status": "draft"}) == "期刊状态：草稿"


def test_times_read_in_beijing_time_long_texts_are_cut_and_empty_sides_say_nothing():
    snoozed = datetime(2024, 6, 11, 2, 0, tzinfo=UTC).isoformat()
    assert words({"snoozed_until": snoozed}) == f"暂缓至：{editor_time(datetime(2024, 6, 11, 2, 0, tzinfo=UTC))}"
    long = "六月十一日，商务部等九部门联合印发" * 10
    shown = words({"editor_summary": long})
    assert shown.startswith("摘要：六月十一日") and shown.endswith("…") and len(shown) == len("摘要：") + 61
    assert words({"reject_reason": None}) == "退回理由：（空）"
    assert words(None) == "" and words({}) == ""
    assert words({"odd_field": 1}) == "odd_field：1"
