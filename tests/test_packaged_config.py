"""Runs from anywhere (issue 19, part 5): sources.yaml and topics.yaml ship inside the package, an installed copy
starts in an empty directory on them and says so, ``init`` writes editable copies, the packaged files are never
edited in place, and a PostgreSQL URL without its driver names the extra to install.

The last test builds a wheel of this checkout, installs it into a fresh virtualenv (dependencies borrowed from
the test environment, the package itself only from the wheel) and starts ``news-harvester run`` outside the
checkout; nothing is downloaded (no build isolation, ``--no-index``: the dev extra brings a setuptools that
builds wheels by itself).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import sysconfig
import urllib.request
from pathlib import Path

import pytest

from news_harvester.config import is_packaged_default, load_settings, load_sources, packaged_default
from news_harvester.errors import StorageError
from news_harvester.store.engine import make_engine
from news_harvester.stories.topics import load_taxonomy
from procs import drain, wait_until

ROOT = Path(__file__).resolve().parent.parent


def test_an_empty_directory_runs_on_the_packaged_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.sources == packaged_default("sources.yaml")
    assert settings.topics == packaged_default("topics.yaml")
    assert settings.sources.read_bytes() == (ROOT / "config" / "sources.yaml").read_bytes()
    assert len(load_sources(settings.sources).enabled) >= 20
    assert {t.id for t in load_taxonomy(settings.topics).topics} >= {"digital-trade", "ai", "fintech"}
    # in a checkout the packaged files are links to config/, the working copies: editable, not "packaged"
    assert not is_packaged_default(settings.sources)


def test_files_that_exist_or_were_named_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    settings = load_settings(environ={"NEWS_HARVESTER_TOPICS": str(tmp_path / "missing.yaml")})
    assert settings.sources == Path("config/sources.yaml")  # the working directory's own file
    assert settings.topics == tmp_path / "missing.yaml"  # named explicitly: never replaced behind one's back


def test_init_writes_editable_copies_and_a_settings_file(tmp_path: Path) -> None:
    target = tmp_path / "desk"
    done = subprocess.run(
        [sys.executable, "-m", "news_harvester", "init", str(target)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    for name in ("sources.yaml", "topics.yaml"):
        assert (target / "config" / name).read_bytes() == packaged_default(name).read_bytes()
    settings = load_settings(config_file=target / "news-harvester.toml", environ={})
    assert settings.sources == target / "config" / "sources.yaml"
    assert settings.data_dir == target / "data"
    assert "news-harvester --config" in done.stdout
    again = subprocess.run(
        [sys.executable, "-m", "news_harvester", "init", str(target)], capture_output=True, text=True, check=False
    )
    assert again.returncode != 0 and "already there, nothing written" in again.stderr
    (target / "config" / "sources.yaml").write_text("changed\n", encoding="utf-8")
    forced = subprocess.run(
        [sys.executable, "-m", "news_harvester", "init", str(target), "--force"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert forced.returncode == 0 and (target / "config" / "sources.yaml").read_bytes() != b"changed\n"


def test_postgresql_without_its_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if psycopg were not installed
    with pytest.raises(StorageError, match=r"pip install 'news-harvester\[postgres\]'"):
        make_engine("postgresql://user@127.0.0.1/db")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_a_wheel_in_a_fresh_venv_serves_the_app_from_an_empty_directory(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q"),
            *("-w", str(wheels), str(ROOT)),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    wheel = next(wheels.glob("news_harvester-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Dependencies from the test environment (a plain path entry: its .pth files, the editable install of this
    # checkout among them, are not processed); the package itself only from the wheel.
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", site, str(wheel)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWS_HARVESTER_", "PYTHON"))}
    where = subprocess.run(
        [str(python), "-c", "import news_harvester, sys; print(news_harvester.__file__)"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(site), where  # the wheel's copy, not this checkout
    port = _free_port()
    env |= {"NEWS_HARVESTER_START_STAGGER": "600", "NEWS_HARVESTER_LOG_LEVEL": "INFO"}
    proc = subprocess.Popen(
        [str(python), "-m", "news_harvester", "run", "--bind", f"127.0.0.1:{port}"],
        cwd=empty,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = drain(proc)
    try:

        def healthy() -> bool:
            if proc.poll() is not None:
                raise AssertionError("the daemon exited: " + "".join(output))
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    return bool(answer.status == 200)
            except OSError:
                return False

        assert wait_until(healthy, timeout=90), "".join(output)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as page:
            assert "登录" in page.read().decode("utf-8")
        log = "".join(output)
        assert "packaged default sources.yaml and topics.yaml" in log and "news-harvester init" in log, log
        assert (empty / "data" / "news_harvester.db").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    # an edit of the packaged sources.yaml is refused with the way out
    refused = subprocess.run(
        [str(python), "-m", "news_harvester", "sources", "disable", "mofcom-policy"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2 and "news-harvester init" in refused.stderr, refused.stderr
