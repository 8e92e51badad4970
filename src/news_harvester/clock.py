"""The one clock of the harvest and the shells; pure code (models, parse, stories) takes ``now`` as an argument."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)
