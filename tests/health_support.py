"""The review app over a sources config's health, signed in (shared by the source-health and alarm tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from news_harvester.sources.health import source_report
from news_harvester.stories.assign import StoryService
from news_harvester.web.app import create_app
from passwords import password_hash


def admin_client(settings, repository, config, name="boss", role="admin"):
    """The review app over ``config``'s health, signed in as ``name`` (an admin unless ``role`` says otherwise);
    scripts' CSRF header set."""
    repository.add_user(name, password_hash("admin-password"), role, datetime.now(UTC))
    app = create_app(
        database_ok=lambda: True,
        scheduler_ok=lambda: True,
        sources_health=lambda: source_report(config, repository, datetime.now(UTC)),
        repository=repository,
        stories=StoryService(window=timedelta(days=90)),
        settings=settings,
        sources=lambda: config,
    )
    client = TestClient(app, follow_redirects=False)
    signed = client.post("/login", json={"name": name, "password": "admin-password"})
    assert signed.status_code == 200
    client.headers["X-CSRF-Token"] = signed.json()["csrf_token"]
    return client
