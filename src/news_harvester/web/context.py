"""What the web app's views share: the context object on ``app.state.ctx`` and the row-id path type.

The views (pages, review_api, assembly, admin, source_health, auth) import this module, never web.app: the
app imports the views to mount them, and views that imported the app would close a circle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Path
from fastapi.templating import Jinja2Templates

from news_harvester.config import Settings, SourcesConfig

if TYPE_CHECKING:
    from news_harvester.store.repository import Repository
    from news_harvester.stories.assign import StoryService

HERE = FilePath(__file__).resolve().parent
"""The web package's folder: templates/ and static/ are beside this file."""

RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
"""A database id in a URL: larger numbers are a 422, not an integer overflow in the database driver."""


@dataclass
class WebContext:
    """What the routes need, kept on ``app.state.ctx``."""

    repository: Repository
    stories: StoryService
    sources_health: Callable[[], list[dict[str, Any]]]
    session_hours: float = 12.0
    settings: Settings = field(default_factory=lambda: Settings.model_validate({}))
    sources: Callable[[], SourcesConfig | None] = lambda: None
    run_now: Callable[[str], Awaitable[object]] | None = None
    banner_ttl: float = 0.0
    """Seconds the queue's freshness banner may be reused (0: computed for every page, as tests expect)."""
    templates: Jinja2Templates = field(default_factory=lambda: Jinja2Templates(directory=str(HERE / "templates")))
