"""Load and validate settings and ``sources.yaml``; the only reader of os.environ and config files.

Precedence for settings: built-in defaults < settings file (TOML) < ``NEWS_HARVESTER_*``
environment variables < CLI flags. Every setting is declared once, in ``Settings``, with its
type, default and help line; the README's configuration table is checked against it by a test.
"""

from __future__ import annotations

import codecs
import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from news_harvester import __version__
from news_harvester.errors import ConfigError

ENV_PREFIX = "NEWS_HARVESTER_"


def parse_sections(value: str) -> tuple[tuple[str, int], ...]:
    """``"数据月报:1,行业资讯:10"`` → ``(("数据月报", 1), ("行业资讯", 10))``; raises ValueError with the reason."""
    out: list[tuple[str, int]] = []
    for part in value.replace("，", ",").split(","):
        name, _, target = part.strip().partition(":")
        name = name.strip()
        if not name:
            continue
        if len(name) > 32:
            raise ValueError(f"section name {name!r} is longer than 32 characters")
        try:
            count = int(target.strip() or "0")
        except ValueError:
            raise ValueError(f"section {name!r}: target {target!r} is not a whole number") from None
        if any(n == name for n, _ in out):
            raise ValueError(f"section {name!r} appears twice")
        out.append((name, max(count, 0)))
    if not out:
        raise ValueError("at least one section is needed, e.g. 数据月报:1,行业资讯:10,协会动态:2")
    return tuple(out)


