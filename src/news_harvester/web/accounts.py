"""Accounts of the review app: roles, user-name rules, passwords and their hashes, and the login throttle.

No web stack here: the ``users`` commands of the CLI share these rules with the sign-in of news_harvester.web.auth.

* Passwords are argon2id hashes (RFC 9106's low-memory profile, argon2-cffi's default); a hash made with
  other parameters is replaced at the next successful login, so raising the cost needs no migration.
* Login guesses are throttled per account name and per client address from ``login_attempts``
  (:func:`throttle_wait`); unknown names are verified against a dummy hash so the answer takes as long.
"""

from __future__ import annotations

import secrets
import unicodedata
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from argon2 import Parameters, PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

if TYPE_CHECKING:
    from news_harvester.store.repository import Repository

ROLES = ("editor", "admin")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
"""Long enough for any passphrase, short enough that nobody makes the server hash megabytes."""
MAX_NAME_LENGTH = 64
"""Width of ``users.name``."""
NAME_FAILURES = 5
ADDRESS_FAILURES = 20
THROTTLE_WINDOW = timedelta(minutes=15)

PARAMETERS: Parameters = profiles.RFC_9106_LOW_MEMORY
"""argon2id, 64 MiB, 3 passes, 4 lanes: about 0.1 s of one core per sign-in on a small server."""
HASHER = PasswordHasher.from_parameters(PARAMETERS)


# --------------------------------------------------------------------------- names and passwords


def normalize_name(name: str) -> str:
    """The form a user name is stored and looked up in: trimmed, NFC (so a name typed on any system matches).
    Case is kept (the name is shown as its creator typed it); lookups and the uniqueness check compare
    :func:`news_harvester.store.users.name_key`, so ``Editor`` and ``editor`` are one account."""
    return unicodedata.normalize("NFC", name.strip())


def name_problem(name: str) -> str | None:
    """Why ``name`` (already normalised) cannot be a user name, or None."""
    if not name:
        return "用户名不能为空 (the name must not be empty)"
    if len(name) > MAX_NAME_LENGTH:
        return f"用户名最多 {MAX_NAME_LENGTH} 个字符 (the name must be at most {MAX_NAME_LENGTH} characters)"
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in name):
        return "用户名不能包含空白或控制字符 (the name must not contain spaces or control characters)"
    return None


def password_problem(password: str) -> str | None:
    """Why ``password`` is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return (
            f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符 "
            f"(the password must be at least {MIN_PASSWORD_LENGTH} characters)"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"密码最多 {MAX_PASSWORD_LENGTH} 个字符 (the password must be at most {MAX_PASSWORD_LENGTH} characters)"
    return None


def hash_password(password: str) -> str:
    """The argon2 hash to store; ValueError (with a printable reason) when the password is too short/long."""
    problem = password_problem(password)
    if problem is not None:
        raise ValueError(problem)
    return HASHER.hash(password)


def renewed_hash(stored_hash: str, password: str) -> str | None:
    """The hash to store instead of ``stored_hash`` (whose ``password`` was just verified) when it was made with
    other parameters than today's, else None."""
    return HASHER.hash(password) if HASHER.check_needs_rehash(stored_hash) else None


@cache
def _dummy_hash() -> str:
    """A hash nobody's password matches, verified for unknown names so they cost as much as known ones."""
    return HASHER.hash(secrets.token_urlsafe(16))


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; None (an unknown name) is checked against a dummy hash, so it
    costs as much as a known name, and never matches."""
    try:
        HASHER.verify(stored_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return stored_hash is not None


# --------------------------------------------------------------------------- login throttle


def throttle_wait(repository: Repository, name: str, address: str, now: datetime) -> timedelta | None:
    """How long until this name and address may try again, or None when they may now."""
    since = now - THROTTLE_WINDOW
    waits = []
    checks = [(repository.recent_failures(address=address, since=since), ADDRESS_FAILURES)]
    if name:
        checks.append((repository.recent_failures(name=name, since=since), NAME_FAILURES))
    for times, limit in checks:
        if len(times) >= limit:
            # allowed again once enough of the window's failures have aged out to fall below the limit
            waits.append(times[len(times) - limit] + THROTTLE_WINDOW - now)
    return max(waits) if waits else None
