"""Shared by the monthly-figures tests (issue 17): the sample issue's figures (Dalian, January to May 2024, in
../shared/fixtures/monthly-figures) and their upload to the review app's 数据月报 page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import shared_fixture

PERIOD, REGION = "2024-01..2024-05", "大连市"
"""The period and region of the sample figures."""
SAMPLE = "monthly-figures/dalian-2024-01-05.csv"


def sample_path() -> Path:
    """The sample figures' CSV (the test skips, or fails in CI, without ../shared)."""
    return shared_fixture(SAMPLE)


def sample_csv() -> bytes:
    return sample_path().read_bytes()


def upload(client: Any, token: str, name: str, data: bytes) -> Any:
    """POST a table to /figures as the page's upload form does (a TestClient signed in, its CSRF token)."""
    return client.post("/figures", data={"csrf_token": token}, files={"file": (name, data, "text/csv")})