class Settings(BaseModel):
    """Process-wide settings. Read-only after start-up."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path = Field(Path("data"), description="Directory for the SQLite database and backups.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///<data_dir>/news_harvester.db."
    )
    sources: Path = Field(Path("config/sources.yaml"), description="Path of sources.yaml.")
    topics: Path = Field(Path("config/topics.yaml"), description="Path of topics.yaml (the topic taxonomy).")
    bind: str = Field("127.0.0.1:8000", description="host:port the daemon's web endpoint listens on.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    log_format: Literal["text", "json"] = Field("text", description="Log lines as text or JSON lines.")
    user_agent: str = Field(
        f"news-harvester/{__version__} (+https://github.com/news-harvester; digital trade brief)",
        description="User-Agent sent with every request.",
    )
    concurrency: int = Field(16, ge=1, le=512, description="Requests in flight across all hosts.")
    per_host_concurrency: int = Field(2, ge=1, le=64, description="Requests in flight per host.")
    per_host_delay: float = Field(
        0.5, ge=0, le=60, description="Minimum seconds between two request starts to one host."
    )
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to establish a connection.")
    read_timeout: float = Field(30.0, gt=0, description="Seconds to wait for the next bytes.")
    total_timeout: float = Field(60.0, gt=0, description="Seconds for a whole request, body included.")
    max_body_bytes: int = Field(10_000_000, ge=1024, description="Abort responses larger than this.")
    max_redirects: int = Field(5, ge=0, le=20, description="Redirects followed before fetch.redirect_loop.")
    retries: int = Field(2, ge=0, le=10, description="Retries on connect errors, 429 and 5xx.")
    retry_base_delay: float = Field(1.0, ge=0, description="First retry delay in seconds (doubles).")
    max_retry_after: float = Field(
        30.0, ge=0, le=3600, description="Longest Retry-After a run waits; longer ones end the run and back off."
    )
    respect_robots: bool = Field(True, description="Obey robots.txt (a source may opt out).")
    reload_interval: float = Field(5.0, gt=0, description="Seconds between checks of sources.yaml and topics.yaml.")
    start_stagger: float = Field(
        30.0, ge=0, le=3600, description="Spread first runs after start-up over this many seconds."
    )
    web: bool = Field(True, description="Serve the web endpoint from the daemon.")
    brief_title: str = Field("数字贸易简报", min_length=1, description="Title of the brief on every issue.")
    brief_publisher: str = Field(
        "大连市数字贸易协会秘书处编", min_length=1, description="Publisher line printed under the issue number."
    )
    brief_sections: str = Field(
        "数据月报:1,行业资讯:10,协会动态:2",
        description="Sections of a new issue in order, each NAME:TARGET (target number of items).",
    )
    summary_date_format: str = Field(
        "{month} 月 {day} 日，", description="Date prefix of drafted summaries ({year}, {month}, {day})."
    )
    docx_body_font: str = Field("SimSun", description="Font of body text in DOCX exports.")
    docx_heading_font: str = Field("SimHei", description="Font of headings in DOCX exports.")
    session_hours: float = Field(12.0, gt=0, le=24 * 30, description="Idle hours before a web session expires.")
    forwarded_allow_ips: str = Field(
        "127.0.0.1", description="Proxies whose X-Forwarded-For/-Proto are trusted (comma-separated, or *)."
    )
    alarm_webhook_url: str | None = Field(
        None, pattern=r"^https?://\S+$", description="URL that source health alarms are POSTed to as JSON."
    )
    smtp_host: str | None = Field(None, min_length=1, description="SMTP server that sends alarm e-mail.")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port (465: implicit TLS).")
    smtp_user: str | None = Field(None, description="SMTP login (none: send without authentication).")
    smtp_password: str | None = Field(None, repr=False, description="SMTP password.")
    smtp_starttls: bool = Field(True, description="Upgrade the SMTP connection with STARTTLS (not on port 465).")
    alarm_email_from: str | None = Field(None, description="Sender address of alarm e-mail (default: smtp_user).")
    alarm_email_to: str | None = Field(None, description="Recipients of alarm e-mail, comma-separated.")
    alarm_check_interval: float = Field(
        300.0, ge=10, le=86400, description="Seconds between health-alarm checks (and notification retries)."
    )
    story_window_days: int = Field(
        90, ge=1, le=3650, description="Days of stored articles a new article is matched against for its story."
    )
    rescore_interval: float = Field(
        3600.0, ge=60, description="Seconds between re-scorings of the window's stories (recency ages)."
    )
    role: Literal["all", "web", "scheduler", "worker"] = Field(
        "all",
        description="What `run` does: all (single machine, no queue) or one cluster role (web, scheduler, worker).",
    )
    worker_concurrency: int = Field(
        4, ge=1, le=256, description="Cluster: harvest jobs one worker process runs at once."
    )
    heartbeat_interval: float = Field(
        10.0, gt=0, le=600, description="Cluster: seconds between a worker's heartbeats in the queue."
    )
    stalled_timeout: float = Field(
        30.0, gt=0, le=3600, description="Cluster: seconds without heartbeat after which a worker's jobs are retried."
    )
    database_retry_max: float = Field(
        60.0, ge=1, le=3600, description="Cluster: longest wait between attempts to reach the database."
    )
    min_schedule_interval: int = Field(
        60, ge=1, le=3600, description="Shortest interval schedule sources.yaml may use, in seconds (tests only)."
    )

    @field_validator("brief_sections")
    @classmethod
    def _sections(cls, value: str) -> str:
        parse_sections(value)
        return value

    @field_validator("summary_date_format")
    @classmethod
    def _date_format(cls, value: str) -> str:
        try:
            value.format(year=2024, month=6, day=11)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"only {{year}}, {{month}} and {{day}} may appear ({exc})") from None
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        """``debug`` from an environment variable means DEBUG."""
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _heartbeat_below_timeout(self) -> Settings:
        if self.stalled_timeout <= 2 * self.heartbeat_interval:
            raise ValueError(
                f"stalled_timeout ({self.stalled_timeout:g}) must exceed twice heartbeat_interval "
                f"({self.heartbeat_interval:g}), or live workers would be taken for dead"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'news_harvester.db').resolve()}"


SETTING_NAMES: tuple[str, ...] = tuple(Settings.model_fields)


def load_settings(
    *,
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge defaults < file < environment < ``overrides`` (CLI flags) and validate."""
    env = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    file_path = config_file or _path_or_none(env.get(ENV_PREFIX + "CONFIG"))
    if file_path is not None:
        from_file = _read_settings_file(file_path)
        merged.update(from_file)
        origin.update(dict.fromkeys(from_file, f"settings file {file_path}"))
    for name in SETTING_NAMES:
        value = env.get(ENV_PREFIX + name.upper())
        if value is not None and value != "":
            merged[name] = value
            origin[name] = f"environment variable {ENV_PREFIX}{name.upper()}"
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    merged.update(flags)
    origin.update({k: f"command-line flag --{k.replace('_', '-')}" for k in flags})
    try:
        settings = Settings(**merged)
    except ValidationError as exc:
        lines = ["invalid settings:"]
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"])
            field = Settings.model_fields.get(name)
            lines.append(f"  {name} = {err.get('input')!r} (from {origin.get(name, 'defaults')}): {err['msg']}")
            if field is not None and field.description:
                lines.append(f"    {name}: {field.description}")
            lines.append(
                f"    hint: fix it there, or override it with {ENV_PREFIX}{name.upper()} or --{name.replace('_', '-')}"
            )
        raise ConfigError("\n".join(lines)) from None
    _SCHEDULE_LIMITS["min_interval"] = settings.min_schedule_interval
    return _with_packaged_defaults(settings, set(merged))


