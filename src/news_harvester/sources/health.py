"""Source health report: configuration joined with runtime state, for the CLI and the web app.

``last_error_cause`` / ``last_error_advice`` say the last error in Chinese with what to do about it
(news_harvester.sources.error_advice); ``backoff_until`` is set while a failing source waits before its next
scheduled attempt (立即抓取 does not wait)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from news_harvester.config import SourcesConfig
from news_harvester.harvest.triggers import next_fire_time
from news_harvester.models import derive_health
from news_harvester.sources.error_advice import explain
from news_harvester.store.runs_store import SourceStateRow


class RunStates(Protocol):
    """What the report reads: the runtime state of every source and its latest outcomes (the Repository, or the
    run queries alone, which `sources list` opens without loading the story machinery)."""

    def all_source_states(self) -> dict[str, SourceStateRow]: ...

    def recent_outcomes(self, source_ids: Iterable[str]) -> dict[str, list[str]]: ...


def source_report(config: SourcesConfig, repository: RunStates, now: datetime) -> list[dict[str, Any]]:
    """One JSON-ready dict per configured source, in sources.yaml order."""
    states = repository.all_source_states()
    outcomes = repository.recent_outcomes([s.id for s in config.sources])
    rows = []
    for spec in config.sources:
        state = states.get(spec.id)
        failures = state.consecutive_failures if state else 0
        health = derive_health(outcomes.get(spec.id, []), failures)
        advice = explain(state.last_error_code, state.last_http_status) if state else None
        next_due = backoff_until = None
        if state is not None and state.next_due_at is not None and state.next_due_at > now:
            backoff_until = state.next_due_at
        if spec.enabled:
            scheduled = next_fire_time(spec, state.last_run_at if state else None, now)
            backoff = state.next_due_at if state else None
            next_due = max(d for d in (scheduled, backoff) if d is not None) if (scheduled or backoff) else None
        rows.append(
            {
                "id": spec.id,
                "name": spec.name,
                "kind": spec.kind,
                "url": spec.url,
                "enabled": spec.enabled,
                "schedule": spec.schedule,
                "health": str(health),
                "consecutive_failures": failures,
                "last_run_at": _iso(state.last_run_at if state else None),
                "last_success_at": _iso(state.last_success_at if state else None),
                "last_new_item_at": _iso(state.last_new_item_at if state else None),
                "last_error_code": state.last_error_code if state else None,
                "last_error_message": state.last_error_message if state else None,
                "last_http_status": state.last_http_status if state else None,
                "last_error_cause": advice.cause if advice else None,
                "last_error_advice": advice.advice if advice else None,
                "moved_to": state.moved_to if state else None,
                "next_due_at": _iso(next_due),
                "backoff_until": _iso(backoff_until) if spec.enabled else None,
            }
        )
    return rows


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
