"""`run --web-only` serves the review app from one process per core on one port (settings.web_processes): every
process answers signed-in editors (sessions live in the database), a stop takes them all down, and a parent
killed with SIGKILL takes them along. A harvesting daemon refuses more than one (its run-now button needs the
scheduler's process). The real CLI and daemon, real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import time

import httpx
import psutil

from procs import drain, popen_cli, run_cli, wait_until

PASSWORD = "编辑部 correct horse 1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def web_children(pid: int) -> list[psutil.Process]:
    """The extra web processes: spawned Python children of the daemon."""
    found = []
    for child in psutil.Process(pid).children():
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def start(tmp_path, port: int, processes: str):
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    assert run_cli(tmp_path, "db", "upgrade").returncode == 0
    done = run_cli(tmp_path, "users", "add", "编辑", input=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    proc = popen_cli(
        tmp_path, "run", "--web-only", "--bind", f"127.0.0.1:{port}",
        NEWS_HARVESTER_WEB_PROCESSES=processes, NEWS_HARVESTER_LOG_LEVEL="INFO",
    )  # fmt: skip
    lines = drain(proc)
    base = f"http://127.0.0.1:{port}"
    assert wait_until(lambda: _up(base), 60), "\n".join(lines)
    return proc, lines, base


def idle(children: list[psutil.Process]) -> bool:
    """No CPU used for half a second (start-up done: imports, the queue index)."""
    before = [sum(c.cpu_times()[:2]) for c in children]
    time.sleep(0.5)
    return [sum(c.cpu_times()[:2]) for c in children] == before


def _up(base: str) -> bool:
    try:
        return httpx.get(base + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_web_only_serves_from_several_processes_and_stops_them_all(tmp_path):
    port = free_port()
    proc, lines, base = start(tmp_path, port, "3")
    try:
        assert wait_until(lambda: len(web_children(proc.pid)) == 2, 30), "\n".join(lines)
        children = web_children(proc.pid)
        # editors on fresh connections are served (by whichever process accepts), each time signed in
        with httpx.Client(base_url=base, timeout=10) as client:
            assert client.post("/login", json={"name": "编辑", "password": PASSWORD}).status_code == 200
            cookies = dict(client.cookies)
        assert wait_until(lambda: idle(children), 30), "the extra processes never settled after start-up"
        before = {c.pid: sum(c.cpu_times()[:2]) for c in children}
        for _ in range(60):
            with httpx.Client(base_url=base, cookies=cookies, timeout=10) as client:  # a new connection each time
                page = client.get("/")
                assert page.status_code == 200 and 'id="queue"' in page.text
        busy = [pid for pid, cpu in before.items() if sum(psutil.Process(pid).cpu_times()[:2]) > cpu + 0.05]
        assert busy, "the extra processes answered no page"
        assert any("3 processes" in line for line in lines), "\n".join(lines)
        # the port is this daemon's: a second one is refused, not silently added to the group
        second = run_cli(tmp_path, "run", "--web-only", "--bind", f"127.0.0.1:{port}", NEWS_HARVESTER_WEB_PROCESSES="2")
        assert second.returncode != 0 and "cannot listen on" in second.stderr, second.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0, "\n".join(lines)
        assert wait_until(lambda: not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children), 10)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_extra_web_processes_die_with_a_killed_parent(tmp_path):
    proc, lines, _base = start(tmp_path, free_port(), "2")
    try:
        assert wait_until(lambda: len(web_children(proc.pid)) == 1, 30), "\n".join(lines)
        child = web_children(proc.pid)[0]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert wait_until(lambda: not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, 15)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_harvesting_daemon_refuses_several_web_processes(tmp_path):
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    started = time.monotonic()
    done = run_cli(tmp_path, "run", "--bind", f"127.0.0.1:{free_port()}", NEWS_HARVESTER_WEB_PROCESSES="2")
    assert done.returncode != 0 and time.monotonic() - started < 60
    assert "web_processes > 1 needs `run --web-only`" in done.stderr, done.stderr