def packaged_default(name: str) -> Path:
    """The copy of ``sources.yaml`` / ``topics.yaml`` shipped inside the package (read-only: edit a copy that
    ``news-harvester init`` writes)."""
    return Path(str(resources.files("news_harvester").joinpath("defaults", name)))


def is_packaged_default(path: Path) -> bool:
    """True when ``path`` is a file inside the installed package (which no edit may touch). In a source checkout
    the package's defaults are links to config/*.yaml, the editable working copies: those resolve outside."""
    return path.resolve().parent == packaged_default("sources.yaml").parent.resolve()


def _with_packaged_defaults(settings: Settings, given: set[str]) -> Settings:
    """sources / topics not set anywhere and absent from the working directory: the packaged defaults, so an
    installed copy starts in an empty directory (and says which files it uses)."""
    update: dict[str, Path] = {}
    for name, filename in (("sources", "sources.yaml"), ("topics", "topics.yaml")):
        path: Path = getattr(settings, name)
        if name not in given and not path.exists() and packaged_default(filename).is_file():
            update[name] = packaged_default(filename)
    return settings.model_copy(update=update) if update else settings


def _path_or_none(value: str | None) -> Path | None:
    return Path(value) if value else None


def _read_settings_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: settings file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    section = data.get("news_harvester", data)
    unknown = sorted(set(section) - set(SETTING_NAMES))
    if unknown:
        hint = _did_you_mean(unknown[0], SETTING_NAMES)
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r}{hint}")
    return dict(section)


# --------------------------------------------------------------------------- sources.yaml

_SCHEDULE_LIMITS = {"min_interval": 60}
"""Shortest interval schedule; ``min_schedule_interval`` of the process's settings (set by load_settings)."""
_INTERVAL_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_CRON_FIELD_RE = re.compile(r"^[\d*/,\-A-Za-z?LW#]+$")
JSON_FIELDS = frozenset({"items", "title", "url", "date", "summary", "id", "author"})
SOURCE_ID_RE = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


def parse_interval(text: str) -> int | None:
    """Seconds of an interval such as ``30m``, ``1h30m`` or ``1d``; None if not an interval."""
    match = _INTERVAL_RE.match(text.strip())
    if not match or not any(match.groups()):
        return None
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def is_cron(text: str) -> bool:
    fields = text.split()
    return len(fields) == 5 and all(_CRON_FIELD_RE.match(f) for f in fields)


