"""Shared fixtures: a real local HTTP server, a real SQLite file, sources.yaml writers.

Tests that read ../shared skip when it is absent on a developer's machine (NEWS_HARVESTER_FIXTURES
overrides the fixtures' path) and fail when NEWS_HARVESTER_REQUIRE_SHARED=1, which .ci/run sets: a quality
test that silently skipped in CI would let its figures drop unseen.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from pytest_httpserver import HTTPServer

import yaml_writer
from news_harvester.config import Settings, SourcesConfig, load_sources
from news_harvester.harvest.fetch import Fetcher
from news_harvester.harvest.pipeline import Harvester
from news_harvester.store.repository import Repository
from news_harvester.web import accounts
from news_harvester.wiring import fetch_policy, open_repository
from passwords import CHEAP_HASHER, password_hash

accounts.HASHER = CHEAP_HASHER  # in-process apps sign in at argon2's cheapest cost (tests/passwords.py says why)

ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = Path(os.environ.get("NEWS_HARVESTER_FIXTURES", ROOT.parent / "shared" / "fixtures"))


REQUIRE_SHARED = os.environ.get("NEWS_HARVESTER_REQUIRE_SHARED") == "1"


def missing_shared(reason: str) -> NoReturn:
    """Skip a test whose ../shared input is missing, or fail it where ../shared is required (CI)."""
    if REQUIRE_SHARED:
        pytest.fail(f"{reason} (NEWS_HARVESTER_REQUIRE_SHARED=1: ../shared must be present)")
    pytest.skip(reason)


def shared_fixture(relative: str) -> Path:
    path = SHARED_FIXTURES / relative
    if not path.exists():
        missing_shared(f"shared fixture {relative} not available at {SHARED_FIXTURES}")
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that drives the real browser carries the ``browser`` marker (``make test-fast`` leaves them out):
    the test_browser*.py modules and any test asking for the browser fixtures."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if "browser" in item.path.name or fixtures & {"browser", "browser_page"}:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return ("127.0.0.1", 0)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Fast, impolite-to-nobody settings for a local server: no per-host delay, quick retries."""
    return Settings(
        data_dir=tmp_path / "data",
        sources=tmp_path / "sources.yaml",
        topics=ROOT / "config" / "topics.yaml",
        per_host_delay=0,
        per_host_concurrency=8,
        retry_base_delay=0.05,
        connect_timeout=2,
        read_timeout=2,
        total_timeout=5,
        max_body_bytes=1_000_000,
    )


