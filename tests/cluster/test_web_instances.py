"""Two ``run --role web`` instances on one PostgreSQL database: two editors acting on the same story through
different instances never lose an update (the stale one gets 409 and succeeds after re-reading)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import httpx
import pytest
from support import Role, query, role_env, wait_for

pytestmark = pytest.mark.postgres
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(tmp_path, db, *args, stdin=None):
    result = subprocess.run(
        [sys.executable, "-m", "news_harvester", *args],
        env=role_env(tmp_path, db),
        cwd=tmp_path,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_two_web_instances_never_lose_an_editor_update(tmp_path, cluster_db):
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    line = {
        "title": "九部门印发数字贸易若干措施",
        "url": "https://www.mofcom.gov.cn/a/1.html",
        "body": "6月11日，商务部等九部门联合印发《关于推进数字贸易高质量发展的若干措施》。",
        "published_at": "2024-06-11",
        "source": "商务部网站",
    }
    (tmp_path / "in.jsonl").write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    cli(tmp_path, cluster_db, "ingest", str(tmp_path / "in.jsonl"))
    for name in ("ed1", "ed2"):
        cli(tmp_path, cluster_db, "users", "add", name, stdin=PASSWORD + "\n")
    [story] = query(cluster_db, "SELECT id FROM stories")
    ports = [free_port(), free_port()]
    webs = [Role(tmp_path, cluster_db, "web", f"web{k}", "--bind", f"127.0.0.1:{p}") for k, p in enumerate(ports)]
    try:
        clients = []
        for port, name in zip(ports, ("ed1", "ed2"), strict=True):
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
            wait_for(lambda c=client: _up(c), timeout=90, what=f"web instance on port {port}")
            login = client.post("/login", json={"name": name, "password": PASSWORD})
            assert login.status_code == 200, login.text
            client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
            clients.append(client)
        one, two = clients
        url = f"/api/stories/{story['id']}"
        seen = [c.get(url).json()["candidate"]["version"] for c in clients]
        assert seen[0] == seen[1]
        first = one.post(f"{url}/actions", json={"action": "shortlist", "version": seen[0]})
        second = two.post(f"{url}/actions", json={"action": "reject", "reason": "重复", "version": seen[1]})
        assert first.status_code == 200, first.text
        assert second.status_code == 409, second.text  # the other instance's change is not overwritten
        assert "ed1" in second.json()["error"]
        fresh = two.get(url).json()["candidate"]
        assert fresh["state"] == "shortlisted"
        retry = two.post(f"{url}/actions", json={"action": "reject", "reason": "重复", "version": fresh["version"]})
        assert retry.status_code == 200, retry.text
        audit = one.get(f"{url}/audit").json()  # newest first; the refused action left no trace
        assert [(e["user"], e["action"]) for e in audit] == [("ed2", "reject"), ("ed1", "shortlist")]
        for client in clients:
            client.close()
    finally:
        for web in webs:
            web.stop()
    for web in webs:
        assert "Traceback" not in web.output()


def _up(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.HTTPError:
        return False
