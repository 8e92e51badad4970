"""The fork server that runs ``run_cli`` (tests/cli_forkserver.py) gives what a fresh ``python -m news_harvester``
gives: the same exit code, stdout and stderr for a listing, a JSON answer, a usage error and a failing command, the
test's environment and working directory, stdin at end of file, and a timeout that kills the command."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import procs
from procs import cli_env, run_cli, slow_feed_server


def _fresh(tmp_path, *args, **extra):
    return subprocess.run([sys.executable, "-m", "news_harvester", *args], env=cli_env(tmp_path, **extra),
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.delenv("NEWS_HARVESTER_TEST_FRESH_CLI", raising=False)  # this file tests the forked path
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - {id: mofcom, name: 商务部, kind: feed, url: 'http://127.0.0.1:9/x.xml'}\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("args", [
    ("sources", "list"),
    ("articles", "list", "--json"),
    ("users", "list", "--json"),
    ("issue", "show", "999"),          # an error: one line on stderr, exit 1
    ("stories", "list", "--limit", "x"),  # a usage error: exit 2
    ("--version",),
])
def test_a_forked_command_answers_as_a_fresh_interpreter_does(workdir, args):
    forked = run_cli(workdir, *args)
    fresh = _fresh(workdir, *args)
    assert (forked.returncode, forked.stdout, forked.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr)
    assert forked.args == [sys.executable, "-m", "news_harvester", *args]


def test_a_forked_command_gets_the_tests_environment_and_directory(workdir):
    other = workdir / "elsewhere"
    other.mkdir()
    (other / "sources.yaml").write_text("sources:\n  - {id: xinhua, name: 新华网, kind: feed, url: 'http://127.0.0.1:9/y'}\n",
                                        encoding="utf-8")
    listed = run_cli(workdir, "sources", "list", "--json", NEWS_HARVESTER_SOURCES=str(other / "sources.yaml"))
    assert [s["id"] for s in json.loads(listed.stdout)] == ["xinhua"]
    again = run_cli(workdir, "sources", "list", "--json")
    assert [s["id"] for s in json.loads(again.stdout)] == ["mofcom"], "nothing of one command's settings stays"
    assert "NEWS_HARVESTER_SOURCES" not in os.environ


def test_stdin_is_at_end_of_file_as_for_a_command_run_without_input(workdir):
    empty = run_cli(workdir, "users", "add", "someone")
    assert empty.returncode == 2 and "no password on stdin" in empty.stderr


def test_a_command_past_its_timeout_is_killed(workdir):
    with slow_feed_server(1, 1, delay=30.0) as server:
        (workdir / "sources.yaml").write_text(
            f"sources:\n  - {{id: slow, name: Slow, kind: feed, url: '{server.url_for('/f0.xml')}'}}\n",
            encoding="utf-8")
        with pytest.raises(subprocess.TimeoutExpired):
            run_cli(workdir, "harvest", "--once", timeout=3)
    assert procs._SERVER and procs._SERVER[0].process.poll() is None, "the server lives on"
    assert run_cli(workdir, "--version").returncode == 0


def test_input_is_the_commands_stdin(workdir):
    added = run_cli(workdir, "users", "add", "张编辑", input="long enough password\r\n")
    assert added.returncode == 0, added.stderr
    short = run_cli(workdir, "users", "add", "newbie", input="short\n")
    fresh = _fresh_with_input(workdir, "short\n", "users", "add", "newbie")
    assert (short.returncode, short.stderr) == (fresh.returncode, fresh.stderr) and short.returncode == 2


def _fresh_with_input(tmp_path, given, *args):
    return subprocess.run([sys.executable, "-m", "news_harvester", *args], env=cli_env(tmp_path), cwd=tmp_path,
                          input=given, capture_output=True, text=True, timeout=120, check=False)
