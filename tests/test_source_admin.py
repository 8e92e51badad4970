"""Editing sources.yaml from the CLI and the web: the real shipped file, its comments and order kept
byte-for-byte outside the change, whole-file validation before writing, atomic write with backups,
a lock that works across processes, and hand edits made meanwhile kept."""

from __future__ import annotations

import difflib
import multiprocessing
import shutil
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

import feeds
from news_harvester.config import load_sources
from news_harvester.errors import ConfigError
from news_harvester.sources import admin as source_admin
from news_harvester.sources.admin import (
    SourceEditError,
    add_source,
    add_sources,
    backups,
    check_source,
    check_update,
    remove_source,
    set_enabled,
    source_entry,
    update_source,
)
from procs import run_cli

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "config" / "sources.yaml"
SHIPPED_COUNT = len(load_sources(SHIPPED).sources)


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    path = tmp_path / "sources.yaml"
    shutil.copyfile(SHIPPED, path)
    return path


def _diff(old: str, new: str) -> tuple[list[str], list[str]]:
    """(removed lines, added lines) between two texts."""
    removed, added = [], []
    for line in difflib.ndiff(old.splitlines(), new.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def _leftovers(folder: Path) -> list[str]:
    """Files other than sources.yaml, its lock and its backups (a temp file left behind would show)."""
    return sorted(p.name for p in folder.iterdir() if p.name not in {"sources.yaml", "sources.yaml.lock", "backups"})


# --------------------------------------------------------------------------- comments and order survive


def test_update_changes_only_the_edited_lines_of_the_shipped_file(shipped: Path):
    old = shipped.read_text(encoding="utf-8")

    spec = update_source(shipped, "mofcom-policy", {"weight": 8, "attribution": "page"})

    new = shipped.read_text(encoding="utf-8")
    assert (spec.weight, spec.attribution) == (8, "page")
    assert _diff(old, new) == (
        [
            "    weight: 10",
            "    attribution: source     # the brief credits 商务部网站, not the department a page names",
        ],
        [
            "    weight: 8",
            "    attribution: page       # the brief credits 商务部网站, not the department a page names",
        ],
    )
    assert len(new.splitlines()) == len(old.splitlines())
    config = load_sources(shipped)
    assert [s.id for s in config.sources] == [s.id for s in load_sources(SHIPPED).sources]


def test_edit_of_an_entry_with_a_multi_line_string_keeps_that_string_as_written(shipped: Path):
    old = shipped.read_text(encoding="utf-8")
    assert "not([href*='index']),\n          a.kxyj_text" in old  # a double-quoted string over two lines

    update_source(shipped, "caict-bps", {"weight": 7, "schedule": "4h"})

    assert _diff(old, shipped.read_text(encoding="utf-8")) == (
        ["    schedule: 6h", "    weight: 8"],
        ["    schedule: 4h", "    weight: 7"],
    )


def test_nested_dotted_changes_and_removals(shipped: Path):
    old = shipped.read_text(encoding="utf-8")

    update_source(shipped, "mofcom-policy", {"selectors.title": "h1 a", "selectors.date": None, "max_items": "20"})

    removed, added = _diff(old, shipped.read_text(encoding="utf-8"))
    assert removed == ['      date: ["span"]']
    assert added == ["      title: h1 a", "    max_items: 20"]  # form text "20" written as a number
    entry = source_entry(shipped, "mofcom-policy")
    assert list(entry["selectors"]) == ["item", "link", "title", "body"]  # the README's order
    assert entry["max_items"] == 20


def test_removing_a_key_keeps_the_comment_above_the_next_key(shipped: Path):
    old = shipped.read_text(encoding="utf-8")

    update_source(shipped, "mofcom-policy", {"selectors": None})

    removed, added = _diff(old, shipped.read_text(encoding="utf-8"))
    assert added == []
    assert removed == [
        "    selectors:",
        '      item: ["ul.policy-list > li", ".txtList_01 li", ".listCon ul li"]',
        '      link: ["a[href]"]',
        '      date: ["span"]',
        '      body: [".art-con", ".textlive", ".artCon", ".TRS_Editor", "#zoom"]',
    ]
    assert "    # Also read the second static page" in shipped.read_text(encoding="utf-8")


def test_a_mapping_value_replaces_the_mapping_and_an_unchanged_value_keeps_its_text(shipped: Path):
    old = shipped.read_text(encoding="utf-8")
    entry = source_entry(shipped, "caict-bps")
    headers = dict(entry["headers"])
    del headers["Accept"]

    # an edit form sends every field; only the headers differ
    update_source(shipped, "caict-bps", {**entry, "headers": headers})

    assert _diff(old, shipped.read_text(encoding="utf-8")) == (
        ["      Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"],
        [],
    )


def test_enable_and_disable(shipped: Path):
    old = shipped.read_text(encoding="utf-8")

    assert set_enabled(shipped, "miit-policy", True).enabled is True
    assert set_enabled(shipped, "wto-news", False).enabled is False

    removed, added = _diff(old, shipped.read_text(encoding="utf-8"))
    assert removed == ["    enabled: false"]  # enabled is the default: the line goes
    assert added == ["    enabled: false"]
    wto = source_entry(shipped, "wto-news")
    assert list(wto)[:6] == ["id", "name", "kind", "url", "schedule", "enabled"]
    before = shipped.read_bytes()
    set_enabled(shipped, "edps-press", True)  # already enabled: nothing written
    assert shipped.read_bytes() == before


def test_add_appends_at_the_end_and_leaves_the_rest_byte_for_byte(shipped: Path):
    old = shipped.read_text(encoding="utf-8")

    spec = add_source(
        shipped,
        {
            "url": "https://www.example.org/feed.xml",
            "id": "example-feed",
            "kind": "feed",
            "name": "Example",
            "topics": ["国际动态", "跨境电商"],
            "weight": 5.0,
            "headers": {"Referer": "https://www.example.org/"},
        },
    )

    new = shipped.read_text(encoding="utf-8")
    assert spec.id == "example-feed" and spec.schedule == "2h"  # file defaults apply
    assert new == old + (
        "\n"
        "  - id: example-feed\n"
        "    name: Example\n"
        "    kind: feed\n"
        "    url: https://www.example.org/feed.xml\n"
        "    weight: 5\n"
        "    topics: [国际动态, 跨境电商]\n"
        "    headers:\n"
        "      Referer: https://www.example.org/\n"
    )
    assert load_sources(shipped).sources[-1] == spec
    assert source_entry(shipped, "example-feed")["topics"] == ["国际动态", "跨境电商"]


def test_remove_takes_the_entry_and_its_comment_and_nothing_else(shipped: Path):
    old = shipped.read_text(encoding="utf-8")

    remove_source(shipped, "mofcom-news")

    new = shipped.read_text(encoding="utf-8")
    start = old.index("  # 新闻发布 › 领导人活动")
    end = old.index("  # 新闻发布 › 部领导活动")  # the next entry's comment
    assert new == old[:start] + old[end:]  # its comment, its lines and one of the blank lines around it
    assert old[start:end].count("\n") == 4 + 12 + 1
    assert "  # 新闻发布 › 部领导活动" in new  # the next entry's comment stays
    assert "mofcom-news" not in {s.id for s in load_sources(shipped).sources}


def test_removing_the_first_entry_of_a_section_keeps_the_divider(shipped: Path):
    remove_source(shipped, "govcn-policy")
    new = shipped.read_text(encoding="utf-8")
    assert (
        "  # ------------------------------------------------------------------------------ 中国政府网 gov.cn\n" in new
    )
    assert "最新政策 from the JSON" not in new
    assert "  # 要闻 from https://www.gov.cn/yaowen/liebiao/" in new


def test_removing_the_last_entry_leaves_no_trailing_blank_line(shipped: Path):
    old = shipped.read_text(encoding="utf-8")
    remove_source(shipped, "unctad-news")
    new = shipped.read_text(encoding="utf-8")
    assert old.startswith(new) and new.endswith("    topics: [国际动态, 自贸协定与贸易政策]\n")


def test_an_empty_list_and_the_last_source(tmp_path: Path):
    path = tmp_path / "sources.yaml"
    path.write_text("# my sources\nsources: []\n", encoding="utf-8")
    add_source(path, {"id": "a", "name": "A", "kind": "feed", "url": "https://a.example/rss"})
    assert [s.id for s in load_sources(path).sources] == ["a"]
    assert path.read_text(encoding="utf-8").startswith("# my sources\n")
    remove_source(path, "a")
    assert load_sources(path).sources == ()


def test_batch_add_is_one_write(shipped: Path):
    specs = add_sources(
        shipped,
        [{"id": f"b{n}", "name": f"B{n}", "kind": "feed", "url": f"https://b{n}.example/rss"} for n in range(3)],
    )
    assert [s.id for s in specs] == ["b0", "b1", "b2"]
    assert len(backups(shipped)) == 1


# --------------------------------------------------------------------------- refused edits leave the file alone


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda p: update_source(p, "mofcom-policy", {"schedule": "soon"}), "field schedule"),
        (lambda p: update_source(p, "mofcom-policy", {"weight": 500}), "field weight"),
        (lambda p: update_source(p, "mofcom-policy", {"schedul": "2h"}), "field schedul: unknown field"),
        (lambda p: update_source(p, "mofcom-policy", {"pagination.pages": 0}), "field pagination.pages"),
        (lambda p: update_source(p, "mofcom-policy", {"id": "mofcom-x"}), "field id cannot be changed"),
        (lambda p: update_source(p, "mofcom-policy", {"url": None}), "field url is required"),
        (lambda p: update_source(p, "nope", {"weight": 1}), "no source with id 'nope'"),
        (lambda p: set_enabled(p, "nope", True), "no source with id 'nope'"),
        (lambda p: remove_source(p, "nope"), "no source with id 'nope'"),
        (
            lambda p: add_source(p, {"id": "wto-news", "name": "W", "kind": "feed", "url": "https://w.example/"}),
            "field id = 'wto-news': a source with this id already exists",
        ),
        (
            lambda p: add_source(p, {"id": "Bad Id", "name": "W", "kind": "feed", "url": "https://w.example/"}),
            "field id",
        ),
        (lambda p: add_source(p, {"id": "x", "name": "X", "kind": "json", "url": "https://x.example/"}), "fields"),
        (lambda p: add_source(p, {"id": "x", "name": "X", "kind": "feed", "url": "ftp://x.example/"}), "field url"),
        (lambda p: add_source(p, {"name": "X", "kind": "feed", "url": "https://x.example/"}), "field id"),
        (
            lambda p: add_source(
                p, {"id": "x", "name": "X", "kind": "feed", "url": "https://x.example/", "w": object()}
            ),
            "field w",
        ),
    ],
)
def test_refused_edit_leaves_the_file_untouched(shipped: Path, call, field):
    before = shipped.read_bytes()
    mtime = shipped.stat().st_mtime_ns

    with pytest.raises(SourceEditError) as caught:
        call(shipped)

    assert field in str(caught.value)
    assert caught.value.code == "config.sources_edit" and isinstance(caught.value, ConfigError)
    assert shipped.read_bytes() == before and shipped.stat().st_mtime_ns == mtime
    assert _leftovers(shipped.parent) == [] and backups(shipped) == []


