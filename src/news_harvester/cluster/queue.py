"""The procrastinate app and the enqueuer: each (source, period) becomes exactly one queued job.

Job identity:

- ``harvest_periods`` has one row per (source, period). A scheduler inserts it (``ON CONFLICT DO NOTHING``)
  before deferring; only the instance whose insert won defers the job. Any number of schedulers may fire.
- ``queueing_lock = "harvest:<source>"``: while a source's job still waits in the queue (workers behind), the
  next period is not queued again; its row is ``coalesced`` (the waiting job covers it), like APScheduler's
  coalescing in the single-machine mode.
- ``lock = "source:<source>"``: procrastinate starts no job of a source while another is running; the worker
  adds a PostgreSQL advisory lock per source (see news_harvester.cluster.worker) so that even a job retried
  from a worker that merely stalled never runs beside it.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from news_harvester.cluster.schema import SCHEMA
from news_harvester.config import Settings
from news_harvester.store.engine import normalize_database_url

if TYPE_CHECKING:
    from procrastinate import App

log = logging.getLogger(__name__)

HARVEST_TASK = "nh.harvest"
HOUSEKEEPING_TASK = "nh.housekeeping"
QUEUE = "harvest"


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def conninfo(settings: Settings, *, search_path: str | None = SCHEMA) -> str:
    """libpq connection string of the database, with procrastinate's objects on the search path."""
    from psycopg.conninfo import make_conninfo

    url = normalize_database_url(settings.resolved_database_url).replace("postgresql+psycopg://", "postgresql://", 1)
    extra: dict[str, Any] = {"application_name": f"news-harvester {settings.role}"}
    if search_path:
        extra["options"] = f"-c search_path={search_path}"
    return make_conninfo(url, **extra)


def make_app(settings: Settings, *, pool_size: int = 4) -> App:
    """A procrastinate App on our database (its objects live in the ``nh_cluster`` schema). Not opened."""
    from procrastinate import App, PsycopgConnector

    connector = PsycopgConnector(conninfo=conninfo(settings), min_size=1, max_size=pool_size, name="nh-queue")
    return App(connector=connector)


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


class Enqueuer:
    """Defers harvest and housekeeping jobs; shared by scheduler (periods) and web instances (run now)."""

    def __init__(self, app: App, name: str | None = None) -> None:
        self.app = app
        self.name = name or instance_name()

    async def harvest(self, source_id: str, period: datetime | None, now: datetime) -> int | None:
        """Queue one harvest of ``source_id`` for ``period`` (None: on demand, e.g. the web app's 立即抓取).
        Returns the job id, or None when the period was already claimed or a job of the source is waiting."""
        return await self._defer(
            HARVEST_TASK,
            source_id,
            period,
            now,
            lock=f"source:{source_id}",
            queueing_lock=f"harvest:{source_id}",
            args={"source_id": source_id, "period": utc(period).isoformat() if period else None},
        )

    async def housekeeping(self, name: str, period: datetime, now: datetime) -> int | None:
        """Queue one run of a cluster-wide housekeeping job (``__rescore__``, ``__alarms__``) for ``period``."""
        return await self._defer(
            HOUSEKEEPING_TASK,
            name,
            period,
            now,
            lock=f"housekeeping:{name}",
            queueing_lock=f"housekeeping:{name}",
            args={"name": name, "period": utc(period).isoformat()},
        )

    async def _defer(
        self,
        task: str,
        key: str,
        period: datetime | None,
        now: datetime,
        *,
        lock: str,
        queueing_lock: str,
        args: dict[str, Any],
    ) -> int | None:
        """Claim the (key, period) row and defer the job in one transaction: a scheduler killed at any moment
        leaves either both or neither, so a claimed period always has its job."""
        from procrastinate.exceptions import AlreadyEnqueued

        if period is None:  # on demand: no period to claim
            try:
                return await self.app.configure_task(
                    task, lock=lock, queueing_lock=queueing_lock, queue=QUEUE
                ).defer_async(**args)
            except AlreadyEnqueued:
                log.info("%s: a job is already waiting in the queue", key, extra={"source_id": key})
                return None
        period = utc(period)
        pool = self.app.connector.pool  # type: ignore[attr-defined]
        async with pool.connection() as conn, conn.transaction():
            claimed = await (
                await conn.execute(
                    "INSERT INTO nh_cluster.harvest_periods (source_id, period_start, claimed_at, scheduler, status) "
                    "VALUES (%s, %s, %s, %s, 'queued') ON CONFLICT DO NOTHING RETURNING 1",
                    (key, period, now, self.name),
                )
            ).fetchone()
            if claimed is None:
                log.debug("%s period %s already claimed by another scheduler", key, period, extra={"source_id": key})
                return None
            try:
                async with conn.transaction():  # a savepoint: the queueing-lock conflict must not void the claim
                    job_id: int = await self.app.configure_task(
                        task, lock=lock, queueing_lock=queueing_lock, queue=QUEUE, connection=conn
                    ).defer_async(**args)
            except AlreadyEnqueued:
                await conn.execute(
                    "UPDATE nh_cluster.harvest_periods SET status = 'coalesced', note = %s "
                    "WHERE source_id = %s AND period_start = %s",
                    ("a job of this source was still waiting", key, period),
                )
                log.info(
                    "%s: a job is still waiting in the queue; it covers this period too",
                    key,
                    extra={"source_id": key, "stage": "schedule"},
                )
                return None
            await conn.execute(
                "UPDATE nh_cluster.harvest_periods SET job_id = %s WHERE source_id = %s AND period_start = %s",
                (job_id, key, period),
            )
        log.debug("%s queued as job %d", key, job_id, extra={"source_id": key, "stage": "schedule"})
        return job_id
