"""Health alarms of a source, detected from its recent runs: values in, alarms out (no database, no clock).

The caller passes the source's recent runs newest first (``RunFacts``), ``now``, the time of its last new
item and, for staleness, the start times of its runs that brought new items. ``detect`` returns the alarms
that hold now; the store (news_harvester.store.alarms_store) opens, refreshes and resolves them, and
news_harvester.sources.notify announces openings and resolutions. Runs still ``running`` and runs
``interrupted`` by our own shutdown say nothing about the source and are ignored by every rule.

Rules and their thresholds:

``no_items``
    The latest run that fetched something (``ok`` or ``error``; ``not_modified`` and interrupted runs are
    skipped) failed with ``parse.no_items``, or succeeded with 0 items seen. Every source kind (feed, html,
    json) is a list, so an empty list is never "no news". Raised from the first run: no history needed.
``item_drop`` (layout drift)
    The items seen by the last ``DROP_RECENT_RUNS`` (3) ``ok`` runs are all below ``DROP_RATIO`` (30 %) of
    the median items seen by the ``ok`` runs before them, of which there must be at least
    ``DROP_MIN_HISTORY`` (5). A list page that always showed 20 links and now shows 3 has usually changed
    its layout so that the selectors match a side box.
``challenge``
    The latest run that fetched something failed with ``fetch.challenge``: the site answers with a WAF /
    bot-challenge page and wants a browser. Raised from the first run.
``never_ok``
    The source has never once succeeded since it was added (the caller says so: ``never_succeeded``, from the
    source's state) and every finished run passed failed: raised from the first failure, without waiting for
    ``ERROR_STREAK``, since a new source that never worked is a mistake to fix, not a hiccup. Not raised when
    every failure is a challenge page or an empty list (their own alarms say so); it replaces ``fetch_errors``.
``fetch_errors``
    The last ``ERROR_STREAK`` (3) or more finished runs all failed (``not_modified`` counts as success).
    Not raised when every one of those failures is a challenge page or an empty list: the ``challenge`` /
    ``no_items`` alarm already says so, nor when ``never_ok`` is.
``stale``
    No new item for longer than the source's expected cadence: the configured cadence when there is one,
    else the learned one, ``max(STALE_FACTOR (3) × median interval between the runs that brought new
    items, STALE_FLOOR (2 days))``, learned over the ``CADENCE_WINDOW`` (30 days) up to the last new item
    (so a source that fell silent keeps the cadence it had) from at least ``CADENCE_MIN_RUNS`` (4) such runs.
    Only raised when a successful run (``ok`` or ``not_modified``) started after the deadline, i.e. we looked
    and found nothing new; a source that cannot be fetched has its ``fetch_errors`` alarm instead. A source
    that never brought a new item is never stale (its ``no_items`` / ``fetch_errors`` alarms cover it).

One alarm covers many sources: ``outage`` (:func:`detect_outage`), when at least ``OUTAGE_MIN`` (3) sources and at
least ``OUTAGE_SHARE`` (half) of the enabled ones could not be fetched in their latest finished run (a ``fetch.*``
error): usually our own network, not 22 broken sites. It is stored under the pseudo source ``OUTAGE_SOURCE``.

Too little history (fewer runs than a rule needs) never raises an alarm. Messages are Simplified Chinese,
for editors and admins; ``detail`` holds the numbers behind them (JSON-ready: str, int, float, lists).
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from news_harvester.models import Alarm, RunFacts
from news_harvester.sources.error_advice import NETWORK_CODES, error_name

NO_ITEMS = "no_items"
ITEM_DROP = "item_drop"
CHALLENGE = "challenge"
NEVER_OK = "never_ok"
FETCH_ERRORS = "fetch_errors"
STALE = "stale"
OUTAGE = "outage"
KINDS: tuple[str, ...] = (OUTAGE, NO_ITEMS, ITEM_DROP, CHALLENGE, NEVER_OK, FETCH_ERRORS, STALE)

KIND_LABELS: dict[str, str] = {
    NO_ITEMS: "解析为 0 条",
    ITEM_DROP: "条目数骤降（页面结构可能已改变）",
    CHALLENGE: "反爬验证页面",
    NEVER_OK: "从未抓取成功",
    FETCH_ERRORS: "连续抓取失败",
    STALE: "长时间无新条目",
    OUTAGE: "多数信息源无法访问",
}
"""Short Chinese names of the alarm kinds, for pages and e-mail."""

DROP_RECENT_RUNS = 3
DROP_RATIO = 0.3
DROP_MIN_HISTORY = 5
ERROR_STREAK = 3
STALE_FACTOR = 3
STALE_FLOOR = timedelta(days=2)
CADENCE_WINDOW = timedelta(days=30)
CADENCE_MIN_RUNS = 4
OUTAGE_MIN = 3
OUTAGE_SHARE = 0.5
OUTAGE_SOURCE = "_all"
"""The pseudo source id of the ``outage`` alarm: no real source id starts with ``_`` (source_spec.SOURCE_ID_RE)."""
OUTAGE_NAME = "多个信息源"

CHALLENGE_CODE = "fetch.challenge"
NO_ITEMS_CODE = "parse.no_items"

_OK = "ok"
_ERROR = "error"
_NOT_MODIFIED = "not_modified"


def detect(
    source_id: str,
    name: str,
    runs: Sequence[RunFacts],
    now: datetime,
    *,
    expected_cadence: timedelta | None = None,
    last_new_item_at: datetime | None,
    new_item_times: Sequence[datetime] | None = None,
    never_succeeded: bool = False,
) -> list[Alarm]:
    """The alarms of one source, in ``KINDS`` order.

    ``runs``: newest first (30 are plenty). ``new_item_times``: start times of the runs that brought new
    items over the ``CADENCE_WINDOW`` up to ``last_new_item_at`` (any order); when omitted they are taken
    from ``runs``, which may cover too short a time to learn a cadence from. ``never_succeeded``: no run of the
    source ever succeeded as far as its stored state knows (a successful run among ``runs`` overrides it).
    """
    finished = [r for r in runs if r.outcome in (_OK, _ERROR, _NOT_MODIFIED)]
    fetched = [r for r in finished if r.outcome in (_OK, _ERROR)]
    base: dict[str, Any] = {"source_name": name}
    latest = fetched[0] if fetched else None
    never_ok = _never_ok_alarm(source_id, name, finished, base) if never_succeeded else None
    found = (
        _no_items_alarm(source_id, name, latest, base),
        _item_drop_alarm(source_id, name, fetched, base),
        _challenge_alarm(source_id, name, latest, base),
        never_ok,
        None if never_ok is not None else _fetch_errors_alarm(source_id, name, finished, base),
        _stale_alarm(
            source_id,
            name,
            finished,
            now,
            base,
            expected_cadence=expected_cadence,
            last_new_item_at=last_new_item_at,
            new_item_times=new_item_times,
        ),
    )
    return [alarm for alarm in found if alarm is not None]


def _no_items_alarm(source_id: str, name: str, latest: RunFacts | None, base: dict[str, Any]) -> Alarm | None:
    """``no_items``: the latest run that fetched something found an empty list."""
    if latest is None or not (
        (latest.outcome == _ERROR and latest.code == NO_ITEMS_CODE)
        or (latest.outcome == _OK and latest.items_seen == 0)
    ):
        return None
    what = f"解析出 0 条（{NO_ITEMS_CODE}）" if latest.outcome == _ERROR else "成功但列表为空（0 条）"
    return Alarm(
        source_id,
        NO_ITEMS,
        f"{name}：最近一次抓取{what}，列表页或订阅源的结构可能已改变",
        base | {"code": latest.code, "outcome": latest.outcome, "run_started_at": latest.started_at.isoformat()},
    )


def _item_drop_alarm(source_id: str, name: str, fetched: Sequence[RunFacts], base: dict[str, Any]) -> Alarm | None:
    """``item_drop``: the last ``ok`` runs saw far fewer items than the ones before them."""
    drop = _item_drop(fetched)
    if drop is None:
        return None
    recent, median = drop
    shown = "、".join(str(n) for n in recent)
    return Alarm(
        source_id,
        ITEM_DROP,
        f"{name}：最近 {len(recent)} 次抓取的条目数（{shown}）远低于以往的中位数 {median:g}，页面结构可能已改变",
        base | {"recent_items_seen": recent, "history_median": median, "ratio": DROP_RATIO},
    )


def _challenge_alarm(source_id: str, name: str, latest: RunFacts | None, base: dict[str, Any]) -> Alarm | None:
    """``challenge``: the latest run that fetched something got a WAF / bot-challenge page."""
    if latest is None or latest.outcome != _ERROR or latest.code != CHALLENGE_CODE:
        return None
    return Alarm(
        source_id,
        CHALLENGE,
        f"{name}：网站返回反爬验证页面（{CHALLENGE_CODE}），需要浏览器访问或调整抓取方式",
        base | {"code": CHALLENGE_CODE, "run_started_at": latest.started_at.isoformat()},
    )


def _never_ok_alarm(source_id: str, name: str, finished: Sequence[RunFacts], base: dict[str, Any]) -> Alarm | None:
    """``never_ok``: every finished run failed and none ever succeeded, from the first failure on."""
    if not finished or any(r.outcome != _ERROR for r in finished):
        return None
    if all(r.code in (CHALLENGE_CODE, NO_ITEMS_CODE) for r in finished):
        return None
    codes = list(dict.fromkeys(r.code or "error" for r in finished))
    latest = finished[0].code or "error"
    cause = error_name(latest, finished[0].http_status) or latest
    more = f"，共失败 {len(finished)} 次" if len(finished) > 1 else ""
    return Alarm(
        source_id,
        NEVER_OK,
        f"{name}：自添加以来从未抓取成功（{cause}，{latest}{more}）",
        base | {"count": len(finished), "codes": codes, "since": finished[-1].started_at.isoformat()},
    )


def _fetch_errors_alarm(source_id: str, name: str, finished: Sequence[RunFacts], base: dict[str, Any]) -> Alarm | None:
    """``fetch_errors``: the last ``ERROR_STREAK`` or more finished runs failed, not all of them for a reason
    the ``challenge`` / ``no_items`` alarm already gives."""
    streak = _error_streak(finished)
    if len(streak) < ERROR_STREAK or all(r.code in (CHALLENGE_CODE, NO_ITEMS_CODE) for r in streak):
        return None
    codes = list(dict.fromkeys(r.code or "error" for r in streak))
    shown = "、".join(codes[:3]) + (" 等" if len(codes) > 3 else "")
    return Alarm(
        source_id,
        FETCH_ERRORS,
        f"{name}：连续 {len(streak)} 次抓取失败（{shown}）",
        base | {"count": len(streak), "codes": codes, "since": streak[-1].started_at.isoformat()},
    )


def _stale_alarm(
    source_id: str,
    name: str,
    finished: Sequence[RunFacts],
    now: datetime,
    base: dict[str, Any],
    *,
    expected_cadence: timedelta | None,
    last_new_item_at: datetime | None,
    new_item_times: Sequence[datetime] | None,
) -> Alarm | None:
    """``stale``: no new item for longer than the source's expected cadence, and we looked after it."""
    stale = _stale(finished, now, expected_cadence, last_new_item_at, new_item_times)
    if stale is None:
        return None
    assert last_new_item_at is not None  # _stale returns None without it
    threshold, basis, median_interval = stale
    silent = now - last_new_item_at
    span = format_span(threshold)
    why = f"设定的更新周期为 {span}" if basis == "configured" else f"按以往节奏应每 {span}内有更新"
    return Alarm(
        source_id,
        STALE,
        f"{name}：已 {format_span(silent)}没有新条目（{why}）",
        base
        | {
            "last_new_item_at": last_new_item_at.isoformat(),
            "threshold_seconds": int(threshold.total_seconds()),
            "basis": basis,
            "median_interval_seconds": (int(median_interval.total_seconds()) if median_interval is not None else None),
        },
    )


