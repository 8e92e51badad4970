"""Alarm notifiers (a JSON webhook, SMTP e-mail) and the periodic check that detects, records and announces.

``check_and_notify`` is the daemon's ``__alarms__`` housekeeping job. For every enabled source it runs the
pure rules (news_harvester.sources.alarms) on the source's recent runs and syncs the ``alarms`` table, then the
``outage`` alarm over the latest runs of all of them (sources that were removed or disabled get their open alarms
resolved), then delivers pending events: ``alarm.opened``
when an alarm appears, ``alarm.resolved`` when it is no longer detected. A notifier that is down costs the
event one attempt (error kept on the alarm) and it is retried with exponential backoff on later checks, up
to ``MAX_NOTIFY_ATTEMPTS``; a notifier that already got the event is not sent it again. Nothing here ever
raises into the scheduler, and database work runs in a worker thread, so harvesting is unaffected.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import smtplib
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx

from news_harvester import __version__
from news_harvester.config import Settings, SourcesConfig, SourceSpec
from news_harvester.errors import ConfigError, HarvesterError
from news_harvester.models import RunFacts
from news_harvester.source_spec import parse_interval
from news_harvester.sources.alarms import CADENCE_WINDOW, KIND_LABELS, OUTAGE_SOURCE, detect, detect_outage
from news_harvester.store.alarms_store import OPENED, AlarmQueries, AlarmRow

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 10.0
SMTP_TIMEOUT = 10.0
MAX_NOTIFY_ATTEMPTS = 16
"""Failed deliveries after which an event is no longer retried; with a 1-minute base doubling up to 6 h
between attempts, about two days of retrying."""
DISPLAY_ZONE = ZoneInfo("Asia/Shanghai")
_FINISHED = ("ok", "error", "not_modified")


class NotifyError(HarvesterError):
    """A notifier could not deliver an event; the message names the notifier's host, never its secrets."""

    code = "notify.failed"


class Notifier(Protocol):
    """Delivers one alarm event; raises NotifyError when it cannot. ``name`` is unique per process."""

    name: str

    async def send(self, alarm: AlarmRow, event: str) -> None: ...


def payload(alarm: AlarmRow, event: str) -> dict[str, Any]:
    """The JSON document of an event (webhook body). ``text`` is the message, for Slack-style receivers."""
    return {
        "event": event,
        "alarm_id": alarm.id,
        "source_id": alarm.source_id,
        "source_name": alarm.source_name,
        "kind": alarm.kind,
        "kind_label": KIND_LABELS.get(alarm.kind, alarm.kind),
        "message": alarm.message,
        "text": _subject(alarm, event),
        "detail": alarm.detail,
        "first_seen_at": alarm.first_seen_at.isoformat(),
        "last_seen_at": alarm.last_seen_at.isoformat(),
        "resolved_at": alarm.resolved_at.isoformat() if alarm.resolved_at else None,
    }


class WebhookNotifier:
    """POSTs the event's ``payload`` as UTF-8 JSON; any 2xx answer is delivery."""

    name = "webhook"

    def __init__(self, url: str, *, timeout: float = WEBHOOK_TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout
        self._where = urlsplit(url).netloc.rpartition("@")[2] or url  # for errors: no path tokens, no credentials

    async def send(self, alarm: AlarmRow, event: str) -> None:
        body = json.dumps(payload(alarm, event), ensure_ascii=False).encode("utf-8")
        headers = {"content-type": "application/json; charset=utf-8", "user-agent": f"news-harvester/{__version__}"}
        try:
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
                response = await client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise NotifyError(f"webhook {self._where}: {type(exc).__name__}: {exc}") from None
        if not 200 <= response.status_code < 300:
            raise NotifyError(f"webhook {self._where} answered HTTP {response.status_code}")


class EmailNotifier:
    """Sends one UTF-8 e-mail per event through SMTP (STARTTLS, or implicit TLS on port 465), in a thread."""

    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        user: str | None,
        password: str | None,
        starttls: bool,
        sender: str,
        recipients: Sequence[str],
        *,
        timeout: float = SMTP_TIMEOUT,
    ) -> None:
        if not recipients:
            raise ValueError("an EmailNotifier needs at least one recipient")
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.starttls = starttls
        self.sender = sender
        self.recipients = list(recipients)
        self.timeout = timeout

    async def send(self, alarm: AlarmRow, event: str) -> None:
        await asyncio.to_thread(self.send_now, alarm, event)

    def send_now(self, alarm: AlarmRow, event: str) -> None:
        message = self.message(alarm, event)
        try:
            if self.port == 465:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.starttls and self.port != 465:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(message, from_addr=self.sender, to_addrs=self.recipients)
        except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
            raise NotifyError(f"smtp {self.host}:{self.port}: {type(exc).__name__}: {exc}") from None

    def message(self, alarm: AlarmRow, event: str) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = _subject(alarm, event)
        message["From"] = Address("新闻采集告警", addr_spec=self.sender)
        message["To"] = ", ".join(self.recipients)
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = make_msgid("alarm", domain=self.sender.rpartition("@")[2] or "news-harvester")
        message.set_content(_body(alarm, event), charset="utf-8")
        return message


