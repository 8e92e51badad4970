"""``news-harvester backup`` / ``restore`` with the real CLI (subprocesses) on real SQLite files, plus the
deployment examples (docker-compose.yml, the systemd unit)."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from ruamel.yaml import YAML

from news_harvester.store.engine import make_engine
from procs import cli_env, run_cli

ROOT = Path(__file__).resolve().parent.parent
DB = Path("data") / "news_harvester.db"

RECORDS = [
    (
        "商务部发布《数字贸易发展报告》",
        "商务部今日发布数字贸易发展报告，全国可数字化交付的服务贸易进出口规模持续扩大。",
        "商务部网站",
    ),
    (
        "跨境电商综试区扩围",
        "国务院常务会议部署加快发展跨境电子商务，完善海外仓布局，优化通关监管和退税流程。",
        "新华网",
    ),
    (
        "五G基站总数突破三百万",
        "工业和信息化部表示，五G基站总数已超过三百万个，千兆光网和算力基础设施加快建设。",
        "人民网",
    ),
    (
        "数据出境安全评估办法征求意见",
        "国家数据局就数据出境安全评估办法征求意见，明确个人信息保护认证和标准合同的适用范围。",
        "中国政府网",
    ),
]


def ingest(tmp: Path) -> None:
    """Five articles as four stories: the first story is reported by two outlets."""
    published = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    lines = [
        {
            "title": title,
            "url": f"https://news.example.cn/{n}.html",
            "body": body,
            "source": source,
            "published_at": published,
        }
        for n, (title, body, source) in enumerate(RECORDS)
    ]
    lines.append(dict(lines[0], url="https://reprint.example.cn/a.html", source="转载网"))
    (tmp / "sources.yaml").write_text(
        "sources:\n  - {id: mofcom, name: 商务部网站, kind: feed, url: 'http://127.0.0.1:9/x.xml'}\n", encoding="utf-8"
    )
    path = tmp / "items.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), encoding="utf-8")
    done = run_cli(tmp, "ingest", str(path), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["new"] == 5 and report["stories_new"] == 4, report


def listing(tmp: Path) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """``stories list --json`` (members, states = the queue) and ``articles list --json``, run side by side."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "news_harvester", what, "list", "--json", "--limit", "1000"],
            env=cli_env(tmp),
            cwd=tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for what in ("stories", "articles")
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), outputs
    return json.loads(outputs[0][0]), json.loads(outputs[1][0])


def count(db: Path, sql: str) -> object:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchone()[0]


