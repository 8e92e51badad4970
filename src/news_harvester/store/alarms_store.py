"""SQL of health alarms and their notification state (mixed into Repository as ``AlarmQueries``).

Detection is pure (news_harvester.sources.alarms); this module reads the facts it needs (recent runs, new-item
times, last new item per source) and keeps the ``alarms`` table in step with what was detected: one row per
occurrence of a problem, open until the problem is no longer detected. Delivery state lives on the row:
the opening is pending until ``notified_at`` is set, the resolution until ``resolved_notified_at`` is set;
a failed attempt counts ``notify_attempts`` and waits ``next_notify_at`` (exponential backoff).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, RowMapping, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from news_harvester.errors import StorageError
from news_harvester.models import Alarm, RunFacts
from news_harvester.store.schema import alarms, fetch_runs, source_state

RECENT_ALARM_RUNS = 30
NOTIFY_RETRY_BASE = timedelta(minutes=1)
NOTIFY_RETRY_CAP = timedelta(hours=6)
RESOLUTION_NOTICE_MAX_AGE = timedelta(days=2)
"""A resolution older than this is not announced any more (e.g. when a notifier is configured for the first
time, or was down for days): it is history, visible on the admin page."""

OPENED = "alarm.opened"
RESOLVED = "alarm.resolved"


@dataclass(frozen=True, slots=True)
class AlarmRow:
    """One row of ``alarms``."""

    id: int
    source_id: str
    kind: str
    message: str
    detail: dict[str, Any]
    first_seen_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
    notified_at: datetime | None
    resolved_notified_at: datetime | None
    notify_attempts: int
    next_notify_at: datetime | None
    last_notify_error: str | None
    delivered_to: tuple[str, ...]

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def event(self) -> str:
        """The event a pending notification announces: ``alarm.opened`` or ``alarm.resolved``."""
        return OPENED if self.resolved_at is None else RESOLVED

    @property
    def source_name(self) -> str:
        """The source's display name when the alarm was detected (its id if unknown)."""
        name = self.detail.get("source_name")
        return name if isinstance(name, str) and name else self.source_id


def _row(m: RowMapping) -> AlarmRow:
    return AlarmRow(
        id=int(m["id"]),
        source_id=m["source_id"],
        kind=m["kind"],
        message=m["message"],
        detail=json.loads(m["detail"]) if m["detail"] else {},
        first_seen_at=m["first_seen_at"],
        last_seen_at=m["last_seen_at"],
        resolved_at=m["resolved_at"],
        notified_at=m["notified_at"],
        resolved_notified_at=m["resolved_notified_at"],
        notify_attempts=int(m["notify_attempts"]),
        next_notify_at=m["next_notify_at"],
        last_notify_error=m["last_notify_error"],
        delivered_to=tuple(json.loads(m["delivered_to"])) if m["delivered_to"] else (),
    )


def notify_backoff(attempts: int, base: timedelta = NOTIFY_RETRY_BASE) -> timedelta:
    """Wait after the ``attempts``-th failed delivery: base × 2^(attempts-1), capped at NOTIFY_RETRY_CAP."""
    delay: timedelta = base * (2 ** min(max(attempts - 1, 0), 20))
    return min(delay, NOTIFY_RETRY_CAP)