def test_an_edit_is_refused_while_another_source_is_invalid(shipped: Path):
    text = shipped.read_text(encoding="utf-8").replace("    schedule: 3h\n", "    schedule: whenever\n", 1)
    shipped.write_text(text, encoding="utf-8")
    with pytest.raises(SourceEditError, match="field schedule = 'whenever'"):
        update_source(shipped, "wto-news", {"weight": 5})
    assert shipped.read_text(encoding="utf-8") == text


def test_check_source_validates_without_writing(shipped: Path):
    before = shipped.read_bytes()
    spec = check_source(shipped, {"id": "new", "name": "N", "kind": "html", "url": "https://n.example/list/"})
    assert spec.schedule == "2h"
    with pytest.raises(SourceEditError, match="already exists"):
        check_source(shipped, {"id": "wto-news", "name": "N", "kind": "feed", "url": "https://n.example/"})
    changed = check_update(shipped, "mofcom-english", {"schedule": None, "selectors.item": "ul li"})
    assert changed.schedule == "2h" and changed.selectors.item == ["ul li"]  # type: ignore[union-attr]
    with pytest.raises(SourceEditError, match="field timezone"):
        check_update(shipped, "mofcom-english", {"timezone": "Mars/Olympus"})
    assert shipped.read_bytes() == before and backups(shipped) == []