def detect_outage(latest: Mapping[str, RunFacts | None], names: Mapping[str, str]) -> Alarm | None:
    """``outage``: most enabled sources could not be fetched in their latest finished run.

    ``latest``: every enabled source's latest finished run (``ok``, ``error`` or ``not_modified``; None when it
    has none yet); ``names``: their display names. Raised when at least ``OUTAGE_MIN`` sources, and at least
    ``OUTAGE_SHARE`` of the enabled ones, failed with a ``fetch.*`` code; the message blames the network when
    most of those failures are network-level (no connection at all), else the sites' refusals of our address."""
    down = {
        source_id: run
        for source_id, run in latest.items()
        if run is not None and run.outcome == _ERROR and (run.code or "").startswith("fetch.")
    }
    if len(down) < max(OUTAGE_MIN, math.ceil(len(latest) * OUTAGE_SHARE)):
        return None
    codes = Counter(run.code or "" for run in down.values())
    network = sum(n for code, n in codes.items() if code in NETWORK_CODES)
    why = "可能是网络故障" if 2 * network >= len(down) else "可能是本机的出口地址被网站限制或代理故障"
    ids = sorted(down)
    return Alarm(
        OUTAGE_SOURCE,
        OUTAGE,
        f"{len(down)} 个信息源无法访问，{why}（共启用 {len(latest)} 个）",
        {
            "source_name": OUTAGE_NAME,
            "count": len(down),
            "enabled": len(latest),
            "sources": ids,
            "names": {source_id: names.get(source_id, source_id) for source_id in ids},
            "codes": {source_id: down[source_id].code or "" for source_id in ids},
            "http_statuses": {i: down[i].http_status for i in ids if down[i].http_status is not None},
            "network_failures": network,
        },
    )


