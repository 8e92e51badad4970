"""The queue's change log (``queue_changes``, written by triggers, read by store.queue_index): its pruning.

Apart from the index so that the store's hourly prune, and every command that opens the repository, need not
load numpy; only the review app turns the index on.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from news_harvester.store.schema import queue_changes

KEEP_CHANGES = 100_000
"""Change-log rows kept by the hourly prune: hours of harvesting; a process further behind reloads."""


def prune_changes(conn: Connection, keep: int = KEEP_CHANGES) -> None:
    """Drop all but the newest ``keep`` rows of the change log (with the story window's hourly prune)."""
    top = conn.execute(select(func.max(queue_changes.c.seq))).scalar()
    if top is not None and int(top) > keep:
        conn.execute(queue_changes.delete().where(queue_changes.c.seq <= int(top) - keep))
