"""SQL of users, web sessions and login attempts (mixed into Repository as ``UserQueries``).

The policy (hashing, throttling limits, session lifetime, CSRF) lives in news_harvester.web.accounts and
news_harvester.web.auth; this module only stores and reads its facts. Session ids are SHA-256 hashes of the cookie
token, computed by the caller, so nothing here ever sees a usable credential.

User names ignore case: ``Editor`` and ``editor`` are one account. A name is stored as it was first typed (that
is how it is shown and written into the audit log) and compared through :func:`name_key` (NFC, then
``str.casefold``). The fold happens here in Python rather than with SQL ``lower()``, which folds only ASCII on
SQLite (and follows the server's locale on PostgreSQL), so no migration and no second column are needed; the
users table of a newsroom is a few dozen rows, read whole for a lookup. Databases from before this rule may hold
two names that differ only by case: an exact match still finds each of them, a folded match that is ambiguous
finds none (sign-in then fails as for an unknown name; the CLI asks for the exact name).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, RowMapping, delete, false, func, insert, select, true, update
from sqlalchemy.exc import IntegrityError

from news_harvester.errors import StorageError
from news_harvester.store.schema import login_attempts, users, web_sessions
from news_harvester.store.transactions import serialized

USERS_LOCK = 0x6E68_7573_6572
"""PostgreSQL advisory lock key held while a new user's name is checked and inserted ('nhuser'): the unique
index compares names exactly, so only the lock keeps two concurrent adds of ``Editor`` and ``editor`` apart."""


def name_key(name: str) -> str:
    """The form two user names are compared in: NFC, case-folded (``Editor``, ``EDITOR`` → ``editor``)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


class AmbiguousUserName(StorageError):
    """A name that matches several legacy accounts ignoring case, and none of them exactly."""

    code = "storage.conflict"


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One row of ``users``. The hash is kept out of ``repr`` so it never lands in a log line."""

    id: int
    name: str
    role: str
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None
    password_hash: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A live session joined with its (enabled) user: everything a request needs to authorise itself."""

    user_id: int
    name: str
    role: str
    csrf_token: str
    last_seen_at: datetime
    expires_at: datetime


def _user(m: RowMapping) -> UserRecord:
    return UserRecord(
        id=int(m["id"]),
        name=m["name"],
        role=m["role"],
        disabled=bool(m["disabled"]),
        created_at=m["created_at"],
        last_login_at=m["last_login_at"],
        password_hash=m["password_hash"],
    )