class SelectorSpec(BaseModel):
    """CSS selectors for HTML list pages; each key takes one selector or a list of fallbacks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    item: list[str] = Field(default_factory=list)
    link: list[str] = Field(default_factory=list)
    title: list[str] = Field(default_factory=list)
    date: list[str] = Field(default_factory=list)
    body: list[str] = Field(default_factory=list)

    @field_validator("item", "link", "title", "date", "body", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class PaginationSpec(BaseModel):
    """Static list pages after the first: the gov-CMS ``index.html``, ``index_1.html``, ``index_2.html`` …

    ``pages`` counts the list URL itself; the other pages come from ``page_url`` with ``{n}``
    replaced by ``start``, ``start + 1`` … and resolved against the list URL.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    pages: int = Field(ge=1, le=50)
    page_url: str = "index_{n}.html"
    start: int = Field(1, ge=0)

    @field_validator("page_url")
    @classmethod
    def _has_n(cls, value: str) -> str:
        if "{n}" not in value:
            raise ValueError("must contain {n}, the page number, e.g. index_{n}.html")
        return value


class DatasourceSpec(BaseModel):
    """Two-step JSON lists (Xinhua-built CMSs: news.cn, NEA): the source URL is an HTML shell that
    names its data source; the JSON document is then fetched from ``url`` with ``{id}`` filled in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_page: str | None = Field(None, min_length=1)
    attribute: str | None = Field(None, min_length=1)
    pattern: str | None = Field(None, min_length=1)
    url: str = Field(min_length=1)

    @field_validator("pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                compiled = re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
            if compiled.groups > 1 and "id" not in compiled.groupindex:
                raise ValueError("with several groups, name the one holding the id: (?P<id>...)")
        return value

    @field_validator("url")
    @classmethod
    def _has_id(cls, value: str) -> str:
        if "{id}" not in value:
            raise ValueError("must contain {id}, e.g. ds_{id}.json")
        return value

    @model_validator(mode="after")
    def _somewhere(self) -> DatasourceSpec:
        if self.from_page is None and self.pattern is None:
            raise ValueError("give from_page (a CSS selector), pattern (a regex over the page), or both")
        return self


class SourceSpec(BaseModel):
    """One declared source. Definitions live in sources.yaml; runtime state lives in the DB."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=SOURCE_ID_RE)
    name: str = Field(min_length=1)
    kind: Literal["feed", "html", "json"]
    url: str
    schedule: str = "1h"
    enabled: bool = True
    language: str = "zh"
    timezone: str = "Asia/Shanghai"
    weight: float = Field(1.0, ge=0, le=100)
    topics: list[str] = Field(default_factory=list)
    selectors: SelectorSpec | None = None
    fields: dict[str, str] | None = None
    encoding: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    full_text: bool = False
    attribution: Literal["page", "source"] = "page"
    """page: the article's own 来源 (ContentSource meta, a "来源：" line) when it names one, else
    ``name``; source: always ``name`` (e.g. 商务部网站 even when a page names a department)."""
    respect_robots: bool | None = None
    max_items: int = Field(50, ge=1, le=1000)
    pagination: PaginationSpec | None = None
    datasource: DatasourceSpec | None = None
    html_path: str | None = None
    """html sources whose list arrives as an HTML fragment inside JSON (gateway CMSs such as
    MIIT's api-gateway): the dotted path of that fragment, e.g. ``data.html``."""

    @field_validator("pagination")
    @classmethod
    def _pagination_for_html(cls, value: PaginationSpec | None, info: ValidationInfo) -> PaginationSpec | None:
        if value is not None and info.data.get("kind", "html") != "html":
            raise ValueError("pagination applies to kind: html list pages only")
        return value

    @field_validator("datasource")
    @classmethod
    def _datasource_for_json(cls, value: DatasourceSpec | None, info: ValidationInfo) -> DatasourceSpec | None:
        if value is not None and info.data.get("kind", "json") != "json":
            raise ValueError("datasource applies to kind: json sources only (the JSON is read with 'fields')")
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an absolute http:// or https:// URL")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        seconds = parse_interval(value)
        if seconds is not None:
            if seconds < _SCHEDULE_LIMITS["min_interval"]:
                raise ValueError(
                    "interval shorter than 1m is impolite to the source"
                    if _SCHEDULE_LIMITS["min_interval"] == 60
                    else f"interval shorter than min_schedule_interval ({_SCHEDULE_LIMITS['min_interval']} s)"
                )
            return value
        if is_cron(value):
            return value
        raise ValueError("not an interval or a cron expression")

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone") from None
        return value

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError("unknown encoding") from None
        return value

    @model_validator(mode="after")
    def _kind_needs(self) -> SourceSpec:
        if self.kind == "json":
            missing = {"title", "url"} - set(self.fields or {})
            if missing:
                raise ValueError(f"a json source needs 'fields' with {', '.join(sorted(missing))} (and items)")
        if self.html_path is not None and self.kind != "html":
            raise ValueError("'html_path' applies to html sources only (an HTML list fragment inside JSON)")
        unknown = set(self.fields or {}) - JSON_FIELDS
        if unknown:
            raise ValueError(f"unknown key in 'fields': {sorted(unknown)[0]}; known: {', '.join(sorted(JSON_FIELDS))}")
        return self

    @property
    def interval_seconds(self) -> int | None:
        return parse_interval(self.schedule)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def host(self) -> str:
        return self.url.split("/")[2].lower()


