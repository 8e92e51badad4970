"""Extraction quality on real CJK article pages from ../shared/fixtures: gne (62), newspaper4k's
Chinese pages (3), readability's CJK pages with metadata (6), trafilatura-eval's CJK pages (6), and
gerapy's article pages (4, held out: checked only after the extractor was written).

Golden files in tests/expected/extract/<fixture-id>.json were written by hand after reading each
page's <title>, headings, meta tags and visible date area (gne's result.txt is one tool's raw
output, not truth). Each gives the page's title, its publication day in Beijing time (null when
the page shows no complete date: only "昨天", or a month and day with no year anywhere), a body
snippet, and the page URL when the page or its dataset names it (otherwise a neutral URL that
carries no date).

Thresholds: title right on ≥ 95 % of pages; date right (calendar day in Beijing time) on ≥ 95 % of
the pages that show one; the snippet in the body on ≥ 90 %. Every miss is printed.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import SHARED_FIXTURES, missing_shared
from news_harvester.harvest.decode import decode_body
from news_harvester.parse.article import ExtractedPage, extract_page

BEIJING = ZoneInfo("Asia/Shanghai")
EXPECTED = Path(__file__).parent / "expected" / "extract"
TITLE_MIN = 0.95
DATE_MIN = 0.95
SNIPPET_MIN = 0.90


def key(text: str) -> str:
    """Compare without caring about spacing or full-/half-width forms."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass
class Outcome:
    fixture_id: str
    expected: dict
    page: ExtractedPage

    @property
    def title_ok(self) -> bool:
        return self.page.title is not None and key(self.page.title) == key(self.expected["title"])

    @property
    def day(self) -> str | None:
        published: datetime | None = self.page.published_at
        return published.astimezone(BEIJING).date().isoformat() if published else None

    @property
    def date_ok(self) -> bool:
        return self.day == self.expected["date"]

    @property
    def snippet_ok(self) -> bool:
        return key(self.expected["snippet"]) in key(self.page.body_text)


def golden_files() -> list[Path]:
    return sorted(EXPECTED.glob("*.json"))


def run_all() -> list[Outcome]:
    outcomes = []
    for path in golden_files():
        expected = json.loads(path.read_text(encoding="utf-8"))
        html = decode_body((SHARED_FIXTURES / expected["fixture"]).read_bytes(), "text/html").text
        url = expected["url"] or f"https://fixture.invalid/{path.stem}.html"
        outcomes.append(Outcome(path.stem, expected, extract_page(html, url, BEIJING)))
    return outcomes


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    if not SHARED_FIXTURES.exists():
        missing_shared(f"shared fixtures not available at {SHARED_FIXTURES}")
    return run_all()


def test_there_is_a_golden_file_for_every_page_in_the_set():
    assert len(golden_files()) >= 75


def test_titles(outcomes):
    misses = [o for o in outcomes if not o.title_ok]
    for o in misses:
        print(f"title miss {o.fixture_id}: got {o.page.title!r}, expected {o.expected['title']!r}")
    share = 1 - len(misses) / len(outcomes)
    print(f"titles right: {len(outcomes) - len(misses)}/{len(outcomes)} = {share:.1%}")
    assert share >= TITLE_MIN


def test_dates_on_pages_that_show_one(outcomes):
    dated = [o for o in outcomes if o.expected["date"]]
    misses = [o for o in dated if not o.date_ok]
    for o in misses:
        print(
            f"date miss {o.fixture_id}: got {o.day} ({o.page.date_origin}), expected {o.expected['date']}"
            f" — {o.expected['date_note']}"
        )
    invented = [o for o in outcomes if not o.expected["date"] and o.page.published_at is not None]
    for o in invented:
        print(f"date on an undated page {o.fixture_id}: {o.day} ({o.page.date_origin})")
    share = 1 - len(misses) / len(dated)
    print(
        f"dates right: {len(dated) - len(misses)}/{len(dated)} = {share:.1%}; dates on undated pages: {len(invented)}"
    )
    assert share >= DATE_MIN


def test_dates_are_timezone_aware(outcomes):
    for o in outcomes:
        if o.page.published_at is not None:
            assert o.page.published_at.utcoffset() is not None, o.fixture_id


def test_body_snippets(outcomes):
    misses = [o for o in outcomes if not o.snippet_ok]
    for o in misses:
        print(f"body miss {o.fixture_id}: {o.expected['snippet']!r} not in {o.page.body_text[:120]!r}…")
    share = 1 - len(misses) / len(outcomes)
    print(f"snippets found: {len(outcomes) - len(misses)}/{len(outcomes)} = {share:.1%}")
    assert share >= SNIPPET_MIN