class UserQueries:
    engine: Engine

    # ------------------------------------------------------------------ users

    def add_user(self, name: str, password_hash: str, role: str, now: datetime) -> int:
        """Insert a user; a taken name, in any case (``editor`` when ``Editor`` exists), is ``storage.conflict``.
        The check and the insert hold the write lock (SQLite) or an advisory lock (PostgreSQL): the unique index
        alone would let ``Editor`` and ``editor`` in side by side."""
        try:
            with serialized(self.engine, USERS_LOCK) as conn:
                taken = self._matching(conn, name)
                if taken:
                    existing = taken[0]["name"]
                    same = "" if existing == name else f" as {existing!r} (user names ignore case)"
                    raise StorageError(f"user {name!r} already exists{same}", code="storage.conflict")
                new_id = conn.execute(
                    insert(users)
                    .values(name=name, password_hash=password_hash, role=role, disabled=False, created_at=now)
                    .returning(users.c.id)
                ).scalar_one()
        except IntegrityError as exc:
            raise StorageError(f"user {name!r} already exists", code="storage.conflict") from exc
        return int(new_id)

    @staticmethod
    def _matching(conn: Connection, name: str) -> list[RowMapping]:
        """Users whose name equals ``name`` ignoring case, the exact match first (the table is small: see the
        module's docstring for why this is not a SQL ``lower()``)."""
        key = name_key(name)
        rows = [r for r in conn.execute(select(users).order_by(users.c.id)).mappings() if name_key(r["name"]) == key]
        return sorted(rows, key=lambda r: r["name"] != name)

    def _resolve(self, conn: Connection, name: str) -> RowMapping | None:
        """The one user ``name`` means: the exact match, else the only one equal ignoring case; None for no
        match; :class:`AmbiguousUserName` when several legacy accounts match ignoring case and none exactly."""
        rows = self._matching(conn, name)
        if not rows:
            return None
        if rows[0]["name"] == name or len(rows) == 1:
            return rows[0]
        names = ", ".join(repr(r["name"]) for r in rows)
        raise AmbiguousUserName(f"user name {name!r} matches several users ignoring case ({names}): give the exact one")

    def find_user(self, name: str) -> UserRecord | None:
        """The user ``name`` means ignoring case (exact match first); raises :class:`AmbiguousUserName` when it
        cannot tell two legacy accounts apart. For the CLI, which can ask for the exact name."""
        with self.engine.connect() as conn:
            row = self._resolve(conn, name)
        return _user(row) if row is not None else None

    def get_user_by_name(self, name: str) -> UserRecord | None:
        """Like :meth:`find_user`, but an ambiguous name is None: sign-in treats it as an unknown name rather
        than telling a stranger which spellings exist."""
        try:
            return self.find_user(name)
        except AmbiguousUserName:
            return None

    def get_user(self, user_id: int) -> UserRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).mappings().first()
        return _user(row) if row is not None else None

    def list_users(self) -> list[UserRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(users).order_by(users.c.name)).mappings().all()
        return [_user(r) for r in rows]

    def set_user_disabled(self, name: str, disabled: bool) -> bool:
        """Disable or re-enable a user; False when there is no such user. Disabling also deletes the user's
        sessions in the same transaction (``session_user`` ignores disabled users anyway; this keeps the
        table honest). ``name`` ignores case like :meth:`find_user` (and is as strict about ambiguity)."""
        with self.engine.begin() as conn:
            row = self._resolve(conn, name)
            if row is None:
                return False
            user_id = int(row["id"])
            conn.execute(update(users).where(users.c.id == user_id).values(disabled=disabled))
            if disabled:
                conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))
        return True

    def set_password_hash(self, user_id: int, password_hash: str, *, end_sessions: bool = False) -> None:
        """Store a new hash. ``end_sessions`` signs the user out everywhere (a password change by an admin);
        a transparent rehash at login keeps them."""
        with self.engine.begin() as conn:
            conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))
            if end_sessions:
                conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))

    # ------------------------------------------------------------------ sessions

    def create_session(
        self, token_hash: str, user_id: int, csrf_token: str, now: datetime, expires_at: datetime
    ) -> None:
        """Open a session and stamp the user's ``last_login_at``: a session is only ever created by a login."""
        with self.engine.begin() as conn:
            conn.execute(
                insert(web_sessions).values(
                    id=token_hash,
                    user_id=user_id,
                    csrf_token=csrf_token,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=expires_at,
                )
            )
            conn.execute(update(users).where(users.c.id == user_id).values(last_login_at=now))

    def session_user(self, token_hash: str, now: datetime) -> SessionRecord | None:
        """The session's user, or None when the session is unknown, expired or its user disabled."""
        query = (
            select(
                web_sessions.c.user_id,
                users.c.name,
                users.c.role,
                web_sessions.c.csrf_token,
                web_sessions.c.last_seen_at,
                web_sessions.c.expires_at,
            )
            .join(users, users.c.id == web_sessions.c.user_id)
            .where(web_sessions.c.id == token_hash, web_sessions.c.expires_at > now, users.c.disabled == false())
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return SessionRecord(
            user_id=int(row["user_id"]),
            name=row["name"],
            role=row["role"],
            csrf_token=row["csrf_token"],
            last_seen_at=row["last_seen_at"],
            expires_at=row["expires_at"],
        )

    def touch_session(self, token_hash: str, now: datetime, expires_at: datetime) -> None:
        """Slide a session's expiry (the caller rate-limits this to avoid a write per request)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(web_sessions)
                .where(web_sessions.c.id == token_hash)
                .values(last_seen_at=now, expires_at=expires_at)
            )

    def delete_session(self, token_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.id == token_hash))

    def purge_sessions(self, now: datetime) -> int:
        """Delete expired sessions; returns how many."""
        with self.engine.begin() as conn:
            result = conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))
        return result.rowcount or 0

    # ------------------------------------------------------------------ login attempts

    def record_login_attempt(self, name: str, address: str, success: bool, now: datetime) -> None:
        """Remember one checked login (name and address cut to the column width: they come from outside). The
        name is kept as its :func:`name_key`, so ``Editor``, ``EDITOR`` and ``editor`` share one throttle count:
        trying each spelling must not buy five more guesses at one account."""
        with self.engine.begin() as conn:
            conn.execute(
                insert(login_attempts).values(name=name_key(name)[:64], address=address[:64], at=now, success=success)
            )

    def recent_failures(
        self, *, name: str | None = None, address: str | None = None, since: datetime
    ) -> list[datetime]:
        """Times (oldest first) of failed logins since ``since`` for one account name or one client address.

        For a name, only failures after its latest success count: whoever logs in successfully has proved
        they know the password, so their earlier typos should not lock them out. Not so for an address, where
        one valid account must not buy unlimited guesses at others.
        """
        if (name is None) == (address is None):
            raise ValueError("give exactly one of name or address")
        if name is not None:
            key = login_attempts.c.name == name_key(name)[:64]
            with self.engine.connect() as conn:
                last_ok = conn.execute(
                    select(func.max(login_attempts.c.at)).where(
                        key, login_attempts.c.success == true(), login_attempts.c.at >= since
                    )
                ).scalar_one_or_none()
        else:
            assert address is not None
            key = login_attempts.c.address == address[:64]
            last_ok = None
        after = login_attempts.c.at > last_ok if last_ok is not None else login_attempts.c.at >= since
        with self.engine.connect() as conn:
            times = conn.execute(
                select(login_attempts.c.at)
                .where(key, login_attempts.c.success == false(), after)
                .order_by(login_attempts.c.at)
            ).scalars()
            return list(times)

    def purge_login_attempts(self, before: datetime) -> int:
        """Forget attempts older than ``before``; returns how many."""
        with self.engine.begin() as conn:
            result = conn.execute(delete(login_attempts).where(login_attempts.c.at < before))
        return result.rowcount or 0
