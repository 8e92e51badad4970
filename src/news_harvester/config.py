"""Load and validate settings and ``sources.yaml``; the only reader of os.environ and config files.

Precedence for settings: built-in defaults < settings file (TOML) < ``NEWS_HARVESTER_*``
environment variables < CLI flags. Every setting is declared once, in ``Settings``, with its
type, default and help line; the README's configuration table is checked against it by a test.

What a source is (``SourceSpec`` and its parts) and how a ``sources.yaml`` document is validated live in
``news_harvester.source_spec``; this module reads the file. ``SourceSpec`` and ``SourcesConfig`` are
re-exported here, where most callers import them from.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from news_harvester import __version__
from news_harvester.errors import ConfigError
from news_harvester.source_spec import SourcesConfig as SourcesConfig  # re-exported: most callers import it here
from news_harvester.source_spec import SourceSpec as SourceSpec  # re-exported: most callers import it here
from news_harvester.source_spec import did_you_mean, parse_sources, set_min_schedule_interval

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
    web_processes: int | None = Field(
        None,
        ge=1,
        le=16,
        description="Processes serving the review app on the one port. Default: one per core (at most 4) for "
        "`run --web-only`, 1 for a daemon that also harvests (its run-now button needs the scheduler's process).",
    )
    writer_process: bool = Field(
        True,
        description="Store harvested runs in a process of their own (a second core; editors' pages never wait for "
        "a harvest's story assignment). Off: on a thread of the harvesting process.",
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
    set_min_schedule_interval(settings.min_schedule_interval)
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
        hint = did_you_mean(unknown[0], SETTING_NAMES)
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r}{hint}")
    return dict(section)


# --------------------------------------------------------------------------- sources.yaml


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
        # The C loader (ruamel.yaml.clib) reads the file ~10x faster than the round-trip loader, which every
        # command that lists or harvests sources would otherwise pay; only the round-trip loader knows lines,
        # so a file with a problem is read again with it and the error names file and line as always.
        return parse_sources(YAML(typ="safe").load(text), path)
    except (YAMLError, ConfigError):
        pass
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