# --------------------------------------------------------------------------- atomic write, backups, lock


def test_every_write_keeps_a_backup_and_the_newest_ten(shipped: Path):
    shipped.chmod(0o640)
    texts = [shipped.read_text(encoding="utf-8")]
    for n in range(12):
        update_source(shipped, "wto-news", {"max_items": 10 + n})
        texts.append(shipped.read_text(encoding="utf-8"))

    kept = backups(shipped)
    assert len(kept) == 10
    assert [p.read_text(encoding="utf-8") for p in kept] == texts[2:12]  # the versions before each edit
    assert kept[0].parent == shipped.parent / "backups"
    assert (shipped.stat().st_mode & 0o777) == 0o640
    assert _leftovers(shipped.parent) == []


def test_an_unchanged_value_writes_nothing(shipped: Path):
    mtime = shipped.stat().st_mtime_ns
    update_source(shipped, "wto-news", {"weight": 6, "topics": ["国际动态", "自贸协定与贸易政策"]})
    assert shipped.stat().st_mtime_ns == mtime and backups(shipped) == []


def test_a_hand_edit_made_during_an_edit_is_re_read_and_kept(shipped: Path, monkeypatch: pytest.MonkeyPatch):
    validate = source_admin._validate
    calls = []

    def hand_edit_then_validate(doc):
        calls.append(1)
        if len(calls) == 1:  # someone saves the file in an editor after we read it
            text = shipped.read_text(encoding="utf-8").replace(
                "    timezone: Europe/Zurich\n    weight: 6\n",
                "    timezone: Europe/Zurich\n    weight: 5  # by hand\n",
                1,
            )
            shipped.write_text(text, encoding="utf-8")
        return validate(doc)

    monkeypatch.setattr(source_admin, "_validate", hand_edit_then_validate)

    update_source(shipped, "wto-news", {"schedule": "4h"})

    assert len(calls) == 2
    text = shipped.read_text(encoding="utf-8")
    assert "    weight: 5  # by hand\n" in text  # the hand edit survived
    wto = load_sources(shipped).get("wto-news")
    assert wto is not None and (wto.schedule, wto.weight) == ("4h", 5)