_HINTS = {
    "html_path": "the dotted path of the HTML fragment in the JSON response, e.g. data.html",
    "attribution": "use page (the article's own 来源 when present) or source (always the source's name)",
    "kind": "use one of: feed, html, json",
    "schedule": "use an interval such as 30m, 2h, 1d, or a cron expression such as '0 */2 * * *'",
    "timezone": "use an IANA zone name such as Asia/Shanghai or Europe/Brussels",
    "url": "write the full address, e.g. https://www.mofcom.gov.cn/zcfb/index.html",
    "id": "lower-case letters, digits, '.', '_' or '-', e.g. mofcom-policy",
    "encoding": "use a Python codec name such as gb18030, gbk, utf-8",
    "weight": "a number from 0 to 100; official sources (商务部) get higher weights than reprints",
    "fields": "map items, title and url (optionally date, summary, id, author) to dotted paths in the JSON",
    "pagination": "e.g. {pages: 3} for index.html, index_1.html, index_2.html; page_url: 'index_{n}.html' "
    "(relative to the list URL) and start: 1 (the number of the second page) are the defaults",
    "datasource": "kind: json only, e.g. {from_page: 'ul.wz-list', attribute: data, pattern: 'datasource:(\\w+)', "
    "url: 'ds_{id}.json'}: the id is read from the page, the JSON URL is relative to the page",
}

_NESTED_MODELS: dict[str, type[BaseModel]] = {
    "selectors": SelectorSpec,
    "pagination": PaginationSpec,
    "datasource": DatasourceSpec,
}


@dataclass(frozen=True, slots=True)
class SourcesConfig:
    path: Path
    sources: tuple[SourceSpec, ...]

    def get(self, source_id: str) -> SourceSpec | None:
        return next((s for s in self.sources if s.id == source_id), None)

    @property
    def enabled(self) -> tuple[SourceSpec, ...]:
        return tuple(s for s in self.sources if s.enabled)


def load_sources(path: Path) -> SourcesConfig:
    """Read and validate sources.yaml; raise ConfigError naming file, line, source id, field, hint."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: sources file not found\n"
            f"  hint: set NEWS_HARVESTER_SOURCES or --sources to the path of sources.yaml"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc})") from None
    try:
        data = YAML(typ="rt").load(text)
    except YAMLError as exc:
        raise ConfigError(_explain_yaml(exc, text, path)) from None
    return parse_sources(data, path)


def _explain_yaml(exc: YAMLError, text: str, path: Path) -> str:
    """``file:line:col: not valid YAML`` with the problem, the source it is in, and a hint."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None:
        return f"{path}: not valid YAML: {exc}\n  hint: check indentation and quoting"
    line = mark.line + 1
    ids = re.findall(r"^\s*-?\s*id\s*:\s*[\"']?([^\"'\s#]+)", "\n".join(text.splitlines()[:line]), re.M)
    inside = f" (in source {ids[-1]!r})" if ids else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    detail = f"{context}: {problem}" if context else problem
    return (
        f"{path}:{line}:{mark.column + 1}: not valid YAML{inside}: {detail}\n"
        f"  hint: check indentation and quoting on or just before line {line}; "
        f"quote values that contain ': ', '#', '[' or '{{'"
    )


