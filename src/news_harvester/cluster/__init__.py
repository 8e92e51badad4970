"""Scale-out: several ``news-harvester run --role web|scheduler|worker`` instances on several machines sharing
one PostgreSQL database, the harvest work spread by procrastinate (a PostgreSQL-backed task queue).

- ``schema``: the ``nh_cluster`` PostgreSQL schema (procrastinate's tables and ``harvest_periods``), applied
  once under the migration lock, and the advisory-lock keys;
- ``periods``: epoch-aligned schedule periods, identical in every scheduler instance;
- ``queue``: the procrastinate app, and the enqueuer that turns each (source, period) into exactly one job;
- ``worker``: the worker process (jobs, per-source locks, stalled-job retry);
- ``roles``: role validation and the entry point of ``run --role``.

Everything here needs PostgreSQL; the default role ``all`` (one machine, SQLite or PostgreSQL, no queue) never
imports this package.
"""