def _item_drop(fetched: Sequence[RunFacts]) -> tuple[list[int], float] | None:
    oks = [r.items_seen for r in fetched if r.outcome == _OK]
    recent, history = oks[:DROP_RECENT_RUNS], oks[DROP_RECENT_RUNS:]
    if len(recent) < DROP_RECENT_RUNS or len(history) < DROP_MIN_HISTORY:
        return None
    median = float(statistics.median(history))
    if median <= 0 or not all(n < DROP_RATIO * median for n in recent):
        return None
    return recent, median


def _error_streak(finished: Sequence[RunFacts]) -> list[RunFacts]:
    streak: list[RunFacts] = []
    for run in finished:
        if run.outcome != _ERROR:
            break
        streak.append(run)
    return streak


def _stale(
    finished: Sequence[RunFacts],
    now: datetime,
    expected_cadence: timedelta | None,
    last_new_item_at: datetime | None,
    new_item_times: Sequence[datetime] | None,
) -> tuple[timedelta, str, timedelta | None] | None:
    """``(threshold, "configured" | "learned", median interval)`` when the source is stale, else None."""
    if last_new_item_at is None:
        return None
    median_interval = None
    if expected_cadence is not None and expected_cadence > timedelta(0):
        threshold, basis = expected_cadence, "configured"
    else:
        median_interval = learned_interval(
            new_item_times
            if new_item_times is not None
            else [r.started_at for r in finished if r.outcome == _OK and r.items_new > 0],
            last_new_item_at,
        )
        if median_interval is None:
            return None
        threshold, basis = max(STALE_FACTOR * median_interval, STALE_FLOOR), "learned"
    deadline = last_new_item_at + threshold
    if now <= deadline:
        return None
    looked = any(r.outcome in (_OK, _NOT_MODIFIED) and r.started_at > deadline for r in finished)
    return (threshold, basis, median_interval) if looked else None


def learned_interval(times: Sequence[datetime], last_new_item_at: datetime) -> timedelta | None:
    """Median interval between new-item runs over ``CADENCE_WINDOW`` up to ``last_new_item_at``; None with
    fewer than ``CADENCE_MIN_RUNS`` such runs."""
    window = sorted({t for t in times if last_new_item_at - CADENCE_WINDOW <= t <= last_new_item_at})
    if len(window) < CADENCE_MIN_RUNS:
        return None
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(window)]
    return timedelta(seconds=statistics.median(gaps))


def format_span(span: timedelta) -> str:
    """``3 天 4 小时``, ``5 小时``, ``20 分钟``: a duration for Chinese messages."""
    minutes = max(int(span.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} 天" + (f" {hours} 小时" if hours else "")
    if hours:
        return f"{hours} 小时"
    return f"{minutes} 分钟"
