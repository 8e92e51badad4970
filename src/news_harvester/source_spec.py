"""What a source is: the models of one ``sources.yaml`` entry, their validators, and the validation of a
whole ``sources.yaml`` document into :class:`SourcesConfig` with errors that name file, line, source, field
and hint.

``config.load_sources`` reads the file and hands the document to :func:`parse_sources`. Imports nothing of
news_harvester but the error tree.
"""

from __future__ import annotations

import codecs
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from news_harvester.errors import ConfigError

_SCHEDULE_LIMITS = {"min_interval": 60}
"""Shortest interval schedule; ``min_schedule_interval`` of the process's settings (set by load_settings)."""


def set_min_schedule_interval(seconds: int) -> None:
    """The shortest interval schedule sources may use from now on (``load_settings`` sets the process's)."""
    _SCHEDULE_LIMITS["min_interval"] = seconds


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
            lines.append(f"  {at}field {field}: unknown field{did_you_mean(name, tuple(model.model_fields))}")
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


def did_you_mean(name: str, choices: tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, empty when none is close (settings use it too)."""
    close = difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