@pytest.fixture
def write_sources(settings: Settings) -> Callable[[list[dict[str, Any]]], SourcesConfig]:
    def write(sources: list[dict[str, Any]]) -> SourcesConfig:
        yaml_writer.dump({"sources": sources}, settings.sources)
        return load_sources(settings.sources)

    return write


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file the product migrated to head, once per test process: a test's repository starts from a copy
    (migrating a fresh file costs ~0.1 s; the upgrade tests migrate their own)."""
    home = tmp_path_factory.mktemp("migrated")
    template = Settings(data_dir=home, sources=home / "sources.yaml", topics=ROOT / "config" / "topics.yaml")
    open_repository(template).engine.dispose()  # the last connection closing checkpoints the WAL into the file
    wal = home / "news_harvester.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0, "the template's WAL was not checkpointed"
    return home / "news_harvester.db"


@pytest.fixture
def repository(settings: Settings, migrated_database: Path) -> Iterator[Repository]:
    target = settings.data_dir / "news_harvester.db"
    if not settings.database_url and not target.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(migrated_database, target)
    repo = open_repository(settings)
    yield repo
    repo.engine.dispose()


@pytest.fixture
def run_harvest(settings: Settings, repository: Repository) -> Callable[..., Any]:
    """Run coroutines against a Harvester wired to the real repository and a fresh Fetcher."""

    def run(specs: list[Any], *, force: bool = True, settings_override: Settings | None = None) -> list[Any]:
        async def go() -> list[Any]:
            fetcher = Fetcher(fetch_policy(settings_override or settings))
            harvester = Harvester(fetcher, repository)
            try:
                return list(await asyncio.gather(*(harvester.harvest(s, force=force) for s in specs)))
            finally:
                await fetcher.aclose()

        return asyncio.run(go())

    return run


def source(server: HTTPServer, path: str, **fields: Any) -> dict[str, Any]:
    """A sources.yaml entry pointing at ``path`` on the local server."""
    entry: dict[str, Any] = {
        "id": fields.pop("id", path.strip("/").replace("/", "-").replace(".", "-") or "root"),
        "name": fields.pop("name", "测试来源"),
        "kind": fields.pop("kind", "feed"),
        "url": server.url_for(path),
        "schedule": fields.pop("schedule", "30m"),
    }
    entry.update(fields)
    return entry


PG_URL = os.environ.get("NEWS_HARVESTER_TEST_PG")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_settings(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Settings]:
    """The same settings on a real SQLite file, then on the real PostgreSQL server (own schema)."""
    if request.param == "sqlite":
        yield settings
        return
    if not PG_URL:
        pytest.skip("NEWS_HARVESTER_TEST_PG is not set")
    import uuid

    import sqlalchemy

    from news_harvester.store.engine import normalize_database_url

    schema = f"nh_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(normalize_database_url(PG_URL))
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    joiner = "&" if "?" in PG_URL else "?"
    try:
        yield settings.model_copy(update={"database_url": f"{PG_URL}{joiner}options=-csearch_path%3D{schema}"})
    finally:
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def any_repository(any_settings: Settings) -> Iterator[Repository]:
    repo = open_repository(any_settings)
    yield repo
    repo.engine.dispose()


def migrate_to(engine: object, revision: str) -> None:
    """Apply the product's migrations up to ``revision`` (an upgrade test then writes data in the old shape)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "news_harvester:migrations")
    with engine.begin() as conn:  # type: ignore[attr-defined]
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


# --------------------------------------------------------------------------- the browser (tests/browser_support.py)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium for one browser test module (which skips without it: ``playwright_or_skip``)."""
    from browser_support import chromium

    with chromium() as launched:
        yield launched


@pytest.fixture
def browser_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """``browser_page(base_url, user=None, **context_options)``: a page in a fresh browser context (own cookies),
    signed in as ``user`` through the form when given (``signed_in_page``); every one closed after the test."""
    from browser_support import open_page, signed_in_page

    pages: list[Any] = []

    def make(base_url: str, user: str | None = None, **context_options: Any) -> Any:
        if user is None:
            page = open_page(browser, base_url, **context_options)
        else:
            page = signed_in_page(browser, base_url, user, **context_options)
        pages.append(page)
        return page

    yield make
    for page in pages:
        page.context.close()


# --------------------------------------------------------------------------- the review app


@pytest.fixture
def editor_client(settings: Settings, repository: Repository) -> tuple[Any, str]:
    """The review app on the real SQLite file (stories loaded as a daemon loads them) over TestClient, signed in
    as the editor ``editor1``: ``(client, csrf token)``."""
    from datetime import UTC, datetime

    from fastapi.testclient import TestClient

    from news_harvester.stories.assign import StoryService
    from news_harvester.stories.classifier import ClassifierSource
    from news_harvester.web.app import create_app

    now = datetime.now(UTC)
    enricher = ClassifierSource(settings.topics, repository).load()
    service = StoryService.load(repository, window_days=90, now=now, weights={}, enricher=enricher)
    repository.add_user("editor1", password_hash("editor-password"), "editor", now)
    app = create_app(
        database_ok=lambda: True,
        scheduler_ok=lambda: True,
        sources_health=lambda: [],
        repository=repository,
        stories=service,
        settings=settings,
    )
    client = TestClient(app, follow_redirects=False)
    token = client.post("/login", json={"name": "editor1", "password": "editor-password"}).json()["csrf_token"]
    return client, str(token)
