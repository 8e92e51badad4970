"""Shared by the tests of who reported a story first (issue 21: tests/test_provenance_and_times.py and
tests/test_browser_editor_views.py): a ministry's policy notice published at 09:00 Beijing time two days ago,
and a news agency's reprint of it at 19:40 the same day that is harvested first."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

BEIJING = timezone(timedelta(hours=8))
DAY = (datetime.now(BEIJING) - timedelta(days=2)).date()
ORIGINAL_AT = datetime(DAY.year, DAY.month, DAY.day, 9, 0, tzinfo=BEIJING)
REPRINT_AT = datetime(DAY.year, DAY.month, DAY.day, 19, 40, tzinfo=BEIJING)
POLICY = (
    "商务部等九部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》。《意见》明确，五大方面15项工作内容。"
    "一是积极培育跨境电商经营主体：大力支持跨境电商赋能产业发展；提升服务跨境电商企业能力；支持跨境电商企业“借展出海”。"
    "二是加大金融支持力度：畅通跨境电商企业融资渠道；优化跨境资金结算服务；推动跨境电商供应链降本增效。"
    "三是加强相关基础设施和物流体系建设：推动跨境电商海外仓高质量发展；增强跨境电商物流保障能力。"
    "四是优化监管与服务：优化跨境电商出口监管；提升跨境数据管理和服务水平。五是积极开展标准规则建设与国际合作。"
)
ORIGINAL_URL = "https://www.mofcom.gov.cn/art/2024/art_1.html"
REPRINT_URL = "https://news.example.cn/2024/0612/a.html"


def reprint_then_original() -> list[dict[str, Any]]:
    """The two as ``news-harvester ingest`` records, the reprint first: ingested one at a time in this order, the
    reprint is stored first and founds the story."""
    return [
        {"title": "九部门发文推进海外仓建设", "url": REPRINT_URL, "body": "来源：商务部网站\n" + POLICY,
         "published_at": REPRINT_AT.isoformat(), "source": "新华网", "weight": 7},
        {"title": "商务部等9部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》", "url": ORIGINAL_URL,
         "body": POLICY, "published_at": ORIGINAL_AT.isoformat(), "source": "商务部网站"},
    ]  # fmt: skip