class AlarmQueries:
    engine: Engine

    # ------------------------------------------------------------------ facts for detection

    def recent_runs(self, source_id: str, limit: int = RECENT_ALARM_RUNS) -> list[RunFacts]:
        """The source's last ``limit`` runs, newest first."""
        query = (
            select(
                fetch_runs.c.started_at,
                fetch_runs.c.outcome,
                fetch_runs.c.code,
                fetch_runs.c.items_seen,
                fetch_runs.c.items_new,
                fetch_runs.c.http_status,
            )
            .where(fetch_runs.c.source_id == source_id)
            .order_by(fetch_runs.c.started_at.desc(), fetch_runs.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [
                RunFacts(
                    started_at=r.started_at,
                    outcome=r.outcome,
                    code=r.code,
                    items_seen=int(r.items_seen or 0),
                    items_new=int(r.items_new or 0),
                    http_status=r.http_status,
                )
                for r in conn.execute(query)
            ]

    def new_item_times(self, source_id: str, since: datetime) -> list[datetime]:
        """Start times of the source's successful runs since ``since`` that brought new items, oldest first."""
        query = (
            select(fetch_runs.c.started_at)
            .where(
                fetch_runs.c.source_id == source_id,
                fetch_runs.c.outcome == "ok",
                fetch_runs.c.items_new > 0,
                fetch_runs.c.started_at >= since,
            )
            .order_by(fetch_runs.c.started_at)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def last_new_item_times(self) -> dict[str, datetime | None]:
        """``source_state.last_new_item_at`` of every source that has run."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(source_state.c.source_id, source_state.c.last_new_item_at)).all()
        return {r.source_id: r.last_new_item_at for r in rows}

    def last_success_times(self) -> dict[str, datetime | None]:
        """``source_state.last_success_at`` of every source that has run (None: it never once succeeded)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(source_state.c.source_id, source_state.c.last_success_at)).all()
        return {r.source_id: r.last_success_at for r in rows}

    # ------------------------------------------------------------------ alarms

    def sync_alarms(
        self, source_id: str, current: Sequence[Alarm], now: datetime
    ) -> tuple[list[AlarmRow], list[AlarmRow]]:
        """Make the source's open alarms match ``current`` (what detection found now), in one transaction.

        A new kind is opened (pending notification); a kind still detected keeps its row, with ``last_seen_at``,
        message and detail refreshed; an open kind no longer detected is resolved (its resolution pending
        notification, with a fresh attempt budget). Returns ``(opened, resolved)``.
        """
        wanted: dict[str, Alarm] = {}
        for alarm in current:
            if alarm.source_id != source_id:
                raise ValueError(f"alarm of {alarm.source_id!r} passed to sync_alarms({source_id!r})")
            wanted.setdefault(alarm.kind, alarm)
        opened_ids: list[int] = []
        resolved_ids: list[int] = []
        try:
            with self.engine.begin() as conn:
                open_rows = {
                    r.kind: int(r.id)
                    for r in conn.execute(
                        select(alarms.c.id, alarms.c.kind).where(
                            alarms.c.source_id == source_id, alarms.c.resolved_at.is_(None)
                        )
                    )
                }
                for kind, alarm in wanted.items():
                    detail = json.dumps(alarm.detail, ensure_ascii=False, sort_keys=True)
                    if kind in open_rows:
                        conn.execute(
                            update(alarms)
                            .where(alarms.c.id == open_rows[kind])
                            .values(last_seen_at=now, message=alarm.message, detail=detail)
                        )
                        continue
                    new_id = conn.execute(
                        insert(alarms)
                        .values(
                            source_id=source_id,
                            kind=kind,
                            message=alarm.message,
                            detail=detail,
                            first_seen_at=now,
                            last_seen_at=now,
                            notify_attempts=0,
                        )
                        .returning(alarms.c.id)
                    ).scalar_one()
                    opened_ids.append(int(new_id))
                gone = [alarm_id for kind, alarm_id in open_rows.items() if kind not in wanted]
                if gone:
                    conn.execute(
                        update(alarms)
                        .where(alarms.c.id.in_(gone))
                        .values(
                            resolved_at=now,
                            notify_attempts=0,
                            next_notify_at=None,
                            last_notify_error=None,
                            delivered_to=None,
                        )
                    )
                    resolved_ids = gone
        except IntegrityError as exc:  # another process opened the same alarm a moment ago
            raise StorageError(f"alarms of {source_id} changed concurrently: {exc}", code="storage.conflict") from exc
        return self._alarms_by_id(opened_ids), self._alarms_by_id(resolved_ids)

    def open_alarms(self, source_id: str | None = None) -> list[AlarmRow]:
        """Open alarms (of one source, or all), oldest first: what the admin page and the queue banner show."""
        query = select(alarms).where(alarms.c.resolved_at.is_(None)).order_by(alarms.c.first_seen_at, alarms.c.id)
        if source_id is not None:
            query = query.where(alarms.c.source_id == source_id)
        with self.engine.connect() as conn:
            return [_row(m) for m in conn.execute(query).mappings()]

    def recent_alarms(self, limit: int = 50, source_id: str | None = None) -> list[AlarmRow]:
        """Open and resolved alarms, newest first: the history for the admin page."""
        query = select(alarms).order_by(alarms.c.first_seen_at.desc(), alarms.c.id.desc()).limit(limit)
        if source_id is not None:
            query = query.where(alarms.c.source_id == source_id)
        with self.engine.connect() as conn:
            return [_row(m) for m in conn.execute(query).mappings()]

    def _alarms_by_id(self, ids: Collection[int]) -> list[AlarmRow]:
        if not ids:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(select(alarms).where(alarms.c.id.in_(list(ids))).order_by(alarms.c.id)).mappings()
            return [_row(m) for m in rows]

    # ------------------------------------------------------------------ notification state

    def pending_notifications(self, now: datetime, max_attempts: int) -> list[AlarmRow]:
        """Alarms whose opening or resolution has not been delivered yet, due now, oldest first.

        An opening is pending while the alarm is open and ``notified_at`` is NULL; a resolution while
        ``resolved_notified_at`` is NULL and it is at most RESOLUTION_NOTICE_MAX_AGE old (an alarm resolved
        before its opening went out announces only its resolution). After a failed attempt the alarm waits
        until ``next_notify_at``; after ``max_attempts`` failed attempts it is no longer offered (it stays
        visible, with ``last_notify_error``, on the admin page).
        """
        query = (
            select(alarms)
            .where(
                or_(
                    and_(alarms.c.resolved_at.is_(None), alarms.c.notified_at.is_(None)),
                    and_(
                        alarms.c.resolved_at.is_not(None),
                        alarms.c.resolved_notified_at.is_(None),
                        alarms.c.resolved_at >= now - RESOLUTION_NOTICE_MAX_AGE,
                    ),
                ),
                alarms.c.notify_attempts < max_attempts,
                or_(alarms.c.next_notify_at.is_(None), alarms.c.next_notify_at <= now),
            )
            .order_by(alarms.c.id)
        )
        with self.engine.connect() as conn:
            return [_row(m) for m in conn.execute(query).mappings()]

    def mark_notified(self, alarm_id: int, now: datetime, *, event: str | None = None) -> None:
        """The pending event (or ``event``: ``alarm.opened`` / ``alarm.resolved``) reached every notifier."""
        with self.engine.begin() as conn:
            resolved_at = conn.execute(select(alarms.c.resolved_at).where(alarms.c.id == alarm_id)).first()
            if resolved_at is None:
                raise StorageError(f"no alarm {alarm_id}", code="storage.not_found")
            if event is None:
                event = OPENED if resolved_at[0] is None else RESOLVED
            column = "notified_at" if event == OPENED else "resolved_notified_at"
            conn.execute(
                update(alarms)
                .where(alarms.c.id == alarm_id)
                .values(
                    {column: now, "next_notify_at": None, "last_notify_error": None, "delivered_to": None},
                )
            )

    def mark_notify_failed(
        self,
        alarm_id: int,
        error: str,
        now: datetime,
        *,
        delivered_to: Collection[str] = (),
        base: timedelta = NOTIFY_RETRY_BASE,
    ) -> int:
        """A delivery attempt failed: count it, keep ``error``, remember the notifiers that did get the event
        (``delivered_to``, not sent again) and wait notify_backoff(attempts). Returns the attempts so far."""
        with self.engine.begin() as conn:
            row = conn.execute(select(alarms.c.notify_attempts).where(alarms.c.id == alarm_id)).first()
            if row is None:
                raise StorageError(f"no alarm {alarm_id}", code="storage.not_found")
            attempts = int(row[0]) + 1
            conn.execute(
                update(alarms)
                .where(alarms.c.id == alarm_id)
                .values(
                    notify_attempts=attempts,
                    next_notify_at=now + notify_backoff(attempts, base),
                    last_notify_error=error[:2000],
                    delivered_to=json.dumps(sorted(set(delivered_to))) if delivered_to else None,
                )
            )
        return attempts
