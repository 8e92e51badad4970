"""Source health report: configuration joined with runtime state, for the CLI and the web app."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from news_harvester.config import SourcesConfig
from news_harvester.harvest.schedule import next_fire_time
from news_harvester.models import derive_health
from news_harvester.store.repository import Repository


def source_report(config: SourcesConfig, repository: Repository, now: datetime) -> list[dict[str, Any]]:
    """One JSON-ready dict per configured source, in sources.yaml order."""
    states = repository.all_source_states()
    outcomes = repository.recent_outcomes([s.id for s in config.sources])
    rows = []
    for spec in config.sources:
        state = states.get(spec.id)
        failures = state.consecutive_failures if state else 0
        health = derive_health(outcomes.get(spec.id, []), failures)
        next_due = None
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
                "moved_to": state.moved_to if state else None,
                "next_due_at": _iso(next_due),
            }
        )
    return rows


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
