"""The sources page reads source states, runs per day and latest runs in separate queries; inside
``Repository.snapshot`` they see one committed state of the database, so a run committed by the writer between two
of them cannot show as finished while its source still shows the state from before (seen once in CI)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, update

from news_harvester.store.schema import source_state
from news_harvester.wiring import open_repository


def test_reads_inside_a_snapshot_see_one_commit_and_fresh_reads_after_it(any_settings, any_repository):
    reader = any_repository
    writer = open_repository(any_settings)  # another engine, as the writer process has
    start = datetime(2026, 12, 1, 8, tzinfo=UTC)
    first = writer.begin_run("src-a", start)
    with writer.engine.begin() as conn:
        conn.execute(insert(source_state).values(source_id="src-a", consecutive_failures=0))
    try:
        with reader.snapshot():
            assert reader.latest_runs(["src-a"])["src-a"].started_at == start
            before = reader.all_source_states()["src-a"]
            assert before.consecutive_failures == 0
            # the writer commits a newer run and a changed state while the page is being read
            writer.begin_run("src-a", start + timedelta(minutes=5))
            with writer.engine.begin() as conn:
                conn.execute(update(source_state).values(consecutive_failures=7))
            assert reader.latest_runs(["src-a"])["src-a"].started_at == start, "a later read saw a newer commit"
            assert reader.all_source_states()["src-a"] == before
        assert reader.latest_runs(["src-a"])["src-a"].started_at == start + timedelta(minutes=5)
        assert reader.all_source_states()["src-a"].consecutive_failures == 7
        assert first > 0
    finally:
        writer.engine.dispose()
