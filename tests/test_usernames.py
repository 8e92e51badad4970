"""User names ignore case (issue 21): ``Editor`` and ``editor`` are one account for creation, look-up, sign-in,
the login throttle and the ``users`` CLI. Databases from before may hold two names differing only by case: each
still signs in with its exact name, an ambiguous spelling finds neither, and nothing crashes. On SQLite and
PostgreSQL, through the real app and the real CLI."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from news_harvester.errors import StorageError
from news_harvester.store.schema import users
from news_harvester.store.users import AmbiguousUserName, name_key
from news_harvester.stories.assign import StoryService
from news_harvester.web.accounts import NAME_FAILURES
from news_harvester.web.app import create_app
from passwords import CHEAP_HASHER
from procs import run_cli

PASSWORD = "编辑部的密码 horse 7"
HASHER = CHEAP_HASHER


def _client(repository) -> TestClient:
    app = create_app(database_ok=lambda: True, scheduler_ok=lambda: True, sources_health=lambda: [],
                     repository=repository, stories=StoryService(window=timedelta(days=90)))
    return TestClient(app, base_url="https://testserver", follow_redirects=False)


def _sign_in(client: TestClient, name: str, password: str = PASSWORD):
    return client.post("/login", json={"name": name, "password": password})


def _legacy_user(repository, name: str, password: str) -> int:
    """A row as an older version stored it, without today's case check (straight into the table)."""
    with repository.engine.begin() as conn:
        return int(conn.execute(sa.insert(users).values(
            name=name, password_hash=HASHER.hash(password), role="editor", disabled=False,
            created_at=datetime.now(UTC)).returning(users.c.id)).scalar_one())


def test_names_fold_case():
    assert name_key("Editor") == name_key("EDITOR") == name_key("editor") == "editor"
    assert name_key("Straße") == name_key("STRASSE")
    assert name_key("李编辑") == "李编辑"
    assert name_key("Ådne") == name_key("ÅDNE") != name_key("Adne")
    assert name_key("A\u030adne") == name_key("ådne"), "composed and decomposed spellings are one name"


def test_a_name_differing_only_by_case_is_taken(any_repository):
    repository = any_repository
    now = datetime.now(UTC)
    first = repository.add_user("Editor", HASHER.hash(PASSWORD), "editor", now)
    with pytest.raises(StorageError) as taken:
        repository.add_user("editor", HASHER.hash(PASSWORD), "admin", now)
    assert taken.value.code == "storage.conflict"
    assert "already exists as 'Editor'" in taken.value.message
    assert [u.name for u in repository.list_users()] == ["Editor"]
    assert repository.get_user_by_name("EDITOR").id == first
    assert repository.find_user("eDiToR").name == "Editor"
    assert repository.set_user_disabled("EDITOR", True) is True
    assert repository.get_user(first).disabled


def test_sign_in_ignores_case_and_keeps_the_stored_name(any_repository):
    repository = any_repository
    repository.add_user("Editor", HASHER.hash(PASSWORD), "editor", datetime.now(UTC))
    client = _client(repository)
    signed = _sign_in(client, "EDITOR")
    assert signed.status_code == 200, signed.text
    assert signed.json()["name"] == "Editor", "the session (and every audit entry) carries the stored name"
    assert _sign_in(_client(repository), "editor", "wrong password").status_code == 401


def test_each_spelling_counts_against_one_throttle(any_repository):
    """Five guesses per account name: spelling the name differently each time must not buy more."""
    repository = any_repository
    repository.add_user("Editor", HASHER.hash(PASSWORD), "editor", datetime.now(UTC))
    client = _client(repository)
    spellings = ["Editor", "editor", "EDITOR", "eDITOR", "EdItOr", "edITor"]
    for name in spellings[:NAME_FAILURES]:
        assert _sign_in(client, name, "wrong password").status_code == 401
    assert _sign_in(client, spellings[NAME_FAILURES]).status_code == 429


def test_legacy_names_differing_by_case_still_sign_in_exactly(any_repository):
    repository = any_repository
    upper = _legacy_user(repository, "Editor", "upper password 1")
    lower = _legacy_user(repository, "editor", "lower password 2")

    assert repository.get_user_by_name("Editor").id == upper
    assert repository.get_user_by_name("editor").id == lower
    assert repository.get_user_by_name("EDITOR") is None, "ambiguous: neither account"
    with pytest.raises(AmbiguousUserName, match="give the exact one"):
        repository.find_user("EDITOR")
    with pytest.raises(AmbiguousUserName):
        repository.set_user_disabled("EDITOR", True)
    assert not repository.get_user(upper).disabled and not repository.get_user(lower).disabled

    assert _sign_in(_client(repository), "Editor", "upper password 1").json()["name"] == "Editor"
    assert _sign_in(_client(repository), "editor", "lower password 2").json()["name"] == "editor"
    assert _sign_in(_client(repository), "EDITOR", "upper password 1").status_code == 401
    with pytest.raises(StorageError, match="already exists"):
        repository.add_user("EDITOR", HASHER.hash(PASSWORD), "editor", datetime.now(UTC))


def _users_cli(tmp_path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_cli(tmp_path, "users", *args, input=stdin)


def test_users_cli_folds_case(tmp_path):
    assert _users_cli(tmp_path, "add", "Editor", stdin=PASSWORD + "\n").returncode == 0
    again = _users_cli(tmp_path, "add", "editor", "--role", "admin", stdin=PASSWORD + "\n")
    assert again.returncode == 1
    assert again.stderr.strip() == (
        "error: user 'editor' already exists as 'Editor' (user names ignore case) [storage.conflict]")
    listed = json.loads(_users_cli(tmp_path, "list", "--json").stdout)
    assert [(u["name"], u["role"]) for u in listed] == [("Editor", "editor")]

    disabled = _users_cli(tmp_path, "disable", "EDITOR")
    assert disabled.returncode == 0 and disabled.stdout.startswith("user Editor disabled")
    assert json.loads(_users_cli(tmp_path, "list", "--json").stdout)[0]["disabled"] is True
    changed = _users_cli(tmp_path, "passwd", "editor", stdin="a brand new password\n")
    assert changed.returncode == 0 and "password of Editor changed" in changed.stdout


def test_users_cli_asks_for_the_exact_name_of_a_legacy_pair(tmp_path, settings):
    from news_harvester.wiring import open_repository

    repository = open_repository(settings)
    try:
        _legacy_user(repository, "Editor", "upper password 1")
        _legacy_user(repository, "editor", "lower password 2")
    finally:
        repository.engine.dispose()
    ambiguous = _users_cli(tmp_path, "disable", "EDITOR")
    assert ambiguous.returncode == 1 and "Traceback" not in ambiguous.stderr
    assert "matches several users ignoring case ('Editor', 'editor')" in ambiguous.stderr
    exact = _users_cli(tmp_path, "disable", "editor")
    assert exact.returncode == 0 and exact.stdout.startswith("user editor disabled")
    rows = {u["name"]: u["disabled"] for u in json.loads(_users_cli(tmp_path, "list", "--json").stdout)}
    assert rows == {"Editor": False, "editor": True}
