"""The queue banner's problems, grouped so that they fit above the queue: values in, JSON-ready dicts out.

With the network down, 22 sources fail at once: the banner must say that in one line, not in 22 name chips and
22 near-identical alarm lines. :func:`banner_groups` makes one group per problem — the ``outage`` alarm first,
then one per alarm kind, then the failing sources no alarm speaks for yet — each with a count, a one-line
summary and its items (one per source, named unambiguously by :func:`source_labels`), which the page folds
away. A source the outage covers is listed under it, not again under its own ``fetch_errors`` / ``never_ok``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from news_harvester.sources.alarms import (
    CHALLENGE,
    FETCH_ERRORS,
    KIND_LABELS,
    KINDS,
    NEVER_OK,
    NO_ITEMS,
    OUTAGE,
    OUTAGE_NAME,
    OUTAGE_SOURCE,
)
from news_harvester.sources.error_advice import error_name

FAILING = "failing"
FAILING_LABEL = "持续失败"
_ABSORBED = (FETCH_ERRORS, NEVER_OK)
"""Kinds an open outage speaks for, for the sources it covers."""
_FAILURE_KINDS = (FETCH_ERRORS, NEVER_OK, CHALLENGE, NO_ITEMS)
"""Kinds that already say a failing source fails."""


class OpenAlarm(Protocol):
    """What the banner reads of an open alarm (store.alarms_store.AlarmRow)."""

    @property
    def source_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def detail(self) -> dict[str, Any]: ...
    @property
    def source_name(self) -> str: ...


def source_labels(sources: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Source id → how people tell it apart: its name, or ``name（id）`` where several sources share the name
    (商务部网站 names three sources of the default list)."""
    rows = [(str(s.get("id")), str(s.get("name") or s.get("id"))) for s in sources]
    counts = Counter(name for _id, name in rows)
    return {source_id: name if counts[name] == 1 else f"{name}（{source_id}）" for source_id, name in rows}


def label_of(labels: Mapping[str, str], source_id: str, name: str | None = None) -> str:
    """The label of ``source_id``; a source no longer configured is ``name（id）``."""
    if source_id in labels:
        return labels[source_id]
    if source_id == OUTAGE_SOURCE:
        return name or OUTAGE_NAME
    return f"{name}（{source_id}）" if name and name != source_id else source_id


def alarm_text(alarm: OpenAlarm, labels: Mapping[str, str]) -> str:
    """The alarm's message with its source named by its label (the message starts with the bare name)."""
    if alarm.source_id == OUTAGE_SOURCE:
        return alarm.message
    prefix = f"{alarm.source_name}："
    rest = alarm.message[len(prefix) :] if alarm.message.startswith(prefix) else alarm.message
    return f"{label_of(labels, alarm.source_id, alarm.source_name)}：{rest}"


def banner_groups(
    alarms: Sequence[OpenAlarm], health: Sequence[Mapping[str, Any]], labels: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """The banner's groups, in order: ``{"kind", "label", "count", "summary", "entries": [{"source_id",
    "source", "text"}]}``. ``alarms``: the open alarms; ``health``: the sources' health rows (``id``,
    ``name``, ``health``, ``last_error_code``, ``last_http_status``)."""
    labels = dict(labels) if labels is not None else source_labels(health)
    groups: list[dict[str, Any]] = []
    covered: set[str] = set()
    for outage in (a for a in alarms if a.kind == OUTAGE):
        detail = outage.detail
        ids = [str(i) for i in detail.get("sources") or []]
        names = dict(detail.get("names") or {})
        codes = dict(detail.get("codes") or {})
        statuses = dict(detail.get("http_statuses") or {})
        covered.update(ids)
        items = [
            _item(i, label_of(labels, i, names.get(i)), error_name(codes.get(i), statuses.get(i)) or "无法访问")
            for i in ids
        ]
        groups.append(_group(OUTAGE, outage.message, items))
    by_kind: dict[str, list[dict[str, str]]] = {}
    for alarm in alarms:
        if alarm.kind == OUTAGE or (alarm.kind in _ABSORBED and alarm.source_id in covered):
            continue
        label = label_of(labels, alarm.source_id, alarm.source_name)
        by_kind.setdefault(alarm.kind, []).append(
            {"source_id": alarm.source_id, "source": label, "text": alarm_text(alarm, labels)}
        )
    order = {kind: k for k, kind in enumerate(KINDS)}
    for kind in sorted(by_kind, key=lambda k: (order.get(k, len(order)), k)):
        groups.append(_group(kind, None, by_kind[kind]))
    spoken = covered | {a.source_id for a in alarms if a.kind in _FAILURE_KINDS}
    failing = [
        _item(
            str(s.get("id")),
            labels.get(str(s.get("id")), str(s.get("name"))),
            error_name(s.get("last_error_code"), s.get("last_http_status")) or "抓取失败",
        )
        for s in health
        if s.get("health") == FAILING and str(s.get("id")) not in spoken
    ]
    if failing:
        many = f"{len(failing)} 个信息源持续失败" if len(failing) > 1 else failing[0]["text"]
        groups.append(_group(FAILING, f"{many}，可能漏掉新闻", failing))
    return groups


def _item(source_id: str, label: str, what: str) -> dict[str, str]:
    return {"source_id": source_id, "source": label, "text": f"{label}：{what}"}


def _group(kind: str, summary: str | None, items: list[dict[str, str]]) -> dict[str, Any]:
    if summary is None:
        summary = items[0]["text"] if len(items) == 1 else f"{len(items)} 个信息源"
    return {
        "kind": kind,
        "label": KIND_LABELS.get(kind, FAILING_LABEL if kind == FAILING else kind),
        "count": len(items),
        "summary": summary,
        "entries": items,
    }
