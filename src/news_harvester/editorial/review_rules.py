"""What an editor's action on a story means for its candidate row: pure, decided before the store is touched.

shortlist / accept (into a section, default 行业资讯) / reject (a reason is required) / snooze (until a future
time) / restore (back to new). The store applies the returned :class:`~news_harvester.store.review.CandidateChange`
with optimistic concurrency and an audit entry; the one rule that needs the stored state (a story used in a
published issue only comes back by ``restore``) travels in the change as ``allowed_if_used``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from news_harvester.errors import InvalidAction
from news_harvester.store.review import CandidateChange

ACTIONS = ("shortlist", "accept", "reject", "snooze", "restore")
DEFAULT_SECTION = "行业资讯"
SECTION_CHARS = 32
REASON_CHARS = 500


def decide_action(
    action: str,
    *,
    now: datetime,
    reason: str | None = None,
    section: str | None = None,
    until: datetime | None = None,
) -> CandidateChange:
    """The candidate columns ``action`` sets, or InvalidAction (in Chinese) when the action cannot be taken."""
    values: dict[str, Any] = {"state_changed_at": now}
    if action == "shortlist":
        values["state"] = "shortlisted"
    elif action == "accept":
        values |= {"state": "accepted", "section": (section or DEFAULT_SECTION).strip()[:SECTION_CHARS]}
    elif action == "reject":
        if not reason or not reason.strip():
            raise InvalidAction("退回需要填写理由")
        values |= {"state": "rejected", "reject_reason": reason.strip()[:REASON_CHARS]}
    elif action == "snooze":
        if until is None or until <= now:
            raise InvalidAction("请选择一个将来的日期")
        values |= {"state": "snoozed", "snoozed_until": until}
    elif action == "restore":
        values |= {"state": "new", "reject_reason": None, "snoozed_until": None, "section": None}
    else:
        raise InvalidAction(f"未知操作：{action}")
    return CandidateChange(action=action, values=values, allowed_if_used=action == "restore")


def text_edit(title: str | None, summary: str | None) -> dict[str, str | None]:
    """The editor columns an edit of the title and summary sets (empty text clears one); InvalidAction when the
    edit changes nothing."""
    values: dict[str, str | None] = {}
    if title is not None:
        values["editor_title"] = title.strip() or None
    if summary is not None:
        values["editor_summary"] = summary.strip() or None
    if not values:
        raise InvalidAction("没有要保存的修改")
    return values
