"""The cluster-wide story lock as a worker's event loop takes it (see news_harvester.cluster.worker).

A run's articles are assigned to stories under one PostgreSQL advisory lock for the whole cluster
(``STORY_LOCK``). :class:`StoryLock` holds it as a *session* lock on a connection of its own, taken with
``await``, so a worker waiting for it keeps fetching and heartbeating; the lock dies with its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import psycopg

from news_harvester.cluster.schema import STORY_LOCK


class StoryLock:
    """The cluster-wide story lock as a session advisory lock on a connection of its own, acquired with ``await``
    so a worker waiting for it keeps fetching and heartbeating; one holder per process (an asyncio lock)."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._local = asyncio.Lock()
        self.held = False
        self.wait = 0.0

    async def acquire(self) -> None:
        await self._local.acquire()
        started = time.perf_counter()
        try:
            if self._conn is None or self._conn.closed:
                self._conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
            await self._conn.execute("SELECT pg_advisory_lock(%s)", (STORY_LOCK,))
        except BaseException:
            await self._drop()
            self._local.release()
            raise
        self.wait += time.perf_counter() - started
        self.held = True

    async def release(self) -> None:
        if not self.held:
            return
        try:
            assert self._conn is not None
            await self._conn.execute("SELECT pg_advisory_unlock(%s)", (STORY_LOCK,))
        except BaseException:
            await self._drop()  # the lock dies with its connection
            raise
        finally:
            self.held = False
            self._local.release()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def close(self) -> None:
        await self._drop()
