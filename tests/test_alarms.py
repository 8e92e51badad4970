"""Health alarms: the pure rules (news_harvester.sources.alarms) and their store (SQLite, and PostgreSQL when
NEWS_HARVESTER_TEST_PG is set)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy
from sqlalchemy.exc import IntegrityError

from news_harvester.models import Article, Outcome, RunSummary
from news_harvester.sources.alarms import (
    CHALLENGE,
    FETCH_ERRORS,
    ITEM_DROP,
    NO_ITEMS,
    STALE,
    Alarm,
    RunFacts,
    detect,
    format_span,
    learned_interval,
)
from news_harvester.store.alarms_store import OPENED, RESOLVED, AlarmQueries, notify_backoff
from news_harvester.store.repository import Repository, RunResult
from news_harvester.store.schema import alarms, fetch_runs, source_state

NOW = datetime(2024, 6, 20, 12, 0, tzinfo=UTC)
NAME = "商务部网站"


def run(hours_ago: float, outcome: str = "ok", code: str | None = None, seen: int = 20, new: int = 0) -> RunFacts:
    if outcome != "ok":
        seen = 0
    return RunFacts(NOW - timedelta(hours=hours_ago), outcome, code, seen, new)


def healthy(n: int = 30, *, start: float = 0.5, every: float = 1.0) -> list[RunFacts]:
    """Newest first: ``n`` ok runs ``every`` hours apart from ``start`` hours ago, each bringing a new item."""
    return [run(start + k * every, new=1) for k in range(n)]


def kinds(found: list[Alarm]) -> list[str]:
    return [a.kind for a in found]


def check(runs: list[RunFacts], **kw) -> list[Alarm]:
    kw.setdefault("last_new_item_at", next((r.started_at for r in runs if r.items_new), None))
    return detect("mofcom", NAME, runs, NOW, **kw)


# ---------------------------------------------------------------------- pure rules


def test_healthy_history_raises_nothing():
    assert check(healthy()) == []


def test_too_little_history_raises_nothing():
    assert check([]) == []
    assert check([run(1, seen=20, new=1)]) == []
    # two low counts after a short history: not enough to call it drift
    assert check([run(1, seen=2), run(2, seen=2), run(3, seen=2), run(4), run(5), run(6)]) == []
    # a silent source with only three new-item runs: no cadence learned, no staleness
    few = [run(100 + k * 24, new=1) for k in range(3)]
    assert check([run(1), *few], last_new_item_at=few[0].started_at) == []


def test_no_items_from_parse_no_items_or_an_empty_ok_run():
    [alarm] = check([run(1, "error", "parse.no_items"), *healthy(5, start=10)])
    assert alarm.kind == NO_ITEMS and alarm.source_id == "mofcom"
    assert alarm.message.startswith("商务部网站：") and "0 条" in alarm.message and "parse.no_items" in alarm.message
    assert alarm.detail["code"] == "parse.no_items" and alarm.detail["source_name"] == NAME

    [empty] = check([run(1, seen=0), *healthy(5, start=10)])
    assert empty.kind == NO_ITEMS and "0 条" in empty.message

    # a later 304 says nothing new about the list: the alarm holds; a run with items clears it
    assert kinds(check([run(0.5, "not_modified"), run(1, "error", "parse.no_items")])) == [NO_ITEMS]
    assert check([run(0.5, seen=20), run(1, "error", "parse.no_items")]) == []


def test_item_drop_needs_three_low_runs_against_enough_history():
    history = [run(10 + k, seen=20) for k in range(10)]
    [alarm] = check([run(1, seen=3), run(2, seen=4), run(3, seen=5), *history])
    assert alarm.kind == ITEM_DROP
    assert alarm.detail["recent_items_seen"] == [3, 4, 5] and alarm.detail["history_median"] == 20
    assert "3、4、5" in alarm.message and "20" in alarm.message and "结构" in alarm.message

    assert check([run(1, seen=3), run(2, seen=4), run(3, seen=15), *history]) == [], "one run at 75 % is no drift"
    assert check([run(1, seen=3), run(2, seen=4), *history]) == [], "two low runs are not yet a trend"
    assert check([run(1, seen=3), run(2, seen=4), run(3, seen=5), *history[:4]]) == [], "4 runs of history"
    # 30 % of the median is the line: 6 of 20 is not below it
    assert check([run(1, seen=6), run(2, seen=6), run(3, seen=6), *history]) == []
    # errors in between do not break the comparison of ok runs
    mixed = [run(1, seen=3), run(1.5, "error", "fetch.timeout"), run(2, seen=3), run(3, seen=3), *history]
    assert kinds(check(mixed)) == [ITEM_DROP]


def test_challenge_from_the_last_run():
    [alarm] = check([run(1, "error", "fetch.challenge"), *healthy(5, start=10)])
    assert alarm.kind == CHALLENGE and "fetch.challenge" in alarm.message and alarm.message.startswith(NAME)
    # three challenge pages in a row are one problem, not two alarms
    assert kinds(check([run(k, "error", "fetch.challenge") for k in (1, 2, 3)])) == [CHALLENGE]
    assert check([run(0.5), run(1, "error", "fetch.challenge")]) == []


def test_fetch_errors_after_three_consecutive_failures():
    runs = [run(1, "error", "fetch.timeout"), run(2, "error", "fetch.timeout"), run(3, "error", "fetch.timeout")]
    [alarm] = check([*runs, *healthy(5, start=10)])
    assert alarm.kind == FETCH_ERRORS
    assert alarm.message == "商务部网站：连续 3 次抓取失败（fetch.timeout）"
    assert alarm.detail["count"] == 3 and alarm.detail["codes"] == ["fetch.timeout"]

    assert check(runs[:2]) == [], "two failures are not yet an alarm"
    # an interrupted run (our shutdown) neither counts nor breaks the streak; a 304 is a success
    interrupted = RunFacts(NOW - timedelta(hours=1.5), "interrupted", "run.interrupted")
    assert kinds(check([runs[0], interrupted, *runs[1:]])) == [FETCH_ERRORS]
    assert check([runs[0], run(1.5, "not_modified"), *runs[1:]]) == []
    mixed = [run(0.2, "error", "fetch.http_status"), run(0.4, "error", "fetch.challenge"), *runs]
    [alarm] = [a for a in check(mixed) if a.kind == FETCH_ERRORS]
    assert alarm.detail["count"] == 5
    assert alarm.detail["codes"] == ["fetch.http_status", "fetch.challenge", "fetch.timeout"]
    assert "连续 5 次抓取失败（fetch.http_status、fetch.challenge、fetch.timeout）" in alarm.message


def _silent(
    days_silent: float, *, every_hours: float = 24, new_runs: int = 20
) -> tuple[list[RunFacts], datetime, list[datetime]]:
    """Hourly runs for the last ``days_silent`` days without anything new, after ``new_runs`` runs that each
    brought new items ``every_hours`` apart."""
    quiet = [run(h + 0.25) for h in range(int(days_silent * 24))]
    last_new = NOW - timedelta(days=days_silent)
    times = [last_new - timedelta(hours=every_hours * k) for k in range(new_runs)]
    return quiet, last_new, times


def test_stale_after_three_times_the_learned_cadence():
    quiet, last_new, times = _silent(4)
    [alarm] = check(quiet, last_new_item_at=last_new, new_item_times=times)
    assert alarm.kind == STALE and alarm.detail["basis"] == "learned"
    assert alarm.detail["threshold_seconds"] == 3 * 86400 and alarm.detail["median_interval_seconds"] == 86400
    assert alarm.message == "商务部网站：已 4 天没有新条目（按以往节奏应每 3 天内有更新）"

    quiet, last_new, times = _silent(2.5)
    assert check(quiet, last_new_item_at=last_new, new_item_times=times) == []


def test_stale_threshold_is_at_least_two_days():
    quiet, last_new, times = _silent(1.5, every_hours=1)  # hourly news: 3 h learned, the floor of 2 days applies
    assert check(quiet, last_new_item_at=last_new, new_item_times=times) == []
    quiet, last_new, times = _silent(2.2, every_hours=1)
    [alarm] = check(quiet, last_new_item_at=last_new, new_item_times=times)
    assert alarm.detail["threshold_seconds"] == 2 * 86400


def test_stale_with_a_configured_cadence_and_cadence_from_runs():
    quiet, last_new, _ = _silent(1.5)
    [alarm] = check(quiet, last_new_item_at=last_new, expected_cadence=timedelta(days=1))
    assert alarm.kind == STALE and alarm.detail["basis"] == "configured" and "设定的更新周期为 1 天" in alarm.message
    assert check(quiet, last_new_item_at=last_new, expected_cadence=timedelta(days=2)) == []
    # without new_item_times the rule learns from the runs it was given
    runs = [run(h + 0.5) for h in range(80)] + [run(80 + k * 6, new=1) for k in range(10)]
    [alarm] = check(runs, last_new_item_at=runs[80].started_at)
    assert alarm.kind == STALE and alarm.detail["threshold_seconds"] == 2 * 86400  # 3 × 6 h < 2 days


def test_stale_only_when_we_looked_and_never_without_a_new_item():
    quiet, last_new, times = _silent(5)
    failing = [run(h + 0.25, "error", "fetch.timeout") for h in range(5 * 24)]
    # nothing fetched since the deadline: the fetch_errors alarm speaks, not staleness
    assert kinds(check(failing, last_new_item_at=last_new, new_item_times=times)) == [FETCH_ERRORS]
    assert check([], last_new_item_at=last_new, new_item_times=times) == []
    # the learned cadence is kept by a source that fell silent long ago (window ends at its last new item)
    quiet, last_new, times = _silent(60)
    assert kinds(check(quiet[:5], last_new_item_at=last_new, new_item_times=times)) == [STALE]
    assert check(quiet, last_new_item_at=None, expected_cadence=timedelta(days=1)) == []


def test_learned_interval_and_spans():
    last = NOW
    assert learned_interval([last - timedelta(hours=h) for h in (0, 2, 4, 10)], last) == timedelta(hours=2)
    assert learned_interval([last - timedelta(hours=h) for h in (0, 2, 4)], last) is None
    # only the 30 days up to the last new item count
    old = [last - timedelta(days=40 + d) for d in range(10)]
    assert learned_interval([last, *old], last) is None
    assert format_span(timedelta(days=3, hours=4, minutes=5)) == "3 天 4 小时"
    assert format_span(timedelta(hours=5)) == "5 小时"
    assert format_span(timedelta(minutes=20)) == "20 分钟"


# ---------------------------------------------------------------------- store


def alarm_repo(repository: Repository) -> AlarmQueries:
    """The repository with the alarm queries (Repository gets them as a base class when wired up)."""
    if isinstance(repository, AlarmQueries):
        return repository

    class _Repo(Repository, AlarmQueries):
        pass

    return _Repo(repository.engine)


def add_runs(repository: Repository, source_id: str, runs: list[RunFacts], last_new_item_at: datetime | None = None):
    with repository.engine.begin() as conn:
        conn.execute(
            sqlalchemy.insert(fetch_runs),
            [
                {
                    "source_id": source_id,
                    "started_at": r.started_at,
                    "finished_at": r.started_at + timedelta(seconds=5),
                    "outcome": r.outcome,
                    "code": r.code,
                    "items_seen": r.items_seen,
                    "items_new": r.items_new,
                }
                for r in runs
            ],
        )
        if last_new_item_at is not None:
            conn.execute(
                sqlalchemy.insert(source_state).values(
                    source_id=source_id, last_new_item_at=last_new_item_at, consecutive_failures=0
                )
            )


def test_recent_runs_read_real_run_records(any_repository):
    repo = alarm_repo(any_repository)
    t0 = NOW - timedelta(hours=3)
    article = Article(
        url="http://127.0.0.1/a/1.html",
        source_id="mofcom",
        title="商务部发布通知",
        published_at=t0,
        fetched_at=t0,
        author=None,
        attribution=NAME,
        summary=None,
        body_text="正文",
        content_hash="h1",
        language="zh",
    )
    first = any_repository.begin_run("mofcom", t0)
    any_repository.finish_run(
        first, RunResult(RunSummary("mofcom", Outcome.OK, items_seen=20), t0 + timedelta(seconds=3), [article])
    )
    second = any_repository.begin_run("mofcom", t0 + timedelta(hours=1))
    any_repository.finish_run(
        second,
        RunResult(
            RunSummary("mofcom", Outcome.ERROR, code="fetch.timeout", message="timed out"),
            t0 + timedelta(hours=1, seconds=10),
        ),
    )
    any_repository.begin_run("other", t0)

    runs = repo.recent_runs("mofcom")
    assert [(r.outcome, r.code, r.items_seen, r.items_new) for r in runs] == [
        ("error", "fetch.timeout", 0, 0),
        ("ok", None, 20, 1),
    ]
    assert runs[0].started_at == t0 + timedelta(hours=1) and runs[0].started_at.tzinfo is not None
    assert repo.recent_runs("mofcom", limit=1) == runs[:1]
    assert repo.new_item_times("mofcom", t0 - timedelta(days=30)) == [t0]
    assert repo.new_item_times("mofcom", t0 + timedelta(minutes=1)) == []
    assert repo.last_new_item_times()["mofcom"] == t0 + timedelta(seconds=3)


def test_sync_opens_refreshes_and_resolves(any_repository):
    repo = alarm_repo(any_repository)
    errors = Alarm("mofcom", FETCH_ERRORS, "商务部网站：连续 3 次抓取失败（fetch.timeout）", {"count": 3})
    challenge = Alarm("mofcom", CHALLENGE, "商务部网站：网站返回反爬验证页面", {})
    other = Alarm("xinhua", STALE, "新华网：已 4 天没有新条目", {"source_name": "新华网"})

    opened, resolved = repo.sync_alarms("mofcom", [errors, challenge], NOW)
    assert [a.kind for a in opened] == [FETCH_ERRORS, CHALLENGE] and resolved == []
    assert repo.sync_alarms("xinhua", [other], NOW)[0][0].source_name == "新华网"
    first = opened[0]
    assert first.is_open and first.first_seen_at == first.last_seen_at == NOW and first.detail == {"count": 3}
    assert first.event == OPENED and first.notify_attempts == 0 and first.notified_at is None

    later = NOW + timedelta(minutes=5)
    worse = Alarm("mofcom", FETCH_ERRORS, "商务部网站：连续 4 次抓取失败（fetch.timeout）", {"count": 4})
    opened, resolved = repo.sync_alarms("mofcom", [worse], later)
    assert opened == [] and [a.kind for a in resolved] == [CHALLENGE]
    assert resolved[0].resolved_at == later and resolved[0].event == RESOLVED
    [still] = repo.open_alarms("mofcom")
    assert still.id == first.id and still.first_seen_at == NOW and still.last_seen_at == later
    assert still.message.endswith("连续 4 次抓取失败（fetch.timeout）") and still.detail == {"count": 4}
    assert {a.source_id for a in repo.open_alarms()} == {"mofcom", "xinhua"}

    opened, resolved = repo.sync_alarms("mofcom", [], later + timedelta(minutes=5))
    assert opened == [] and [a.id for a in resolved] == [first.id]
    assert repo.open_alarms("mofcom") == []
    # the problem comes back: a new occurrence, the old one stays in the history
    reopened, _ = repo.sync_alarms("mofcom", [errors], later + timedelta(minutes=10))
    assert reopened[0].id != first.id
    history = repo.recent_alarms(source_id="mofcom")
    assert [(a.kind, a.is_open) for a in history] == [(FETCH_ERRORS, True), (CHALLENGE, False), (FETCH_ERRORS, False)]

    with pytest.raises(ValueError, match="xinhua"):
        repo.sync_alarms("mofcom", [other], NOW)


def test_detect_and_sync_from_stored_runs(any_repository):
    repo = alarm_repo(any_repository)
    add_runs(any_repository, "mofcom", [run(k, "error", "fetch.timeout") for k in (1, 2, 3)] + healthy(20, start=5))
    found = detect("mofcom", NAME, repo.recent_runs("mofcom"), NOW, last_new_item_at=None)
    [alarm] = repo.sync_alarms("mofcom", found, NOW)[0]
    assert alarm.message == "商务部网站：连续 3 次抓取失败（fetch.timeout）"


def test_only_one_open_alarm_per_source_and_kind(any_repository):
    """The partial unique index of migration 0007: one open row per (source, kind), any number resolved."""
    row = {"source_id": "s", "kind": STALE, "message": "m", "first_seen_at": NOW, "last_seen_at": NOW}
    with any_repository.engine.begin() as conn:
        conn.execute(sqlalchemy.insert(alarms).values(row | {"resolved_at": NOW}))
        conn.execute(sqlalchemy.insert(alarms).values(row | {"resolved_at": NOW}))
        conn.execute(sqlalchemy.insert(alarms).values(row))
        conn.execute(sqlalchemy.insert(alarms).values(row | {"kind": CHALLENGE}))
    with pytest.raises(IntegrityError), any_repository.engine.begin() as conn:
        conn.execute(sqlalchemy.insert(alarms).values(row))


def test_pending_notifications_backoff_and_delivery_state(any_repository):
    repo = alarm_repo(any_repository)
    [alarm] = repo.sync_alarms("mofcom", [Alarm("mofcom", FETCH_ERRORS, "m", {})], NOW)[0]
    assert [a.id for a in repo.pending_notifications(NOW, 5)] == [alarm.id]

    assert repo.mark_notify_failed(alarm.id, "webhook 127.0.0.1 answered HTTP 500", NOW, delivered_to=["email"]) == 1
    assert repo.pending_notifications(NOW + timedelta(seconds=59), 5) == [], "backing off for a minute"
    [again] = repo.pending_notifications(NOW + timedelta(minutes=1), 5)
    assert again.notify_attempts == 1 and again.delivered_to == ("email",) and "HTTP 500" in again.last_notify_error
    assert again.next_notify_at == NOW + timedelta(minutes=1)
    assert repo.mark_notify_failed(alarm.id, "still down", NOW + timedelta(minutes=1)) == 2
    assert repo.pending_notifications(NOW + timedelta(minutes=2, seconds=59), 5) == [], "then two"
    assert len(repo.pending_notifications(NOW + timedelta(minutes=3), 5)) == 1
    assert repo.pending_notifications(NOW + timedelta(minutes=3), 2) == [], "attempts exhausted"
    assert notify_backoff(3) == timedelta(minutes=4) and notify_backoff(30) == timedelta(hours=6)

    repo.mark_notified(alarm.id, NOW + timedelta(minutes=3))
    assert repo.pending_notifications(NOW + timedelta(hours=1), 5) == []
    [delivered] = repo.open_alarms()
    assert delivered.notified_at == NOW + timedelta(minutes=3) and delivered.last_notify_error is None
    assert delivered.delivered_to == ()

    # the resolution is a new event with a fresh attempt budget
    repo.sync_alarms("mofcom", [], NOW + timedelta(hours=2))
    [resolution] = repo.pending_notifications(NOW + timedelta(hours=2), 2)
    assert resolution.event == RESOLVED and resolution.notify_attempts == 0
    repo.mark_notified(resolution.id, NOW + timedelta(hours=2), event=RESOLVED)
    assert repo.pending_notifications(NOW + timedelta(hours=3), 5) == []

    # a resolution nobody could be told about for days is history, not news
    [old] = repo.sync_alarms("old", [Alarm("old", STALE, "m", {})], NOW)[0]
    repo.sync_alarms("old", [], NOW + timedelta(hours=1))
    assert [a.id for a in repo.pending_notifications(NOW + timedelta(days=1), 5)] == [old.id]
    assert repo.pending_notifications(NOW + timedelta(days=3), 5) == []


def test_migration_creates_a_partial_unique_index(any_repository):
    engine = any_repository.engine
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = conn.execute(
                sqlalchemy.text("SELECT sql FROM sqlite_master WHERE name = 'uq_alarms_open_source_id_kind'")
            ).scalar_one()
        else:
            sql = conn.execute(
                sqlalchemy.text(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_alarms_open_source_id_kind' "
                    "AND schemaname = current_schema()"  # other test runs keep their own schemas on the server
                )
            ).scalar_one()
        version = conn.execute(sqlalchemy.text("SELECT version_num FROM alembic_version")).scalar_one()
    assert "UNIQUE" in sql.upper() and "resolved_at IS NULL" in sql.replace("(", "").replace(")", "")
    assert version >= "0007"
