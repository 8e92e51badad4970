"""Alarm notifiers against real local receivers: a webhook (pytest-httpserver) and SMTP (aiosmtpd), including
receivers that are down, slow or refuse, and the periodic check that must never disturb harvesting."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from pytest_httpserver import HTTPServer

import feeds
from conftest import source
from news_harvester.config import Settings, SourcesConfig, SourceSpec, load_settings
from news_harvester.errors import ConfigError
from news_harvester.harvest.fetch import Fetcher
from news_harvester.harvest.pipeline import Harvester
from news_harvester.models import Outcome
from news_harvester.sources.notify import (
    EmailNotifier,
    NotifyError,
    WebhookNotifier,
    check_and_notify,
    notifiers_from_settings,
    split_addresses,
)
from news_harvester.store.alarms_store import AlarmQueries
from news_harvester.store.engine import make_engine
from news_harvester.store.repository import Repository
from news_harvester.store.schema import fetch_runs
from news_harvester.wiring import fetch_policy

NOW = datetime(2024, 6, 20, 4, 0, tzinfo=UTC)
SENDER = "harvester@example.cn"
EDITORS = ["editor@example.cn", "admin@example.cn"]
SUBJECT = "【新闻采集告警】商务部网站：连续 3 次抓取失败（fetch.timeout）"


def spec(source_id: str = "mofcom", name: str = "商务部网站", **fields) -> SourceSpec:
    return SourceSpec(id=source_id, name=name, kind="html", url=f"https://{source_id}.example.cn/list.html", **fields)


SOURCES = SourcesConfig(path=Path("sources.yaml"), sources=(spec(),))


def alarm_repo(repository: Repository) -> AlarmQueries:
    """The repository with the alarm queries (Repository gets them as a base class when wired up)."""
    if isinstance(repository, AlarmQueries):
        return repository

    class _Repo(Repository, AlarmQueries):
        pass

    return _Repo(repository.engine)


def add_run(repository, source_id: str, at: datetime, outcome: str = "ok", code: str | None = None, seen: int = 20):
    with repository.engine.begin() as conn:
        conn.execute(
            sqlalchemy.insert(fetch_runs).values(
                source_id=source_id,
                started_at=at,
                finished_at=at + timedelta(seconds=5),
                outcome=outcome,
                code=code,
                items_seen=seen if outcome == "ok" else 0,
                items_new=0,
            )
        )


def failing(repository, source_id: str = "mofcom", now: datetime = NOW) -> None:
    """A source that worked, then three timeouts in a row: a fetch_errors alarm (one that never worked would
    have a never_ok alarm instead, from its first failure)."""
    add_run(repository, source_id, now - timedelta(hours=4))
    for hours in (3, 2, 1):
        add_run(repository, source_id, now - timedelta(hours=hours), "error", "fetch.timeout")


def check(repo, notifiers, now=NOW, sources=SOURCES) -> None:
    asyncio.run(check_and_notify(repo, sources, notifiers, now))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.content, policy=email.policy.default) for e in self.envelopes]


@pytest.fixture
def smtp_port() -> int:
    return free_port()


def start_smtp(port: int, **kw) -> tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kw)
    controller.start()
    return controller, inbox


@pytest.fixture
def smtp(smtp_port: int) -> Iterator[Inbox]:
    controller, inbox = start_smtp(smtp_port)
    yield inbox
    controller.stop()


def mailer(port: int, **kw) -> EmailNotifier:
    return EmailNotifier(
        "127.0.0.1", port, kw.pop("user", None), kw.pop("password", None), False, SENDER, EDITORS, **kw
    )


def posted(server: HTTPServer) -> list[dict]:
    return [json.loads(request.data.decode("utf-8")) for request, _ in server.log]


# ---------------------------------------------------------------------- delivery


def test_webhook_gets_opened_then_resolved_as_json(httpserver: HTTPServer, repository):
    repo = alarm_repo(repository)
    failing(repository)
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    hook = WebhookNotifier(httpserver.url_for("/hook"))

    check(repo, [hook])
    [request] = [r for r, _ in httpserver.log]
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    body = json.loads(request.data.decode("utf-8"))
    assert body["event"] == "alarm.opened" and body["source_id"] == "mofcom" and body["kind"] == "fetch_errors"
    assert body["message"] == "商务部网站：连续 3 次抓取失败（fetch.timeout）" and body["source_name"] == "商务部网站"
    assert body["first_seen_at"] == NOW.isoformat() and body["resolved_at"] is None
    assert body["detail"]["count"] == 3 and body["text"] == SUBJECT
    [alarm] = repo.open_alarms()
    assert alarm.notified_at == NOW and alarm.notify_attempts == 0

    check(repo, [hook], NOW + timedelta(minutes=5))
    assert len(httpserver.log) == 1, "an alarm is announced once, not at every check"

    add_run(repository, "mofcom", NOW + timedelta(minutes=6))
    check(repo, [hook], NOW + timedelta(minutes=10))
    resolved = posted(httpserver)[1]
    assert resolved["event"] == "alarm.resolved" and resolved["kind"] == "fetch_errors"
    assert resolved["resolved_at"] == (NOW + timedelta(minutes=10)).isoformat()
    assert repo.open_alarms() == [] and repo.pending_notifications(NOW + timedelta(days=1), 16) == []


def test_email_is_utf8_chinese(smtp: Inbox, smtp_port: int, repository):
    repo = alarm_repo(repository)
    failing(repository)
    check(repo, [mailer(smtp_port)])

    [envelope] = smtp.envelopes
    assert envelope.mail_from == SENDER and envelope.rcpt_tos == EDITORS
    assert b"=?utf-8?" in envelope.content, "non-ASCII headers travel as RFC 2047 encoded words"
    [message] = smtp.messages
    assert message["Subject"] == SUBJECT
    assert message["From"].addresses[0].display_name == "新闻采集告警"
    assert message.get_content_charset() == "utf-8"
    body = message.get_content()
    assert body.startswith("商务部网站：连续 3 次抓取失败（fetch.timeout）")
    assert "来源：商务部网站（mofcom）" in body and "类型：连续抓取失败（fetch_errors）" in body
    assert "首次发现：2024-06-20 12:00（北京时间）" in body

    add_run(repository, "mofcom", NOW + timedelta(minutes=1))
    check(repo, [mailer(smtp_port)], NOW + timedelta(minutes=5))
    resolved = smtp.messages[1]
    assert resolved["Subject"] == "【新闻采集告警·已恢复】商务部网站：连续 3 次抓取失败（fetch.timeout）"
    assert "恢复时间：2024-06-20 12:05（北京时间）" in resolved.get_content()


def test_email_logs_in_when_configured(smtp_port: int, repository):
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)

    controller, inbox = start_smtp(smtp_port, authenticator=authenticator, auth_require_tls=False)
    try:
        repo = alarm_repo(repository)
        failing(repository)
        check(repo, [mailer(smtp_port, user="harvester", password="wrong")])
        [alarm] = repo.open_alarms()
        assert inbox.envelopes == [] and alarm.notify_attempts == 1
        assert "SMTPAuthenticationError" in alarm.last_notify_error
        check(repo, [mailer(smtp_port, user="harvester", password="s3cret")], NOW + timedelta(minutes=2))
        assert len(inbox.envelopes) == 1 and logins[-1] == (b"harvester", b"s3cret")
        assert repo.open_alarms()[0].notified_at == NOW + timedelta(minutes=2)
    finally:
        controller.stop()


# ---------------------------------------------------------------------- notifiers that are down


def test_webhook_500_keeps_the_alarm_and_retries_with_backoff(httpserver: HTTPServer, repository):
    repo = alarm_repo(repository)
    failing(repository)
    httpserver.expect_ordered_request("/hook").respond_with_data("down", status=500)
    hook = WebhookNotifier(httpserver.url_for("/hook"))

    check(repo, [hook])
    [alarm] = repo.open_alarms()
    assert alarm.notified_at is None and alarm.notify_attempts == 1
    assert alarm.last_notify_error == f"webhook 127.0.0.1:{httpserver.port} answered HTTP 500"
    assert alarm.next_notify_at == NOW + timedelta(minutes=1)

    check(repo, [hook], NOW + timedelta(seconds=30))
    assert len(httpserver.log) == 1, "backing off: no attempt before next_notify_at"

    httpserver.expect_ordered_request("/hook").respond_with_data("ok")
    check(repo, [hook], NOW + timedelta(minutes=2))
    assert len(httpserver.log) == 2 and posted(httpserver)[1]["event"] == "alarm.opened"
    [alarm] = repo.open_alarms()
    assert alarm.notified_at == NOW + timedelta(minutes=2) and alarm.last_notify_error is None


def test_refused_webhook_and_closed_smtp_port_are_retried_until_back(httpserver: HTTPServer, smtp_port, repository):
    repo = alarm_repo(repository)
    failing(repository)
    hook_port = free_port()  # nothing listens there
    notifiers = [WebhookNotifier(f"http://127.0.0.1:{hook_port}/hook?token=SECRET"), mailer(smtp_port)]

    check(repo, notifiers)
    check(repo, notifiers, NOW + timedelta(minutes=1))
    [alarm] = repo.open_alarms()
    assert alarm.notify_attempts == 2 and alarm.notified_at is None
    assert f"webhook 127.0.0.1:{hook_port}: ConnectError" in alarm.last_notify_error
    assert f"smtp 127.0.0.1:{smtp_port}: ConnectionRefusedError" in alarm.last_notify_error
    assert "SECRET" not in alarm.last_notify_error

    # both come back
    controller, inbox = start_smtp(smtp_port)
    try:
        httpserver.expect_request("/hook").respond_with_data("ok")
        notifiers[0] = WebhookNotifier(httpserver.url_for("/hook"))
        check(repo, notifiers, NOW + timedelta(minutes=3))
        assert len(inbox.envelopes) == 1 and len(httpserver.log) == 1
        assert repo.open_alarms()[0].notified_at == NOW + timedelta(minutes=3)
    finally:
        controller.stop()


def test_a_notifier_that_got_the_event_is_not_sent_it_again(httpserver: HTTPServer, smtp_port, repository):
    repo = alarm_repo(repository)
    failing(repository)
    httpserver.expect_request("/hook").respond_with_data("ok")
    notifiers = [WebhookNotifier(httpserver.url_for("/hook")), mailer(smtp_port)]

    check(repo, notifiers)  # webhook delivered, SMTP down
    [alarm] = repo.open_alarms()
    assert alarm.delivered_to == ("webhook",) and alarm.notify_attempts == 1
    controller, inbox = start_smtp(smtp_port)
    try:
        check(repo, notifiers, NOW + timedelta(minutes=1))
    finally:
        controller.stop()
    assert len(inbox.envelopes) == 1 and len(httpserver.log) == 1
    assert repo.open_alarms()[0].notified_at == NOW + timedelta(minutes=1)


def test_a_notifier_that_fails_is_skipped_for_the_rest_of_the_pass(httpserver: HTTPServer, repository):
    repo = alarm_repo(repository)
    ids = ["mofcom", "xinhua", "miit"]
    for source_id in ids:
        failing(repository, source_id)
    sources = SourcesConfig(path=Path("s.yaml"), sources=tuple(spec(i, i) for i in ids))
    httpserver.expect_request("/hook").respond_with_data("down", status=503)

    check(repo, [WebhookNotifier(httpserver.url_for("/hook"))], sources=sources)
    assert len(httpserver.log) == 1, "one failed request per pass, not one per alarm"
    alarms = repo.open_alarms()
    # three of three sources failing at once: their own alarms and the grouped outage alarm over them
    assert sorted(a.kind for a in alarms) == ["fetch_errors"] * 3 + ["outage"]
    assert all(a.notify_attempts == 1 and "HTTP 503" in a.last_notify_error for a in alarms)


def test_check_never_raises(tmp_path, repository, caplog):
    class Broken:
        name = "broken"

        async def send(self, alarm, event):
            raise RuntimeError("bug in a notifier")

    repo = alarm_repo(repository)
    failing(repository)
    check(repo, [Broken()])
    [alarm] = repo.open_alarms()
    assert alarm.notify_attempts == 1 and alarm.last_notify_error == "broken: RuntimeError: bug in a notifier"

    # a database without the alarm tables: logged, not raised
    class _Repo(Repository, AlarmQueries):
        pass

    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with caplog.at_level(logging.ERROR, logger="news_harvester.sources.notify"):
            check(_Repo(empty), [Broken()])
    finally:
        empty.dispose()
    assert "alarm check failed" in caplog.text and "alarm notification failed" in caplog.text


def test_harvesting_is_unaffected_by_a_hanging_notifier(httpserver: HTTPServer, settings, repository, write_sources):
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/feed.xml").respond_with_data(feeds.rss(feeds.items(base, 2)), content_type="text/xml")
    config = write_sources(
        [
            source(httpserver, "/feed.xml", id="feed"),
            {"id": "mofcom", "name": "商务部网站", "kind": "html", "url": "https://mofcom.example.cn/"},
        ]
    )
    now = datetime.now(UTC)
    failing(repository, "mofcom", now)
    repo = alarm_repo(repository)
    # receivers that accept the connection and never answer
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    notifiers = [
        WebhookNotifier(f"http://127.0.0.1:{port}/hook", timeout=1.5),
        EmailNotifier("127.0.0.1", port, None, None, False, SENDER, EDITORS, timeout=1.5),
    ]

    async def go():
        fetcher = Fetcher(fetch_policy(settings))
        harvester = Harvester(fetcher, repository)
        gaps = []

        async def ticker():
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.02)
                gaps.append(time.monotonic() - last)
                last = time.monotonic()

        ticking = asyncio.create_task(ticker())
        checking = asyncio.create_task(check_and_notify(repo, config, notifiers, now))
        try:
            summary = await harvester.harvest(config.get("feed"), force=True)
            still_checking = not checking.done()
            await checking
        finally:
            ticking.cancel()
            await fetcher.aclose()
        return summary, still_checking, max(gaps)

    try:
        summary, still_checking, worst_gap = asyncio.run(go())
    finally:
        silent.close()
    assert summary.outcome == Outcome.OK and summary.items_new == 2
    assert still_checking, "the harvest finished while the notifiers were still hanging"
    assert worst_gap < 1.0, "the event loop was never blocked by the check"
    [alarm] = repo.open_alarms()
    assert alarm.notify_attempts == 1 and "ReadTimeout" in alarm.last_notify_error
    assert "smtp" in alarm.last_notify_error


def test_alarms_of_removed_or_disabled_sources_are_resolved(httpserver: HTTPServer, repository):
    repo = alarm_repo(repository)
    failing(repository)
    httpserver.expect_request("/hook").respond_with_data("ok")
    hook = WebhookNotifier(httpserver.url_for("/hook"))
    check(repo, [hook])
    assert len(repo.open_alarms()) == 1

    disabled = SourcesConfig(path=Path("s.yaml"), sources=(spec(enabled=False),))
    check(repo, [hook], NOW + timedelta(minutes=5), sources=disabled)
    assert repo.open_alarms() == []
    assert [b["event"] for b in posted(httpserver)] == ["alarm.opened", "alarm.resolved"]


def test_alarms_without_notifiers_are_still_recorded(repository):
    repo = alarm_repo(repository)
    failing(repository)
    check(repo, [])
    [alarm] = repo.open_alarms()
    assert alarm.kind == "fetch_errors" and alarm.notify_attempts == 0 and alarm.notified_at is None


# ---------------------------------------------------------------------- settings


def test_no_notifiers_by_default(settings: Settings):
    assert notifiers_from_settings(settings) == []


def test_notifiers_from_environment():
    settings = load_settings(
        environ={
            "NEWS_HARVESTER_ALARM_WEBHOOK_URL": "https://hooks.example.cn/alarm?token=t",
            "NEWS_HARVESTER_SMTP_HOST": "smtp.example.cn",
            "NEWS_HARVESTER_SMTP_PORT": "465",
            "NEWS_HARVESTER_SMTP_USER": "bot@example.cn",
            "NEWS_HARVESTER_SMTP_PASSWORD": "pw-123",
            "NEWS_HARVESTER_SMTP_STARTTLS": "false",
            "NEWS_HARVESTER_ALARM_EMAIL_TO": "a@example.cn， b@example.cn;c@example.cn",
            "NEWS_HARVESTER_ALARM_CHECK_INTERVAL": "120",
        }
    )
    hook, mail = notifiers_from_settings(settings)
    assert isinstance(hook, WebhookNotifier) and hook.url == "https://hooks.example.cn/alarm?token=t"
    assert isinstance(mail, EmailNotifier)
    assert (mail.host, mail.port, mail.starttls, mail.sender) == ("smtp.example.cn", 465, False, "bot@example.cn")
    assert mail.recipients == ["a@example.cn", "b@example.cn", "c@example.cn"]
    assert settings.alarm_check_interval == 120
    assert "pw-123" not in repr(settings)


def test_half_configured_notifiers_are_config_errors(settings: Settings):
    with pytest.raises(ConfigError, match="smtp_host"):
        notifiers_from_settings(settings.model_copy(update={"alarm_email_to": "a@example.cn"}))
    with pytest.raises(ConfigError, match="alarm_email_to"):
        notifiers_from_settings(settings.model_copy(update={"smtp_host": "smtp.example.cn"}))
    with pytest.raises(ConfigError, match="ALARM_EMAIL_FROM"):
        notifiers_from_settings(
            settings.model_copy(update={"smtp_host": "smtp.example.cn", "alarm_email_to": "a@x.cn", "smtp_user": "bot"})
        )
    with pytest.raises(ConfigError, match="alarm_webhook_url"):
        load_settings(environ={"NEWS_HARVESTER_ALARM_WEBHOOK_URL": "ftp://example.cn/hook"})
    assert split_addresses(" a@x.cn ;b@x.cn，") == ["a@x.cn", "b@x.cn"]


def test_notify_error_is_a_harvester_error():
    assert NotifyError("x").code == "notify.failed"
