"""The sources page (admins): every source's health with its 30-day chart, new items over 7 and 30 days, why it
is quiet, its last run and last error in Chinese with advice (news_harvester.sources.health_page), the open alarms
and their history, and the problem of a hand-edited sources.yaml that does not load. Editing sources is
news_harvester.web.admin.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from news_harvester.clock import editor_time, utc_now
from news_harvester.sources import error_advice
from news_harvester.sources.alarms import KIND_LABELS
from news_harvester.sources.banner import alarm_text, banner_groups, label_of, source_labels
from news_harvester.sources.health_page import RECENT_DAYS, source_details
from news_harvester.web.auth import CurrentUser, require_admin
from news_harvester.web.context import WebContext
from news_harvester.web.review import web_context

router = APIRouter(include_in_schema=False)

ERROR_NAMES = error_advice.ERROR_NAMES
"""The short Chinese cause per error code (news_harvester.sources.error_advice; kept here for old callers)."""


def _sources_file_error(ctx: WebContext) -> str | None:
    """The current sources.yaml's problem (file:line, field, hint) when a hand edit broke it; the daemon keeps
    running on the last valid version meanwhile."""
    from news_harvester.config import load_sources
    from news_harvester.errors import ConfigError

    try:
        load_sources(ctx.settings.sources)
    except ConfigError as exc:
        return str(exc)
    return None


@router.get("/admin/sources", response_class=HTMLResponse)
def admin_sources(request: Request, user: Annotated[CurrentUser, Depends(require_admin)]) -> Response:
    ctx = web_context(request)
    with ctx.repository.snapshot():  # states, runs per day and latest runs as of one commit
        rows = ctx.sources_health()
        details = source_details(rows, ctx.repository, utc_now())
    labels = source_labels(rows)
    alarms = ctx.repository.open_alarms()
    return ctx.templates.TemplateResponse(
        request,
        "sources.html",
        {
            "user": user,
            "nav": "sources",
            "sources": rows,
            "local": editor_time,
            "alarms": alarms,
            "history": ctx.repository.recent_alarms(limit=50),
            "labels": KIND_LABELS,
            "source_label": lambda a: label_of(labels, a.source_id, a.source_name),
            "alarm_text": lambda a: alarm_text(a, labels),
            "groups": banner_groups(alarms, rows, labels),
            "error_names": ERROR_NAMES,
            "config_error": _sources_file_error(ctx),
            "flash": request.query_params.get("msg"),
            "flash_kind": request.query_params.get("kind", "info"),
            "details": details,
            # the chart module escapes every text it writes
            "charts": {sid: Markup(d.chart) for sid, d in details.items()},  # noqa: S704
            "recent_days": RECENT_DAYS,
        },
    )
