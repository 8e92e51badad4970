"""A fork server for ``run_cli``: it imports the command's modules once, then forks one child per command.

Why: the fast tier runs ~200 ``news-harvester`` commands, and each fresh interpreter spent ~0.6 s of CPU importing
SQLAlchemy, pydantic, numpy and the product before doing anything (on a 2-vCPU machine that was a third of the
run). A forked child still runs the real command: ``runpy`` runs ``news_harvester`` as ``__main__`` (as
``python -m news_harvester`` does) with the test's arguments, environment and working directory, its own stdin,
stdout and stderr (files the caller passed over the socket) and its own exit code; threads are joined
and ``atexit`` handlers run as at interpreter exit. Modules are imported here but nothing is run, so no state
(settings, connections, caches) is shared between commands. What differs from a fresh process: import-time
warnings are printed once here rather than by every command, and the hash seed is the server's.
``NEWS_HARVESTER_TEST_FRESH_CLI=1`` runs every command as a fresh interpreter instead (``.ci/run`` does).

Protocol (one connection per command, on a Unix socket): the caller sends an 8-byte length with three file
descriptors (stdout, stderr, stdin), then that many bytes of JSON ``{"args", "env", "cwd"}``; the server answers the
child's pid (8 bytes) at once and its exit code (8 bytes, signed, ``-N`` for signal N) when it has ended.

Run as ``python cli_forkserver.py SOCKET_PATH``; it prints ``ready`` when it listens and exits when its stdin
closes (the test process ended).
"""

from __future__ import annotations

import atexit
import gc
import importlib
import io
import json
import os
import random
import runpy
import select
import signal
import socket
import struct
import sys
import threading
import traceback

PRELOAD = (
    "news_harvester.cli.main",
    "news_harvester.cli.common",
    "news_harvester.cli.articles",
    "news_harvester.cli.sources",
    "news_harvester.cli.stories",
    "news_harvester.cli.issues",
    "news_harvester.cli.figures",
    "news_harvester.cli.users",
    "news_harvester.cli.ops",
    "news_harvester.wiring",
    "news_harvester.stories.classifier",
    "news_harvester.store.repository",
    "alembic.command",
    "httpx",
    "feedparser",
    "bs4",
    "lxml.html",
)


def _child(request: dict[str, object], out_fd: int, err_fd: int, in_fd: int) -> None:
    """In the forked child: become the command, then exit with its code (never returns)."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.chdir(str(request["cwd"]))
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})  # type: ignore[call-overload]
        os.dup2(in_fd, 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        for fd in (in_fd, out_fd, err_fd):
            os.close(fd)
        unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))
        sys.stdin = sys.__stdin__ = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding=sys.stdin.encoding)
        sys.stdout = sys.__stdout__ = io.TextIOWrapper(
            io.FileIO(1, "w", closefd=False), encoding=sys.stdout.encoding, errors=sys.stdout.errors,
            write_through=unbuffered,
        )
        sys.stderr = sys.__stderr__ = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False), encoding=sys.stderr.encoding, errors="backslashreplace",
            line_buffering=True,
        )
        random.seed()
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        sys.argv = ["news_harvester", *[str(a) for a in list(request["args"])]]  # type: ignore[call-overload]
        try:
            runpy.run_module("news_harvester", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = _exit_code(exc.code)
        except BaseException:
            traceback.print_exc()
            code = 1
        threading._shutdown()  # type: ignore[attr-defined]  # the interpreter joins non-daemon threads at exit
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
    finally:
        os._exit(code)


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def serve(path: str) -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()  # children share the imported modules' pages instead of copying them at the first collection
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    pending: dict[int, socket.socket] = {}
    print("ready", flush=True)
    while True:
        ready, _, _ = select.select([listener, wake_r, sys.stdin], [], [], 1.0)
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 64):
            return  # the test process has gone
        if wake_r in ready:
            os.read(wake_r, 4096)
        _reap(pending)
        if listener in ready:
            conn, _ = listener.accept()
            header, fds, _, _ = socket.recv_fds(conn, 8, 3)
            (size,) = struct.unpack("!Q", header)
            body = b""
            while len(body) < size:
                chunk = conn.recv(size - len(body))
                if not chunk:
                    break
                body += chunk
            request = json.loads(body)
            pid = os.fork()
            if pid == 0:
                listener.close()
                conn.close()
                for held in pending.values():
                    held.close()
                os.close(wake_r)
                os.close(wake_w)
                _child(request, fds[0], fds[1], fds[2])
            for fd in fds:
                os.close(fd)
            conn.sendall(struct.pack("!q", pid))
            pending[pid] = conn


def _reap(pending: dict[int, socket.socket]) -> None:
    while pending:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = pending.pop(pid, None)
        if conn is not None:
            try:
                conn.sendall(struct.pack("!q", os.waitstatus_to_exitcode(status)))
            except OSError:
                pass  # the caller gave up (timeout) and closed its end
            conn.close()


if __name__ == "__main__":
    serve(sys.argv[1])
