"""Screenshots of the review app at 1400 px, so a reviewer can see it without running it.

Run:  make screenshots          (or: .venv/bin/python tools/screenshots.py [--out docs/screenshots])

What it does: a temp data dir; three sources in a sources.yaml (a local RSS feed served from this process and
harvested once with ``news-harvester harvest --once``, a source whose server refuses connections, a disabled
one); the realistic stories of the browser tests (tests/browser_support.py) loaded with ``news-harvester
ingest``; an admin made with ``users add``; a draft issue filled with ``issue add``; then the real daemon
(``run --web-only``) and headless Chromium (Playwright, /usr/bin/chromium) signing in through the form and
capturing the queue, a story, the issue's assembly screen and the source page as full-page PNGs.

Needs Debian's chromium and a CJK font (``apt-get install chromium fonts-noto-cjk``); without the font the
Chinese text renders as boxes. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser_support import ITEMS, PASSWORD, add_users, ingest, web_daemon  # noqa: E402
from procs import run_cli  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
WIDTH = 1400


def local_feed() -> tuple[ThreadingHTTPServer, str]:
    """A tiny RSS feed and its article on 127.0.0.1, for the source page's healthy source."""
    when = (datetime.now(UTC) - timedelta(hours=2)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    pages = {
        "/feed.xml": (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>商务部新闻</title><item>'
            f"<title>商务部召开数字贸易发展专题新闻发布会</title><link>{base}/a1.html</link><pubDate>{when}</pubDate>"
            "<description>商务部介绍数字贸易发展情况。</description></item></channel></rss>",
            "application/rss+xml",
        ),
        "/a1.html": (
            "<html><head><meta charset='utf-8'><title>商务部召开数字贸易发展专题新闻发布会</title></head><body>"
            "<h1>商务部召开数字贸易发展专题新闻发布会</h1><div class='content'><p>"
            + "商务部新闻发言人介绍，今年以来我国数字贸易保持较快增长，可数字化交付的服务贸易规模稳步扩大。" * 5
            + "</p></div></body></html>",
            "text/html; charset=utf-8",
        ),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, kind = pages.get(self.path, ("", "text/plain"))
            data = body.encode("utf-8")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server.RequestHandlerClass = Handler
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, base


def cli(tmp: Path, *args: str) -> str:
    done = run_cli(tmp, *args)
    if done.returncode != 0:
        sys.exit(f"news-harvester {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def prepare(tmp: Path) -> dict[str, int]:
    """The data dir: sources harvested, stories ingested, a draft issue with three items; story ids by item key."""
    server, base = local_feed()
    try:
        (tmp / "sources.yaml").write_text(
            "sources:\n"
            f"  - {{id: mofcom-news, name: 商务部新闻, kind: feed, url: '{base}/feed.xml', weight: 10,"
            " respect_robots: false}\n"
            "  - {id: broken-site, name: 某地方商务局, kind: feed, url: 'http://127.0.0.1:9/rss.xml', weight: 3}\n"
            "  - {id: paused, name: 已停用的来源, kind: feed, url: 'http://127.0.0.1:9/old.xml', enabled: false}\n",
            encoding="utf-8",
        )
        run_cli(tmp, "harvest", "--once", "--json")  # the broken source fails: that is its row on the page
    finally:
        server.shutdown()
    report = ingest(tmp, [item.record(datetime.now(UTC)) for item in ITEMS])
    if report["errors"]:
        sys.exit(f"ingest failed: {report['errors']}")
    add_users(tmp, [("主编", "admin")])
    stories = {s["canonical_url"]: s["id"] for s in json.loads(cli(tmp, "stories", "list", "--json"))}
    ids = {item.key: stories[item.url] for item in ITEMS if item.url in stories}
    cli(tmp, "issue", "new")
    for key in ("policy", "ai", "datasec"):
        if key in ids:
            cli(tmp, "issue", "add", str(ids[key]))
    return ids


def capture(base_url: str, out: Path, story_id: int) -> list[Path]:
    from playwright.sync_api import sync_playwright

    shots = [("queue", "/"), ("story", f"/stories/{story_id}"), ("assembly", "/issues/current"),
             ("sources", "/admin/sources")]  # fmt: skip
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        context = browser.new_context(base_url=base_url, locale="zh-CN", viewport={"width": WIDTH, "height": 900})
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("用户名", exact=True).fill("主编")
        page.get_by_label("密码", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        page.wait_for_url(base_url + "/")
        for name, path in shots:
            page.goto(path)
            page.wait_for_load_state("networkidle")
            target = out / f"{name}.png"
            page.screenshot(path=str(target), full_page=True)
            written.append(target)
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install chromium fonts-noto-cjk")
    if not list(Path("/usr/share/fonts").rglob("*CJK*")):
        print("warning: no CJK font found (apt-get install fonts-noto-cjk): Chinese text will show as boxes")
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="nh-screenshots-"))
    try:
        ids = prepare(tmp)
        with web_daemon(tmp) as daemon:
            for path in capture(daemon.base_url, args.out, ids["policy"]):
                print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