def _subject(alarm: AlarmRow, event: str) -> str:
    tag = "【新闻采集告警】" if event == OPENED else "【新闻采集告警·已恢复】"
    return tag + alarm.message


def _local(value: datetime) -> str:
    return f"{value.astimezone(DISPLAY_ZONE):%Y-%m-%d %H:%M}（北京时间）"


def _body(alarm: AlarmRow, event: str) -> str:
    lines = [
        alarm.message if event == OPENED else f"已恢复：{alarm.message}",
        "",
        (
            f"来源：{alarm.source_name}（{alarm.source_id}）"
            if alarm.source_id != OUTAGE_SOURCE
            else "来源：" + "、".join(f"{n}（{i}）" for i, n in dict(alarm.detail.get("names") or {}).items())
        ),
        f"类型：{KIND_LABELS.get(alarm.kind, alarm.kind)}（{alarm.kind}）",
        f"首次发现：{_local(alarm.first_seen_at)}",
        f"最近一次发现：{_local(alarm.last_seen_at)}",
    ]
    if alarm.resolved_at is not None:
        lines.append(f"恢复时间：{_local(alarm.resolved_at)}")
    detail = {k: v for k, v in alarm.detail.items() if k != "source_name"}
    if detail:
        lines += ["", "详情：", json.dumps(detail, ensure_ascii=False, indent=2, sort_keys=True)]
    lines += ["", "此邮件由 news-harvester 自动发送；未恢复的告警同时显示在来源管理页面和编辑队列顶部。"]
    return "\n".join(lines) + "\n"


def split_addresses(value: str | None) -> list[str]:
    """``"a@x.cn, b@x.cn；c@x.cn"`` → the addresses (commas, semicolons, full-width ones, spaces)."""
    return [a for a in re.split(r"[,;，；\s]+", value or "") if a]


def notifiers_from_settings(settings: Settings) -> list[Notifier]:
    """The notifiers the settings configure (none: alarms are only shown, not sent). Raises ConfigError for a
    half-configured e-mail notifier, so the daemon refuses to start instead of silently not sending."""
    found: list[Notifier] = []
    if settings.alarm_webhook_url:
        found.append(WebhookNotifier(settings.alarm_webhook_url))
    recipients = split_addresses(settings.alarm_email_to)
    if settings.smtp_host or recipients:
        if not settings.smtp_host:
            raise ConfigError("alarm_email_to is set but smtp_host is not\n  hint: set NEWS_HARVESTER_SMTP_HOST")
        if not recipients:
            raise ConfigError("smtp_host is set but alarm_email_to is not\n  hint: set NEWS_HARVESTER_ALARM_EMAIL_TO")
        sender = settings.alarm_email_from or (settings.smtp_user if "@" in (settings.smtp_user or "") else None)
        if not sender or "@" not in sender:
            raise ConfigError(
                "alarm e-mail needs a sender address\n"
                "  hint: set NEWS_HARVESTER_ALARM_EMAIL_FROM (e.g. harvester@example.cn)"
            )
        found.append(
            EmailNotifier(
                settings.smtp_host,
                settings.smtp_port,
                settings.smtp_user,
                settings.smtp_password,
                settings.smtp_starttls,
                sender,
                recipients,
            )
        )
    return found


def configured_cadence(spec: SourceSpec) -> timedelta | None:
    """A source's configured expected cadence, if its spec has an ``expected_cadence`` (an interval such as
    ``3d``, seconds, or a timedelta); None means "learn it from the source's history"."""
    value = getattr(spec, "expected_cadence", None)
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    seconds = parse_interval(str(value))
    return timedelta(seconds=seconds) if seconds else None