def _add_many(path: str, prefix: str, count: int) -> None:
    for n in range(count):
        add_source(
            Path(path), {"id": f"{prefix}-{n}", "name": prefix, "kind": "feed", "url": f"https://{prefix}.example/{n}"}
        )


def _enable(path: str) -> None:
    set_enabled(Path(path), "miit-policy", True)


def test_two_processes_editing_at_once_lose_nothing(shipped: Path):
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_add_many, args=(str(shipped), prefix, 8)) for prefix in ("left", "right")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0

    ids = {s.id for s in load_sources(shipped).sources}
    assert {f"{p}-{n}" for p in ("left", "right") for n in range(8)} <= ids
    assert len(ids) == SHIPPED_COUNT + 16


def test_the_lock_holds_off_another_process(shipped: Path):
    ctx = multiprocessing.get_context("spawn")
    before = shipped.read_bytes()
    with source_admin._locked(shipped):
        worker = ctx.Process(target=_enable, args=(str(shipped),))
        worker.start()
        time.sleep(1.5)  # the worker has started and is waiting for the lock
        assert worker.is_alive()
        assert shipped.read_bytes() == before
    worker.join(60)
    assert worker.exitcode == 0
    spec = load_sources(shipped).get("miit-policy")
    assert spec is not None and spec.enabled


