"""CLI commands over the review app's users: ``users add|list|disable|enable|passwd``.

Registered on the main group by news_harvester.cli.main. Users are managed only here (there is no sign-up page),
so the first admin is created from a shell on the server. Passwords are never command-line arguments (they
would land in shell history and ``ps``): they are prompted twice, hidden, on a terminal, or read as one
line from stdin for scripts (``echo "$PW" | news-harvester users add NAME``).

Names ignore case (news_harvester.store.users.name_key): ``users add editor`` is refused when ``Editor`` exists
(exit 1, like any taken name), and ``disable``/``enable``/``passwd`` find ``Editor`` from ``EDITOR``. Where an
older database holds two names differing only by case, these commands want the exact name (exit 1 otherwise).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from news_harvester.cli.common import EXIT_CONFIG, CliContext, fail, guard, print_table
from news_harvester.clock import EDITOR_ZONE_LABEL, editor_time

if TYPE_CHECKING:
    from news_harvester.store.users import UserQueries

ROLES = ("editor", "admin")
"""news_harvester.web.auth.ROLES, repeated so that loading the CLI does not import the web stack (imported
lazily below, like the other commands' heavy modules)."""


@contextmanager
def _repository(obj: CliContext) -> Iterator[UserQueries]:
    from news_harvester.store.users import UserQueries
    from news_harvester.wiring import open_queries

    repository = open_queries(obj.settings(), UserQueries)
    try:
        yield repository
    finally:
        repository.engine.dispose()


def _name(raw: str) -> str:
    from news_harvester.web.accounts import name_problem, normalize_name

    name = normalize_name(raw)
    problem = name_problem(name)
    if problem is not None:
        fail(problem, EXIT_CONFIG)
    return name


def _read_password() -> str:
    """Twice with hidden input on a terminal; otherwise one line of stdin (its line break dropped)."""
    from news_harvester.web.accounts import password_problem

    if sys.stdin.isatty():
        password = str(click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))
    else:
        line = sys.stdin.readline()
        if not line:
            fail("no password on stdin (pipe one line, or run on a terminal to be prompted)", EXIT_CONFIG)
        password = line.removesuffix("\n").removesuffix("\r")
    problem = password_problem(password)
    if problem is not None:
        fail(problem, EXIT_CONFIG)
    return password


@click.group()
def users() -> None:
    """Manage who may sign in to the review app."""


@users.command("add")
@click.argument("name")
@click.option(
    "--role", type=click.Choice(ROLES), default="editor", show_default=True, help="admin may also manage sources."
)
@click.pass_obj
@guard
def users_add(obj: CliContext, name: str, role: str) -> None:
    """Create a user; the password is prompted (terminal) or read as one line from stdin."""
    from news_harvester.web.accounts import hash_password

    name = _name(name)
    password = _read_password()
    with _repository(obj) as repository:
        repository.add_user(name, hash_password(password), role, datetime.now(UTC))
    click.echo(f"user {name} added ({role})")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of objects.")
@click.pass_obj
@guard
def users_list(obj: CliContext, as_json: bool) -> None:
    """Every user with role, status, creation and last sign-in time."""
    with _repository(obj) as repository:
        rows = repository.list_users()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "name": u.name,
                        "role": u.role,
                        "disabled": u.disabled,
                        "created_at": u.created_at.isoformat(),
                        "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
                    }
                    for u in rows
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    print_table(
        ["name", "role", "status", f"created ({EDITOR_ZONE_LABEL})", f"last login ({EDITOR_ZONE_LABEL})"],
        [
            [
                u.name,
                u.role,
                "disabled" if u.disabled else "active",
                editor_time(u.created_at, empty="-"),
                editor_time(u.last_login_at, empty="-"),
            ]
            for u in rows
        ],
    )


def _set_disabled(obj: CliContext, name: str, disabled: bool) -> None:
    from news_harvester.web.accounts import normalize_name

    name = normalize_name(name)
    with _repository(obj) as repository:
        user = repository.find_user(name)  # ignoring case; the stored spelling is what the message names
        if user is None or not repository.set_user_disabled(user.name, disabled):
            fail(f"unknown user {name!r} (see `news-harvester users list`)")
            return
    click.echo(f"user {user.name} {'disabled (signed out everywhere)' if disabled else 'enabled'}")


@users.command("disable")
@click.argument("name")
@click.pass_obj
@guard
def users_disable(obj: CliContext, name: str) -> None:
    """Lock a user out at once (their open sessions end); the account and its history are kept."""
    _set_disabled(obj, name, True)


@users.command("enable")
@click.argument("name")
@click.pass_obj
@guard
def users_enable(obj: CliContext, name: str) -> None:
    """Allow a disabled user to sign in again."""
    _set_disabled(obj, name, False)


@users.command("passwd")
@click.argument("name")
@click.pass_obj
@guard
def users_passwd(obj: CliContext, name: str) -> None:
    """Set a user's password (prompted or one line of stdin); signs them out everywhere."""
    from news_harvester.web.accounts import hash_password, normalize_name

    name = normalize_name(name)
    with _repository(obj) as repository:
        user = repository.find_user(name)
        if user is None:
            fail(f"unknown user {name!r} (see `news-harvester users list`)")
            return
        password = _read_password()
        repository.set_password_hash(user.id, hash_password(password), end_sessions=True)
    click.echo(f"password of {user.name} changed (signed out everywhere)")


COMMANDS = (users,)
