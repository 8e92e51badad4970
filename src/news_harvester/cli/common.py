"""Helpers every command of the CLI shares: the context object, one-line errors, tables, times.

Kept apart from the command modules so that they import this, never each other or the root group.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from news_harvester.config import Settings, SourcesConfig, SourceSpec, load_settings, load_sources
from news_harvester.errors import ConfigError, HarvesterError
from news_harvester.ops.logs import configure_logging

if TYPE_CHECKING:
    from datetime import datetime

EXIT_CONFIG = 2
EXIT_ERROR = 1


class CliContext:
    def __init__(self, config_file: Path | None, overrides: dict[str, Any]) -> None:
        self.config_file = config_file
        self.overrides = overrides
        self._settings: Settings | None = None

    def settings(self, **more: Any) -> Settings:
        if self._settings is None or more:
            self._settings = load_settings(config_file=self.config_file, overrides={**self.overrides, **more})
            configure_logging(self._settings.log_level, self._settings.log_format)
        return self._settings

    def sources(self) -> SourcesConfig:
        return load_sources(self.settings().sources)

    def source(self, source_id: str) -> SourceSpec:
        spec = self.sources().get(source_id)
        if spec is None:
            fail(f"unknown source id {source_id!r} (see `news-harvester sources list`)")
        assert spec is not None
        return spec


def fail(message: str, code: int = EXIT_ERROR) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn HarvesterErrors and file-system errors into one clear message and a non-zero exit.

    OSError is caught here, once for every command, because any command that reads or writes a file the user
    named (``-o FILE``, an input file, a directory that is not there or not writable, a full disk) would
    otherwise end in a traceback; the README promises one line and exit 1 instead."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            fail(str(exc), EXIT_CONFIG)
        except HarvesterError as exc:
            fail(f"{exc.message} [{exc.code}]")
        except BrokenPipeError:
            _quiet_broken_pipe()
        except OSError as exc:
            fail(os_error_line(exc))

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def os_error_line(exc: OSError) -> str:
    """``PATH: reason`` (``/no/dir/x.docx: No such file or directory``), as Unix tools say it; the bare error
    when it names no file (a socket, say)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    return f"{' -> '.join(paths)}: {reason}" if paths else reason


def _quiet_broken_pipe() -> None:
    """The reader of our output went away (``… | head``): exit 1 without a message nobody reads, and without
    Python's own complaint when it flushes stdout at exit (stdout is pointed at /dev/null first)."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(EXIT_ERROR)


def short(iso: str | None) -> str:
    return iso[:16].replace("T", " ") if iso else "-"


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    """Plain aligned columns; width counts CJK characters as two cells."""
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(display_width(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        click.echo("  ".join(c + " " * (w - display_width(c)) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            click.echo("  ".join("-" * w for w in widths))


def display_width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def iso_in_zone(when: datetime | None, spec: SourceSpec) -> str | None:
    """ISO 8601 with the UTC offset, in the source's time zone."""
    return when.astimezone(spec.zone).isoformat() if when is not None else None