@pytest.fixture(scope="module")
def harvested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with four stories (one reported twice), one accepted and one rejected."""
    tmp = tmp_path_factory.mktemp("harvested")
    ingest(tmp)
    with sqlite3.connect(tmp / DB) as conn:  # an editor's decisions: the queue is not all "new"
        conn.execute("UPDATE candidates SET state = 'accepted' WHERE story_id = (SELECT min(story_id) FROM articles)")
        conn.execute("UPDATE candidates SET state = 'rejected' WHERE story_id = (SELECT max(story_id) FROM articles)")
    return tmp


def writer_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM fetch_runs WHERE source_id = 'writer'").fetchone()[0])


class Writer(threading.Thread):
    """Commits two fetch_runs rows per transaction, as fast as the database lets it, until stopped."""

    def __init__(self, db: Path) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.committed = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            conn = sqlite3.connect(self.db, timeout=15, isolation_level=None)
            try:
                while not self.stop.is_set():
                    conn.execute("BEGIN IMMEDIATE")
                    for _ in range(2):
                        conn.execute(
                            "INSERT INTO fetch_runs (source_id, started_at, outcome, message) VALUES (?, ?, 'ok', ?)",
                            ("writer", datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"), "x" * 2000),
                        )
                    conn.execute("COMMIT")
                    self.committed += 2
            finally:
                conn.close()
        except BaseException as exc:  # reported by the test
            self.error = exc


def test_backup_while_writing_restores_the_same_articles_and_queue(harvested, tmp_path):
    source, fresh = harvested, tmp_path
    stories, articles = listing(source)
    assert {s["state"] for s in stories} == {"new", "accepted", "rejected"}
    assert max(len(s["members"]) for s in stories) == 2

    writer = Writer(source / DB)
    writer.start()
    try:
        while writer.committed < 200 and writer.error is None:
            threading.Event().wait(0.01)
        before = writer.committed
        done = run_cli(source, "backup")
        after = writer.committed
    finally:
        writer.stop.set()
        writer.join(10)
    assert writer.error is None, writer.error
    assert done.returncode == 0, done.stderr
    assert after > before, "the writer must keep committing while the backup runs"
    backup = Path(done.stdout.strip())
    assert backup.parent == source / "data" / "backups"
    assert re.fullmatch(r"news_harvester-\d{8}T\d{6}Z\.db", backup.name)
    copied = writer_rows(backup)
    assert before <= copied <= writer.committed, "a snapshot taken during the backup"
    assert copied % 2 == 0, "one consistent snapshot: whole transactions only"
    assert not list(backup.parent.glob(".*partial*")), "no partial file left behind"

    restored = run_cli(fresh, "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert "restored" in restored.stdout
    assert not (fresh / "data" / "news_harvester.db-wal").exists()
    assert count(fresh / DB, "PRAGMA journal_mode") == "delete"  # the daemon switches it to WAL when it opens it
    assert listing(fresh) == (stories, articles)
    assert writer_rows(fresh / DB) == copied


def test_restore_refuses_to_replace_a_database_unless_forced_and_never_one_in_use(harvested, tmp_path):
    backup = tmp_path / "nightly.db"
    done = run_cli(harvested, "backup", "-o", str(backup))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(backup)
    target = tmp_path / "target"
    target.mkdir()
    assert run_cli(target, "restore", str(backup)).returncode == 0
    db = target / DB
    with sqlite3.connect(db) as conn:  # work done after the backup
        conn.execute("UPDATE articles SET title = 'changed since the backup'")

    refused = run_cli(target, "restore", str(backup))
    assert refused.returncode == 1
    assert "already exists" in refused.stderr and "--force" in refused.stderr
    assert count(db, "SELECT count(*) FROM articles WHERE title = 'changed since the backup'") == 5

    in_use = sqlite3.connect(db)  # as the daemon has it open
    try:
        in_use.execute("PRAGMA journal_mode=WAL").fetchone()
        in_use.execute("SELECT count(*) FROM stories").fetchone()
        busy = run_cli(target, "restore", str(backup), "--force")
    finally:
        in_use.close()
    assert busy.returncode == 1
    assert "in use" in busy.stderr and "stop the daemon" in busy.stderr
    assert not list((target / "data").glob("*.before-restore-*"))

    forced = run_cli(target, "restore", str(backup), "--force")
    assert forced.returncode == 0, forced.stderr
    [kept] = (target / "data").glob("news_harvester.db.before-restore-*")
    assert str(kept) in forced.stdout
    assert re.fullmatch(r"news_harvester\.db\.before-restore-\d{8}T\d{6}Z", kept.name)
    assert count(kept, "PRAGMA integrity_check") == "ok"  # the replaced database is kept whole
    assert count(kept, "SELECT count(*) FROM articles WHERE title = 'changed since the backup'") == 5
    assert count(db, "SELECT count(*) FROM articles WHERE title = 'changed since the backup'") == 0
    assert count(db, "SELECT count(*) FROM stories") == 4


def test_restore_rejects_files_that_are_not_news_harvester_backups(tmp_path):
    not_sqlite = tmp_path / "notes.db"
    not_sqlite.write_text("SQLite format 3? no: just some notes\n" * 50, encoding="utf-8")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    damaged = tmp_path / "damaged.db"
    with sqlite3.connect(damaged) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('0001')")
        conn.execute("CREATE TABLE articles (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("CREATE INDEX ix_body ON articles (body)")
        conn.executemany("INSERT INTO articles (body) VALUES (?)", [(f"正文 {n} " * 40,) for n in range(300)])
    with damaged.open("r+b") as handle:  # a page in the middle overwritten, as a bad disk would
        handle.seek(4096 * 20)
        handle.write(b"\x5a" * 4096)

    for path, message in [
        (not_sqlite, "is not a SQLite database"),
        (other, "is not a news-harvester database (it has no alembic_version table)"),
        (damaged, "damaged"),
        (tmp_path / "missing.db", "there is no backup file"),
    ]:
        done = run_cli(tmp_path, "restore", str(path), "--force")
        assert done.returncode == 1, done.stderr
        assert message in done.stderr
        assert str(path) in done.stderr
        assert not (tmp_path / DB).exists(), "nothing is put in place"
        assert not (tmp_path / "data").exists() or list((tmp_path / "data").iterdir()) == []


def test_backup_of_an_older_schema_is_migrated_at_the_next_start(tmp_path):
    old = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{old}")
    config = Config()
    config.set_main_option("script_location", "news_harvester:migrations")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
    engine.dispose()

    done = run_cli(tmp_path, "restore", str(old))
    assert done.returncode == 0, done.stderr
    assert "schema revision 0004" in done.stdout and "migrated" in done.stdout
    listed = run_cli(tmp_path, "stories", "list", "--json")  # the next start upgrades it
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []
    with sqlite3.connect(tmp_path / DB) as conn:
        [(revision,)] = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    assert revision != "0004"


def test_backup_refuses_postgresql_and_points_to_pg_dump(tmp_path):
    done = run_cli(tmp_path, "backup", NEWS_HARVESTER_DATABASE_URL="postgresql://harvester:s3cret@127.0.0.1:1/news")
    assert done.returncode == 2
    assert "pg_dump" in done.stderr and "pg_restore" in done.stderr
    assert "s3cret" not in done.stderr
    assert run_cli(tmp_path, "backup").returncode == 1  # no database yet: nothing to back up
    assert not (tmp_path / "data" / "backups").exists() or not list((tmp_path / "data" / "backups").iterdir())


# --------------------------------------------------------------------------- deployment examples


def test_docker_compose_file_declares_database_and_harvester_with_healthchecks():
    compose = YAML(typ="safe").load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"db", "harvester"}
    db, harvester = services["db"], services["harvester"]
    assert db["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    assert harvester["build"] == "."
    assert harvester["environment"]["NEWS_HARVESTER_DATABASE_URL"].startswith("postgresql://")
    assert "@db:5432/" in harvester["environment"]["NEWS_HARVESTER_DATABASE_URL"]
    assert harvester["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert any(p.endswith("8000:8000") for p in harvester["ports"])
    assert any(v.endswith(":/data") for v in harvester["volumes"])
    assert "./config:/config" in harvester["volumes"]
    assert harvester["restart"] == "unless-stopped"
    assert "/healthz" in " ".join(harvester["healthcheck"]["test"])
    named = {v.split(":")[0] for s in services.values() for v in s["volumes"] if not v.startswith(".")}
    assert named <= set(compose["volumes"])


def test_systemd_unit_runs_the_daemon_hardened():
    unit = (ROOT / "deploy" / "news-harvester.service").read_text(encoding="utf-8")
    sections: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for line in unit.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        assert "#" not in value, f"systemd has no end-of-line comments: {line}"
        sections.setdefault(current, []).append((key, value))
    assert set(sections) == {"Unit", "Service", "Install"}
    service = dict(sections["Service"])
    assert service["ExecStart"] == "/opt/news-harvester/.venv/bin/news-harvester run"
    assert service["User"] == "news-harvester"
    assert service["Restart"] == "on-failure"
    assert service["TimeoutStopSec"] == "15"
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert "WorkingDirectory" in service
    environment = [v for k, v in sections["Service"] if k == "Environment"]
    data_dir = next(v.split("=", 1)[1] for v in environment if v.startswith("NEWS_HARVESTER_DATA_DIR="))
    sources = next(v.split("=", 1)[1] for v in environment if v.startswith("NEWS_HARVESTER_SOURCES="))
    writable = service["ReadWritePaths"].split()
    assert data_dir in writable and str(Path(sources).parent) in writable
    assert dict(sections["Install"])["WantedBy"] == "multi-user.target"
