"""Two schedulers and three workers as real processes on one PostgreSQL database, 200 local sources, 5+ periods:
each source is harvested exactly once per period, never by two workers at once; a worker killed mid-job has its
job finished by another within a bounded time; a killed scheduler leaves harvesting to the other."""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from support import FeedServer, Role, query, wait_for, write_sources

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

N_SOURCES = 200
PERIOD = 15
PERIODS = 5
SLOW = 6.0
"""The source whose worker is killed answers after this many seconds, so the kill lands mid-job."""
RETRY_BOUND = 4 + 1 + SLOW + 8
"""stalled_timeout + one retry tick + the slow fetch again + slack for a loaded machine."""


def periods(db: str) -> list[dict]:
    return query(
        db,
        "SELECT * FROM nh_cluster.harvest_periods WHERE source_id NOT LIKE '\\_\\_%%' ORDER BY source_id, period_start",
    )


def test_two_schedulers_three_workers_each_source_once_per_period(tmp_path, cluster_db):
    db = cluster_db
    ids = [f"s{k:03d}" for k in range(N_SOURCES - 1)] + ["slow"]
    with FeedServer(period=PERIOD) as server:
        server.delays["slow"] = SLOW
        server.changing = set(ids[::10])  # a new article per period on every 10th source: stories across workers
        write_sources(tmp_path / "sources.yaml", server, ids, f"{PERIOD}s")
        workers = [Role(tmp_path, db, "worker", f"worker{k}") for k in range(3)]
        roles = list(workers)
        try:
            # workers first (they load the story index and the classifier), then the clocks
            wait_for(
                lambda: all("worker" in w.output() and "started:" in w.output() for w in workers),
                timeout=90,
                what="three workers to start",
            )
            schedulers = [Role(tmp_path, db, "scheduler", f"scheduler{k}") for k in range(2)]
            roles += schedulers
            # a worker is killed while it fetches the slow source
            running = wait_for(
                lambda: query(
                    db, "SELECT * FROM nh_cluster.harvest_periods WHERE source_id = 'slow' AND status = 'running'"
                ),
                timeout=90,
                what="the slow source's first job to start",
            )[0]
            time.sleep(1.0)
            victim = next(w for w in workers if running["worker"].endswith(f":{w.pid}"))
            victim.kill()
            killed_at = datetime.now(UTC)
            # and a scheduler: the other one carries on alone
            schedulers[0].kill()
            scheduler_killed_at = datetime.now(UTC)
            survivor_scheduler = schedulers[1]

            def enough() -> bool:
                rows = periods(db)
                after = defaultdict(int)
                total = defaultdict(int)
                for r in rows:
                    total[r["source_id"]] += 1
                    if r["claimed_at"] > scheduler_killed_at + timedelta(seconds=1):
                        after[r["source_id"]] += 1
                return (
                    len(total) == N_SOURCES
                    and min(total.values()) >= PERIODS
                    and len(after) == N_SOURCES
                    and min(after.values()) >= 2
                )

            wait_for(enough, timeout=150, what=f"{PERIODS} periods of every source", interval=1.0)
            survivor_scheduler.stop()
            try:
                wait_for(
                    lambda: not query(
                        db, "SELECT 1 FROM nh_cluster.harvest_periods WHERE status IN ('queued', 'running') LIMIT 1"
                    ),
                    timeout=60,
                    what="the queue to drain",
                )
            except AssertionError:
                stuck = query(
                    db,
                    "SELECT p.*, j.status AS job_status, j.worker_id, j.attempts AS job_attempts "
                    "FROM nh_cluster.harvest_periods p LEFT JOIN nh_cluster.procrastinate_jobs j ON j.id = p.job_id "
                    "WHERE p.status IN ('queued', 'running')",
                )
                raise AssertionError(f"jobs never finished: {stuck}") from None
        finally:
            for role in roles:
                role.stop()
        outputs = {r.name: r.output() for r in roles}

    rows = periods(db)
    by_source: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_source[r["source_id"]].append(r)
    assert sorted(by_source) == sorted(ids)

    # one row per (source, period) is the primary key; here: no period missing between the first and the last
    for source, rs in by_source.items():
        starts = [r["period_start"] for r in rs]
        gaps = [(a, b) for a, b in itertools.pairwise(starts) if b - a != timedelta(seconds=PERIOD)]
        assert gaps == [], (source, gaps)
        assert len(rs) >= PERIODS

    runs = query(db, "SELECT source_id, outcome, started_at, finished_at FROM fetch_runs ORDER BY source_id, id")
    interrupted: dict[str, int] = defaultdict(int)
    for run in runs:
        if run["outcome"] not in ("ok", "not_modified"):  # not_modified: the feed as at the last stored run
            assert run["outcome"] == "interrupted", run
            interrupted[run["source_id"]] += 1
    # the kill interrupted the slow source's run, and maybe another job the victim had in hand
    assert "slow" in interrupted

    # every period ran as its own job to completion; only a source whose job was killed may have one period
    # covered by its retried job (that job had to wait for the stalled-worker timeout)
    not_done = [(r["source_id"], r["period_start"], r["status"]) for r in rows if r["status"] != "done"]
    waits = sorted((r["started_at"] - r["claimed_at"]).total_seconds() for r in rows if r["started_at"])
    lasted = sorted((r["finished_at"] - r["started_at"]).total_seconds() for r in rows if r["finished_at"])
    load = (
        f"queue wait p50 {waits[len(waits) // 2]:.2f} s, max {waits[-1]:.1f} s; "
        f"job p50 {lasted[len(lasted) // 2]:.2f} s"
    )
    assert all(s in interrupted and status == "coalesced" for s, _p, status in not_done), (load, not_done[:20])
    # a period whose feed had not changed since the last stored run is not_modified: a success too
    assert {r["outcome"] for r in rows if r["status"] == "done"} <= {"ok", "not_modified"}

    # each period's job harvested the source exactly once: successful runs and requests to the feed match
    ok_runs: dict[str, int] = defaultdict(int)
    for run in runs:
        if run["outcome"] in ("ok", "not_modified"):
            ok_runs[run["source_id"]] += 1
    done = {s: sum(r["status"] == "done" for r in rs) for s, rs in by_source.items()}
    assert ok_runs == done
    clean = [s for s in ids if s not in interrupted]
    assert {s: server.hits[s] for s in clean} == {s: done[s] for s in clean}
    for s, count in interrupted.items():  # a killed attempt may or may not have sent its request
        assert done[s] <= server.hits[s] <= done[s] + count, (s, server.hits[s], done[s], count)
    assert server.hits["slow"] == done["slow"] + 1  # this one surely had (it was waiting for the answer)

    # never two runs of one source at once
    last_end: dict[str, datetime] = {}
    for run in runs:
        previous = last_end.get(run["source_id"])
        assert previous is None or previous <= run["started_at"], run
        last_end[run["source_id"]] = run["finished_at"]

    # the killed job finished elsewhere, within the bound
    retried = next(r for r in rows if r["source_id"] == "slow" and r["period_start"] == running["period_start"])
    assert retried["status"] == "done" and retried["attempts"] == 2
    assert not retried["worker"].endswith(f":{victim.pid}")
    assert retried["finished_at"] - killed_at < timedelta(seconds=RETRY_BOUND), retried["finished_at"] - killed_at
    assert "without heartbeat" in "".join(outputs[w.name] for w in workers if w is not victim)
    assert "left running by a dead worker marked interrupted" in "".join(outputs[w.name] for w in workers)

    # both schedulers claimed periods before the kill; afterwards only the survivor did, and it missed none
    late = [r for r in rows if r["claimed_at"] > scheduler_killed_at + timedelta(seconds=1)]
    assert {r["scheduler"].rsplit(":", 1)[1] for r in late} == {str(survivor_scheduler.pid)}
    early_schedulers = {r["scheduler"] for r in rows if r["claimed_at"] < scheduler_killed_at}
    assert len(early_schedulers) == 2

    # every live worker took jobs: the work was spread
    workers_seen = {r["worker"].rsplit(":", 1)[1] for r in rows if r["worker"]}
    assert {str(w.pid) for w in workers if w is not victim} <= workers_seen

    # the schedulers' housekeeping did not fail, no process logged a traceback
    for name, text in outputs.items():
        assert "Traceback" not in text, (name, text[-3000:])
