"""SQL of users, web sessions and login attempts (mixed into Repository as ``UserQueries``).

The policy (hashing, throttling limits, session lifetime, CSRF) lives in news_harvester.web.accounts and
news_harvester.web.auth; this module only stores and reads its facts. Session ids are SHA-256 hashes of the cookie
token, computed by the caller, so nothing here ever sees a usable credential.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, RowMapping, delete, false, func, insert, select, true, update
from sqlalchemy.exc import IntegrityError

from news_harvester.errors import StorageError
from news_harvester.store.schema import login_attempts, users, web_sessions


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
        """Insert a user; a taken name is ``storage.conflict`` (checked first for a clear message, and by the
        unique index for the race between two concurrent adds)."""
        try:
            with self.engine.begin() as conn:
                taken = conn.execute(select(users.c.id).where(users.c.name == name)).first()
                if taken is not None:
                    raise StorageError(f"user {name!r} already exists", code="storage.conflict")
                new_id = conn.execute(
                    insert(users)
                    .values(name=name, password_hash=password_hash, role=role, disabled=False, created_at=now)
                    .returning(users.c.id)
                ).scalar_one()
        except IntegrityError as exc:
            raise StorageError(f"user {name!r} already exists", code="storage.conflict") from exc
        return int(new_id)

    def get_user_by_name(self, name: str) -> UserRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
        return _user(row) if row is not None else None

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
        table honest)."""
        with self.engine.begin() as conn:
            user_id = conn.execute(select(users.c.id).where(users.c.name == name)).scalar_one_or_none()
            if user_id is None:
                return False
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
        """Remember one checked login (name and address cut to the column width: they come from outside)."""
        with self.engine.begin() as conn:
            conn.execute(insert(login_attempts).values(name=name[:64], address=address[:64], at=now, success=success))

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
            key = login_attempts.c.name == name[:64]
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
