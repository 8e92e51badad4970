"""The daemon's web app. For now: liveness, readiness and source health as JSON.

The editors' review UI arrives with the review-queue issue; these endpoints are what the
Dockerfile HEALTHCHECK and operators need from day one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from news_harvester import __version__


def create_app(
    *,
    database_ok: Callable[[], bool],
    scheduler_ok: Callable[[], bool],
    sources_health: Callable[[], list[dict[str, Any]]],
) -> FastAPI:
    app = FastAPI(title="news_harvester", version=__version__)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        """Readiness: the database answers and the scheduler is running."""
        checks = {"database": database_ok(), "scheduler": scheduler_ok()}
        status = 200 if all(checks.values()) else 503
        return JSONResponse({"ready": status == 200, "checks": checks}, status_code=status)

    @app.get("/api/sources")
    def sources() -> list[dict[str, Any]]:
        """Every configured source with its health, as ``sources list --json`` prints it."""
        return sources_health()

    return app
