"""A write transaction that one process at a time holds from its first statement, and batched updates.

Used where a read decides a write that must not race another process doing the same: migrating (two instances
starting together) and opening the current draft issue (two editors' first accepts at once).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, Connection, Engine, Table, bindparam, func, select, update


@contextmanager
def serialized(engine: Engine, lock_key: int) -> Iterator[Connection]:
    """One transaction that takes PostgreSQL's advisory lock ``lock_key``, or SQLite's write lock
    (``BEGIN IMMEDIATE``), before anything else; others wait for it to commit or roll back."""
    with engine.connect() as conn, _driver_transactions_off(conn), conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(lock_key)))
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


@contextmanager
def _driver_transactions_off(connection: Connection) -> Iterator[None]:
    """On SQLite, let the explicit BEGIN cover every statement, DDL included.

    In its default mode the sqlite3 driver opens a transaction only before INSERT/UPDATE/DELETE, so every CREATE
    and ALTER of a migration committed on its own: a ``kill -9`` during the first start left half a schema that
    no later start could migrate ("table source_state already exists"), and a SELECT ran outside the transaction
    that its write belonged to. With the driver's own transaction handling off for this connection, the
    transaction commits or vanishes as a whole; the pooled connection gets its normal mode back afterwards
    (every other transaction relies on it)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    driver: Any = connection.connection.driver_connection
    previous = driver.isolation_level
    driver.isolation_level = None
    try:
        yield
    finally:
        driver.isolation_level = previous


def execute_grouped(conn: Connection, table: Table, key: Column[Any], name: str, rows: list[dict[str, Any]]) -> None:
    """UPDATE ``table`` SET each row's columns WHERE ``key`` = the row's ``name``: one executemany per set of
    columns, not one statement per row."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(tuple(sorted(k for k in row if k != name)), []).append(row)
    for columns, group in shapes.items():
        conn.execute(update(table).where(key == bindparam(name)).values({c: bindparam(c) for c in columns}), group)