def test_a_lock_held_too_long_is_an_error(shipped: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(source_admin, "LOCK_TIMEOUT", 0.2)
    with source_admin._locked(shipped):
        with pytest.raises(SourceEditError, match="another edit holds"):
            update_source(shipped, "wto-news", {"weight": 1})


def test_the_temp_file_is_removed_when_the_write_fails(shipped: Path, monkeypatch: pytest.MonkeyPatch):
    def broken_backup(path, old):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(source_admin, "_backup", broken_backup)
    before = shipped.read_bytes()
    with pytest.raises(OSError, match="No space left"):
        update_source(shipped, "wto-news", {"weight": 1})
    assert shipped.read_bytes() == before and _leftovers(shipped.parent) == []


# --------------------------------------------------------------------------- the CLI


def test_cli_add_edit_disable_enable_remove(tmp_path: Path, shipped: Path):
    old = shipped.read_text(encoding="utf-8")

    added = run_cli(
        tmp_path,
        "sources",
        "add",
        "--id",
        "asean-briefing",
        "--name",
        "ASEAN Briefing",
        "--kind",
        "html",
        "--url",
        "https://www.aseanbriefing.com/news/",
        "--schedule",
        "3h",
        "--weight",
        "5",
        "--set",
        "selectors.item=ul.news li",
        "--set",
        "topics=[国际动态, 跨境电商]",
        "--set",
        "full_text=true",
        "--disabled",
    )
    assert added.returncode == 0, added.stderr
    assert "added source 'asean-briefing' (disabled)" in added.stdout
    assert source_entry(shipped, "asean-briefing") == {
        "id": "asean-briefing",
        "name": "ASEAN Briefing",
        "kind": "html",
        "url": "https://www.aseanbriefing.com/news/",
        "schedule": "3h",
        "enabled": False,
        "weight": 5,
        "topics": ["国际动态", "跨境电商"],
        "selectors": {"item": "ul.news li"},
        "full_text": True,
    }

    edited = run_cli(
        tmp_path,
        "sources",
        "edit",
        "asean-briefing",
        "--set",
        "selectors.date=span.time",
        "--unset",
        "full_text",
        "--set",
        "name=东盟简报",
    )
    assert edited.returncode == 0, edited.stderr
    entry = source_entry(shipped, "asean-briefing")
    assert entry["selectors"] == {"item": "ul.news li", "date": "span.time"} and "full_text" not in entry
    assert entry["name"] == "东盟简报"

    assert run_cli(tmp_path, "sources", "enable", "asean-briefing").returncode == 0
    assert "enabled" not in source_entry(shipped, "asean-briefing")  # enabled is the default
    assert run_cli(tmp_path, "sources", "disable", "edps-press").returncode == 0
    assert load_sources(shipped).get("edps-press").enabled is False  # type: ignore[union-attr]

    refused = run_cli(tmp_path, "sources", "remove", "asean-briefing")  # no --yes, stdin is not a terminal
    assert refused.returncode == 1 and "Aborted" in refused.stderr
    assert source_entry(shipped, "asean-briefing")
    removed = run_cli(tmp_path, "sources", "remove", "asean-briefing", "--yes")
    assert removed.returncode == 0, removed.stderr
    assert run_cli(tmp_path, "sources", "enable", "edps-press").returncode == 0

    assert shipped.read_text(encoding="utf-8") == old  # everything undone, byte for byte
    assert run_cli(tmp_path, "sources", "check").returncode == 0


def test_cli_invalid_edit_exits_2_naming_the_field(tmp_path: Path, shipped: Path):
    before = shipped.read_bytes()

    bad = run_cli(tmp_path, "sources", "edit", "mofcom-policy", "--set", "schedule=every day")
    unknown = run_cli(tmp_path, "sources", "edit", "mofcom-policy", "--set", "weigth=3")
    duplicate = run_cli(
        tmp_path,
        "sources",
        "add",
        "--id",
        "wto-news",
        "--name",
        "W",
        "--kind",
        "feed",
        "--url",
        "https://w.example/rss",
    )
    missing = run_cli(tmp_path, "sources", "edit", "nope", "--set", "weight=3")
    nothing = run_cli(tmp_path, "sources", "edit", "mofcom-policy")

    assert bad.returncode == 2 and "field schedule = 'every day'" in bad.stderr and "hint:" in bad.stderr
    assert bad.stderr.startswith("error: not saved, the file is unchanged:")
    assert unknown.returncode == 2 and "field weigth: unknown field (did you mean 'weight'?)" in unknown.stderr
    assert duplicate.returncode == 2 and "field id = 'wto-news'" in duplicate.stderr
    assert missing.returncode == 2 and "no source with id 'nope'" in missing.stderr
    assert nothing.returncode == 2 and "nothing to change" in nothing.stderr
    assert shipped.read_bytes() == before and set(_leftovers(tmp_path)) <= {"data"}


def _list_page(httpserver: HTTPServer) -> str:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/empty/index.html").respond_with_data(
        "<html><head><title>新闻中心</title></head><body><div class='nav'><a href='/'>首页</a>"
        "<a href='/about.html'>关于我们</a></div><p>暂无信息</p></body></html>",
        content_type="text/html; charset=utf-8",
    )
    return httpserver.url_for("/empty/index.html")