def parse_sources(data: Any, path: Path) -> SourcesConfig:
    if not isinstance(data, Mapping) or not isinstance(data.get("sources"), list):
        raise ConfigError(f"{path}: expected a mapping with a 'sources:' list at the top level")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        raise ConfigError(f"{path}: 'defaults:' must be a mapping of source fields")
    specs: list[SourceSpec] = []
    seen: dict[str, tuple[int, int | None]] = {}
    for index, entry in enumerate(data["sources"]):
        line = _line_of(entry)
        where = f"{path}:{line}" if line else str(path)
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: sources[{index}] must be a mapping, got {type(entry).__name__}")
        source_id = str(entry.get("id", f"#{index}"))
        try:
            spec = SourceSpec(**{**dict(defaults), **dict(entry)})
        except ValidationError as exc:
            raise ConfigError(_explain(exc, path, entry, defaults, source_id)) from None
        if spec.id in seen:
            first_index, first_line = seen[spec.id]
            raise ConfigError(
                f"{path}:{_key_line(entry, 'id') or line}: source {spec.id!r}: field id = {spec.id!r} is a duplicate "
                f"(first defined as sources[{first_index}]{f' on line {first_line}' if first_line else ''})\n"
                f"  hint: every source needs its own id; rename one of them, e.g. {spec.id + '-2'!r}"
            )
        seen[spec.id] = (index, _key_line(entry, "id") or line)
        specs.append(spec)
    return SourcesConfig(path=path, sources=tuple(specs))


def _line_of(node: Any) -> int | None:
    lc = getattr(node, "lc", None)
    return lc.line + 1 if lc is not None and lc.line is not None else None


def _key_line(node: Any, key: str) -> int | None:
    """1-based line of ``key`` in a ruamel mapping, None when absent or not known."""
    lc = getattr(node, "lc", None)
    if lc is None or not isinstance(node, Mapping) or key not in node:
        return None
    try:
        return int(lc.key(key)[0]) + 1
    except (KeyError, TypeError, IndexError):
        return None


def _explain(exc: ValidationError, path: Path, entry: Any, defaults: Any, source_id: str) -> str:
    """One block per invalid field: ``file:line`` of the field itself (or of the source entry, or
    of the ``defaults:`` key it came from), the source id, the field, the value and a hint."""
    entry_line = _line_of(entry)
    lines = [
        f"{path}:{entry_line}: source {source_id!r} is invalid:"
        if entry_line
        else f"{path}: source {source_id!r} is invalid:"
    ]
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(source)"
        top = str(err["loc"][0]) if err["loc"] else ""
        value = err.get("input")
        if top in entry:
            at = _at(_key_line(entry, top) or entry_line)
        elif top in defaults:
            at = _at(_key_line(defaults, top), "from defaults:")
        else:
            at = _at(entry_line)
        if err["type"] == "extra_forbidden":
            model = _NESTED_MODELS.get(top, SourceSpec) if len(err["loc"]) > 1 else SourceSpec
            name = str(err["loc"][-1])
            lines.append(f"  {at}field {field}: unknown field{_did_you_mean(name, tuple(model.model_fields))}")
            lines.append(f"    hint: known fields are {', '.join(model.model_fields)}")
            continue
        if err["type"] == "missing":
            lines.append(f"  {at}field {field}: required but missing")
        else:
            lines.append(f"  {at}field {field} = {value!r}: {err['msg']}")
        if top in _HINTS:
            lines.append(f"    hint: {_HINTS[top]}")
    return "\n".join(lines)


def _at(line: int | None, note: str = "") -> str:
    """``line 12: `` / ``line 3, from defaults: `` prefix, empty when the line is not known."""
    if line is None:
        return f"{note} " if note else ""
    return f"line {line}, {note} " if note else f"line {line}: "


def _did_you_mean(name: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
