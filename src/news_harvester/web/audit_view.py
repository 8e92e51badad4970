"""The story page's 操作记录 in words: each audit entry's before/after fields as short Chinese lines instead of the
JSON the store keeps ("状态：待审 → 已采用", "新增主题：跨境电商"), so an editor can read who changed what."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

FIELD_NAMES = {
    "state": "状态",
    "section": "栏目",
    "reject_reason": "退回理由",
    "snoozed_until": "暂缓至",
    "editor_title": "标题",
    "editor_summary": "摘要",
    "topics": "主题",
    "add": "新增主题",
    "remove": "去掉主题",
    "issue": "期刊",
    "item": "期刊条目",
    "title": "标题",
    "text": "正文",
    "position": "位置",
    "year": "年份",
    "number": "期号",
    "status": "期刊状态",
}
"""Fields of the audit log with an editor's name for them; others are shown under their own key."""
HIDDEN = frozenset({"version", "updated_by"})
"""Implied by every change (the row already names who and when)."""
TEXT_CHARS = 60
"""Longer texts (a summary, an item's text) are cut here with an ellipsis: the edit history shows them whole."""


def audit_text(
    value: Mapping[str, Any] | None,
    *,
    states: Mapping[str, str],
    topics: Mapping[str, str],
    local: Callable[[datetime | None], str],
) -> str:
    """One audit side as ``字段：值`` parts joined by "；" (empty for nothing)."""
    if not value:
        return ""
    parts = []
    for key, raw in value.items():
        if key in HIDDEN:
            continue
        parts.append(f"{FIELD_NAMES.get(key, key)}：{_value(key, raw, states, topics, local)}")
    return "；".join(parts)


def _value(
    key: str, raw: Any, states: Mapping[str, str], topics: Mapping[str, str], local: Callable[[datetime | None], str]
) -> str:
    if raw is None or raw == "" or raw == []:
        return "（空）"
    if key in ("state", "status") and isinstance(raw, str):
        return states.get(raw, raw)
    if key in ("topics", "add", "remove") and isinstance(raw, list):
        return "、".join(topics.get(str(t), str(t)) for t in raw)
    if key == "issue":
        return f"第 {raw} 号期刊"
    if key == "snoozed_until" and isinstance(raw, str):
        try:
            return local(datetime.fromisoformat(raw))
        except ValueError:
            return raw
    text = raw if isinstance(raw, str) else str(raw)
    return text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS] + "…"