def test_cli_add_with_test_refuses_a_source_that_yields_no_items(tmp_path: Path, shipped: Path, httpserver: HTTPServer):
    url = _list_page(httpserver)
    before = shipped.read_bytes()
    args = ("sources", "add", "--id", "empty-list", "--name", "空列表", "--kind", "html", "--url", url, "--test")

    refused = run_cli(tmp_path, *args, NEWS_HARVESTER_RETRIES="0")

    assert refused.returncode == 1
    assert "not saved: test of 'empty-list'" in refused.stderr and "parse.no_items" in refused.stderr
    assert "--force" in refused.stderr
    assert shipped.read_bytes() == before

    forced = run_cli(tmp_path, *args, "--force", NEWS_HARVESTER_RETRIES="0")
    assert forced.returncode == 0, forced.stderr
    assert "saving anyway (--force)" in forced.stderr
    assert source_entry(shipped, "empty-list")["url"] == url


def test_cli_add_with_test_saves_a_working_feed(tmp_path: Path, shipped: Path, httpserver: HTTPServer):
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/feed.xml").respond_with_data(
        feeds.rss(feeds.items(base, 3)), content_type="application/rss+xml"
    )
    added = run_cli(
        tmp_path,
        "sources",
        "add",
        "--id",
        "local-feed",
        "--name",
        "本地",
        "--kind",
        "feed",
        "--url",
        f"{base}/feed.xml",
        "--test",
    )
    assert added.returncode == 0, added.stderr
    assert "test: 3 items" in added.stdout and "added source 'local-feed'" in added.stdout
    assert load_sources(shipped).get("local-feed") is not None


def test_the_daemon_reload_reads_what_an_edit_wrote(shipped: Path):
    """The scheduler's reload is load_sources on the file; an edit's output is what it reads."""
    mtime = shipped.stat().st_mtime_ns
    time.sleep(0.01)
    update_source(shipped, "wto-news", {"schedule": "45m"})
    assert shipped.stat().st_mtime_ns != mtime
    assert load_sources(shipped).get("wto-news").schedule == "45m"  # type: ignore[union-attr]


def test_other_layouts_crlf_compact_indentation_no_final_newline_and_a_symlink(tmp_path: Path):
    crlf = tmp_path / "crlf.yaml"
    old = SHIPPED.read_text(encoding="utf-8").replace("\n", "\r\n")
    crlf.write_bytes(old.encode("utf-8"))
    update_source(crlf, "wto-news", {"weight": 3})
    new = crlf.read_bytes().decode("utf-8")
    assert new.count("\n") == new.count("\r\n")
    assert _diff(old, new) == (["    weight: 6"], ["    weight: 3"])

    compact = tmp_path / "compact.yaml"
    compact.write_text(
        "sources:\n- id: a  # first\n  name: A\n  kind: feed\n  url: https://a.example/", encoding="utf-8"
    )
    update_source(compact, "a", {"weight": 2})
    add_source(compact, {"id": "b", "name": "B", "kind": "feed", "url": "https://b.example/", "topics": ["x"]})
    assert compact.read_text(encoding="utf-8") == (
        "sources:\n- id: a  # first\n  name: A\n  kind: feed\n  url: https://a.example/\n  weight: 2\n"
        "\n- id: b\n  name: B\n  kind: feed\n  url: https://b.example/\n  topics: [x]\n"
    )

    real = tmp_path / "real"
    real.mkdir()
    shutil.copyfile(SHIPPED, real / "sources.yaml")
    link = tmp_path / "link.yaml"
    link.symlink_to(real / "sources.yaml")
    set_enabled(link, "wto-news", False)
    assert link.is_symlink() and load_sources(real / "sources.yaml").get("wto-news").enabled is False  # type: ignore[union-attr]
    assert backups(real / "sources.yaml")