def sync_all(repository: AlarmQueries, sources: SourcesConfig, now: datetime) -> tuple[int, int]:
    """Detect and sync the alarms of every enabled source, then the ``outage`` alarm over all of them; resolve the
    open alarms of sources that are gone or disabled. A source whose check fails is logged and skipped. Returns
    ``(opened, resolved)`` counts."""
    opened_total = resolved_total = 0
    last_new = repository.last_new_item_times()
    successes = repository.last_success_times()
    enabled = {spec.id for spec in sources.enabled}
    latest: dict[str, RunFacts | None] = {}
    for spec in sources.enabled:
        try:
            last = last_new.get(spec.id)
            runs = repository.recent_runs(spec.id)
            current = detect(
                spec.id,
                spec.name,
                runs,
                now,
                expected_cadence=configured_cadence(spec),
                last_new_item_at=last,
                new_item_times=repository.new_item_times(spec.id, (last or now) - CADENCE_WINDOW),
                never_succeeded=successes.get(spec.id) is None,
            )
            opened, resolved = repository.sync_alarms(spec.id, current, now)
        except Exception:
            log.exception("alarm check of %s failed", spec.id, extra={"source_id": spec.id, "stage": "alarm"})
            continue
        latest[spec.id] = next((r for r in runs if r.outcome in _FINISHED), None)
        _log_changes(opened, resolved)
        opened_total += len(opened)
        resolved_total += len(resolved)
    try:
        outage = detect_outage(latest, {spec.id: spec.name for spec in sources.enabled})
        opened, resolved = repository.sync_alarms(OUTAGE_SOURCE, [outage] if outage else [], now)
    except Exception:
        log.exception("outage check failed", extra={"stage": "alarm"})
    else:
        _log_changes(opened, resolved)
        opened_total += len(opened)
        resolved_total += len(resolved)
    for source_id in sorted({a.source_id for a in repository.open_alarms()} - enabled - {OUTAGE_SOURCE}):
        try:
            _, resolved = repository.sync_alarms(source_id, [], now)
        except Exception:
            log.exception("resolving alarms of %s failed", source_id, extra={"source_id": source_id, "stage": "alarm"})
            continue
        _log_changes([], resolved)
        resolved_total += len(resolved)
    return opened_total, resolved_total


def _log_changes(opened: Sequence[AlarmRow], resolved: Sequence[AlarmRow]) -> None:
    for alarm in opened:
        log.warning("alarm opened: %s", alarm.message, extra={"source_id": alarm.source_id, "stage": "alarm"})
    for alarm in resolved:
        log.info("alarm resolved: %s", alarm.message, extra={"source_id": alarm.source_id, "stage": "alarm"})


async def deliver_pending(
    repository: AlarmQueries,
    notifiers: Sequence[Notifier],
    now: datetime,
    *,
    max_attempts: int = MAX_NOTIFY_ATTEMPTS,
) -> int:
    """Send every pending event to the notifiers that do not have it yet; returns how many events reached all
    of them. A notifier that fails is not tried again in this pass (one timeout, not one per alarm); its
    events record the error and wait for a later pass."""
    if not notifiers:
        return 0
    pending = await asyncio.to_thread(repository.pending_notifications, now, max_attempts)
    down: dict[str, str] = {}
    delivered = 0
    for alarm in pending:
        event = alarm.event
        done = set(alarm.delivered_to)
        errors: list[str] = []
        for notifier in notifiers:
            if notifier.name in done:
                continue
            if notifier.name in down:
                errors.append(down[notifier.name])
                continue
            try:
                await notifier.send(alarm, event)
            except Exception as exc:
                error = str(exc) if isinstance(exc, NotifyError) else f"{notifier.name}: {type(exc).__name__}: {exc}"
                if not isinstance(exc, NotifyError):
                    log.exception("notifier %s failed unexpectedly", notifier.name, extra={"stage": "alarm"})
                down[notifier.name] = error
                errors.append(error)
            else:
                done.add(notifier.name)
        if errors:
            message = "; ".join(errors)
            attempts = await asyncio.to_thread(repository.mark_notify_failed, alarm.id, message, now, delivered_to=done)
            level = logging.ERROR if attempts >= max_attempts else logging.WARNING
            log.log(
                level,
                "%s of alarm %d not delivered (attempt %d of %d%s): %s",
                event,
                alarm.id,
                attempts,
                max_attempts,
                ", giving up" if attempts >= max_attempts else "",
                message,
                extra={"source_id": alarm.source_id, "stage": "alarm", "code": NotifyError.code},
            )
        else:
            await asyncio.to_thread(repository.mark_notified, alarm.id, now, event=event)
            delivered += 1
    return delivered


async def check_and_notify(
    repository: AlarmQueries,
    sources_config: SourcesConfig,
    notifiers: Sequence[Notifier],
    now: datetime,
    *,
    max_attempts: int = MAX_NOTIFY_ATTEMPTS,
) -> None:
    """The periodic job: detect and sync every enabled source's alarms, then deliver pending events. Never
    raises (a broken database or notifier is logged and the next run tries again)."""
    try:
        await asyncio.to_thread(sync_all, repository, sources_config, now)
    except Exception:
        log.exception("alarm check failed", extra={"stage": "alarm"})
    try:
        await deliver_pending(repository, notifiers, now, max_attempts=max_attempts)
    except Exception:
        log.exception("alarm notification failed", extra={"stage": "alarm"})
