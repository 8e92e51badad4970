"""The exception tree of news_harvester; every error carries a stable dotted ``code``.

Never raised for control flow inside a stage; callers catch broadly only at a unit of work
(``pipeline.harvest_source``) and record the code.

    HarvesterError
     +-- ConfigError                  bad settings or sources.yaml (start-up stops, reload keeps last good)
     +-- SourceError(source_id, code) anything that makes one source run fail
     |    +-- FetchError              fetch.timeout, fetch.network, fetch.dns, fetch.refused, fetch.tls,
     |    |                           fetch.truncated, fetch.http_status, fetch.too_large,
     |    |                           fetch.redirect_loop, fetch.rate_limited, fetch.robots_denied,
     |    |                           fetch.bad_encoding, fetch.invalid_url,
     |    |                           fetch.challenge (a WAF / bot-challenge page instead of content: 200 or 4xx/5xx)
     |    +-- DecodeError             decode.charset, decode.binary (a PDF, image or archive where text was due)
     |    +-- ParseError              parse.malformed, parse.not_a_feed, parse.no_items, parse.unsupported,
     |                                parse.no_datasource (two-step JSON: no data-source id on the page),
     |                                parse.empty_article (per-item warning: no readable text on the page)
     +-- StorageError                 storage.*
"""

from __future__ import annotations


class HarvesterError(Exception):
    """Root of every error this package raises on purpose."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


class ConfigError(HarvesterError):
    """Raised by ``config`` when settings or sources.yaml are invalid.

    ``str()`` is a ready-to-print, multi-line explanation (file, source id, field, hint).
    """

    code = "config.invalid"


class SourceError(HarvesterError):
    """Raised while harvesting one source; recorded on that source's run, never fatal."""

    code = "source.error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.http_status = http_status
        self.retry_after = retry_after


class FetchError(SourceError):
    """Raised by ``fetch`` for network, HTTP, size, redirect and robots problems."""

    code = "fetch.network"


class DecodeError(SourceError):
    """Raised by ``decode`` when bytes cannot be turned into text under any plausible charset."""

    code = "decode.charset"


class ParseError(SourceError):
    """Raised by ``parse`` when a document yields no usable items."""

    code = "parse.malformed"


class StorageError(HarvesterError):
    """Raised by ``store`` when the database refuses an operation."""

    code = "storage.error"


class InvalidAction(StorageError):
    """An editor's action that the review rules refuse (no reason for a rejection, a snooze into the past, a story
    already used in a published issue); the message is the editor's, in Chinese."""

    code = "review.invalid"
