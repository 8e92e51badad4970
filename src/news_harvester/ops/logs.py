"""Log set-up: text for people, JSON lines with fixed keys for machines.

Fixed keys (present in every JSON line, null when not applicable): time, level, logger, message,
source_id, url, stage, code, duration_ms.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

FIXED_KEYS = ("source_id", "url", "stage", "code", "duration_ms")


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in FIXED_KEYS:
            line[key] = getattr(record, key, None)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonLineFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "alembic", "apscheduler.executors", "apscheduler.scheduler", "trafilatura"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
