"""Cluster tests: real PostgreSQL (NEWS_HARVESTER_TEST_PG), real ``news-harvester run --role …`` processes, a real
HTTP server on 127.0.0.1. Each test gets its own database ``nh_cluster_<random>`` created from the test URL."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_URL = os.environ.get("NEWS_HARVESTER_TEST_PG")
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _admin_url() -> str:
    assert PG_URL
    return PG_URL


def pg_available() -> str | None:
    """Why the cluster tests cannot run here, or None."""
    if not PG_URL:
        return "NEWS_HARVESTER_TEST_PG is not set"
    try:
        import procrastinate  # noqa: F401
        import psycopg
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install -e '.[dev]')"
    try:
        with psycopg.connect(_admin_url(), connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        return f"PostgreSQL at NEWS_HARVESTER_TEST_PG is unreachable: {str(exc).splitlines()[0]}"
    return None


@pytest.fixture
def cluster_db() -> Iterator[str]:
    """URL of a fresh, empty database of our own (dropped afterwards)."""
    reason = pg_available()
    if reason:
        pytest.skip(reason)
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    name = f"nh_cluster_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(_admin_url())
    user = params.get("user", "postgres")
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    password = params.get("password")
    auth = f"{user}:{password}@" if password else f"{user}@"
    try:
        yield f"postgresql://{auth}{host}:{port}/{name}"
    finally:
        with psycopg.connect(_admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
